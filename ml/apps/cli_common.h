// Shared pieces of the ckks-ml subcommands (one file per subcommand: cmd_linreg.cpp, cmd_logreg.cpp,
// cmd_mlp.cpp, …; ckks_ml.cpp registers them). Only command-line plumbing lives here.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "ckks/params.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/timer.h"

namespace ckks::ml::cli {

/// The options of the commands that train with NAG on encrypted data (logreg, mlr).
struct NagCliOptions {
  std::string data;      ///< empty: the command's scikit-learn data set
  std::string target;    ///< label column of `data`
  int iterations = 0;    ///< 0: as many as the chain allows, at most 4
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  std::string params = "n15";
  bool json = false;
  bool bootstrap = false;     ///< --bootstrap: train past one chain (ml/refresh.h)
  bool params_given = false;  ///< --params was on the command line (refused with --bootstrap)
};

/// Registers --data, --target (with the given help texts), --iterations, --seed, --test-fraction and
/// --eta0 on `sub`, in that order.
void add_nag_options(CLI::App* sub, NagCliOptions& o, const std::string& data_help, const std::string& target_help);

/// Registers --params (with the given help text) and --json on `sub`.
void add_params_and_json(CLI::App* sub, std::string& params, bool& json, const std::string& params_help);

/// The training table's line "params: <Params::describe()>, log QP = … bits, security: …".
void print_params_line(const Params& params, double log_qp, int security_bits);

/// A registered subcommand: its CLI11 node and the action run when it was parsed (returns the
/// process exit code). The action may throw ckks::Error (exit 2, message on stderr).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

/// Progress on stderr for long phases: an updating line on a terminal; otherwise (logs, pipes) one
/// line per finished phase and, within a phase, a line "done/total" at most once a minute, so that a
/// job of hours shows where it is.
Progress stderr_progress(std::string tag);

/// "n13" … "n16" → Params::preset_n13() …; throws InputError naming the value otherwise.
Params preset(const std::string& name);

/// A validator for counts typed on the command line: a whole number ≥ lo, refused otherwise as a
/// usage error (exit 1) whose message names the value and the limit, e.g. "--k: -1 is not a whole
/// number ≥ 1". (CLI11 would read -1 into an unsigned option as 18446744073709551615.)
CLI::Validator whole_at_least(long long lo);

// One registration function per subcommand (defined in cmd_<name>.cpp).
Command add_linreg(CLI::App& app);
Command add_lffr(CLI::App& app);  // cmd_linreg.cpp, beside linreg
Command add_logreg(CLI::App& app);
Command add_logreg_minibatch(CLI::App& app);  // cmd_logreg_minibatch.cpp
Command add_mlp(CLI::App& app);
Command add_mlr(CLI::App& app);
Command add_knn(CLI::App& app);
Command add_resnet(CLI::App& app);
Command add_transfer(CLI::App& app);  // cmd_transfer.cpp
Command add_nn_train(CLI::App& app);  // cmd_nn_train.cpp
Command add_unet(CLI::App& app);      // cmd_unet.cpp
// The client/server workflow (cmd_workflow.cpp).
Command add_keygen(CLI::App& app);
Command add_encrypt(CLI::App& app);
Command add_infer(CLI::App& app);
Command add_decrypt(CLI::App& app);

}  // namespace ckks::ml::cli

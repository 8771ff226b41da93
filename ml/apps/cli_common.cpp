// See cli_common.h.
#include "ml/apps/cli_common.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include <unistd.h>

#include "ckks/errors.h"

namespace ckks::ml::cli {

Progress stderr_progress(std::string tag) {
  using Clock = std::chrono::steady_clock;
  const bool tty = isatty(fileno(stderr));
  auto last = std::make_shared<Clock::time_point>(Clock::now());  // the last line written (not a tty)
  return [tty, tag, last](const std::string& phase, std::size_t done, std::size_t total) {
    if (tty) {
      std::fprintf(stderr, "\r[%s] %-24s %zu/%zu", tag.c_str(), phase.c_str(), done, total);
      if (done == total) std::fprintf(stderr, "\n");
    } else if (done == total) {
      std::fprintf(stderr, "[%s] %s: %zu/%zu done\n", tag.c_str(), phase.c_str(), done, total);
      *last = Clock::now();
    } else if (Clock::now() - *last >= std::chrono::minutes(1)) {
      std::fprintf(stderr, "[%s] %s: %zu/%zu\n", tag.c_str(), phase.c_str(), done, total);
      *last = Clock::now();
    }
    std::fflush(stderr);
  };
}

CLI::Validator whole_at_least(long long lo) {
  return CLI::Validator(
      [lo](std::string& text) -> std::string {
        std::size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || v < lo)
          return text + " is not a whole number ≥ " + std::to_string(lo);
        return {};
      },
      "INT ≥ " + std::to_string(lo));
}

void add_nag_options(CLI::App* sub, NagCliOptions& o, const std::string& data_help, const std::string& target_help) {
  sub->add_option("--data", o.data, data_help);
  sub->add_option("--target", o.target, target_help);
  sub->add_option("--iterations", o.iterations, "NAG iterations (default: min(4, what the chain allows); 8 with --bootstrap, which allows any number)")->check(CLI::Range(1, 1000));
  sub->add_option("--seed", o.seed, "seed of the train/test shuffle (default 1)");
  sub->add_option("--test-fraction", o.test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  sub->add_option("--eta0", o.eta0, "learning-rate schedule: step 1 + eta0/(t+1) (default 0)")->check(CLI::Range(0.0, 100.0));
}

void add_params_and_json(CLI::App* sub, std::string& params, bool& json, const std::string& params_help) {
  sub->add_option("--params", params, params_help);
  sub->add_flag("--json", json, "print one JSON object instead of the table");
}

void print_params_line(const Params& params, double log_qp, int security_bits) {
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", params.describe().c_str(), log_qp,
              security_bits >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
}

Params preset(const std::string& name) {
  if (name == "n13") return Params::preset_n13();
  if (name == "n14") return Params::preset_n14();
  if (name == "n15") return Params::preset_n15();
  if (name == "n16") return Params::preset_n16();
  throw InputError("--params " + name + " is not a preset; choose n13, n14, n15 or n16");
}

}  // namespace ckks::ml::cli

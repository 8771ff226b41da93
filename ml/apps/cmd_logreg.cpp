// ckks-ml logreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15 | --bootstrap] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/apps/nag_command.h"
#include "ml/logreg/logreg_encrypted.h"
#include "ml/logreg/logreg_job.h"

namespace ckks::ml::cli {
namespace {

// logreg: logistic regression trained on encrypted data with Nesterov's accelerated gradient and
// the quadratic gradient [Chiang22QG] and a degree-3 polynomial sigmoid (see
// ml/logreg/logreg_encrypted.h); scikit-learn's breast cancer data by default. The same algorithm in
// double precision is run beside it as the reference.
int run_logreg(const NagCliOptions& o) {
  const LogregJobOptions jo =
      nag_job_options<LogregJobOptions>(o, "logreg", "the 0/1 labels", "the breast cancer data");
  std::fprintf(stderr, "[logreg] %s, %s\n", o.data.empty() ? "breast cancer" : o.data.c_str(),
               jo.params.describe().c_str());
  const Progress progress = stderr_progress("logreg");
  const LogregReport r = run_logreg_job(jo, progress);
  if (o.json) {
    nlohmann::json j;
    j["model"] = "logreg";
    j["algorithm"] = "Nesterov accelerated gradient with the quadratic gradient (Chiang, arXiv:2201.10838), "
                     "degree-3 polynomial sigmoid, trained on encrypted data";
    j["dataset"] = r.dataset;
    j["target"] = o.data.empty() ? "target (0 malignant, 1 benign)" : o.target;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    add_nag_json(j, r, o);
    j["encrypted"] = {{"accuracy", r.encrypted.accuracy}, {"auc", r.encrypted.auc}};
    j["plaintext"] = {{"accuracy", r.plaintext.accuracy}, {"auc", r.plaintext.auc}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted logistic regression (NAG + quadratic gradient, degree-3 sigmoid), %s\n",
              o.data.empty() ? "breast cancer" : o.data.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels, %d per iteration), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used, r.levels_per_iteration,
              static_cast<unsigned long long>(o.seed));
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "accuracy", "AUC");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.encrypted.accuracy, r.encrypted.auc);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", r.plaintext.accuracy, r.plaintext.auc);
  std::printf("\n");
  print_nag_footer(r, "w");
  return 0;
}

}  // namespace

Command add_logreg(CLI::App& app) {
  auto go = std::make_shared<NagCliOptions>();
  auto* logreg = app.add_subcommand("logreg", "logistic regression trained on encrypted data (breast cancer by default)");
  add_nag_options(logreg, *go, "CSV file with a header row (default: breast cancer from python3-sklearn)",
                  "name of the 0/1 label column (required with --data)");
  add_params_and_json(logreg, go->params, go->json,
                      "parameter preset n15|n16 (default n15; the default data needs 16384 slots, N = 2^15)");
  add_bootstrap_flag(logreg, *go);
  return {logreg, [go] { return run_logreg(*go); }};
}

}  // namespace ckks::ml::cli

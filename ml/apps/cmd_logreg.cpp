// ckks-ml logreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/logreg/logreg_encrypted.h"
#include "ml/logreg/logreg_job.h"

namespace ckks::ml::cli {
namespace {

// logreg: logistic regression trained on encrypted data with Nesterov's accelerated gradient and
// the quadratic gradient [Chiang, arXiv:2201.10838] and a degree-3 polynomial sigmoid (see
// ml/logreg/logreg_encrypted.h); scikit-learn's breast cancer data by default. The same algorithm in
// double precision is run beside it as the reference.
struct LogregOptions {
  std::string data;  // empty = breast_cancer.csv from python3-sklearn
  std::string target;
  int iterations = 0;  // 0 = as many as the chain allows, at most 4
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  std::string params = "n15";
  bool json = false;
};

int run_logreg(const LogregOptions& o) {
  if (!o.data.empty() && o.target.empty())
    throw InputError("logreg: --data needs --target NAME (the column holding the 0/1 labels)");
  if (o.data.empty() && !o.target.empty())
    throw InputError("logreg: --target needs --data PATH (the breast cancer data has a fixed target)");
  LogregJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.eta0 = o.eta0;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[logreg] %s, %s\n", o.data.empty() ? "breast cancer" : o.data.c_str(),
               jo.params.describe().c_str());
  const Progress progress = stderr_progress("logreg");
  const LogregReport r = run_logreg_job(jo, progress);
  const double per_iter = r.seconds_train / r.iterations;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "logreg";
    j["algorithm"] = "Nesterov accelerated gradient with the quadratic gradient (Chiang, arXiv:2201.10838), "
                     "degree-3 polynomial sigmoid, trained on encrypted data";
    j["dataset"] = r.dataset;
    j["target"] = o.data.empty() ? "target (0 malignant, 1 benign)" : o.target;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["eta0"] = o.eta0;
    j["levels_per_iteration"] = r.levels_per_iteration;
    j["levels_used"] = r.levels_used;
    j["max_sigmoid_input"] = r.max_abs_margin;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
    j["encrypted"] = {{"accuracy", r.encrypted.accuracy}, {"auc", r.encrypted.auc}};
    j["plaintext"] = {{"accuracy", r.plaintext.accuracy}, {"auc", r.plaintext.auc}};
    j["max_weight_error"] = r.max_weight_error;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    j["seconds_per_iteration"] = per_iter;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted logistic regression (NAG + quadratic gradient, degree-3 sigmoid), %s\n",
              o.data.empty() ? "breast cancer" : o.data.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels, %d per iteration), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used, r.levels_per_iteration,
              static_cast<unsigned long long>(o.seed));
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", r.params.describe().c_str(), r.log_qp,
              r.security_bits >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "accuracy", "AUC");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.encrypted.accuracy, r.encrypted.auc);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", r.plaintext.accuracy, r.plaintext.auc);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              r.max_weight_error, r.max_abs_margin);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f (%.2f per iteration), decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.seconds_encrypt, r.seconds_train, per_iter, r.seconds_decrypt, r.seconds_total);
  return 0;
}

}  // namespace

Command add_logreg(CLI::App& app) {
  auto go = std::make_shared<LogregOptions>();
  auto* logreg = app.add_subcommand("logreg", "logistic regression trained on encrypted data (breast cancer by default)");
  logreg->add_option("--data", go->data, "CSV file with a header row (default: breast cancer from python3-sklearn)");
  logreg->add_option("--target", go->target, "name of the 0/1 label column (required with --data)");
  logreg->add_option("--iterations", go->iterations, "NAG iterations (default: min(4, what the chain allows))")->check(CLI::Range(1, 1000));
  logreg->add_option("--seed", go->seed, "seed of the train/test shuffle (default 1)");
  logreg->add_option("--test-fraction", go->test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  logreg->add_option("--eta0", go->eta0, "learning-rate schedule: step 1 + eta0/(t+1) (default 0)")->check(CLI::Range(0.0, 100.0));
  logreg->add_option("--params", go->params, "parameter preset n15|n16 (default n15; the default data needs 16384 slots, N = 2^15)");
  logreg->add_flag("--json", go->json, "print one JSON object instead of the table");
  return {logreg, [go] { return run_logreg(*go); }};
}

}  // namespace ckks::ml::cli

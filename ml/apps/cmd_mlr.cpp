// ckks-ml mlr [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_job.h"

namespace ckks::ml::cli {
namespace {

// mlr: multiclass logistic regression (a sigmoid per class in place of the softmax) trained on
// encrypted data with NAG and the quadratic gradient [Chiang23] (see ml/mlr/mlr_encrypted.h);
// scikit-learn's digits by default. The same algorithm in double precision runs beside it.
struct MlrCliOptions {
  std::string data;  // empty = digits.csv.gz from python3-sklearn
  std::string target;
  int iterations = 0;  // 0 = as many as the chain allows, at most 4
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  std::size_t max_rows = 0;
  std::string params = "n15";
  bool json = false;
};

int run_mlr(const MlrCliOptions& o) {
  if (!o.data.empty() && o.target.empty())
    throw InputError("mlr: --data needs --target NAME (the column holding the class labels 0 … C−1)");
  if (o.data.empty() && !o.target.empty())
    throw InputError("mlr: --target needs --data PATH (the digits data has a fixed target)");
  MlrJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.eta0 = o.eta0;
  jo.max_rows = o.max_rows;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[mlr] %s, %s\n", o.data.empty() ? "digits" : o.data.c_str(), jo.params.describe().c_str());
  const Progress progress = stderr_progress("mlr");
  const MlrReport r = run_mlr_job(jo, progress);
  const double per_iter = r.seconds_train / r.iterations;
  const MlrLayout& lay = r.layout;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "mlr";
    j["algorithm"] = "multiclass logistic regression, sigmoid per class (Chiang, arXiv:2304.03807), Nesterov "
                     "accelerated gradient with the quadratic gradient, degree-3 polynomial sigmoid, trained on "
                     "encrypted data";
    j["dataset"] = r.dataset;
    j["target"] = o.data.empty() ? "digit (0-9)" : o.target;
    j["scaling"] = r.scaling;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}, {"classes", r.classes}};
    j["layout"] = {{"block_slots", lay.block},     {"features_per_group", lay.group}, {"groups", lay.groups},
                   {"slots", lay.slots},           {"samples_per_ciphertext", lay.blocks()},
                   {"ciphertexts", lay.ciphertexts}, {"rotation_keys", r.rotation_keys}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["eta0"] = o.eta0;
    j["levels_per_iteration"] = r.levels_per_iteration;
    j["levels_used"] = r.levels_used;
    j["max_sigmoid_input"] = r.max_abs_margin;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
    j["encrypted"] = {{"accuracy", r.accuracy_encrypted}, {"agreement", r.agreement}};
    j["plaintext"] = {{"accuracy", r.accuracy_plaintext}};
    j["max_weight_error"] = r.max_weight_error;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    j["seconds_per_iteration"] = per_iter;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted multiclass logistic regression (sigmoid per class, NAG + quadratic gradient), %s\n",
              o.data.empty() ? "digits" : o.data.c_str());
  std::printf("  %zu train / %zu test rows, %zu features (%s), %zu classes, %d iteration%s (%d levels, %d per iteration), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.scaling.c_str(), r.classes, r.iterations, r.iterations == 1 ? "" : "s", r.levels_used,
              r.levels_per_iteration, static_cast<unsigned long long>(o.seed));
  std::printf("  layout: %zu ciphertexts × %zu feature groups, %zu samples of %zu slots each, %d rotation keys\n",
              lay.ciphertexts, lay.groups, lay.blocks(), lay.block, r.rotation_keys);
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", r.params.describe().c_str(), r.log_qp,
              r.security_bits >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "accuracy", "agreement");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.accuracy_encrypted, r.agreement);
  std::printf("  %-28s %10.4f %10s\n", "same algorithm, plaintext", r.accuracy_plaintext, "-");
  std::printf("\n  agreement = fraction of test rows whose encrypted prediction equals the plaintext one\n");
  std::printf("  max |W_encrypted - W_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              r.max_weight_error, r.max_abs_margin);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f (%.2f per iteration), decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.seconds_encrypt, r.seconds_train, per_iter, r.seconds_decrypt, r.seconds_total);
  return 0;
}

}  // namespace

Command add_mlr(CLI::App& app) {
  auto go = std::make_shared<MlrCliOptions>();
  auto* mlr = app.add_subcommand("mlr", "multiclass logistic regression trained on encrypted data (digits by default)");
  mlr->add_option("--data", go->data, "CSV file with a header row (default: digits from python3-sklearn)");
  mlr->add_option("--target", go->target, "name of the class column, integers 0..C-1 (required with --data)");
  mlr->add_option("--iterations", go->iterations, "NAG iterations (default: min(4, what the chain allows))")->check(CLI::Range(1, 1000));
  mlr->add_option("--seed", go->seed, "seed of the train/test shuffle (default 1)");
  mlr->add_option("--test-fraction", go->test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  mlr->add_option("--eta0", go->eta0, "learning-rate schedule: step 1 + eta0/(t+1) (default 0)")->check(CLI::Range(0.0, 100.0));
  mlr->add_option("--max-rows", go->max_rows, "use only the first N rows of the data set (default: all)");
  mlr->add_option("--params", go->params, "parameter preset n13|n14|n15|n16 (default n15)");
  mlr->add_flag("--json", go->json, "print one JSON object instead of the table");
  return {mlr, [go] { return run_mlr(*go); }};
}

}  // namespace ckks::ml::cli

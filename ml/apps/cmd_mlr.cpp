// ckks-ml mlr [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15 | --bootstrap] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/apps/nag_command.h"
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_job.h"

namespace ckks::ml::cli {
namespace {

// mlr: multiclass logistic regression (a sigmoid per class in place of the softmax) trained on
// encrypted data with NAG and the quadratic gradient [Chiang23] (see ml/mlr/mlr_encrypted.h);
// scikit-learn's digits by default. The same algorithm in double precision runs beside it.
struct MlrCliOptions : NagCliOptions {
  std::size_t max_rows = 0;
};

int run_mlr(const MlrCliOptions& o) {
  MlrJobOptions jo = nag_job_options<MlrJobOptions>(o, "mlr", "the class labels 0 … C−1", "the digits data");
  jo.max_rows = o.max_rows;
  std::fprintf(stderr, "[mlr] %s, %s\n", o.data.empty() ? "digits" : o.data.c_str(), jo.params.describe().c_str());
  const Progress progress = stderr_progress("mlr");
  const MlrReport r = run_mlr_job(jo, progress);
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
    add_nag_json(j, r, o);
    j["encrypted"] = {{"accuracy", r.accuracy_encrypted}, {"agreement", r.agreement}};
    j["plaintext"] = {{"accuracy", r.accuracy_plaintext}};
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
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "accuracy", "agreement");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.accuracy_encrypted, r.agreement);
  std::printf("  %-28s %10.4f %10s\n", "same algorithm, plaintext", r.accuracy_plaintext, "-");
  std::printf("\n  agreement = fraction of test rows whose encrypted prediction equals the plaintext one\n");
  print_nag_footer(r, "W");
  return 0;
}

}  // namespace

Command add_mlr(CLI::App& app) {
  auto go = std::make_shared<MlrCliOptions>();
  auto* mlr = app.add_subcommand("mlr", "multiclass logistic regression trained on encrypted data (digits by default)");
  add_nag_options(mlr, *go, "CSV file with a header row (default: digits from python3-sklearn)",
                  "name of the class column, integers 0..C-1 (required with --data)");
  mlr->add_option("--max-rows", go->max_rows, "use only the first N rows of the data set (default: all)");
  add_params_and_json(mlr, go->params, go->json, "parameter preset n13|n14|n15|n16 (default n15)");
  add_bootstrap_flag(mlr, *go);
  return {mlr, [go] { return run_mlr(*go); }};
}

}  // namespace ckks::ml::cli

// ckks-ml transfer [--train-images N] [--iterations K] [--seed S] [--params n15 | --bootstrap] [--model PATH] [--nn]
//                  [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/apps/nag_command.h"
#include "ml/transfer/transfer_job.h"

namespace ckks::ml::cli {
namespace {

// transfer: CNN training by transfer learning [Chiang23] (ml/transfer/transfer_job.h). The
// frozen Fashion-MNIST ResNet-20 extracts features of scikit-learn's digits on the client; the
// server trains multiclass logistic regression on the encrypted features.
struct TransferCliOptions : NagCliOptions {
  std::size_t train_images = 128;
  std::string model;
  bool nn = false;  ///< --nn: the encrypted network of nn-train as a second classifier
  TransferCliOptions() { iterations = 2; }  // the seed's setting: 128 images, 2 iterations
};

nlohmann::json to_json(const TransferReport& r, const TransferCliOptions& o) {
  const TransferOutcome& m = r.outcomes.front();
  nlohmann::json j;
  j["model"] = "transfer";
  j["algorithm"] = "CNN training by transfer learning (Chiang, arXiv:2304.03807): frozen ResNet-" +
                   std::to_string(r.network_depth) + " (Fashion-MNIST) features, " + m.algorithm +
                   ", trained on encrypted features";
  j["network"] = {{"weights", r.model}, {"depth", r.network_depth}, {"feature_dimension", r.feature_dimension},
                  {"input", "digit pixels / 16, bilinear 8x8 -> 28x28 (half-pixel centres), zero-padded to 32x32"},
                  {"features", "global-average-pool output, z-scored on the training images"}};
  j["dataset"] = "digits (python3-sklearn)";
  j["rows"] = {{"train", r.train_images}, {"train_available", r.available_train_images}, {"test", r.test_images},
               {"classes", r.classes}};
  j["training"] = {{"seed", o.seed},
                   {"iterations", m.iterations},
                   {"levels_used", m.levels_used},
                   {"bootstraps", m.bootstraps},
                   {"max_sigmoid_input", m.max_sigmoid_input},
                   {"max_weight_error", m.max_weight_error}};
  j["encrypted"] = {{"accuracy", m.accuracy_encrypted}};
  j["plaintext"] = {{"accuracy", m.accuracy_plaintext}};
  j["raw_pixels"] = {{"accuracy", r.raw_pixels_accuracy},
                     {"encrypted", false},
                     {"what", "the same algorithm in double precision on pixels / 16 (64 features), same iterations"},
                     {"max_sigmoid_input", r.raw_pixels_max_sigmoid_input}};
  j["agreement"] = m.agreement;
  j["params"] = {{"log_n", m.params.log_n}, {"log_q", m.params.log_q}, {"log_p", m.params.log_p},
                 {"log_scale", m.params.log_scale}, {"log_qp", m.log_qp}, {"security_bits", m.security_bits}};
  j["ciphertexts_uploaded"] = m.ciphertexts_uploaded;
  j["bytes_uploaded"] = m.upload_bytes;
  j["rotation_keys"] = m.rotation_keys;
  j["seconds"] = {{"feature_extraction", r.seconds_features}, {"keygen", m.seconds_keygen},
                  {"encrypt", m.seconds_encrypt},           {"train", m.seconds_train},
                  {"bootstrap", m.seconds_bootstrap},       {"decrypt", m.seconds_decrypt},
                  {"total", r.seconds_total}};
  nlohmann::json all = nlohmann::json::array();
  for (const TransferOutcome& c : r.outcomes)
    all.push_back({{"name", c.name},
                   {"encrypted_accuracy", c.accuracy_encrypted},
                   {"plaintext_accuracy", c.accuracy_plaintext},
                   {"agreement", c.agreement}});
  j["classifiers"] = all;
  return j;
}

int run_transfer(const TransferCliOptions& o) {
  const MlrJobOptions mo = nag_job_options<MlrJobOptions>(o, "transfer", "", "the digits data");
  TransferJobOptions jo;
  jo.train_images = o.train_images;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.params = mo.params;
  jo.refresh = mo.refresh;
  jo.model = o.model.empty() ? std::string(CKKS_MODELS_DIR) + "/resnet20_fmnist.safetensors" : o.model;
  if (o.nn) jo.classifiers.push_back(nn_transfer_classifier(NnJobOptions{}));
  std::fprintf(stderr, "[transfer] digits, %s\n", jo.params.describe().c_str());
  const TransferReport r = run_transfer_job(jo, stderr_progress("transfer"));
  const nlohmann::json j = to_json(r, o);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const TransferOutcome& m = r.outcomes.front();
  std::printf("CNN training by transfer learning: frozen ResNet-%zu (Fashion-MNIST) features -> encrypted MLR, digits\n",
              r.network_depth);
  std::printf("  %zu of %zu training digits, %zu test digits, %zu features (global average pool), %d iteration%s "
              "(%d levels), seed %llu\n",
              r.train_images, r.available_train_images, r.test_images, r.feature_dimension, m.iterations,
              m.iterations == 1 ? "" : "s", m.levels_used, static_cast<unsigned long long>(o.seed));
  print_params_line(m.params, m.log_qp, m.security_bits);
  std::printf("  uploaded: %zu ciphertexts, %.1f MiB (data only)\n", m.ciphertexts_uploaded,
              static_cast<double>(m.upload_bytes) / (1 << 20));
  std::printf("\n  %-40s %10s\n", "model (test digits)", "accuracy");
  std::printf("  %-40s %10.4f\n", "encrypted training on features", m.accuracy_encrypted);
  std::printf("  %-40s %10.4f\n", "same algorithm, plaintext, features", m.accuracy_plaintext);
  std::printf("  %-40s %10.4f\n", "same algorithm, plaintext, raw pixels", r.raw_pixels_accuracy);
  for (std::size_t i = 1; i < r.outcomes.size(); ++i)
    std::printf("  %-40s %10.4f   (plaintext %.4f, agreement %.4f, %d iterations, %d bootstraps, %.1f s)\n",
                ("encrypted " + r.outcomes[i].name + " on features").c_str(), r.outcomes[i].accuracy_encrypted,
                r.outcomes[i].accuracy_plaintext, r.outcomes[i].agreement, r.outcomes[i].iterations,
                r.outcomes[i].bootstraps, r.outcomes[i].seconds_train);
  std::printf("\n  agreement (encrypted vs plaintext predictions) %.4f; max |W_enc - W_plain| = %.3g; "
              "max |sigmoid input| = %.2f\n",
              m.agreement, m.max_weight_error, m.max_sigmoid_input);
  if (m.bootstraps > 0) std::printf("  bootstraps: %d (%.1f s)\n", m.bootstraps, m.seconds_bootstrap);
  std::printf("  seconds: features %.2f, keygen %.2f, encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_features, m.seconds_keygen, m.seconds_encrypt, m.seconds_train, m.seconds_decrypt,
              r.seconds_total);
  return 0;
}

}  // namespace

Command add_transfer(CLI::App& app) {
  auto go = std::make_shared<TransferCliOptions>();
  auto* t = app.add_subcommand("transfer", "CNN training by transfer learning: frozen ResNet-20 features of the digits, "
                                           "multiclass logistic regression trained on them encrypted");
  t->add_option("--train-images", go->train_images,
                "first N digits of the training split train (default 128, the seed paper's; 0: all 1438)")
      ->check(whole_at_least(0));
  t->add_option("--iterations", go->iterations, "NAG iterations (default 2; n15 fits at most 4, --bootstrap any)")
      ->check(CLI::Range(1, 1000));
  t->add_option("--seed", go->seed, "seed of the train/test shuffle (default 1)");
  t->add_option("--model", go->model, "safetensors weights of the frozen network (default: ml/models/resnet20_fmnist.safetensors)");
  add_params_and_json(t, go->params, go->json, "parameter preset n13|n14|n15|n16 (default n15, 128-bit)");
  add_bootstrap_flag(t, *go);
  t->add_flag("--nn", go->nn,
              "also train nn-train's network (64-15-10, its default recipe, N = 2^16 bootstrapping, 128-bit) on the "
              "encrypted features");
  return {t, [go] { return run_transfer(*go); }};
}

}  // namespace ckks::ml::cli

// ckks-ml mlp [--images K] [--model PATH] [--data DIR] [--json]
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp_encrypted.h"

namespace ckks::ml::cli {
namespace {

struct MlpOptions {
  std::string model = std::string(CKKS_MODELS_DIR) + "/mlp_fmnist.safetensors";
  std::string data = kDebianFashionMnistDir;
  std::size_t images = 10000;
  bool json = false;
};

// Batched encrypted MLP inference on Fashion-MNIST (one image per slot): plaintext accuracy on the
// whole test set, encrypted predictions for the first `images` test images, their agreement.
int run_mlp(const MlpOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t_total = Clock::now();
  const Mlp model = Mlp::load(o.model);
  const ImageSet test = load_fashion_mnist(o.data, false);
  std::size_t plain_correct = 0;
  std::vector<int> plain_pred(test.images.size());
  for (std::size_t i = 0; i < test.images.size(); ++i) {
    plain_pred[i] = model.predict(test.images[i]);
    plain_correct += plain_pred[i] == test.labels[i];
  }
  const std::size_t count = std::min(o.images, test.images.size());
  const Params params = Params::preset_n14();
  auto ctx = Context::create(params);
  std::fprintf(stderr, "[mlp] %zu test images, %zu encrypted in batches of %zu; %s\n", test.images.size(), count,
               ctx->max_slots(), params.describe().c_str());
  auto t = Clock::now();
  ClientKeys client(ctx);
  MlpBatchServer server(ctx, model, client.keygen.relin_key(client.sk));
  const double s_keygen = seconds_since(t);
  double s_encrypt = 0, s_infer = 0, s_decrypt = 0;
  std::size_t enc_correct = 0, agree = 0;
  for (std::size_t start = 0; start < count; start += ctx->max_slots()) {
    const std::size_t n = std::min(ctx->max_slots(), count - start);
    const std::vector<std::vector<float>> batch(test.images.begin() + start, test.images.begin() + start + n);
    t = Clock::now();
    const auto cts = encrypt_image_batch(client.encoder, client.encryptor, batch, model.input_size(),
                                             ctx->max_level(), ctx->default_scale());
    s_encrypt += seconds_since(t);
    t = Clock::now();
    const auto out = server.forward(cts);  // the server sees ciphertexts and the relinearisation key
    s_infer += seconds_since(t);
    t = Clock::now();
    std::vector<Plaintext> pts;
    for (const auto& c : out) pts.push_back(client.decryptor.decrypt(c));
    const auto logits = decode_logits(client.encoder, pts, n);
    s_decrypt += seconds_since(t);
    for (std::size_t b = 0; b < n; ++b) {
      const int pred = static_cast<int>(std::max_element(logits[b].begin(), logits[b].end()) - logits[b].begin());
      enc_correct += pred == test.labels[start + b];
      agree += pred == plain_pred[start + b];
    }
    std::fprintf(stderr, "[mlp] batch of %zu images: %.1f s inference\n", n, s_infer);
  }
  const double plain_acc = static_cast<double>(plain_correct) / test.images.size();
  const double enc_acc = count ? static_cast<double>(enc_correct) / count : 0.0;
  const double agreement = count ? static_cast<double>(agree) / count : 0.0;
  const double per_image = count ? (s_encrypt + s_infer + s_decrypt) / count : 0.0;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "mlp";
    j["dataset"] = "fashion-mnist test set (dataset-fashion-mnist)";
    j["architecture"] = "784-64-32-10, square activations, batched: one image per slot";
    j["images_encrypted"] = count;
    j["plaintext"] = {{"accuracy", plain_acc}, {"images", test.images.size()}};
    j["encrypted"] = {{"accuracy", enc_acc}};
    j["agreement"] = agreement;
    j["samples_per_second"] = per_image > 0 ? 1.0 / per_image : 0.0;
    j["seconds_per_image_amortised"] = per_image;
    j["levels_used"] = server.levels_needed();
    j["params"] = {{"log_n", params.log_n}, {"log_q", params.log_q}, {"log_p", params.log_p},
                   {"log_scale", params.log_scale}, {"security_bits", ctx->security_bits()}};
    j["seconds"] = {{"keygen", s_keygen}, {"encrypt", s_encrypt}, {"infer", s_infer}, {"decrypt", s_decrypt},
                    {"total", seconds_since(t_total)}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted MLP inference (784-64-32-10, square activations), Fashion-MNIST, batched\n");
  std::printf("  params: %s, security: %s, %d levels used\n", params.describe().c_str(),
              ctx->security_bits() >= 128 ? "128-bit" : "INSECURE", server.levels_needed());
  std::printf("  plaintext accuracy (%zu test images): %.4f\n", test.images.size(), plain_acc);
  std::printf("  encrypted accuracy (%zu images): %.4f; agreement with plaintext: %.4f\n", count, enc_acc, agreement);
  std::printf("  seconds: keygen %.1f, encrypt %.1f, inference %.1f, decrypt %.2f; %.2f ms per image amortised (%.0f images/s)\n",
              s_keygen, s_encrypt, s_infer, s_decrypt, 1000 * per_image, per_image > 0 ? 1 / per_image : 0.0);
  return 0;
}

}  // namespace

Command add_mlp(CLI::App& app) {
  auto mo = std::make_shared<MlpOptions>();
  auto* mlp = app.add_subcommand("mlp", "batched encrypted MLP inference on Fashion-MNIST (one image per slot)");
  mlp->add_option("--images", mo->images, "test images to run encrypted (default 10000, batches of N/2)");
  mlp->add_option("--model", mo->model, "safetensors weights (default: the committed ml/models/mlp_fmnist.safetensors)");
  mlp->add_option("--data", mo->data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  mlp->add_flag("--json", mo->json, "print one JSON object instead of the table");
  return {mlp, [mo] { return run_mlp(*mo); }};
}

}  // namespace ckks::ml::cli

// ckks-ml mlp [--mode batched|latency|both] [--images K] [--latency-images K] [--model PATH]
//             [--data DIR] [--json]
//
// Encrypted inference of the Fashion-MNIST MLP (ml/models/mlp_fmnist.safetensors) in two layouts:
//   batched  one image per slot (ml/mlp/mlp_encrypted.h): up to N/2 images per forward pass; reports
//            accuracy, agreement with the plaintext predictions and the amortised time per image.
//   latency  one image per ciphertext (ml/mlp/mlp_latency.h): reports the time of one image (mean and
//            median, split encrypt / infer / decrypt), agreement and the largest logit error.
// The JSON object keeps the batched fields (images_encrypted, encrypted, agreement, …) whenever the
// batched mode ran, and adds a "latency" object whenever the latency mode ran.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp/mlp_encrypted.h"
#include "ml/mlp/mlp_latency.h"

namespace ckks::ml::cli {
namespace {

struct MlpOptions {
  std::string model = std::string(CKKS_MODELS_DIR) + "/mlp_fmnist.safetensors";
  std::string data = kDebianFashionMnistDir;
  std::string mode = "batched";
  std::size_t images = 10000;
  std::size_t latency_images = 20;
  bool json = false;
};


int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct BatchedResult {
  Params params;
  int security_bits = 0;
  int levels = 0;
  std::size_t count = 0;
  double enc_acc = 0, agreement = 0, per_image = 0;
  double s_keygen = 0, s_encrypt = 0, s_infer = 0, s_decrypt = 0;
};

// Batched mode: the first `count` test images, N/2 per forward pass (one image per slot).
BatchedResult run_batched(const Mlp& model, const ImageSet& test, const std::vector<int>& plain_pred,
                          std::size_t images) {
  BatchedResult r;
  r.count = std::min(images, test.images.size());
  r.params = Params::preset_n14();
  auto ctx = Context::create(r.params);
  r.security_bits = ctx->security_bits();
  std::fprintf(stderr, "[mlp] batched: %zu images encrypted in batches of %zu; %s\n", r.count, ctx->max_slots(),
               r.params.describe().c_str());
  auto t = Clock::now();
  ClientKeys client(ctx);
  MlpBatchServer server(ctx, model, client.keygen.relin_key(client.sk));
  r.levels = server.levels_needed();
  r.s_keygen = seconds_since(t);
  std::size_t enc_correct = 0, agree = 0;
  for (std::size_t start = 0; start < r.count; start += ctx->max_slots()) {
    const std::size_t n = std::min(ctx->max_slots(), r.count - start);
    const std::vector<std::vector<float>> batch(test.images.begin() + start, test.images.begin() + start + n);
    t = Clock::now();
    const auto cts = encrypt_image_batch(client.encoder, client.encryptor, batch, model.input_size(),
                                         ctx->max_level(), ctx->default_scale());
    r.s_encrypt += seconds_since(t);
    t = Clock::now();
    const auto out = server.forward(cts);  // the server sees ciphertexts and the relinearisation key
    r.s_infer += seconds_since(t);
    t = Clock::now();
    std::vector<Plaintext> pts;
    for (const auto& c : out) pts.push_back(client.decryptor.decrypt(c));
    const auto logits = decode_logits(client.encoder, pts, n);
    r.s_decrypt += seconds_since(t);
    for (std::size_t b = 0; b < n; ++b) {
      const int pred = argmax(logits[b]);
      enc_correct += pred == test.labels[start + b];
      agree += pred == plain_pred[start + b];
    }
    std::fprintf(stderr, "[mlp] batch of %zu images: %.1f s inference\n", n, r.s_infer);
  }
  r.enc_acc = r.count ? static_cast<double>(enc_correct) / r.count : 0.0;
  r.agreement = r.count ? static_cast<double>(agree) / r.count : 0.0;
  r.per_image = r.count ? (r.s_encrypt + r.s_infer + r.s_decrypt) / r.count : 0.0;
  return r;
}

struct LatencyResult {
  Params params;
  int security_bits = 0;
  int levels = 0;
  std::size_t slots = 0, galois_keys = 0;
  TransformCost cost;  // of one forward pass
  std::size_t count = 0;
  double enc_acc = 0, agreement = 0, max_logit_error = 0;
  double s_keygen = 0, s_setup = 0;
  std::vector<double> encrypt, infer, decrypt, total;  // seconds, one entry per image
};

// Latency mode: the first `images` test images, one ciphertext each, timed one by one.
LatencyResult run_latency(const Mlp& model, const ImageSet& test, const std::vector<int>& plain_pred,
                          std::size_t images) {
  LatencyResult r;
  r.count = std::min(images, test.images.size());
  const MlpLatencyLayout layout(model);
  r.levels = layout.levels_needed();
  r.slots = layout.slots();
  r.params = mlp_latency_params(r.levels, r.slots);
  auto ctx = Context::create(r.params);
  r.security_bits = ctx->security_bits();
  const std::vector<int> steps = layout.rotation_steps();
  r.galois_keys = steps.size();
  std::fprintf(stderr, "[mlp] latency: %zu images, one ciphertext of %zu slots each; %s; %zu rotation keys\n",
               r.count, r.slots, r.params.describe().c_str(), steps.size());
  auto t = Clock::now();
  ClientKeys client(ctx);
  RelinKey rk = client.keygen.relin_key(client.sk);
  GaloisKeys gk = client.keygen.galois_keys(client.sk, steps);
  r.s_keygen = seconds_since(t);
  t = Clock::now();
  // The server gets the Context, the model and the evaluation keys, never the secret key.
  const MlpLatencyServer server(ctx, model, std::move(rk), std::move(gk));
  r.s_setup = seconds_since(t);
  std::size_t enc_correct = 0, agree = 0;
  for (std::size_t i = 0; i < r.count; ++i) {
    t = Clock::now();
    const Ciphertext ct = encrypt_latency_image(layout, client.encoder, client.encryptor, test.images[i],
                                                ctx->max_level(), ctx->default_scale());
    r.encrypt.push_back(seconds_since(t));
    t = Clock::now();
    TransformCost cost;
    const Ciphertext out = server.forward(ct, &cost);
    r.infer.push_back(seconds_since(t));
    r.cost = cost;
    t = Clock::now();
    const std::vector<double> logits = decode_latency_logits(layout, client.encoder, client.decryptor.decrypt(out));
    r.decrypt.push_back(seconds_since(t));
    r.total.push_back(r.encrypt.back() + r.infer.back() + r.decrypt.back());
    const std::vector<double> want = model.logits(test.images[i]);
    for (std::size_t c = 0; c < want.size(); ++c)
      r.max_logit_error = std::max(r.max_logit_error, std::fabs(logits[c] - want[c]));
    const int pred = argmax(logits);
    enc_correct += pred == test.labels[i];
    agree += pred == plain_pred[i];
  }
  r.enc_acc = r.count ? static_cast<double>(enc_correct) / r.count : 0.0;
  r.agreement = r.count ? static_cast<double>(agree) / r.count : 0.0;
  std::fprintf(stderr, "[mlp] latency: %.3f s mean inference per image\n", mean(r.infer));
  return r;
}

nlohmann::json params_json(const Params& p, int security_bits) {
  return {{"log_n", p.log_n}, {"log_q", p.log_q}, {"log_p", p.log_p}, {"log_scale", p.log_scale},
          {"security_bits", security_bits}};
}

// Encrypted MLP inference on Fashion-MNIST: plaintext accuracy on the whole test set, then the
// batched and/or the latency mode on the first test images.
int run_mlp(const MlpOptions& o) {
  const bool batched = o.mode == "batched" || o.mode == "both";
  const bool latency = o.mode == "latency" || o.mode == "both";
  if (!batched && !latency)
    throw InputError("mlp: --mode \"" + o.mode + "\" is not one of batched, latency, both");
  if (latency && o.latency_images == 0)
    throw InputError("mlp: --latency-images 0; the latency mode needs at least one image");
  const auto t_total = Clock::now();
  const Mlp model = Mlp::load(o.model);
  const ImageSet test = load_fashion_mnist(o.data, false);
  std::size_t plain_correct = 0;
  std::vector<int> plain_pred(test.images.size());
  for (std::size_t i = 0; i < test.images.size(); ++i) {
    plain_pred[i] = model.predict(test.images[i]);
    plain_correct += plain_pred[i] == test.labels[i];
  }
  const double plain_acc = static_cast<double>(plain_correct) / test.images.size();
  std::fprintf(stderr, "[mlp] %zu test images, plaintext accuracy %.4f\n", test.images.size(), plain_acc);
  BatchedResult b;
  LatencyResult l;
  if (batched) b = run_batched(model, test, plain_pred, o.images);
  if (latency) l = run_latency(model, test, plain_pred, o.latency_images);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "mlp";
    j["dataset"] = "fashion-mnist test set (dataset-fashion-mnist)";
    j["mode"] = o.mode;
    j["plaintext"] = {{"accuracy", plain_acc}, {"images", test.images.size()}};
    if (batched) {
      j["architecture"] = "784-64-32-10, square activations, batched: one image per slot";
      j["images_encrypted"] = b.count;
      j["encrypted"] = {{"accuracy", b.enc_acc}};
      j["agreement"] = b.agreement;
      j["samples_per_second"] = b.per_image > 0 ? 1.0 / b.per_image : 0.0;
      j["seconds_per_image_amortised"] = b.per_image;
      j["levels_used"] = b.levels;
      j["params"] = params_json(b.params, b.security_bits);
      j["seconds"] = {{"keygen", b.s_keygen}, {"encrypt", b.s_encrypt}, {"infer", b.s_infer},
                      {"decrypt", b.s_decrypt}};
    } else {
      j["architecture"] = "784-64-32-10, square activations";
    }
    if (latency) {
      j["latency"] = {
          {"layout", "one image per ciphertext: hybrid diagonal method (GAZELLE) with BSGS and hoisted rotations"},
          {"images", l.count},
          {"encrypted", {{"accuracy", l.enc_acc}}},
          {"agreement", l.agreement},
          {"max_logit_error", l.max_logit_error},
          {"slots", l.slots},
          {"levels_used", l.levels},
          {"rotations_per_image", l.cost.rotations},
          {"galois_keys", l.galois_keys},
          {"params", params_json(l.params, l.security_bits)},
          {"seconds_per_image",
           {{"encrypt", {{"mean", mean(l.encrypt)}, {"median", median(l.encrypt)}}},
            {"infer", {{"mean", mean(l.infer)}, {"median", median(l.infer)}}},
            {"decrypt", {{"mean", mean(l.decrypt)}, {"median", median(l.decrypt)}}},
            {"total", {{"mean", mean(l.total)}, {"median", median(l.total)}}}}},
          {"images_per_second", mean(l.total) > 0 ? 1.0 / mean(l.total) : 0.0},
          {"seconds", {{"keygen", l.s_keygen}, {"server_setup", l.s_setup}}}};
    }
    if (batched) j["seconds"]["total"] = seconds_since(t_total);
    else j["seconds_total"] = seconds_since(t_total);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted MLP inference (784-64-32-10, square activations), Fashion-MNIST\n");
  std::printf("  plaintext accuracy (%zu test images): %.4f\n", test.images.size(), plain_acc);
  if (batched) {
    std::printf("batched (one image per slot)\n");
    std::printf("  params: %s, security: %s, %d levels used\n", b.params.describe().c_str(),
                b.security_bits >= 128 ? "128-bit" : "INSECURE", b.levels);
    std::printf("  encrypted accuracy (%zu images): %.4f; agreement with plaintext: %.4f\n", b.count, b.enc_acc,
                b.agreement);
    std::printf("  seconds: keygen %.1f, encrypt %.1f, inference %.1f, decrypt %.2f; %.2f ms per image amortised (%.0f images/s)\n",
                b.s_keygen, b.s_encrypt, b.s_infer, b.s_decrypt, 1000 * b.per_image,
                b.per_image > 0 ? 1 / b.per_image : 0.0);
  }
  if (latency) {
    std::printf("latency (one image per ciphertext, %zu slots)\n", l.slots);
    std::printf("  params: %s, security: %s, %d levels used, %d rotations per image, %zu rotation keys\n",
                l.params.describe().c_str(), l.security_bits >= 128 ? "128-bit" : "INSECURE", l.levels,
                l.cost.rotations, l.galois_keys);
    std::printf("  encrypted accuracy (%zu images): %.4f; agreement with plaintext: %.4f; max logit error %.2e\n",
                l.count, l.enc_acc, l.agreement, l.max_logit_error);
    std::printf("  seconds per image   mean    median\n");
    std::printf("    encrypt         %7.4f  %7.4f\n", mean(l.encrypt), median(l.encrypt));
    std::printf("    inference       %7.4f  %7.4f\n", mean(l.infer), median(l.infer));
    std::printf("    decrypt         %7.4f  %7.4f\n", mean(l.decrypt), median(l.decrypt));
    std::printf("    total           %7.4f  %7.4f  (%.1f images/s one at a time)\n", mean(l.total), median(l.total),
                mean(l.total) > 0 ? 1 / mean(l.total) : 0.0);
    std::printf("  seconds: keygen %.1f (incl. %zu rotation keys), server setup %.2f\n", l.s_keygen, l.galois_keys,
                l.s_setup);
  }
  return 0;
}

}  // namespace

Command add_mlp(CLI::App& app) {
  auto mo = std::make_shared<MlpOptions>();
  auto* mlp = app.add_subcommand("mlp", "encrypted MLP inference on Fashion-MNIST: batched (one image per slot) "
                                        "and/or latency (one image per ciphertext)");
  mlp->add_option("--mode", mo->mode, "batched (default), latency, or both");
  mlp->add_option("--images", mo->images, "test images to run in batched mode (default 10000, batches of N/2)");
  mlp->add_option("--latency-images", mo->latency_images,
                  "test images to run one at a time in latency mode (default 20)");
  mlp->add_option("--model", mo->model, "safetensors weights (default: the committed ml/models/mlp_fmnist.safetensors)");
  mlp->add_option("--data", mo->data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  mlp->add_flag("--json", mo->json, "print one JSON object instead of the table");
  return {mlp, [mo] { return run_mlp(*mo); }};
}

}  // namespace ckks::ml::cli

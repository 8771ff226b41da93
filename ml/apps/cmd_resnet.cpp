// ckks-ml resnet [--depth 8|20] [--images K] [--plain-images M] [--model PATH] [--data DIR] [--json]
//
// Leveled encrypted inference of the quadratic-activation ResNet-8 / ResNet-20 on Fashion-MNIST
// (ml/resnet_encrypted.h): plaintext accuracy of the model on the test set (C++ forward pass,
// ml/resnet_plain.h), then K test images encrypted one at a time at 128-bit parameters
// (resnet_params), each evaluated by the server without the secret key and decrypted: encrypted
// accuracy, agreement with the plaintext predictions, the largest logit error (absolute and in
// bits), seconds per image split by layer type, levels, key sizes and peak memory.
// --images 0 reports the plaintext figures only.
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "ckks/math/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/data/image.h"
#include "ml/resnet_encrypted.h"

namespace ckks::ml::cli {
namespace {

struct ResNetOptions {
  int depth = 8;
  std::size_t images = 1;
  std::size_t plain_images = 10000;
  std::string model;  // empty: the committed model for --depth
  std::string data = kDebianFashionMnistDir;
  bool json = false;
};

using Clock = std::chrono::steady_clock;

int argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

/// Peak resident memory of this process so far, bytes (getrusage: ru_maxrss is in KiB on Linux).
double peak_memory_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

/// Bytes of a key-switching key in memory: every polynomial's limbs × N words of 8 bytes.
double key_bytes(const KeySwitchKey& k, std::size_t n) {
  double b = 0;
  for (const auto& p : k.b) b += static_cast<double>(p.limbs() * n * 8);
  for (const auto& p : k.a) b += static_cast<double>(p.limbs() * n * 8);
  return b;
}

/// Plaintext predictions of the first `count` images, on all hardware threads.
std::vector<int> plain_predictions(const ResNet& model, const ImageSet& test, std::size_t count) {
  std::vector<int> pred(count);
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::future<void>> jobs;
  for (std::size_t t = 0; t < threads; ++t)
    jobs.push_back(std::async(std::launch::async, [&, t] {
      for (std::size_t i = t; i < count; i += threads) pred[i] = model.predict(test.images[i]);
    }));
  for (auto& j : jobs) j.get();
  return pred;
}

int run_resnet(const ResNetOptions& o) {
  if (o.depth != 8 && o.depth != 20) throw InputError("resnet: --depth " + std::to_string(o.depth) + " is not 8 or 20");
  const auto t_total = Clock::now();
  const std::string path =
      o.model.empty() ? std::string(CKKS_MODELS_DIR) + "/resnet" + std::to_string(o.depth) + "_fmnist.safetensors" : o.model;
  const ResNet model = ResNet::load(path);
  if (!o.model.empty() && static_cast<int>(model.depth()) != o.depth)
    throw InputError("resnet: " + path + " is a ResNet-" + std::to_string(model.depth()) + " but --depth is " +
                     std::to_string(o.depth));
  const ImageSet test = pad_fashion_mnist_to_32(load_fashion_mnist(o.data, false));
  const std::size_t n_plain = std::min(o.plain_images, test.images.size());
  const std::size_t n_enc = std::min(o.images, test.images.size());
  if (n_plain == 0 && n_enc == 0) throw InputError("resnet: --plain-images 0 and --images 0 leave nothing to do");

  // Plaintext accuracy (and the predictions the encrypted ones are compared with).
  auto t = Clock::now();
  std::fprintf(stderr, "[resnet] ResNet-%d: plaintext forward pass on %zu test images…\n", o.depth, std::max(n_plain, n_enc));
  const std::vector<int> plain_pred = plain_predictions(model, test, std::max(n_plain, n_enc));
  std::size_t plain_correct = 0;
  for (std::size_t i = 0; i < n_plain; ++i) plain_correct += plain_pred[i] == test.labels[i];
  const double plain_acc = n_plain ? static_cast<double>(plain_correct) / n_plain : 0.0;
  const double s_plain = seconds_since(t);
  std::fprintf(stderr, "[resnet] plaintext accuracy %.4f on %zu images (%.1f s)\n", plain_acc, n_plain, s_plain);

  nlohmann::json j;
  j["model"] = "resnet" + std::to_string(o.depth);
  j["dataset"] = "fashion-mnist test set (dataset-fashion-mnist), 28x28 zero-padded to 32x32";
  j["plaintext"] = {{"accuracy", n_plain ? nlohmann::json(plain_acc) : nlohmann::json(nullptr)},
                    {"images", n_plain},
                    {"seconds", s_plain}};
  j["images_encrypted"] = n_enc;

  if (n_enc > 0) {
    const ResNetServer server(model, ResNetPacking(32, 32, std::size_t{1} << 15));
    const int levels = server.levels_needed();
    const Params params = resnet_params(levels);
    auto ctx = Context::create(params);
    const std::vector<int> steps = server.rotation_steps();
    std::fprintf(stderr, "[resnet] %s (log QP %.0f, %d-bit security); %d levels; %zu rotation keys; generating keys…\n",
                 params.describe().c_str(), ctx->log_qp(), ctx->security_bits(), levels, steps.size());
    t = Clock::now();
    ClientKeys client(ctx);
    const RelinKey rk = client.keygen.relin_key(client.sk);
    const GaloisKeys gk = client.keygen.galois_keys(client.sk, steps);
    const double s_keygen = seconds_since(t);
    double galois_bytes = 0;
    for (const auto& [g, k] : gk.keys) galois_bytes += key_bytes(k, ctx->n());
    const double relin_bytes = key_bytes(rk.key, ctx->n());
    std::fprintf(stderr, "[resnet] keys in %.1f s: relinearisation %.0f MiB, %zu Galois keys %.2f GiB\n", s_keygen,
                 relin_bytes / (1 << 20), gk.keys.size(), galois_bytes / (1 << 30));
    // The server's view: Context, evaluation keys, model. No secret key.
    const Evaluator ev(ctx);
    const Encoder enc(ctx);
    const ResNetEvalContext e{ctx, ev, enc, gk, rk, server.packing(), ctx->default_scale()};

    std::size_t enc_correct = 0, agree = 0;
    double max_err = 0, max_logit = 0, s_encrypt = 0, s_infer = 0, s_decrypt = 0;
    ResNetTimings tm;
    int levels_used = 0;
    for (std::size_t i = 0; i < n_enc; ++i) {
      t = Clock::now();
      const std::vector<Ciphertext> in = encrypt_packed(client.encoder, client.encryptor, server.pack_input(test.images[i]),
                                                        ctx->max_level(), ctx->default_scale());
      s_encrypt += seconds_since(t);
      t = Clock::now();
      // Progress on stderr after every activation layer (the Observer sees only ciphertexts).
      const auto t_image = Clock::now();
      const Ciphertext out = server.infer(e, in, &tm, [&](const std::string& name, const PackedFeatureMap& m) {
        std::fprintf(stderr, "[resnet] image %zu/%zu: %-11s level %2d  %6.1f s\n", i + 1, n_enc, name.c_str(),
                     m.cts.front().level, seconds_since(t_image));
      });
      const double si = seconds_since(t);
      s_infer += si;
      levels_used = in.front().level - out.level;
      t = Clock::now();
      const std::vector<double> logits = server.unpack_logits(client.encoder.decode(client.decryptor.decrypt(out)));
      s_decrypt += seconds_since(t);
      const std::vector<double> want = model.forward(test.images[i]);
      for (std::size_t k = 0; k < want.size(); ++k) {
        max_err = std::max(max_err, std::fabs(logits[k] - want[k]));
        max_logit = std::max(max_logit, std::fabs(want[k]));
      }
      const int pred = argmax(logits);
      enc_correct += pred == test.labels[i];
      agree += pred == plain_pred[i];
      std::fprintf(stderr, "[resnet] image %zu/%zu: %.1f s, predicted %d (plaintext %d, label %d)\n", i + 1, n_enc, si,
                   pred, plain_pred[i], test.labels[i]);
    }
    const double nd = static_cast<double>(n_enc);
    nlohmann::json per_layer;
    for (const auto& [kind, s] : tm.seconds) per_layer[kind] = s / nd;
    nlohmann::json cost;
    for (const auto& [kind, c] : tm.cost)
      cost[kind] = {{"rotations", c.rotations / static_cast<int>(n_enc)},
                    {"plaintext_products", c.plaintext_products / static_cast<int>(n_enc)},
                    {"levels", c.levels / static_cast<int>(n_enc)}};
    j["encrypted"] = {{"accuracy", enc_correct / nd}, {"images", n_enc}};
    j["agreement"] = agree / nd;
    j["max_logit_error"] = max_err;
    j["logit_error_bits"] = max_err > 0 ? std::log2(max_err) : -100.0;
    j["max_abs_logit"] = max_logit;
    j["levels_used"] = levels_used;
    j["params"] = {{"log_n", params.log_n}, {"log_q", params.log_q}, {"log_p", params.log_p},
                   {"log_scale", params.log_scale}, {"dnum", ctx->dnum()}, {"log_qp", ctx->log_qp()},
                   {"security_bits", ctx->security_bits()}};
    j["keys"] = {{"galois_keys", gk.keys.size()}, {"galois_bytes", galois_bytes}, {"relin_bytes", relin_bytes}};
    j["cost_per_image"] = cost;
    j["seconds"] = {{"keygen", s_keygen},
                    {"encrypt_per_image", s_encrypt / nd},
                    {"infer_per_image", s_infer / nd},
                    {"decrypt_per_image", s_decrypt / nd},
                    {"per_layer_type_per_image", per_layer}};
  }
  j["peak_memory_bytes"] = peak_memory_bytes();
  j["seconds"]["plaintext"] = s_plain;
  j["seconds"]["total"] = seconds_since(t_total);

  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted ResNet-%d inference (quadratic activations, leveled, no bootstrapping), Fashion-MNIST\n", o.depth);
  if (n_plain) std::printf("  plaintext accuracy (%zu test images): %.4f\n", n_plain, plain_acc);
  if (n_enc > 0) {
    const auto& p = j["params"];
    std::printf("  params: N = 2^%d, %zu data primes (Δ = 2^%g), %zu special primes, dnum %d, log QP %.0f, security: %s\n",
                p["log_n"].get<int>(), p["log_q"].size(), p["log_scale"].get<double>(), p["log_p"].size(),
                p["dnum"].get<int>(), p["log_qp"].get<double>(),
                p["security_bits"].get<int>() >= 128 ? "128-bit" : "INSECURE");
    std::printf("  encrypted accuracy (%zu images): %.4f; agreement with plaintext: %.4f\n", n_enc,
                j["encrypted"]["accuracy"].get<double>(), j["agreement"].get<double>());
    std::printf("  max logit error %.3e (2^%.1f; logits up to %.1f); %d levels used\n", j["max_logit_error"].get<double>(),
                j["logit_error_bits"].get<double>(), j["max_abs_logit"].get<double>(), j["levels_used"].get<int>());
    std::printf("  seconds per image: encrypt %.2f, inference %.1f, decrypt %.3f\n",
                j["seconds"]["encrypt_per_image"].get<double>(), j["seconds"]["infer_per_image"].get<double>(),
                j["seconds"]["decrypt_per_image"].get<double>());
    for (const auto& [kind, s] : j["seconds"]["per_layer_type_per_image"].items()) {
      const auto& c = j["cost_per_image"][kind];
      std::printf("    %-11s %8.1f s  (%d rotations, %d plaintext products, %d levels)\n", kind.c_str(), s.get<double>(),
                  c["rotations"].get<int>(), c["plaintext_products"].get<int>(), c["levels"].get<int>());
    }
    std::printf("  keys: %zu Galois keys %.2f GiB, relinearisation key %.0f MiB (generated in %.1f s)\n",
                j["keys"]["galois_keys"].get<std::size_t>(), j["keys"]["galois_bytes"].get<double>() / (1 << 30),
                j["keys"]["relin_bytes"].get<double>() / (1 << 20), j["seconds"]["keygen"].get<double>());
  }
  std::printf("  peak memory %.2f GiB; total %.1f s\n", j["peak_memory_bytes"].get<double>() / (1 << 30),
              j["seconds"]["total"].get<double>());
  return 0;
}

}  // namespace

Command add_resnet(CLI::App& app) {
  auto ro = std::make_shared<ResNetOptions>();
  auto* r = app.add_subcommand("resnet", "leveled encrypted ResNet-8/20 inference (quadratic activations) on Fashion-MNIST "
                                         "at 128-bit security");
  r->add_option("--depth", ro->depth, "8 (default) or 20");
  r->add_option("--images", ro->images, "test images to encrypt and classify one at a time (default 1; 0: plaintext only)");
  r->add_option("--plain-images", ro->plain_images, "test images for the plaintext accuracy (default 10000, all)");
  r->add_option("--model", ro->model, "safetensors weights (default: the committed ml/models/resnet<depth>_fmnist.safetensors)");
  r->add_option("--data", ro->data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  r->add_flag("--json", ro->json, "print one JSON object instead of the table");
  return {r, [ro] { return run_resnet(*ro); }};
}

}  // namespace ckks::ml::cli

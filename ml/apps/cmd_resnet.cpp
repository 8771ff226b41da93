// ckks-ml resnet [--depth 8|20] [--width standard|wide] [--images K] [--plain-images M] [--model PATH]
//                [--data DIR] [--plaintext-cache GIB] [--key-growth X] [--tap-packing on|off] [--json]
//
// Leveled encrypted inference of the quadratic-activation ResNet-8 / ResNet-20 on Fashion-MNIST
// (ml/resnet/resnet_encrypted.h): plaintext accuracy of the model on the test set (C++ forward pass,
// ml/resnet/resnet_plain.h), then K test images encrypted one at a time at 128-bit parameters
// (resnet_params), each evaluated by the server without the secret key and decrypted: encrypted
// accuracy, agreement with the plaintext predictions, the largest logit error (absolute and in
// bits), seconds per image split by layer type, levels, key sizes and peak memory.
// --images 0 reports the plaintext figures only. --width wide (with --depth 20) runs the wide
// ResNet-20 (64/128/256 channels, ml/models/resnet20w_fmnist.safetensors).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/resnet/resnet_job.h"

namespace ckks::ml::cli {
namespace {

struct ResNetOptions {
  int depth = 8;
  std::string width;  // empty: not given (the standard model, widths unchecked)
  std::size_t images = 1;
  std::size_t plain_images = 10000;
  std::string model;  // empty: the committed model for --depth
  std::string data = kDebianFashionMnistDir;
  bool json = false;
  double plaintext_cache_gib = -1;  // < 0: by depth (default_plaintext_cache_gib)
  double key_growth = 2.0;
  std::string tap_packing = "on";
  int input_baby_steps = 0;
};

/// The report as the JSON object `--json` prints (and the table is read from).
nlohmann::json to_json(const ResNetReport& r) {
  nlohmann::json j;
  j["model"] = "resnet" + std::to_string(r.depth);
  j["widths"] = r.widths;
  j["dataset"] = "fashion-mnist test set (dataset-fashion-mnist), 28x28 zero-padded to 32x32";
  j["plaintext"] = {{"accuracy", r.plain_images ? nlohmann::json(r.plain_accuracy) : nlohmann::json(nullptr)},
                    {"images", r.plain_images},
                    {"seconds", r.seconds_plain}};
  j["images_encrypted"] = r.encrypted_images;
  if (r.encrypted_images > 0) {
    const double nd = static_cast<double>(r.encrypted_images);
    const int ni = static_cast<int>(r.encrypted_images);
    nlohmann::json per_layer;
    for (const auto& [kind, s] : r.timings.seconds) per_layer[kind] = s / nd;
    nlohmann::json per_layer_cpu;
    for (const auto& [kind, s] : r.timings.cpu_seconds) per_layer_cpu[kind] = s / nd;
    nlohmann::json cost;
    for (const auto& [kind, c] : r.timings.cost)
      cost[kind] = {{"rotations", c.rotations / ni}, {"plaintext_products", c.plaintext_products / ni},
                    {"levels", c.levels / ni}};
    j["encrypted"] = {{"accuracy", r.encrypted_accuracy}, {"images", r.encrypted_images}};
    j["agreement"] = r.agreement;
    j["max_logit_error"] = r.max_logit_error;
    j["logit_error_bits"] = r.max_logit_error > 0 ? std::log2(r.max_logit_error) : -100.0;
    j["max_abs_logit"] = r.max_abs_logit;
    j["levels_used"] = r.levels_used;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"key_growth", r.key_growth}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    j["keys"] = {{"galois_keys", r.galois_keys}, {"galois_bytes", r.galois_bytes},
                 {"galois_bytes_whole_chain", r.galois_bytes_whole_chain}, {"relin_bytes", r.relin_bytes}};
    j["cost_per_image"] = cost;
    j["tap_packing"] = r.pack_taps;
    j["input_baby_steps"] = r.input_baby_steps;
    j["input_baby_steps_min_level"] = r.input_baby_steps_min_level;
    j["plaintext_cache"] = {{"plaintexts", r.cached_plaintexts}, {"bytes", r.cached_plaintext_bytes},
                            {"seconds", r.seconds_prepare}, {"hits_per_image", r.cache_hits / r.encrypted_images}};
    j["seconds"] = {{"keygen", r.seconds_keygen},
                    {"prepare_plaintexts", r.seconds_prepare},
                    {"encrypt_per_image", r.seconds_encrypt / nd},
                    {"infer_per_image", r.seconds_infer / nd},
                    {"infer_cpu_per_image", r.cpu_seconds_infer / nd},
                    {"decrypt_per_image", r.seconds_decrypt / nd},
                    {"per_layer_type_per_image", per_layer},
                    {"per_layer_type_cpu_per_image", per_layer_cpu}};
  }
  j["peak_memory_bytes"] = r.peak_memory_bytes;
  j["seconds"]["plaintext"] = r.seconds_plain;
  j["seconds"]["total"] = r.seconds_total;
  return j;
}

/// --plaintext-cache's default in GiB: every weight plaintext for ResNet-8 (∞; 2537 of them, 7.85 GiB,
/// −30 % of inference CPU at dnum 2, docs/ml.md "Rotation cost and the digit count"), none for
/// ResNet-20 (all of them would take about 57 GiB, past its 12 GiB bar).
double default_plaintext_cache_gib(int depth) {
  return depth == 8 ? std::numeric_limits<double>::infinity() : 0.0;
}

int run_resnet(const ResNetOptions& o) {
  ResNetJobOptions jo;
  jo.depth = o.depth;
  jo.images = o.images;
  jo.plain_images = o.plain_images;
  jo.model = o.model.empty() ? std::string(CKKS_MODELS_DIR) + "/resnet" + std::to_string(o.depth) +
                                   (o.width == "wide" ? "w" : "") + "_fmnist.safetensors"
                             : o.model;
  jo.width = o.width;
  jo.data = o.data;
  jo.plaintext_cache_gib = o.plaintext_cache_gib >= 0 ? o.plaintext_cache_gib : default_plaintext_cache_gib(o.depth);
  jo.key_growth = o.key_growth;
  jo.pack_taps = o.tap_packing == "on";
  jo.input_baby_steps = static_cast<std::size_t>(o.input_baby_steps);
  const ResNetReport r = run_resnet_job(jo, [](const std::string& line) { std::fputs(line.c_str(), stderr); });
  const nlohmann::json j = to_json(r);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const std::size_t n_plain = r.plain_images, n_enc = r.encrypted_images;
  const double plain_acc = r.plain_accuracy;
  std::printf("Encrypted ResNet-%d inference (quadratic activations, leveled, no bootstrapping), Fashion-MNIST\n", o.depth);
  std::printf("  stage widths %zu/%zu/%zu\n", r.widths.at(0), r.widths.at(1), r.widths.at(2));
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
    std::printf("  seconds per image: encrypt %.2f, inference %.1f (CPU %.1f), decrypt %.3f\n",
                j["seconds"]["encrypt_per_image"].get<double>(), j["seconds"]["infer_per_image"].get<double>(),
                j["seconds"]["infer_cpu_per_image"].get<double>(), j["seconds"]["decrypt_per_image"].get<double>());
    for (const auto& [kind, s] : j["seconds"]["per_layer_type_per_image"].items()) {
      const auto& c = j["cost_per_image"][kind];
      std::printf("    %-11s %8.1f s, CPU %6.1f s  (%d rotations, %d plaintext products, %d levels)\n", kind.c_str(), s.get<double>(),
                  j["seconds"]["per_layer_type_cpu_per_image"][kind].get<double>(), c["rotations"].get<int>(), c["plaintext_products"].get<int>(), c["levels"].get<int>());
    }
    if (r.cached_plaintexts > 0)
      std::printf("  %zu weight plaintexts encoded ahead (%.2f GiB, %.1f s once), %zu products per image served\n",
                  r.cached_plaintexts, r.cached_plaintext_bytes / (1 << 30), r.seconds_prepare,
                  r.cache_hits / r.encrypted_images);
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
  r->add_option("--width", ro->width,
                "standard (16/32/64 channels, default) or wide (64/128/256, --depth 20 only: "
                "ml/models/resnet20w_fmnist.safetensors); the model's widths must match");
  r->add_option("--images", ro->images, "test images to encrypt and classify one at a time (default 1; 0: plaintext only)");
  r->add_option("--plain-images", ro->plain_images, "test images for the plaintext accuracy (default 10000, all)");
  r->add_option("--model", ro->model,
                "safetensors weights (default: the committed ml/models/resnet<depth>_fmnist.safetensors, "
                "resnet20w_fmnist.safetensors with --width wide)");
  r->add_option("--data", ro->data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  r->add_option("--plaintext-cache", ro->plaintext_cache_gib,
                 "GiB of convolution weight plaintexts to encode once before the images (default: all of them "
                 "for --depth 8, 7.85 GiB, peak about 10.4 GiB, encoded in about 20-80 s once; none for --depth 20, "
                 "which would need about 57 GiB); --plaintext-cache 0 turns it off")
      ->check(CLI::NonNegativeNumber);
  r->add_option("--key-growth", ro->key_growth,
                 "how many times larger than the smallest the switching keys may be for cheaper rotations "
                 "(resnet_params; default 2: ResNet-8 gets dnum 2 and 6 special primes, keys 1.57x larger, "
                 "rotations about a third cheaper; 1: the smallest keys, dnum 1; ResNet-20 is the same for any value)")
      ->check(CLI::Range(1.0, 100.0));
  r->add_option("--tap-packing", ro->tap_packing,
                "on (default): the 3x3 taps of a convolution whose input is clean share one product in the gap of "
                "stages 2 and 3 (1 product per channel rotation at gap 4, 3 at gap 2, instead of 9); off: one "
                "product per tap")
      ->check(CLI::IsMember({"on", "off"}));
  r->add_option("--input-baby-steps", ro->input_baby_steps,
                "n1: the convolutions whose taps are not packed rotate their input by b*B + tap offset for b < n1 "
                "with one hoisted ModUp and sum the products before one ModDown per giant step (double hoisting; "
                "more Galois keys), for the convolutions at levels >= 5k - 1 (k special primes: 24 for ResNet-20) where "
                "its products over the k extra primes cost at most a fifth more; 0: off (default: on whole ResNet-20 "
                "images 2 measured 64.1 s per image against 64.2 s, with 2.1 GiB more keys; docs/ml.md); needs "
                "--plaintext-cache 0")
      ->check(CLI::Range(0, 64));
  r->add_flag("--json", ro->json, "print one JSON object instead of the table");
  return {r, [ro] { return run_resnet(*ro); }};
}

}  // namespace ckks::ml::cli

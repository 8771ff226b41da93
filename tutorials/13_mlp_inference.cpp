// Tutorial 13 — encrypted MLP inference on Fashion-MNIST: one image per ciphertext vs one per slot
//
// Goal: classify encrypted Fashion-MNIST images with the committed 784 → 64 → 32 → 10 network
//       (square activations, ml/models/mlp_fmnist.safetensors) in the two layouts of this project.
//       Latency mode (ml/mlp/mlp_latency.h): the 784 pixels of ONE image fill one ciphertext and each
//       dense layer is a plaintext matrix × encrypted vector product by extended diagonals,
//       baby-step giant-step, and a rotate-and-sum — run layer by layer, printing after each
//       layer the level, the scale, the rotations used and the error against the plaintext layer.
//       Batched mode (ml/mlp/mlp_encrypted.h): pixel k of every image of a batch forms ciphertext k,
//       so a dense layer is a weighted sum of whole ciphertexts, with no rotation at all. Compare
//       what each layout costs and what it is good for.
// Read alongside: CryptoNets (Gilad-Bachrach et al., ICML 2016: one image per slot, square
//       activations); GAZELLE [JVC18] (matrix–vector products for rectangular matrices; the
//       hybrid layout used here is written out in ml/mlp/mlp_latency.h); LoLa [BEG19] (the representation between layers decides one-image latency);
//       [HS14] §4.3 (diagonal method) and [HS18] (baby-step giant-step, hoisting) — see
//       docs/references.md. In this project: the headers of ml/mlp/mlp_latency.h (layout, the formula
//       for the extended diagonals, rotation counts, levels, mlp_latency_params) and
//       ml/mlp/mlp_encrypted.h; ml/models/README.md (the model, its largest intermediate values).
// What to observe:
//   1. The layout: input period 1024 (784 pixels + zeros); the layers' output periods 64, 32, 16
//      feed the next layer directly, so no masking or repacking is needed; 19 rotation keys.
//   2. Levels: each dense layer and each square costs exactly one level (5 in all); the scale stays
//      Δ after every rescale; the chain of mlp_latency_params has exactly 5 levels at N = 2^13,
//      128-bit secure.
//   3. Rotations: 18, 11 and 7 for the three dense layers (baby steps + giant steps + the
//      rotate-and-sum), 0 for the squares: 36 per image.
//   4. The absolute error grows through the layers (2e-5 on the input, a few 1e-3 after the
//      second square, as the values grow to ~50), but relative to the values of each stage it stays
//      at 13–15 bits (Δ = 2^27): every image gets the plaintext class.
//   5. Batched mode uses no rotation and holds N/2 images per ciphertext but needs 784 input
//      ciphertexts and one scalar product per weight: per image it is far cheaper when the batch
//      is full, and far slower for one image.
// Exercises (expected observations in docs/labs/13_mlp_inference.md):
//   a. Run with --images 50: do all 50 encrypted predictions equal the plaintext ones, and what is
//      the largest logit error?
//   b. Run with --batch 512 (a full batch at N = 2^10): how do the total time and the time per
//      image of the batched mode change compared with --batch 64?
//   c. Run with --batch-log-n 12 --batch 64: the same batch in a ring twice as large — time, and
//      the error?
//
// Usage: tutorial_13_mlp_inference [--images I] [--batch B] [--batch-log-n L] [--seed K]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp/mlp_encrypted.h"
#include "ml/mlp/mlp_latency.h"
#include "ml/mlp/mlp_plain.h"
#include "ml/timer.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;

namespace {

const char* kModel = CKKS_MODELS_DIR "/mlp_fmnist.safetensors";


int argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

/// The plaintext dense layer W x + b.
std::vector<double> dense_plain(const ml::Mlp::Dense& d, const std::vector<double>& x) {
  std::vector<double> y(d.out);
  for (std::size_t j = 0; j < d.out; ++j) {
    double s = d.bias[j];
    for (std::size_t k = 0; k < d.in; ++k) s += d.weight[j * d.in + k] * x[k];
    y[j] = s;
  }
  return y;
}

/// Largest |slot[s] − want[s mod period]| over all slots, want padded with zeros to the period:
/// checks the whole periodic layout of ml/mlp/mlp_latency.h, the padding included.
double layout_error(const std::vector<double>& slots, const std::vector<double>& want, std::size_t period) {
  double err = 0;
  for (std::size_t s = 0; s < slots.size(); ++s) {
    const std::size_t r = s % period;
    err = std::max(err, std::fabs(slots[s] - (r < want.size() ? want[r] : 0.0)));
  }
  return err;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 13 — encrypted MLP inference on Fashion-MNIST: one image per ciphertext vs one per slot");
  int images = 10, batch = 64, batch_log_n = 10;
  std::uint64_t seed = 1;
  options.add("--images", images, "latency mode: test images classified one ciphertext each", 1, 1000);
  options.add("--batch", batch, "batched mode: test images in the batch (at most N/2)", 1, 8192);
  options.add("--batch-log-n", batch_log_n, "batched mode: ring degree N = 2^L (insecure below 13)", 10, 14);
  options.add("--seed", seed, "seed of the (insecure, deterministic) keys");
  if (const auto code = options.parse(argc, argv)) return *code;
  if (batch > (1 << (batch_log_n - 1))) {
    std::fprintf(stderr, "--batch %d exceeds N/2 = %d slots of --batch-log-n %d: use a smaller batch or a larger ring\n",
                 batch, 1 << (batch_log_n - 1), batch_log_n);
    return 2;
  }
  bool ok = true;
  try {
    // 1. The model and the data.
    const ml::Mlp model = ml::Mlp::load(kModel);
    const std::size_t need_images = static_cast<std::size_t>(std::max(images, batch));
    const ml::ImageSet test = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, need_images);
    std::printf("1. model ml/models/mlp_fmnist.safetensors: %zu", model.input_size());
    for (const auto& l : model.layers) std::printf(" -> %zu%s", l.dense.out, l.act ? " (square)" : "");
    std::printf("; %zu Fashion-MNIST test images loaded\n", test.images.size());

    // ---------------- Latency mode: one image per ciphertext ----------------
    const ml::MlpLatencyLayout layout(model);
    const ContextPtr ctx = Context::create(ml::mlp_latency_params(layout.levels_needed(), layout.slots()));
    std::printf("\nLatency mode: one image per ciphertext (ml/mlp/mlp_latency.h)\n");
    std::printf("2. %s, log QP = %.0f bits, %s\n", ctx->params().describe().c_str(), ctx->log_qp(),
                ctx->security_bits() ? "128-bit secure [HES18]" : "INSECURE");
    std::printf("   levels_needed = %d, chain depth L = %d: %s\n", layout.levels_needed(), ctx->max_level(),
                layout.levels_needed() == ctx->max_level() ? "yes" : "NO");
    ok &= layout.levels_needed() == ctx->max_level();
    std::printf("   S = %zu slots (sparse packing: the ring has N/2 = %zu)\n", layout.slots(), ctx->max_slots());
    for (std::size_t i = 0; i < layout.layers().size(); ++i) {
      const auto& L = layout.layers()[i];
      std::printf("   layer %zu: %zu x %zu, input period %zu, output period R = %zu, fold D/R = %zu, baby steps %zu\n",
                  i + 1, L.out, L.in, L.in_period, L.out_period, L.fold, L.baby_steps);
    }
    const std::vector<int> steps = layout.rotation_steps();
    std::string steps_text;
    for (int s : steps) steps_text += (steps_text.empty() ? "" : " ") + std::to_string(s);
    std::printf("   %zu rotation keys: %s\n", steps.size(), steps_text.c_str());

    auto t = ml::Clock::now();
    ml::ClientKeys client(ctx, seed);  // fixed seed: deterministic and INSECURE, a lab only
    ml::MlpLatencyServer server(ctx, model, client.keygen.relin_key(client.sk),
                                client.keygen.galois_keys(client.sk, steps));
    std::printf("   keys (relinearisation + %zu Galois) and server set-up: %.2f s\n", steps.size(), ml::seconds_since(t));

    // 3. Layer by layer on the first image.
    std::printf("3. layer by layer on test image 0 (error = max over all %zu slots of |decrypted - plaintext|):\n",
                layout.slots());
    std::printf("   stage          | level | log2 scale | rotations | max |value| | max error | bits\n");
    std::vector<double> x(test.images[0].begin(), test.images[0].end());
    Ciphertext ct = ml::encrypt_latency_image(layout, client.encoder, client.encryptor, test.images[0],
                                              ctx->max_level(), ctx->default_scale());
    auto decrypt = [&](const Ciphertext& c) { return client.encoder.decode(client.decryptor.decrypt(c)); };
    const double e_in = layout_error(decrypt(ct), x, layout.layers()[0].in_period);
    std::printf("   input          | %5d | %10.2f | %9d | %11.3g | %9.2e | %4.1f\n", ct.level, std::log2(ct.scale), 0,
                max_abs(x), e_in, -std::log2(e_in / max_abs(x)));
    int total_rot = 0;
    double worst_bits = 1e9;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const auto& layer = model.layers[i];
      const auto& plan = layout.layers()[i];
      TransformCost cost;
      std::vector<double> y = dense_plain(layer.dense, x);
      ct = server.dense(i, ct, &cost);
      total_rot += cost.rotations;
      double err = layout_error(decrypt(ct), y, plan.out_period);
      double bits = -std::log2(err / max_abs(y));
      worst_bits = std::min(worst_bits, bits);
      std::printf("   dense %zu        | %5d | %10.2f | %9d | %11.3g | %9.2e | %4.1f\n", i + 1, ct.level,
                  std::log2(ct.scale), cost.rotations, max_abs(y), err, bits);
      if (layer.act) {
        for (double& v : y) v = (*layer.act)(v);
        ct = server.activation(i, ct);
        err = layout_error(decrypt(ct), y, plan.out_period);
        bits = -std::log2(err / max_abs(y));
        worst_bits = std::min(worst_bits, bits);
        std::printf("   square %zu       | %5d | %10.2f | %9d | %11.3g | %9.2e | %4.1f\n", i + 1, ct.level,
                    std::log2(ct.scale), 0, max_abs(y), err, bits);
      }
      x = y;
    }
    std::printf("   rotations per image: %d; levels used: %d; every stage at least 8 bits below its values: %s\n",
                total_rot, ctx->max_level() - ct.level, worst_bits >= 8 ? "yes" : "NO");
    ok &= worst_bits >= 8 && ct.level == 0;

    // 4. Whole forward pass on `images` images, one ciphertext each.
    double lat_err = 0, lat_seconds = 0;
    int lat_same = 0, lat_correct = 0, plain_correct = 0;
    for (int i = 0; i < images; ++i) {
      const auto& im = test.images[static_cast<std::size_t>(i)];
      const Ciphertext in = ml::encrypt_latency_image(layout, client.encoder, client.encryptor, im, ctx->max_level(),
                                                      ctx->default_scale());
      t = ml::Clock::now();
      const Ciphertext out = server.forward(in);
      lat_seconds += ml::seconds_since(t);
      const std::vector<double> got = ml::decode_latency_logits(layout, client.encoder, client.decryptor.decrypt(out));
      const std::vector<double> want = model.logits(im);
      lat_err = std::max(lat_err, tutorial::max_abs_diff(got, want));
      lat_same += argmax(got) == argmax(want);
      lat_correct += argmax(got) == test.labels[static_cast<std::size_t>(i)];
      plain_correct += argmax(want) == test.labels[static_cast<std::size_t>(i)];
    }
    std::printf("4. %d images, one ciphertext each: encrypted class = plaintext class on %d of %d: %s\n", images,
                lat_same, images, lat_same == images ? "yes" : "NO");
    std::printf("   accuracy %d/%d encrypted, %d/%d plaintext; max logit error %.2e; server %.3f s per image\n",
                lat_correct, images, plain_correct, images, lat_err, lat_seconds / images);
    ok &= lat_same == images;

    // ---------------- Batched mode: one image per slot ----------------
    std::printf("\nBatched mode: one image per slot (ml/mlp/mlp_encrypted.h, CryptoNets)\n");
    Params bp = ml::mlp_latency_params(layout.levels_needed(), layout.slots());  // the same chain ...
    bp.log_n = batch_log_n;                                                          // ... in another ring
    bp.allow_insecure = bp.log_q.size() > 0 && batch_log_n < 13;
    const ContextPtr bctx = Context::create(bp);
    std::printf("5. %s, log QP = %.0f bits, %s\n", bp.describe().c_str(), bctx->log_qp(),
                bctx->security_bits() ? "128-bit secure [HES18]"
                                      : "INSECURE (N below the ring of mlp_latency_params): a lab only");
    t = ml::Clock::now();
    ml::ClientKeys bclient(bctx, seed + 1);
    ml::MlpBatchServer bserver(bctx, model, bclient.keygen.relin_key(bclient.sk));
    const std::vector<std::vector<float>> bimages(test.images.begin(), test.images.begin() + batch);
    const std::vector<Ciphertext> bin = ml::encrypt_image_batch(bclient.encoder, bclient.encryptor, bimages,
                                                                model.input_size(), bctx->max_level(),
                                                                bctx->default_scale());
    const double b_enc = ml::seconds_since(t);
    t = ml::Clock::now();
    const std::vector<Ciphertext> bout = bserver.forward(bin);
    const double b_server = ml::seconds_since(t);
    std::vector<Plaintext> pts;
    for (const auto& c : bout) pts.push_back(bclient.decryptor.decrypt(c));
    const auto blogits = ml::decode_logits(bclient.encoder, pts, bimages.size());
    double b_err = 0;
    int b_same = 0;
    for (std::size_t b = 0; b < bimages.size(); ++b) {
      const auto want = model.logits(bimages[b]);
      b_err = std::max(b_err, tutorial::max_abs_diff(blogits[b], want));
      b_same += argmax(blogits[b]) == argmax(want);
    }
    std::size_t weights = 0;
    for (const auto& l : model.layers) weights += l.dense.in * l.dense.out;
    std::printf("   %d images in %zu input ciphertexts (pixel k of every image in ciphertext k), %zu logit ciphertexts "
                "out at level %d\n", batch, bin.size(), bout.size(), bout[0].level);
    std::printf("   encrypted class = plaintext class on %d of %d: %s; max logit error %.2e\n", b_same, batch,
                b_same == batch ? "yes" : "NO", b_err);
    std::printf("   keys + encryption %.2f s, server %.2f s (%.4f s per image of this batch)\n", b_enc, b_server,
                b_server / batch);
    ok &= b_same == batch;

    // 6. The two layouts side by side.
    std::size_t diag_products = 0;
    for (const auto& L : layout.layers()) diag_products += L.out_period;
    std::printf("6. cost per forward pass:\n");
    std::printf("   layout  | ring   | images per ciphertext | ciphertexts in | rotations | plaintext products | levels\n");
    std::printf("   latency | N=2^%-2d | %21d | %14d | %9d | %18zu | %6d\n", ctx->log_n(), 1, 1, total_rot,
                diag_products, layout.levels_needed());
    std::printf("   batched | N=2^%-2d | %21zu | %14zu | %9d | %18zu | %6d\n", batch_log_n, bctx->max_slots(), bin.size(),
                0, weights, bserver.levels_needed());
    std::printf("   server time: latency %.3f s for 1 image; batched %.2f s for %d images (capacity %zu per pass)\n",
                lat_seconds / images, b_server, batch, bctx->max_slots());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return ok ? 0 : 1;
}

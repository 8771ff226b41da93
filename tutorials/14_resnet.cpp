// Tutorial 14 — encrypted ResNet-8 inference on Fashion-MNIST, layer by layer
//
// Goal: classify encrypted Fashion-MNIST images with a quadratic-activation ResNet-8 evaluated
//       without bootstrapping (ml/resnet/resnet_encrypted.h), and follow the whole pipeline: how a
//       feature map sits in the slots (channel blocks with a gap that doubles at every stride-2
//       convolution), how each activation a·t² + b·t + c is folded into the convolution before it
//       so that it costs one square, how the level budget 2 + 4 per block + 1 is spent, which
//       rotations the convolutions need (and why fewer keys than rotations), and how precise
//       every decrypted activation map is against the plaintext network (ResNet::trace).
//       Default: the tiny trained ResNet-8 ml/models/resnet8_tiny_fmnist16.safetensors (widths
//       4/8/16 on a 16 × 16 input: the 28 × 28 image averaged over 2 × 2 blocks and zero-padded by
//       1) at INSECURE small parameters N = 2^13, Δ = 2^30, a few seconds. --full: the committed
//       ResNet-8 ml/models/resnet8_fmnist.safetensors (16/32/64 on 32 × 32) at the 128-bit
//       parameters resnet_params(15), N = 2^16 (about 70 s and 2 GB per image).
// Read alongside: [Lee22MPC] — the gap: a strided convolution leaves its outputs in place and
//       doubles the gap (their multiplexed packing, from its abstract; we do not multiplex);
//       [HS14] §4.3 (the diagonal method, here on channel blocks); [HS18] (hoisted rotations,
//       baby-step giant-step); [Chielle25] (quadratic activations, "node fusing" and "weight
//       redistribution" — the names from its abstract, the algebra used here is this project's); [HZRS16] (the ResNet architecture). See
//       docs/references.md. In this project: the header of ml/resnet/resnet_encrypted.h (packing,
//       convolutions, weight redistribution, residuals, pooling), ml/resnet/resnet_plain.h (the
//       plaintext network and its trace), ml/models/README.md (the models).
// What to observe (default run; the full output is pasted in docs/labs/14_resnet.md):
//   1. The packing: the 16 × 16 grid is a block of B = 256 slots and the 4096 slots hold 16
//      blocks, so the 4-, 8- and 16-channel maps each fit ONE ciphertext (every channel repeated
//      4, 2 and 1 times) at gaps 1, 2 and 4; the 10 logits land in slots 0–3, 16–19 and 32–33,
//      inside the final gap 4.
//   2. The folded activations: a = 0.14 … 0.27 and b ≈ 1, so m = √a ≈ 0.38 … 0.52, the shift
//      m·b/(2a) ≈ 0.9 … 1.3 and κ = c − b²/(4a) ≈ −0.9 … −1.7; every a > 0, so the sign is +1 and
//      only κ travels to the next layer's bias.
//   3. Levels: the chain has exactly levels_needed() = 2 + 4·3 + 1 = 15 levels. The stem's
//      output is at level 13, the three blocks' outputs at 9, 5 and 1, the logits at 0; every map
//      is at scale 2^30.00 (the convolutions land on Δ exactly, the squares on Δ²/q_ℓ ≈ Δ).
//   4. Rotations: 94 in the convolutions and 17 in pooling + dense, 111 per image, with only 36
//      Galois keys. A 3 × 3 convolution costs 8 hoisted tap rotations per input ciphertext plus
//      C_in − 1 block rotations (grouped baby-step giant-step: s3.b1.conv2, 16 → 16, makes 8 + 15
//      = 23 rotations with 8 + 3 + 3 = 14 keys); the 1 × 1 shortcuts need no tap rotation and,
//      summed inside conv2 (conv_projection_packed), no block rotation either. The measured count
//      equals this prediction.
//   5. Precision: the input decrypts to ~17 bits, every activation map to 15.4–17.1 bits relative
//      to its largest value (absolute errors 4e-5 … 3e-4 on values up to 20), the logits to ~18
//      bits (error ≤ 5e-5): both images get the plaintext class. The server needs 1.7–2.4 s per
//      image (depending on the machine's load), 90 % of it in the convolutions.
// Exercises (expected observations in docs/labs/14_resnet.md):
//   a. Run with --images 10: does every encrypted class equal the plaintext class, and what is the
//      worst precision of any layer?
//   b. Run with --log-scale 25 (25-bit primes, Δ = 2^25): how many bits of precision are lost per
//      layer, and do the classes still agree?
//   c. In the convolution table (step 6), compare the stride-2 s2.b1.conv1 (4 → 8) with the
//      stride-1 s1.b1.conv2 (4 → 4), then s2.b1.conv2 (8 → 8) with s3.b1.conv2 (16 → 16): what
//      does the rotation count depend on, and why are there fewer keys than rotations?
//
// Usage: tutorial_14_resnet [--images K] [--log-scale S] [--seed K] [--data DIR] [--full]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/data/image.h"
#include "ml/resnet/resnet_encrypted.h"
#include "ml/resnet/resnet_plain.h"
#include "ml/timer.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using namespace ckks::ml;

namespace {


/// Index of the largest value (the lowest index on a tie), as ResNet::predict.
int argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

/// max_i |v_i| (0 for an empty vector).
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

/// max_i |a_i − b_i| over the first min(|a|, |b|) entries.
double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

/// Bits of precision of a result whose largest |value| is `mag` and whose largest error is `err`:
/// −log2(err / mag) (99 for an exact result).
double bits(double err, double mag) { return err > 0 ? -std::log2(err / std::max(mag, 1e-300)) : 99.0; }

/// The INSECURE chain of the default run: N = 2^13, `levels` data primes of s bits (Δ = 2^s), q_0 of
/// min(60, s + 20) bits (as resnet_params: room for logits up to 2^19), and enough 60-bit special
/// primes to cover the whole of Q, so one key-switching digit (dnum = 1, the key size
/// dnum·(L + 1 + k) that resnet_params also minimises). log QP is far above the 218 bits that make
/// N = 2^13 128-bit secure: a lab only (allow_insecure).
Params small_params(int levels, int s) {
  Params p;
  p.log_n = 13;
  p.log_q.assign(1, std::min(60, s + 20));
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(levels), s);
  int log_q = 0;
  for (int b : p.log_q) log_q += b;
  p.log_p.assign(static_cast<std::size_t>((log_q + 2 + 59) / 60), 60);
  p.log_scale = s;
  p.dnum = 1;
  p.allow_insecure = true;
  return p;
}

/// "s2" for stage index 1 (the tensor-prefix names of ml/resnet/resnet_plain.h count from 1).
std::string stage_name(std::size_t stage) {
  std::string n(1, 's');
  n += std::to_string(stage + 1);
  return n;
}

/// One convolution of the network, with the map it reads (for the cost table).
struct ConvInfo {
  std::string name;
  const Conv2d* conv;
  std::size_t in_channels, in_gap;
  bool fused = false;  ///< a projection shortcut summed inside conv2 (conv_projection_packed)
};

/// Every convolution in evaluation order (stem, then conv1, conv2, shortcut per block).
std::vector<ConvInfo> convolutions(const ResNet& m, const ResNetPacking& pk) {
  std::vector<ConvInfo> out;
  out.push_back({"stem.conv", &m.stem, m.stem.in_channels, 1});
  std::size_t gap = m.stem.stride, ch = m.stem.out_channels;
  for (std::size_t s = 0; s < m.stages.size(); ++s)
    for (std::size_t bi = 0; bi < m.stages[s].size(); ++bi) {
      const auto& b = m.stages[s][bi];
      const std::string n = resnet_block_name(s + 1, bi + 1);
      out.push_back({n + ".conv1", &b.conv1, ch, gap});
      const std::size_t g2 = gap * b.conv1.stride;
      out.push_back({n + ".conv2", &b.conv2, b.conv1.out_channels, g2});
      if (b.shortcut)
        out.push_back({n + ".shortcut", &*b.shortcut, ch, gap,
                       can_fuse_projection(pk, b.conv1.out_channels, g2, b.conv2, ch, gap, *b.shortcut)});
      gap = g2;
      ch = b.conv2.out_channels;
    }
  return out;
}

/// Rotations conv_packed spends on one convolution (the header's count): one hoisted rotation per
/// non-zero tap offset and input ciphertext, plus nr − 1 block rotations per output ciphertext
/// (nr = min(C_in, blocks)); none for a projection shortcut fused into conv2, which shares conv2's.
/// Assumes no all-zero block diagonal (true for trained weights).
int conv_rotations(const ResNetPacking& pk, const ConvInfo& c) {
  const std::size_t taps = c.conv->kernel * c.conv->kernel - 1;  // the centre tap needs no rotation
  const std::size_t nr = c.fused ? 1 : std::min(c.in_channels, pk.blocks());
  return static_cast<int>(taps * pk.ciphertexts(c.in_channels) + (nr - 1) * pk.ciphertexts(c.conv->out_channels));
}

/// The values separated by single spaces, e.g. "-1 1 16".
std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 14 — encrypted ResNet-8 inference on Fashion-MNIST, layer by layer");
  int images = 2, log_scale = 30;
  std::uint64_t seed = 1;
  bool full = false;
  std::string data = kDebianFashionMnistDir;
  options.add("--images", images, "test images to encrypt and classify, one at a time", 1, 1000);
  options.add("--log-scale", log_scale, "default run: bits of the data primes and of the scale Delta = 2^S", 25, 40);
  options.add("--seed", seed, "seed of the (insecure, deterministic) keys and encryptions");
  options.add("--data", data, "directory of the Fashion-MNIST IDX files");
  options.app().add_flag("--full", full,
                         "the committed 32x32 ResNet-8 at 128-bit parameters resnet_params(15), N = 2^16 "
                         "(about 70 s and 2 GB per image; ignores --log-scale)");
  if (const auto code = options.parse(argc, argv)) return *code;
  bool ok = true;
  try {
    // 1. The model and the images.
    const std::string model_name = full ? "resnet8_fmnist" : "resnet8_tiny_fmnist16";
    const ResNet model = ResNet::load(std::string(CKKS_MODELS_DIR) + "/" + model_name + ".safetensors");
    const std::size_t side = full ? kResNetImageSize : kSmallResNetImageSize;
    const ImageSet raw = load_fashion_mnist(data, false, static_cast<std::size_t>(images));
    std::vector<std::vector<float>> inputs;
    if (full) inputs = pad_fashion_mnist_to_32(raw).images;
    else
      for (const auto& im : raw.images) inputs.push_back(downsample_fashion_mnist_to_16(im));
    std::printf("1. model ml/models/%s.safetensors: ResNet-%zu, input %zux%zux%zu, widths %zu/%zu/%zu, %zu classes\n",
                model_name.c_str(), model.depth(), model.input_channels(), side, side, model.stages[0][0].conv2.out_channels,
                model.stages[1][0].conv2.out_channels, model.stages[2][0].conv2.out_channels, model.num_classes());
    std::printf("   %zu Fashion-MNIST test images, %s\n", inputs.size(),
                full ? "28x28 zero-padded by 2 to 32x32 (pad_fashion_mnist_to_32)"
                     : "28x28 averaged over 2x2 blocks to 14x14, zero-padded by 1 to 16x16 (downsample_fashion_mnist_to_16)");

    // 2. Parameters: the chain has exactly the levels the network needs.
    const std::size_t slots = std::size_t{1} << (full ? 15 : 12);
    const ResNetServer server(model, ResNetPacking(side, side, slots));
    const int levels = server.levels_needed();
    const Params params = full ? resnet_params(levels) : small_params(levels, log_scale);
    const ContextPtr ctx = Context::create(params);
    std::printf("2. %s, log QP = %.0f bits, %s\n", params.describe().c_str(), ctx->log_qp(),
                ctx->security_bits() >= 128
                    ? "128-bit secure [HES18] (resnet_params)"
                    : ("INSECURE (allow_insecure = true; N = 2^" + std::to_string(params.log_n) + " is 128-bit secure up to " +
                       std::to_string(max_log_qp_128(params.log_n)) + " bits): a lab only").c_str());

    // 3. The packing.
    const ResNetPacking& pk = server.packing();
    std::printf("3. packing: grid %zux%zu = block of B = %zu slots; %zu slots / B = %zu blocks per ciphertext\n",
                pk.height(), pk.width(), pk.block(), pk.slots(), pk.blocks());
    std::printf("   map         | channels | size  | gap | ciphertexts | copies per ciphertext\n");
    auto packing_row = [&](const char* what, std::size_t ch, std::size_t gap) {
      const std::size_t n = pk.ciphertexts(ch), copies = ch <= pk.blocks() ? pk.blocks() / ch : 1;
      const std::string size = std::to_string(side / gap) + "x" + std::to_string(side / gap);
      std::printf("   %-11s | %8zu | %-5s | %3zu | %11zu | %zu\n", what, ch, size.c_str(), gap, n, copies);
    };
    packing_row("input", model.input_channels(), 1);
    packing_row("stem", model.stem.out_channels, model.stem.stride);
    for (std::size_t s = 0, gap = model.stem.stride; s < model.stages.size(); ++s) {
      for (const auto& b : model.stages[s]) gap *= b.conv1.stride;
      packing_row(stage_name(s).c_str(), model.stages[s].back().conv2.out_channels, gap);
    }
    std::vector<int> logit_slots;
    for (std::size_t k = 0; k < model.num_classes(); ++k)
      logit_slots.push_back(static_cast<int>(logit_slot(pk, server.final_gap(), k)));
    std::printf("   logits k = 0..%zu in slots %s (delta_k = (k div %zu)*%zu + k mod %zu: %zu classes <= gap^2 = %zu)\n",
                model.num_classes() - 1, join(logit_slots).c_str(), server.final_gap(), pk.width(), server.final_gap(),
                model.num_classes(), server.final_gap() * server.final_gap());

    // 4. The folded activations (weight redistribution).
    std::printf("4. folded activations: act(t) = a t^2 + b t + c = sign*(m t + shift)^2 + kappa\n");
    std::printf("   layer       |        a |        b |        c |      m |  shift | sign |   kappa\n");
    auto act_row = [&](const std::string& name, const QuadraticActivation& a) {
      const FoldedActivation f = fold_activation(a, name);
      std::printf("   %-11s | %8.4f | %8.4f | %8.4f | %6.4f | %6.3f | %+4.0f | %7.3f\n", name.c_str(), a.a, a.b, a.c, f.mult,
                  f.shift, f.sign, f.offset);
    };
    act_row("stem.act", model.stem_act);
    for (std::size_t s = 0; s < model.stages.size(); ++s)
      for (std::size_t bi = 0; bi < model.stages[s].size(); ++bi) {
        const std::string n = resnet_block_name(s + 1, bi + 1);
        act_row(n + ".act1", model.stages[s][bi].act1);
        act_row(n + ".act2", model.stages[s][bi].act2);
      }

    // 5. The level budget.
    std::size_t blocks = 0;
    for (const auto& st : model.stages) blocks += st.size();
    std::printf("5. levels: stem 2 (conv, square) + 4 per block (conv1, square, conv2 with the shortcut, square) x %zu "
                "blocks + pooling/dense 1 = %d = levels_needed()\n", blocks, levels);
    std::printf("   chain depth L = %d equals levels_needed: %s\n", ctx->max_level(), ctx->max_level() == levels ? "yes" : "NO");
    ok &= ctx->max_level() == levels;

    // 6. Rotation keys, and what each convolution costs.
    const std::vector<int> steps = server.rotation_steps();
    std::printf("6. %zu rotation keys (Galois steps): %s\n", steps.size(), join(steps).c_str());
    std::printf("   conv           | k | stride | channels | gap    | ct in/out | tap rot. | block rot. | rotations | keys\n");
    int predicted_conv_rotations = 0;
    for (const ConvInfo& c : convolutions(model, pk)) {
      const std::size_t nr = c.fused ? 1 : std::min(c.in_channels, pk.blocks());
      const int rot = conv_rotations(pk, c);
      predicted_conv_rotations += rot;
      const std::string ch = std::to_string(c.in_channels) + " -> " + std::to_string(c.conv->out_channels);
      const std::string gap = std::to_string(c.in_gap) + " -> " + std::to_string(c.in_gap * c.conv->stride);
      const std::string cts = std::to_string(pk.ciphertexts(c.in_channels)) + "/" +
                              std::to_string(pk.ciphertexts(c.conv->out_channels));
      const std::size_t tap_rot = (c.conv->kernel * c.conv->kernel - 1) * pk.ciphertexts(c.in_channels);
      std::printf("   %-14s | %zu | %6zu | %-8s | %-6s | %9s | %8zu | %10zu | %9d | %4zu\n", c.name.c_str(), c.conv->kernel,
                  c.conv->stride, ch.c_str(), gap.c_str(), cts.c_str(), tap_rot,
                  (nr - 1) * pk.ciphertexts(c.conv->out_channels), rot,
                  conv_rotation_steps(pk, c.in_channels, c.in_gap, *c.conv).size());
    }
    const int pool_rot = static_cast<int>(pool_dense_rotation_steps(pk, model.stages.back().back().conv2.out_channels,
                                                                     server.final_gap(), model.num_classes()).size());
    std::printf("   convolutions: %d rotations per image (predicted); pooling + dense: %d keys\n", predicted_conv_rotations,
                pool_rot);

    auto t = ml::Clock::now();
    ClientKeys client(ctx, seed);  // fixed seed: deterministic and INSECURE, a lab only
    const RelinKey rk = client.keygen.relin_key(client.sk);
    const GaloisKeys gk = client.keygen.galois_keys(client.sk, steps);
    double key_mib = 0;
    for (const auto& [g, k] : gk.keys)
      for (const auto* polys : {&k.b, &k.a})
        for (const auto& p : *polys) key_mib += static_cast<double>(p.limbs() * ctx->n() * 8) / (1 << 20);
    std::printf("   keys: relinearisation + %zu Galois keys (%.0f MiB) in %.2f s\n", gk.keys.size(), key_mib, ml::seconds_since(t));
    // The server's view: Context, evaluation keys, model. No secret key.
    const Evaluator ev(ctx);
    const Encoder enc(ctx);
    const ResNetEvalContext e{ctx, ev, enc, gk, rk, pk, ctx->default_scale()};

    // 7. Each image through the network, every activation map decrypted and compared.
    std::printf("7. encrypted inference, every activation map decrypted by the key owner and compared with ResNet::trace\n");
    std::printf("   (error = max over the map's values of |decrypted - plaintext|, bits = -log2(error / max |value|))\n");
    const int tables = std::min(images, 2);
    if (images > tables) std::printf("   (layer tables for the first %d images; one line for each further image)\n", tables);
    ResNetTimings tm;
    double worst_bits = 1e9, worst_logit_err = 0, server_seconds = 0;
    std::string worst_layer;
    int same = 0, correct_enc = 0, correct_plain = 0;
    for (int i = 0; i < images; ++i) {
      const auto& img = inputs[static_cast<std::size_t>(i)];
      const auto trace = model.trace(FeatureMap::from_values(img, model.input_channels(), side, side));
      const bool table = i < tables;
      double image_worst = 1e9;
      auto row = [&](const std::string& name, int level, double scale, std::size_t ch, std::size_t gap, double mag,
                     double err) {
        const double b = bits(err, mag);
        image_worst = std::min(image_worst, b);
        if (b < worst_bits) {
          worst_bits = b;
          worst_layer = name;
        }
        if (table)
          std::printf("   %-11s | %5d | %10.2f | %8zu | %3zu | %11.4g | %9.2e | %4.1f\n", name.c_str(), level,
                      std::log2(scale), ch, gap, mag, err, b);
      };
      const std::vector<Ciphertext> in =
          encrypt_packed(client.encoder, client.encryptor, server.pack_input(img), ctx->max_level(), ctx->default_scale());
      if (table) {
        std::printf("   image %d (label %d):\n", i, raw.labels[static_cast<std::size_t>(i)]);
        std::printf("   layer       | level | log2 scale | channels | gap | max |value| | max error | bits\n");
        const FeatureMap& want = find_layer(trace, "input");
        const PackedFeatureMap input{in, want.channels, 1, 1.0, 0.0};
        row("input", in.front().level, in.front().scale, want.channels, 1, max_abs(want.data),
            max_diff(decrypt_packed(pk, client.encoder, client.decryptor, input).data, want.data));
      }
      auto observe = [&](const std::string& name, const PackedFeatureMap& m) {
        const FeatureMap got = decrypt_packed(pk, client.encoder, client.decryptor, m);
        const FeatureMap& want = find_layer(trace, name);
        row(name, m.cts.front().level, m.cts.front().scale, m.channels, m.gap, max_abs(want.data),
            max_diff(got.data, want.data));
      };
      ResNetTimings one;
      const Ciphertext out = server.infer(e, in, &one, observe);
      server_seconds += one.total_seconds();
      for (const auto& [kind, s] : one.seconds) tm.seconds[kind] += s;
      for (const auto& [kind, c] : one.cost) tm.cost[kind] += c;
      const std::vector<double> got = server.unpack_logits(client.encoder.decode(client.decryptor.decrypt(out)));
      const std::vector<double>& want = find_layer(trace, "fc").data;
      const double err = max_diff(got, want);
      worst_logit_err = std::max(worst_logit_err, err);
      row("logits (fc)", out.level, out.scale, want.size(), server.final_gap(), max_abs(want), err);
      const int label = raw.labels[static_cast<std::size_t>(i)];
      same += argmax(got) == argmax(want);
      correct_enc += argmax(got) == label;
      correct_plain += argmax(want) == label;
      if (table) {
        std::printf("   logit k   |");
        for (std::size_t k = 0; k < got.size(); ++k) std::printf(" %7zu", k);
        std::printf("\n   encrypted |");
        for (double v : got) std::printf(" %7.3f", v);
        std::printf("\n   plaintext |");
        for (double v : want) std::printf(" %7.3f", v);
        std::printf("\n");
      }
      std::printf("   image %d: label %d, plaintext class %d, encrypted class %d; logit error %.2e (%.1f bits), worst "
                  "layer %.1f bits; server %.2f s\n", i, label, argmax(want), argmax(got), err, bits(err, max_abs(want)),
                  image_worst, one.total_seconds());
    }

    // 8. Cost per layer type.
    std::printf("8. per image, by layer type (ResNetTimings; %d image%s):\n", images, images > 1 ? "s" : "");
    std::printf("   type        | seconds | rotations | plaintext products | levels\n");
    for (const auto& [kind, s] : tm.seconds) {
      const ResNetCost& c = tm.cost[kind];
      std::printf("   %-11s | %7.3f | %9d | %18d | %6d\n", kind.c_str(), s / images, c.rotations / images,
                  c.plaintext_products / images, c.levels / images);
    }
    const int conv_rot = tm.cost["conv"].rotations / images;
    std::printf("   server %.2f s per image; convolution rotations %d = predicted %d: %s\n", server_seconds / images,
                conv_rot, predicted_conv_rotations, conv_rot == predicted_conv_rotations ? "yes" : "NO");
    ok &= conv_rot == predicted_conv_rotations;

    // 9. Verdict.
    std::printf("9. encrypted class equals plaintext class on %d of %d: %s\n", same, images, same == images ? "yes" : "NO");
    std::printf("   accuracy %d/%d encrypted, %d/%d plaintext; max logit error %.2e\n", correct_enc, images,
                correct_plain, images, worst_logit_err);
    std::printf("   worst precision %.1f bits (%s); every layer at least 10 bits of precision: %s\n", worst_bits,
                worst_layer.c_str(), worst_bits >= 10 ? "yes" : "NO");
    ok &= same == images && worst_bits >= 10;
  } catch (const Error& err) {
    std::fprintf(stderr, "error: %s\n", err.what());
    return 1;
  }
  return ok ? 0 : 1;
}

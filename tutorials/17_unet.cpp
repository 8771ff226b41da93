// Tutorial 17 — encrypted U-Net segmentation of Fashion-MNIST scenes, layer by layer
//
// Goal: segment encrypted 32 × 32 scenes of garments pixel by pixel with the HE-friendly U-Net
//       (ml/unet/unet_encrypted.h), evaluated leveled, and follow what is new against the ResNet
//       of tutorial 14: mean pooling as rotate-and-add (the ¼ rides in the lazy sign), the
//       transposed convolution as the inverse of the gap trick (four tap shifts by (g/2)·(ky·W +
//       kx) and 1 × 1 products), the skip connection as a split convolution whose two branches
//       meet at one level and one scale, and a result that is an image: the decrypted mask is
//       printed beside the plaintext mask. Default: the committed U-Net
//       ml/models/unet_fmnist_scenes.safetensors at INSECURE N = 2^13 (four 32 × 32 channel blocks
//       per ciphertext), Δ = 2^36, one scene in a few seconds. The 128-bit run is `ckks-ml unet`.
// Read alongside: [RFB15] (the U-Net: contracting and expanding paths joined by skips);
//       [Chiang25UNet] (the HE-friendly layers: square activations, mean pooling, ConvTranspose2d
//       k = 2, s = 2; from its abstract); [Lee22MPC] (the gap, from its abstract); [HS14] §4.1
//       (rotate-and-add sums) and §4.3 (the diagonal method on channel blocks); [HS18] (hoisting).
//       In this project: the headers of ml/unet/unet_encrypted.h and ml/resnet/resnet_encrypted.h,
//       ml/unet/unet_plain.h (UNet::trace), ml/unet/scenes.h (the scenes), tutorial 14.
// What to observe (default run; the full output is pasted in docs/labs/17_unet.md):
//   1. The packing: a block is the 32 × 32 grid (1024 slots), so N/2 = 4096 slots hold 4 blocks;
//      the 8-, 16- and 32-channel maps take 2, 4 and 8 ciphertexts. The gap goes 1 → 2 → 4 down
//      the U (poolings) and 4 → 2 → 1 up (transposed convolutions).
//   2. The level plan, counted before running: 2 per convolution + square, 0 per pooling, 1 per
//      transposed convolution, 1 for the head: 13, and the chain has exactly 13 levels.
//   3. Every map decrypts to 20 bits or more relative to its largest value; the skips enc1.act and
//      enc2.act wait at levels 11 and 9 until dec1 and dec2 read them at levels 3 and 6.
//   4. The decrypted mask equals the plaintext mask on every pixel.
// Exercises (expected observations in docs/labs/17_unet.md):
//   a. Run with --scenes 4: do all masks agree, and do the encrypted masks score the same mean IoU
//      and pixel accuracy against the true labels as the plaintext masks?
//   b. Run with --log-scale 26 (Δ = 2^26): how many bits does each layer keep, and do the masks
//      still agree?
//   c. In the cost table, compare the transposed convolutions with the 3 × 3 convolutions: where
//      do their rotations go (tap shifts vs block rotations), and why does up2 need more block
//      rotations per output ciphertext than a 1 × 1 convolution of the same channels?
//
// Usage: tutorial_17_unet [--scenes K] [--log-scale S] [--seed K] [--data DIR]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/unet/scenes.h"
#include "ml/unet/unet_encrypted.h"
#include "ml/timer.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using namespace ckks::ml;

namespace {

/// The INSECURE chain of this lab: N = 2^13, q_0 of s + 20 bits (logits up to 2^19), `levels`
/// primes of s bits (Δ = 2^s), two 60-bit special primes. A lab only (allow_insecure).
Params lab_params(int levels, int s) {
  Params p;
  p.log_n = 13;
  p.log_q = std::vector<int>(static_cast<std::size_t>(levels) + 1, s);
  p.log_q.front() = s + 20;
  p.log_p = {60, 60};
  p.log_scale = s;
  p.allow_insecure = true;
  return p;
}

/// −log2(max error / max |value|) over two maps of the same size (99 when exact).
double precision_bits(const FeatureMap& got, const FeatureMap& want) {
  double err = 0, mag = 1e-300;
  for (std::size_t i = 0; i < want.data.size(); ++i) {
    err = std::max(err, std::fabs(got.data[i] - want.data[i]));
    mag = std::max(mag, std::fabs(want.data[i]));
  }
  return err > 0 ? -std::log2(err / mag) : 99.0;
}

/// One row of ASCII art: the input in grey levels, then the two masks (· for background, the label
/// digit 1..5 otherwise).
std::string mask_row(const Scene& s, const std::vector<int>& plain, const std::vector<int>& enc, std::size_t y) {
  static const char shades[] = " .:-=+*#%@";
  std::string row = "   ";
  for (std::size_t x = 0; x < kSceneSize; ++x)
    row += shades[std::min<std::size_t>(9, static_cast<std::size_t>(s.image[y * kSceneSize + x] * 10.0f))];
  for (const auto* m : {&plain, &enc}) {
    row += "   ";
    for (std::size_t x = 0; x < kSceneSize; ++x) {
      const int v = (*m)[y * kSceneSize + x];
      row += v == 0 ? '.' : static_cast<char>('0' + v);
    }
  }
  return row;
}

const char* yes(bool b) { return b ? "yes" : "NO"; }

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 17 — encrypted U-Net segmentation of Fashion-MNIST scenes, layer by layer");
  int scenes = 1, log_scale = 36;
  std::uint64_t seed = 1;
  std::string data = kDebianFashionMnistDir;
  options.add("--scenes", scenes, "test scenes to encrypt and segment, one at a time", 1, 100);
  options.add("--log-scale", log_scale, "bits of the data primes and of the scale Delta = 2^S", 25, 40);
  options.add("--seed", seed, "seed of the (insecure, deterministic) keys and encryptions");
  options.add("--data", data, "directory of the Fashion-MNIST IDX files");
  if (const auto code = options.parse(argc, argv)) return *code;
  bool ok = true;
  try {
    // 1. Model, scenes, packing.
    const UNet net = UNet::load(std::string(CKKS_MODELS_DIR) + "/unet_fmnist_scenes.safetensors");
    const SceneSource source = scene_source(load_fashion_mnist(data, false));
    const std::size_t c1 = net.enc1.conv.out_channels, c2 = net.enc2.conv.out_channels, c3 = net.mid.conv.out_channels;
    std::printf("1. model ml/models/unet_fmnist_scenes.safetensors: widths %zu/%zu/%zu, %zu labels; test scenes of "
                "ml/unet/scenes.h (seed %u)\n", c1, c2, c3, net.num_classes(), kSceneDefaultSeed);
    const UNetServer server(net, ResNetPacking(kSceneSize, kSceneSize, std::size_t{1} << 12));
    const ResNetPacking& pk = server.packing();
    std::printf("   N = 2^13: %zu slots = %zu blocks of %zux%zu = %zu slots\n", pk.slots(), pk.blocks(), pk.height(),
                pk.width(), pk.block());
    std::printf("   %-10s | channels | map   | gap | ciphertexts\n", "map");
    struct Shape {
      const char* name;
      std::size_t channels, gap;
    };
    for (const Shape& s : {Shape{"input", 1, 1}, Shape{"enc1.act", c1, 1}, Shape{"pool1", c1, 2}, Shape{"enc2.act", c2, 2},
                           Shape{"pool2", c2, 4}, Shape{"mid.act", c3, 4}, Shape{"up2", c2, 2}, Shape{"dec2.act", c2, 2},
                           Shape{"up1", c1, 1}, Shape{"dec1.act", c1, 1}, Shape{"head", server.logit_channels(), 1}})
      std::printf("   %-10s | %8zu | %2zux%-2zu | %3zu | %zu\n", s.name, s.channels, kSceneSize / s.gap, kSceneSize / s.gap,
                  s.gap, pk.ciphertexts(s.channels));

    // 2. The level plan and a chain of exactly that depth.
    std::printf("2. level plan (counted before running):\n");
    for (const auto& s : server.level_plan()) std::printf("   %-10s %d  %s\n", s.layer.c_str(), s.levels, s.how.c_str());
    const int L = server.levels_needed();
    auto ctx = Context::create(lab_params(L, log_scale));
    std::printf("   %s, INSECURE (allow_insecure = true: a lab); chain depth L = %d equals levels_needed: %s\n",
                ctx->params().describe().c_str(), ctx->max_level(), yes(ctx->max_level() == L));
    ok = ok && ctx->max_level() == L;

    // 3. The inverse of the gap trick: where the transposed convolutions move the slots.
    const std::vector<int> steps = server.rotation_steps();
    std::printf("3. up2 reads mid at gap 4 and writes gap 2: input pixel (y, x) at slot 128y + 4x goes right by "
                "0, 2, 64, 66 slots (taps (0,0), (0,1), (1,0), (1,1)); up1 by 0, 1, 32, 33\n");
    std::string shifts;
    for (int s : conv_transpose_rotation_steps(pk, c3, 4, net.up2))
      if (s < 0) shifts += " " + std::to_string(s);
    std::printf("   up2's negative (rightward) rotation steps:%s; %zu Galois keys in all\n", shifts.c_str(), steps.size());
    ok = ok && shifts == " -66 -64 -2";

    ClientKeys client(ctx, seed);
    const RelinKey rk = client.keygen.relin_key(client.sk);
    const GaloisKeys gk = client.keygen.galois_keys(client.sk, steps);
    const Evaluator ev(ctx);
    const Encoder enc(ctx);
    const ResNetEvalContext e{ctx, ev, enc, gk, rk, pk, ctx->default_scale()};

    // 4. Scene by scene: every layer decrypted and compared with UNet::trace, then the masks.
    SegmentationScore plain_score(net.num_classes()), enc_score(net.num_classes());
    std::size_t agree = 0, pixels = 0;
    double worst_bits = 99;
    ResNetTimings tm;
    for (int i = 0; i < scenes; ++i) {
      const Scene s = make_scene(source, SceneSplit::test, static_cast<std::uint32_t>(i));
      const auto trace = net.trace(FeatureMap::from_values(s.image, 1, kSceneSize, kSceneSize));
      const auto input = encrypt_packed(client.encoder, client.encryptor, server.pack_input(s.image), ctx->max_level(),
                                        e.scale);
      std::printf("4. scene %d: layer by layer (decrypted by the key owner through the Observer)\n", i);
      std::printf("   %-10s | level | log2 scale | gap | bits\n", "layer");
      const auto t0 = Clock::now();
      const PackedFeatureMap out = server.infer(e, input, &tm, [&](const std::string& name, const PackedFeatureMap& m) {
        const FeatureMap got = name == "head" ? FeatureMap() : decrypt_packed(pk, client.encoder, client.decryptor, m);
        const double b = name == "head" ? 99.0 : precision_bits(got, find_layer(trace, name));
        if (name != "head") {
          worst_bits = std::min(worst_bits, b);
          std::printf("   %-10s | %5d | %10.2f | %3zu | %.1f\n", name.c_str(), m.cts.front().level,
                      std::log2(m.cts.front().scale), m.gap, b);
        }
      });
      const double secs = seconds_since(t0);
      std::vector<std::vector<double>> slots;
      for (const auto& ct : out.cts) slots.push_back(client.encoder.decode(client.decryptor.decrypt(ct)));
      const FeatureMap logits = server.unpack_logits(slots);
      const double lb = precision_bits(logits, trace.back().value);
      worst_bits = std::min(worst_bits, lb);
      std::printf("   %-10s | %5d | %10.2f | %3zu | %.1f   (%.1f s for the whole network)\n", "logits",
                  out.cts.front().level, std::log2(out.cts.front().scale), out.gap, lb, secs);
      const auto plain = argmax_channels(trace.back().value), mask = argmax_channels(logits);
      std::size_t same = 0;
      for (std::size_t p = 0; p < mask.size(); ++p) same += mask[p] == plain[p];
      agree += same;
      pixels += mask.size();
      plain_score.add(plain, s.labels);
      enc_score.add(mask, s.labels);
      std::printf("   input%29splaintext mask%21sdecrypted mask   (. background, 1 tops, 2 trousers, 3 dress, "
                  "4 footwear, 5 bag)\n", "", "");
      for (std::size_t y = 0; y < kSceneSize; ++y) std::printf("%s\n", mask_row(s, plain, mask, y).c_str());
      std::printf("   decrypted mask equals the plaintext mask on %zu of %zu pixels\n", same, mask.size());
    }

    // 5. Cost per layer type, summed over the scenes.
    std::printf("5. per layer type: wall seconds summed over the scenes; rotations, products, levels per scene\n");
    std::printf("   %-15s | seconds | rotations | products | levels\n", "type");
    for (const auto& [kind, c] : tm.cost)
      std::printf("   %-15s | %7.2f | %9d | %8d | %d\n", kind.c_str(), tm.seconds[kind], c.rotations / scenes,
                  c.plaintext_products / scenes, c.levels / scenes);

    // 6. Scores and the checks.
    std::printf("6. %d scene(s): plaintext mean IoU %.4f, pixel accuracy %.4f; encrypted mean IoU %.4f, pixel accuracy "
                "%.4f\n", scenes, plain_score.mean_iou(), plain_score.pixel_accuracy(), enc_score.mean_iou(),
                enc_score.pixel_accuracy());
    std::printf("   decrypted masks equal the plaintext masks on %zu of %zu pixels: %s\n", agree, pixels,
                yes(agree == pixels));
    std::printf("   every layer at least 15 bits of precision (worst %.1f): %s\n", worst_bits, yes(worst_bits >= 15));
    ok = ok && agree == pixels && worst_bits >= 15;

    // 7. One level short: the server refuses before any work.
    const Scene s0 = make_scene(source, SceneSplit::test, 0);
    const auto low = encrypt_packed(client.encoder, client.encryptor, server.pack_input(s0.image), L - 1, e.scale);
    try {
      server.infer(e, low);
      std::printf("7. input at level %d: no error: NO\n", L - 1);
      ok = false;
    } catch (const LevelError& err) {
      std::printf("7. input at level %d: LevelError: %s\n", L - 1, err.what());
    }
  } catch (const Error& err) {
    std::fprintf(stderr, "tutorial 17: %s\n", err.what());
    return 2;
  }
  return ok ? 0 : 1;
}

// bench_ml: the layers of the encrypted ResNet (ml/resnet/resnet_encrypted.h), one entry per layer type, at
// the real ResNet-20 shapes (32 × 32 grid; 16, 32, 64 channels) and its 128-bit parameters
// resnet_params(39): N = 2^16, 32768 slots = 32 channel blocks of 1024 per ciphertext, Δ = 2^34.
// Weights are random (normal, variance 1 / fan-in, fixed seeds); inputs are random maps of the
// layer's real size, encrypted at the level the layer has in ResNet-20's walk (ResNetServer::infer:
// input at 39, stem 39 → 37, each block 4 levels, so stage 1's blocks start at 37, 33, 29, stage
// 2's at 25, 21, 17, stage 3's at 13, 9, 5, and pooling + dense runs at 1). The entry's layer is
// named in brackets:
//
//   Resnet/conv/stage1        16 → 16, 3×3, stride 1, gap 1, one replicated ciphertext  [s1.b1.conv1, level 37]
//   Resnet/conv/downsample    16 → 32, 3×3, stride 2, gap 1 → 2                         [s2.b1.conv1, level 25]
//   Resnet/conv/stage2        32 → 32, 3×3, stride 1, gap 2                             [s2.b1.conv2, level 23]
//   Resnet/conv/stage3        64 → 64, 3×3, stride 1, gap 4, two ciphertexts in and out [s3.b1.conv2, level 11]
//   Resnet/conv/stage2_packed the stage2 case with its taps packed into the gap (3 groups; ResNetEvalContext::pack_taps)
//   Resnet/conv/stage3_packed the stage3 case with its taps packed into the gap (1 group)
//   Resnet/conv/stage1_hoisted, downsample_hoisted, stage2_hoisted, stage3_hoisted: those cases with the block rotations
//                             hoisted on the input, 2 baby steps (ResNetEvalContext::input_baby_steps = 2,
//                             ckks-ml resnet --input-baby-steps 2), with that setting's Galois keys
//   Resnet/shortcut_conv      16 → 32, 1×1, stride 2 (projection shortcut)             [s2.b1.shortcut, level 25]
//   Resnet/activation         square of the 64-channel gap-4 map (two ciphertexts)     [s3.b1.act1, level 12]
//   Resnet/identity_shortcut  scale_shortcut of the block input (level 33, one ciphertext) dropped
//                             to conv2's output level 30, then add_packed               [s1.b2, the most
//                             expensive of the six identity shortcuts: highest level]
//   Resnet/pool_dense         64 channels at gap 4 (8 × 8, two ciphertexts) → 10 logits [fc, level 1]
//
// Inputs that come out of a square in the network (every conv input, the identity shortcut's block
// input, pooling's input) are encrypted at the scale a square leaves, Δ²/q_{ℓ+1}, and carry a lazy
// sign and offset (from a random quadratic activation); the activation's input and the main branch
// of the identity shortcut come out of a convolution, so they are plain and at Δ exactly.
//
// Each entry generates only the Galois keys its layer needs (conv_rotation_steps /
// pool_dense_rotation_steps; the activation only the relinearisation key), once, and frees them on
// return: a key at these parameters (q_0..q_39 and 5 special primes, dnum 5) is 5 · 2 · 45 limbs
// of 2^16 words = 225 MiB, and the largest sets (pooling + dense 20 keys, the stage-2/3
// convolutions 18) are 4–4.4 GiB. The convolutions' keys are made for the layer's level
// (KeyGenerator::galois_keys with max_level, as ckks-ml resnet makes them since issue 19 part 6):
// at level 11 a key holds 2 digits of 17 limbs, 15 % of a whole-chain key. Before timing it runs the layer once, decrypts, and
// compares with the plaintext layer of ml/resnet/resnet_plain.h (conv2d, activate, global_average_pool +
// dense); a relative error (max |difference| / max |expected value|) of 10^-3 or more makes the
// entry SkipWithError. Each layer takes seconds, so one iteration, reported in seconds.
//
// Counters: rotations and plaintext_products of one call (the layer's ResNetCost), level (the input
// level), galois_keys (keys generated for the entry), rel_error (the self-check's relative error).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ml/client_keys.h"
#include "ml/resnet/resnet_encrypted.h"

namespace {

using namespace ckks;
using namespace ckks::ml;

constexpr int kResNet20Levels = 39;  // ResNetServer::levels_needed() for 3 blocks per stage
constexpr double kMaxRelError = 1e-3;

/// The parameters, the client's keys and the packing, built once on first use (a filter that names
/// no Resnet entry never builds them). Keys come from the operating system's randomness.
struct ResnetSetup {
  ContextPtr ctx;
  ClientKeys client;
  Evaluator ev;
  ResNetPacking packing;

  ResnetSetup()
      : ctx(Context::create(resnet_params(kResNet20Levels))),
        client(ctx),
        ev(ctx),
        packing(32, 32, ctx->max_slots()) {}

  /// The scale a square leaves at `level`: (Δ at level + 1)² / q_{level+1} with Δ = 2^log_scale.
  /// Precondition: level < max_level().
  double after_square_scale(int level) const {
    const double delta = ctx->default_scale();
    return delta * delta / static_cast<double>(ctx->q(level + 1).value());
  }

  /// `m` packed at `gap` and encrypted (public key) at `level` and `scale`, carrying the lazy form
  /// value = sign·slot + offset. Throws as ResNetPacking::pack.
  PackedFeatureMap encrypt(const FeatureMap& m, std::size_t gap, int level, double scale, double sign = 1,
                           double offset = 0) {
    PackedFeatureMap p;
    p.channels = m.channels;
    p.gap = gap;
    p.sign = sign;
    p.offset = offset;
    p.cts = encrypt_packed(client.encoder, client.encryptor, packing.pack(m, gap), level, scale);
    return p;
  }

  /// The decoded slot vector of one ciphertext.
  std::vector<double> slots(const Ciphertext& ct) { return client.encoder.decode(client.decryptor.decrypt(ct)); }

  /// The map a packed map decrypts to (its lazy sign and offset applied).
  FeatureMap decrypt(const PackedFeatureMap& p) { return decrypt_packed(packing, client.encoder, client.decryptor, p); }

  /// A ResNetEvalContext over these keys (the layer functions take the keys by reference).
  ResNetEvalContext eval_context(const GaloisKeys& gk, const RelinKey& rk) const {
    return ResNetEvalContext{ctx, ev, client.encoder, gk, rk, packing, ctx->default_scale()};
  }
};

ResnetSetup& setup() {
  static ResnetSetup s;
  return s;
}

/// A random out × in × k × k convolution with 'same' padding: weights N(0, 1/(in·k²)), biases
/// N(0, 0.01/(in·k²)) (the initialisation scale of a trained layer with BN folded, roughly).
Conv2d random_conv(std::mt19937_64& rng, std::size_t out, std::size_t in, std::size_t k, std::size_t stride) {
  Conv2d c;
  c.out_channels = out;
  c.in_channels = in;
  c.kernel = k;
  c.stride = stride;
  c.padding = (k - 1) / 2;
  std::normal_distribution<double> n(0.0, 1.0 / std::sqrt(static_cast<double>(in * k * k)));
  for (std::size_t i = 0; i < out * in * k * k; ++i) c.weight.push_back(n(rng));
  for (std::size_t i = 0; i < out; ++i) c.bias.push_back(0.1 * n(rng));
  return c;
}

/// A random quadratic activation a·t² + b·t + c near the identity: a ∈ [0.1, 0.3], b ∈ [0.9, 1.1],
/// |c| ≤ 0.025 (the ranges of tests/ml/test_resnet_encrypted.cpp).
QuadraticActivation random_act(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  QuadraticActivation a;
  a.a = 0.1 + 0.2 * u(rng);
  a.b = 0.9 + 0.2 * u(rng);
  a.c = 0.05 * (u(rng) - 0.5);
  return a;
}

/// A c × h × w map of values uniform in [−amp, amp].
FeatureMap random_map(std::mt19937_64& rng, std::size_t c, std::size_t h, std::size_t w, double amp = 1.0) {
  std::uniform_real_distribution<double> u(-amp, amp);
  FeatureMap m(c, h, w);
  for (auto& v : m.data) v = u(rng);
  return m;
}

/// max |got − want| / max |want| over equal-sized value lists (+∞ if the sizes differ).
double relative_error(const std::vector<double>& got, const std::vector<double>& want) {
  if (got.size() != want.size() || want.empty()) return INFINITY;
  double err = 0, mag = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    mag = std::max(mag, std::fabs(want[i]));
  }
  return err / mag;
}

/// SkipWithError (and true) if the self-check failed; the message names the entry and the error.
bool check_failed(benchmark::State& state, const std::string& what, double rel) {
  if (rel < kMaxRelError) return false;
  const std::string msg = what + ": relative error " + std::to_string(rel) + " against the plaintext layer (bound " +
                          std::to_string(kMaxRelError) + ")";
  state.SkipWithError(msg.c_str());
  return true;
}

/// Fills the counters every entry reports.
void report(benchmark::State& state, const ResNetCost& cost, int level, std::size_t keys, double rel) {
  state.counters["rotations"] = cost.rotations;
  state.counters["plaintext_products"] = cost.plaintext_products;
  state.counters["level"] = level;
  state.counters["galois_keys"] = static_cast<double>(keys);
  state.counters["rel_error"] = rel;
}

/// One convolution of the network: its shape, the input gap and level, and whether it is a
/// projection shortcut (then shift 0, as ResNetServer::infer calls it).
struct ConvCase {
  const char* layer;  ///< ResNet::trace name, for messages
  std::size_t c_in, c_out, kernel, stride, gap;
  int level;
  bool shortcut;
  unsigned seed;
  bool pack = false;  ///< taps packed into the gap (ResNetEvalContext::pack_taps; the input is clean)
  std::size_t n1 = 0;  ///< ResNetEvalContext::input_baby_steps
};

/// conv_packed at the case's shape and level, with the mult and shift of a following activation
/// folded in (weight redistribution) and a lazy input (sign +1, offset κ of a random activation).
void BM_conv(benchmark::State& state, ConvCase cs) {
  ResnetSetup& s = setup();
  std::mt19937_64 rng(cs.seed);
  const Conv2d conv = random_conv(rng, cs.c_out, cs.c_in, cs.kernel, cs.stride);
  const FoldedActivation before = fold_activation(random_act(rng), "input");  // the activation that made the input
  const FoldedActivation after = fold_activation(random_act(rng), "next");    // the one this conv feeds
  const double mult = after.mult, shift = cs.shortcut ? 0.0 : after.shift;
  const std::size_t side = 32 / cs.gap;
  const FeatureMap x = random_map(rng, cs.c_in, side, side);
  const PackedFeatureMap in =
      s.encrypt(x, cs.gap, cs.level, s.after_square_scale(cs.level), before.sign, before.offset);
  // keys made for the case's level, as ckks-ml resnet makes them (ResNetServer::rotation_levels)
  const GaloisKeys gk = s.client.keygen.galois_keys(
      s.client.sk, conv_rotation_steps(s.packing, cs.c_in, cs.gap, conv, cs.pack, cs.n1), false, cs.level);
  const RelinKey rk{};  // not used by conv_packed
  ResNetEvalContext e = s.eval_context(gk, rk);
  e.pack_taps = cs.pack;
  e.input_baby_steps = cs.n1;

  double rel = 0;
  {
    FeatureMap lazy = x;
    for (auto& v : lazy.data) v = before.sign * v + before.offset;
    FeatureMap want = conv2d(lazy, conv);
    for (auto& v : want.data) v = mult * v + shift;
    rel = relative_error(s.decrypt(conv_packed(e, in, conv, mult, shift)).data, want.data);
  }
  if (check_failed(state, cs.layer, rel)) return;

  ResNetCost cost;
  for (auto _ : state) {
    cost = ResNetCost{};
    benchmark::DoNotOptimize(conv_packed(e, in, conv, mult, shift, &cost));
  }
  report(state, cost, cs.level, gk.keys.size(), rel);
}

/// square_packed on the output of s3.b1.conv1 (64 channels, gap 4, two ciphertexts) at level 12.
void BM_activation(benchmark::State& state) {
  ResnetSetup& s = setup();
  constexpr int level = 12;
  std::mt19937_64 rng(106);
  const QuadraticActivation act = random_act(rng);
  const FoldedActivation f = fold_activation(act, "s3.b1.act1");
  const FeatureMap t = random_map(rng, 64, 8, 8, 2.0);  // the pre-activation values
  FeatureMap z = t;  // what the folded convolution hands over: mult·t + shift
  for (auto& v : z.data) v = f.mult * v + f.shift;
  const PackedFeatureMap in = s.encrypt(z, 4, level, s.ctx->default_scale());
  const GaloisKeys gk{};  // no rotations
  const RelinKey rk = s.client.keygen.relin_key(s.client.sk);
  const ResNetEvalContext e = s.eval_context(gk, rk);

  const double rel = relative_error(s.decrypt(square_packed(e, in, f)).data, activate(t, act).data);
  if (check_failed(state, "s3.b1.act1", rel)) return;

  ResNetCost cost;
  for (auto _ : state) {
    cost = ResNetCost{};
    benchmark::DoNotOptimize(square_packed(e, in, f, &cost));
  }
  report(state, cost, level, 0, rel);
}

/// The identity shortcut of s1.b2: the block input h (16 channels, gap 1, lazy, level 33) times
/// act2's mult, dropped to conv2's output level 30, added to the main branch (plain, level 30, Δ).
void BM_identity_shortcut(benchmark::State& state) {
  ResnetSetup& s = setup();
  constexpr int h_level = 33, main_level = 30;
  std::mt19937_64 rng(107);
  const FoldedActivation before = fold_activation(random_act(rng), "s1.b1.act2");
  const FoldedActivation f2 = fold_activation(random_act(rng), "s1.b2.act2");
  const FeatureMap x = random_map(rng, 16, 32, 32);
  const FeatureMap y = random_map(rng, 16, 32, 32);
  const PackedFeatureMap h = s.encrypt(x, 1, h_level, s.after_square_scale(h_level), before.sign, before.offset);
  const PackedFeatureMap main = s.encrypt(y, 1, main_level, s.ctx->default_scale());
  const GaloisKeys gk{};
  const RelinKey rk{};
  const ResNetEvalContext e = s.eval_context(gk, rk);
  auto layer = [&](ResNetCost* cost) {
    return add_packed(e, main, scale_shortcut(e, h, f2.mult, main_level, cost));
  };

  // Expected: main + mult·σ0·x (the block input's offset κ0 rides in conv2's shift, not here).
  FeatureMap want = y;
  for (std::size_t i = 0; i < want.data.size(); ++i) want.data[i] += f2.mult * before.sign * x.data[i];
  const double rel = relative_error(s.decrypt(layer(nullptr)).data, want.data);
  if (check_failed(state, "s1.b2 identity shortcut", rel)) return;

  ResNetCost cost;
  for (auto _ : state) {
    cost = ResNetCost{};
    benchmark::DoNotOptimize(layer(&cost));
  }
  report(state, cost, h_level, 0, rel);
}

/// pool_dense_packed on the last block's output (64 channels, gap 4, lazy, level 1) → 10 logits.
void BM_pool_dense(benchmark::State& state) {
  ResnetSetup& s = setup();
  constexpr int level = 1;
  constexpr std::size_t classes = 10, channels = 64, gap = 4;
  std::mt19937_64 rng(108);
  Dense fc;
  fc.in = channels;
  fc.out = classes;
  std::normal_distribution<double> n(0.0, 1.0 / std::sqrt(static_cast<double>(channels)));
  for (std::size_t i = 0; i < classes * channels; ++i) fc.weight.push_back(n(rng));
  for (std::size_t i = 0; i < classes; ++i) fc.bias.push_back(0.1 * n(rng));
  const FoldedActivation before = fold_activation(random_act(rng), "s3.b3.act2");
  const FeatureMap x = random_map(rng, channels, 8, 8, 3.0);
  const PackedFeatureMap in = s.encrypt(x, gap, level, s.after_square_scale(level), before.sign, before.offset);
  const GaloisKeys gk =
      s.client.keygen.galois_keys(s.client.sk, pool_dense_rotation_steps(s.packing, channels, gap, classes));
  const RelinKey rk{};
  const ResNetEvalContext e = s.eval_context(gk, rk);

  FeatureMap lazy = x;
  for (auto& v : lazy.data) v = before.sign * v + before.offset;
  const FeatureMap want = dense(global_average_pool(lazy), fc);
  const std::vector<double> slots = s.slots(pool_dense_packed(e, in, fc));
  std::vector<double> got(classes);
  for (std::size_t k = 0; k < classes; ++k) got[k] = slots[logit_slot(s.packing, gap, k)];
  const double rel = relative_error(got, want.data);
  if (check_failed(state, "pool + dense", rel)) return;

  ResNetCost cost;
  for (auto _ : state) {
    cost = ResNetCost{};
    benchmark::DoNotOptimize(pool_dense_packed(e, in, fc, &cost));
  }
  report(state, cost, level, gk.keys.size(), rel);
}

const int kRegistered = [] {
  const ConvCase convs[] = {
      {"s1.b1.conv1", 16, 16, 3, 1, 1, 37, false, 101},
      {"s2.b1.conv1", 16, 32, 3, 2, 1, 25, false, 102},
      {"s2.b1.conv2", 32, 32, 3, 1, 2, 23, false, 103},
      {"s3.b1.conv2", 64, 64, 3, 1, 4, 11, false, 104},
      {"s2.b1.conv2", 32, 32, 3, 1, 2, 23, false, 103, true},
      {"s3.b1.conv2", 64, 64, 3, 1, 4, 11, false, 104, true},
      {"s1.b1.conv1", 16, 16, 3, 1, 1, 37, false, 101, false, 2},
      {"s2.b1.conv1", 16, 32, 3, 2, 1, 25, false, 102, false, 2},
      {"s2.b1.conv2", 32, 32, 3, 1, 2, 23, false, 103, false, 2},
      {"s3.b1.conv2", 64, 64, 3, 1, 4, 11, false, 104, false, 2},
  };
  const char* conv_names[] = {"Resnet/conv/stage1",          "Resnet/conv/downsample",     "Resnet/conv/stage2",
                              "Resnet/conv/stage3",          "Resnet/conv/stage2_packed", "Resnet/conv/stage3_packed",
                              "Resnet/conv/stage1_hoisted",  "Resnet/conv/downsample_hoisted",
                              "Resnet/conv/stage2_hoisted",  "Resnet/conv/stage3_hoisted"};
  auto one_iteration = [](benchmark::internal::Benchmark* b) { b->Iterations(1)->Unit(benchmark::kSecond); };
  for (std::size_t i = 0; i < std::size(convs); ++i) one_iteration(benchmark::RegisterBenchmark(conv_names[i], BM_conv, convs[i]));
  one_iteration(benchmark::RegisterBenchmark("Resnet/shortcut_conv", BM_conv,
                                             ConvCase{"s2.b1.shortcut", 16, 32, 1, 2, 1, 25, true, 105}));
  one_iteration(benchmark::RegisterBenchmark("Resnet/activation", BM_activation));
  one_iteration(benchmark::RegisterBenchmark("Resnet/identity_shortcut", BM_identity_shortcut));
  one_iteration(benchmark::RegisterBenchmark("Resnet/pool_dense", BM_pool_dense));
  return 0;
}();

}  // namespace

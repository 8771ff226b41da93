// bench_ml: the new layers of the encrypted U-Net (ml/unet/unet_encrypted.h), one entry per layer,
// at the committed model's shapes (32 × 32 scenes; 8, 16, 32 channels) and its 128-bit parameters
// resnet_params(13): N = 2^16, 32768 slots = 32 channel blocks of 1024 per ciphertext (every map
// of the U-Net fits one ciphertext), Δ = 2^40. Weights are random (uniform, scaled by 1/√fan-in,
// fixed seeds); inputs are random maps of the layer's real size, encrypted at the level the layer
// has in UNetServer::infer (input 13; enc1.act 11, enc2.act 9, mid.act 7, up2 6, dec2.act 4,
// up1 3, dec1.act 1). The layer is named in brackets:
//
//   Unet/pool               8 channels, gap 1 → 2, 2×2 sum + ¼ in the lazy sign      [pool1, level 11]
//   Unet/transposed_conv/up2  32 → 16, gap 4 → 2                                     [up2, level 7]
//   Unet/transposed_conv/up1  16 → 8, gap 2 → 1                                      [up1, level 4]
//   Unet/concat_conv/dec2   [16 at level 6, skip 16 at level 9] → 16, 3×3, gap 2    [cat2 + dec2.conv]
//   Unet/concat_conv/dec1   [8 at level 3, skip 8 at level 11] → 8, 3×3, gap 1      [cat1 + dec1.conv]
//
// The 3 × 3 convolutions, the squares and the head are the ResNet's conv_packed / square_packed
// (bench_ml_resnet.cpp). Each entry generates only the Galois keys its layer needs, runs the layer
// once, decrypts and compares with the plaintext layer of ml/unet/unet_plain.h (mean_pool,
// conv_transpose2d, conv2d of concat_channels); a relative error (max |difference| / max |expected|)
// of 10^-3 or more makes the entry SkipWithError. One iteration, reported in seconds.
//
// Counters: rotations and plaintext_products of one call (ResNetCost), level (the input level; the
// lower branch's for concat_conv), galois_keys, rel_error.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ml/client_keys.h"
#include "ml/unet/unet_encrypted.h"

namespace {

using namespace ckks;
using namespace ckks::ml;

constexpr int kUNetLevels = 13;  // UNetServer::levels_needed()

/// Context, client keys and packing at resnet_params(13), built on first use.
struct UNetBench {
  ContextPtr ctx = Context::create(resnet_params(kUNetLevels));
  ClientKeys client{ctx};
  Evaluator ev{ctx};
  ResNetPacking pk{32, 32, ctx->max_slots()};

  /// `plain` in lazy form (slots (v − offset)/sign) at `gap`, encrypted at `level` and scale Δ.
  PackedFeatureMap encrypt(const FeatureMap& plain, std::size_t gap, int level, double sign, double offset) {
    FeatureMap raw = plain;
    for (auto& v : raw.data) v = (v - offset) / sign;
    return {encrypt_packed(client.encoder, client.encryptor, pk.pack(raw, gap), level, ctx->default_scale()),
            plain.channels, gap, sign, offset};
  }
};

UNetBench& bench() {
  static UNetBench b;
  return b;
}

/// n values uniform in [−amp, amp].
std::vector<double> uniform(std::mt19937_64& rng, std::size_t n, double amp) {
  std::uniform_real_distribution<double> u(-amp, amp);
  std::vector<double> v(n);
  std::generate(v.begin(), v.end(), [&] { return u(rng); });
  return v;
}

FeatureMap map_of(std::mt19937_64& rng, std::size_t c, std::size_t side) {
  FeatureMap m(c, side, side);
  m.data = uniform(rng, m.data.size(), 1.0);
  return m;
}

/// max |got − want| / max |want| (+∞ on a size mismatch).
double rel_error(const FeatureMap& got, const FeatureMap& want) {
  if (got.data.size() != want.data.size()) return INFINITY;
  double d = 0, m = 0;
  for (std::size_t i = 0; i < want.data.size(); ++i) {
    d = std::max(d, std::fabs(got.data[i] - want.data[i]));
    m = std::max(m, std::fabs(want.data[i]));
  }
  return d / m;
}

/// Runs `layer` once for the self-check against `want`, then times it; fills the counters.
template <class Layer>
void run(benchmark::State& state, const char* name, const GaloisKeys& gk, int level, const FeatureMap& want,
         Layer&& layer) {
  UNetBench& b = bench();
  const RelinKey rk{};
  const ResNetEvalContext e{b.ctx, b.ev, b.client.encoder, gk, rk, b.pk, b.ctx->default_scale()};
  const double rel = rel_error(decrypt_packed(b.pk, b.client.encoder, b.client.decryptor, layer(e, nullptr)), want);
  if (!(rel < 1e-3)) {
    const std::string msg = std::string(name) + ": relative error " + std::to_string(rel) + " against the plaintext layer";
    state.SkipWithError(msg.c_str());
    return;
  }
  ResNetCost cost;
  for (auto _ : state) {
    cost = ResNetCost{};
    benchmark::DoNotOptimize(layer(e, &cost));
  }
  state.counters["rotations"] = cost.rotations;
  state.counters["plaintext_products"] = cost.plaintext_products;
  state.counters["level"] = level;
  state.counters["galois_keys"] = static_cast<double>(gk.keys.size());
  state.counters["rel_error"] = rel;
}

void BM_pool(benchmark::State& state) {
  UNetBench& b = bench();
  std::mt19937_64 rng(201);
  const FeatureMap x = map_of(rng, 8, 32);
  const PackedFeatureMap in = b.encrypt(x, 1, 11, 1.0, -0.3);
  const GaloisKeys gk = b.client.keygen.galois_keys(b.client.sk, mean_pool_rotation_steps(b.pk, 1, 2));
  run(state, "pool1", gk, 11, mean_pool(x, 2),
      [&](const ResNetEvalContext& e, ResNetCost* c) { return mean_pool_packed(e, in, 2, c); });
}

void BM_transposed_conv(benchmark::State& state, std::size_t c_in, std::size_t c_out, std::size_t gap, int level) {
  UNetBench& b = bench();
  std::mt19937_64 rng(202 + c_in);
  const ConvTranspose2d t{c_in, c_out, 2, 2, uniform(rng, c_in * c_out * 4, 1.0 / std::sqrt(double(c_in))),
                          uniform(rng, c_out, 0.1)};
  const FeatureMap x = map_of(rng, c_in, 32 / gap);
  const PackedFeatureMap in = b.encrypt(x, gap, level, 1.0, 0.2);
  const GaloisKeys gk = b.client.keygen.galois_keys(b.client.sk, conv_transpose_rotation_steps(b.pk, c_in, gap, t));
  run(state, "transposed convolution", gk, level, conv_transpose2d(x, t),
      [&](const ResNetEvalContext& e, ResNetCost* c) { return conv_transpose_packed(e, in, t, c); });
}

void BM_concat_conv(benchmark::State& state, std::size_t c, std::size_t gap, int up_level, int skip_level) {
  UNetBench& b = bench();
  std::mt19937_64 rng(203 + c);
  const Conv2d conv{c, 2 * c, 3, 1, 1, uniform(rng, c * 2 * c * 9, 1.0 / std::sqrt(double(2 * c * 9))),
                    uniform(rng, c, 0.1)};
  const FeatureMap up = map_of(rng, c, 32 / gap), skip = map_of(rng, c, 32 / gap);
  const PackedFeatureMap eu = b.encrypt(up, gap, up_level, 1.0, 0.0);
  const PackedFeatureMap es = b.encrypt(skip, gap, skip_level, 1.0, -0.4);
  const GaloisKeys gk = b.client.keygen.galois_keys(b.client.sk, concat_conv_rotation_steps(b.pk, c, c, gap, conv));
  run(state, "concatenation + convolution", gk, up_level, conv2d(concat_channels(up, skip), conv),
      [&](const ResNetEvalContext& e, ResNetCost* cc) { return concat_conv_packed(e, eu, es, conv, 1.0, 0.0, cc); });
}

const int kRegistered = [] {
  auto once = [](benchmark::internal::Benchmark* b) { b->Iterations(1)->Unit(benchmark::kSecond); };
  once(benchmark::RegisterBenchmark("Unet/pool", BM_pool));
  once(benchmark::RegisterBenchmark("Unet/transposed_conv/up2", BM_transposed_conv, 32, 16, 4, 7));
  once(benchmark::RegisterBenchmark("Unet/transposed_conv/up1", BM_transposed_conv, 16, 8, 2, 4));
  once(benchmark::RegisterBenchmark("Unet/concat_conv/dec2", BM_concat_conv, 16, 2, 6, 9));
  once(benchmark::RegisterBenchmark("Unet/concat_conv/dec1", BM_concat_conv, 8, 1, 3, 11));
  return 0;
}();

}  // namespace

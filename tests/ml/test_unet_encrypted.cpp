// Encrypted U-Net (ml/unet/unet_encrypted.h): each new layer against its plaintext definition in
// ml/unet/unet_plain.h (mean pooling, the transposed convolution, concatenation + convolution, with
// replicated and multi-ciphertext maps and lazy sign/offset), a random tiny U-Net layer by layer
// against UNet::trace, the committed U-Net on real test scenes against its plaintext masks, the
// level plan, and the errors (mismatched shapes, too few levels, missing keys).
//
// Parameters: INSECURE small rings, fixed seeds. Layers and the tiny U-Net: N = 2^11 (1024 slots),
// an 8 × 8 grid, so 16 channel blocks per ciphertext: 4 and 8 channels are replicated, 32 channels
// take two ciphertexts. The committed U-Net: N = 2^13 (4096 slots, four 32 × 32 blocks), so its 8,
// 16 and 32 channels take 2, 4 and 8 ciphertexts.
// Error bounds: fresh encryptions at Δ = 2^30 are accurate to about 2^-20 of a unit and each layer
// adds rescaling and key-switching errors of the same order. Observed (relative: max error over the
// largest |value|): 6.3e-7 … 2.4e-6 for single layers, 8.5e-6 for the worst map of the tiny U-Net
// and 7.2e-6 on its logits, 2.6e-7 on the committed U-Net's logits at Δ = 2^36. The bounds (1e-4 per
// layer, 1e-3 through a network) leave a factor of 40 or more.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/unet/scenes.h"
#include "ml/unet/unet_encrypted.h"

using namespace ckks;
using namespace ckks::ml;

namespace {

/// INSECURE: N = 2^log_n, q_0 of 50 bits, `levels` primes of `bits` bits, Δ = 2^bits.
Params insecure_params(int log_n, int levels, int bits) {
  Params p;
  p.log_n = log_n;
  p.log_q.assign(1, 50);
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(levels), bits);
  p.log_p = {55, 55};
  p.log_scale = bits;
  p.allow_insecure = true;
  return p;
}

/// Client and server objects for one parameter set and one set of rotation steps.
struct Rig {
  ContextPtr ctx;
  ClientKeys client;
  Evaluator ev;
  RelinKey rk;
  GaloisKeys gk;
  ResNetPacking pk;
  ResNetEvalContext e;

  Rig(const Params& p, std::size_t grid, const std::vector<int>& steps)
      : ctx(Context::create(p)),
        client(ctx, 11),
        ev(ctx),
        rk(client.keygen.relin_key(client.sk)),
        gk(client.keygen.galois_keys(client.sk, steps)),
        pk(grid, grid, ctx->max_slots()),
        e{ctx, ev, client.encoder, gk, rk, pk, ctx->default_scale()} {}

  /// `plain` encrypted at `gap` in lazy form: the slots hold (plain − offset)/sign.
  PackedFeatureMap encrypt(const FeatureMap& plain, std::size_t gap, double sign = 1, double offset = 0) {
    FeatureMap raw = plain;
    for (auto& v : raw.data) v = (v - offset) / sign;
    return {encrypt_packed(client.encoder, client.encryptor, pk.pack(raw, gap), ctx->max_level(), e.scale),
            plain.channels, gap, sign, offset};
  }
  FeatureMap decrypt(const PackedFeatureMap& m) { return decrypt_packed(pk, client.encoder, client.decryptor, m); }
};

std::vector<double> random_values(std::mt19937_64& rng, std::size_t n, double amp) {
  std::uniform_real_distribution<double> u(-amp, amp);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

FeatureMap random_map(std::mt19937_64& rng, std::size_t c, std::size_t h, std::size_t w) {
  FeatureMap m(c, h, w);
  m.data = random_values(rng, m.data.size(), 1.0);
  return m;
}

Conv2d random_conv(std::mt19937_64& rng, std::size_t out, std::size_t in, std::size_t k) {
  const double amp = 1.5 / std::sqrt(static_cast<double>(in * k * k));
  return Conv2d{out, in, k, 1, (k - 1) / 2, random_values(rng, out * in * k * k, amp), random_values(rng, out, 0.1)};
}

ConvTranspose2d random_up(std::mt19937_64& rng, std::size_t in, std::size_t out) {
  return ConvTranspose2d{in, out, 2, 2, random_values(rng, in * out * 4, 1.0 / std::sqrt(static_cast<double>(in))),
                         random_values(rng, out, 0.1)};
}

/// Relative error: max |a − b| over max |b|.
double rel_error(const FeatureMap& got, const FeatureMap& want) {
  REQUIRE(got.data.size() == want.data.size());
  double d = 0, m = 1e-12;
  for (std::size_t i = 0; i < got.data.size(); ++i) {
    d = std::max(d, std::fabs(got.data[i] - want.data[i]));
    m = std::max(m, std::fabs(want.data[i]));
  }
  return d / m;
}

/// A random U-Net of widths c1/c2/c3 and K labels (the shapes UNet::load accepts).
UNet random_unet(std::uint64_t seed, std::size_t c1, std::size_t c2, std::size_t c3, std::size_t K) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto act = [&] { return QuadraticActivation{0.1 + 0.2 * u(rng), 0.8 + 0.4 * u(rng), 0.05 * (u(rng) - 0.5)}; };
  UNet n;
  n.enc1 = {random_conv(rng, c1, 1, 3), act()};
  n.enc2 = {random_conv(rng, c2, c1, 3), act()};
  n.mid = {random_conv(rng, c3, c2, 3), act()};
  n.up2 = random_up(rng, c3, c2);
  n.dec2 = {random_conv(rng, c2, 2 * c2, 3), act()};
  n.up1 = random_up(rng, c2, c1);
  n.dec1 = {random_conv(rng, c1, 2 * c1, 3), act()};
  n.dec2.act.a = -n.dec2.act.a;  // one activation with a < 0 exercises the lazy sign
  n.head = random_conv(rng, K, c1, 1);
  return n;
}

}  // namespace

TEST_CASE("ml/unet_encrypted: mean pooling against mean_pool (replicated, two ciphertexts, lazy sign and offset)") {
  Rig r(insecure_params(11, 1, 30), 8, [] {
    std::vector<int> s = mean_pool_rotation_steps(ResNetPacking(8, 8, 1024), 1, 2);
    for (int v : mean_pool_rotation_steps(ResNetPacking(8, 8, 1024), 2, 2)) s.push_back(v);
    return s;
  }());
  std::mt19937_64 rng(3);
  for (std::size_t channels : {4u, 32u})
    for (std::size_t gap : {1u, 2u}) {
      const FeatureMap x = random_map(rng, channels, 8 / gap, 8 / gap);
      const PackedFeatureMap ex = r.encrypt(x, gap, -1.0, 0.25);
      ResNetCost cost;
      const PackedFeatureMap p = mean_pool_packed(r.e, ex, 2, &cost);
      CHECK(p.gap == 2 * gap);
      CHECK(p.sign == doctest::Approx(-0.25));
      CHECK(p.cts.front().level == ex.cts.front().level);
      CHECK(cost.levels == 0);
      CHECK(cost.rotations == 2 * static_cast<int>(ex.cts.size()));
      const double err = rel_error(r.decrypt(p), mean_pool(x, 2));
      MESSAGE(channels << " channels at gap " << gap << ": relative error " << err);
      CHECK(err < 1e-4);
    }
  CHECK_THROWS_AS(mean_pool_rotation_steps(r.pk, 1, 3), InputError);
  CHECK_THROWS_AS(mean_pool_rotation_steps(r.pk, 8, 2), InputError);
}

TEST_CASE("ml/unet_encrypted: transposed convolution against conv_transpose2d (gap 2 → 1, 4 → 2, lazy input)") {
  const ResNetPacking pk(8, 8, 1024);
  std::mt19937_64 rng(5);
  struct Case {
    std::size_t in, out, gap;
    double sign, offset;
  };
  const std::vector<Case> cases = {{8, 4, 2, 1.0, 0.0}, {32, 16, 4, -1.0, 0.3}, {4, 32, 2, 0.25, -0.2}};
  std::vector<ConvTranspose2d> layers;
  std::vector<int> steps;
  for (const auto& c : cases) {
    layers.push_back(random_up(rng, c.in, c.out));
    for (int s : conv_transpose_rotation_steps(pk, c.in, c.gap, layers.back())) steps.push_back(s);
  }
  Rig r(insecure_params(11, 1, 30), 8, steps);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const FeatureMap x = random_map(rng, c.in, 8 / c.gap, 8 / c.gap);
    ResNetCost cost;
    const PackedFeatureMap y = conv_transpose_packed(r.e, r.encrypt(x, c.gap, c.sign, c.offset), layers[k], &cost);
    CHECK(y.gap == c.gap / 2);
    CHECK(y.channels == c.out);
    CHECK(y.cts.front().level == r.ctx->max_level() - 1);
    CHECK(y.cts.front().scale == r.e.scale);
    CHECK(cost.levels == 1);
    // 3 tap shifts per input ciphertext; per output ciphertext nb − 1 block rotations when the four
    // shifted copies form one 4·C_in-channel map (C_in a multiple of nb = 16), else 2·(C_in − 1)
    const std::size_t n_in = pk.ciphertexts(c.in), n_out = pk.ciphertexts(c.out);
    const std::size_t block_rotations = c.in % pk.blocks() == 0 ? pk.blocks() - 1 : 2 * (c.in - 1);
    CHECK(cost.rotations == static_cast<int>(3 * n_in + block_rotations * n_out));
    const double err = rel_error(r.decrypt(y), conv_transpose2d(x, layers[k]));
    // the output is clean: every slot off its grid decrypts to about 0 (the next transposed convolution needs it)
    double off = 0;
    for (const auto& ct : y.cts) {
      const auto v = r.client.encoder.decode(r.client.decryptor.decrypt(ct));
      for (std::size_t s = 0; s < v.size(); ++s) {
        const std::size_t p = s % 64;
        if ((p / 8) % y.gap != 0 || (p % 8) % y.gap != 0) off = std::max(off, std::fabs(v[s]));
      }
    }
    MESSAGE(c.in << " → " << c.out << " channels, gap " << c.gap << ": relative error " << err << ", off-grid max "
                 << off << ", " << cost.rotations << " rotations, " << cost.plaintext_products << " products");
    CHECK(err < 1e-4);
    CHECK(off < 1e-4);
  }
}

TEST_CASE("ml/unet_encrypted: concatenation + convolution against conv2d(concat_channels) (levels and scales differ)") {
  const ResNetPacking pk(8, 8, 1024);
  std::mt19937_64 rng(9);
  struct Case {
    std::size_t ca, cb, out, gap;
  };
  // 4 + 4: one fused pass; 4 + 8 with the 8-channel branch higher: more rotations there, two passes
  const std::vector<Case> cases = {{4, 4, 8, 2}, {4, 8, 4, 1}, {32, 32, 16, 1}};
  std::vector<Conv2d> convs;
  std::vector<int> steps;
  for (const auto& c : cases) {
    convs.push_back(random_conv(rng, c.out, c.ca + c.cb, 3));
    for (int s : concat_conv_rotation_steps(pk, c.ca, c.cb, c.gap, convs.back())) steps.push_back(s);
  }
  Rig r(insecure_params(11, 3, 30), 8, steps);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const FeatureMap a = random_map(rng, c.ca, 8 / c.gap, 8 / c.gap);
    const FeatureMap b = random_map(rng, c.cb, 8 / c.gap, 8 / c.gap);
    // a: two levels lower and on another scale (as an up-sampled map meets its skip); b lazy
    PackedFeatureMap ea = r.encrypt(a, c.gap);
    const double q_top = static_cast<double>(r.ctx->q(r.ctx->max_level()).value());
    for (auto& ct : ea.cts)  // × 1 at scale q_L/2, rescaled: value a, scale Δ/2, then dropped one more level
      ct = r.ev.drop_level(r.ev.rescale(r.ev.multiply_const(ct, 1.0, 0.5 * q_top)), r.ctx->max_level() - 2);
    const PackedFeatureMap eb = r.encrypt(b, c.gap, -1.0, 0.4);
    ResNetCost cost;
    const PackedFeatureMap y = concat_conv_packed(r.e, ea, eb, convs[k], 0.7, 0.1, &cost);
    CHECK(y.cts.front().level == r.ctx->max_level() - 3);
    CHECK(y.cts.front().scale == r.e.scale);
    CHECK(cost.levels == 1);
    FeatureMap want = conv2d(concat_channels(a, b), convs[k]);
    for (auto& v : want.data) v = 0.7 * v + 0.1;
    const double err = rel_error(r.decrypt(y), want);
    MESSAGE(c.ca << " + " << c.cb << " → " << c.out << " at gap " << c.gap << ": relative error " << err << ", "
                 << cost.rotations << " rotations, " << cost.plaintext_products << " products");
    CHECK(err < 1e-4);
  }
}

TEST_CASE("ml/unet_encrypted: a random tiny U-Net end to end, layer by layer against UNet::trace") {
  const UNetServer server(random_unet(21, 4, 8, 32, 3), ResNetPacking(8, 8, 1024));
  CHECK(server.levels_needed() == 13);
  CHECK(server.logit_channels() == 4);
  Rig r(insecure_params(11, 13, 30), 8, server.rotation_steps());
  std::mt19937_64 rng(22);
  std::vector<float> image(64);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& v : image) v = u(rng);
  const auto trace = server.model().trace(FeatureMap::from_values(image, 1, 8, 8));
  const auto input = encrypt_packed(r.client.encoder, r.client.encryptor, server.pack_input(image),
                                    r.ctx->max_level(), r.e.scale);
  std::vector<std::string> seen;
  double worst = 0;
  ResNetTimings tm;
  const PackedFeatureMap out = server.infer(r.e, input, &tm, [&](const std::string& name, const PackedFeatureMap& m) {
    seen.push_back(name);
    if (name == "head") return;
    const double err = rel_error(r.decrypt(m), find_layer(trace, name));
    worst = std::max(worst, err);
    CHECK_MESSAGE(err < 1e-3, name << ": relative error " << err);
  });
  CHECK(seen == std::vector<std::string>{"enc1.act", "pool1", "enc2.act", "pool2", "mid.act", "up2", "dec2.act", "up1",
                                         "dec1.act", "head"});
  CHECK(out.cts.front().level == r.ctx->max_level() - 13);
  int levels = 0;
  for (const auto& [kind, c] : tm.cost) levels += c.levels;
  CHECK(levels == 13);
  for (const char* kind : {"conv", "activation", "pool", "transposed_conv", "concat_conv"}) CHECK(tm.seconds.count(kind) == 1);
  std::vector<std::vector<double>> slots;
  for (const auto& ct : out.cts) slots.push_back(r.client.encoder.decode(r.client.decryptor.decrypt(ct)));
  const FeatureMap logits = server.unpack_logits(slots);
  const double err = rel_error(logits, trace.back().value);
  MESSAGE("tiny U-Net: worst layer relative error " << worst << ", logits " << err);
  CHECK(err < 1e-3);
}

TEST_CASE("ml/unet_encrypted: the committed U-Net on real test scenes gives the plaintext masks") {
  const std::filesystem::path model = std::filesystem::path(CKKS_MODELS_DIR_FOR_TESTS) / "unet_fmnist_scenes.safetensors";
  const std::string dir = kDebianFashionMnistDir;
  REQUIRE_MESSAGE(std::filesystem::exists(model), model.string() << " is missing (scripts/train_unet.py)");
  REQUIRE_MESSAGE(std::filesystem::exists(std::filesystem::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");
  const UNet net = UNet::load(model.string());
  const auto source = scene_source(load_fashion_mnist(dir, false));
  const UNetServer server(net, ResNetPacking(kSceneSize, kSceneSize, 4096));
  Rig r(insecure_params(13, server.levels_needed(), 36), kSceneSize, server.rotation_steps());
  std::size_t agree = 0, pixels = 0;
  for (std::uint32_t i = 0; i < 2; ++i) {
    const Scene s = make_scene(source, SceneSplit::test, i);
    const FeatureMap want = net.forward(FeatureMap::from_values(s.image, 1, kSceneSize, kSceneSize));
    const auto input = encrypt_packed(r.client.encoder, r.client.encryptor, server.pack_input(s.image),
                                      r.ctx->max_level(), r.e.scale);
    const PackedFeatureMap out = server.infer(r.e, input);
    std::vector<std::vector<double>> slots;
    for (const auto& ct : out.cts) slots.push_back(r.client.encoder.decode(r.client.decryptor.decrypt(ct)));
    const FeatureMap got = server.unpack_logits(slots);
    const auto mask = argmax_channels(got), plain = argmax_channels(want);
    for (std::size_t p = 0; p < mask.size(); ++p) agree += mask[p] == plain[p];
    pixels += mask.size();
    const double err = rel_error(got, want);
    MESSAGE("scene " << i << ": logits relative error " << err);
    CHECK(err < 1e-3);
  }
  const double agreement = static_cast<double>(agree) / static_cast<double>(pixels);
  MESSAGE("pixel agreement with the plaintext masks: " << agreement << " (" << agree << " of " << pixels << ")");
  CHECK(agreement >= 0.999);
}

TEST_CASE("ml/unet_encrypted: the level plan and the errors (shapes, too few levels, missing keys)") {
  const UNetServer server(random_unet(31, 4, 8, 32, 3), ResNetPacking(8, 8, 1024));
  const auto plan = server.level_plan();
  REQUIRE(plan.size() == 10);
  CHECK(plan[0].layer == "enc1");
  CHECK(plan[5].layer == "up2");
  CHECK(plan[5].levels == 1);
  CHECK(plan[1].levels == 0);

  // too few levels: a 12-level chain, the error names both numbers
  Rig r(insecure_params(11, 12, 30), 8, server.rotation_steps());
  std::vector<float> image(64, 0.5f);
  const auto input = encrypt_packed(r.client.encoder, r.client.encryptor, server.pack_input(image), r.ctx->max_level(),
                                    r.e.scale);
  CHECK_THROWS_WITH_AS(server.infer(r.e, input), doctest::Contains("level 12 but the U-Net needs 13"), LevelError);
  CHECK_THROWS_AS(server.pack_input(std::vector<float>(63, 0.0f)), InputError);

  // missing keys: the steps are named
  Rig bare(insecure_params(11, 13, 30), 8, {1});
  const auto in13 = encrypt_packed(bare.client.encoder, bare.client.encryptor, server.pack_input(image),
                                   bare.ctx->max_level(), bare.e.scale);
  CHECK_THROWS_WITH_AS(server.infer(bare.e, in13), doctest::Contains("no Galois key for rotation steps"), MissingKeyError);

  // mismatched shapes
  std::mt19937_64 rng(4);
  const ConvTranspose2d up = random_up(rng, 8, 4);
  CHECK_THROWS_WITH_AS(conv_transpose_rotation_steps(r.pk, 4, 2, up), doctest::Contains("the map has 4 channels but the layer expects 8"),
                       InputError);
  CHECK_THROWS_WITH_AS(conv_transpose_rotation_steps(r.pk, 8, 1, up), doctest::Contains("input gap 1 must be even"),
                       InputError);
  ConvTranspose2d k3 = up;
  k3.kernel = 3;
  CHECK_THROWS_AS(conv_transpose_rotation_steps(r.pk, 8, 2, k3), InputError);
  const Conv2d c = random_conv(rng, 4, 8, 3);
  CHECK_THROWS_WITH_AS(concat_conv_rotation_steps(r.pk, 4, 8, 1, c), doctest::Contains("4 + 8 = 12"), InputError);
  const PackedFeatureMap a = r.encrypt(random_map(rng, 4, 8, 8), 1);
  const PackedFeatureMap b = r.encrypt(random_map(rng, 4, 4, 4), 2);
  CHECK_THROWS_WITH_AS(concat_conv_packed(r.e, a, b, c, 1, 0), doctest::Contains("gaps 1 and 2"), InputError);
  const PackedFeatureMap clean = r.encrypt(random_map(rng, 8, 4, 4), 2);
  PackedFeatureMap clean0 = clean;
  for (auto& ct : clean0.cts) ct = r.ev.drop_level(ct, 0);
  CHECK_THROWS_AS(conv_transpose_packed(r.e, clean0, up), LevelError);
  CHECK_THROWS_AS(UNetServer(UNet{}, ResNetPacking(8, 8, 1024)), InputError);
  UNet linear = random_unet(32, 4, 8, 32, 3);
  linear.mid.act.a = 0;
  CHECK_THROWS_WITH_AS(UNetServer(linear, ResNetPacking(8, 8, 1024)), doctest::Contains("mid.act has a = 0"), InputError);
  CHECK_THROWS_AS(UNetServer(random_unet(33, 4, 8, 32, 3), ResNetPacking(2, 2, 1024)), InputError);
}

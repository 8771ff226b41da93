// Encrypted ResNet inference (ml/resnet/resnet_encrypted.h): the packing, each layer against its plaintext
// version in ml/resnet/resnet_plain.h (stride 1 and 2, replicated and multi-ciphertext maps, lazy sign and
// offset, the identity and projection shortcuts, pooling + dense), a whole random ResNet-8 compared
// activation by activation with ResNet::trace, the trained tiny ResNet-8 on real Fashion-MNIST
// images, the 128-bit parameter choice, and the errors.
//
// Parameters: INSECURE small rings (N = 2^11, 1024 slots, an 8 × 8 grid so 16 channel blocks per
// ciphertext), chosen so that every packing case occurs: 4 channels (replicated 4 times), 8
// (replicated twice), 32 (two ciphertexts). Δ = 2^30 with 30-bit primes.
//
// Error bounds. A fresh encryption at Δ = 2^30 is accurate to about 2^-20 of a unit; each layer
// adds the rescale and key-switching errors of its rotations (around 2^-18 relative here) and the
// squares double relative errors. Observed: relative errors (max error over the largest |value| of
// the layer) of 7e-7 … 1.4e-6 (19.5–20.4 bits) for single convolutions, 8.7e-7 on the logits of
// pooling + dense, 8.7e-6 for the worst activation of the random ResNet-8 and 6.4e-6 on its
// logits. The trained tiny ResNet-8 (N = 2^13, 16 × 16 images): worst activation 1.9e-5, logit
// errors 2.6e-5 … 6.4e-5 (2^-15.2 … 2^-13.9) on test images 0..2. The bounds (1e-4 for one layer,
// 2e-3 relative through the network, 1e-2 absolute on the trained model's logits) leave a factor of
// 70 or more.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/data/image.h"
#include "ml/resnet/resnet_encrypted.h"

using namespace ckks;
using namespace ckks::ml;

namespace {

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

/// a·t² + b·t + c with b near 1, c small and a random in [0.1, 0.3]·a_scale (or in
/// −[0.02, 0.07]·a_scale if `negative`).
QuadraticActivation random_act(std::mt19937_64& rng, bool negative, double a_scale = 1.0) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  QuadraticActivation a;
  a.a = a_scale * (negative ? -(0.02 + 0.05 * u(rng)) : 0.1 + 0.2 * u(rng));
  a.b = 0.9 + 0.2 * u(rng);
  a.c = 0.05 * (u(rng) - 0.5);
  return a;
}

/// A ResNet-(6n+2)-shaped network (n = `blocks` per stage) with widths w1/w2/w3 and K classes, random.
/// a_scale scales the activations' quadratic terms and `branch` the second convolution of every
/// block (weights and bias): deep random networks need both below 1, or the quadratics compound
/// through the residual additions (at 1 and 1, three blocks per stage reach 1e305).
ResNet random_resnet(std::uint64_t seed, std::size_t blocks, std::size_t w1, std::size_t w2, std::size_t w3,
                     std::size_t classes, double a_scale = 1.0, double branch = 1.0) {
  std::mt19937_64 rng(seed);
  ResNet m;
  m.stem = random_conv(rng, w1, 1, 3, 1);
  m.stem_act = random_act(rng, false, a_scale);
  std::size_t prev = w1;
  const std::size_t widths[3] = {w1, w2, w3};
  for (int s = 0; s < 3; ++s) {
    std::vector<ResNet::Block> stage;
    for (std::size_t k = 0; k < blocks; ++k) {
      ResNet::Block b;
      const std::size_t stride = s > 0 && k == 0 ? 2 : 1;
      b.conv1 = random_conv(rng, widths[s], prev, 3, stride);
      b.act1 = random_act(rng, s == 1 && k == 0, a_scale);  // one activation with a < 0 exercises the sign
      b.conv2 = random_conv(rng, widths[s], widths[s], 3, 1);
      for (auto& w : b.conv2.weight) w *= branch;
      for (auto& w : b.conv2.bias) w *= branch;
      if (stride == 2) b.shortcut = random_conv(rng, widths[s], prev, 1, 2);
      b.act2 = random_act(rng, false, a_scale);
      stage.push_back(b);
      prev = widths[s];
    }
    m.stages.push_back(stage);
  }
  m.fc.in = w3;
  m.fc.out = classes;
  std::normal_distribution<double> n(0.0, 0.3);
  for (std::size_t i = 0; i < classes * w3; ++i) m.fc.weight.push_back(n(rng));
  for (std::size_t i = 0; i < classes; ++i) m.fc.bias.push_back(n(rng));
  return m;
}

/// The ResNet-8 shape (one block per stage).
ResNet random_resnet8(std::uint64_t seed, std::size_t w1, std::size_t w2, std::size_t w3, std::size_t classes) {
  return random_resnet(seed, 1, w1, w2, w3, classes);
}

FeatureMap random_map(std::uint64_t seed, std::size_t c, std::size_t h, std::size_t w, double amp = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-amp, amp);
  FeatureMap m(c, h, w);
  for (auto& v : m.data) v = u(rng);
  return m;
}

double max_abs(const FeatureMap& m) {
  double r = 0;
  for (double v : m.data) r = std::max(r, std::fabs(v));
  return r;
}

double max_diff(const FeatureMap& a, const FeatureMap& b) {
  REQUIRE(a.data.size() == b.data.size());
  double r = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) r = std::max(r, std::fabs(a.data[i] - b.data[i]));
  return r;
}

Params small_params(int levels) {
  Params p;
  p.log_n = 11;
  p.log_q.assign(1, 45);
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(levels), 30);
  p.log_p = {50, 50};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

/// Keys, evaluator and helpers at small parameters, for a given set of rotation steps.
struct Fixture {
  ContextPtr ctx;
  ClientKeys client;
  Evaluator ev;
  RelinKey rk;
  GaloisKeys gk;
  ResNetPacking packing;
  ResNetEvalContext e;

  Fixture(int levels, const std::vector<int>& steps, std::size_t grid = 8, int log_n = 11)
      : ctx(Context::create([&] { Params p = small_params(levels); p.log_n = log_n; return p; }())),
        client(ctx, 7),
        ev(ctx),
        rk(client.keygen.relin_key(client.sk)),
        gk(client.keygen.galois_keys(client.sk, steps)),
        packing(grid, grid, ctx->max_slots()),
        e{ctx, ev, client.encoder, gk, rk, packing, ctx->default_scale()} {}

  PackedFeatureMap encrypt(const FeatureMap& m, std::size_t gap, double sign = 1, double offset = 0) {
    PackedFeatureMap p;
    p.channels = m.channels;
    p.gap = gap;
    p.sign = sign;
    p.offset = offset;
    p.cts = encrypt_packed(client.encoder, client.encryptor, packing.pack(m, gap), ctx->max_level(), e.scale);
    return p;
  }
  std::vector<std::vector<double>> slots(const PackedFeatureMap& p) {
    std::vector<std::vector<double>> s;
    for (const auto& ct : p.cts) s.push_back(client.encoder.decode(client.decryptor.decrypt(ct)));
    return s;
  }
  FeatureMap decrypt(const PackedFeatureMap& p) { return decrypt_packed(packing, client.encoder, client.decryptor, p); }
};

/// Every slot that is not a valid position of the map must decrypt to (almost) 0.
double off_grid_max(Fixture& f, const PackedFeatureMap& p) {
  const auto s = f.slots(p);
  const std::size_t W = f.packing.width(), B = f.packing.block();
  double r = 0;
  for (const auto& v : s)
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::size_t pos = i % B, y = pos / W, x = pos % W;
      if (y % p.gap != 0 || x % p.gap != 0) r = std::max(r, std::fabs(v[i]));
    }
  return r;
}

/// The relative error of one decrypted activation map against the trace's layer of the same name
/// (max error over the largest |value|), checked against `bound`.
double layer_error(Fixture& f, const std::vector<LayerOutput>& trace, const std::string& name,
                   const PackedFeatureMap& m, double bound) {
  const FeatureMap& want = find_layer(trace, name);
  const double rel = max_diff(f.decrypt(m), want) / max_abs(want);
  CHECK_MESSAGE(rel < bound, name << ": relative error " << rel);
  return rel;
}

/// The decrypted logits of `out` against the trace's "fc": {max |error|, max |logit|}.
std::pair<double, double> logit_error(Fixture& f, const ResNetServer& server, const Ciphertext& out,
                                      const std::vector<LayerOutput>& trace) {
  const auto logits = server.unpack_logits(f.client.encoder.decode(f.client.decryptor.decrypt(out)));
  const FeatureMap& want = find_layer(trace, "fc");
  double err = 0, mag = 0;
  for (std::size_t k = 0; k < want.data.size(); ++k) {
    err = std::max(err, std::fabs(logits[k] - want.data[k]));
    mag = std::max(mag, std::fabs(want.data[k]));
  }
  return {err, mag};
}

}  // namespace

TEST_CASE("ml/resnet_encrypted: packing round trip, replication and channel placement") {
  const ResNetPacking pk(8, 8, 1024);
  CHECK(pk.block() == 64);
  CHECK(pk.blocks() == 16);
  CHECK(pk.ciphertexts(4) == 1);
  CHECK(pk.ciphertexts(32) == 2);
  CHECK_THROWS_AS(pk.ciphertexts(6), InputError);
  for (std::size_t ch : {1u, 4u, 16u, 32u})
    for (std::size_t gap : {1u, 2u, 4u}) {
      const FeatureMap m = random_map(ch * 10 + gap, ch, 8 / gap, 8 / gap);
      const auto v = pk.pack(m, gap);
      CHECK(v.size() == pk.ciphertexts(ch));
      CHECK(max_diff(pk.unpack(v, ch, gap), m) == 0.0);
      // replicated maps repeat every ch blocks; off-grid slots are 0
      for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t s = 0; s < v[i].size(); ++s) {
          const std::size_t beta = s / 64, pos = s % 64;
          if ((pos / 8) % gap != 0 || (pos % 8) % gap != 0) CHECK(v[i][s] == 0.0);
          else if (ch < 16) CHECK(v[i][s] == v[i][(beta % ch) * 64 + pos]);
        }
    }
  CHECK_THROWS_AS(ResNetPacking(6, 6, 1024), InputError);
  CHECK_THROWS_AS(ResNetPacking(64, 32, 1024), InputError);
  CHECK_THROWS_AS(pk.pack(random_map(1, 4, 8, 8), 2), InputError);
}

TEST_CASE("ml/resnet_encrypted: fold_activation reproduces a·t² + b·t + c and refuses a = 0") {
  for (QuadraticActivation a : {QuadraticActivation{0.2, 0.97, -0.02}, QuadraticActivation{-0.006, 0.98, -0.017}}) {
    const FoldedActivation f = fold_activation(a, "test");
    for (double t : {-5.0, -1.0, 0.0, 0.3, 7.0}) {
      const double z = f.mult * t + f.shift;
      CHECK(f.sign * z * z + f.offset == doctest::Approx(a(t)).epsilon(1e-12));
    }
  }
  CHECK_THROWS_WITH_AS(fold_activation({0.0, 1.0, 0.0}, "s1.b1.act1"),
                       doctest::Contains("s1.b1.act1 has a = 0"), InputError);
}

TEST_CASE("ml/resnet_encrypted: each convolution against conv2d (stride 1 and 2, replicated, two ciphertexts, lazy input)") {
  std::mt19937_64 rng(3);
  struct Case {
    const char* what;
    std::size_t c_in, c_out, k, stride, gap;
    double sign, offset;
  };
  const Case cases[] = {
      {"stem 1 -> 4, 3x3", 1, 4, 3, 1, 1, 1, 0},
      {"4 -> 4 replicated, lazy sign -1 and offset", 4, 4, 3, 1, 1, -1, 0.7},
      {"4 -> 8, stride 2", 4, 8, 3, 2, 1, 1, 0.3},
      {"4 -> 8, 1x1 stride 2 (projection shortcut)", 4, 8, 1, 2, 1, 1, -0.2},
      {"8 -> 32, stride 2 into two ciphertexts", 8, 32, 3, 2, 2, 1, 0},
      {"32 -> 32, two ciphertexts in and out, gap 4", 32, 32, 3, 1, 4, -1, 0.5},
  };
  for (const Case& cs : cases) {
    const std::string what = cs.what;
    CAPTURE(what);
    const Conv2d conv = random_conv(rng, cs.c_out, cs.c_in, cs.k, cs.stride);
    const ResNetPacking pk(8, 8, 1024);
    Fixture f(2, conv_rotation_steps(pk, cs.c_in, cs.gap, conv));
    const FeatureMap x = random_map(11, cs.c_in, 8 / cs.gap, 8 / cs.gap);
    const double mult = 0.8, shift = 0.25;
    FeatureMap lazy = x;  // the value the convolution must read: sign·x + offset
    for (auto& v : lazy.data) v = cs.sign * v + cs.offset;
    FeatureMap want = conv2d(lazy, conv);
    for (auto& v : want.data) v = mult * v + shift;
    ResNetCost cost;
    const PackedFeatureMap out = conv_packed(f.e, f.encrypt(x, cs.gap, cs.sign, cs.offset), conv, mult, shift, &cost);
    CHECK(out.gap == cs.gap * cs.stride);
    CHECK(out.cts.front().level == f.ctx->max_level() - 1);
    CHECK(out.cts.front().scale == doctest::Approx(f.e.scale).epsilon(1e-12));
    CHECK(cost.levels == 1);
    const double rel = max_diff(f.decrypt(out), want) / max_abs(want);
    MESSAGE(what << ": relative error " << rel << " (" << -std::log2(rel) << " bits), " << cost.rotations
                    << " rotations, " << cost.plaintext_products << " plaintext products");
    CHECK(rel < 1e-4);
    CHECK(off_grid_max(f, out) < 1e-4 * max_abs(want));
  }
}

TEST_CASE("ml/resnet_encrypted: taps packed into the gap against conv2d (gap 2 and 4, stride 1 and 2)") {
  std::mt19937_64 rng(8);
  struct Case {
    const char* what;
    std::size_t c_in, c_out, stride, gap;
    double sign, offset;
    std::size_t groups;  // tap groups: products per (input ciphertext, channel rotation)
  };
  const Case cases[] = {
      {"8 -> 8 at gap 2 (replicated), lazy sign -1 and offset", 8, 8, 1, 2, -1, 0.4, 3},
      {"8 -> 32 at gap 2, stride 2 into two ciphertexts", 8, 32, 2, 2, 1, 0, 3},
      {"32 -> 32 at gap 4, two ciphertexts in and out", 32, 32, 1, 4, 1, -0.3, 1},
  };
  const ResNetPacking pk(8, 8, 1024);
  for (const Case& cs : cases) {
    const std::string what = cs.what;
    CAPTURE(what);
    const Conv2d conv = random_conv(rng, cs.c_out, cs.c_in, 3, cs.stride);
    std::vector<int> steps = conv_rotation_steps(pk, cs.c_in, cs.gap, conv, true);
    for (int st : conv_rotation_steps(pk, cs.c_in, cs.gap, conv, false)) steps.push_back(st);
    Fixture f(2, steps);
    const FeatureMap x = random_map(21, cs.c_in, 8 / cs.gap, 8 / cs.gap);
    const double mult = 0.9, shift = -0.2;
    FeatureMap lazy = x;
    for (auto& v : lazy.data) v = cs.sign * v + cs.offset;
    FeatureMap want = conv2d(lazy, conv);
    for (auto& v : want.data) v = mult * v + shift;
    const PackedFeatureMap in = f.encrypt(x, cs.gap, cs.sign, cs.offset);
    REQUIRE(in.clean);
    ResNetCost packed_cost, plain_cost;
    f.e.pack_taps = true;
    const PackedFeatureMap out = conv_packed(f.e, in, conv, mult, shift, &packed_cost);
    f.e.pack_taps = false;
    const PackedFeatureMap ref = conv_packed(f.e, in, conv, mult, shift, &plain_cost);
    const double rel = max_diff(f.decrypt(out), want) / max_abs(want);
    MESSAGE(what << ": relative error " << rel << " (standard " << max_diff(f.decrypt(ref), want) / max_abs(want)
                 << "), " << packed_cost.plaintext_products << " products (standard " << plain_cost.plaintext_products
                 << "), " << packed_cost.rotations << " rotations (standard " << plain_cost.rotations << ")");
    CHECK(rel < 1e-4);
    CHECK_FALSE(out.clean);  // the cell sums leave partial sums off the grid
    CHECK(ref.clean);
    CHECK(out.gap == cs.gap * cs.stride);
    CHECK(out.cts.front().level == ref.cts.front().level);
    CHECK(out.cts.front().scale == doctest::Approx(f.e.scale).epsilon(1e-12));
    // the counts of the file comment: nr = min(C_in, nb = 16) channel rotations
    const std::size_t c_in_cts = pk.ciphertexts(cs.c_in), c_out_cts = pk.ciphertexts(cs.c_out);
    const std::size_t nr = std::min<std::size_t>(cs.c_in, 16);
    const int log2_gap = cs.gap == 4 ? 2 : 1;
    CHECK(packed_cost.plaintext_products == static_cast<int>(c_out_cts * nr * c_in_cts * cs.groups));
    CHECK(plain_cost.plaintext_products == static_cast<int>(c_out_cts * nr * c_in_cts * 9));
    CHECK(packed_cost.rotations == plain_cost.rotations + static_cast<int>(c_out_cts) * 2 * log2_gap);
  }
  // the 32 × 32 grid of the committed models (one block at N = 2^11): one group of taps at gap 4,
  // three at gap 2 (the fewest 16 and 4 sub-positions allow), the results still the convolution's
  for (const std::size_t gap : {2u, 4u}) {
    CAPTURE(gap);
    const ResNetPacking big(32, 32, 1024);
    const Conv2d c = random_conv(rng, 1, 1, 3, 1);
    Fixture f(2, conv_rotation_steps(big, 1, gap, c, true), 32);
    f.e.pack_taps = true;
    const FeatureMap x = random_map(24, 1, 32 / gap, 32 / gap);
    ResNetCost cost;
    const PackedFeatureMap out = conv_packed(f.e, f.encrypt(x, gap), c, 1.0, 0.0, &cost);
    CHECK(cost.plaintext_products == (gap == 4 ? 1 : 3));
    const FeatureMap want = conv2d(x, c);
    CHECK(max_diff(f.decrypt(out), want) < 1e-4 * max_abs(want));
  }
  // an input that is not clean is convolved one product per tap, whatever pack_taps says
  const Conv2d conv = random_conv(rng, 8, 8, 3, 1);
  Fixture f(2, conv_rotation_steps(pk, 8, 2, conv, false));
  PackedFeatureMap in = f.encrypt(random_map(22, 8, 4, 4), 2);
  in.clean = false;
  f.e.pack_taps = true;
  ResNetCost cost;
  const PackedFeatureMap out = conv_packed(f.e, in, conv, 1.0, 0.0, &cost);
  CHECK(out.clean);
  CHECK(cost.plaintext_products == 8 * 9);
  CHECK(max_diff(f.decrypt(out), conv2d(random_map(22, 8, 4, 4), conv)) < 1e-4 * max_abs(conv2d(random_map(22, 8, 4, 4), conv)));
  // the keys of the packed steps are needed: a fixture without them names what is missing
  Fixture g(2, conv_rotation_steps(pk, 8, 2, conv, false));
  g.e.pack_taps = true;
  CHECK_THROWS_AS(conv_packed(g.e, g.encrypt(random_map(23, 8, 4, 4), 2), conv, 1.0, 0.0), MissingKeyError);
}

// ResNetEvalContext::input_baby_steps = n1: every input ciphertext rotated by b·B + off_t (b < n1) with one
// hoisted ModUp, the products over Q_ℓ·P summed to one ModDown per giant step (conv_sum_lazy).
TEST_CASE("ml/resnet_encrypted: block rotations hoisted on the input (input_baby_steps 1, 2, 4) against conv2d and "
          "the standard path") {
  std::mt19937_64 rng(9);
  struct Case {
    const char* what;
    std::size_t c_in, c_out, stride, gap;
    double sign, offset;
  };
  const Case cases[] = {
      {"4 -> 4 at gap 1 (replicated 4 times, nr 4), lazy sign -1 and offset", 4, 4, 1, 1, -1, 0.3},
      {"8 -> 32 at gap 1, stride 2 into two ciphertexts (nr 8)", 8, 32, 2, 1, 1, 0},
      {"32 -> 32 at gap 2, two ciphertexts in and out (nr 16), taps not packed", 32, 32, 1, 2, 1, -0.2},
  };
  const ResNetPacking pk(8, 8, 1024);
  for (const Case& cs : cases) {
    const std::string what = cs.what;
    CAPTURE(what);
    const Conv2d conv = random_conv(rng, cs.c_out, cs.c_in, 3, cs.stride);
    const FeatureMap x = random_map(31, cs.c_in, 8 / cs.gap, 8 / cs.gap);
    const double mult = 0.8, shift = 0.1;
    FeatureMap lazy = x;
    for (auto& v : lazy.data) v = cs.sign * v + cs.offset;
    FeatureMap want = conv2d(lazy, conv);
    for (auto& v : want.data) v = mult * v + shift;
    for (const std::size_t n1 : {1u, 2u, 4u}) {
      CAPTURE(n1);
      std::vector<int> steps = conv_rotation_steps(pk, cs.c_in, cs.gap, conv, false, n1);
      for (int st : conv_rotation_steps(pk, cs.c_in, cs.gap, conv, false)) steps.push_back(st);
      Fixture f(2, steps);
      const PackedFeatureMap in = f.encrypt(x, cs.gap, cs.sign, cs.offset);
      ResNetCost cost, ref_cost;
      const PackedFeatureMap ref = conv_packed(f.e, in, conv, mult, shift, &ref_cost);
      f.e.input_baby_steps = n1;
      const PackedFeatureMap out = conv_packed(f.e, in, conv, mult, shift, &cost);
      const double rel = max_diff(f.decrypt(out), want) / max_abs(want);
      MESSAGE(what << ", n1 " << n1 << ": relative error " << rel << " (standard "
                   << max_diff(f.decrypt(ref), want) / max_abs(want) << "), " << cost.rotations << " rotations (standard "
                   << ref_cost.rotations << ")");
      CHECK(rel < 1e-4);
      CHECK(max_diff(f.decrypt(out), f.decrypt(ref)) < 1e-4 * max_abs(want));
      CHECK(out.clean);
      CHECK(off_grid_max(f, out) < 1e-4 * max_abs(want));
      CHECK(out.gap == cs.gap * cs.stride);
      CHECK(out.cts.size() == ref.cts.size());
      CHECK(out.cts.front().level == ref.cts.front().level);
      CHECK(out.cts.front().scale == doctest::Approx(f.e.scale).epsilon(1e-12));
      // the counts of conv_sum_lazy: per input ciphertext n1·9 rotations but the unrotated centre tap of b = 0,
      // per output ciphertext nr/n1 − 1 giant steps; the products are the standard path's
      const std::size_t c_in_cts = pk.ciphertexts(cs.c_in), c_out_cts = pk.ciphertexts(cs.c_out);
      const std::size_t nr = std::min<std::size_t>(cs.c_in, 16), nb = std::min(n1, nr), nG = (nr + nb - 1) / nb;
      CHECK(cost.rotations == static_cast<int>(c_in_cts * (nb * 9 - 1) + c_out_cts * (nG - 1)));
      CHECK(cost.plaintext_products == ref_cost.plaintext_products);
    }
  }
  // below input_baby_steps_min_level the standard path runs (its rotations, its keys)
  {
    const Conv2d c = random_conv(rng, 4, 4, 3, 1);
    Fixture f(2, conv_rotation_steps(pk, 4, 1, c, false));
    const PackedFeatureMap in = f.encrypt(random_map(33, 4, 8, 8), 1);
    ResNetCost ref_cost, cost;
    conv_packed(f.e, in, c, 1.0, 0.0, &ref_cost);
    f.e.input_baby_steps = 2;
    f.e.input_baby_steps_min_level = in.cts.front().level + 1;
    conv_packed(f.e, in, c, 1.0, 0.0, &cost);
    CHECK(cost.rotations == ref_cost.rotations);
  }
  // its own keys are needed: the standard path's name what is missing
  const Conv2d conv = random_conv(rng, 8, 8, 3, 1);
  Fixture g(2, conv_rotation_steps(pk, 8, 1, conv, false));
  g.e.input_baby_steps = 2;
  CHECK_THROWS_AS(conv_packed(g.e, g.encrypt(random_map(32, 8, 8, 8), 1), conv, 1.0, 0.0), MissingKeyError);
}

TEST_CASE("ml/resnet_encrypted: conv2 fused with its projection shortcut against conv2d + conv2d") {
  std::mt19937_64 rng(4);
  struct Case {
    const char* what;
    std::size_t c_sc, c_out, gap_out;  // shortcut input c_sc channels at gap gap_out/2, conv input c_out at gap_out
    double sign, offset;
  };
  const Case cases[] = {
      {"8 -> 16 shortcut, 16 -> 16 conv at gap 2 (replicated)", 8, 16, 2, -1, 0.3},
      {"16 -> 32 shortcut, 32 -> 32 conv at gap 4 (two ciphertexts)", 16, 32, 4, 1, -0.4},
  };
  const ResNetPacking pk(8, 8, 1024);
  for (const Case& cs : cases) {
    const std::string what = cs.what;
    CAPTURE(what);
    const Conv2d conv = random_conv(rng, cs.c_out, cs.c_out, 3, 1);
    const Conv2d proj = random_conv(rng, cs.c_out, cs.c_sc, 1, 2);
    REQUIRE(can_fuse_projection(pk, cs.c_out, cs.gap_out, conv, cs.c_sc, cs.gap_out / 2, proj));
    std::vector<int> steps = conv_rotation_steps(pk, cs.c_out, cs.gap_out, conv);
    for (int st : conv_rotation_steps(pk, cs.c_sc, cs.gap_out / 2, proj)) steps.push_back(st);
    Fixture f(3, steps);
    const FeatureMap t = random_map(12, cs.c_out, 8 / cs.gap_out, 8 / cs.gap_out);
    const FeatureMap h = random_map(13, cs.c_sc, 16 / cs.gap_out, 16 / cs.gap_out);
    const double mult = 0.7, shift = -0.15;
    FeatureMap lazy_h = h;  // the shortcut input carries a lazy sign and offset, as after an activation
    for (auto& v : lazy_h.data) v = cs.sign * v + cs.offset;
    FeatureMap want = conv2d(t, conv);
    const FeatureMap want_sc = conv2d(lazy_h, proj);
    for (std::size_t i = 0; i < want.data.size(); ++i) want.data[i] = mult * (want.data[i] + want_sc.data[i]) + shift;
    // the main input one level below the shortcut's, as in a residual block
    PackedFeatureMap in = f.encrypt(t, cs.gap_out);
    for (auto& ct : in.cts) ct = f.ev.drop_level(ct, f.ctx->max_level() - 1);
    ResNetCost cost, cost_conv, cost_sc;
    const PackedFeatureMap out =
        conv_projection_packed(f.e, in, conv, f.encrypt(h, cs.gap_out / 2, cs.sign, cs.offset), proj, mult, shift, &cost);
    CHECK(out.gap == cs.gap_out);
    CHECK(out.cts.front().level == f.ctx->max_level() - 2);
    CHECK(out.cts.front().scale == doctest::Approx(f.e.scale).epsilon(1e-12));
    const double rel = max_diff(f.decrypt(out), want) / max_abs(want);
    // the unfused pair: the shortcut's block rotations are what the fusion saves
    conv_packed(f.e, in, conv, mult, shift, &cost_conv);
    conv_packed(f.e, f.encrypt(h, cs.gap_out / 2, cs.sign, cs.offset), proj, mult, 0.0, &cost_sc);
    MESSAGE(what << ": relative error " << rel << ", " << cost.rotations << " rotations (unfused "
                 << cost_conv.rotations + cost_sc.rotations << "), " << cost.plaintext_products << " products");
    CHECK(rel < 1e-4);
    CHECK(off_grid_max(f, out) < 1e-4 * max_abs(want));
    CHECK(cost.rotations == cost_conv.rotations);
    CHECK(cost.plaintext_products == cost_conv.plaintext_products + cost_sc.plaintext_products);
  }
  // a shortcut with more channel rotations than the convolution cannot share them
  const Conv2d conv = random_conv(rng, 8, 8, 3, 1);
  const Conv2d proj = random_conv(rng, 8, 16, 1, 2);
  CHECK_FALSE(can_fuse_projection(pk, 8, 2, conv, 16, 1, proj));
  Fixture f(3, {1});
  CHECK_THROWS_WITH_AS(conv_projection_packed(f.e, f.encrypt(random_map(1, 8, 4, 4), 2), conv,
                                              f.encrypt(random_map(2, 16, 8, 8), 1), proj, 1.0, 0.0),
                       doctest::Contains("use conv_packed and add_packed"), InputError);
}

TEST_CASE("ml/resnet_encrypted: square, identity shortcut and pooling + dense against the plaintext layers") {
  const ResNetPacking pk(8, 8, 1024);
  Dense fc;
  fc.in = 32;
  fc.out = 10;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(0.0, 0.5);
  for (std::size_t i = 0; i < 320; ++i) fc.weight.push_back(n(rng));
  for (std::size_t i = 0; i < 10; ++i) fc.bias.push_back(n(rng));
  Fixture f(3, pool_dense_rotation_steps(pk, 32, 4, 10));

  const QuadraticActivation act{-0.05, 0.95, 0.01};
  const FoldedActivation fa = fold_activation(act, "test");
  const FeatureMap t = random_map(21, 4, 8, 8, 2.0);
  FeatureMap z = t;
  for (auto& v : z.data) v = fa.mult * v + fa.shift;
  const PackedFeatureMap s = square_packed(f.e, f.encrypt(z, 1), fa);
  CHECK(s.sign == -1.0);
  const FeatureMap want_act = activate(t, act);
  CHECK(max_diff(f.decrypt(s), want_act) / max_abs(want_act) < 1e-5);

  // identity shortcut: m·(σ·s) rescaled to Δ, dropped one more level
  const int target = s.cts.front().level - 2;
  const PackedFeatureMap sc = scale_shortcut(f.e, s, 0.6, target);
  CHECK(sc.cts.front().level == target);
  CHECK(sc.cts.front().scale == doctest::Approx(f.e.scale).epsilon(1e-12));
  FeatureMap want_sc = want_act;
  for (auto& v : want_sc.data) v = 0.6 * (v - s.offset);  // the offset rides in conv2's shift
  CHECK(max_diff(f.decrypt(sc), want_sc) / max_abs(want_sc) < 1e-5);

  // pooling + dense on a two-ciphertext map with a lazy offset
  const FeatureMap h = random_map(22, 32, 2, 2, 3.0);
  FeatureMap lazy = h;
  for (auto& v : lazy.data) v = -v + 0.4;
  const FeatureMap want = dense(global_average_pool(lazy), fc);
  ResNetCost cost;
  const Ciphertext logits = pool_dense_packed(f.e, f.encrypt(h, 4, -1, 0.4), fc, &cost);
  const auto slots = f.client.encoder.decode(f.client.decryptor.decrypt(logits));
  double err = 0;
  for (std::size_t k = 0; k < 10; ++k) err = std::max(err, std::fabs(slots[logit_slot(pk, 4, k)] - want.data[k]));
  MESSAGE("pool+dense: max logit error " << err << ", " << cost.rotations << " rotations");
  CHECK(err < 1e-4);
  CHECK(cost.rotations == 9 + 1 + 1 + 4);

  CHECK_THROWS_AS(pool_dense_rotation_steps(pk, 32, 2, 10), InputError);  // 10 classes > 2² offsets
  // A dense layer without outputs: a named error, not the sum of no products.
  Dense none;
  none.in = 32;
  CHECK_THROWS_WITH_AS(pool_dense_packed(f.e, f.encrypt(h, 4, -1, 0.4), none), doctest::Contains("0 classes"),
                       InputError);
}

TEST_CASE("ml/resnet_encrypted: a random ResNet-8 end to end, activation by activation against ResNet::trace") {
  const ResNet model = random_resnet8(9, 4, 8, 32, 10);
  const ResNetServer server(model, ResNetPacking(8, 8, 1024));
  CHECK(server.levels_needed() == 15);
  CHECK(server.final_gap() == 4);
  Fixture f(server.levels_needed(), server.rotation_steps());
  const FeatureMap image = random_map(31, 1, 8, 8, 1.0);
  std::vector<float> pixels(image.data.begin(), image.data.end());
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::fabs(pixels[i]);
  const auto trace = model.trace(FeatureMap::from_values(pixels, 1, 8, 8));

  const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(pixels), f.ctx->max_level(), f.e.scale);
  int observed = 0;
  double worst = 0;
  ResNetTimings tm;
  const Ciphertext out = server.infer(f.e, in, &tm, [&](const std::string& name, const PackedFeatureMap& m) {
    worst = std::max(worst, layer_error(f, trace, name, m, 2e-3));
    ++observed;
  });
  CHECK(observed == 7);
  CHECK(out.level == f.ctx->max_level() - 15);
  const auto [err, mag] = logit_error(f, server, out, trace);
  MESSAGE("random ResNet-8: worst activation relative error " << worst << ", logit error " << err << " (logits up to "
                                                               << mag << "), conv rotations " << tm.cost["conv"].rotations);
  CHECK(err < 2e-3 * std::max(1.0, mag));
  CHECK(tm.cost["conv"].levels == 7);  // 7 convolution passes: the projection shortcuts ride in conv2's
  CHECK(tm.cost["activation"].levels == 7);

  // The same with the taps packed into the gap (conv2 of stages 2 and 3: input clean, gap 2 and 4).
  Fixture fp(server.levels_needed(), server.rotation_steps(true));
  fp.e.pack_taps = true;
  const std::vector<Ciphertext> in_p =
      encrypt_packed(fp.client.encoder, fp.client.encryptor, server.pack_input(pixels), fp.ctx->max_level(), fp.e.scale);
  ResNetTimings tp;
  double worst_p = 0;
  std::map<std::string, bool> clean;
  const Ciphertext out_p = server.infer(fp.e, in_p, &tp, [&](const std::string& name, const PackedFeatureMap& m) {
    worst_p = std::max(worst_p, layer_error(fp, trace, name, m, 2e-3));
    clean[name] = m.clean;
  });
  const auto [err_p, mag_p] = logit_error(fp, server, out_p, trace);
  MESSAGE("random ResNet-8, taps packed: worst activation relative error " << worst_p << ", logit error " << err_p
                                                                           << ", conv products "
                                                                           << tp.cost["conv"].plaintext_products << " (standard "
                                                                           << tm.cost["conv"].plaintext_products << ")");
  CHECK(err_p < 2e-3 * std::max(1.0, mag_p));
  CHECK(clean["s1.b1.act2"]);        // gap 1: nothing to pack
  CHECK_FALSE(clean["s2.b1.act2"]);  // conv2 at gap 2 packed
  CHECK(clean["s3.b1.act1"]);        // conv1 of stage 3 read an unclean map: standard
  CHECK_FALSE(clean["s3.b1.act2"]);  // conv2 at gap 4 packed
  // stage 2's conv2 (8 channels, 1 ciphertext, nr 8): 8·3 products instead of 8·9, its fused projection's
  // 8 unchanged; stage 3's (32 channels: 2 ciphertexts in and out, nr 16): 2·16·2·1 instead of ·9.
  CHECK(tm.cost["conv"].plaintext_products - tp.cost["conv"].plaintext_products == 8 * 6 + 2 * 16 * 2 * 8);

  // The same with the block rotations hoisted on the input (2 baby steps) where the taps are not packed:
  // the same products, the keys of rotation_steps(true, 2).
  Fixture fh(server.levels_needed(), server.rotation_steps(true, 2));
  fh.e.pack_taps = true;
  fh.e.input_baby_steps = 2;
  const std::vector<Ciphertext> in_h =
      encrypt_packed(fh.client.encoder, fh.client.encryptor, server.pack_input(pixels), fh.ctx->max_level(), fh.e.scale);
  ResNetTimings th;
  double worst_h = 0;
  const Ciphertext out_h = server.infer(fh.e, in_h, &th, [&](const std::string& name, const PackedFeatureMap& m) {
    worst_h = std::max(worst_h, layer_error(fh, trace, name, m, 2e-3));
  });
  const auto [err_h, mag_h] = logit_error(fh, server, out_h, trace);
  MESSAGE("random ResNet-8, block rotations hoisted on the input: worst activation relative error " << worst_h
          << ", logit error " << err_h << ", conv rotations " << th.cost["conv"].rotations << " (taps packed only: "
          << tp.cost["conv"].rotations << ")");
  CHECK(err_h < 2e-3 * std::max(1.0, mag_h));
  CHECK(th.cost["conv"].plaintext_products == tp.cost["conv"].plaintext_products);
  CHECK(out_h.level == out_p.level);
  // its keys by level come from the same walk
  CHECK(server.rotation_levels(true, server.levels_needed(), 2).size() == server.rotation_steps(true, 2).size());
  // from a minimum level only (the stem and stage 1 hoisted, later stages standard): the keys of that rule
  const int from = server.levels_needed() - 5;
  Fixture fm(server.levels_needed(), server.rotation_steps(true, 2, from));
  fm.e.pack_taps = true;
  fm.e.input_baby_steps = 2;
  fm.e.input_baby_steps_min_level = from;
  const std::vector<Ciphertext> in_m =
      encrypt_packed(fm.client.encoder, fm.client.encryptor, server.pack_input(pixels), fm.ctx->max_level(), fm.e.scale);
  ResNetTimings tmm;
  const auto [err_m, mag_m] = logit_error(fm, server, server.infer(fm.e, in_m, &tmm), trace);
  MESSAGE("random ResNet-8, hoisted from level " << from << ": logit error " << err_m << ", conv rotations "
          << tmm.cost["conv"].rotations);
  CHECK(err_m < 2e-3 * std::max(1.0, mag_m));
  CHECK(tmm.cost["conv"].rotations != th.cost["conv"].rotations);
  CHECK(tmm.cost["conv"].rotations != tp.cost["conv"].rotations);

  // Galois keys each made for the highest level its rotations run at (rotation_levels): the same
  // logits, smaller keys; a key one level too low is refused by name.
  const std::map<int, int> levels = server.rotation_levels(true, server.levels_needed());
  CHECK(levels.size() == server.rotation_steps(true).size());
  auto keys_at = [&](Fixture& fx, int lower_step) {
    GaloisKeys gk{fx.ctx, {}};
    for (const auto& [step, level] : levels) {
      GaloisKeys one = fx.client.keygen.galois_keys(fx.client.sk, {step}, false, step == lower_step ? level - 1 : level);
      gk.keys.merge(one.keys);
    }
    return gk;
  };
  Fixture fl(server.levels_needed(), {});
  fl.gk = keys_at(fl, 0);
  fl.e.pack_taps = true;
  double limbs_low = 0, limbs_full = 0;
  for (const auto& [g, key] : fl.gk.keys) {
    limbs_low += static_cast<double>(key.b.size() * key.b.front().limbs());
    limbs_full += static_cast<double>(fl.rk.key.b.size() * fl.rk.key.b.front().limbs());
  }
  const std::vector<Ciphertext> in_l =
      encrypt_packed(fl.client.encoder, fl.client.encryptor, server.pack_input(pixels), fl.ctx->max_level(), fl.e.scale);
  const auto [err_l, mag_l] = logit_error(fl, server, server.infer(fl.e, in_l), trace);
  MESSAGE("random ResNet-8, keys by level: logit error " << err_l << ", key limbs " << limbs_low << " of "
                                                        << limbs_full << " for keys of the whole chain");
  CHECK(err_l < 2e-3 * std::max(1.0, mag_l));
  CHECK(limbs_low < 0.75 * limbs_full);
  int lowered = 0;  // a step used at some level ≥ 1: its key made one level lower
  for (const auto& [step, level] : levels)
    if (level >= 1) lowered = step;
  REQUIRE(lowered != 0);
  Fixture fw(server.levels_needed(), {});
  fw.gk = keys_at(fw, lowered);
  fw.e.pack_taps = true;
  const std::vector<Ciphertext> in_w =
      encrypt_packed(fw.client.encoder, fw.client.encryptor, server.pack_input(pixels), fw.ctx->max_level(), fw.e.scale);
  CHECK_THROWS_WITH_AS(server.infer(fw.e, in_w), doctest::Contains("but the ciphertext is at level"), LevelError);
}

// The layout of the wide ResNet-20 (64/128/256 channels at N = 2^16: 2, 4 and 8 ciphertexts of 32
// blocks per map) in small: 8 blocks of an 8 × 8 grid at N = 2^10, widths 16/32/64, so that every
// stage holds its maps in several ciphertexts (2, 4, 8; the stem's 1-channel input in one), and three
// blocks per stage, so that the identity shortcuts of every stage add multi-ciphertext maps as well.
TEST_CASE("ml/resnet_encrypted: a random ResNet-20 with 2, 4, 8 ciphertexts per map, activation by activation against ResNet::trace") {
  const ResNet model = random_resnet(11, 3, 16, 32, 64, 10, 0.2, 0.5);
  CHECK(model.depth() == 20);
  const ResNetServer server(model, ResNetPacking(8, 8, 512));
  CHECK(server.levels_needed() == 39);
  for (const auto& [channels, cts] : {std::pair<std::size_t, std::size_t>{16, 2}, {32, 4}, {64, 8}})
    CHECK(server.packing().ciphertexts(channels) == cts);
  Fixture f(server.levels_needed(), server.rotation_steps(), 8, 10);
  const FeatureMap image = random_map(33, 1, 8, 8, 1.0);
  std::vector<float> pixels(image.data.begin(), image.data.end());
  for (auto& p : pixels) p = std::fabs(p);
  const auto trace = model.trace(FeatureMap::from_values(pixels, 1, 8, 8));
  double largest = 0;  // the plaintext network stays in range (a random deep one need not)
  for (const auto& layer : trace) largest = std::max(largest, max_abs(layer.value));
  REQUIRE(largest < 100);

  const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(pixels), f.ctx->max_level(), f.e.scale);
  int observed = 0;
  double worst = 0;
  std::map<std::string, std::size_t> cts_seen;
  ResNetTimings tm;
  const Ciphertext out = server.infer(f.e, in, &tm, [&](const std::string& name, const PackedFeatureMap& m) {
    worst = std::max(worst, layer_error(f, trace, name, m, 2e-3));
    ++observed;
    cts_seen[name] = m.cts.size();
    CHECK_MESSAGE(off_grid_max(f, m) < 1e-3 * max_abs(find_layer(trace, name)), name);
  });
  CHECK(observed == 19);
  CHECK(cts_seen["stem.act"] == 2);
  CHECK(cts_seen["s1.b3.act2"] == 2);
  CHECK(cts_seen["s2.b1.act1"] == 4);
  CHECK(cts_seen["s2.b3.act2"] == 4);
  CHECK(cts_seen["s3.b1.act1"] == 8);
  CHECK(cts_seen["s3.b3.act2"] == 8);
  CHECK(out.level == f.ctx->max_level() - 39);
  const auto [err, mag] = logit_error(f, server, out, trace);
  MESSAGE("random ResNet-20 (2/4/8 ciphertexts, largest plaintext value " << largest
                                                                          << "): worst activation relative error " << worst
                                                                          << ", logit error " << err
                                                                                  << " (logits up to " << mag << "), conv "
                                                                                  << tm.cost["conv"].rotations << " rotations, "
                                                                                  << tm.cost["conv"].plaintext_products
                                                                                  << " products");
  CHECK(err < 2e-3 * std::max(1.0, mag));
  CHECK(tm.cost["conv"].levels == 19);  // 19 convolution passes: the 2 projection shortcuts ride in conv2's
  CHECK(tm.cost["activation"].levels == 19);
  // The counts of the file comment of resnet_encrypted.h, per convolution with c_in input and c_out
  // output ciphertexts and nr = min(C_in, nb) = 8 channel rotations (1 for the stem): 8·c_in tap
  // rotations + c_out·(nr − 1) block rotations, c_out·nr·c_in·taps products (every tap reaches the
  // 2 × 2 maps of stage 3). Stem 8 / 18; stage 1: 6 × (30 / 288); stage 2: 104 / 1792 (with the
  // projection's 64 products) + 4 × (60 / 1152); stage 3: 208 / 7168 + 4 × (120 / 4608).
  CHECK(tm.cost["conv"].rotations == 8 + 180 + 344 + 688);
  CHECK(tm.cost["conv"].plaintext_products == 18 + 1728 + 6400 + 25600);
}

TEST_CASE("ml/resnet_encrypted: plaintexts encoded ahead give bit-identical ciphertexts to fresh encodes") {
  const ResNet model = random_resnet8(9, 4, 8, 32, 10);
  const ResNetServer server(model, ResNetPacking(8, 8, 1024));
  Fixture f(server.levels_needed(), server.rotation_steps());
  const FeatureMap image = random_map(32, 1, 8, 8, 1.0);
  const std::vector<float> pixels(image.data.begin(), image.data.end());
  const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(pixels), f.ctx->max_level(), f.e.scale);
  std::vector<std::vector<Ciphertext>> fresh_maps;
  ResNetTimings tm;
  const Ciphertext fresh = server.infer(f.e, in, &tm, [&](const std::string&, const PackedFeatureMap& m) {
    fresh_maps.push_back(m.cts);
  });
  auto same = [](const Ciphertext& a, const Ciphertext& b) {
    if (a.level != b.level || a.scale != b.scale || a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
      if (a.c[k].data() != b.c[k].data()) return false;
    return true;
  };
  // all of them, then a budget that holds only the last convolutions (fewest limbs first)
  for (const double budget : {1e18, 3e7}) {
    CAPTURE(budget);
    ResNetPlaintextCache cache;
    const std::size_t added = server.prepare_plaintexts(f.e, f.ctx->max_level(), f.e.scale, budget, cache);
    CHECK(added == cache.size());
    CHECK(cache.bytes() <= budget);
    ResNetEvalContext e = f.e;
    e.plaintexts = &cache;
    std::size_t layer = 0;
    const Ciphertext cached = server.infer(e, in, nullptr, [&](const std::string& name, const PackedFeatureMap& m) {
      REQUIRE(layer < fresh_maps.size());
      for (std::size_t i = 0; i < m.cts.size(); ++i) CHECK_MESSAGE(same(m.cts[i], fresh_maps[layer][i]), name);
      ++layer;
    });
    CHECK(same(cached, fresh));
    MESSAGE("budget " << budget << ": " << added << " plaintexts (" << cache.bytes() / (1 << 20) << " MiB), "
                      << cache.hits() << " of " << tm.cost["conv"].plaintext_products << " products served");
    if (budget > 1e17) {
      CHECK(cache.hits() == static_cast<std::size_t>(tm.cost["conv"].plaintext_products));
    } else {
      CHECK(cache.hits() == added);
      CHECK(added > 0);
      CHECK(added < static_cast<std::size_t>(tm.cost["conv"].plaintext_products));
    }
  }
  // a stored plaintext is only taken at its own level, scale and weight factor
  ResNetPlaintextCache cache;
  const ResNetPlaintextCache::Key key{&model.stem, 0, 0, 0, 0};
  cache.insert(key, f.client.encoder.encode(std::vector<double>(1024, 0.5), 3, f.e.scale), 2.0);
  CHECK(cache.find(key, 3, f.e.scale, 2.0) != nullptr);
  CHECK(cache.find(key, 2, f.e.scale, 2.0) == nullptr);
  CHECK(cache.find(key, 3, f.e.scale * 2, 2.0) == nullptr);
  CHECK(cache.find(key, 3, f.e.scale, 1.0) == nullptr);
  CHECK_THROWS_AS(server.prepare_plaintexts(f.e, 3, f.e.scale, 1e18, cache), LevelError);
}

TEST_CASE("ml/resnet_encrypted: with packed taps, plaintexts encoded ahead give bit-identical ciphertexts") {
  const ResNet model = random_resnet8(9, 4, 8, 32, 10);
  const ResNetServer server(model, ResNetPacking(8, 8, 1024));
  Fixture f(server.levels_needed(), server.rotation_steps(true));
  f.e.pack_taps = true;
  const FeatureMap image = random_map(34, 1, 8, 8, 1.0);
  const std::vector<float> pixels(image.data.begin(), image.data.end());
  const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(pixels), f.ctx->max_level(), f.e.scale);
  ResNetTimings tm;
  const Ciphertext fresh = server.infer(f.e, in, &tm);
  ResNetPlaintextCache cache;
  server.prepare_plaintexts(f.e, f.ctx->max_level(), f.e.scale, 1e18, cache);
  ResNetEvalContext e = f.e;
  e.plaintexts = &cache;
  const Ciphertext cached = server.infer(e, in);
  CHECK(cache.hits() == static_cast<std::size_t>(tm.cost["conv"].plaintext_products));
  REQUIRE(cached.level == fresh.level);
  CHECK(cached.scale == fresh.scale);
  for (std::size_t k = 0; k < fresh.size(); ++k) CHECK(cached.c[k].data() == fresh.c[k].data());
  // a cache filled for one-product-per-tap convolutions serves none of the packed groups' plaintexts
  ResNetPlaintextCache standard;
  ResNetEvalContext e_std = f.e;
  e_std.pack_taps = false;
  server.prepare_plaintexts(e_std, f.ctx->max_level(), f.e.scale, 1e18, standard);
  ResNetEvalContext mixed = f.e;
  mixed.plaintexts = &standard;
  const Ciphertext mixed_out = server.infer(mixed, in);
  CHECK(standard.hits() < static_cast<std::size_t>(tm.cost["conv"].plaintext_products));
  for (std::size_t k = 0; k < fresh.size(); ++k) CHECK(mixed_out.c[k].data() == fresh.c[k].data());
}

TEST_CASE("ml/resnet_encrypted: errors — too few levels, missing keys, wrong input") {
  const ResNet model = random_resnet8(9, 4, 8, 32, 10);
  const ResNetServer server(model, ResNetPacking(8, 8, 1024));
  {
    Fixture f(4, server.rotation_steps());
    const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(std::vector<float>(64, 0.5f)), f.ctx->max_level(), f.e.scale);
    CHECK_THROWS_WITH_AS(server.infer(f.e, in), doctest::Contains("needs 15 levels"), LevelError);
  }
  {
    Fixture f(15, {1});
    const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(std::vector<float>(64, 0.5f)), f.ctx->max_level(), f.e.scale);
    CHECK_THROWS_WITH_AS(server.infer(f.e, in), doctest::Contains("no Galois key for rotation steps"), MissingKeyError);
  }
  CHECK_THROWS_WITH_AS(server.pack_input(std::vector<float>(784, 0.5f)), doctest::Contains("784 values"), InputError);
  ResNet bad = model;
  bad.stages[1][0].act1 = {0.0, 1.0, 0.0};
  CHECK_THROWS_WITH_AS(ResNetServer(bad, ResNetPacking(8, 8, 1024)), doctest::Contains("s2.b1.act1 has a = 0"), InputError);
  CHECK_THROWS_WITH_AS(ResNetServer(random_resnet8(9, 6, 8, 32, 10), ResNetPacking(8, 8, 1024)),
                       doctest::Contains("6 channels cannot be packed"), InputError);
}

TEST_CASE("ml/resnet_encrypted: resnet_params gives 128-bit chains for ResNet-8 and ResNet-20") {
  const Params p8 = resnet_params(15), p20 = resnet_params(39);
  CHECK(p8.log_n == 16);
  CHECK(p8.log_q.size() == 16);
  CHECK(p8.log_scale == 40);
  CHECK(p20.log_q.size() == 40);
  for (const Params& p : {p8, p20}) {
    double bits = 0;
    for (int b : p.log_q) bits += b;
    for (int b : p.log_p) bits += b;
    CHECK(bits <= max_log_qp_128(16));
    CHECK(p.dnum <= 5);
    CHECK_FALSE(p.allow_insecure);
  }
  MESSAGE("ResNet-8: " << p8.describe() << "; ResNet-20: " << p20.describe());
  CHECK_THROWS_AS(resnet_params(60), ParameterError);
}

TEST_CASE("ml/resnet_encrypted: key_switch_cost ranks the measured rotations and resnet_params trades key size for it") {
  // The measured case (docs/ml.md): at ResNet-8's chain (16 data primes) one rotation at levels
  // 3 / 7 / 13 took 41.5 / 61.4 / 110.8 ms with dnum 1, k = 12 and 25.3 / 40.9 / 70.3 ms with
  // dnum 2, k = 6: the model must rank them the same way at every one of those levels.
  for (int level : {3, 7, 13}) CHECK(key_switch_cost(level, 15, 2, 6) < key_switch_cost(level, 15, 1, 12));
  // Counts by hand at level 3, dnum 1, k = 12 (one digit of 4 primes): NTTs 4 + (4 + 12 − 4) + 24 + 8 = 48,
  // products 4·12 + 2·12·5 = 168.
  CHECK(key_switch_cost(3, 15, 1, 12) == doctest::Approx(48 + 0.87 * 168));
  // dnum 2 at level 13: digits of 8 and 6 primes: NTTs 14 + 12 + 14 + 12 + 28 = 80,
  // products 8·12 + 6·14 + 2·6·15 = 360.
  CHECK(key_switch_cost(13, 15, 2, 6) == doctest::Approx(80 + 0.87 * 360));
  CHECK_THROWS_WITH_AS(key_switch_cost(16, 15, 1, 12), doctest::Contains("level 16"), ParameterError);
  CHECK_THROWS_WITH_AS(key_switch_cost(3, 15, 0, 12), doctest::Contains("dnum 0"), ParameterError);
  CHECK_THROWS_AS(key_switch_cost(3, 15, 1, 0), ParameterError);

  const Params small = resnet_params(15), fast = resnet_params(15, 2.0);
  CHECK(small.dnum == 1);
  CHECK(small.log_p.size() == 12);
  CHECK(fast.dnum == 2);
  CHECK(fast.log_p.size() == 6);
  CHECK(fast.log_q == small.log_q);
  // Keys: 2·(16 + 6) = 44 limbs per key polynomial against 28, within the allowed growth of 2.
  CHECK(fast.dnum * (16 + static_cast<int>(fast.log_p.size())) <= 2 * small.dnum * (16 + static_cast<int>(small.log_p.size())));
  // ResNet-20's chain is the same for any growth (the bound leaves only k = 5 or 6, both dnum 5).
  const Params p20 = resnet_params(39), p20_fast = resnet_params(39, 2.0);
  CHECK(p20_fast.log_p == p20.log_p);
  CHECK(p20_fast.dnum == p20.dnum);
  CHECK(p20.dnum == 5);
  for (const Params& p : {fast, p20_fast}) {
    int bits = 0;
    for (int b : p.log_q) bits += b;
    for (int b : p.log_p) bits += b;
    CHECK(bits <= max_log_qp_128(16));
    CHECK_FALSE(p.allow_insecure);
  }
  CHECK_THROWS_WITH_AS(resnet_params(15, 0.5), doctest::Contains("key_growth 0.5"), ParameterError);
}

TEST_CASE("ml/resnet_encrypted: the trained tiny ResNet-8 on real Fashion-MNIST images equals its plaintext run") {
  // ml/models/resnet8_tiny_fmnist16 (4/8/16 channels, 16 × 16 input: 2 × 2 means padded by 1) at
  // N = 2^13 (4096 slots = 16 blocks of 16 × 16), INSECURE, 15 levels of 30 bits.
  const ResNet model = ResNet::load(std::string(CKKS_MODELS_DIR_FOR_TESTS) + "/resnet8_tiny_fmnist16.safetensors");
  const ResNetServer server(model, ResNetPacking(16, 16, 4096));
  Fixture f(server.levels_needed(), server.rotation_steps(), 16, 13);
  const ImageSet test = load_fashion_mnist(kDebianFashionMnistDir, false, 3);
  for (std::size_t img = 0; img < test.images.size(); ++img) {
    CAPTURE(img);
    const std::vector<float> x = downsample_fashion_mnist_to_16(test.images[img]);
    const auto trace = model.trace(FeatureMap::from_values(x, 1, 16, 16));
    const std::vector<Ciphertext> in =
      encrypt_packed(f.client.encoder, f.client.encryptor, server.pack_input(x), f.ctx->max_level(), f.e.scale);
    double worst = 0;
    const Ciphertext out = server.infer(f.e, in, nullptr, [&](const std::string& name, const PackedFeatureMap& m) {
      const FeatureMap& want = find_layer(trace, name);
      const double rel = max_diff(f.decrypt(m), want) / max_abs(want);
      worst = std::max(worst, rel);
      CHECK_MESSAGE(rel < 2e-3, name << ": relative error " << rel);
    });
    const auto logits = server.unpack_logits(f.client.encoder.decode(f.client.decryptor.decrypt(out)));
    const FeatureMap& want = find_layer(trace, "fc");
    double err = 0;
    for (std::size_t k = 0; k < 10; ++k) err = std::max(err, std::fabs(logits[k] - want.data[k]));
    const auto pred = std::max_element(logits.begin(), logits.end()) - logits.begin();
    const auto plain = std::max_element(want.data.begin(), want.data.end()) - want.data.begin();
    MESSAGE("image " << img << ": class " << pred << " (plaintext " << plain << ", label " << test.labels[img]
                     << "), logit error " << err << " = 2^" << std::log2(err) << ", worst activation " << worst);
    CHECK(pred == plain);
    CHECK(err < 1e-2);
  }
}

// Bootstrapping (ckks/bootstrapping.h): every stage against its plaintext definition, the whole
// bootstrap in bits of precision, ten in a row, full and sparse slots, and every error path.
// All parameter sets here are INSECURE (N = 2^10 or 2^11, a sparse secret of weight 64, a chain far
// longer than 128-bit security allows at that N): they exist to keep each test case to a few seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <tuple>

#include "ckks/bootstrapping.h"
#include "ckks/polynomial.h"
#include "ckks/serialize.h"
#include "ckks/math/errors.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {

/// INSECURE. q_0 = 60 bits, two user levels of 40 bits, SlotsToCoeffs 3 × 50, EvalMod 9 × 60
/// (cosine of degree 40 + 3 double angles), CoeffsToSlots 3 × 60; P = 3 × 61; h = 64.
/// `extra` more 60-bit primes for EvalMod (2 for the cubic arcsine correction).
/// `dense`: the main secret is uniform ternary instead (for sparse-secret encapsulation).
Params boot_params(int log_n, int extra = 0, bool dense = false) {
  Params p;
  p.log_n = log_n;
  p.log_q = {60, 40, 40, 50, 50, 50, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60};
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(extra), 60);
  p.log_p = {61, 61, 61};
  p.log_scale = 40;
  p.secret = SecretDistribution::HammingWeight;
  p.hamming_weight = 64;
  if (dense) p.secret = SecretDistribution::UniformTernary;
  p.allow_insecure = true;
  return p;
}

struct BootKit {
  test::Kit kit;
  BootstrapConfig cfg;
  RelinKey rk;
  GaloisKeys gk;
  EncapsulationKeys ek;
  std::unique_ptr<Bootstrapper> boot;
  /// `ephemeral` > 0: a dense main secret and sparse-secret encapsulation with h' = ephemeral.
  /// `error_bits` > 0: error reduction with k = error_bits (BootstrapConfig::error_reduction_bits).
  BootKit(int log_n, std::size_t slots, std::uint64_t seed = 7, int arcsine = 0, double ratio = 12,
          int ephemeral = 0, int error_bits = 0)
      : kit(boot_params(log_n, arcsine ? 2 : 0, ephemeral > 0), seed) {
    cfg.slots = slots;
    cfg.error_reduction_bits = error_bits;
    cfg.arcsine_degree = arcsine;
    cfg.log_message_ratio = ratio;
    cfg.ephemeral_secret_weight = ephemeral;
    const BootstrapPlan plan = Bootstrapper::plan(*kit.ctx, cfg);
    rk = kit.keygen.relin_key(kit.sk);
    gk = kit.keygen.galois_keys(kit.sk, plan.rotation_steps, plan.conjugation);
    if (ephemeral > 0) {
      ek = kit.keygen.encapsulation_keys(kit.sk, ephemeral);
      boot = std::make_unique<Bootstrapper>(kit.ctx, cfg, rk, gk, ek);
    } else {
      boot = std::make_unique<Bootstrapper>(kit.ctx, cfg, rk, gk);
    }
  }
  std::size_t slots() const { return boot->plan().slots; }
  Ciphertext fresh_level0(const cvec& z) {
    return kit.encryptor.encrypt(kit.encoder.encode(z, 0, kit.ctx->default_scale(), slots()));
  }
  // Centred integer coefficients of the decryption (long double: exact below 2^64).
  std::vector<long double> coefficients(const Ciphertext& ct) {
    return kit.encoder.coefficients(kit.decryptor.decrypt(ct));
  }
};

std::size_t bit_reverse(std::size_t j, std::size_t n) {
  std::size_t r = 0;
  for (std::size_t b = 1; b < n; b <<= 1, j >>= 1) r = (r << 1) | (j & 1);
  return r;
}

// −log2 of the mean absolute error over the slots (the "mean precision" of [BMTH21]'s tables).
double mean_bits(const cvec& got, const cvec& want) {
  double sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) sum += std::abs(got[i] - want[i]);
  return -std::log2(sum / static_cast<double>(got.size()));
}

// Uniform in [−1, 1] (real and imaginary parts).
cvec inputs(std::size_t n, std::uint64_t seed) { return test::random_complex(n, seed); }

}  // namespace

TEST_CASE("ckks/bootstrapping/whole bootstrap, full and sparse slots (INSECURE N = 2^11)") {
  // ephemeral = 32: a dense secret with sparse-secret encapsulation (h' = 32, K = 16 as the default).
  for (auto [slots, ephemeral] : {std::pair{std::size_t(0), 0}, std::pair{std::size_t(64), 0},
                                  std::pair{std::size_t(0), 32}, std::pair{std::size_t(64), 32}}) {
    CAPTURE(slots);
    CAPTURE(ephemeral);
    BootKit b(11, slots, 7, 0, 12, ephemeral);
    const cvec z = inputs(b.slots(), slots + 1);
    const Ciphertext out = b.boot->bootstrap(b.fresh_level0(z));
    CHECK(out.level == b.boot->plan().output_level);
    CHECK(out.scale == b.kit.ctx->default_scale());
    CHECK(out.slots == b.slots());
    const cvec got = b.kit.decrypt(out);
    const double bits = precision_bits(got, z), mean = mean_bits(got, z);
    MESSAGE(b.slots() << " slots: mean " << mean << " bits, worst slot " << bits << " bits");
    CHECK(mean >= 25);
    CHECK(bits >= 20);
  }
}

TEST_CASE("ckks/bootstrapping/stages: ModRaise, CoeffsToSlots, EvalMod against their definitions") {
  // ephemeral = 32: ModRaise under the sparse-secret encapsulation, I bounded by (h' + 1)/2.
  for (auto [slots, ephemeral] : {std::pair{std::size_t(0), 0}, std::pair{std::size_t(64), 0},
                                  std::pair{std::size_t(0), 32}}) {
    CAPTURE(slots);
    CAPTURE(ephemeral);
    BootKit b(11, slots, 7, 0, 12, ephemeral);
    const Context& ctx = *b.kit.ctx;
    const std::size_t N = ctx.n(), n = b.slots(), gap = N / (2 * n);
    const long double q0 = static_cast<long double>(ctx.q(0).value());
    const cvec z = inputs(n, 3);
    const Ciphertext ct = b.fresh_level0(z);
    const auto m = b.coefficients(ct);

    // ModRaise: t = k·m + q_0·I with I integer and |I| small.
    const Ciphertext raised = b.boot->mod_raise(ct);
    CHECK(raised.level == ctx.max_level());
    const auto t = b.coefficients(raised);
    long double worst_frac = 0, max_i = 0;
    for (std::size_t k = 0; k < N; ++k) {
      const long double i = (t[k] - static_cast<long double>(b.boot->scale_up()) * m[k]) / q0;
      worst_frac = std::max(worst_frac, std::fabs(i - std::round(i)));
      max_i = std::max(max_i, std::fabs(i));
    }
    MESSAGE("max |I| = " << static_cast<double>(max_i) << " (K = " << b.cfg.k << ")");
    CHECK(worst_frac < 1e-6);
    CHECK(max_i < b.cfg.k);
    if (ephemeral) CHECK(max_i <= (ephemeral + 1) / 2.0 + 1);  // + 1: the key switches' rounding

    // CoeffsToSlots: slot j holds t/(q_0·K) at coefficient BR(j)·gap (real part) and
    // (BR(j) + n)·gap (imaginary part); the sparse trace keeps those coefficients as they are.
    const auto parts = b.boot->coeffs_to_slots(raised);
    cvec got_re, got_im, want_re(n), want_im(n);
    if (parts.size() == 2) {
      got_re = b.kit.decrypt(parts[0]);
      got_im = b.kit.decrypt(parts[1]);
    } else {
      const cvec both = b.kit.decrypt(parts[0]);
      got_re.assign(both.begin(), both.begin() + static_cast<long>(n));
      got_im.assign(both.begin() + static_cast<long>(n), both.end());
    }
    const long double div = q0 * static_cast<long double>(b.cfg.k);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = bit_reverse(j, n);
      want_re[j] = static_cast<double>(t[i * gap] / div);
      want_im[j] = static_cast<double>(t[(i + n) * gap] / div);
    }
    const double cts_bits = std::min(precision_bits(got_re, want_re), precision_bits(got_im, want_im));
    MESSAGE("CoeffsToSlots: " << cts_bits << " bits");
    CHECK(cts_bits >= 40);

    // EvalMod: sin(2π·K·x) of every slot.
    const Ciphertext y = b.boot->eval_mod(parts[0]);
    const cvec x = b.kit.decrypt(parts[0]), got_y = b.kit.decrypt(y);
    cvec want_y(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) want_y[j] = std::sin(2 * std::numbers::pi * b.cfg.k * x[j].real());
    const double em_bits = precision_bits(got_y, want_y);
    MESSAGE("EvalMod: " << em_bits << " bits");
    CHECK(em_bits >= 25);
  }
}


TEST_CASE("ckks/bootstrapping/special FFT factors: products equal the encoder's FFT") {
  test::Kit kit(test::tiny_insecure());
  for (std::size_t n : {std::size_t(2), std::size_t(8)}) {
    CAPTURE(n);
    const cvec v = test::random_complex(n, 11);
    cvec br(n);
    for (std::size_t j = 0; j < n; ++j) br[j] = v[bit_reverse(j, n)];
    // Forward: stage_n·…·stage_2·BR(v) = special_fft(v); merged into 2 groups gives the same.
    cvec want = v;
    kit.encoder.special_fft(want);
    for (int groups : {1, 2}) {
      if (groups > static_cast<int>(std::log2(n))) continue;
      cvec x = br;
      for (const auto& m : merge_stages(special_fft_stages(n, n, false), groups)) x = m.apply(x);
      CHECK(precision_bits(x, want) > 45);
    }
    // Inverse: BR((1/n)·inv_2·…·inv_n·v) = special_ifft(v).
    cvec iwant = v;
    kit.encoder.special_ifft(iwant);
    cvec y = v;
    for (const auto& m : special_fft_stages(n, n, true)) y = m.apply(y);
    cvec got(n);
    for (std::size_t j = 0; j < n; ++j) got[j] = y[bit_reverse(j, n)] / static_cast<double>(n);
    CHECK(precision_bits(got, iwant) > 45);
    // size 2n: the same stage on both halves.
    cvec twice(v);
    twice.insert(twice.end(), v.begin(), v.end());
    const auto st = special_fft_stages(n, 2 * n, false).back().apply(twice);
    const auto one = special_fft_stages(n, n, false).back().apply(v);
    for (std::size_t j = 0; j < n; ++j) CHECK(std::abs(st[j] - one[j]) + std::abs(st[j + n] - one[j]) < 1e-12);
  }
  CHECK_THROWS_AS(special_fft_stages(6, 6, false), InputError);
  CHECK_THROWS_AS(special_fft_stages(4, 12, false), InputError);
  CHECK_THROWS_AS(merge_stages(special_fft_stages(4, 4, false), 3), InputError);
}

TEST_CASE("ckks/bootstrapping/SlotsToCoeffs: the forward FFT of Re + i·Im, times q_0/(2π·Δ_eff)") {
  for (std::size_t slots : {std::size_t(0), std::size_t(64)}) {
    CAPTURE(slots);
    BootKit b(11, slots);
    const Context& ctx = *b.kit.ctx;
    const std::size_t n = b.slots();
    const bool sparse = n < ctx.n() / 2;
    const int level = b.boot->plan().top_level - b.boot->plan().cts_levels - b.boot->plan().eval_mod_levels;
    const double sigma = b.boot->eval_mod_output_scale();
    // Values of the size EvalMod produces (2π·m/q_0 ≈ 2^-7).
    const cvec re = test::random_complex(n, 21, 1.0 / 128), im = test::random_complex(n, 22, 1.0 / 128);
    cvec re_r(n), im_r(n);
    for (std::size_t j = 0; j < n; ++j) { re_r[j] = re[j].real(); im_r[j] = im[j].real(); }
    std::vector<Ciphertext> parts;
    if (sparse) {
      cvec both(re_r);
      both.insert(both.end(), im_r.begin(), im_r.end());
      parts.push_back(b.kit.encryptor.encrypt(b.kit.encoder.encode(both, level, sigma, 2 * n)));
    } else {
      parts.push_back(b.kit.encryptor.encrypt(b.kit.encoder.encode(re_r, level, sigma, n)));
      parts.push_back(b.kit.encryptor.encrypt(b.kit.encoder.encode(im_r, level, sigma, n)));
    }
    const Ciphertext out = b.boot->slots_to_coeffs(parts);
    CHECK(out.level == b.boot->plan().output_level);
    CHECK(out.slots == n);
    CHECK(out.scale == ctx.default_scale());
    // Slot j of the input holds coefficient BR(j): undo it, then the encoder's FFT.
    cvec u(n);
    const double c = static_cast<double>(ctx.q(0).value()) /
                     (2 * std::numbers::pi * ctx.default_scale() * static_cast<double>(b.boot->scale_up()));
    for (std::size_t j = 0; j < n; ++j) u[bit_reverse(j, n)] = c * std::complex<double>(re_r[j].real(), im_r[j].real());
    b.kit.encoder.special_fft(u);
    const double bits = precision_bits(b.kit.decrypt(out), u);
    MESSAGE("SlotsToCoeffs: " << bits << " bits");
    CHECK(bits >= 25);
  }
}

TEST_CASE("ckks/bootstrapping/ten bootstraps in a row keep their precision (INSECURE N = 2^10)") {
  // With the cubic arcsine correction (message ratio 2^8); the default configuration (no arcsine,
  // ratio 2^12) measured 27.4 → 24.5 bits here.
  // ephemeral = 32: the same with a dense secret and sparse-secret encapsulation.
  for (auto [arcsine, ratio, ephemeral] : {std::tuple{3, 8.0, 0}, std::tuple{3, 8.0, 32}}) {
    CAPTURE(arcsine);
    CAPTURE(ephemeral);
    BootKit b(10, 0, 7, arcsine, ratio, ephemeral);
    const cvec z = inputs(b.slots(), 31);
    Ciphertext ct = b.fresh_level0(z);
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) {
      ct = b.boot->bootstrap(ct);
      last = precision_bits(b.kit.decrypt(ct), z);
      if (i == 0) first = last;
      ct = b.kit.evaluator.drop_level(ct, 0);
    }
    MESSAGE("arcsine degree " << arcsine << ": worst slot after 1 bootstrap " << first << " bits, after 10 "
                              << last << " bits");
    CHECK(first >= 25);
    // The errors of successive bootstraps add up (10 of them: log2(10) ≈ 3.3 bits if they were all
    // equal and aligned, log2(√10) ≈ 1.7 if independent); they must not compound.
    CHECK(last >= first - 4);
  }
}

TEST_CASE("ckks/bootstrapping/error reduction: one bootstrap reaches the rounding floor, ten in a row stay near it (INSECURE N = 2^10)") {
  // [BCCKK22]: the second bootstrap of 2^k·ε. The default configuration (no arcsine, ratio 2^12)
  // leaves about 28 bits in the worst slot here, so 2^k·|ε| ≤ 2^-8 for k = 20. Both with the sparse
  // main secret and with a dense secret + encapsulation.
  // The floor: every bootstrap ends with a rescale, whose rounding adds an error f of the size of a
  // fresh encryption's (measured: the input has 34.1 / 32.4 mean bits, one reduced bootstrap 33.6 /
  // 31.9). Independent errors add as √(e_in² + k·f²), so ten in a row lose ½·log2((e_in² + 10f²) /
  // (e_in² + f²)) ≈ 1.2 bits whatever the bootstrap does (measured 1.19 / 1.24; the plain pipeline
  // loses more: its error is larger and partly systematic). Hence the 1.5-bit bound.
  for (int ephemeral : {0, 32}) {
    CAPTURE(ephemeral);
    BootKit plain(10, 0, 7, 0, 12.0, ephemeral), reduced(10, 0, 7, 0, 12.0, ephemeral, 20);
    CHECK(reduced.boot->plan().output_level == plain.boot->plan().output_level);
    CHECK(reduced.boot->plan().error_reduction_bits == 20);
    const cvec z = inputs(plain.slots(), 31);
    const Ciphertext in = reduced.fresh_level0(z);
    const double input_bits = mean_bits(reduced.kit.decrypt(in), z);
    // `plain` has the same keys (same seed) and no error reduction.
    const Ciphertext one = reduced.boot->bootstrap(in);
    const Ciphertext first_pass = plain.boot->bootstrap(plain.fresh_level0(z));
    const double plain_bits = mean_bits(plain.kit.decrypt(first_pass), z);
    CHECK(one.level == reduced.boot->plan().output_level);
    CHECK(one.scale == reduced.kit.ctx->default_scale());
    CHECK(one.slots == reduced.slots());
    Ciphertext ct = in, plain_ct = plain.fresh_level0(z);
    for (int i = 0; i < 10; ++i)
      plain_ct = plain.kit.evaluator.drop_level(plain.boot->bootstrap(plain_ct), 0);
    const double plain_last = mean_bits(plain.kit.decrypt(plain_ct), z);
    double first = 0, last = 0, first_worst = 0, last_worst = 0;
    for (int i = 0; i < 10; ++i) {
      ct = reduced.boot->bootstrap(ct);
      const cvec got = reduced.kit.decrypt(ct);
      last = mean_bits(got, z);
      last_worst = precision_bits(got, z);
      if (i == 0) {
        first = last;
        first_worst = last_worst;
        CHECK(ct.c[0] == one.c[0]);  // deterministic: the same input gives the same output
      }
      ct = reduced.kit.evaluator.drop_level(ct, 0);
    }
    MESSAGE("ephemeral " << ephemeral << ": input " << input_bits << " bits; one plain bootstrap " << plain_bits
                         << " mean, 10 in a row " << plain_last << "; with error reduction: 1 bootstrap " << first
                         << " mean / " << first_worst << " worst, 10 in a row " << last << " / " << last_worst);
    CHECK(first >= plain_bits + 3);  // the error of the first bootstrap is mostly gone
    CHECK(last >= first - 1.5);
    CHECK(last >= plain_last + 3);
    CHECK(last_worst >= first_worst - 2);
  }
}

TEST_CASE("ckks/bootstrapping/error reduction: bad configuration and inputs") {
  BootKit b(10, 0, 7, 3, 8.0, 0, 20);
  const cvec z = inputs(b.slots(), 3);
  const Ciphertext in = b.fresh_level0(z);
  BootstrapConfig cfg = b.cfg;
  cfg.error_reduction_bits = 41;
  CHECK_THROWS_AS(Bootstrapper::plan(*b.kit.ctx, cfg), ParameterError);
  cfg.error_reduction_bits = -1;
  CHECK_THROWS_AS(Bootstrapper::plan(*b.kit.ctx, cfg), ParameterError);
  cfg.error_reduction_bits = 20;
  cfg.output_scale = std::ldexp(1.0, 30);  // the output is subtracted from the input: scales must agree
  CHECK_THROWS_AS(Bootstrapper(b.kit.ctx, cfg, b.rk, b.gk), ParameterError);
  cfg = b.cfg;
  cfg.error_reduction_bits = 0;
  const Bootstrapper off(b.kit.ctx, cfg, b.rk, b.gk);
  const Ciphertext out = off.bootstrap(in);
  CHECK_THROWS_AS(off.reduce_error(in, out), ParameterError);
  // `out` must be the output: at the output level, n slots, scale Δ_out.
  CHECK_THROWS_AS(b.boot->reduce_error(in, b.kit.evaluator.drop_level(out, out.level - 1)), InputError);
  CHECK_THROWS_AS(b.boot->reduce_error(out, out), LevelError);  // `ct` is the level-0 input
  // reduce_error by hand on the plain output is what bootstrap() does with k > 0.
  const Ciphertext again = b.boot->reduce_error(in, out);
  CHECK(again.c[0] == b.boot->bootstrap(in).c[0]);
}

TEST_CASE("ckks/bootstrapping/encapsulation keys saved and loaded bootstrap bit for bit (INSECURE N = 2^10)") {
  // A server that bootstraps with sparse-secret encapsulation gets the keys as a file (ckks/serialize.h).
  BootKit b(10, 64, 7, 3, 8.0, 32);
  const std::vector<std::uint8_t> seeded = serialize(b.ek), full = serialize(b.ek, false);
  CHECK(inspect(seeded).type == ObjectType::EncapsulationKeys);
  CHECK(inspect(seeded).key_id == b.kit.sk.key_id);
  CHECK(seeded.size() < full.size() / 2 + 2 * 2 * 8 * b.kit.ctx->n() + 100);  // only s' -> s is seeded
  for (const auto* blob : {&seeded, &full}) {
    const EncapsulationKeys ek = deserialize_encapsulation_keys(b.kit.ctx, *blob);
    CHECK(ek.hamming_weight == 32);
    CHECK(ek.dense_to_sparse.b == b.ek.dense_to_sparse.b);
    CHECK(ek.dense_to_sparse.a == b.ek.dense_to_sparse.a);
    CHECK(ek.sparse_to_dense.b == b.ek.sparse_to_dense.b);
    CHECK(ek.sparse_to_dense.a == b.ek.sparse_to_dense.a);
    CHECK(ek.sparse_to_dense.key_id == b.ek.sparse_to_dense.key_id);
    const Bootstrapper loaded(b.kit.ctx, b.cfg, b.rk, b.gk, ek);
    const Ciphertext in = b.fresh_level0(inputs(b.slots(), 5));
    const Ciphertext want = b.boot->bootstrap(in), got = loaded.bootstrap(in);
    CHECK(got.c[0] == want.c[0]);
    CHECK(got.c[1] == want.c[1]);
  }
  // Bad data: cut short, another object type, h' outside 1..N.
  const std::span<const std::uint8_t> whole(seeded);
  for (std::size_t len : {std::size_t{0}, std::size_t{31}, std::size_t{40}, seeded.size() - 1})
    CHECK_THROWS_AS(deserialize_encapsulation_keys(b.kit.ctx, whole.first(len)), InputError);
  CHECK_THROWS_WITH_AS(deserialize_encapsulation_keys(b.kit.ctx, serialize(b.rk)),
                       doctest::Contains("not a EncapsulationKeys"), InputError);
  std::vector<std::uint8_t> bad = seeded;
  const std::size_t h_at = 32 + 8;  // header, key-set id, then h'
  bad[h_at] = 0;
  CHECK_THROWS_WITH_AS(deserialize_encapsulation_keys(b.kit.ctx, bad), doctest::Contains("h' = 0"), InputError);
}

TEST_CASE("ckks/bootstrapping/plan: level budget, keys, sizes") {
  const auto ctx = Context::create(boot_params(11));
  BootstrapConfig cfg;
  const BootstrapPlan full = Bootstrapper::plan(*ctx, cfg);
  CHECK(full.slots == 1024);
  CHECK(full.top_level == 17);
  CHECK(full.trace_rotations == 0);
  CHECK(full.eval_mod_levels == 6 + 3);  // ⌈log2(41)⌉ + r
  CHECK(full.output_level == 17 - 3 - 9 - 3);
  CHECK(full.conjugation);
  // One Galois key: dnum·2·(L + 1 + k)·N·8 bytes.
  CHECK(full.galois_key_bytes == ctx->num_digits(17) * 2 * (18 + 3) * 2048 * 8);
  cfg.slots = 64;
  const BootstrapPlan sparse = Bootstrapper::plan(*ctx, cfg);
  CHECK(sparse.trace_rotations == 4);  // g = 2048/(2·64) = 16
  for (int j = 0; j < 4; ++j)
    CHECK(std::count(sparse.rotation_steps.begin(), sparse.rotation_steps.end(), 64 << j) == 1);
  const std::string text = sparse.describe();
  CHECK(text.find("levels left to the user: 2") != std::string::npos);
  CHECK(text.find("EvalMod") != std::string::npos);
}

TEST_CASE("ckks/bootstrapping/errors name the value and the fix") {
  BootKit b(10, 0);
  const Context& ctx = *b.kit.ctx;
  const cvec z = inputs(b.slots(), 41);
  // Input not at level 0.
  const Ciphertext high = b.kit.encrypt(z, 2);
  CHECK_THROWS_WITH_AS(b.boot->bootstrap(high), doctest::Contains("drop_level(ct, 0)"), LevelError);
  // Slot count the Bootstrapper and keys were not made for.
  const cvec z16(z.begin(), z.begin() + 16);
  const Ciphertext few = b.kit.encryptor.encrypt(b.kit.encoder.encode(z16, 0, ctx.default_scale(), 16));
  CHECK_THROWS_WITH_AS(b.boot->bootstrap(few), doctest::Contains("BootstrapConfig::slots = 16"), InputError);
  // Scale other than Δ_in.
  const Ciphertext odd = b.kit.encryptor.encrypt(b.kit.encoder.encode(z, 0, std::exp2(35), 0));
  CHECK_THROWS_WITH_AS(b.boot->bootstrap(odd), doctest::Contains("input_scale"), ScaleError);
  // Stage inputs at the wrong level.
  CHECK_THROWS_AS(b.boot->coeffs_to_slots(b.fresh_level0(z)), LevelError);
  CHECK_THROWS_AS(b.boot->eval_mod(b.fresh_level0(z)), LevelError);
  CHECK_THROWS_AS(b.boot->slots_to_coeffs({b.fresh_level0(z)}), InputError);
  CHECK_THROWS_AS(b.boot->slots_to_coeffs({b.fresh_level0(z), b.fresh_level0(z)}), LevelError);
  // Missing Galois keys: every missing step listed.
  GaloisKeys partial = b.kit.keygen.galois_keys(b.kit.sk, {1}, false);
  CHECK_THROWS_WITH_AS(Bootstrapper(b.kit.ctx, b.cfg, b.rk, partial), doctest::Contains("conjugation"),
                       MissingKeyError);
  // Keys for full slots do not serve 64 slots (the trace needs rotations by 64·2^j).
  BootstrapConfig sparse = b.cfg;
  sparse.slots = 64;
  CHECK_THROWS_AS(Bootstrapper(b.kit.ctx, sparse, b.rk, b.gk), MissingKeyError);
  // Parameters that leave no level.
  Params shallow = boot_params(10);
  shallow.log_q.resize(15);  // L = 14 = 3 + 9 + 3 − 1
  const auto short_ctx = Context::create(shallow);
  CHECK_THROWS_WITH_AS(Bootstrapper::plan(*short_ctx, BootstrapConfig{}), doctest::Contains("leaving -1 levels"),
                       ParameterError);
  // Bad configuration values.
  BootstrapConfig bad;
  bad.slots = 48;
  CHECK_THROWS_AS(Bootstrapper::plan(ctx, bad), ParameterError);
  bad = {};
  bad.cts_levels = 10;  // log2(512) = 9 stages
  CHECK_THROWS_WITH_AS(Bootstrapper::plan(ctx, bad), doctest::Contains("cts_levels = 10"), ParameterError);
  bad = {};
  bad.k = 0;
  CHECK_THROWS_AS(Bootstrapper::plan(ctx, bad), ParameterError);
  bad = {};
  bad.double_angle = -1;
  CHECK_THROWS_AS(Bootstrapper::plan(ctx, bad), ParameterError);
  bad = {};
  bad.ephemeral_secret_weight = -1;
  CHECK_THROWS_WITH_AS(Bootstrapper::plan(ctx, bad), doctest::Contains("ephemeral_secret_weight = -1"),
                       ParameterError);
  // Sparse-secret encapsulation: keys missing, or made for another weight.
  BootstrapConfig encapsulated = b.cfg;
  encapsulated.ephemeral_secret_weight = 32;
  CHECK_THROWS_WITH_AS(Bootstrapper(b.kit.ctx, encapsulated, b.rk, b.gk),
                       doctest::Contains("encapsulation_keys(sk, 32)"), MissingKeyError);
  const EncapsulationKeys ek16 = b.kit.keygen.encapsulation_keys(b.kit.sk, 16);
  CHECK_THROWS_WITH_AS(Bootstrapper(b.kit.ctx, encapsulated, b.rk, b.gk, ek16), doctest::Contains("h' = 16"),
                       ParameterError);
  CHECK_THROWS_WITH_AS(b.kit.keygen.encapsulation_keys(b.kit.sk, 0), doctest::Contains("hamming_weight = 0"),
                       ParameterError);
}

TEST_CASE("ckks/bootstrapping/inputs beyond the documented range come out as garbage, silently") {
  // (a) K below the actual |I| (measured ≈ 8 here): slots whose I_k falls outside [−K, K] put the
  //     cosine interpolant outside [−1, 1], where it explodes.
  {
    test::Kit kit(boot_params(10), 7);
    BootstrapConfig cfg;
    cfg.k = 2;
    const BootstrapPlan plan = Bootstrapper::plan(*kit.ctx, cfg);
    const RelinKey rk = kit.keygen.relin_key(kit.sk);
    const GaloisKeys gk = kit.keygen.galois_keys(kit.sk, plan.rotation_steps, true);
    const Bootstrapper boot(kit.ctx, cfg, rk, gk);
    const cvec z = inputs(plan.slots, 51);
    const Ciphertext out =
        boot.bootstrap(kit.encryptor.encrypt(kit.encoder.encode(z, 0, kit.ctx->default_scale(), plan.slots)));
    const double bits = precision_bits(kit.decrypt(out), z);
    MESSAGE("K = 2 < |I|: " << bits << " bits");
    CHECK(bits < 0);  // errors larger than the values themselves
  }
  // (b) A message too large for q_0: |z| = 2^8 makes k·m about q_0/4, where sin(2π·m/q_0) is far
  //     from 2π·m/q_0 (and beyond q_0/2 it wraps around).
  {
    BootKit b(10, 0);
    const cvec z = inputs(b.slots(), 52);
    cvec big(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) big[i] = z[i] * 256.0;
    const double small_bits = precision_bits(b.kit.decrypt(b.boot->bootstrap(b.fresh_level0(z))), z);
    const double big_bits = precision_bits(b.kit.decrypt(b.boot->bootstrap(b.fresh_level0(big))), big);
    MESSAGE("|z| ≤ 1: " << small_bits << " bits; |z| ≤ 256: " << big_bits << " bits");
    CHECK(big_bits < small_bits - 10);
  }
}

TEST_CASE("ckks/bootstrapping/128-bit N = 2^16 preset: budget and keys (plan only, no keys made)") {
  for (std::size_t slots : {std::size_t(0), std::size_t(1024)}) {
    CAPTURE(slots);
    const BootstrapPreset preset = bootstrap_preset_n16(slots);
    const auto ctx = Context::create(preset.params);
    CHECK(ctx->security_bits() == 128);
    CHECK(ctx->log_qp() <= max_log_qp_128(16));
    const BootstrapPlan plan = Bootstrapper::plan(*ctx, preset.config);
    CHECK(plan.output_level >= 9);
    CHECK(ctx->default_scale() >= std::exp2(40));
    MESSAGE(plan.describe());
  }
  CHECK_THROWS_AS(bootstrap_preset_n16(3), ParameterError);
  // The sparse-secret preset: the same user levels, a dense main secret, 11 EvalMod levels.
  const BootstrapPreset sparse = bootstrap_preset_n16_sparse_secret();
  const auto ctx = Context::create(sparse.params);
  CHECK(ctx->security_bits() == 128);
  CHECK(ctx->log_qp() <= max_log_qp_128(16));
  CHECK(sparse.params.secret == SecretDistribution::UniformTernary);
  const BootstrapPlan plan = Bootstrapper::plan(*ctx, sparse.config);
  CHECK(plan.eval_mod_levels == 11);
  CHECK(plan.output_level == 9);
  CHECK(plan.ephemeral_secret_weight == 32);
  CHECK(plan.describe().find("h' = 32") != std::string::npos);
  MESSAGE(plan.describe());
}

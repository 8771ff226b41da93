// Bootstrapping (ckks/bootstrapping.h): every stage against its plaintext definition, the whole
// bootstrap in bits of precision, ten in a row, full and sparse slots, and every error path.
// All parameter sets here are INSECURE (N = 2^10 or 2^11, a sparse secret of weight 64, a chain far
// longer than 128-bit security allows at that N): they exist to keep each test case to a few seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

#include "ckks/bootstrapping.h"
#include "ckks/polynomial.h"
#include "ckks/math/errors.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {

/// INSECURE. q_0 = 60 bits, two user levels of 40 bits, SlotsToCoeffs 3 × 50, EvalMod 9 × 60
/// (cosine of degree 40 + 3 double angles), CoeffsToSlots 3 × 60; P = 3 × 61; h = 64.
Params boot_params(int log_n) {
  Params p;
  p.log_n = log_n;
  p.log_q = {60, 40, 40, 50, 50, 50, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60};
  p.log_p = {61, 61, 61};
  p.log_scale = 40;
  p.secret = SecretDistribution::HammingWeight;
  p.hamming_weight = 64;
  p.allow_insecure = true;
  return p;
}

struct BootKit {
  test::Kit kit;
  BootstrapConfig cfg;
  RelinKey rk;
  GaloisKeys gk;
  std::unique_ptr<Bootstrapper> boot;
  BootKit(int log_n, std::size_t slots, std::uint64_t seed = 7) : kit(boot_params(log_n), seed) {
    cfg.slots = slots;
    const BootstrapPlan plan = Bootstrapper::plan(*kit.ctx, cfg);
    rk = kit.keygen.relin_key(kit.sk);
    gk = kit.keygen.galois_keys(kit.sk, plan.rotation_steps, plan.conjugation);
    boot = std::make_unique<Bootstrapper>(kit.ctx, cfg, rk, gk);
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

// Uniform in [−1, 1] (real and imaginary parts).
cvec inputs(std::size_t n, std::uint64_t seed) { return test::random_complex(n, seed); }

}  // namespace

TEST_CASE("ckks/bootstrapping/whole bootstrap, full slots (INSECURE N = 2^11)") {
  BootKit b(11, 0);
  const cvec z = inputs(b.slots(), 1);
  const Ciphertext out = b.boot->bootstrap(b.fresh_level0(z));
  CHECK(out.level == b.boot->plan().output_level);
  CHECK(out.scale == b.kit.ctx->default_scale());
  const double bits = precision_bits(b.kit.decrypt(out), z);
  MESSAGE("full slots: " << bits << " bits (worst slot)");
  CHECK(bits >= 15);
}

TEST_CASE("ckks/bootstrapping/whole bootstrap, sparse slots (INSECURE N = 2^11)") {
  BootKit b(11, 64);
  const cvec z = inputs(b.slots(), 2);
  const Ciphertext out = b.boot->bootstrap(b.fresh_level0(z));
  CHECK(out.slots == 64);
  const double bits = precision_bits(b.kit.decrypt(out), z);
  MESSAGE("sparse slots: " << bits << " bits (worst slot)");
  CHECK(bits >= 15);
}

TEST_CASE("ckks/bootstrapping/stages: ModRaise, CoeffsToSlots, EvalMod against their definitions") {
  for (std::size_t slots : {std::size_t(0), std::size_t(64)}) {
    CAPTURE(slots);
    BootKit b(11, slots);
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


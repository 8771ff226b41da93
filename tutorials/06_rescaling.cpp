// Tutorial 06 — rescaling, levels and the modulus chain
//
// Goal: after a product the scale is Δ²; rescaling divides the ciphertext by one prime ≈ Δ (with
//       rounding), bringing the scale back to ≈ Δ and the noise down by the same factor, at the
//       price of one level. Follow a chain of squarings x, x², x⁴, … until the modulus chain is
//       used up, and see what goes wrong without rescaling.
// Read alongside: [CKKS17], RS_{ℓ→ℓ'} and the moduli q_ℓ = q_0·Δ^ℓ of the
//       original scheme (restated in [FHETB, §D-3.5.4]); [CHKKS18], rescaling in RNS by
//       dropping the last prime (the RNS modulus switch of [FHETB, §D-5.4]).
//       In this project: ckks/textbook/textbook.h (rescale), ckks/evaluator.h (rescale,
//       drop_level), docs/notation.md ("Rescaling RS", "Δ — scale", "ℓ — level").
// What to observe:
//   1. Textbook RS: level 2 → 1, scale 2^80 → 2^40 exactly (q_ℓ/q_{ℓ−1} = Δ), and the noise drops
//      from ≈ 2^49 to ≈ 2^9 — divided by Δ, plus a rounding error of at most (1 + h)/2.
//   2. The precision does not change through a rescale: it is a division of signal and noise alike.
//   3. RNS chain of squarings: every step costs one level; the scale after each rescale is
//      Δ²/q_ℓ, close to but not exactly 2^40 (the primes are only ≈ 2^40): it drifts.
//   4. The precision falls by about one bit per squaring (the relative error doubles when a value
//      is squared) while the scale stays ≈ Δ.
//   5. At level 0 nothing is left: a product's scale 2^80 no longer fits below q_0 (ScaleError),
//      and a rescale has no prime to divide by (LevelError).
//   6. Without rescaling the scale grows 2^40, 2^80, 2^160, … and soon exceeds Q_L (ScaleError).
// Exercises (expected observations in docs/labs/06_rescaling.md):
//   a. Run with --depth 3 and --depth 8: how many squarings succeed, and where does it stop?
//   b. Run with --log-scale 50 (data primes of 50 bits, Δ = 2^50): what happens to the precision
//      of each step, and to log QP and the security check (try --depth 5 and --depth 8)?
//   c. Why is the scale drift harmless here, but would break an addition of two ciphertexts that
//      took different paths (hint: ScaleError compares scales to a relative 10^-9)?
//
// Usage: tutorial_06_rescaling [--log-n L] [--depth D] [--log-scale S] [--seed K]
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/precision.h"
#include "ckks/textbook/textbook.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
namespace tb = ckks::textbook;
using cd = std::complex<double>;
using NTL::ZZ;
using NTL::ZZX;

namespace {

/// Values in [0.8, 1] (so that x^(2^k) stays readable for a few squarings), real.
std::vector<double> test_vector(std::size_t n) {
  std::vector<double> z(n);
  for (std::size_t j = 0; j < n; ++j) z[j] = 0.9 + 0.1 * std::sin(0.37 * j + 0.5);
  return z;
}

/// ⌊a / 2^k⌉ coefficient by coefficient (half away from zero).
ZZX round_div_pow2(const ZZX& a, long k) {
  ZZX r;
  const ZZ half = ZZ(1) << (k - 1);
  for (long i = 0; i <= deg(a); ++i) {
    const ZZ c = coeff(a, i);
    ZZ q = (NTL::abs(c) + half) >> k;
    SetCoeff(r, i, sign(c) < 0 ? ZZ(-q) : q);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 06 — rescaling, levels and the modulus chain");
  int log_n = 14, depth = 5, log_scale = 40;  // log_scale: Δ and the size of q_1 … q_L
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 15);
  options.add("--depth", depth, "chain depth L (number of squarings)", 1, 20);
  options.add("--log-scale", log_scale, "log2 of the scale and bits of q_1 ... q_L", 25, 55);
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;
  bool ok = true;

  // ---------------- Part A: RS in the textbook scheme ----------------
  {
    tb::Params tp;
    tp.log_n = std::min(log_n, 12);  // the textbook scheme is O(N^2) in places: keep it small
    tp.log_q0 = 60;
    tp.log_delta = 40;
    tp.levels = 2;
    tp.hamming_weight = 64;
    tp.allow_insecure = true;
    const tb::Scheme scheme(tp);
    std::printf("A. textbook CKKS: N = %zu, q_l = 2^60 * Delta^l, Delta = 2^40, L = 2; INSECURE (log2(P*q_L) = %d "
                "> %d bits allowed for N = 2^%d [HES18]): a lab only\n",
                scheme.N(), scheme.log_pq(), max_log_qp_128(tp.log_n), tp.log_n);
    math::Csprng rng = math::Csprng::insecure_fixed_seed_for_testing(seed);
    const tb::SecretKey sk = scheme.secret_key(rng);
    const tb::PublicKey pk = scheme.public_key(sk, rng);
    const tb::EvaluationKey evk = scheme.evaluation_key(sk, rng);
    const std::vector<double> x = test_vector(scheme.slots());
    std::vector<cd> xc(x.begin(), x.end()), want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[i] * x[i];
    const ZZX m = scheme.encode(xc, scheme.delta());
    const tb::Ciphertext c = scheme.encrypt(m, scheme.delta(), pk, rng);
    const tb::Ciphertext sq = scheme.multiply(c, c, evk);
    const ZZX m2 = tb::Scheme::centre(scheme.mul_mod(m, m, scheme.q(2)), scheme.q(2));  // exact Δ²·x²
    const ZZX before = scheme.decrypt(sq, sk);
    const tb::Ciphertext rs = scheme.rescale(sq);
    const ZZX after = scheme.decrypt(rs, sk);
    const double p_before = precision_bits(scheme.decode(before, sq.scale), want);
    const double p_after = precision_bits(scheme.decode(after, rs.scale), want);
    std::printf("textbook rescale: level %d -> %d, scale 2^%.0f -> 2^%.0f\n", sq.level, rs.level,
                std::log2(sq.scale), std::log2(rs.scale));
    std::printf("   noise before ||Dec(c) - m^2||inf = 2^%.2f, after ||Dec(RS(c)) - round(m^2/Delta)||inf = 2^%.2f\n",
                tb::Scheme::log2_norm(before - m2), tb::Scheme::log2_norm(after - round_div_pow2(m2, 40)));
    const double rs_err = tb::Scheme::log2_norm(after - round_div_pow2(before, 40));
    const double rs_bound = (1 + tp.hamming_weight) / 2.0;
    std::printf("   rounding error of RS ||Dec(RS(c)) - round(Dec(c)/Delta)||inf = 2^%.2f <= (1+h)/2 = %.1f: %s\n",
                rs_err, rs_bound, std::exp2(rs_err) <= rs_bound ? "yes" : "NO");
    std::printf("textbook precision before rescale: %.1f bits, after rescale: %.1f bits\n", p_before, p_after);
    ok &= std::exp2(rs_err) <= rs_bound && std::fabs(p_before - p_after) < 1;
  }

  // ---------------- Part B: the RNS modulus chain ----------------
  Params params;
  params.log_n = log_n;
  params.log_q.assign(1, 60);
  params.log_q.insert(params.log_q.end(), depth, log_scale);
  params.log_p = {60};
  params.log_scale = log_scale;
  params.allow_insecure = 60 + log_scale * depth + 60 > max_log_qp_128(log_n);
  const ContextPtr ctx = Context::create(params);
  std::printf("\nB. RNS CKKS: %s (L = %d), log2(QP) = %.0f, %s\n", params.describe().c_str(), ctx->max_level(),
              ctx->log_qp(),
              ctx->security_bits() ? "128-bit secure [HES18]"
                                   : "INSECURE (log QP above the [HES18] bound for this N): a lab only");
  std::printf("   data primes:");
  for (int i = 0; i <= ctx->max_level(); ++i) std::printf(" q_%d = 2^%.6f", i, std::log2(double(ctx->q(i).value())));
  std::printf("\n");
  KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
  const SecretKey sk = keygen.secret_key();
  const RelinKey rk = keygen.relin_key(sk);
  const Encoder encoder(ctx);
  Encryptor encryptor(ctx, keygen.public_key(sk), math::Csprng::insecure_fixed_seed_for_testing(seed + 2));
  const Decryptor decryptor(ctx, sk);
  const Evaluator ev(ctx);
  const std::vector<double> x = test_vector(ctx->max_slots());
  Ciphertext y = encryptor.encrypt(encoder.encode(x, ctx->max_level(), ctx->default_scale()));
  std::vector<double> want = x;
  std::printf("   fresh: level %d, scale 2^%.6f, precision %.1f bits\n", y.level, std::log2(y.scale),
              precision_bits(encoder.decode(decryptor.decrypt(y)), want));
  for (int k = 1; y.level > 0; ++k) {
    const Ciphertext prod = ev.multiply_relin(y, y, rk);
    y = ev.rescale(prod);
    for (double& w : want) w *= w;
    const double bits = precision_bits(encoder.decode(decryptor.decrypt(y)), want);
    std::printf("x^%-4d product scale 2^%.6f at level %d -> rescale -> level %d, scale 2^%.6f, precision after "
                "rescale: %.1f bits\n",
                1 << k, std::log2(prod.scale), prod.level, y.level, std::log2(y.scale), bits);
    ok &= bits > 10;
  }
  bool scale_error = false, level_error = false;
  try {
    (void)ev.multiply_relin(y, y, rk);
  } catch (const ScaleError& e) {
    scale_error = true;
    std::printf("multiply at level 0: ScaleError: %s\n", e.what());
  }
  try {
    (void)ev.rescale(y);
  } catch (const LevelError& e) {
    level_error = true;
    std::printf("rescale at level 0: LevelError: %s\n", e.what());
  }

  // Without rescaling: the scale doubles in bits with every squaring.
  std::printf("\n   without rescaling (fresh x at level %d, Q_L = 2^%.0f):\n", ctx->max_level(),
              math::log2_product(ctx->basis_q(ctx->max_level())));
  Ciphertext z = encryptor.encrypt(encoder.encode(x, ctx->max_level(), ctx->default_scale()));
  bool grew_too_far = false;
  for (int k = 1; k <= 10; ++k) {
    try {
      z = ev.multiply_relin(z, z, rk);
      std::printf("   x^%d: level %d, scale 2^%.0f\n", 1 << k, z.level, std::log2(z.scale));
    } catch (const ScaleError& e) {
      grew_too_far = true;
      std::printf("without rescale, squaring at scale 2^%.0f: ScaleError: %s\n", std::log2(z.scale), e.what());
      break;
    }
  }
  ok &= scale_error && level_error && grew_too_far;
  return ok ? 0 : 1;
}

// Tutorial 15 — bootstrapping stage by stage at small parameters
//
// Goal: take a ciphertext at level 0 (no multiplication left) and refresh it with the four stages of
//       ckks/bootstrapping.h, one public method at a time: ModRaise, CoeffsToSlots, EvalMod,
//       SlotsToCoeffs. After each stage, decrypt and compare with the stage's plaintext definition;
//       print the level, the scale and the precision in bits. Measure the integer polynomial I that
//       ModRaise adds (against the bound K that EvalMod assumes), tabulate what the double-angle count
//       r and the bound K cost (cosine degree, levels) and give (bits), and bootstrap a few times in
//       a row. The ring is small (N = 2^11 by default) and the secret sparse: INSECURE, a lab only.
// Read alongside: [CHKKS18b] (the first CKKS bootstrapping: ModRaise, CoeffToSlot, the scaled sine,
//       SlotToCoeff; restated by [FHETB] §D-3.13.1 idea, §D-3.13.3 CoeffToSlot, §D-3.13.4 EvalExp,
//       §D-3.13.5 SlotToCoeff, §D-3.13.6 sparse packing, §D-3.13.7 summary; RNS ModRaise
//       [FHETB] §D-5.2); [CCS19] (Chebyshev interpolation, the level-collapsed special FFT; the
//       un-merged FFT is [CCS19, Alg. 1]); [HK20] and [BMTH21] (the cosine with r double angles
//       cos 2θ = 2cos²θ − 1, the order ModRaise → CoeffsToSlots → EvalMod → SlotsToCoeffs). See
//       docs/references.md ("Bootstrapping: what could be read"). In this project: the header of
//       ckks/bootstrapping.h (the stages and their formulas), docs/bootstrapping.md (the pipeline
//       diagram, the level budget of the 128-bit preset), tests/ckks/test_bootstrapping.cpp.
// What to observe (default run; the output is pasted in docs/labs/15_bootstrapping.md):
//   1. The plan, before any key exists: CoeffsToSlots 3 levels, EvalMod ⌈log2(d + 1)⌉ + r = 6 + 3
//      levels (d = 36, the smallest cosine degree reaching 40 bits for K = 16, r = 3),
//      SlotsToCoeffs 3, 2 left to the user; 26 Galois keys (25 rotations of the merged FFT stages
//      plus the conjugation).
//   2. ModRaise spends no level, it climbs from level 0 to L = 17 (and multiplies the scale by the
//      scale-up k = 256, which makes k·m about q_0/2^12). The raised ciphertext decrypts to
//      t = k·m + q_0·I with I integer in every coefficient (checked with NTL big integers); decoded
//      as usual it is garbage. With h = 64, I has a standard deviation of 2.34, close to
//      √((h + 1)/12) = 2.33 (a sum of h + 1 terms uniform in [−1/2, 1/2]), and max |I| = 8: half of
//      K = 16, so K is a bound with a margin, not the typical value.
//   3. CoeffsToSlots puts t/(q_0·K) into the slots in bit-reversed order to 48.5 bits: the linear
//      transforms are precise; max |x| = 8/16 = 0.5, inside [−1, 1].
//   4. EvalMod: 40.3 bits against sin(2πK·x), the plain interpolant's own 40.3 bits: the
//      approximation, not the noise, sets EvalMod's error. Against 2π·k·m/q_0 (what SlotsToCoeffs
//      takes it for) 40.2 bits: with full slots the sine's curvature is negligible.
//   5. SlotsToCoeffs multiplies by q_0/(2π·k·Δ) = 2^12/(2π) ≈ 2^9.3 and sums n errors into each
//      slot (independent errors grow like √n = 2^5): the 2^-40 of EvalMod becomes 26.2 bits in the
//      worst slot (28.4 mean) at scale 2^40 and level 2. bootstrap() in one call gives the same
//      values, in under a second.
//   6. The table, at a fixed target of 40 bits: each double angle halves the angle the cosine must
//      follow, so the degree falls 143, 85, 54, 36, 26 for r = 0..4, but the levels go 8, 8, 8, 9, 9
//      (r adds levels, log2(d) removes them) and the time falls. From r = 5 on, 40 bits are out of
//      reach: the double angles multiply every error, the rounding of double arithmetic included,
//      by up to 4^r. Doubling K nearly doubles the degree (143 → 253 at r = 0, 36 → 55 at r = 3).
//   7. Bootstrapping again and again (25.3, 24.9, 24.4 bits): the errors add up, they do not
//      compound.
// Exercises (expected observations in docs/labs/15_bootstrapping.md):
//   a. Run with --double-angles 0 and --double-angles 6: the cosine degree, the EvalMod levels,
//      the chain (top level L, log QP) and the precision after the bootstrap. Compare with the
//      table's rows.
//   b. Run with --hamming-weight 512: what happens to the range of I, and to the bootstrap? Then
//      add --K 64: what does it cost?
//   c. Run with --slots 64 (sparse slots): how many rotations does the trace add, how many
//      ciphertexts go through EvalMod, and what happens to the keys, the time and the precision?
//   d. Run with --rounds 10 and then --rounds 10 --error-bits 16: what does error reduction gain
//      after one round and after ten? Which error is left (compare the error the rounds start
//      from with the rounding floor of docs/bootstrapping.md)?
//
// Usage: tutorial_15_bootstrapping [--log-n L] [--slots n] [--K K] [--double-angles r]
//        [--hamming-weight h] [--target-bits b] [--rounds R] [--error-bits k] [--seed S]
#include <NTL/ZZ.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/bootstrapping.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/ntt.h"
#include "ckks/polynomial.h"
#include "ckks/precision.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using cvec = std::vector<std::complex<double>>;

namespace {

constexpr double kPi = std::numbers::pi;
/// Bits below which a bootstrapped value counts as lost (the checks of steps 6, 7 and 9).
constexpr double kMinBits = 15;

/// Slot j of a CoeffsToSlots output holds coefficient BR(j): j with its log2(n) low bits reversed.
std::size_t bit_reversed(std::size_t j, std::size_t n) {
  return math::bit_reverse(static_cast<std::uint32_t>(j), std::countr_zero(n));
}

/// Precision of got against want: the worst slot (precision_bits) and the mean, −log2 of the mean
/// absolute error (the "mean precision" of [BMTH21]'s abstract).
struct Bits {
  double worst, mean;
};
Bits measure(const cvec& got, const cvec& want) {
  double total = 0;
  for (std::size_t i = 0; i < got.size(); ++i) total += std::abs(got[i] - want[i]);
  return {precision_bits(got, want), std::log2(static_cast<double>(got.size()) / total)};
}

/// EvalMod in plain double arithmetic: the cosine interpolant p(x) ≈ cos(2π(K·x − 1/4)/2^r) then r
/// steps y ↦ 2y² − 1, i.e. what Bootstrapper::eval_mod computes, without the encryption noise.
/// Returns the bits −log2 max |EvalMod(x) − sin(2πK·x)| on 4001 equally spaced points of [−1, 1].
double plain_eval_mod_bits(double K, int r, int degree) {
  const double two_r = std::ldexp(1.0, r);
  const ChebyshevSeries p =
      chebyshev_interpolate([&](double x) { return std::cos(2 * kPi * (K * x - 0.25) / two_r); }, -1, 1, degree);
  double worst = 0;
  for (int i = 0; i <= 4000; ++i) {
    const double x = -1 + 2.0 * i / 4000;
    double y = p(x);
    for (int k = 0; k < r; ++k) y = 2 * y * y - 1;
    worst = std::max(worst, std::fabs(y - std::sin(2 * kPi * K * x)));
  }
  return -std::log2(worst);
}

/// A cosine degree for (K, r) and the plain bits it reaches.
struct CosineChoice {
  int degree = 0;
  double bits = 0;      ///< plain_eval_mod_bits at that degree
  bool reached = true;  ///< false: no degree ≤ 255 reaches the target
};

/// The smallest degree d in [1, 255] whose plain EvalMod reaches `target` bits (bisection: the error
/// falls with d once d passes the cosine's 2πK/2^r radians). When even degree 255 does not reach it
/// (the r double angles multiply every error, the rounding of double arithmetic included, by up to
/// 4^r), the smallest degree within 0.5 bits of degree 255's bits instead.
CosineChoice choose_cosine(double K, int r, double target) {
  CosineChoice c;
  const double best = plain_eval_mod_bits(K, r, 255);
  if (best < target) {
    c.reached = false;
    target = best - 0.5;
  }
  int lo = 1, hi = 255;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (plain_eval_mod_bits(K, r, mid) >= target) hi = mid; else lo = mid + 1;
  }
  c.degree = lo;
  c.bits = plain_eval_mod_bits(K, r, lo);
  return c;
}

/// Levels of EvalMod: the cosine of degree d, then r squarings.
int eval_mod_levels(int degree, int r) { return PolynomialEvaluator::levels_needed(degree) + r; }

/// The chain, bottom to top: q_0 = 60 bits | `user` × 40 | SlotsToCoeffs × 50 | `eval_mod` × 60 |
/// CoeffsToSlots × 60; P = 3 × 61; a sparse secret of weight h. INSECURE at every N this tutorial
/// allows (allow_insecure): a lab only.
Params bootstrap_chain(int log_n, int user, int eval_mod, int h, const BootstrapConfig& cfg) {
  Params p;
  p.log_n = log_n;
  p.log_q = {60};
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(user), 40);
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(cfg.stc_levels), 50);
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(eval_mod), 60);
  p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(cfg.cts_levels), 60);
  p.log_p = {61, 61, 61};
  p.log_scale = 40;
  p.secret = SecretDistribution::HammingWeight;
  p.hamming_weight = h;
  p.allow_insecure = true;
  return p;
}

/// A Context with everything a Bootstrapper for `cfg` needs: the secret, relinearisation and Galois
/// keys of Bootstrapper::plan (the rotation steps depend only on the slots and the CoeffsToSlots /
/// SlotsToCoeffs levels, so any K, r and cosine degree can share them), encoder, encryptor, decryptor.
struct Lab {
  ContextPtr ctx;
  KeyGenerator keygen;
  SecretKey sk;
  RelinKey rk;
  GaloisKeys gk;
  Encoder encoder;
  Encryptor encryptor;
  Decryptor decryptor;
  Lab(const Params& params, const BootstrapConfig& cfg, std::uint64_t seed)
      : ctx(Context::create(params)),
        keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed)),
        sk(keygen.secret_key()),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, Bootstrapper::plan(*ctx, cfg).rotation_steps, true)),
        encoder(ctx),
        encryptor(ctx, keygen.public_key(sk), math::Csprng::insecure_fixed_seed_for_testing(seed + 1)),
        decryptor(ctx, sk) {}
  cvec decrypt(const Ciphertext& ct) const { return encoder.decode_complex(decryptor.decrypt(ct)); }
};

const char* yes(bool b) { return b ? "yes" : "NO"; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// f(), with the wall seconds it took stored in `seconds`.
template <class F>
auto timed(double& seconds, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = f();
  seconds = seconds_since(t0);
  return result;
}

/// The decrypted slots of several ciphertexts, one after the other.
template <class Decrypt>
cvec decrypt_all(const std::vector<Ciphertext>& cts, Decrypt&& decrypt) {
  cvec all;
  for (const Ciphertext& ct : cts) {
    const cvec d = decrypt(ct);
    all.insert(all.end(), d.begin(), d.end());
  }
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 15 — bootstrapping stage by stage at small parameters");
  int log_n = 11, slots = 0, r = 3, h = 64, rounds = 3, user_levels = 2, error_bits = 0;
  double K = 16, target = 40;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L (INSECURE sizes)", 10, 13);
  options.add("--slots", slots, "slots n to bootstrap: 0 = N/2 (full), else a power of two below N/2", 0, 4096);
  options.add("--K", K, "EvalMod's bound K on |I|: x = t/(q_0*K) must stay in [-1, 1]", 1.0, 512.0);
  options.add("--double-angles", r, "double-angle steps r (the cosine is scaled by 1/2^r)", 0, 8);
  options.add("--hamming-weight", h, "non-zero coefficients h of the sparse secret", 1, 8192);
  options.add("--target-bits", target, "bits the plain EvalMod must reach when choosing the cosine degree", 10.0,
              50.0);
  options.add("--user-levels", user_levels, "40-bit levels left to the user after a bootstrap", 1, 8);
  options.add("--rounds", rounds, "bootstraps in a row in the last step", 1, 10);
  options.add("--error-bits", error_bits,
              "error reduction in the last step: bootstrap 2^k times the first bootstrap's error again (0 = off)",
              0, 30);
  options.add("--seed", seed, "seed of the (insecure, deterministic) keys, noise and data");
  if (const auto code = options.parse(argc, argv)) return *code;
  const std::size_t N = std::size_t(1) << log_n;
  if (h > static_cast<int>(N)) {
    std::fprintf(stderr, "--hamming-weight %d exceeds N = %zu; choose at most N\n", h, N);
    return 2;
  }
  const std::size_t n = slots ? static_cast<std::size_t>(slots) : N / 2;
  if (n < 2 || n > N / 2 || (n & (n - 1)) != 0) {
    std::fprintf(stderr, "--slots %d: use 0 (N/2 = %zu) or a power of two in [2, %zu]\n", slots, N / 2, N / 2);
    return 2;
  }
  bool ok = true;

  // 1. The cosine for (K, r), the chain, the plan.
  const CosineChoice cos = choose_cosine(K, r, target);
  const int e = eval_mod_levels(cos.degree, r);
  if (cos.reached)
    std::printf("1. EvalMod for K = %g, r = %d: cosine of degree %d (the smallest reaching %.0f bits in plain "
                "arithmetic: %.1f bits), %d levels\n",
                K, r, cos.degree, target, cos.bits, e);
  else
    std::printf("1. EvalMod for K = %g, r = %d: no degree <= 255 reaches %.0f bits; degree %d (the smallest "
                "within 0.5 bits of the best, %.1f bits), %d levels\n",
                K, r, target, cos.degree, cos.bits, e);
  BootstrapConfig cfg;  // every field this tutorial relies on is set here, none left to the defaults
  cfg.slots = static_cast<std::size_t>(slots);
  cfg.cts_levels = 3;
  cfg.stc_levels = 3;
  cfg.k = K;
  cfg.double_angle = r;
  cfg.cos_degree = cos.degree;
  cfg.log_message_ratio = 12;  // scale-up k = q_0/(2^12·Δ): k·m is about q_0/2^12
  cfg.arcsine_degree = 0;
  auto t0 = std::chrono::steady_clock::now();
  Lab lab(bootstrap_chain(log_n, user_levels, e, h, cfg), cfg, seed);
  const ContextPtr& ctx = lab.ctx;
  std::printf("   chain q_0 = 60 | %d x 40 (user) | %d x 50 (SlotsToCoeffs) | %d x 60 (EvalMod) | %d x 60 "
              "(CoeffsToSlots), P = 3 x 61\n",
              user_levels, cfg.stc_levels, e, cfg.cts_levels);
  std::printf("   N = 2^%d, log QP = %.0f bits, sparse secret h = %d: INSECURE (allow_insecure = true: a "
              "sparse secret and N far too small for this chain; %s): a lab only\n",
              log_n, ctx->log_qp(), h, tutorial::secure_ring(static_cast<int>(std::ceil(ctx->log_qp()))).c_str());
  const BootstrapPlan plan = Bootstrapper::plan(*ctx, cfg);
  std::printf("%s", plan.describe().c_str());
  const Evaluator ev(ctx);
  const Bootstrapper boot(ctx, cfg, lab.rk, lab.gk);
  std::printf("   keys and precomputation: %.2f s; scale-up k = %lld, sigma_0 = 2^%.2f, sigma_r = 2^%.2f\n",
              seconds_since(t0), static_cast<long long>(boot.scale_up()), std::log2(boot.eval_mod_input_scale()),
              std::log2(boot.eval_mod_output_scale()));
  auto decrypt = [&](const Ciphertext& ct) { return lab.decrypt(ct); };
  auto lg = [](double s) { return std::log2(s); };

  // 2. A ciphertext at level 0: z uniform in [−1, 1] + i·[−1, 1], encrypted directly at level 0.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1, 1);
  cvec z(n);
  for (auto& v : z) v = {uni(rng), uni(rng)};
  const Ciphertext ct = lab.encryptor.encrypt(lab.encoder.encode(z, 0, ctx->default_scale(), n));
  std::printf("\n2. input: %zu slots at level %d, scale 2^%.2f, precision %.1f bits against z\n", n, ct.level,
              lg(ct.scale), precision_bits(decrypt(ct), z));
  const std::vector<NTL::ZZ> m = tutorial::exact_coefficients(*ctx, lab.decryptor.decrypt(ct));
  const NTL::ZZ q0 = NTL::conv<NTL::ZZ>(static_cast<unsigned long>(ctx->q(0).value()));
  const double q0d = static_cast<double>(ctx->q(0).value());

  // 3. ModRaise: t = k·m + q_0·I exactly.
  double t_raise = 0;
  const Ciphertext raised = timed(t_raise, [&] { return boot.mod_raise(ct); });
  const std::vector<NTL::ZZ> t = tutorial::exact_coefficients(*ctx, lab.decryptor.decrypt(raised));
  const NTL::ZZ kz(boot.scale_up());
  std::size_t exact = 0;
  long i_min = 0, i_max = 0;
  double i_sq = 0;
  std::vector<double> frac(N);  // k·m_c/q_0 = t_c/q_0 − I_c, the fractional part EvalMod must keep
  for (std::size_t c = 0; c < N; ++c) {
    NTL::ZZ q, rem;
    NTL::DivRem(q, rem, t[c] - kz * m[c], q0);  // floor division: rem in [0, q_0)
    if (IsZero(rem)) ++exact;
    const long I = NTL::conv<long>(q);
    i_min = std::min(i_min, I);
    i_max = std::max(i_max, I);
    i_sq += static_cast<double>(I) * static_cast<double>(I);
    frac[c] = NTL::conv<double>(kz * m[c]) / q0d;
  }
  const long i_abs = std::max(-i_min, i_max);
  std::printf("\n3. ModRaise: level %d -> %d (no level spent: the chain is climbed), scale 2^%.2f -> 2^%.2f "
              "(times k = %lld), %.3f s\n",
              ct.level, raised.level, lg(ct.scale), lg(raised.scale), static_cast<long long>(boot.scale_up()),
              t_raise);
  std::printf("   t - k*m divisible by q_0 in %zu of %zu coefficients: %s\n", exact, N, yes(exact == N));
  std::printf("   I = (t - k*m)/q_0 in [%ld, %ld], standard deviation %.2f (sqrt((h+1)/12) = %.2f)\n", i_min, i_max,
              std::sqrt(i_sq / static_cast<double>(N)), std::sqrt((h + 1) / 12.0));
  std::printf("   max |I| = %ld < K = %g: %s\n", i_abs, K, yes(static_cast<double>(i_abs) < K));
  std::printf("   decoded as usual (scale k*Delta): precision %.1f bits against z (the q_0*I term)\n",
              precision_bits(decrypt(raised), z));
  ok &= exact == N && static_cast<double>(i_abs) < K;

  // 4. CoeffsToSlots: slot j (j < n) holds t at coefficient BR(j)·gap, slot n + j the one at
  //    (BR(j) + n)·gap, divided by q_0·K. Full slots: two ciphertexts; sparse: one of 2n slots.
  const std::size_t gap = N / (2 * n);
  std::vector<std::size_t> coeff_of(2 * n);  // the coefficient each of the 2n values comes from
  for (std::size_t j = 0; j < n; ++j) {
    coeff_of[j] = bit_reversed(j, n) * gap;
    coeff_of[n + j] = (bit_reversed(j, n) + n) * gap;
  }
  double t_cts = 0;
  const std::vector<Ciphertext> parts = timed(t_cts, [&] { return boot.coeffs_to_slots(raised); });
  const cvec x_got = decrypt_all(parts, decrypt);
  cvec x_want(2 * n);
  double x_max = 0;
  for (std::size_t j = 0; j < 2 * n; ++j) {
    x_want[j] = NTL::conv<double>(t[coeff_of[j]]) / (q0d * K);
    x_max = std::max(x_max, std::abs(x_got[j]));
  }
  const double cts_bits = precision_bits(x_got, x_want);
  std::printf("\n4. CoeffsToSlots: level %d -> %d, scale 2^%.2f -> 2^%.2f, %zu ciphertext(s) of %zu slots, "
              "%.3f s\n",
              raised.level, parts[0].level, lg(raised.scale), lg(parts[0].scale), parts.size(), parts[0].slots,
              t_cts);
  std::printf("   slots vs t/(q_0*K) in bit-reversed order: precision %.1f bits, at least 30: %s\n", cts_bits,
              yes(cts_bits >= 30));
  std::printf("   max |x| = %.3f inside [-1, 1]: %s\n", x_max, yes(x_max <= 1));
  ok &= cts_bits >= 30 && x_max <= 1;

  // 5. EvalMod on each part: sin(2πK·x), which is sin(2π·k·m/q_0) ≈ 2π·k·m/q_0.
  double t_mod = 0;
  const std::vector<Ciphertext> ys = timed(t_mod, [&] {
    std::vector<Ciphertext> v;
    for (const auto& p : parts) v.push_back(boot.eval_mod(p));
    return v;
  });
  const cvec y_got = decrypt_all(ys, decrypt);
  cvec want_sin(2 * n), want_lin(2 * n);
  for (std::size_t j = 0; j < 2 * n; ++j) {
    want_sin[j] = std::sin(2 * kPi * K * x_got[j].real());
    want_lin[j] = 2 * kPi * frac[coeff_of[j]];
  }
  const double mod_bits = precision_bits(y_got, want_sin), lin_bits = precision_bits(y_got, want_lin);
  std::printf("\n5. EvalMod: level %d -> %d, scale 2^%.2f -> 2^%.2f, %.3f s for %zu ciphertext(s)\n", parts[0].level,
              ys[0].level, lg(parts[0].scale), lg(ys[0].scale), t_mod, ys.size());
  std::printf("   vs sin(2*pi*K*x) of its decrypted input: precision %.1f bits, at least 25: %s\n", mod_bits,
              yes(mod_bits >= 25));
  std::printf("   vs 2*pi*k*m/q_0 (what SlotsToCoeffs takes it for): precision %.1f bits\n", lin_bits);
  ok &= mod_bits >= 25;

  // 6. SlotsToCoeffs: back to the original values at Δ.
  double t_stc = 0;
  const Ciphertext out = timed(t_stc, [&] { return boot.slots_to_coeffs(ys); });
  const cvec out_got = decrypt(out);
  const Bits stc = measure(out_got, z);
  std::printf("\n6. SlotsToCoeffs: level %d -> %d, scale 2^%.2f -> 2^%.2f, %zu slots, %.3f s\n", ys[0].level,
              out.level, lg(ys[0].scale), lg(out.scale), out.slots, t_stc);
  std::printf("   vs z: precision %.1f bits (mean %.1f bits), at least %.0f: %s\n", stc.worst, stc.mean,
              kMinBits, yes(stc.worst >= kMinBits));
  ok &= out.level == plan.output_level && stc.worst >= kMinBits;

  // 7. The whole bootstrap in one call.
  const TransformCost before = boot.cost();
  double t_boot = 0;
  const Ciphertext fresh = timed(t_boot, [&] { return boot.bootstrap(ct); });
  const cvec fresh_got = decrypt(fresh);
  const Bits whole = measure(fresh_got, z), same = measure(fresh_got, out_got);
  std::printf("\n7. bootstrap(): level %d -> %d = plan's output level %d: %s\n", ct.level, fresh.level,
              plan.output_level, yes(fresh.level == plan.output_level));
  std::printf("   scale 2^%.2f, precision %.1f bits (mean %.1f bits), %.2f s, %d rotations, %d key switches\n",
              lg(fresh.scale), whole.worst, whole.mean, t_boot, boot.cost().rotations - before.rotations,
              boot.cost().key_switches - before.key_switches);
  std::printf("   the same values as the four stages one by one (difference below 2^-60): %s\n",
              yes(same.worst > 60));
  ok &= fresh.level == plan.output_level && whole.worst >= kMinBits && same.worst > 60;

  // 8. What r and K change: the cosine degree and levels from the library's interpolant and
  //    levels_needed, the bits in plain arithmetic and under encryption (eval_mod of x uniform in
  //    [−1, 1], on a chain with EvalMod room for the deepest row and the same kind of keys).
  struct Row {
    double k;
    int r;
    CosineChoice cos;
  };
  std::vector<Row> rows;
  for (int rr = 0; rr <= 6; ++rr) rows.push_back({K, rr, choose_cosine(K, rr, target)});
  for (int rr : {0, 3, 6}) rows.push_back({2 * K, rr, choose_cosine(2 * K, rr, target)});
  int e_table = 0;
  for (const Row& row : rows) e_table = std::max(e_table, eval_mod_levels(row.cos.degree, row.r));
  t0 = std::chrono::steady_clock::now();
  Lab table_lab(bootstrap_chain(log_n, 1, e_table, h, cfg), cfg, seed);
  std::printf("\n8. EvalMod for K and 2K and several r (target %.0f bits; chain with %d EvalMod levels, keys %.2f s):\n",
              target, e_table, seconds_since(t0));
  std::printf("      K |  r | cosine degree | levels = ceil(log2(d+1)) + r | plain bits | encrypted bits | seconds\n");
  for (const Row& row : rows) {
    BootstrapConfig rc = cfg;
    rc.k = row.k;
    rc.double_angle = row.r;
    rc.cos_degree = row.cos.degree;
    const Bootstrapper rb(table_lab.ctx, rc, table_lab.rk, table_lab.gk);
    std::vector<double> xs(n);
    for (auto& v : xs) v = uni(rng);
    const Ciphertext cx = table_lab.encryptor.encrypt(
        table_lab.encoder.encode(xs, rb.plan().top_level - rc.cts_levels, rb.eval_mod_input_scale(), n));
    const cvec xd = table_lab.decrypt(cx);
    const auto tr = std::chrono::steady_clock::now();
    const cvec yd = table_lab.decrypt(rb.eval_mod(cx));
    const double te = seconds_since(tr);
    cvec ws(n);
    for (std::size_t j = 0; j < n; ++j) ws[j] = std::sin(2 * kPi * row.k * xd[j].real());
    std::printf("   %4g | %2d | %13d | %28d | %9.1f%s | %14.1f | %7.2f\n", row.k, row.r, row.cos.degree,
                eval_mod_levels(row.cos.degree, row.r), row.cos.bits, row.cos.reached ? " " : "*",
                precision_bits(yd, ws), te);
  }
  std::printf("   (* no degree <= 255 reaches the target: the smallest within 0.5 bits of the best)\n");

  // 9. Bootstraps in a row: each round spends one user level (z ↦ z·e^{iπ/8}), drops to level 0 and
  //    bootstraps; the expected values follow in the clear.
  //    With --error-bits k, each bootstrap is followed by Bootstrapper::reduce_error: the error ε of
  //    the first pass is computed at level 0, multiplied by 2^k, bootstrapped again and subtracted.
  BootstrapConfig last_cfg = cfg;
  last_cfg.error_reduction_bits = error_bits;
  const Bootstrapper last_boot(ctx, last_cfg, lab.rk, lab.gk);
  std::printf("\n9. %d bootstrap(s) in a row (each: z <- z*exp(i*pi/8), one level; drop to level 0; bootstrap%s):\n",
              rounds, error_bits ? "; error reduction" : "");
  if (error_bits) std::printf("   error reduction k = %d: two bootstraps each, no extra level\n", error_bits);
  const std::complex<double> turn = std::polar(1.0, kPi / 8);
  Ciphertext cur = fresh;
  cvec want = z;
  double first = 0, last = 0, worst = 64;
  for (int round = 1; round <= rounds; ++round) {
    cur = ev.rescale(ev.multiply_const(cur, turn));
    for (auto& v : want) v *= turn;
    cur = last_boot.bootstrap(ev.drop_level(cur, 0));
    last = precision_bits(decrypt(cur), want);
    if (round == 1) first = last;
    worst = std::min(worst, last);
    std::printf("   round %d: level %d, scale 2^%.2f, precision %.1f bits\n", round, cur.level, lg(cur.scale), last);
  }
  const bool kept = worst >= kMinBits && last >= first - 4;
  std::printf("   every round at least %.0f bits, the last within 4 bits of the first: %s\n", kMinBits, yes(kept));
  ok &= kept;
  return ok ? 0 : 1;
}

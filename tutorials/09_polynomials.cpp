// Tutorial 09 — polynomial evaluation and function approximation
//
// Goal: CKKS only adds and multiplies, so a non-polynomial function such as the sigmoid or tanh
//       must be replaced by a polynomial on a chosen interval [a, b]. Build Chebyshev
//       interpolants of growing degree, watch the approximation error fall, then evaluate one on
//       a ciphertext and account for the levels it consumes and the precision it keeps.
// Read alongside: [ATAP] Trefethen, Approximation Theory and Approximation Practice, ch. 3–4
//       (Chebyshev series and interpolants; checked against the author's published text of ch. 4,
//       see ckks/approx.h); [BMTH21] baby-step giant-step evaluation in the
//       Chebyshev basis with back-propagated scales (docs/references.md says what was read). In this project: ckks/approx.h
//       (chebyshev_interpolate, sigmoid_approx), ckks/polynomial.h (PolynomialEvaluator,
//       levels_needed), docs/circuits.md.
// What to observe:
//   1. For a smooth function the interpolation error falls geometrically with the degree: the
//      number of correct bits grows about linearly in d (it roughly doubles when d doubles, from
//      degree 15 on), while the levels needed grow only like log2(d).
//   2. The least-squares fits of sigmoid_approx and the interpolants of the same degree have
//      close maximum errors (the least-squares one is even a little smaller at degrees 5 and 7):
//      both are good, neither is the best (minimax) polynomial.
//   3. Encrypted evaluation uses exactly levels_needed(p) levels: ⌈log2(d + 1)⌉, plus one because
//      the interval [−8, 8] is not [−1, 1] (the affine map x ↦ x/8 needs a rescale).
//   4. The result agrees with the plain polynomial p(x) to about the precision of the ciphertext
//      (20+ bits); its distance to f(x) is the approximation error, which dominates.
//   5. Too few levels left: LevelError before any work. Outside [a, b] the polynomial explodes.
// Exercises (expected observations in docs/labs/09_polynomials.md):
//   a. Run with --function tanh (interval [−4, 4]) and compare its error table with the
//      sigmoid's on [−8, 8]. Explain what you see with σ(x) = (1 + tanh(x/2))/2.
//   b. Run with --degree 31 and --degree 63: how many levels, and how do the precision vs p(x)
//      and vs f(x) change?
//   c. Evaluate the degree-15 interpolant at x = 12: compare with σ(12) ≈ 1.
//
// Usage: tutorial_09_polynomials [--log-n L] [--degree d] [--function sigmoid|tanh] [--seed K]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/polynomial.h"
#include "ckks/precision.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;

namespace {

/// max |p(x) − f(x)| on 4001 equally spaced points of [a, b].
double max_error(const ChebyshevSeries& p, const std::function<double(double)>& f) {
  double worst = 0;
  for (int i = 0; i <= 4000; ++i) {
    const double x = p.a + (p.b - p.a) * i / 4000.0;
    worst = std::max(worst, std::fabs(p(x) - f(x)));
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 09 — polynomial evaluation and function approximation");
  int log_n = 14, degree = 15;
  std::string fname = "sigmoid";
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 15);
  options.add("--degree", degree, "degree of the encrypted Chebyshev interpolant", 1, 255);
  options.add_choice("--function", fname, "function to approximate", std::vector<std::string>{"sigmoid", "tanh"});
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;
  const bool sig = fname == "sigmoid";
  const std::function<double(double)> f =
      sig ? std::function<double(double)>([](double x) { return 1 / (1 + std::exp(-x)); })
          : std::function<double(double)>([](double x) { return std::tanh(x); });
  const double a = sig ? -8 : -4, b = -a;
  bool ok = true;

  // 1. Approximation error vs degree (plain arithmetic, nothing encrypted).
  std::printf("1. Chebyshev interpolants of %s on [%g, %g]:\n", fname.c_str(), a, b);
  for (int d : {3, 7, 15, 31, 63}) {
    const ChebyshevSeries p = chebyshev_interpolate(f, a, b, d);
    const double err = max_error(p, f);
    std::printf("   degree %2d: max error %.2e (%.1f bits), levels_needed = %d\n", d, err, -std::log2(err),
                PolynomialEvaluator::levels_needed(p));
  }
  if (sig) {
    std::printf("2. least-squares fits (sigmoid_approx) vs interpolants, same degree:\n");
    for (int d : {3, 5, 7}) {
      const double ls = max_error(sigmoid_approx(d), f), ip = max_error(chebyshev_interpolate(f, a, b, d), f);
      std::printf("   degree %d: least squares max error %.4f, interpolant %.4f\n", d, ls, ip);
    }
  }

  // 3. Encrypted evaluation of the degree-`degree` interpolant.
  const ChebyshevSeries p = chebyshev_interpolate(f, a, b, degree);
  const int need = PolynomialEvaluator::levels_needed(p);
  Params params;
  params.log_n = log_n;
  params.log_q.assign(1, 60);
  params.log_q.insert(params.log_q.end(), need + 1, 40);  // one spare level
  params.log_p = {60};
  params.log_scale = 40;
  params.allow_insecure = 60 + 40 * (need + 1) + 60 > max_log_qp_128(log_n);
  const ContextPtr ctx = Context::create(params);
  std::printf("\n3. RNS CKKS: %s, log QP = %.0f bits, %s\n", params.describe().c_str(), ctx->log_qp(),
              ctx->security_bits() ? "128-bit secure [HES18]" : "INSECURE (log QP above the [HES18] bound): a lab only");
  KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed));
  const SecretKey sk = keygen.secret_key();
  const RelinKey rk = keygen.relin_key(sk);
  const Encoder encoder(ctx);
  Encryptor encryptor(ctx, keygen.public_key(sk), math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
  const Decryptor decryptor(ctx, sk);
  const Evaluator ev(ctx);
  const PolynomialEvaluator pe(ev, rk);
  std::vector<double> x(ctx->max_slots()), px(x.size()), fx(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) {
    x[j] = a + (b - a) * double(j) / double(x.size() - 1);  // the whole interval, ends included
    px[j] = p(x[j]);
    fx[j] = f(x[j]);
  }
  const Ciphertext cx = encryptor.encrypt(encoder.encode(x, ctx->max_level(), ctx->default_scale()));
  const Ciphertext cy = pe.evaluate(cx, p);
  const std::vector<double> got = encoder.decode(decryptor.decrypt(cy));
  const int used = cx.level - cy.level;
  const double vs_p = precision_bits(got, px), vs_f = precision_bits(got, fx);
  std::printf("   degree %d on %zu slots: level %d -> %d, scale 2^%.6f -> 2^%.6f\n", degree, x.size(), cx.level,
              cy.level, std::log2(cx.scale), std::log2(cy.scale));
  std::printf("levels used: %d, levels_needed(p) = %d: %s\n", used, need, used == need ? "yes" : "NO");
  std::printf("precision vs the plain polynomial p(x): %.1f bits\n", vs_p);
  std::printf("precision vs %s(x): %.1f bits (plain approximation error: %.1f bits)\n", fname.c_str(), vs_f,
              -std::log2(max_error(p, f)));
  ok &= used == need && vs_p > 15;

  // 5. Not enough levels; outside the interval.
  bool level_error = false;
  try {
    (void)pe.evaluate(ev.drop_level(cx, need - 1), p);
  } catch (const LevelError& e) {
    level_error = true;
    std::printf("evaluate at level %d: LevelError: %s\n", need - 1, e.what());
  }
  ok &= level_error;
  const double far = 1.5 * b;
  std::printf("outside the interval: p(%g) = %.4g while %s(%g) = %.4g\n", far, p(far), fname.c_str(), far, f(far));
  return ok ? 0 : 1;
}

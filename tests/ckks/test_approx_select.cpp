// The approximation chooser (ckks/approx_select.h): its cost model against PolynomialEvaluator's
// stated product counts, the wide-interval sigmoid candidates measured again on an independent grid,
// the compressed composite's defining property, the [−70, 70] bar on a small-ring ciphertext, and
// every error path.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>

#include "ckks/approx_select.h"
#include "ckks/errors.h"
#include "ckks/polynomial.h"
#include "fixtures.h"

using namespace ckks;

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// max |c(x) − σ(x)| on `points` points, offset from approx_max_error's grid by half a step.
double independent_error(const ApproxCandidate& c, int points) {
  double worst = 0;
  for (int i = 0; i < points; ++i) {
    const double x = c.a + (c.b - c.a) * (i + 0.5) / points;
    worst = std::max(worst, std::fabs(c(x) - sigmoid(x)));
  }
  return std::max({worst, std::fabs(c(c.a) - sigmoid(c.a)), std::fabs(c(c.b) - sigmoid(c.b))});
}

/// N = 2^10, q {60, 40 × 10}, p {60}, Δ = 2^40: ten levels on 512 slots. INSECURE (N far too small
/// for this modulus): only for checking the circuit quickly on a real ciphertext.
Params ten_levels_insecure() {
  Params p;
  p.log_n = 10;
  p.log_q = std::vector<int>(11, 40);
  p.log_q[0] = 60;
  p.log_p = {60};
  p.log_scale = 40;
  p.allow_insecure = true;
  return p;
}

}  // namespace

TEST_CASE("ckks/approx_select: the product count follows PolynomialEvaluator's recursion") {
  // Generic coefficients (no accidental cancellation in the Chebyshev division): polynomial.h
  // states 5, 8, 13, 18, 27 products for degrees 7, 15, 31, 63, 127.
  const int degrees[] = {7, 15, 31, 63, 127}, want[] = {5, 8, 13, 18, 27};
  for (int i = 0; i < 5; ++i) {
    ChebyshevSeries p{-1, 1, {}};
    for (int k = 0; k <= degrees[i]; ++k) p.coeffs.push_back(1.0 / (k + 1.5));
    CAPTURE(degrees[i]);
    CHECK(polynomial_products(p) == want[i]);
  }
  // T_1 alone needs no product; T_2 one; an odd cubic T_1, T_3 two (T_2, then T_3 = 2T_1T_2 − T_1).
  CHECK(polynomial_products(ChebyshevSeries{-1, 1, {0.5, 1}}) == 0);
  CHECK(polynomial_products(ChebyshevSeries{-1, 1, {0, 0, 1}}) == 1);
  CHECK(polynomial_products(ChebyshevSeries{-1, 1, {0, 1, 0, 1}}) == 2);
  CHECK_THROWS_AS(polynomial_products(ChebyshevSeries{-1, 1, {1}}), InputError);
}

TEST_CASE("ckks/approx_select: one polynomial on [-70, 70] needs a high degree; the composite less") {
  // Error of the interpolant falls geometrically with the degree (poles of σ at ±iπ).
  const ApproxCandidate c63 = approx_chebyshev(ApproxFunction::Sigmoid, -70, 70, 63);
  const ApproxCandidate c255 = approx_chebyshev(ApproxFunction::Sigmoid, -70, 70, 255);
  CHECK(c63.max_error > 0x1p-6);
  CHECK(c255.max_error < 0x1p-16);
  CHECK(c255.depth == 9);  // 8 for degree 255, 1 for the map of [-70, 70] onto [-1, 1]
  // The composite with one cubic (s = 8): 3 levels for the cubic, 6 for degree 63.
  const ApproxCandidate k = approx_compressed(ApproxFunction::Sigmoid, -70, 70, 1, 8, 63);
  REQUIRE(k.stages.size() == 2);
  CHECK(k.depth == 9);
  CHECK(k.max_error < c63.max_error / 30);
  CHECK(independent_error(k, 100003) == doctest::Approx(k.max_error).epsilon(0.01));
  // The cubic maps [-70, 70] into [-1, 1] (after its scaling by 1/M) and ±70 to ±s/M.
  const ChebyshevSeries& h = k.stages[0];
  double top = 0;
  for (int i = 0; i <= 14000; ++i) top = std::max(top, std::fabs(h(-70 + i / 100.0)));
  CHECK(top == doctest::Approx(1).epsilon(1e-6));
  // Where the cubic increases (|x| ≤ y* ≈ 42.9), the circuit equals σ up to the last stage's
  // interpolation error; with a degree-255 last stage that error is far below e^{-8}.
  const ApproxCandidate fine = approx_compressed(ApproxFunction::Sigmoid, -70, 70, 1, 8, 255);
  double inner = 0, outer = 0;
  for (int i = 0; i <= 8000; ++i) {
    const double x = -40 + i / 100.0;
    inner = std::max(inner, std::fabs(fine(x) - sigmoid(x)));
  }
  for (int i = 0; i <= 2700; ++i) {
    const double x = 43 + i / 100.0;
    outer = std::max(outer, std::fabs(fine(x) - sigmoid(x)));
  }
  CHECK(inner < 1e-9);
  CHECK(outer < std::exp(-8.0));  // folded back: σ at a point ≥ s instead of at x
  CHECK(outer > 1e-6);
}

TEST_CASE("ckks/approx_select: the chosen candidate meets the target on each wide interval") {
  for (double L : {30.0, 50.0, 70.0}) {
    CAPTURE(L);
    const ApproxRequest req{ApproxFunction::Sigmoid, -L, L, 0x1p-10, 10};
    const ApproxCandidate c = approx_choose(req);
    MESSAGE(c.describe());
    CHECK(c.depth <= 10);
    CHECK(c.max_error <= 0x1p-10);
    CHECK(independent_error(c, 200003) <= 0x1p-10);
    // Cheapest: nothing in the weighed list has fewer levels, or as few levels and fewer products.
    for (const ApproxCandidate& other : approx_candidates(req)) {
      CHECK(other.depth >= c.depth);
      if (other.depth == c.depth) CHECK(other.products >= c.products);
    }
    // The depth reported is what PolynomialEvaluator counts, stage by stage.
    int levels = 0;
    for (const auto& s : c.stages) levels += PolynomialEvaluator::levels_needed(s);
    CHECK(levels == c.depth);
  }
  // A looser target on a narrow interval needs fewer levels than a tight one.
  const auto loose = approx_choose({ApproxFunction::Sigmoid, -8, 8, 0x1p-4, 10});
  const auto tight = approx_choose({ApproxFunction::Sigmoid, -8, 8, 0x1p-16, 10});
  CHECK(loose.depth < tight.depth);
  CHECK(loose.max_error <= 0x1p-4);
  CHECK(tight.max_error <= 0x1p-16);
  // An asymmetric interval works too (the error is measured on [a, b] itself).
  const auto asym = approx_choose({ApproxFunction::Sigmoid, -20, 60, 0x1p-10, 10});
  CHECK(asym.a == -20);
  CHECK(independent_error(asym, 100003) <= 0x1p-10);
}

TEST_CASE("ckks/approx_select: [-70, 70] at depth <= 10 within 2^-10 on a ciphertext (small ring)") {
  // Half the budget for the approximation, the rest for CKKS noise.
  const ApproxCandidate c = approx_choose({ApproxFunction::Sigmoid, -70, 70, 0x1p-11, 10});
  MESSAGE(c.describe());
  REQUIRE(c.depth <= 10);
  CHECK(c.max_error <= 0x1p-11);
  test::Kit kit(ten_levels_insecure(), 5);
  const RelinKey rk = kit.keygen.relin_key(kit.sk);
  const PolynomialEvaluator pe(kit.evaluator, rk);
  const std::size_t S = kit.ctx->max_slots();
  test::cvec x(S);
  for (std::size_t i = 0; i < S; ++i) x[i] = -70 + 140.0 * static_cast<double>(i) / static_cast<double>(S - 1);
  const Ciphertext ct = kit.encrypt(x);
  const Ciphertext y = evaluate(pe, ct, c);
  CHECK(y.level == ct.level - c.depth);
  CHECK(y.scale == ct.scale);
  const test::cvec out = kit.decrypt(y);
  double err = 0, noise = 0;
  for (std::size_t i = 0; i < S; ++i) {
    err = std::max(err, std::abs(out[i] - sigmoid(x[i].real())));
    noise = std::max(noise, std::abs(out[i] - c(x[i].real())));
  }
  MESSAGE("ciphertext max error " << err << " (2^" << std::log2(err) << "), CKKS noise 2^" << std::log2(noise));
  CHECK(err <= 0x1p-10);
  CHECK(noise < 0x1p-16);
  // One level short: the whole circuit is refused up front, naming both counts.
  const Ciphertext low = kit.evaluator.drop_level(ct, c.depth - 1);
  const std::string want = "needs " + std::to_string(c.depth) + " levels but the ciphertext has " +
                           std::to_string(c.depth - 1) + " left";
  CHECK_THROWS_WITH_AS((void)evaluate(pe, low, c), doctest::Contains(want.c_str()), LevelError);
}

TEST_CASE("ckks/approx_select: bad requests give named errors") {
  using F = ApproxFunction;
  // Empty or non-finite interval.
  const std::pair<double, double> bad[] = {{5.0, 5.0}, {3.0, -3.0}, {NAN, 1.0}, {-INFINITY, 1.0}};
  for (const auto& [a, b] : bad)
    CHECK_THROWS_WITH_AS(approx_choose({F::Sigmoid, a, b, 0x1p-10, 10}),
                         doctest::Contains("is empty or not finite; give finite ends with a < b"), InputError);
  // Target not positive.
  for (double t : {0.0, -1e-3, static_cast<double>(NAN)})
    CHECK_THROWS_WITH_AS(approx_choose({F::Sigmoid, -70, 70, t, 10}),
                         doctest::Contains("is not a positive finite number"), InputError);
  // Depth limit below 1, and a limit too small for the target.
  CHECK_THROWS_WITH_AS(approx_choose({F::Sigmoid, -70, 70, 0x1p-10, 0}),
                       doctest::Contains("max_depth = 0 is below 1"), InputError);
  // Too small a limit: the message names the limit and the depth that would do (9, see above).
  CHECK_THROWS_WITH_AS(approx_choose({F::Sigmoid, -70, 70, 0x1p-10, 6}),
                       doctest::Contains("within max_depth = 6 (smallest error found: "), InputError);
  CHECK_THROWS_WITH_AS(approx_choose({F::Sigmoid, -70, 70, 0x1p-10, 6}),
                       doctest::Contains("; depth 9 reaches it); raise max_depth"), InputError);
  CHECK(approx_candidates({F::Sigmoid, -70, 70, 0x1p-10, 6}).empty());
  // The builders' own checks.
  CHECK_THROWS_AS(approx_least_squares(F::Sigmoid, -70, 70, 128), InputError);
  CHECK_THROWS_AS(approx_chebyshev(F::Sigmoid, -70, 70, 0), InputError);
  CHECK_THROWS_WITH_AS(approx_compressed(F::Sigmoid, -5, 5, 1, 8, 15),
                       doctest::Contains("fold_end s = 8 is not in (0, 5)"), InputError);
  CHECK_THROWS_AS(approx_compressed(F::Sigmoid, -70, 70, 3, 8, 15), InputError);
  CHECK_THROWS_AS(approx_max_error(ApproxCandidate{}, 100), InputError);
}

// PolynomialEvaluator: encrypted evaluation of Chebyshev series against the cleartext series at
// every slot, the exact level and scale of the result, and every error path.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "ckks/approx.h"
#include "ckks/errors.h"
#include "ckks/polynomial.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {

/// N = 2^14, q {60, 40×6}, p {60, 60}, Δ = 2^40: six levels; 420 ≤ 438 bits, 128-bit secure.
Params six_levels() {
  Params p;
  p.log_n = 14;
  p.log_q = {60, 40, 40, 40, 40, 40, 40};
  p.log_p = {60, 60};
  p.log_scale = 40;
  return p;
}

// One key set for the whole file (key generation dominates the cost of these tests).
struct Shared {
  test::Kit kit{six_levels(), 7};
  RelinKey rk = kit.keygen.relin_key(kit.sk);
  PolynomialEvaluator pe{kit.evaluator, rk};
};
Shared& shared() {
  static Shared s;
  return s;
}

cvec real_points(std::size_t n, double a, double b, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(a, b);
  cvec v(n);
  for (auto& z : v) z = u(g);
  v[0] = a;  // the ends, where |T_k'| is largest
  v[1] = b;
  return v;
}

// Random coefficients decaying like 1/(k+1), the size of a smooth function's Chebyshev series.
ChebyshevSeries random_series(int degree, double a, double b, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  ChebyshevSeries p{a, b, std::vector<double>(degree + 1)};
  for (int k = 0; k <= degree; ++k) p.coeffs[k] = u(g) / (k + 1);
  return p;
}

// Encrypts x, evaluates p, checks level and scale, returns the precision in bits against p(x).
double run(const ChebyshevSeries& p, const cvec& x, int level = -1) {
  auto& s = shared();
  const auto ct = s.kit.encrypt(x, level);
  const auto out = s.pe.evaluate(ct, p);
  CHECK(out.level == ct.level - PolynomialEvaluator::levels_needed(p));
  CHECK(out.scale == ct.scale);  // exactly the same double
  CHECK(out.size() == 2);
  cvec want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = p(x[i].real());
  return precision_bits(s.kit.decrypt(out), want);
}

}  // namespace

TEST_CASE("ckks/polynomial: levels_needed is the minimal depth, plus one for a non-integer slope") {
  using PE = PolynomialEvaluator;
  const int want[] = {0, 1, 2, 2, 3, 3, 3, 3, 4};  // degrees 0..8
  for (int d = 0; d <= 8; ++d) CHECK(PE::levels_needed(d) == want[d]);
  CHECK(PE::levels_needed(15) == 4);
  CHECK(PE::levels_needed(16) == 5);
  CHECK(PE::levels_needed(31) == 5);
  CHECK(PE::levels_needed(ChebyshevSeries{-1, 1, std::vector<double>(8, 1.0)}) == 3);
  CHECK(PE::levels_needed(ChebyshevSeries{0, 1, std::vector<double>(8, 1.0)}) == 3);   // α = 2
  CHECK(PE::levels_needed(ChebyshevSeries{-8, 8, std::vector<double>(8, 1.0)}) == 4);  // α = 1/8
  CHECK(PE::levels_needed(sigmoid_approx(7)) == 4);
}

TEST_CASE("ckks/polynomial: degrees 1, 2, 3, 5, 7, 15 and 31 on [-1, 1] match the cleartext series") {
  const std::size_t n = shared().kit.ctx->max_slots();
  const cvec x = real_points(n, -1, 1, 101);
  for (int d : {1, 2, 3, 5, 7, 15, 31}) {
    const auto p = random_series(d, -1, 1, 200 + d);
    const double bits = run(p, x);
    MESSAGE("degree " << d << " on [-1, 1] (" << PolynomialEvaluator::levels_needed(p)
                      << " levels): " << bits << " bits (worst of " << n << " slots)");
    CHECK(bits >= 18);
  }
}

TEST_CASE("ckks/polynomial: an integer slope costs no level ([0, 1], α = 2) and a lower start level works") {
  const std::size_t n = shared().kit.ctx->max_slots();
  const auto p = random_series(7, 0, 1, 301);
  CHECK(PolynomialEvaluator::levels_needed(p) == 3);
  const double bits = run(p, real_points(n, 0, 1, 302), 4);
  MESSAGE("degree 7 on [0, 1] from level 4: " << bits << " bits");
  CHECK(bits >= 18);
}

TEST_CASE("ckks/polynomial: sigmoid on [-8, 8] (degrees 3, 5, 7) and a random series on [-8, 8]") {
  auto& s = shared();
  const std::size_t n = s.kit.ctx->max_slots();
  const cvec x = real_points(n, -8, 8, 401);
  for (int d : {3, 5, 7}) {
    const auto p = sigmoid_approx(d);
    CHECK(PolynomialEvaluator::levels_needed(p) == PolynomialEvaluator::levels_needed(d) + 1);
    const double bits = run(p, x);
    MESSAGE("sigmoid degree " << d << " on [-8, 8]: " << bits << " bits against the series");
    CHECK(bits >= 18);
  }
  const auto r = random_series(15, -8, 8, 402);
  const double bits = run(r, x);
  MESSAGE("random degree 15 on [-8, 8] (5 levels): " << bits << " bits");
  CHECK(bits >= 18);
}

TEST_CASE("ckks/polynomial: composite sign f_2 ∘ f_2 under encryption") {
  auto& s = shared();
  const std::size_t n = s.kit.ctx->max_slots();
  const cvec x = real_points(n, -1, 1, 501);
  auto ct = s.kit.encrypt(x);
  const auto fs = sign_composite(2, 2);
  for (const auto& f : fs) ct = s.pe.evaluate(ct, f);
  CHECK(ct.level == s.kit.ctx->max_level() - 6);
  cvec want(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = fs[1](fs[0](x[i].real()));
  const double bits = precision_bits(s.kit.decrypt(ct), want);
  MESSAGE("f_2 ∘ f_2 (6 levels): " << bits << " bits");
  CHECK(bits >= 18);
}

TEST_CASE("ckks/polynomial: inputs outside [a, b] are evaluated as the polynomial, not clipped") {
  // Documented behaviour: nothing checks the range; the series is extrapolated (and grows).
  const cvec x = real_points(shared().kit.ctx->max_slots(), -1.5, 1.5, 601);
  const auto p = random_series(5, -1, 1, 602);
  const double bits = run(p, x);
  MESSAGE("degree 5 on [-1, 1] fed with x in [-1.5, 1.5]: " << bits
                                                          << " bits against the extrapolated series");
  CHECK(bits >= 16);
}

TEST_CASE("ckks/polynomial: too few levels, bad series, wrong ciphertexts and keys throw first") {
  auto& s = shared();
  const cvec x = real_points(16, -1, 1, 701);
  const auto p7 = random_series(7, -1, 1, 702);
  const auto at2 = s.kit.encrypt(x, 2);
  CHECK_THROWS_WITH_AS(s.pe.evaluate(at2, p7),
                       "polynomial evaluation of degree 7 needs 3 levels but the ciphertext has 2 left; "
                       "encrypt at a higher level, add data primes to log_q, or use a lower degree",
                       LevelError);
  CHECK_THROWS_WITH_AS(s.pe.evaluate(s.kit.encrypt(x, 3), sigmoid_approx(7)),
                       doctest::Contains("degree 7 on [-8, 8] needs 4 levels (3 for the degree, 1 to map "
                                         "[-8, 8] onto [-1, 1]) but the ciphertext has 3 left"),
                       LevelError);
  CHECK_NOTHROW(s.pe.evaluate(s.kit.encrypt(x, 3), p7));  // exactly enough

  ChebyshevSeries bad = p7;
  bad.coeffs = {1.0};
  CHECK_THROWS_AS(s.pe.evaluate(at2, bad), InputError);
  bad = p7;
  bad.coeffs[3] = NAN;
  CHECK_THROWS_AS(s.pe.evaluate(at2, bad), InputError);
  bad = p7;
  bad.a = 1;
  CHECK_THROWS_AS(s.pe.evaluate(at2, bad), InputError);

  const auto three = s.kit.evaluator.multiply(at2, at2);
  CHECK_THROWS_WITH_AS(s.pe.evaluate(three, random_series(1, -1, 1, 703)), doctest::Contains("relinearize"),
                       InputError);

  test::Kit other(test::tiny_insecure(), 3);
  const auto foreign = other.encrypt(test::random_complex(other.ctx->max_slots(), 704));
  CHECK_THROWS_AS(s.pe.evaluate(foreign, random_series(1, -1, 1, 705)), ParameterError);
  const RelinKey other_rk = other.keygen.relin_key(other.sk);
  CHECK_THROWS_AS(PolynomialEvaluator(s.kit.evaluator, other_rk), ParameterError);
}

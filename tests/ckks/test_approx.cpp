// Function approximation (plain doubles): Chebyshev interpolation and least squares against known
// answers, the ready approximations against their stated error bounds, the composite sign
// polynomials of [CKK20] against their defining properties, and every error path.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "ckks/approx.h"
#include "ckks/errors.h"

using namespace ckks;

namespace {
// max |p − f| over `points` equally spaced points of [a, b].
double max_error(const ChebyshevSeries& p, double (*f)(double), double a, double b, int points = 16001) {
  double worst = 0;
  for (int i = 0; i < points; ++i) {
    const double x = a + (b - a) * i / (points - 1);
    worst = std::max(worst, std::fabs(p(x) - f(x)));
  }
  return worst;
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double relu(double x) { return x > 0 ? x : 0.0; }
double expo(double x) { return std::exp(x); }
double sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
// Power-basis value Σ p_j x^j.
double horner(const std::vector<double>& p, double x) {
  double r = 0;
  for (auto it = p.rbegin(); it != p.rend(); ++it) r = r * x + *it;
  return r;
}
}  // namespace

TEST_CASE("ckks/approx: Clenshaw evaluation equals Σ c_k cos(k·acos t), also off [-1, 1] in t") {
  const ChebyshevSeries p{2, 6, {0.3, -1.25, 0.5, 0.125, -0.0625}};
  CHECK(p.degree() == 4);
  for (double x : {2.0, 2.7, 4.0, 5.9, 6.0}) {
    const double t = p.to_unit(x);
    double want = 0;
    for (int k = 0; k <= 4; ++k) want += p.coeffs[k] * std::cos(k * std::acos(t));
    CHECK(p(x) == doctest::Approx(want).epsilon(1e-13));
  }
  // Outside [a, b] the series is still a polynomial: T_2(t) = 2t² − 1 etc. at t = 2 (x = 8).
  const ChebyshevSeries q{2, 6, {0, 0, 1}};
  CHECK(q(8.0) == doctest::Approx(7.0));
}

TEST_CASE("ckks/approx: interpolation is exact for polynomials and error falls with the degree") {
  // x³ = (3T_1 + T_3)/4.
  const auto cube = chebyshev_interpolate([](double x) { return x * x * x; }, -1, 1, 3);
  REQUIRE(cube.coeffs.size() == 4);
  CHECK(cube.coeffs[0] == doctest::Approx(0).epsilon(1e-15).scale(1));
  CHECK(cube.coeffs[1] == doctest::Approx(0.75));
  CHECK(std::fabs(cube.coeffs[2]) < 1e-15);
  CHECK(cube.coeffs[3] == doctest::Approx(0.25));

  // The interpolant matches f at the Chebyshev points of [a, b].
  const double a = -3, b = 5;
  const auto p = chebyshev_interpolate([](double x) { return std::sin(x); }, a, b, 9);
  for (int j = 0; j <= 9; ++j) {
    const double x = 0.5 * ((b - a) * std::cos(j * std::numbers::pi / 9) + a + b);
    CHECK(p(x) == doctest::Approx(std::sin(x)).epsilon(1e-12));
  }

  // exp on [−1, 1]: geometric convergence.
  double prev = 1e9;
  for (int d = 2; d <= 14; d += 2) {
    const double e = max_error(chebyshev_interpolate(expo, -1, 1, d), expo, -1, 1, 4001);
    CAPTURE(d);
    CAPTURE(e);
    CHECK(e < prev / 20);
    prev = e;
  }
  CHECK(prev < 1e-13);
}

TEST_CASE("ckks/approx: least squares recovers polynomials and matches the continuous fit") {
  const std::vector<double> cubic = {0.5, -1, 0.25, 2};
  const auto fit = least_squares_fit([&](double x) { return horner(cubic, x); }, -2, 3, 3, 50);
  for (double x : {-2.0, -0.3, 1.0, 2.9})
    CHECK(fit(x) == doctest::Approx(horner(cubic, x)).epsilon(1e-12));

  // ReLU's least-squares quadratic: the discrete fit tends to relu_quadratic's closed form.
  for (double a : {1.0, 4.0}) {
    const auto closed = relu_quadratic(a);
    const auto discrete = least_squares_fit(relu, -a, a, 2, 20001);
    for (int k = 0; k < 3; ++k)
      CHECK(discrete.coeffs[k] == doctest::Approx(closed.coeffs[k]).epsilon(1e-3).scale(a));
    const double err = max_error(closed, relu, -a, a);
    CHECK(err == doctest::Approx(3 * a / 32).epsilon(1e-6));
    CHECK(std::fabs(closed(a) - a) == doctest::Approx(a / 16));
  }
}

TEST_CASE("ckks/approx: sigmoid approximations meet their documented error bounds") {
  const double stated[] = {0.1138, 0.0608, 0.0317};  // approx.h, degrees 3, 5, 7
  const int degrees[] = {3, 5, 7};
  double prev = 1;
  for (int i = 0; i < 3; ++i) {
    const auto p = sigmoid_approx(degrees[i]);
    CHECK(p.degree() == degrees[i]);
    CHECK(p.a == -8);
    CHECK(p.b == 8);
    const double e = max_error(p, sigmoid, -8, 8);
    MESSAGE("sigmoid degree " << degrees[i] << ": max error " << e);
    CHECK(e <= stated[i]);
    CHECK(e >= stated[i] - 2e-4);  // the documented figure is the measured one, not a loose bound
    CHECK(e < prev);
    prev = e;
    CHECK(p.coeffs[0] == doctest::Approx(0.5));
    for (int k = 2; k <= degrees[i]; k += 2) CHECK(std::fabs(p.coeffs[k]) < 1e-12);
  }
}

TEST_CASE("ckks/approx: power basis to Chebyshev basis on any interval") {
  const std::vector<double> pw = {1, -2, 0.5, 0, 3, -0.25};
  const auto p = chebyshev_from_power(pw, -1.5, 4);
  CHECK(p.degree() == 5);
  for (double x : {-1.5, -1.0, 0.0, 0.7, 2.5, 4.0, 5.0})
    CHECK(p(x) == doctest::Approx(horner(pw, x)).epsilon(1e-11));
}

TEST_CASE("ckks/approx: the sign polynomials f_n of [CKK20] have the defining properties") {
  // The closed forms of f_1, f_2, f_3 from the formula of f_n (ckks/approx.h).
  const std::vector<double> f1 = {0, 1.5, 0, -0.5};
  const std::vector<double> f2 = {0, 15.0 / 8, 0, -10.0 / 8, 0, 3.0 / 8};
  const std::vector<double> f3 = {0, 35.0 / 16, 0, -35.0 / 16, 0, 21.0 / 16, 0, -5.0 / 16};
  const std::vector<double>* closed[] = {&f1, &f2, &f3};
  for (int n = 1; n <= 3; ++n)
    for (double x = -1; x <= 1; x += 0.125)
      CHECK(sign_f(n)(x) == doctest::Approx(horner(*closed[n - 1], x)).epsilon(1e-14));

  for (int n = 1; n <= 10; ++n) {
    CAPTURE(n);
    const auto f = sign_f(n);
    CHECK(f.degree() == 2 * n + 1);
    CHECK(f(1.0) == doctest::Approx(1.0).epsilon(1e-13));
    CHECK(f(-1.0) == doctest::Approx(-1.0).epsilon(1e-13));
    // c_n = (2n+1)·C(2n, n)/4^n
    double cn = 2 * n + 1;
    for (int i = 1; i <= n; ++i) cn *= (n + i) / (4.0 * i);
    for (double x = -0.9; x <= 0.9; x += 0.15) {
      CHECK(f(-x) == doctest::Approx(-f(x)).epsilon(1e-13));
      const double h = 1e-5;
      const double deriv = (f(x + h) - f(x - h)) / (2 * h);
      CHECK(deriv == doctest::Approx(cn * std::pow(1 - x * x, n)).epsilon(1e-6));
    }
  }
}

TEST_CASE("ckks/approx: composite sign reaches 2^-alpha for |x| >= eps with the computed depth") {
  struct Case { int n; double eps; double alpha; };
  const Case cases[] = {{1, 1.0 / 16, 10}, {2, 1.0 / 64, 12}, {3, 1.0 / 256, 16}, {4, 0.01, 20}};
  for (const Case c : cases) {
    CAPTURE(c.n);
    const int d = sign_compositions_needed(c.n, c.eps, c.alpha);
    const auto fs = sign_composite(c.n, d);
    REQUIRE(static_cast<int>(fs.size()) == d);
    MESSAGE("f_" << c.n << ", eps " << c.eps << ", alpha " << c.alpha << ": " << d << " compositions");
    auto compose = [&](double x, int times) {
      for (int i = 0; i < times; ++i) x = fs[i](x);
      return x;
    };
    double worst = 0;
    for (int i = 0; i <= 4000; ++i) {
      const double x = c.eps + (1 - c.eps) * i / 4000.0;
      worst = std::max({worst, std::fabs(compose(x, d) - 1), std::fabs(compose(-x, d) + 1)});
    }
    CHECK(worst <= std::exp2(-c.alpha));
    // d is the smallest such depth: one fewer composition misses at x = eps.
    if (d > 1) CHECK(1 - compose(c.eps, d - 1) > std::exp2(-c.alpha));
    CHECK(compose(0.0, d) == 0.0);
    CHECK(sign(compose(-c.eps / 2, d)) == -1.0);
  }
}

TEST_CASE("ckks/approx: bad inputs throw InputError naming the value") {
  auto id = [](double x) { return x; };
  CHECK_THROWS_AS(chebyshev_interpolate(id, -1, 1, 0), InputError);
  CHECK_THROWS_AS(chebyshev_interpolate(id, 1, 1, 3), InputError);
  CHECK_THROWS_AS(chebyshev_interpolate(id, 2, 1, 3), InputError);
  CHECK_THROWS_AS(chebyshev_interpolate(id, -INFINITY, 1, 3), InputError);
  CHECK_THROWS_WITH_AS(chebyshev_interpolate([](double x) { return std::sqrt(x); }, -1, 1, 2),
                       doctest::Contains("f(-1) = "), InputError);
  CHECK_THROWS_AS(least_squares_fit([](double x) { return std::log(x); }, -1, 1, 2, 10), InputError);
  CHECK_THROWS_WITH_AS(least_squares_fit(id, -1, 1, 5, 5), doctest::Contains("at least degree + 1 = 6"),
                       InputError);
  CHECK_THROWS_AS(least_squares_fit(id, -1, 1, 0, 5), InputError);
  CHECK_THROWS_WITH_AS(sigmoid_approx(4), doctest::Contains("choose 3, 5 or 7"), InputError);
  CHECK_THROWS_AS(relu_quadratic(0), InputError);
  CHECK_THROWS_AS(relu_quadratic(NAN), InputError);
  CHECK_THROWS_AS(chebyshev_from_power({}), InputError);
  CHECK_THROWS_AS(chebyshev_from_power({1, NAN}), InputError);
  CHECK_THROWS_AS(sign_f(0), InputError);
  CHECK_THROWS_AS(sign_f(11), InputError);
  CHECK_THROWS_AS(sign_composite(2, 0), InputError);
  CHECK_THROWS_AS(sign_compositions_needed(2, 0, 10), InputError);
  CHECK_THROWS_AS(sign_compositions_needed(2, 1, 10), InputError);
  CHECK_THROWS_AS(sign_compositions_needed(2, 0.1, 0), InputError);
  CHECK_THROWS_AS(sign_compositions_needed(2, 0.1, 60), InputError);

  ChebyshevSeries s{-1, 1, {1, 2}};
  CHECK_NOTHROW(s.validate("t"));
  s.coeffs = {1};
  CHECK_THROWS_WITH_AS(s.validate("t"), doctest::Contains("needs degree ≥ 1"), InputError);
  s.coeffs = {1, NAN};
  CHECK_THROWS_WITH_AS(s.validate("t"), doctest::Contains("coefficient 1 is nan"), InputError);
  s = {1, -1, {1, 2}};
  CHECK_THROWS_WITH_AS(s.validate("t"), doctest::Contains("a < b"), InputError);
}

TEST_CASE("ckks/approx: Chebyshev division p = q·T_G + r, and its errors") {
  const std::vector<double> c = {0.3, -1.25, 0.5, 0.125, -0.0625, 0.75, 0.2};  // degree 6
  const ChebyshevDivision qr = chebyshev_divide(c, 4);
  REQUIRE(qr.q.size() == 3);
  REQUIRE(qr.r.size() == 4);
  const ChebyshevSeries p{-1, 1, c}, q{-1, 1, qr.q}, r{-1, 1, qr.r}, TG{-1, 1, {0, 0, 0, 0, 1}};
  for (double t : {-1.0, -0.71, -0.2, 0.0, 0.33, 0.9, 1.0}) {
    CAPTURE(t);
    CHECK(p(t) == doctest::Approx(q(t) * TG(t) + r(t)).epsilon(1e-14));
  }
  // T_G itself: quotient 1, remainder 0.
  const ChebyshevDivision tg = chebyshev_divide({0, 0, 0, 0, 1}, 4);
  CHECK(tg.q == std::vector<double>{1});
  CHECK(tg.r == std::vector<double>{0, 0, 0, 0});
  CHECK_THROWS_AS(chebyshev_divide(c, 2), InputError);  // degree 6 ≥ 2G
  CHECK_THROWS_AS(chebyshev_divide(c, 8), InputError);  // degree 6 < G
  CHECK_THROWS_AS(chebyshev_divide(c, 0), InputError);
}

#include "ckks/approx.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>

#include "ckks/math/errors.h"

namespace ckks {

namespace {

std::string num(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}

void check_interval(double a, double b, const char* op) {
  if (!std::isfinite(a) || !std::isfinite(b) || !(a < b))
    throw InputError(std::string(op) + ": the interval [" + num(a) + ", " + num(b) +
                     "] is not valid; give finite ends with a < b");
}

void check_degree(int degree, const char* op) {
  if (degree < 1)
    throw InputError(std::string(op) + ": degree " + std::to_string(degree) +
                     " is below 1; ask for degree 1 or more");
}

// f at x, refusing NaN and ±∞ (which would poison every coefficient).
double sample(const std::function<double(double)>& f, double x, const char* op) {
  const double y = f(x);
  if (!std::isfinite(y))
    throw InputError(std::string(op) + ": f(" + num(x) + ") = " + num(y) +
                     " is not finite; use a function that is finite on the whole interval");
  return y;
}

// The point of [a, b] that t ∈ [−1, 1] maps to.
double from_unit(double t, double a, double b) { return 0.5 * ((b - a) * t + a + b); }

void check_result(const ChebyshevSeries& p, const char* op) {
  for (std::size_t k = 0; k < p.coeffs.size(); ++k)
    if (!std::isfinite(p.coeffs[k]))
      throw InputError(std::string(op) + ": coefficient " + std::to_string(k) +
                       " came out non-finite (" + num(p.coeffs[k]) +
                       "); the function values are too large for double arithmetic");
}

}  // namespace

double ChebyshevSeries::operator()(double x) const {
  // Clenshaw: b_k = c_k + 2t·b_{k+1} − b_{k+2}; p = c_0 + t·b_1 − b_2.
  const double t = to_unit(x);
  double b1 = 0, b2 = 0;
  for (int k = degree(); k >= 1; --k) {
    const double b0 = coeffs[k] + 2 * t * b1 - b2;
    b2 = b1;
    b1 = b0;
  }
  return coeffs.empty() ? 0.0 : coeffs[0] + t * b1 - b2;
}

void ChebyshevSeries::validate(const char* op) const {
  check_interval(a, b, op);
  if (degree() < 1)
    throw InputError(std::string(op) + ": the series has " + std::to_string(coeffs.size()) +
                     " coefficient(s); it needs degree ≥ 1 (at least c_0 and c_1)");
  for (std::size_t k = 0; k < coeffs.size(); ++k)
    if (!std::isfinite(coeffs[k]))
      throw InputError(std::string(op) + ": coefficient " + std::to_string(k) + " is " +
                       num(coeffs[k]) + "; every coefficient must be finite");
}

ChebyshevSeries chebyshev_interpolate(const std::function<double(double)>& f, double a, double b,
                                      int degree) {
  const char* op = "chebyshev_interpolate";
  check_interval(a, b, op);
  check_degree(degree, op);
  const int n = degree;
  const double pi = std::numbers::pi;
  std::vector<double> y(n + 1);
  for (int j = 0; j <= n; ++j) y[j] = sample(f, from_unit(std::cos(j * pi / n), a, b), op);
  ChebyshevSeries p{a, b, std::vector<double>(n + 1)};
  for (int k = 0; k <= n; ++k) {
    double s = 0;
    for (int j = 0; j <= n; ++j) {
      const double w = (j == 0 || j == n) ? 0.5 : 1.0;
      // cos(jkπ/n) with the argument reduced mod 2n (exact integers) for accuracy at high degree.
      s += w * y[j] * std::cos(static_cast<double>((static_cast<long long>(j) * k) % (2 * n)) * pi / n);
    }
    p.coeffs[k] = (2.0 / n) * s * ((k == 0 || k == n) ? 0.5 : 1.0);
  }
  check_result(p, op);
  return p;
}

ChebyshevSeries least_squares_fit(const std::function<double(double)>& f, double a, double b,
                                  int degree, int samples) {
  const char* op = "least_squares_fit";
  check_interval(a, b, op);
  check_degree(degree, op);
  if (samples < degree + 1)
    throw InputError(std::string(op) + ": " + std::to_string(samples) + " samples cannot determine " +
                     std::to_string(degree + 1) + " coefficients; use at least degree + 1 = " +
                     std::to_string(degree + 1) + " samples (many more for a good fit)");
  const int m = samples, n = degree + 1;
  // Column-major m × n matrix A_ik = T_k(t_i) and right-hand side y_i = f(x_i).
  std::vector<double> A(static_cast<std::size_t>(m) * n), y(m);
  for (int i = 0; i < m; ++i) {
    const double x = m == 1 ? a : a + (b - a) * i / (m - 1);
    const double t = std::clamp((2 * x - a - b) / (b - a), -1.0, 1.0);
    y[i] = sample(f, x, op);
    double tkm1 = 1, tk = t;
    A[i] = 1;
    if (n > 1) A[static_cast<std::size_t>(m) + i] = t;
    for (int k = 2; k < n; ++k) {
      const double tk1 = 2 * t * tk - tkm1;
      tkm1 = tk;
      tk = tk1;
      A[static_cast<std::size_t>(k) * m + i] = tk;
    }
  }
  auto col = [&](int k) { return A.data() + static_cast<std::size_t>(k) * m; };
  // Householder QR: for each column k, reflect rows k..m−1 so the column becomes (r_kk, 0, …, 0);
  // apply the same reflection to the later columns and to y. Then solve R c = (Qᵀy)_{0..n−1}.
  std::vector<double> v(m);
  for (int k = 0; k < n; ++k) {
    double* ak = col(k);
    double norm = 0;
    for (int i = k; i < m; ++i) norm += ak[i] * ak[i];
    norm = std::sqrt(norm);
    if (norm == 0) throw InvariantError("least_squares_fit: rank-deficient Chebyshev matrix");
    const double alpha = ak[k] > 0 ? -norm : norm;  // sign chosen to avoid cancellation
    for (int i = k; i < m; ++i) v[i] = ak[i];
    v[k] -= alpha;
    double vv = 0;
    for (int i = k; i < m; ++i) vv += v[i] * v[i];
    auto reflect = [&](double* c) {
      double dot = 0;
      for (int i = k; i < m; ++i) dot += v[i] * c[i];
      const double s = 2 * dot / vv;
      for (int i = k; i < m; ++i) c[i] -= s * v[i];
    };
    if (vv > 0) {
      for (int j = k; j < n; ++j) reflect(col(j));
      reflect(y.data());
    }
  }
  ChebyshevSeries p{a, b, std::vector<double>(n)};
  for (int k = n - 1; k >= 0; --k) {
    double s = y[k];
    for (int j = k + 1; j < n; ++j) s -= col(j)[k] * p.coeffs[j];
    p.coeffs[k] = s / col(k)[k];
  }
  check_result(p, op);
  return p;
}

ChebyshevSeries chebyshev_from_power(const std::vector<double>& power, double a, double b) {
  const char* op = "chebyshev_from_power";
  check_interval(a, b, op);
  if (power.empty()) throw InputError(std::string(op) + ": no coefficients given; pass at least one");
  for (std::size_t j = 0; j < power.size(); ++j)
    if (!std::isfinite(power[j]))
      throw InputError(std::string(op) + ": power coefficient " + std::to_string(j) + " is " +
                       num(power[j]) + "; every coefficient must be finite");
  // x = u·t + w with u = (b − a)/2, w = (a + b)/2. Horner: r ← r·x + p_j, where in the Chebyshev
  // basis t·Σ r_k T_k = Σ r_k (T_{k+1} + T_{|k−1|})/2.
  const double u = 0.5 * (b - a), w = 0.5 * (a + b);
  std::vector<double> r{power.back()};
  for (int j = static_cast<int>(power.size()) - 2; j >= 0; --j) {
    std::vector<double> s(r.size() + 1, 0.0);
    for (std::size_t k = 0; k < r.size(); ++k) {
      s[k + 1] += 0.5 * u * r[k];
      s[k == 0 ? 1 : k - 1] += 0.5 * u * r[k];
      s[k] += w * r[k];
    }
    s[0] += power[j];
    r = std::move(s);
  }
  ChebyshevSeries p{a, b, std::move(r)};
  check_result(p, op);
  return p;
}

ChebyshevDivision chebyshev_divide(const std::vector<double>& c, int G) {
  const int d = static_cast<int>(c.size()) - 1;
  if (G < 1 || d < G || d >= 2 * G)
    throw InputError("chebyshev_divide: divisor T_" + std::to_string(G) + " does not fit degree " +
                     std::to_string(d) + "; choose G with G <= degree < 2G (the largest power of two "
                     "<= degree works)");
  ChebyshevDivision out{std::vector<double>(d - G + 1, 0.0), std::vector<double>(c.begin(), c.begin() + G)};
  out.q[0] = c[G];
  for (int i = G + 1; i <= d; ++i) {
    out.q[i - G] = 2 * c[i];
    out.r[2 * G - i] -= c[i];
  }
  return out;
}

ChebyshevSeries sigmoid_approx(int degree) {
  if (degree != 3 && degree != 5 && degree != 7)
    throw InputError("sigmoid_approx: degree " + std::to_string(degree) +
                     " is not offered; choose 3, 5 or 7 (or call least_squares_fit yourself)");
  return least_squares_fit([](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -8.0, 8.0, degree, 2001);
}

ChebyshevSeries relu_quadratic(double a) {
  if (!std::isfinite(a) || !(a > 0))
    throw InputError("relu_quadratic: half-width a = " + num(a) +
                     " is not valid; give a finite a > 0 (the fit is on [−a, a])");
  return ChebyshevSeries{-a, a, {a * 21.0 / 64.0, a * 0.5, a * 15.0 / 64.0}};
}

namespace {
void check_sign_n(int n, const char* op) {
  if (n < 1 || n > 10)
    throw InputError(std::string(op) + ": n = " + std::to_string(n) +
                     " is outside 1..10 (f_n has degree 2n + 1); choose n in 1..10");
}
}  // namespace

ChebyshevSeries sign_f(int n) {
  check_sign_n(n, "sign_f");
  // Power coefficients of Σ_i 4^{−i}·C(2i, i)·x·(1 − x²)^i (all dyadic rationals: exact in double).
  std::vector<double> p(2 * n + 2, 0.0);
  double central = 1;  // 4^{−i}·C(2i, i)
  for (int i = 0; i <= n; ++i) {
    if (i > 0) central *= (2.0 * i - 1) / (2.0 * i);
    double binom = 1;  // C(i, j)
    for (int j = 0; j <= i; ++j) {
      p[2 * j + 1] += central * binom * ((j % 2) ? -1.0 : 1.0);
      binom = binom * (i - j) / (j + 1);
    }
  }
  return chebyshev_from_power(p, -1, 1);
}

std::vector<ChebyshevSeries> sign_composite(int n, int depth) {
  check_sign_n(n, "sign_composite");
  if (depth < 1)
    throw InputError("sign_composite: depth " + std::to_string(depth) +
                     " is below 1; ask for at least one composition (see sign_compositions_needed)");
  return std::vector<ChebyshevSeries>(depth, sign_f(n));
}

int sign_compositions_needed(int n, double eps, double alpha) {
  check_sign_n(n, "sign_compositions_needed");
  if (!(eps > 0 && eps < 1))
    throw InputError("sign_compositions_needed: eps = " + num(eps) +
                     " must lie in (0, 1): it is the smallest |x| that must be classified");
  if (!(alpha > 0 && alpha <= 50))
    throw InputError("sign_compositions_needed: alpha = " + num(alpha) +
                     " must lie in (0, 50]: the target error is 2^-alpha, above double resolution "
                     "near 1");
  const ChebyshevSeries f = sign_f(n);
  const double target = std::exp2(-alpha);
  double y = eps;
  for (int d = 1; d <= 100000; ++d) {
    y = f(y);
    if (1 - y <= target) return d;
  }
  throw InvariantError("sign_compositions_needed: no convergence");
}

}  // namespace ckks

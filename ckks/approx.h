// Function approximation for encrypted evaluation: turn a real function into the coefficients of a
// polynomial in the Chebyshev basis, which PolynomialEvaluator (polynomial.h) then evaluates on a
// ciphertext. Everything here is plain double arithmetic; nothing is encrypted.
//
// Why the Chebyshev basis: on [−1, 1] every T_k is bounded by 1, so the coefficients of a good
// approximation stay of the size of the function and decay with k [ATAP, ch. 3], while power-basis
// coefficients of the same polynomial can be far larger and cancel each other. Homomorphic
// evaluation in this basis is the approach of [BMTH21] (see polynomial.h).
//
// Sources:
//   [ATAP]   L. N. Trefethen, Approximation Theory and Approximation Practice, SIAM 2013.
//            Ch. 3: Chebyshev series; ch. 4 "Interpolants, projections, and aliasing"
//            (Thm 4.1: on the (n+1)-point Chebyshev grid every T_N coincides with one T_m, m ≤ n).
//            Checked against the text of ch. 4 as published by the author (chebfun.org/ATAP).
//   [CKK20]  J. H. Cheon, Dongwoo Kim, Duhyeong Kim, "Efficient Homomorphic Comparison Methods with
//            Optimal Complexity", ASIACRYPT 2020 (DOI 10.1007/978-3-030-64834-3_8), IACR ePrint
//            2019/1234. Title, authors and the abstract's claims checked on the ePrint page; the
//            formula of f_n and its three defining properties only in secondary sources (a blog
//            post reading the paper, and third-party implementations), so no section number is
//            given here. The formula is checked against those properties numerically in
//            tests/ckks/test_approx.cpp.
#pragma once
#include <functional>
#include <vector>

namespace ckks {

/// p(x) = Σ_k coeffs[k]·T_k(t), with t = (2x − a − b)/(b − a) mapping [a, b] onto [−1, 1].
/// The polynomial is defined on all of R, but is only meant to approximate anything on [a, b]:
/// outside, |T_k(t)| grows like |2t|^k / 2 and so does p.
struct ChebyshevSeries {
  double a = -1;                ///< left end of the approximation interval
  double b = 1;                 ///< right end (a < b)
  std::vector<double> coeffs;   ///< c_0 … c_d, coefficient of T_k at index k

  /// p(x) by Clenshaw's recurrence (stable; O(d)). Any real x (extrapolates outside [a, b]).
  double operator()(double x) const;
  /// d = coeffs.size() − 1 (the declared degree, even if the last coefficients are zero);
  /// −1 for an empty series.
  int degree() const { return static_cast<int>(coeffs.size()) - 1; }
  /// t = (2x − a − b)/(b − a): the point of [−1, 1] that x ∈ [a, b] maps to.
  double to_unit(double x) const { return (2 * x - a - b) / (b - a); }
  /// Throws InputError, naming `op`, unless a < b are finite, the degree is ≥ 1 and every
  /// coefficient is finite.
  void validate(const char* op) const;
};

/// The interpolant of f in the degree + 1 Chebyshev points of [a, b] (the images of
/// x_j = cos(jπ/d), j = 0..d, the extrema of T_d: ATAP's Chebyshev grid) [ATAP, ch. 4]. By the
/// aliasing of Chebyshev polynomials on that grid [ATAP, Thm 4.1] the coefficients come from
/// the discrete cosine sums c_k = (2/d)·Σ''_j f(x_j)·cos(jkπ/d) (end terms halved; c_0 and c_d
/// halved as well), exact for polynomials of degree ≤ d. For f analytic near [a, b] the error
/// decays geometrically with d [ATAP, Thm 8.2, as quoted in ch. 4].
/// Calls f exactly degree + 1 times. Throws InputError if degree < 1, a ≥ b or either is not
/// finite, or f returns NaN/±∞ (naming the point).
ChebyshevSeries chebyshev_interpolate(const std::function<double(double)>& f, double a, double b,
                                      int degree);

/// The degree-`degree` polynomial minimising Σ_i (p(x_i) − f(x_i))² over `samples` equally spaced
/// points x_i = a + i·(b − a)/(samples − 1), solved in the Chebyshev basis by Householder QR of the
/// samples × (degree + 1) matrix T_k(t_i) (well conditioned: no normal equations). As samples → ∞
/// this tends to the continuous least-squares fit with uniform weight on [a, b].
/// Throws InputError if degree < 1, samples < degree + 1, a ≥ b or either is not finite, or f
/// returns NaN/±∞.
ChebyshevSeries least_squares_fit(const std::function<double(double)>& f, double a, double b,
                                  int degree, int samples);

/// The Chebyshev form on [a, b] of the power-basis polynomial Σ_j power[j]·x^j (x itself, not t).
/// Exact up to double rounding (Horner's rule carried out in the Chebyshev basis, with
/// x·T_k = (T_{k+1} + T_{|k−1|})/2 after the affine change of variable). Throws InputError for an
/// empty or non-finite input, or a bad interval.
ChebyshevSeries chebyshev_from_power(const std::vector<double>& power, double a = -1, double b = 1);

/// Division by T_G in the Chebyshev basis: for c = (c_0 … c_d) with G ≤ d < 2G, the q (degree
/// d − G) and r (G coefficients, degree < G) with Σ c_k·T_k = q·T_G + r. From
/// T_G·T_j = (T_{G+j} + T_{G−j})/2 for 0 < j < G (cos α·cos β = (cos(α+β) + cos(α−β))/2): the term
/// c_i·T_i, G < i ≤ d, becomes 2c_i·T_{i−G}·T_G − c_i·T_{2G−i}; c_G·T_G stays q_0. Exact up to
/// double rounding. PolynomialEvaluator's recursive split (polynomial.h, step 3).
/// Throws InputError unless G ≥ 1 and G ≤ d < 2G.
struct ChebyshevDivision {
  std::vector<double> q;  ///< quotient, d − G + 1 coefficients
  std::vector<double> r;  ///< remainder, G coefficients (trailing zeros kept)
};
ChebyshevDivision chebyshev_divide(const std::vector<double>& c, int G);

// ---- Ready approximations ----

/// Least-squares fit of the logistic function σ(x) = 1/(1 + e^{−x}) on [−8, 8], degree 3, 5 or 7
/// (2001 equally spaced samples, least_squares_fit). Maximum error |p − σ| on [−8, 8], measured on
/// a grid of 16001 points (tests/ckks/test_approx.cpp), rounded up; it is reached at x = ±8:
///   degree 3: 0.1138    degree 5: 0.0608    degree 7: 0.0317
/// The even coefficients beyond c_0 = 1/2 vanish up to rounding (σ − 1/2 is odd).
/// Levels: ceil(log2(d + 1)) + 1 (the interval is not [−1, 1]; see PolynomialEvaluator).
/// Throws InputError for any other degree.
ChebyshevSeries sigmoid_approx(int degree);

/// The least-squares quadratic for ReLU(x) = max(x, 0) on [−a, a] with uniform weight (continuous,
/// in closed form): ReLU = x/2 + |x|/2, and projecting |x| onto the Legendre polynomials P_0, P_2
/// gives p(x) = 3a/32 + x/2 + 15x²/(32a), i.e. a·(21/64·T_0 + 1/2·T_1 + 15/64·T_2) in t = x/a.
/// Maximum error 3a/32 (at x = 0); the error at x = ±a is a/16. Throws InputError unless a > 0 is finite.
ChebyshevSeries relu_quadratic(double a);

/// The sign polynomial f_n of [CKK20]: f_n(x) = Σ_{i=0}^{n} 4^{−i}·C(2i, i)·x·(1 − x²)^i, of degree
/// 2n + 1, as a Chebyshev series on [−1, 1]. It is the unique polynomial with f_n odd,
/// f_n(1) = 1 and f_n'(x) = c_n·(1 − x²)^n (c_n = (2n+1)·C(2n, n)/4^n = f_n'(0)); e.g.
/// f_1 = (3x − x³)/2, f_2 = (15x − 10x³ + 3x⁵)/8, f_3 = (35x − 35x³ + 21x⁵ − 5x⁷)/16.
/// f_n maps [−1, 1] onto itself, increasingly, and pushes every x ≠ 0 towards sign(x), so the
/// d-fold composition f_n ∘ … ∘ f_n approaches sign on [−1, −ε] ∪ [ε, 1].
/// (Formula and properties: secondary sources, see [CKK20] above.) Throws InputError unless 1 ≤ n ≤ 10.
ChebyshevSeries sign_f(int n);

/// `depth` copies of sign_f(n): evaluate them one after the other (output of one is the input of
/// the next; each keeps its values in [−1, 1]). Levels: depth·ceil(log2(2n + 2)).
/// Throws InputError unless 1 ≤ n ≤ 10 and depth ≥ 1.
std::vector<ChebyshevSeries> sign_composite(int n, int depth);

/// The smallest d such that |f_n^(d)(x) − sign(x)| ≤ 2^{−alpha} for every x with eps ≤ |x| ≤ 1.
/// Computed exactly (up to double rounding) rather than from the asymptotic bound of [CKK20]
/// (whose abstract states Θ(log(1/ε)) + Θ(log α) compositions): f_n is odd, increasing and concave
/// on [0, 1] with f_n(1) = 1, so the worst x is x = eps and it suffices to iterate from there.
/// Throws InputError unless 1 ≤ n ≤ 10, 0 < eps < 1 and 0 < alpha ≤ 50.
int sign_compositions_needed(int n, double eps, double alpha);

}  // namespace ckks

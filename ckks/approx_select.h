// Choosing an approximation: given a function, an interval [a, b], an error target and a depth limit,
// build the candidate polynomial circuits of approx.h and return the cheapest one that meets the
// target — fewest levels first, then fewest ciphertext–ciphertext products. Everything here except
// evaluate() is plain double arithmetic.
//
// The candidates (for the logistic function σ(x) = 1/(1 + e^{−x})):
//   ChebyshevInterpolant  one chebyshev_interpolate of σ on [a, b] (approx.h) [ATAP, ch. 4];
//   LeastSquares          one least_squares_fit of σ on [a, b], degree ≤ 127 (equally spaced samples:
//                         beyond that the fit loses accuracy, see docs/circuits.md §5);
//   CompressedComposite   n ∈ {1, 2} odd cubics that fold the wide interval into a narrow one, then a
//                         Chebyshev interpolant on the narrow one (the design below).
//
// Why σ on a wide interval is hard for one polynomial: σ has poles at x = ±iπ, so on [−L, L] the
// Chebyshev coefficients of σ decay like ρ^{−k} with ρ = π/L + √(1 + π²/L²) [ATAP, Thm 8.2, as quoted
// in ch. 4] — for L = 70, ρ ≈ 1.046, and the interpolant needs degree ≈ 150 for an error of 2^−10.
//
// The compressed composite (our design; departure from [CKP22], whose abstract gives the idea —
// a domain-extension polynomial keeps the function on its original interval while mapping a k times
// wider one into it, iterated O(log K) times — but whose polynomials we did not read):
//   1. h(y) = y − k·y³ with k = (R − s)/R³, so h(±R) = ±s: the ends of [−R, R] land at ±s, where σ is
//      within e^{−s} of 0 or 1. h rises to its maximum M = (2/3)·y* at y* = 1/√(3k) (or is monotone
//      when y* ≥ R, then M = s) and comes back down to s at R: every y ∈ [−R, R] lands in [−M, M].
//   2. On [−y*, y*] h is increasing; h₁⁻¹ is its inverse there. The last stage approximates
//      F(z) = σ(h₁⁻¹(z)) on [−M, M], not σ(z): where h is increasing (|y| ≤ y*), F(h(y)) = σ(y)
//      exactly, so the cubic adds no error around 0 where σ is steep; where it folds back (|y| > y*,
//      y ≥ s in size), F(h(y)) = σ(y') with y' = h₁⁻¹(h(y)) ≥ s in size and of the same sign, so the
//      error is below e^{−s}. F is analytic near [−M, M] except at its ends (h′(y*) = 0), where its
//      singular part has size σ′(y*) ≈ e^{−y*}, negligible.
//   3. A second cubic repeats 1–2 on [−M, M] (R ← M). Each stage is scaled so its output lies in
//      [−1, 1]; later stages are series on [−1, 1], where the affine map is free (PolynomialEvaluator).
//
// Sources: [ATAP] (interpolation, convergence), [CKP22] (the domain-extension idea, abstract only),
// [Chiang24NN] (arXiv 2405.15201: the wide intervals [−30, 30], [−50, 50], [−70, 70] and the
// neural-network-as-polynomial idea, abstract only; the network is not built here, see
// docs/circuits.md §5). docs/references.md says where each was read.
#pragma once
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/ciphertext.h"
#include "ckks/polynomial.h"

namespace ckks {

/// The functions the chooser knows.
enum class ApproxFunction {
  Sigmoid,  ///< σ(x) = 1/(1 + e^{−x})
};

/// How a candidate is built (see the file comment).
enum class ApproxMethod { ChebyshevInterpolant, LeastSquares, CompressedComposite };

/// "sigmoid"; "chebyshev", "least-squares", "compressed".
const char* to_string(ApproxFunction f);
const char* to_string(ApproxMethod m);

/// f(x) in double precision (σ computed without overflow for any finite x).
double approx_reference(ApproxFunction f, double x);

/// A polynomial circuit: stages evaluated one after the other, the output of stage i being the input
/// of stage i + 1. stages[0] is a series on [a, b] (or a wider interval containing it); every later
/// stage is a series on [−1, 1] and receives values in [−1, 1].
struct ApproxCandidate {
  ApproxFunction function = ApproxFunction::Sigmoid;
  ApproxMethod method = ApproxMethod::ChebyshevInterpolant;
  double a = 0, b = 0;                  ///< the interval the error is measured on
  std::vector<ChebyshevSeries> stages;  ///< evaluated in order
  double fold_end = 0;                  ///< CompressedComposite: s, where ±R lands (0 otherwise)
  int depth = 0;                        ///< levels: Σ PolynomialEvaluator::levels_needed(stage)
  int products = 0;                     ///< ciphertext × ciphertext products (each relinearised)
  double max_error = 0;                 ///< max |circuit(x) − f(x)| on the grid of approx_max_error

  /// The circuit in double precision at x (any real x; meant for x ∈ [a, b]).
  double operator()(double x) const;
  /// Degree of the last stage (the approximating polynomial proper).
  int degree() const { return stages.empty() ? -1 : stages.back().degree(); }
  /// One line, e.g. "compressed: 1 cubic (s = 8) + degree 59 on [-70, 70], depth 9, 17 products,
  /// max error 9.75e-04 (2^-10.0)".
  std::string describe() const;
};

/// The ciphertext × ciphertext products (multiply_relin calls) PolynomialEvaluator::evaluate makes
/// for p: the Chebyshev polynomials T_i it builds plus one per giant-step product q·T_G, following the
/// same recursion on the same coefficients (exact zeros are skipped, as the evaluator skips them).
/// With every coefficient non-zero: degree 7 → 5, 15 → 8, 31 → 13, 63 → 18, 127 → 27 (polynomial.h).
/// Throws InputError as ChebyshevSeries::validate.
int polynomial_products(const ChebyshevSeries& p);

/// max |c(x) − f(x)| over `points` equally spaced points of [c.a, c.b] (ends included), in double.
/// Throws InputError if points < 2 or c has no stage.
double approx_max_error(const ApproxCandidate& c, int points);

/// The Chebyshev interpolant of f on [a, b] of the given degree as a one-stage candidate, with its
/// depth, products and max_error (grid of 65537 points). On a symmetric interval (a = −b) the odd
/// part of σ − 1/2 is kept exactly: c_0 = 1/2 and the other even coefficients set to 0 (they vanish
/// in exact arithmetic), so the evaluator skips them. Throws InputError for a bad interval or degree.
ApproxCandidate approx_chebyshev(ApproxFunction f, double a, double b, int degree);

/// The least-squares fit of f on [a, b] (least_squares_fit with max(2001, 16·(degree + 1)) samples)
/// as a one-stage candidate. Throws InputError for a bad interval, or degree outside 1..127.
ApproxCandidate approx_least_squares(ApproxFunction f, double a, double b, int degree);

/// The compressed composite of the file comment: `cubics` (1 or 2) folding cubics with end value
/// s = fold_end, then the Chebyshev interpolant of f ∘ h₁⁻¹ ∘ … of the given degree on [−1, 1]. The
/// cubics are built on [−L, L], L = max(|a|, |b|) (σ − 1/2 is odd, so the circuit is odd about 0).
/// Throws InputError for a bad interval or degree, cubics outside 1..2, or fold_end not in
/// (0, R) at some stage (then the cubic would not compress: choose a smaller fold_end).
ApproxCandidate approx_compressed(ApproxFunction f, double a, double b, int cubics, double fold_end,
                                  int degree);

/// What the user asks of approx_choose.
struct ApproxRequest {
  ApproxFunction function = ApproxFunction::Sigmoid;
  double a = -8, b = 8;       ///< the interval the inputs are known to lie in
  double max_error = 0x1p-10; ///< target: max |p(x) − f(x)| on [a, b] (absolute)
  int max_depth = 10;         ///< at most this many levels
};

/// The cheapest candidate meeting the target: among every method (Chebyshev interpolant, least
/// squares, compressed composite with 1 or 2 cubics and fold_end s ∈ {6, 8, 10, 12, 14}), the one
/// with the fewest levels, then the fewest products (then the smaller error). For each method and
/// each depth, the smallest odd degree of the last stage that meets the target is found by bisection
/// on the error measured on 16385 grid points, then confirmed on 65537 points (the returned
/// max_error). The error is the double-precision one; on a ciphertext add the CKKS noise of the
/// circuit (docs/circuits.md §5 measures both).
/// Throws InputError, naming the value and the fix, if: a ≥ b or either is not finite; max_error is
/// not > 0 (or not finite); max_depth < 1; or no candidate reaches max_error within max_depth (the
/// message gives the smallest error found within the limit and the depth that would be needed).
ApproxCandidate approx_choose(const ApproxRequest& request);

/// All candidates approx_choose weighs for `request` (one per method variant and depth that meets
/// the target: the smallest degree at that depth), sorted cheapest first. Same errors as
/// approx_choose except that an empty list is returned instead of the "no candidate" error.
std::vector<ApproxCandidate> approx_candidates(const ApproxRequest& request);

/// c on every slot of x: each stage by pe.evaluate in turn. Result at level x.level − c.depth, scale
/// x.scale. Throws InputError if c has no stage, LevelError if x.level < c.depth (naming both), and
/// whatever PolynomialEvaluator::evaluate throws.
Ciphertext evaluate(const PolynomialEvaluator& pe, const Ciphertext& x, const ApproxCandidate& c);

}  // namespace ckks

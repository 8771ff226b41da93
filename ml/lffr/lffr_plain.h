// LFFR, regression through the logistic function [Chiang24]: the plaintext twin of the encrypted
// training in lffr_encrypted.h, and the pieces both share (the target normalisation, the sigmoid
// polynomial, the preconditioner).
//
// Model: ŷ = σ(A w) with A = [X | 1] (n × D, standardised features, bias LAST, as in
// ml/linreg/linreg_plain.h) and σ(z) = 1/(1 + e^(−z)); the targets are normalised into (0, 1)
// first (TargetScaling), as [Chiang24] advises. Loss: the logistic log-loss with fractional targets,
//     L(w) = −Σ_r [ y_r·ln σ(z_r) + (1 − y_r)·ln(1 − σ(z_r)) ],   z = A w,
// whose gradient is −Aᵀ(y − σ(A w)) and whose Hessian Aᵀ diag(σ(1 − σ)) A is bounded by ¼·AᵀA
// (σ(1 − σ) ≤ ¼). The constant simplified Hessian is that bound made diagonal as in [BV18]:
//     b_j = 1 / (¼·B̃_jj),   B̃_jj = Σ_r |A_rj|·Σ_j' |A_rj'|   (sfh_preconditioner of linreg),
// so ¼B̃ ⪰ ¼AᵀA ⪰ the Hessian and each step
//     w_{t+1} = w_t + diag(b)·Aᵀ(y − σ(A w_t)),   w_0 = 0
// is a majorise-minimise (Newton-like) step that never increases L. [Chiang24]'s abstract names the
// model, the normalised targets and the constant simplified Hessian; the paper's own loss and matrix
// could not be read (docs/references.md), so the ones above are derived here and checked by
// tests/ml/test_ridge_lffr.cpp.
//
// Under encryption σ is a polynomial (LffrSigmoid) on an interval [−R, R] that the training visits;
// the plaintext twin runs the same polynomial, so the two differ by CKKS noise only. The first step
// needs no σ: w_0 = 0 gives σ(0) = ½ exactly, in both.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ckks/approx.h"

namespace ckks::ml {

/// The affine map of a target into (0, 1): u = lo + (hi − lo)·(y − min)/(max − min) with
/// [lo, hi] = [0.1, 0.9], fitted on the training rows. The margin keeps u away from 0 and 1, where the
/// log-loss would push z to ±∞, and leaves room for test targets up to 12.5% of the training range
/// outside it.
struct TargetScaling {
  static constexpr double lo = 0.1, hi = 0.9;
  double min = 0.0, max = 1.0;
  /// Fits min and max of y. Throws ckks::InputError naming `name` if y is empty, a value is not
  /// finite, or y is constant (max = min: it cannot be normalised; drop that target).
  static TargetScaling fit(const std::vector<double>& y, const std::string& name);
  double to_unit(double y) const { return lo + (hi - lo) * (y - min) / (max - min); }
  double from_unit(double u) const { return min + (u - lo) * (max - min) / (hi - lo); }
};

/// σ(z) = 1/(1 + e^(−z)), for any real z. No errors.
double sigmoid(double z);

/// σ on [−R, R] as a polynomial in t = z/R ∈ [−1, 1]: the Chebyshev interpolant of t ↦ σ(R·t) of
/// the given degree (chebyshev_interpolate, [ATAP] ch. 4). Evaluating it on t costs
/// PolynomialEvaluator::levels_needed(degree) levels (the interval is [−1, 1]: no extra level);
/// the encrypted training folds 1/R into the weights (lffr_encrypted.h).
struct LffrSigmoid {
  double radius = 0;      ///< R
  ChebyshevSeries unit;   ///< p(t) ≈ σ(R·t) on [−1, 1]
  double max_error = 0;   ///< max |p(z/R) − σ(z)| over 4001 equally spaced z ∈ [−R, R]
  /// p(z/R): the approximation of σ(z) (meant for |z| ≤ R).
  double operator()(double z) const { return unit(z / radius); }
  /// Throws ckks::InputError if radius is not finite and > 0, or degree < 1.
  static LffrSigmoid make(double radius, int degree);
};

/// The radius R for an observed |z| ≤ z_abs: ⌈1.25·z_abs⌉, at least 1 (a 25% margin for the
/// polynomial twin, whose path differs slightly from the exact-σ one). No errors.
double lffr_radius_for(double z_abs);

/// The LFFR preconditioner b (length D): 4 / B̃_jj, the inverse of ¼·B̃ (see the file comment).
/// Throws ckks::InputError as sfh_preconditioner (empty or ragged A, a non-finite value, a zero column).
std::vector<double> lffr_preconditioner(const std::vector<std::vector<double>>& A);

/// A run of lffr_train.
struct LffrTrace {
  std::vector<std::vector<double>> iterates;  ///< w_1 … w_K (each of length D)
  double z_min = 0, z_max = 0;                ///< extremes of z = A w_t over t = 1 … K − 1 and all rows:
                                              ///< the arguments σ was evaluated at (0, 0 when K = 1)
};

/// K = iterations steps of w_{t+1} = w_t + diag(b)·Aᵀ(y − s_t) from w_0 = 0, with s_0 = ½ (σ(0),
/// exactly) and s_t = sigma(A w_t) for t ≥ 1; b = lffr_preconditioner(A). `sigma` is the exact σ
/// (the reference fit) or an LffrSigmoid (the twin of the encrypted run).
/// Shapes: A is n×D, y has n values in (0, 1) (TargetScaling::to_unit).
/// Throws ckks::InputError if iterations < 1, A is empty or ragged, y has the wrong length, a value
/// is not finite, or a column of A is all zeros.
LffrTrace lffr_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y, int iterations,
                     const std::function<double(double)>& sigma);

/// Predictions σ(A w) in (0, 1) (n values) with the exact σ. Throws as predict (linreg_plain.h).
std::vector<double> lffr_predict(const std::vector<std::vector<double>>& A, const std::vector<double>& w);

}  // namespace ckks::ml

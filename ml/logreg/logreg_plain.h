// Plaintext reference for binary logistic regression trained with Nesterov's accelerated gradient
// and the quadratic gradient of J. Chiang, "Privacy-Preserving Logistic Regression Training with
// A Faster Gradient Variant" [Chiang22QG] — the ground truth the encrypted model
// (ml/logreg/logreg_encrypted.h) is compared against, computed with the SAME polynomial sigmoid, the same
// preconditioner and the same schedules, in double precision.
//
// Data: a design matrix A = [X | 1] (n rows, D = d + 1 columns, bias LAST, features standardised
// on the training split) and labels y ∈ {0, 1}. Weights w of length D; the score of row r is
// (A w)_r and the predicted probability σ((A w)_r).
//
// Algorithm (gradient ASCENT on the log-likelihood ℓ(w) = Σ_r y_r log σ(a_r·w) + (1−y_r) log(1−σ(a_r·w))):
//   g(w)   = Aᵀ(y − σ̃(A w))                  gradient of ℓ, σ̃ the polynomial sigmoid
//   B̄_jj  = ε + ¼·Σ_r |A_rj|·Σ_k |A_rk|       diagonal bound on the Hessian −AᵀSA (S ⪯ ¼I),
//                                               the simplified fixed Hessian of Bonte–Vercauteren
//   G(w)   = B̄⁻¹ g(w)                          Chiang's "quadratic gradient"
//   w_0 = v_0 = 0,
//   w_{t+1} = v_t + (1 + η_t)·G(v_t)
//   v_{t+1} = (1 − γ_t)·w_{t+1} + γ_t·w_t
// with the Nesterov schedule of Kim–Song–Kim–Lee–Cheon (BMC Med. Genomics 2018), which Chiang
// reuses: α_0 = 0.01, α_{t+1} = (1 + √(1 + 4α_t²))/2, γ_t = (1 − α_t)/α_{t+1}; and the learning
// rate η_t = eta0/(t + 1) (eta0 a parameter, default below).
// SOURCE STATUS: the title, the author, and that the paper enhances NAG (and AdaGrad, Adam) with the
// quadratic gradient and trains homomorphically in about four iterations are checked against the
// arXiv abstract (arxiv.org/html/2201.10838v15 and v18). The paper's own algorithm box (the exact
// "1 + η_t" step, B̄'s ε and its schedules) could NOT be reached from here, so no section or
// equation number is cited: those forms are the ones in the project brief. The γ_t recurrence is
// the standard Nesterov one, λ_t = (1 + √(1 + 4λ_{t−1}²))/2, γ_t = (1 − λ_t)/λ_{t+1},
// x_{t+1} = (1 − γ_t)·y_{t+1} + γ_t·y_t (Bubeck's blog post on NAG, as quoted in a Q&A thread —
// secondary), here started at α_0 = 0.01 as in Kim et al. (not checked).
//
// σ̃ = ckks::sigmoid_approx(degree) (least-squares fit on [−8, 8]; ckks/approx.h). It is only a
// sigmoid on [−8, 8]: logreg_nag_train records max_r |(A v_t)_r| so callers can check the
// margins stay inside (see LogregTrace::max_abs_margin).
#pragma once
#include <vector>

namespace ckks::ml {

struct LogregOptions {
  int iterations = 4;        ///< K ≥ 1
  int sigmoid_degree = 3;    ///< 3, 5 or 7 (sigmoid_approx)
  /// η_t = eta0/(t + 1). Default 0 (step 1 + η_t = 1, the quadratic gradient being a
  /// Newton-like step): on breast cancer, eta0 = 1 pushes σ̃'s inputs to 10.5 within 4 iterations,
  /// outside the [−8, 8] where σ̃ approximates σ, while eta0 = 0 keeps them ≤ 8.14.
  double eta0 = 0.0;
  double epsilon = 1e-8;     ///< ε in B̄
};

/// Checks a design matrix A (rows of equal, non-zero length, every entry finite). Throws
/// ckks::InputError naming `op` and the first offending row or entry.
void check_design_matrix(const std::vector<std::vector<double>>& A, const char* op);

/// 1/B̄_jj for every column j (length D), B̄_jj = ε + ¼·Σ_r |A_rj|·Σ_k |A_rk|.
/// Throws ckks::InputError if A is empty, ragged or non-finite, or ε is not a finite number ≥ 0,
/// or some B̄_jj is 0 (an all-zero column with ε = 0).
std::vector<double> quadratic_gradient_preconditioner(const std::vector<std::vector<double>>& A,
                                                      double epsilon = 1e-8);

/// γ_t of the NAG schedule above (t ≥ 0).
double nag_gamma(int t);
/// 1 + η_t = 1 + eta0/(t + 1) (t ≥ 0).
double nag_step(int t, double eta0);

/// Throws ckks::InputError unless every y[i] is exactly 0 or 1 (the message names the index and
/// the value, and says to map the classes to 0/1) and both classes occur. `op` prefixes the message.
void check_binary_labels(const std::vector<double>& y, const char* op);

struct LogregTrace {
  std::vector<std::vector<double>> w;  ///< w_1 … w_K
  std::vector<double> max_abs_margin;  ///< max_r |(A v_t)_r| for t = 0 … K−1 (σ̃'s inputs)
};

/// Runs the algorithm above for options.iterations steps.
/// Throws ckks::InputError on bad shapes, non-finite values, labels other than 0/1, iterations < 1,
/// or an unsupported sigmoid degree.
LogregTrace logreg_nag_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                             const LogregOptions& options);

/// Area under the ROC curve by the rank (Mann–Whitney U) formula:
///   AUC = (Σ_{positives} rank_i − n₊(n₊ + 1)/2) / (n₊·n₋),
/// ranks 1-based over all scores with ties given their average rank (so tied scores count ½).
/// Throws ckks::InputError on a size mismatch, labels other than 0/1, or a missing class.
double roc_auc(const std::vector<double>& scores, const std::vector<double>& labels);

/// Fraction of rows with (score ≥ 0) == (label == 1), i.e. σ(score) ≥ ½ predicts class 1.
/// Throws ckks::InputError on a size mismatch, no rows, or labels other than 0/1.
double accuracy(const std::vector<double>& scores, const std::vector<double>& labels);

}  // namespace ckks::ml

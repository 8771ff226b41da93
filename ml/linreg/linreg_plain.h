// Plaintext reference algorithms for least-squares linear regression.
//
// These are the ground truth the encrypted model is compared against. They work on standardised
// data (see Standardizer) with a bias column appended LAST: the design matrix is
//     A = [X | 1]   (n rows = samples, D = d + 1 columns = d features + bias),
// and a model is a weight vector w of length D (w[D−1] is the intercept); the prediction for row
// r is (A w)_r. The loss minimised is the residual sum of squares L(w) = ‖y − A w‖².
//
// Two solvers:
//  * least_squares_closed_form — the exact minimiser via the normal equations and Cholesky;
//  * sfh_train — the simplified-fixed-Hessian (SFH) iteration of Bonte & Vercauteren [BV18],
//    "Privacy-preserving logistic regression training", BMC Medical Genomics 11:86,
//    2018, specialised to least squares. It needs only additions and multiplications by
//    precomputed constants, which is what makes it cheap under CKKS.
//
// Matrices are std::vector<std::vector<double>> of rows: A[r][j] is row r, column j.
#pragma once
#include <string>
#include <vector>

namespace ckks::ml {

/// Returns the design matrix [X | 1]: each row of X (n rows of d values) with a 1 appended, so
/// n rows of D = d + 1 values, bias LAST.
/// Throws ckks::InputError if X is empty, its rows differ in length, or a value is not finite.
std::vector<std::vector<double>> with_bias_column(const std::vector<std::vector<double>>& X);

/// Exact least squares: the w (length D) minimising ‖y − A w‖², found by solving the normal
/// equations AᵀA w = Aᵀy with a Cholesky factorisation AᵀA = L Lᵀ and two triangular solves.
/// Shapes: A is n×D (n rows of D values), y has n values.
/// Preconditions: A has full column rank, so n ≥ D and no column is a linear combination of the
/// others (with a bias column, this excludes constant features).
/// Throws ckks::InputError if A is empty or ragged, y has the wrong length, a value is not
/// finite, or AᵀA is not (numerically) positive definite: a Cholesky pivot is ≤ 1e-12 times the
/// corresponding diagonal entry of AᵀA, i.e. that column is a linear combination of the earlier
/// ones up to a relative residual of 1e-12 (collinear features; the message names the column).
/// Source: the normal equations, e.g. Golub & Van Loan, Matrix Computations (least squares,
/// Cholesky). (Less stable than QR for ill-conditioned A, but it is the formula the encrypted
/// variants approximate, and standardised data keeps AᵀA well scaled.)
std::vector<double> least_squares_closed_form(const std::vector<std::vector<double>>& A,
                                              const std::vector<double>& y);

/// The simplified fixed Hessian of [BV18] for least squares, as the diagonal
/// of its inverse: returns b (length D) with
///     b_j = 1 / B̃_jj,   B̃_jj = Σ_r |A_rj| · Σ_{j'} |A_rj'|.
/// The Hessian of ½‖y − A w‖² is H = AᵀA. B̃_jj ≥ Σ_{j'} |(AᵀA)_jj'| (the j-th absolute row sum,
/// by the triangle inequality), so B̃ − AᵀA is diagonally dominant with a non-negative diagonal and
/// hence positive semidefinite (Gershgorin). That makes the iteration of sfh_train a
/// majorise-minimise step: the loss never increases.
/// Shapes: A is n×D. Throws ckks::InputError if A is empty or ragged, a value is not finite, or a
/// column of A is all zeros (B̃_jj = 0; drop that column).
/// Ridge regression [Chiang24] (the SFH extended to ridge; the matrix below is derived here): with λ > 0 the same bound grows by the ridge term's Hessian λ·P, P = diag(1, …, 1, 0) (every
/// weight but the bias, the last column, is penalised): b_j = 1 / (B̃_jj + λ·P_jj). λ = 0 gives
/// the least-squares b above exactly (no term is added).
/// Throws ckks::InputError as above, and if λ is negative or not finite.
std::vector<double> sfh_preconditioner(const std::vector<std::vector<double>>& A, double lambda = 0.0);

/// Trains least squares with the SFH iteration of [BV18], with the
/// least-squares Hessian AᵀA in place of their logistic-regression bound ¼·AᵀA:
///     w_0 = 0,   w_{t+1} = w_t + diag(b) · Aᵀ (y − A w_t),   b = sfh_preconditioner(A),
/// and returns all iterates w_1, …, w_K (K = iterations; element t−1 is w_t, each of length D),
/// so callers can follow the loss ‖y − A w_t‖², which is non-increasing in t and converges to the
/// least-squares minimum (slowly if features are strongly correlated).
/// Shapes: A is n×D, y has n values. Throws ckks::InputError if iterations < 1, A is empty or
/// ragged, y has the wrong length, a value is not finite, or a column of A is all zeros.
///
/// Ridge (λ > 0): the loss is ½‖y − A w‖² + ½λ‖P w‖² (P as in sfh_preconditioner: the bias is not
/// penalised), the step w_{t+1} = w_t + diag(b)·(Aᵀ(y − A w_t) − λ·P w_t) with b =
/// sfh_preconditioner(A, λ); B̃ + λP ⪰ AᵀA + λP keeps it a majorise-minimise step, converging to
/// ridge_closed_form(A, y, λ). λ = 0 runs exactly the least-squares iteration (no term is added).
/// Throws ckks::InputError also if λ is negative or not finite.
std::vector<std::vector<double>> sfh_train(const std::vector<std::vector<double>>& A,
                                           const std::vector<double>& y, int iterations, double lambda = 0.0);

/// Closed-form ridge regression: the w (length D) minimising ‖y − A w‖² + λ‖P w‖², P =
/// diag(1, …, 1, 0) (the bias, the last column of A, is not penalised, as scikit-learn's Ridge
/// leaves the intercept out), from (AᵀA + λP) w = Aᵀy by the same Cholesky solve as
/// least_squares_closed_form, which is the λ = 0 case (bit for bit: no term is added).
/// On standardised features (centred columns) this is scikit-learn's Ridge(alpha = λ) with
/// fit_intercept = True, whose objective is ‖y − Xw‖² + α‖w‖² [sklearn-Ridge].
/// Throws ckks::InputError as least_squares_closed_form (λ = 0), and if λ is negative or not
/// finite (the message names the value).
std::vector<double> ridge_closed_form(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                      double lambda);

/// Checks a ridge parameter: returns λ unchanged if it is finite and ≥ 0; throws ckks::InputError
/// naming `op` and the value otherwise.
double check_ridge_lambda(double lambda, const std::string& op);

/// Predictions A w (n values) for a design matrix A (n×D) and weights w (length D).
/// Throws ckks::InputError if A is empty or ragged or w does not have D entries.
std::vector<double> predict(const std::vector<std::vector<double>>& A, const std::vector<double>& w);

/// The least-squares loss L(w) = ‖y − A w‖² = Σ_r (y_r − (A w)_r)² (residual sum of squares).
/// Shapes: A is n×D, y has n values, w has D. Throws ckks::InputError on a shape mismatch.
double residual_sum_of_squares(const std::vector<std::vector<double>>& A,
                               const std::vector<double>& y, const std::vector<double>& w);

}  // namespace ckks::ml

// Plaintext reference for multiclass logistic regression (MLR) with a sigmoid per class in place of
// the softmax, trained by Nesterov's accelerated gradient (NAG) with the quadratic gradient — the
// algorithm of J. Chiang, "Privacy-Preserving CNN Training with Transfer Learning: Multiclass
// Logistic Regression" [Chiang23] — computed in double precision with the SAME
// polynomial sigmoid, preconditioner and schedules as the encrypted model (ml/mlr/mlr_encrypted.h), so
// that the two can be compared prediction by prediction.
//
// Data: a design matrix A = [X | 1] (n rows, D = d + 1 columns, bias LAST) and integer labels
// y_r ∈ {0, …, C−1}, one-hot encoded as Y (n × C, Y_rc = 1 iff y_r = c). Weights: a C × D matrix
// W (row c scores class c); scores Z = A Wᵀ (n × C); the prediction for row r is argmax_c Z_rc.
//
// Objective [Chiang23, "squared likelihood error"]: the softmax is replaced by an independent
// sigmoid per class, and training maximises the likelihood of the C·n Bernoulli outcomes
//   ℓ(W) = Σ_r Σ_c log(1 − |Y_rc − σ(Z_rc)|)   (= log σ(Z_rc) if Y_rc = 1, log(1 − σ(Z_rc)) if 0),
// whose gradient is the C × D matrix ∇ℓ = (Y − σ(A Wᵀ))ᵀ A: one binary logistic regression per
// class ("one vs rest"), all sharing the data.
// SOURCE STATUS: the paper's text could not be reached from here (only its abstract, which names
// the squared likelihood error, the quadratic gradient, the sigmoid-for-softmax transformation and
// Volley Revolver). The loss in the form above and the gradient (Y − σ(XWᵀ))ᵀX are those of the
// author's own published experiment, petitioner/HE.CNNtraining,
// MyHECNNtraining/data/20230403_cnntrainingtransferlearning_nagvs_sigmoidnagvs_sigmoidnagqg_mnist.py
// ("SigmoidNAG with QG"), which was read; no equation number of the paper is cited.
//
// Quadratic gradient [Chiang22QG; multiclass: Chiang22MLR]: every class's
// Hessian block is −Aᵀ diag(σ'(Z_·c)) A ⪰ −¼ AᵀA, so ONE diagonal bound serves every class:
//   B̄_jj = ε + ¼·Σ_r |A_rj|·Σ_k |A_rk|      (quadratic_gradient_preconditioner, ml/logreg/logreg_plain.h)
//   G(W) = ∇ℓ(W) · diag(B̄)⁻¹                 (column j of the gradient divided by B̄_jj)
// Departure: the author's experiment uses ¼·Σ_k (AᵀA)_kj without absolute values; the two agree
// for non-negative features (digits scaled to [0, 1]), and the absolute values keep B̄ a valid,
// positive bound for standardised (signed) features — the same choice as ml/logreg/logreg_plain.h.
//
// NAG, exactly as ml/logreg/logreg_plain.h (logreg_nag_train) with matrices in place of vectors:
//   W_0 = V_0 = 0,  W_{t+1} = V_t + c_t·G(V_t),  V_{t+1} = (1 − γ_t)·W_{t+1} + γ_t·W_t,
// c_t = nag_step(t, eta0) = 1 + eta0/(t + 1), γ_t = nag_gamma(t) (α_0 = 0.01).
// Departure: the author's experiment evaluates the gradient at the iterate W_t and adds the step
// to the look-ahead point (its variables "velocity"/"weights"); we evaluate it at the look-ahead
// point V_t as textbook NAG and the binary model of this library do. Its step 1 + 1/((t+1)·n) is
// nag_step with eta0 = 1/n; the default here is eta0 = 0 (step 1), as in ml/logreg/logreg_plain.h.
//
// σ̃ = ckks::sigmoid_approx(degree), a least-squares polynomial fitted on [−8, 8] (ckks/approx.h).
// Departure: the experiment uses the exact sigmoid clipped to [−8, 8]; the encrypted model needs a
// polynomial, and the reference uses the same one so the two runs compute the same function.
// MlrTrace::max_abs_margin records max |Z| per iteration so callers can check σ̃'s inputs stay
// inside [−8, 8].
#pragma once
#include <cstddef>
#include <vector>

namespace ckks::ml {

using DenseMatrix = std::vector<std::vector<double>>;

struct MlrOptions {
  int iterations = 4;      ///< K ≥ 1
  int sigmoid_degree = 3;  ///< 3, 5 or 7 (sigmoid_approx)
  double eta0 = 0.0;       ///< c_t = 1 + eta0/(t + 1)
  double epsilon = 1e-8;   ///< ε in B̄
};

/// Checks that every y[i] is an integer in [0, classes) and that every class 0 … classes−1 occurs.
/// Throws ckks::InputError naming the index and value (or the missing class) and the fix; `op`
/// prefixes the message. Also throws if classes < 2.
void check_class_labels(const std::vector<double>& y, std::size_t classes, const char* op);

/// The number of classes C = 1 + max y for labels meant to be 0 … C−1, after check_class_labels
/// (so a label that is not a non-negative integer, or a class without samples, is an InputError).
/// Throws InputError if y is empty or holds fewer than 2 classes.
std::size_t count_classes(const std::vector<double>& y, const char* op);

/// Y (n × classes), Y[r][c] = 1 if y[r] = c else 0. Throws as check_class_labels (but does not
/// require every class to occur).
DenseMatrix one_hot(const std::vector<double>& y, std::size_t classes);

struct MlrTrace {
  std::vector<DenseMatrix> w;               ///< W_1 … W_K, each C × D
  std::vector<double> max_abs_margin;  ///< max |(A V_t ᵀ)_rc| for t = 0 … K−1 (σ̃'s inputs)
};

/// Runs the algorithm above for options.iterations steps on A (n × D, bias last) and labels y
/// (integers 0 … classes−1, every class present).
/// Throws ckks::InputError on bad shapes, non-finite values, bad labels, iterations < 1 or an
/// unsupported sigmoid degree.
MlrTrace mlr_nag_train(const DenseMatrix& A, const std::vector<double>& y, std::size_t classes, const MlrOptions& options);

/// Scores Z = A Wᵀ (n × C). Throws InputError if a row of A and a row of W differ in length.
DenseMatrix mlr_scores(const DenseMatrix& A, const DenseMatrix& W);

/// argmax_c Z_rc for every row (ties: the smallest class index).
std::vector<int> mlr_predict(const DenseMatrix& A, const DenseMatrix& W);

/// Fraction of i with predicted[i] == labels[i]. Throws InputError on a size mismatch or no rows.
double class_accuracy(const std::vector<int>& predicted, const std::vector<double>& labels);

/// Fraction of i with a[i] == b[i] (e.g. encrypted vs plaintext predictions). Throws InputError on
/// a size mismatch or empty input.
double agreement(const std::vector<int>& a, const std::vector<int>& b);

}  // namespace ckks::ml

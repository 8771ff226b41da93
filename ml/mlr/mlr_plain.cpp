#include "ml/mlr/mlr_plain.h"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <string>

#include "ckks/approx.h"
#include "ckks/errors.h"
#include "ml/logreg/logreg_plain.h"  // quadratic_gradient_preconditioner, nag_gamma, nag_step

namespace ckks::ml {

namespace {
// Shortest text that reads back as v (21.6, not 21.600000000000001).
std::string num(double v) {
  char b[64];
  const auto res = std::to_chars(b, b + sizeof b, v);
  return std::string(b, res.ptr);
}


void check_label_values(const std::vector<double>& y, std::size_t classes, const char* op) {
  for (std::size_t i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]) || y[i] != std::floor(y[i]) || y[i] < 0 || y[i] >= static_cast<double>(classes))
      throw InputError(std::string(op) + ": label y[" + std::to_string(i) + "] = " + num(y[i]) +
                       " is not a class index in 0 … " + std::to_string(classes - 1) +
                       "; multiclass labels must be the integers 0 … C−1 (map the classes to them)");
}
}  // namespace

void check_class_labels(const std::vector<double>& y, std::size_t classes, const char* op) {
  if (classes < 2)
    throw InputError(std::string(op) + ": " + std::to_string(classes) + " class(es); need at least 2");
  check_label_values(y, classes, op);
  std::vector<bool> seen(classes, false);
  for (double v : y) seen[static_cast<std::size_t>(v)] = true;
  for (std::size_t c = 0; c < classes; ++c)
    if (!seen[c])
      throw InputError(std::string(op) + ": no sample has label " + std::to_string(c) + " (labels run 0 … " +
                       std::to_string(classes - 1) + "); every class 0 … C−1 must occur — renumber the classes");
}

std::size_t count_classes(const std::vector<double>& y, const char* op) {
  if (y.empty()) throw InputError(std::string(op) + ": no labels; pass at least one sample");
  double mx = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i]) || y[i] != std::floor(y[i]) || y[i] < 0 || y[i] > 1e6)
      throw InputError(std::string(op) + ": label y[" + std::to_string(i) + "] = " + num(y[i]) +
                       " is not a non-negative integer; multiclass labels must be the integers 0 … C−1");
    mx = std::max(mx, y[i]);
  }
  const auto classes = static_cast<std::size_t>(mx) + 1;
  if (classes < 2)
    throw InputError(std::string(op) + ": every label is 0; need at least 2 classes (labels 0 … C−1)");
  check_class_labels(y, classes, op);
  return classes;
}

DenseMatrix one_hot(const std::vector<double>& y, std::size_t classes) {
  check_label_values(y, classes, "one_hot");
  DenseMatrix Y(y.size(), std::vector<double>(classes, 0.0));
  for (std::size_t r = 0; r < y.size(); ++r) Y[r][static_cast<std::size_t>(y[r])] = 1.0;
  return Y;
}

DenseMatrix mlr_scores(const DenseMatrix& A, const DenseMatrix& W) {
  DenseMatrix Z(A.size(), std::vector<double>(W.size(), 0.0));
  for (std::size_t r = 0; r < A.size(); ++r)
    for (std::size_t c = 0; c < W.size(); ++c) {
      if (W[c].size() != A[r].size())
        throw InputError("mlr_scores: row " + std::to_string(r) + " of A has " + std::to_string(A[r].size()) +
                         " values but row " + std::to_string(c) + " of W has " + std::to_string(W[c].size()) +
                         "; both must have D = features + 1 (bias last)");
      double z = 0;
      for (std::size_t j = 0; j < A[r].size(); ++j) z += A[r][j] * W[c][j];
      Z[r][c] = z;
    }
  return Z;
}

std::vector<int> mlr_predict(const DenseMatrix& A, const DenseMatrix& W) {
  const DenseMatrix Z = mlr_scores(A, W);
  std::vector<int> p(Z.size(), 0);
  for (std::size_t r = 0; r < Z.size(); ++r)
    p[r] = static_cast<int>(std::max_element(Z[r].begin(), Z[r].end()) - Z[r].begin());
  return p;
}

double class_accuracy(const std::vector<int>& predicted, const std::vector<double>& labels) {
  if (predicted.size() != labels.size() || predicted.empty())
    throw InputError("class_accuracy: " + std::to_string(predicted.size()) + " predictions but " +
                     std::to_string(labels.size()) + " labels; pass one prediction per sample, at least one");
  std::size_t ok = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) ok += static_cast<double>(predicted[i]) == labels[i];
  return static_cast<double>(ok) / static_cast<double>(labels.size());
}

double agreement(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.size() != b.size() || a.empty())
    throw InputError("agreement: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
                     " predictions; pass two non-empty lists of the same length");
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

MlrTrace mlr_nag_train(const DenseMatrix& A, const std::vector<double>& y, std::size_t classes, const MlrOptions& o) {
  check_design_matrix(A, "mlr_nag_train");
  if (y.size() != A.size())
    throw InputError("mlr_nag_train: A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels; they must match");
  check_class_labels(y, classes, "mlr_nag_train");
  if (o.iterations < 1)
    throw InputError("mlr_nag_train: iterations = " + std::to_string(o.iterations) + "; need at least 1");
  const ChebyshevSeries sig = sigmoid_approx(o.sigmoid_degree);  // throws for other degrees
  const std::vector<double> binv = quadratic_gradient_preconditioner(A, o.epsilon);
  const DenseMatrix Y = one_hot(y, classes);
  const std::size_t n = A.size(), D = A[0].size(), C = classes;
  DenseMatrix W(C, std::vector<double>(D, 0.0)), V = W;
  MlrTrace tr;
  for (int t = 0; t < o.iterations; ++t) {
    // ∇ℓ(V_t) = (Y − σ̃(A V_tᵀ))ᵀ A, one row per class.
    DenseMatrix g(C, std::vector<double>(D, 0.0));
    double max_margin = 0;
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < C; ++c) {
        double z = 0;
        for (std::size_t j = 0; j < D; ++j) z += A[r][j] * V[c][j];
        max_margin = std::max(max_margin, std::fabs(z));
        const double e = Y[r][c] - sig(z);
        for (std::size_t j = 0; j < D; ++j) g[c][j] += e * A[r][j];
      }
    tr.max_abs_margin.push_back(max_margin);
    const double step = nag_step(t, o.eta0), gamma = nag_gamma(t);
    DenseMatrix w_next(C, std::vector<double>(D));
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t j = 0; j < D; ++j) w_next[c][j] = V[c][j] + step * binv[j] * g[c][j];
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t j = 0; j < D; ++j) V[c][j] = (1 - gamma) * w_next[c][j] + gamma * W[c][j];
    W = std::move(w_next);
    tr.w.push_back(W);
  }
  return tr;
}

}  // namespace ckks::ml

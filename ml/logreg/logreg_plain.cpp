#include "ml/logreg/logreg_plain.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <numeric>
#include <string>

#include "ckks/approx.h"
#include "ckks/errors.h"

namespace ckks::ml {

void check_design_matrix(const std::vector<std::vector<double>>& A, const char* op) {
  if (A.empty() || A[0].empty())
    throw InputError(std::string(op) + ": the design matrix is empty; pass at least one row and column");
  for (std::size_t r = 0; r < A.size(); ++r) {
    if (A[r].size() != A[0].size())
      throw InputError(std::string(op) + ": row " + std::to_string(r) + " has " + std::to_string(A[r].size()) +
                       " values but row 0 has " + std::to_string(A[0].size()) + "; rows must have equal length");
    for (std::size_t j = 0; j < A[r].size(); ++j)
      if (!std::isfinite(A[r][j]))
        throw InputError(std::string(op) + ": A[" + std::to_string(r) + "][" + std::to_string(j) + "] is not finite");
  }
}

std::vector<double> quadratic_gradient_preconditioner(const std::vector<std::vector<double>>& A, double epsilon) {
  check_design_matrix(A, "quadratic_gradient_preconditioner");
  if (!std::isfinite(epsilon) || epsilon < 0)
    throw InputError("quadratic_gradient_preconditioner: epsilon = " + std::to_string(epsilon) +
                     "; it must be a finite number ≥ 0");
  const std::size_t D = A[0].size();
  std::vector<double> bbar(D, epsilon);
  for (const auto& row : A) {
    double s = 0;
    for (double v : row) s += std::fabs(v);
    for (std::size_t j = 0; j < D; ++j) bbar[j] += 0.25 * std::fabs(row[j]) * s;
  }
  std::vector<double> inv(D);
  for (std::size_t j = 0; j < D; ++j) {
    if (!(bbar[j] > 0))
      throw InputError("quadratic_gradient_preconditioner: column " + std::to_string(j) +
                       " is all zeros and epsilon = 0, so B̄ is singular; drop the column or use epsilon > 0");
    inv[j] = 1.0 / bbar[j];
  }
  return inv;
}

double nag_gamma(int t) {
  double a = 0.01;  // α_0
  double a_next = 0.5 * (1 + std::sqrt(1 + 4 * a * a));
  for (int i = 0; i < t; ++i) {
    a = a_next;
    a_next = 0.5 * (1 + std::sqrt(1 + 4 * a * a));
  }
  return (1 - a) / a_next;
}

double nag_step(int t, double eta0) { return 1.0 + eta0 / static_cast<double>(t + 1); }

void check_binary_labels(const std::vector<double>& y, const char* op) {
  bool seen0 = false, seen1 = false;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0) {
      seen0 = true;
    } else if (y[i] == 1.0) {
      seen1 = true;
    } else {
      char value[32];
      std::snprintf(value, sizeof value, "%.17g", y[i]);
      throw InputError(std::string(op) + ": label y[" + std::to_string(i) + "] = " + value +
                       " is not 0 or 1; logistic regression needs binary labels (map the two classes to 0 and 1)");
    }
  }
  if (!seen0 || !seen1)
    throw InputError(std::string(op) + ": all " + std::to_string(y.size()) + " labels are " + (seen1 ? "1" : "0") +
                     "; both classes must occur");
}

LogregTrace logreg_nag_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                             const LogregOptions& o) {
  check_design_matrix(A, "logreg_nag_train");
  if (y.size() != A.size())
    throw InputError("logreg_nag_train: A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels; they must match");
  check_binary_labels(y, "logreg_nag_train");
  if (o.iterations < 1)
    throw InputError("logreg_nag_train: iterations = " + std::to_string(o.iterations) + "; need at least 1");
  const ChebyshevSeries sig = sigmoid_approx(o.sigmoid_degree);  // throws for other degrees
  const std::vector<double> binv = quadratic_gradient_preconditioner(A, o.epsilon);
  const std::size_t n = A.size(), D = A[0].size();
  std::vector<double> w(D, 0.0), v(D, 0.0);
  LogregTrace tr;
  for (int t = 0; t < o.iterations; ++t) {
    std::vector<double> g(D, 0.0);
    double max_margin = 0;
    for (std::size_t r = 0; r < n; ++r) {
      double m = 0;
      for (std::size_t j = 0; j < D; ++j) m += A[r][j] * v[j];
      max_margin = std::max(max_margin, std::fabs(m));
      const double e = y[r] - sig(m);
      for (std::size_t j = 0; j < D; ++j) g[j] += A[r][j] * e;
    }
    tr.max_abs_margin.push_back(max_margin);
    const double step = nag_step(t, o.eta0), gamma = nag_gamma(t);
    std::vector<double> w_next(D);
    for (std::size_t j = 0; j < D; ++j) w_next[j] = v[j] + step * binv[j] * g[j];
    for (std::size_t j = 0; j < D; ++j) v[j] = (1 - gamma) * w_next[j] + gamma * w[j];
    w = w_next;
    tr.w.push_back(w);
  }
  return tr;
}

namespace {
void check_scores(const std::vector<double>& s, const std::vector<double>& y, const char* op) {
  if (s.size() != y.size())
    throw InputError(std::string(op) + ": " + std::to_string(s.size()) + " scores but " + std::to_string(y.size()) +
                     " labels; pass one score per sample");
  if (s.empty()) throw InputError(std::string(op) + ": no samples; pass at least one score");
}
}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<double>& labels) {
  check_scores(scores, labels, "roc_auc");
  check_binary_labels(labels, "roc_auc");
  const std::size_t n = scores.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[idx[j]] == scores[idx[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 … j
    for (std::size_t k = i; k < j; ++k)
      if (labels[idx[k]] == 1.0) rank_sum += avg_rank;
    i = j;
  }
  for (double l : labels) pos += l;
  const double neg = static_cast<double>(n) - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

double accuracy(const std::vector<double>& scores, const std::vector<double>& labels) {
  check_scores(scores, labels, "accuracy");
  std::size_t ok = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 0.0 && labels[i] != 1.0)
      throw InputError("accuracy: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                       " is not 0 or 1");
    if ((scores[i] >= 0) == (labels[i] == 1.0)) ++ok;
  }
  return static_cast<double>(ok) / static_cast<double>(scores.size());
}

}  // namespace ckks::ml

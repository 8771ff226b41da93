#include "ml/logreg/logreg_minibatch_plain.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/approx.h"
#include "ckks/errors.h"
#include "ml/linreg/linreg_plain.h"  // predict

namespace ckks::ml {

MinibatchPlan MinibatchPlan::make(std::size_t n, std::size_t b, int epochs) {
  if (n == 0) throw InputError("mini-batch plan: no training rows; pass at least one");
  if (b == 0) throw InputError("mini-batch plan: a batch of 0 rows; use a batch size of at least 1");
  if (b > n)
    throw InputError("mini-batch plan: a batch of " + std::to_string(b) + " rows but only " + std::to_string(n) +
                     " training rows; use a batch size of at most " + std::to_string(n));
  if (epochs < 1) throw InputError("mini-batch plan: " + std::to_string(epochs) + " epochs; need at least 1");
  MinibatchPlan p;
  p.rows = n;
  p.batch = b;
  p.epochs = epochs;
  for (std::size_t begin = 0; begin < n; begin += b) p.ranges.emplace_back(begin, std::min(n, begin + b));
  return p;
}

LogregTrace logreg_minibatch_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                   const MinibatchPlan& plan, const LogregOptions& o) {
  check_design_matrix(A, "logreg_minibatch_train");
  if (y.size() != A.size())
    throw InputError("logreg_minibatch_train: A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels; they must match");
  check_binary_labels(y, "logreg_minibatch_train");
  if (plan.rows != A.size() || plan.ranges.empty())
    throw InputError("logreg_minibatch_train: the plan is for " + std::to_string(plan.rows) + " rows but A has " +
                     std::to_string(A.size()) + "; make it with MinibatchPlan::make(A.size(), …)");
  const ChebyshevSeries sig = sigmoid_approx(o.sigmoid_degree);  // throws for other degrees
  // Each batch's rows and B̄_j⁻¹, computed once.
  std::vector<std::vector<std::vector<double>>> rows;
  std::vector<std::vector<double>> binv;
  for (const auto& [begin, end] : plan.ranges) {
    rows.emplace_back(A.begin() + static_cast<std::ptrdiff_t>(begin), A.begin() + static_cast<std::ptrdiff_t>(end));
    binv.push_back(quadratic_gradient_preconditioner(rows.back(), o.epsilon));
  }
  const std::size_t D = A[0].size();
  std::vector<double> w(D, 0.0), v(D, 0.0);
  LogregTrace tr;
  for (int t = 0; t < plan.iterations(); ++t) {
    const std::size_t j = plan.batch_of(t);
    // g = A_jᵀ(y_j − σ̃(A_j v_t)) over the batch's rows.
    const std::vector<double> margins = predict(rows[j], v);
    std::vector<double> g(D, 0.0);
    for (std::size_t i = 0; i < margins.size(); ++i) {
      const double e = y[plan.ranges[j].first + i] - sig(margins[i]);
      for (std::size_t c = 0; c < D; ++c) g[c] += rows[j][i][c] * e;
    }
    double max_margin = 0;
    for (double m : margins) max_margin = std::max(max_margin, std::fabs(m));
    tr.max_abs_margin.push_back(max_margin);
    // w_{t+1} = v_t + (1 + η_t)·B̄_j⁻¹g, v_{t+1} = (1 − γ_t)·w_{t+1} + γ_t·w_t.
    const double step = nag_step(t, o.eta0), gamma = nag_gamma(t);
    const std::vector<double> w_prev = w;
    for (std::size_t c = 0; c < D; ++c) w[c] = v[c] + step * binv[j][c] * g[c];
    for (std::size_t c = 0; c < D; ++c) v[c] = (1 - gamma) * w[c] + gamma * w_prev[c];
    tr.w.push_back(w);
  }
  return tr;
}

}  // namespace ckks::ml

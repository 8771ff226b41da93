// Regression metrics (header-only): root-mean-square error and the coefficient of determination.
#pragma once
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "ckks/errors.h"

namespace ckks::ml {

namespace detail {
inline void check_metric_inputs(const char* op, const std::vector<double>& pred,
                                const std::vector<double>& truth) {
  if (pred.size() != truth.size()) {
    throw InputError(std::string(op) + ": " + std::to_string(pred.size()) + " predictions but " +
                     std::to_string(truth.size()) + " true values; pass one prediction per sample");
  }
  if (pred.empty()) {
    throw InputError(std::string(op) + ": no samples; pass at least one prediction");
  }
}
}  // namespace detail

/// Root-mean-square error sqrt( (1/n) Σ_i (pred_i − truth_i)² ), in the units of the target.
/// Both vectors hold n ≥ 1 values. Throws ckks::InputError on a size mismatch or n = 0.
/// A non-finite prediction propagates into a non-finite result (not an error).
inline double rmse(const std::vector<double>& pred, const std::vector<double>& truth) {
  detail::check_metric_inputs("rmse", pred, truth);
  double ss = 0.0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const double e = pred[i] - truth[i];
    ss += e * e;
  }
  return std::sqrt(ss / static_cast<double>(pred.size()));
}

/// Coefficient of determination R² = 1 − SS_res / SS_tot with SS_res = Σ_i (truth_i − pred_i)²
/// and SS_tot = Σ_i (truth_i − mean(truth))² (as sklearn.metrics.r2_score). 1 is a perfect fit,
/// 0 is no better than predicting the mean, negative is worse than that.
/// Both vectors hold n ≥ 1 values. Throws ckks::InputError on a size mismatch, n = 0, or a
/// constant `truth` (SS_tot = 0, where R² is undefined).
inline double r2(const std::vector<double>& pred, const std::vector<double>& truth) {
  detail::check_metric_inputs("r2", pred, truth);
  double mean = 0.0;
  for (double t : truth) mean += t;
  mean /= static_cast<double>(truth.size());
  double ss_res = 0.0, ss_tot = 0.0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    ss_res += (truth[i] - pred[i]) * (truth[i] - pred[i]);
    ss_tot += (truth[i] - mean) * (truth[i] - mean);
  }
  if (!(ss_tot > 0.0)) {
    throw InputError("r2: the true values are all equal, so R² is undefined; evaluate on a set "
                     "with more than one distinct target value");
  }
  return 1.0 - ss_res / ss_tot;
}

}  // namespace ckks::ml

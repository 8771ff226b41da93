// LFFR in double precision. See lffr_plain.h.
#include "ml/lffr/lffr_plain.h"

#include <algorithm>
#include <cmath>

#include "ckks/errors.h"
#include "ml/format.h"
#include "ml/linreg/linreg_plain.h"

namespace ckks::ml {

TargetScaling TargetScaling::fit(const std::vector<double>& y, const std::string& name) {
  if (y.empty()) throw InputError("lffr: target \"" + name + "\" has no training rows");
  TargetScaling s;
  s.min = s.max = y[0];
  for (std::size_t r = 0; r < y.size(); ++r) {
    if (!std::isfinite(y[r]))
      throw InputError("lffr: target \"" + name + "\", training row " + std::to_string(r) + " is not finite");
    s.min = std::min(s.min, y[r]);
    s.max = std::max(s.max, y[r]);
  }
  if (!(s.max > s.min))
    throw InputError("lffr: target \"" + name + "\" is constant (" + format_number(s.min) +
                     ") on the training rows, so it cannot be normalised into (0, 1); drop it from --target");
  return s;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

LffrSigmoid LffrSigmoid::make(double radius, int degree) {
  if (!std::isfinite(radius) || !(radius > 0))
    throw InputError("lffr sigmoid: the interval radius R = " + format_number(radius) + " must be finite and > 0");
  if (degree < 1) throw InputError("lffr sigmoid: degree " + std::to_string(degree) + " must be ≥ 1");
  LffrSigmoid s;
  s.radius = radius;
  s.unit = chebyshev_interpolate([radius](double t) { return sigmoid(radius * t); }, -1.0, 1.0, degree);
  constexpr int kGrid = 4000;
  for (int i = 0; i <= kGrid; ++i) {
    const double z = radius * (-1.0 + 2.0 * i / kGrid);
    s.max_error = std::max(s.max_error, std::fabs(s(z) - sigmoid(z)));
  }
  return s;
}

double lffr_radius_for(double z_abs) { return std::max(1.0, std::ceil(1.25 * z_abs)); }

std::vector<double> lffr_preconditioner(const std::vector<std::vector<double>>& A) {
  std::vector<double> b = sfh_preconditioner(A);
  for (double& v : b) v *= 4.0;  // 1 / (¼·B̃_jj)
  return b;
}

LffrTrace lffr_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y, int iterations,
                     const std::function<double(double)>& sigma) {
  if (iterations < 1)
    throw InputError("lffr_train: iterations is " + std::to_string(iterations) + "; run at least 1 iteration");
  const std::vector<double> b = lffr_preconditioner(A);  // validates A
  if (y.size() != A.size())
    throw InputError("lffr_train: y has " + std::to_string(y.size()) + " values but A has " +
                     std::to_string(A.size()) + " rows; pass one target per row");
  for (std::size_t r = 0; r < y.size(); ++r)
    if (!std::isfinite(y[r])) throw InputError("lffr_train: y[" + std::to_string(r) + "] is not finite");
  const std::size_t n = A.size(), D = b.size();
  LffrTrace trace;
  std::vector<double> w(D, 0.0), s(n, 0.5);
  bool seen = false;
  for (int t = 0; t < iterations; ++t) {
    if (t > 0) {
      const std::vector<double> z = predict(A, w);
      for (std::size_t r = 0; r < n; ++r) {
        trace.z_min = seen ? std::min(trace.z_min, z[r]) : z[r];
        trace.z_max = seen ? std::max(trace.z_max, z[r]) : z[r];
        seen = true;
        s[r] = sigma(z[r]);
      }
    }
    std::vector<double> g(D, 0.0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < D; ++j) g[j] += A[r][j] * (y[r] - s[r]);
    for (std::size_t j = 0; j < D; ++j) w[j] += b[j] * g[j];
    trace.iterates.push_back(w);
  }
  return trace;
}

std::vector<double> lffr_predict(const std::vector<std::vector<double>>& A, const std::vector<double>& w) {
  std::vector<double> p = predict(A, w);
  for (double& v : p) v = sigmoid(v);
  return p;
}

}  // namespace ckks::ml

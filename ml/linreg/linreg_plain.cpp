// Plaintext least squares: normal equations + Cholesky, and the SFH iteration. See linreg_plain.h.
#include "ml/linreg/linreg_plain.h"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

using Matrix = std::vector<std::vector<double>>;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Checks that A is a non-empty n×D matrix of finite values; returns D.
std::size_t check_matrix(const Matrix& A, const std::string& op) {
  if (A.empty() || A[0].empty()) {
    throw InputError(op + ": the design matrix is empty; pass at least one row and one column");
  }
  const std::size_t D = A[0].size();
  for (std::size_t r = 0; r < A.size(); ++r) {
    if (A[r].size() != D) {
      throw InputError(op + ": row " + std::to_string(r) + " of the design matrix has " +
                       std::to_string(A[r].size()) + " values but row 0 has " +
                       std::to_string(D) + "; every row needs the same number of columns");
    }
    for (std::size_t j = 0; j < D; ++j) {
      if (!std::isfinite(A[r][j])) {
        throw InputError(op + ": design matrix entry (row " + std::to_string(r) + ", column " +
                         std::to_string(j) + ") is not finite; clean the data first");
      }
    }
  }
  return D;
}

void check_target(const Matrix& A, const std::vector<double>& y, const std::string& op) {
  if (y.size() != A.size()) {
    throw InputError(op + ": y has " + std::to_string(y.size()) + " values but the design matrix "
                     "has " + std::to_string(A.size()) + " rows; pass one target per row");
  }
  for (std::size_t r = 0; r < y.size(); ++r) {
    if (!std::isfinite(y[r])) {
      throw InputError(op + ": y[" + std::to_string(r) + "] is not finite; clean the data first");
    }
  }
}

// Aᵀ v for A n×D and v of length n.
std::vector<double> transpose_times(const Matrix& A, const std::vector<double>& v) {
  std::vector<double> out(A[0].size(), 0.0);
  for (std::size_t r = 0; r < A.size(); ++r) {
    for (std::size_t j = 0; j < out.size(); ++j) out[j] += A[r][j] * v[r];
  }
  return out;
}

// A w (no checks).
std::vector<double> times(const Matrix& A, const std::vector<double>& w) {
  std::vector<double> out(A.size(), 0.0);
  for (std::size_t r = 0; r < A.size(); ++r) {
    double s = 0.0;
    for (std::size_t j = 0; j < w.size(); ++j) s += A[r][j] * w[j];
    out[r] = s;
  }
  return out;
}

}  // namespace

std::vector<std::vector<double>> with_bias_column(const std::vector<std::vector<double>>& X) {
  check_matrix(X, "with_bias_column");
  Matrix A = X;
  for (auto& row : A) row.push_back(1.0);
  return A;
}

double check_ridge_lambda(double lambda, const std::string& op) {
  if (!std::isfinite(lambda) || lambda < 0.0) {
    throw InputError(op + ": the ridge parameter λ = " + num(lambda) + " is " +
                     (std::isfinite(lambda) ? "negative" : "not finite") +
                     "; pass a finite λ ≥ 0 (λ = 0 is plain least squares)");
  }
  return lambda;
}

namespace {

// (AᵀA + λP) w = Aᵀy by Cholesky, P = diag(1, …, 1, 0); λ = 0 adds nothing.
std::vector<double> solve_normal_equations(const Matrix& A, const std::vector<double>& y, double lambda,
                                           const std::string& op) {
  const std::size_t D = check_matrix(A, op);
  check_target(A, y, op);
  const std::size_t n = A.size();
  if (n < D) {
    throw InputError(op + ": " + std::to_string(n) + " rows but " + std::to_string(D) +
                     " columns, so AᵀA is singular; least squares needs at least as many "
                     "samples as columns");
  }

  // Normal equations: G = AᵀA (lower triangle suffices), c = Aᵀy.
  Matrix G(D, std::vector<double>(D, 0.0));
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < D; ++i) {
      for (std::size_t j = 0; j <= i; ++j) G[i][j] += A[r][i] * A[r][j];
    }
  }
  if (lambda != 0.0) {
    for (std::size_t j = 0; j + 1 < D; ++j) G[j][j] += lambda;  // the bias (column D − 1) is not penalised
  }
  const std::vector<double> c = transpose_times(A, y);

  // Cholesky–Banachiewicz: G = L Lᵀ, L lower triangular, overwriting the lower triangle of G.
  // The squared pivot d_j = G_jj − Σ_{k<j} L_jk² is the squared distance of column j of A from
  // the span of columns 0..j−1; relative to G_jj = ‖column j‖² it is 1 − R²_j. A tiny ratio means
  // column j is (numerically) a combination of earlier columns.
  constexpr double kRelativePivotTolerance = 1e-12;
  for (std::size_t j = 0; j < D; ++j) {
    const double gjj = G[j][j];
    double d = gjj;
    for (std::size_t k = 0; k < j; ++k) d -= G[j][k] * G[j][k];
    if (!(d > kRelativePivotTolerance * gjj)) {
      throw InputError(op + ": AᵀA is not positive definite: column " + std::to_string(j) +
                       " of the design matrix (0-based; the last column is the bias) is a linear "
                       "combination of the earlier columns (relative residual " +
                       num(gjj > 0.0 ? d / gjj : 0.0) +
                       "); drop collinear or constant features");
    }
    const double ljj = std::sqrt(d);
    G[j][j] = ljj;
    for (std::size_t i = j + 1; i < D; ++i) {
      double s = G[i][j];
      for (std::size_t k = 0; k < j; ++k) s -= G[i][k] * G[j][k];
      G[i][j] = s / ljj;
    }
  }

  // Forward substitution L z = c, then back substitution Lᵀ w = z.
  std::vector<double> z(D);
  for (std::size_t i = 0; i < D; ++i) {
    double s = c[i];
    for (std::size_t k = 0; k < i; ++k) s -= G[i][k] * z[k];
    z[i] = s / G[i][i];
  }
  std::vector<double> w(D);
  for (std::size_t i = D; i-- > 0;) {
    double s = z[i];
    for (std::size_t k = i + 1; k < D; ++k) s -= G[k][i] * w[k];
    w[i] = s / G[i][i];
  }
  return w;
}

}  // namespace

std::vector<double> least_squares_closed_form(const std::vector<std::vector<double>>& A,
                                              const std::vector<double>& y) {
  return solve_normal_equations(A, y, 0.0, "least_squares_closed_form");
}

std::vector<double> ridge_closed_form(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                      double lambda) {
  return solve_normal_equations(A, y, check_ridge_lambda(lambda, "ridge_closed_form"), "ridge_closed_form");
}

std::vector<double> sfh_preconditioner(const std::vector<std::vector<double>>& A, double lambda) {
  const std::string op = "sfh_preconditioner";
  check_ridge_lambda(lambda, op);
  const std::size_t D = check_matrix(A, op);
  std::vector<double> bt(D, 0.0);  // B̃_jj
  for (const auto& row : A) {
    double row_abs = 0.0;  // Σ_{j'} |A_rj'|
    for (double v : row) row_abs += std::fabs(v);
    for (std::size_t j = 0; j < D; ++j) bt[j] += std::fabs(row[j]) * row_abs;
  }
  std::vector<double> b(D);
  for (std::size_t j = 0; j < D; ++j) {
    if (!(bt[j] > 0.0)) {
      throw InputError(op + ": column " + std::to_string(j) + " of the design matrix is all "
                       "zeros, so the SFH bound B̃_jj is 0 and cannot be inverted; drop that "
                       "column");
    }
    b[j] = 1.0 / (lambda != 0.0 && j + 1 < D ? bt[j] + lambda : bt[j]);
  }
  return b;
}

std::vector<std::vector<double>> sfh_train(const std::vector<std::vector<double>>& A,
                                           const std::vector<double>& y, int iterations, double lambda) {
  const std::string op = "sfh_train";
  check_ridge_lambda(lambda, op);
  if (iterations < 1) {
    throw InputError(op + ": iterations is " + std::to_string(iterations) +
                     "; run at least 1 iteration");
  }
  check_matrix(A, op);
  check_target(A, y, op);
  const std::vector<double> b = sfh_preconditioner(A, lambda);
  const std::size_t D = b.size();

  std::vector<std::vector<double>> iterates;
  iterates.reserve(static_cast<std::size_t>(iterations));
  std::vector<double> w(D, 0.0);
  for (int t = 0; t < iterations; ++t) {
    std::vector<double> residual = times(A, w);  // becomes y − A w
    for (std::size_t r = 0; r < residual.size(); ++r) residual[r] = y[r] - residual[r];
    std::vector<double> g = transpose_times(A, residual);  // Aᵀ(y − A w) = −½ ∇L
    if (lambda != 0.0) {
      for (std::size_t j = 0; j + 1 < D; ++j) g[j] -= lambda * w[j];  // ridge: − λ P w
    }
    for (std::size_t j = 0; j < D; ++j) w[j] += b[j] * g[j];
    iterates.push_back(w);
  }
  return iterates;
}

std::vector<double> predict(const std::vector<std::vector<double>>& A, const std::vector<double>& w) {
  const std::size_t D = check_matrix(A, "predict");
  if (w.size() != D) {
    throw InputError("predict: the weights have " + std::to_string(w.size()) +
                     " entries but the design matrix has " + std::to_string(D) +
                     " columns; append the bias column (with_bias_column) or use matching weights");
  }
  return times(A, w);
}

double residual_sum_of_squares(const std::vector<std::vector<double>>& A,
                               const std::vector<double>& y, const std::vector<double>& w) {
  const std::string op = "residual_sum_of_squares";
  check_matrix(A, op);
  check_target(A, y, op);
  const std::vector<double> p = predict(A, w);
  double ss = 0.0;
  for (std::size_t r = 0; r < p.size(); ++r) ss += (y[r] - p[r]) * (y[r] - p[r]);
  return ss;
}

}  // namespace ckks::ml

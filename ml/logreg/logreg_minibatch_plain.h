// Mini-batch logistic regression with the quadratic gradient and Nesterov's accelerated gradient
// [Chiang24MB] in double precision: the twin the encrypted mini-batch training
// (ml/logreg/logreg_minibatch.h) is compared against, with the same batches, the same polynomial
// sigmoid σ̃ and the same schedules as the full-batch algorithm of ml/logreg/logreg_plain.h
// [Chiang22QG].
//
// The n training rows are cut into M = ⌈n/b⌉ consecutive mini-batches of b rows (the last one may
// be shorter), batch j holding rows [j·b, min(n, (j + 1)·b)); an epoch visits them in order, and
// iteration t (0-based, t < E·M for E epochs) uses batch j(t) = t mod M. With A_j, y_j the rows of
// batch j and B̄_j its own diagonal bound (logreg_plain.h: B̄_jj = ε + ¼·Σ_r |A_rj|·Σ_k |A_rk| over
// the batch's rows),
//   w_0 = v_0 = 0,
//   w_{t+1} = v_t + (1 + η_t)·B̄_{j(t)}⁻¹·A_{j(t)}ᵀ(y_{j(t)} − σ̃(A_{j(t)} v_t)),
//   v_{t+1} = (1 − γ_t)·w_{t+1} + γ_t·w_t,
// the full-batch recurrence of logreg_nag_train with the gradient and its preconditioner taken over
// one mini-batch. With b ≥ n (one batch) it IS logreg_nag_train.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

#include "ml/logreg/logreg_plain.h"

namespace ckks::ml {

/// The batches and the number of epochs of a mini-batch run.
struct MinibatchPlan {
  std::size_t rows = 0;                                     ///< n
  std::size_t batch = 0;                                    ///< b (rows per batch, the last may hold fewer)
  int epochs = 0;                                           ///< E
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  ///< [begin, end) of each batch, M of them
  /// E·M, the iteration count.
  int iterations() const { return epochs * static_cast<int>(ranges.size()); }
  /// j(t) = t mod M.
  std::size_t batch_of(int t) const { return static_cast<std::size_t>(t) % ranges.size(); }
  /// The plan for n rows, batches of b rows and E epochs.
  /// Throws InputError if n = 0, b = 0, b > n (naming both) or E < 1.
  static MinibatchPlan make(std::size_t n, std::size_t b, int epochs);
};

/// Runs the recurrence above for plan.iterations() steps (options.iterations is ignored; the
/// sigmoid degree, eta0 and ε are used). Returns w_1 … w_K and max_r |(A_{j(t)} v_t)_r| per step.
/// Throws InputError on bad shapes, non-finite values, labels other than 0/1, a plan for another
/// number of rows, or an unsupported sigmoid degree.
LogregTrace logreg_minibatch_train(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                   const MinibatchPlan& plan, const LogregOptions& options);

}  // namespace ckks::ml

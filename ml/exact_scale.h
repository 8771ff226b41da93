// Products that land on a prescribed scale, shared by the models trained on encrypted data
// (ml/logreg/logreg_encrypted.cpp, ml/mlr/mlr_encrypted.cpp). Rescaling divides by the prime q_ℓ, not by Δ,
// so a product whose plaintext factor is encoded at scale target·q_ℓ / a.scale rescales to
// exactly `target` (the double), and sums of such terms always add equal scales (the same idea as
// ckks/polynomial.h's back-propagated scales [BMTH21]). Public ckks/ API only.
#pragma once
#include <vector>

#include "ckks/approx.h"
#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"

namespace ckks::ml {

/// c·a rescaled: level a.level − 1, scale exactly `target_scale`, same slots.
/// Precondition: a.level ≥ 1 and a has 2 components. Throws what Evaluator::multiply_const and
/// Evaluator::rescale throw (LevelError at level 0, ScaleError if the product does not fit).
inline Ciphertext mul_const_to(const Evaluator& ev, const Context& ctx, const Ciphertext& a, double c,
                               double target_scale) {
  const double q = static_cast<double>(ctx.q(a.level).value());
  return ev.rescale(ev.multiply_const(a, c, target_scale * q / a.scale));
}

/// (coef·v) ⊙ a, NOT rescaled: level a.level, scale target_scale·q_ℓ, so that the caller's one
/// rescale (after adding several such terms) lands exactly on `target_scale`. v has a.slots values
/// (encoded with v.size() slots). Throws what Encoder::encode and Evaluator::multiply throw.
inline Ciphertext mul_plain_to(const Evaluator& ev, const Encoder& enc, const Context& ctx, const Ciphertext& a,
                               const std::vector<double>& v, double coef, double target_scale) {
  const double q = static_cast<double>(ctx.q(a.level).value());
  std::vector<double> cv(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) cv[i] = coef * v[i];
  return ev.multiply(a, enc.encode(cv, a.level, target_scale * q / a.scale, v.size()));
}

/// k·σ̃(8t) as a Chebyshev series on [−1, 1]: sigmoid_approx(degree) (fitted on [−8, 8]) re-read on
/// [−1, 1], so the interval map x/8 can ride on a product the caller does anyway instead of costing
/// the extra level a non-integer map costs in PolynomialEvaluator. Throws InputError for a degree
/// other than 3, 5, 7 (from sigmoid_approx).
inline ChebyshevSeries unit_sigmoid(int degree, double k) {
  ChebyshevSeries s = sigmoid_approx(degree);
  s.a = -1;
  s.b = 1;
  for (auto& c : s.coeffs) c *= k;
  return s;
}

}  // namespace ckks::ml

// PolynomialEvaluator: p(x) on every slot of a ciphertext, for p given in the Chebyshev basis of an
// interval [a, b] (a ChebyshevSeries from approx.h), in the minimal number of levels.
//
// Algorithm: baby-step giant-step evaluation in the Chebyshev basis with back-propagated target
// scales, after [BMTH21] (see the sources below).
//   1. t = (2x − a − b)/(b − a), so that [a, b] maps onto [−1, 1]  (T_1 = t).
//   2. Chebyshev polynomials of t, computed on demand and kept: T_{2k} = 2T_k² − 1 and
//      T_{2k+1} = 2T_k·T_{k+1} − T_1, so T_i is ready after ceil(log2 i) levels. The "baby steps"
//      are T_1 … T_{2^l} and the "giant steps" T_{2^{l+1}}, T_{2^{l+2}}, …, with l = max(1, ⌊m/2⌋)
//      and m = ceil(log2(d + 1)).
//   3. p is split recursively by Chebyshev division, p = q·T_G + r with G the largest power of two
//      ≤ deg p, using T_G·T_j = (T_{G+j} + T_{G−j})/2 for 0 < j < G: q has degree deg p − G and r
//      degree < G. The pieces are evaluated one level apart, q·T_G is a ciphertext product, and a
//      piece small enough (degree < 2^l whose T_i are all ready one level above its target) is a
//      plain linear combination Σ c_i·T_i with one rescale. With every coefficient non-zero,
//      degree 7 takes 5 ciphertext products, 15 takes 8, 31 takes 13, 63 takes 18, 127 takes 27.
//   4. Scales: every piece is computed for a prescribed (level, scale). A linear combination
//      targeting (ℓ, σ) multiplies each T_i by c_i encoded at scale σ·q_{ℓ+1}/Δ(T_i), so every term
//      has scale exactly σ·q_{ℓ+1} before the one rescale; a product q·T_G targeting (ℓ, σ)
//      evaluates q for (ℓ + 1, σ·q_{ℓ+1}/Δ(T_G)). Hence every addition adds equal scales, whatever
//      the primes are, and no scale drifts: the result has exactly the input's scale.
//
// Input outside [a, b]: nothing checks or clips it (a comparison is not available on ciphertexts).
// The polynomial is simply evaluated there, and Chebyshev polynomials grow fast outside [−1, 1]
// (|T_k(t)| ≈ |2t|^k / 2), so such slots come out as large, meaningless values — and a value large
// enough to reach the modulus corrupts the slot beyond repair. Scale the data into [a, b] first.
//
// Sources:
//   [BMTH21] its abstract (publisher's page) announces a generic algorithm for homomorphic
//            polynomial evaluation that takes the approximate rescaling into account and is
//            optimal in level consumption. The back-propagated target scales are what the
//            reference implementation does: Lattigo's polynomial evaluator is called with a target
//            scale (circuits/ckks/mod1/mod1_evaluator.go, EvaluateAndScaleNew). The paper's
//            algorithm number could not be read, so none is cited.
//   [CCS19]  a modified Paterson–Stockmeyer algorithm for Chebyshev polynomials (its abstract).
//   docs/references.md says where each was read.
#pragma once
#include "ckks/approx.h"
#include "ckks/ciphertext.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"

namespace ckks {

class PolynomialEvaluator {
 public:
  /// Evaluates with `ev` (copied: it only holds the Context) and relinearises with `rk`, which is
  /// held by reference and must outlive this object. Throws ParameterError if rk belongs to another
  /// Context than ev.
  PolynomialEvaluator(const Evaluator& ev, const RelinKey& rk);

  /// p(x) in every slot (complex slots are allowed: p is applied to the complex value).
  ///
  /// Result: level x.level − levels_needed(p), scale exactly x.scale (the same double), same slot
  /// count, 2 components. The value in each slot is p(x_i) up to CKKS noise, provided x_i ∈ [a, b];
  /// see the file comment for inputs outside the interval.
  /// Preconditions: x.scale close to the data primes (the usual Δ ≈ q_ℓ); every coefficient, encoded
  /// as a ~Δ·q_ℓ-scaled integer, must stay below the remaining modulus Q_ℓ/2 (ScaleError otherwise).
  /// Throws, before any homomorphic work:
  ///   InputError      p is invalid (ChebyshevSeries::validate: interval, degree ≥ 1, finite
  ///                   coefficients), or x has 3 components (relinearise it first);
  ///   ParameterError  x comes from another Context than the Evaluator;
  ///   LevelError      x.level < levels_needed(p), e.g. "polynomial evaluation of degree 7 needs 3
  ///                   levels but the ciphertext has 2 left; …".
  /// Evaluator errors (ScaleError) can still arise inside if the preconditions are violated.
  /// evaluate keeps no state between calls (the T_i live only during the call).
  /// Source: [BMTH21], see the file comment.
  Ciphertext evaluate(const Ciphertext& x, const ChebyshevSeries& p) const;

  /// ceil(log2(degree + 1)): the levels consumed by a degree-`degree` polynomial on [−1, 1] (and on
  /// any interval where 2/(b − a) is an integer). This is the minimal multiplicative depth of a
  /// degree-d polynomial. Returns 0 for degree ≤ 0.
  static int levels_needed(int degree);

  /// The levels evaluate(x, p) consumes: levels_needed(p.degree()), plus 1 when the affine map
  /// t = (2x − a − b)/(b − a) needs a rescale, i.e. when α = 2/(b − a) is not an integer (e.g.
  /// [−8, 8]: α = 1/8). An integer α (as for [−1, 1], [0, 1], [0, 2]) is applied exactly with
  /// multiply_integer and costs nothing; the shift −(a + b)/(b − a) is always free (add_const).
  /// Does not validate p (evaluate does).
  static int levels_needed(const ChebyshevSeries& p);

  /// The ciphertext × ciphertext products (multiply_relin calls) evaluate(x, p) makes: the Chebyshev
  /// polynomials T_i it builds plus one per giant-step product q·T_G, by the same recursion on the
  /// same coefficients without ciphertexts (exact zeros skipped, as evaluate skips them). With every
  /// coefficient non-zero: degree 7 → 5, 15 → 8, 31 → 13, 63 → 18, 127 → 27. A count, not seconds.
  /// Does not validate p (evaluate does).
  static int products_needed(const ChebyshevSeries& p);

 private:
  Evaluator ev_;
  const RelinKey* rk_;
};

}  // namespace ckks

// Hybrid key switching [HK20] built from the RNS ModUp / ModDown of [CHKKS18, ModUp/ModDown].
//
// Given d at level ℓ and a key switching key swk for s' → s, compute (u_0, u_1) at level ℓ with
// u_0 + u_1·s ≈ d·s' (mod Q_ℓ):
//   1. split d into digits: d_j = d mod Q_j, Q_j the product of digit j's primes (≤ ℓ);
//   2. ModUp: extend each d_j from Q_j to Q_ℓ·P by fast base conversion (adds a multiple u·Q_j with
//      small u, which the gadget factor cancels);
//   3. inner product with the key: (Σ_j d̃_j·b_j, Σ_j d̃_j·a_j) mod Q_ℓ·P;
//   4. ModDown: divide by P back to Q_ℓ (fast base conversion of the P-part, then ·P^{-1}).
// The added noise is ≈ Σ_j Q_j·e_j / P (small when P ≥ Q_j) plus the ModDown rounding.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "ckks/context.h"
#include "ckks/keys.h"

namespace ckks {

/// ModUp of digit `digit` of d (level ℓ, coefficient form, ℓ+1 limbs) to Q_ℓ·P, returned in
/// evaluation form in basis_qp(ℓ) order. `d_ntt` is d in evaluation form (its own limbs are copied).
/// Source: [CHKKS18, ModUp; FHETB, §D-5.2]; [HK20].
math::RnsPoly mod_up(const Context& ctx, const math::RnsPoly& d_coeff, const math::RnsPoly& d_ntt,
                     int level, std::size_t digit);

/// ModDown: x over Q_ℓ·P (evaluation form, basis_qp(ℓ) order) ↦ ≈ x/P over Q_ℓ (evaluation form).
/// The result is exactly ⌊x/P⌉ (rounded, like rescaling; departure from the paper's fast,
/// floor-like conversion, explained in keyswitch.cpp).
/// Source: [CHKKS18, ModDown].
math::RnsPoly mod_down(const Context& ctx, const math::RnsPoly& x, int level);
/// The same for two polynomials in the same two parallel loops (the components of a ciphertext).
std::pair<math::RnsPoly, math::RnsPoly> mod_down(const Context& ctx, const math::RnsPoly& x0, const math::RnsPoly& x1,
                                                 int level);

/// Key switching of d (level ℓ, evaluation form) with key swk for s' → s: returns (u_0, u_1) at
/// level ℓ in evaluation form with u_0 + u_1·s ≈ d·s'. Source: [HK20, KS_swk].
std::pair<math::RnsPoly, math::RnsPoly> key_switch(const Context& ctx, const math::RnsPoly& d,
                                                   int level, const KeySwitchKey& swk);

/// Key switching fused with what relinearize and rotate do around it: with σ the Galois
/// automorphism whose evaluation-form permutation is `perm` (nullptr: the identity), returns
/// (σ(a_0) + u_0, σ(a_1) + u_1) at level ℓ in evaluation form, where u_0 + u_1·s ≈ σ(d)·s' and a
/// null add0 / add1 stands for 0. Relinearize is (c_0, c_1) + KS(c_2); rotate is
/// (σ(c_0), 0) + KS(σ(c_1)). The same values as permuting, calling key_switch and adding, in four
/// parallel loops over limbs (or digits) instead of one per step: step 1 (σ, inverse NTT, ModUp's
/// first half) per digit, steps 2–3 per limb of Q_ℓ·P, ModDown's inverse NTTs per output polynomial,
/// ModDown's output limbs (with the addition) per (polynomial, limb of Q_ℓ) — so two threads split
/// the two ModDowns evenly and the additions and permutations are not serial passes of their own.
/// Preconditions (CKKS_INVARIANT): d, add0, add1 at level ℓ (ℓ+1 limbs) in evaluation form; perm
/// of N entries. Source: [HK20, KS_swk]; [CHKKS18, ModUp/ModDown]; [HS18] (σ commutes with ModUp).
std::pair<math::RnsPoly, math::RnsPoly> key_switch_add(const Context& ctx, const math::RnsPoly& d, int level,
                                                       const KeySwitchKey& swk,
                                                       const std::vector<std::uint32_t>* perm,
                                                       const math::RnsPoly* add0, const math::RnsPoly* add1);

/// The ModUp of every digit of d, kept for reuse: what "hoisting" shares between several key
/// switches of the same polynomial [HS18] (hoisting); [BMTH21] (hoisted rotations in the hybrid
/// setting).
struct DecomposedPoly {
  int level = 0;
  std::vector<math::RnsPoly> digits;  ///< num_digits(ℓ) polynomials over Q_ℓ·P, evaluation form
};

/// Digit decomposition and ModUp of d (level ℓ, evaluation form). Memory: dnum·(ℓ+1+k) limbs.
DecomposedPoly decompose(const Context& ctx, const math::RnsPoly& d, int level);

/// Key switching from a decomposition, optionally applying the Galois automorphism whose
/// evaluation-form permutation is `perm` to every digit first (σ commutes with ModUp since it
/// permutes evaluation points the same way modulo every prime). perm = nullptr: no automorphism.
/// Returns (u_0, u_1) at level ℓ with u_0 + u_1·s ≈ σ(d)·s'.
std::pair<math::RnsPoly, math::RnsPoly> key_switch_decomposed(const Context& ctx, const DecomposedPoly& dec,
                                                              const KeySwitchKey& swk,
                                                              const std::vector<std::uint32_t>* perm);

/// A hoisted rotation kept over Q_ℓ·P (Evaluator::rotate_lazy): (P·σ(c_0) + u_0, u_1), where
/// (u_0, u_1) = ⟨σ(D̃), swk⟩ is the key inner product of key_switch_decomposed before its ModDown
/// (D̃ = dec, the ModUp of c_1's digits); perm = nullptr (no automorphism, swk and dec unused):
/// (P·c_0, P·c_1). ModDown of the result is σ(c_0) + ⌊u_0/P⌉, ⌊u_1/P⌉ exactly (P·σ(c_0) vanishes
/// modulo every p_j), i.e. the rotation of key_switch_decomposed bit for bit. P·σ(c_0) is added to
/// the 128-bit accumulator of the inner product on the limbs of Q_ℓ (one more product per
/// coefficient, no second pass). Preconditions (CKKS_INVARIANT): c_0, c_1 at level ℓ in evaluation
/// form; dec of level ℓ and swk given with perm; perm of N entries.
std::pair<math::RnsPoly, math::RnsPoly> rotate_lazy_qp(const Context& ctx, const math::RnsPoly& c0,
                                                       const math::RnsPoly& c1, int level, const DecomposedPoly* dec,
                                                       const KeySwitchKey* swk,
                                                       const std::vector<std::uint32_t>* perm);

/// One term of a double-hoisted rotate-and-sum (rotate_sum_hoisted): the evaluation-form
/// permutation of the Galois automorphism σ_t (nullptr: the identity, a term without rotation), the
/// key switching key for σ_t(s) → s (nullptr exactly when perm is nullptr), and the weight w_t in
/// evaluation form over Q_ℓ·P (ℓ+1+k limbs, basis_qp(ℓ) order, the residues of one integer
/// polynomial; nullptr: w_t = 1).
struct HoistedTerm {
  const std::vector<std::uint32_t>* perm = nullptr;
  const KeySwitchKey* swk = nullptr;
  const math::RnsPoly* weight = nullptr;
};

/// Double hoisting: Σ_t w_t ⊙ φ_t(c_0, c_1), φ_t the rotation (σ_t(c_0), 0) + KS_t(σ_t(c_1)), with
/// one digit decomposition + ModUp of c_1 for all terms (hoisting [HS18]) and one ModDown for the
/// whole sum ("double hoisting" [BMTH21]; cross-read: Lattigo MultiplyByDiagMatrixBSGS, which keeps
/// its hoisted rotations over Q_ℓ·P and divides by P once per giant step):
///   1. D̃ = ModUp of every digit of c_1 (decompose);
///   2. for every limb of Q_ℓ·P: S_0 = Σ_{σ_t≠id} w_t ⊙ ⟨σ_t(D̃), b_t⟩, S_1 = Σ_{σ_t≠id} w_t ⊙ ⟨σ_t(D̃), a_t⟩
///      (the key inner products of step 3 of key switching, permuted, never divided by P), and on
///      the limbs of Q_ℓ the parts that need no key switch: A_0 = Σ_t w_t ⊙ σ_t(c_0),
///      A_1 = Σ_{σ_t=id} w_t ⊙ c_1;
///   3. returns (A_0 + ⌊S_0/P⌉, A_1 + ⌊S_1/P⌉) at level ℓ (one ModDown of two polynomials).
/// The c_0 part is multiplied over Q_ℓ only (σ_t(c_0)·w_t·P/P is exact), which is the same result
/// as accumulating P·σ_t(c_0) over Q_ℓ·P. Error: one ModDown rounding (≤ 1/2 per coefficient of
/// each component) instead of w_t times a rounding per term, plus Σ_t w_t·(key switching noise)/P
/// as in the term-by-term chain. Preconditions (CKKS_INVARIANT): c_0, c_1 at level ℓ in evaluation
/// form; every weight over Q_ℓ·P; perm of N entries; swk given with perm.
/// `dec`, when given, is c_1's decomposition (decompose(ctx, c1, level)) made once by the caller and
/// shared by several sums of the same ciphertext (Evaluator::rotate_sums); null: made here.
std::pair<math::RnsPoly, math::RnsPoly> rotate_sum_hoisted(const Context& ctx, const math::RnsPoly& c0,
                                                           const math::RnsPoly& c1, int level,
                                                           std::span<const HoistedTerm> terms,
                                                           const DecomposedPoly* dec = nullptr);

/// Lazy ModDown over several ciphertexts: Σ_t φ_t(c_{0,t}, c_{1,t}), φ_t as above (σ_t from
/// terms[t].perm and terms[t].swk; terms[t].weight must be null), each term with its own ModUp and key
/// inner product (steps 1–3 of key switching, fused as in key_switch_add, never divided by P), the
/// sums S_0, S_1 kept over Q_ℓ·P, and ONE ModDown for all: (A_0 + ⌊S_0/P⌉, A_1 + ⌊S_1/P⌉) with
/// A_0 = Σ_t σ_t(c_{0,t}), A_1 = Σ_{σ_t=id} c_{1,t}. Saves T − 1 of the T ModDowns of rotating
/// the terms one by one and adding, and T − 1 roundings of the error. Memory: the two sums and one
/// term's inner product over Q_ℓ·P. Cross-read: Lattigo MultiplyByDiagMatrixBSGS accumulates its
/// giant-step rotations over Q_ℓ·P and divides by P once. Preconditions (CKKS_INVARIANT): every c
/// at level ℓ in evaluation form; as many c_0, c_1 as terms; no weights; perm of N entries; swk
/// given with perm.
std::pair<math::RnsPoly, math::RnsPoly> sum_rotations_lazy(const Context& ctx,
                                                           std::span<const math::RnsPoly* const> c0,
                                                           std::span<const math::RnsPoly* const> c1, int level,
                                                           std::span<const HoistedTerm> terms);

}  // namespace ckks

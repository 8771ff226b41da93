// Evaluator: the homomorphic operations of full-RNS CKKS [CHKKS18] with hybrid key
// switching [HK20]. Verbs return new ciphertexts; operands are never modified.
//
// Every operation checks its operands and throws before computing anything:
//   ParameterError  operands from different Contexts;
//   LevelError      levels differ (binary operations), or no level left (rescale at ℓ = 0);
//   ScaleError      scales differ (additions), or a product's scale reaches the modulus Q_ℓ;
//   InputError      wrong number of components (e.g. multiply before relinearize) or slot counts differ;
//   MissingKeyError a rotation or conjugation without its Galois key;
//   KeyMismatchError two ciphertexts of different key sets combined, or a relinearisation or Galois
//                   key of another key set than the ciphertext's (Ciphertext::key_id; unknown ids pass).
// Results carry the key set of their operands (Ciphertext::key_id).
// Two scales are "equal" when they agree to a relative 10^-9 (they are doubles tracked exactly
// through the same operations, so equal computations give bit-identical values).
#pragma once
#include <complex>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/keys.h"

namespace ckks {

struct DecomposedPoly;  // keyswitch.h

/// Several rotations of one ciphertext share its digit decomposition and ModUp (hoisting [HS18]):
/// the ciphertext and the ModUp of every digit of its c_1 (dnum·(ℓ+1+k) limbs), made once by
/// Evaluator::hoist and read by Evaluator::rotate_lazy. The decomposition is shared, not copied,
/// by copies of this object.
struct HoistedCiphertext {
  Ciphertext ct;
  std::shared_ptr<const DecomposedPoly> digits;  ///< made by hoist; null only if assembled by hand (rotate_lazy refuses it)
};

/// Thread-safe: every verb is const; one Evaluator may serve many threads (see ckks/context.h).
class Evaluator {
 public:
  explicit Evaluator(ContextPtr context);

  // ---- Addition family: same level and scale; result at that level and scale ----
  Ciphertext add(const Ciphertext& a, const Ciphertext& b) const;
  /// a ← a + b: the same ciphertext as add(a, b), bit for bit, without copying a (an accumulator of
  /// many terms at N = 2^16 and 38 limbs saves a 38 MiB copy per term). Same preconditions and errors
  /// as add, thrown before a changes; a b with more components than a falls back to a = add(a, b).
  void add_inplace(Ciphertext& a, const Ciphertext& b) const;
  Ciphertext add(const Ciphertext& a, const Plaintext& b) const;
  /// Add c to every slot (c encoded at a's scale as a constant polynomial).
  Ciphertext add_const(const Ciphertext& a, std::complex<double> c) const;
  Ciphertext sub(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext sub(const Ciphertext& a, const Plaintext& b) const;
  Ciphertext sub_const(const Ciphertext& a, std::complex<double> c) const;
  Ciphertext negate(const Ciphertext& a) const;

  // ---- Multiplication family ----
  /// Tensor product (a_0b_0, a_0b_1 + a_1b_0, a_1b_1), decrypting under (1, s, s²) [CKKS17,
  /// Mult]. Both operands must have 2 components, equal levels; result scale Δ_a·Δ_b, which must
  /// stay below Q_ℓ/2. Follow with relinearize and rescale.
  Ciphertext multiply(const Ciphertext& a, const Ciphertext& b) const;
  /// Ciphertext × plaintext (same level): scale Δ_a·Δ_b.
  Ciphertext multiply(const Ciphertext& a, const Plaintext& b) const;
  /// Σ_k a_k ⊙ b_k: the sum of ciphertext × plaintext products, in one pass with one modular
  /// reduction per coefficient (the result equals the chain of multiply and add exactly, without
  /// its temporaries). All a_k at one level with 2 components; every b_k at that level; every
  /// product at the same scale Δ_a·Δ_b (within add's tolerance), which is the result's scale.
  /// The inner sums of baby-step giant-step linear transforms [HS18] are this operation.
  /// Throws InputError if the lists are empty or of different lengths, and what multiply and add
  /// throw for a mismatched pair (level, Context, key set, scale).
  Ciphertext multiply_sum(std::span<const Ciphertext* const> a, std::span<const Plaintext* const> b) const;
  /// Σ_k c_k·a_k at `level` and scale `scale`: each a_k (level ≥ `level`, 2 components) is read at
  /// `level` (as drop_level does) and multiplied by the integer round(c_k·scale/Δ_k), Δ_k its scale,
  /// so that every term has scale `scale`; one pass, one reduction per coefficient. Equals the chain
  /// add(multiply_const(drop_level(a_k, level), c_k, scale/Δ_k), …) exactly. Follow with rescale
  /// when scale is Δ·q_level (the linear combinations of polynomial evaluation [BMTH21]).
  /// Throws InputError if the lists are empty or of different lengths, a coefficient is not finite
  /// or an a_k has 3 components; LevelError if an a_k is below `level` or level < 0; ScaleError if
  /// scale/Δ_k < 1 or |c_k|·scale/Δ_k exceeds Q_level/2; what add throws for another Context, slot
  /// count or key set.
  Ciphertext linear_combination(std::span<const Ciphertext* const> a, std::span<const double> c, int level,
                                double scale) const;
  /// Every slot times c. c is encoded as round(c·Δ_c) with Δ_c = `const_scale`; by default
  /// Δ_c = q_ℓ (the prime the next rescale divides by), so that rescale brings the scale back to
  /// exactly Δ_a. The result has scale Δ_a·Δ_c and the same level.
  Ciphertext multiply_const(const Ciphertext& a, std::complex<double> c, double const_scale = 0) const;
  /// Every slot times the integer k (exact; scale and level unchanged).
  Ciphertext multiply_integer(const Ciphertext& a, std::int64_t k) const;
  /// Relinearise a 3-component ciphertext to 2 components by key switching c_2 from s² to s
  /// [CKKS17, ReLin; HK20; FHETB, §D-3.5]. Throws InputError unless a has 3 components.
  Ciphertext relinearize(const Ciphertext& a, const RelinKey& rk) const;
  /// multiply then relinearize.
  Ciphertext multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const;

  // ---- Levels and scale ----
  /// Divide by the last prime with rounding: c ↦ ⌊c / q_ℓ⌉ mod Q_{ℓ−1}; level ℓ−1, scale Δ/q_ℓ
  /// [CHKKS18, RS; FHETB, §D-5.4]. Throws LevelError at level 0.
  Ciphertext rescale(const Ciphertext& a) const;
  /// Reduce modulo Q_target (no division): level `target` ≤ a.level, scale unchanged.
  Ciphertext drop_level(const Ciphertext& a, int target) const;
  Plaintext drop_level(const Plaintext& a, int target) const;

  // ---- Galois automorphisms ----
  /// Rotate the slots left by `steps` (right for negative): slot j receives slot j + steps.
  /// Needs the Galois key for galois_element(steps). Same level and scale.
  Ciphertext rotate(const Ciphertext& a, int steps, const GaloisKeys& gk) const;
  /// Several rotations of the same ciphertext with one shared digit decomposition and ModUp
  /// ("hoisting" [HS18]; hoisted rotations in the hybrid setting [BMTH21]):
  /// the expensive NTTs are paid once, each rotation then costs a permutation, the key inner
  /// product and ModDown. Returns one ciphertext per step, in order (step 0 returns a copy).
  /// Same checks and errors as rotate, all made before any work.
  std::vector<Ciphertext> rotate_hoisted(const Ciphertext& a, const std::vector<int>& steps,
                                         const GaloisKeys& gk) const;
  /// Σ_t pt_t ⊙ rot(a, steps[t]) ("rotate-and-sum" with plaintext weights; steps[t] = 0 is a term
  /// without rotation), by double hoisting [BMTH21] (keyswitch.h, rotate_sum_hoisted): ONE digit
  /// decomposition + ModUp of a's c_1 for all terms (hoisting [HS18]), each rotated term kept over
  /// Q_ℓ·P (its key inner product, permuted), multiplied there by pt_t's residues over Q_ℓ·P, summed,
  /// and ONE ModDown for the whole sum. The c_0 part Σ pt_t ⊙ σ_t(c_0) is formed over Q_ℓ alone.
  /// Result: level ℓ, scale Δ_a·Δ_pt, a's slots. Compared with Σ multiply(rotate(a, k_t), pt_t):
  /// the same message; the error loses the per-term ModDown rounding multiplied by pt_t (one
  /// rounding remains) and keeps pt_t times the key-switching noise/P.
  /// Cost (T terms of which R rotate, dnum digits, k special primes): ℓ+1 inverse and
  /// ≈ dnum·(ℓ+1+k) − (ℓ+1) forward NTTs for the ModUp; R·2·dnum·(ℓ+1+k)·N products of the key
  /// inner products; 2R·(ℓ+1+k)·N weight products over Q_ℓ·P and ≈ T·(ℓ+1)·N over Q_ℓ; ONE ModDown (2k inverse, 2(ℓ+1) forward NTTs),
  /// against R ModDowns (2R·(k+ℓ+1) NTTs) for rotate_hoisted + multiply_sum. This overload takes
  /// extended plaintexts (extend_plaintext); the one below extends each Plaintext itself
  /// (ℓ+1 inverse and k forward NTTs per plaintext), so reusing extended plaintexts saves that.
  /// Throws InputError if steps is empty, the lists differ in length, a has 3 components or a
  /// plaintext's slot count differs from a's; ParameterError if a plaintext or the Galois keys
  /// belong to another Context; LevelError if a plaintext is not at a's level; ScaleError if the
  /// plaintexts' scales differ or Δ_a·Δ_pt reaches Q_ℓ/2; MissingKeyError for a step without its
  /// Galois key; KeyMismatchError for a Galois key of another key set; InputError also for an
  /// extended plaintext without ℓ+1+k limbs in evaluation form.
  /// Memory: one decomposition of c_1 (dnum·(ℓ+1+k) limbs) and the two sums over Q_ℓ·P.
  Ciphertext rotate_sum(const Ciphertext& a, std::span<const int> steps,
                        std::span<const ExtendedPlaintext* const> pts, const GaloisKeys& gk) const;
  /// The same with plaintexts at a's level (Q_ℓ limbs), each extended to Q_ℓ·P first (all T
  /// extensions held at once: T·(ℓ+1+k) limbs more).
  Ciphertext rotate_sum(const Ciphertext& a, std::span<const int> steps, std::span<const Plaintext* const> pts,
                        const GaloisKeys& gk) const;
  /// Σ_t rot(a, steps[t]) (no plaintexts: every weight 1), with one ModUp and one ModDown; level and
  /// scale of a. Same errors as above for a, steps and keys.
  Ciphertext rotate_sum(const Ciphertext& a, std::span<const int> steps, const GaloisKeys& gk) const;
  /// Several sums of rotations of one ciphertext, S_G = Σ_{t ∈ G} rot(a, groups[G][t]), with ONE
  /// digit decomposition + ModUp of a's c_1 for all of them (hoisting [HS18]) and one ModDown per
  /// sum (double hoisting [BMTH21]): what rotate_sum(a, groups[G], gk) gives for each G, bit for bit,
  /// without repeating the ModUp. Cost: one ModUp; per group its key inner products and one ModDown.
  /// Returns one ciphertext per group (level, scale and slots of a). Throws InputError if `groups`
  /// or a group is empty; otherwise what rotate_sum(a, groups[G], gk) throws, checked for every
  /// group before any work.
  std::vector<Ciphertext> rotate_sums(const Ciphertext& a, const std::vector<std::vector<int>>& groups,
                                      const GaloisKeys& gk) const;
  /// Σ_t rot(a_t, steps[t]) over several ciphertexts (one level, scale and slot count) with ONE
  /// ModDown: each rotated term pays its own ModUp and key inner product, as rotate does, but the
  /// key-switched parts are summed over Q_ℓ·P and divided by P once (keyswitch.h,
  /// sum_rotations_lazy; the giant-step sum of Lattigo's BSGS linear transform does the same).
  /// steps[t] = 0 adds a_t unrotated. Saves T − 1 ModDowns (2(k + ℓ+1) NTTs each) against T calls
  /// of rotate and add, and the error keeps one ModDown rounding instead of T. Result: level, scale
  /// and slots of the a_t, their key set.
  /// Throws InputError if the lists are empty or differ in length, or an a_t has 3 components;
  /// what add throws for a mismatched a_t (Context, level, scale, slots, key set); ParameterError
  /// for Galois keys of another Context; MissingKeyError for a step without its Galois key;
  /// KeyMismatchError for a Galois key of another key set.
  Ciphertext sum_rotations(std::span<const Ciphertext* const> a, std::span<const int> steps,
                           const GaloisKeys& gk) const;
  // ---- Lazy key switching over Q_ℓ·P: the parts of rotate_sum as separate verbs ----
  // Σ_t w_t ⊙ rot(a, k_t) = ModDown( Σ_t w_t ⊙ rot_lazy(hoist(a), k_t) ) with one ModUp of a and one
  // ModDown per sum, for a caller that shares each rotation among several sums (each with its own
  // weights) or cannot hold every weight at once: hoist, then rotate_lazy per step, multiply_sum or
  // add_inplace into the sums, mod_down per sum. The value is rotate_sum's, bit for bit, for one sum.
  // Source: [BMTH21] (double hoisting: the hoisted rotations' products and sums kept over Q_ℓ·P, one
  // ModDown per sum); cross-read: Lattigo's AutomorphismHoistedLazy and ModDownNTT (the evaluator interface
  // in he/linear_transformation_evaluator.go), whose BSGS linear transform sums its rotations this way.

  /// The digit decomposition and ModUp of a's c_1 (dnum·(ℓ+1+k) limbs, about dnum·(ℓ+1+k)·N·8 bytes),
  /// made once for any number of rotate_lazy calls. Cost: ℓ+1 inverse and about (dnum−1)·(ℓ+1)+dnum·k
  /// forward NTTs. Throws InputError if a has 3 components (relinearize first), ParameterError if a
  /// belongs to another Context.
  HoistedCiphertext hoist(const Ciphertext& a) const;
  /// P·rot(a, steps) over Q_ℓ·P without its ModDown: (P·σ(c_0) + u_0, u_1) with (u_0, u_1) the key
  /// inner product ⟨σ(ModUp(c_1)), swk⟩; steps with Galois element 1 give (P·c_0, P·c_1).
  /// mod_down(rotate_lazy(hoist(a), k)) equals rotate(a, k) bit for bit. Cost: the key inner product
  /// (2·dnum·(ℓ+1+k)·N products) and P·σ(c_0); no NTT. Result: level, scale, slots and key set of a.
  /// Throws InputError if `a` has no decomposition of its level (make it with hoist), ParameterError for
  /// a ciphertext or Galois keys of another Context, MissingKeyError for a step without its Galois key,
  /// KeyMismatchError for a key of another key set, LevelError for a key made for lower levels than a's.
  ExtendedCiphertext rotate_lazy(const HoistedCiphertext& a, int steps, const GaloisKeys& gk) const;
  /// Σ_t a_t ⊙ b_t over Q_ℓ·P (multiply_sum's rule in the extended basis: one reduction per coefficient,
  /// equal to the chain of products and sums exactly). All a_t at one level, Context, slot count and
  /// key set; every b_t at that level; every product at the same scale Δ_a·Δ_b, the result's.
  /// Throws InputError if the lists are empty or differ in length; LevelError, ScaleError,
  /// ParameterError or KeyMismatchError for a mismatched pair, naming its index.
  ExtendedCiphertext multiply_sum(std::span<const ExtendedCiphertext* const> a,
                                  std::span<const ExtendedPlaintext* const> b) const;
  /// a ← a + b over Q_ℓ·P (same level, scale, slots, Context; key sets joined as add does). Same errors
  /// as add, thrown before a changes.
  void add_inplace(ExtendedCiphertext& a, const ExtendedCiphertext& b) const;
  /// ⌊a/P⌉: the Ciphertext of a's message at level ℓ (rounded division by P of both components,
  /// the exact-conversion ModDown of key switching, keyswitch.h mod_down). Cost: 2k inverse and
  /// 2(ℓ+1) forward NTTs. Throws ParameterError if a belongs to another Context, InputError if its
  /// components do not have ℓ+1+k limbs in evaluation form.
  Ciphertext mod_down(const ExtendedCiphertext& a) const;

  /// pt lifted to Q_ℓ·P: its centred integer coefficients m_i ∈ (−Q_ℓ/2, Q_ℓ/2] converted to the
  /// special primes by the [HPS19] exact conversion (rns.h convert_exact: exact unless some m_i/Q_ℓ
  /// lies within about (ℓ+1)·2^-52 of ±1/2, far from encoded values |z|·Δ) and appended in
  /// evaluation form. Cost: ℓ+1 inverse NTTs, the conversion, k forward NTTs.
  /// Throws ParameterError if pt belongs to another Context.
  ExtendedPlaintext extend_plaintext(const Plaintext& pt) const;
  /// Complex conjugation of every slot. Needs the conjugation key.
  Ciphertext conjugate(const Ciphertext& a, const GaloisKeys& gk) const;
  /// X ↦ X^g followed by key switching σ_g(s) → s [CKKS17; FHETB, §D-3.9].
  Ciphertext apply_galois(const Ciphertext& a, std::uint64_t g, const GaloisKeys& gk) const;

  const ContextPtr& context() const { return ctx_; }

 private:
  void check_ct(const Ciphertext& a, const char* op) const;
  void check_pair(const Ciphertext& a, int level_b, double scale_b, std::size_t slots_b,
                  const ContextPtr& ctx_b, const char* op, bool same_scale) const;
  // Context, level range and limb counts of an extended ciphertext (InputError, ParameterError, LevelError).
  void check_extended(const ExtendedCiphertext& a, const char* op) const;
  struct SumOperand;  // a plaintext's metadata for rotate_sum's checks
  void check_rotate_sum(const Ciphertext& a, std::span<const int> steps, const std::vector<SumOperand>& pts,
                        const GaloisKeys& gk) const;
  // The one body of rotate_sum and rotate_sums: builds the hoisted terms of `steps` (weights empty, or one per
  // step) and runs rotate_sum_hoisted; `shared` is a decomposition of a.c[1] made once for several calls (null:
  // decompose here).
  Ciphertext rotate_sum_run(const Ciphertext& a, std::span<const int> steps,
                            const std::vector<const math::RnsPoly*>& weights, double pt_scale, const GaloisKeys& gk,
                            const DecomposedPoly* shared = nullptr) const;
  ContextPtr ctx_;
};

}  // namespace ckks

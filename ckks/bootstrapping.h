// Bootstrapping: refresh a ciphertext at level 0 into one at a usable level, stage by stage
// [BMTH21; HK20; CHKKS18b; CCS19].
//
// A ciphertext ct at level 0 decrypts to m (mod q_0), m = Δ·τ^{-1}(z) the message polynomial. The
// four stages below rebuild m under encryption at a high level; each is a public method, so a reader
// can stop after any of them, decrypt, and compare with its plaintext definition (the tests do).
//
//   level 0 ──ModRaise──▶ L ──CoeffsToSlots──▶ L−c ──EvalMod──▶ L−c−e ──SlotsToCoeffs──▶ L−c−e−s
//   m (mod q_0)   t = m + q_0·I     x_k = t_k/(q_0·K)     y_k = sin(2π·t_k/q_0)        z (at Δ_out)
//                 (coefficients)    in the slots           ≈ 2π·m_k/q_0
//
// 1. ModRaise. Read c_0, c_1 (centred mod q_0) modulo Q_L. The decryption becomes
//    t = c_0 + c_1·s = m + q_0·I over the integers, I an integer polynomial with
//    ‖I‖_∞ ≤ (‖s‖_1 + 1)/2 (each |c_i| ≤ q_0/2); for random c_1 the coefficients of I are sums of
//    h terms of size ≤ 1/2, so |I| is of order √h, far below the worst case.
// 2. CoeffsToSlots. With n slots and gap g = N/(2n), the slots of a ciphertext hold the special FFT
//    of u_i = (t_{ig} + i·t_{(i+n)g})/scale (encoder.h). Applying the inverse special FFT
//    homomorphically moves the coefficients into the slots. Sparse slots (n < N/2) first project t
//    onto Z[X^g] by the trace Σ_{j<g} σ_{5^{n·j}} (log2(g) rotations by n·2^j; the result is g times
//    the projection, the factor g is folded into the matrices). The inverse FFT is factored into
//    log2(n) radix-2 butterfly stages of 3 diagonals each (special_fft_stages), merged into c groups,
//    one level each, each a DiagonalTransform with hoisted baby steps [CCS19, the level-collapsed
//    DFT; BMTH21]. The bit reversal of the FFT is left out on both sides: the slots hold the
//    coefficients in bit-reversed order, EvalMod acts slot by slot, and SlotsToCoeffs takes that
//    order as its input. Real and imaginary parts: with y = U·w/2, Re = y + conj(y) and
//    Im = −i·(y − conj(y)) (one conjugation; multiplying by ±i is the free monomial ±X^{N/2}).
//    Full slots give two ciphertexts (Re, Im); sparse slots give one ciphertext of 2n slots holding
//    (Re ‖ Im), the n-slot ciphertext being read as a 2n-slot one whose two halves are equal.
//    The constants 1/n and 1/(g·q_0·K) are folded into the scales of the diagonals.
// 3. EvalMod. x ∈ [−1, 1] (|I| < K). A Chebyshev interpolant p of cos(2π(K·x − 1/4)/2^r) on
//    [−1, 1] (approx.h), then r double-angle steps cos 2θ = 2cos²θ − 1 [HK20]: the result is
//    cos(2π(K·x − 1/4)) = sin(2π·t/q_0) = sin(2π·m/q_0) ≈ 2π·m/q_0 for |m| ≪ q_0. The scale of x is
//    chosen backwards from the target σ_r (σ_{k−1} = √(σ_k·q)) so that the squarings land on σ_r.
// 4. SlotsToCoeffs. The forward special FFT (same factors, forward butterflies), with the constant
//    q_0/(2π·Δ_in) folded into the diagonal scales, applied to Re + i·Im (full) or (Re ‖ Im) with
//    the combination merged into the first factor (sparse). The result decrypts to z at scale Δ_out.
//
// 5. Error reduction (optional) [BCCKK22]. One bootstrap returns m + ε with |ε| ≈ 2^-20…2^-29 (the
//    presets). ε is computable under encryption: bring the output back to level 0 and subtract the
//    input. Bootstrapping 2^k·ε (an exact integer product) and scaling the result back by 2^-k
//    gives ε to within e_2/2^k; subtracting it leaves m − e_2/2^k. The factor 2^-k is folded into
//    the scale of the last SlotsToCoeffs factor's diagonals, so the output level is unchanged.
//    Successive bootstraps then add errors of size e_2/2^k plus the output's rounding floor instead
//    of e_1, and ten in a row keep their precision (docs/bootstrapping.md).
//
// Input range: the bootstrap is correct when every |I_k + m_k/q_0| < K and |m_k| ≪ q_0. Neither can
// be checked under encryption. Beyond K the cosine interpolant is evaluated outside [−1, 1] and the
// slot is garbage (tests/ckks/test_bootstrapping.cpp shows it); a large message (|z|·Δ_in near
// q_0/(2π)) loses precision to the sine's curvature: sin(2πε)/(2π) = ε − (2π)²ε³/6 + ….
//
// Sources (docs/references.md): [BMTH21] (eprint 2020/1203: the ModRaise → CoeffsToSlots → EvalMod →
// SlotsToCoeffs order, hoisted BSGS linear transforms, scaled cosine with double angle), [HK20]
// (eprint 2019/688: cosine and double-angle formula in full-RNS bootstrapping), [CHKKS18b] (eprint
// 2018/153: the first CKKS bootstrapping, with the sine), [CCS19] (eprint 2018/1043: Chebyshev
// interpolation, the level-collapsed homomorphic DFT), [BCCKK22] (eprint 2022/1167, Meta-BTS: the
// error reduction, as restated by OpenFHE's FHECKKSRNS::EvalBootstrap with two iterations). Section
// and algorithm numbers are not given: they were not checked against the papers' text.
#pragma once
#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/ciphertext.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/keys.h"
#include "ckks/linear_transform.h"

namespace ckks {

/// What a bootstrap does; the defaults suit a sparse secret (h ≤ 64, |I| ≤ 16 in practice).
struct BootstrapConfig {
  std::size_t slots = 0;       ///< n: slots of the ciphertexts to refresh (0 = N/2)
  int cts_levels = 3;          ///< c: levels of CoeffsToSlots (groups of FFT stages), 1..log2(n)
  int stc_levels = 3;          ///< s: levels of SlotsToCoeffs, 1..log2(n)
  double k = 16;               ///< K: EvalMod is correct for |I + m/q_0| < K
  int cos_degree = 40;         ///< degree of the Chebyshev interpolant of the scaled cosine
  /// log2(q_0/Δ_eff): before ModRaise the ciphertext is multiplied by the integer
  /// k = max(1, round(q_0/(2^ratio·Δ_in))), so the message m·k is about q_0/2^ratio. Smaller ratios
  /// amplify the noise less (it is multiplied by q_0/Δ_eff in SlotsToCoeffs) but make the sine's
  /// curvature error ((2π·m/q_0)²/6, relative) larger.
  double log_message_ratio = 12;
  /// When true, log_message_ratio is the ratio for full slots (n = N/2) and a ciphertext of n slots
  /// is raised with log_message_ratio + log2(N/(2n))/2 instead: with |z| ≤ 1 in n slots the
  /// coefficients of the message are about √(N/(2n)) times larger than with N/2 slots, and the
  /// best ratio keeps k·m, not the slot values, at the same size. Measured at N = 2^14 with the
  /// sparse-secret preset's chain (docs/bootstrapping.md): the best ratio was 4 for 8 192 slots,
  /// 5 for 1 024 and 8 for 64 (from 4 at full slots the rule gives 5.5 and 7.5).
  bool ratio_grows_with_sparse_slots = false;
  int double_angle = 3;        ///< r: double-angle steps (the cosine is scaled by 1/2^r)
  /// Degree of the arcsine correction after the double angles (0 = none; else odd ≥ 3): the Taylor
  /// polynomial of arcsin, y + y³/6 + 3y⁵/40 + …, turns sin(2π·m/q_0) back into 2π·m/q_0 and removes
  /// the sine's curvature error, which is systematic (it repeats at every bootstrap), so a lower
  /// log_message_ratio can be used. Costs ⌈log2(degree + 1)⌉ levels inside EvalMod [BMTH21].
  int arcsine_degree = 0;
  double input_scale = 0;      ///< Δ_in of the ciphertexts to refresh (0 = the default scale)
  double output_scale = 0;     ///< Δ_out of the result (0 = the default scale)
  double eval_mod_scale = 0;   ///< σ_r: scale of EvalMod's output (0 = q_0, as a double)
  /// Sparse-secret encapsulation [BTH22] (0 = off): h' of the ephemeral secret s'. ModRaise then
  /// switches the level-0 ciphertext from s to s' (key modulo q_0·p_0), raises it under s', where
  /// ‖I‖_∞ ≤ (h' + 1)/2 (K ≈ 16 for h' = 32 instead of 384), and switches back to s at level L.
  /// The Bootstrapper then needs KeyGenerator::encapsulation_keys(sk, h').
  int ephemeral_secret_weight = 0;
  /// Error reduction (0 = off): k, in bits. bootstrap() then bootstraps twice: the first output
  /// ct_1 ≈ m + ε is brought back to level 0, ε = ct_1 − ct is multiplied by the integer 2^k and
  /// bootstrapped by a copy of the pipeline whose last SlotsToCoeffs factor is 2^k times smaller,
  /// which returns ε + e_2/2^k; subtracting it from ct_1 leaves m − e_2/2^k (reduce_error()). Same
  /// output level and scale, about twice the time, one more SlotsToCoeffs factor in memory.
  /// 2^k·|ε| must stay in the input range |z| ≤ 1 in every slot: choose k a few bits below the
  /// worst-slot precision of one bootstrap (docs/bootstrapping.md measures both presets).
  /// Needs input_scale = output_scale. Meta-BTS [BCCKK22], as OpenFHE's iterative bootstrapping.
  int error_reduction_bits = 0;
};

/// The level budget and the keys of a bootstrap, known before any key exists.
struct BootstrapPlan {
  std::size_t slots = 0;        ///< n
  int top_level = 0;            ///< L: level after ModRaise
  int trace_rotations = 0;      ///< log2(N/(2n)) (sparse slots only)
  int cts_levels = 0;           ///< c
  int eval_mod_levels = 0;      ///< e = levels of the interpolant + r + levels of the arcsine
  int stc_levels = 0;           ///< s
  int output_level = 0;         ///< L − c − e − s: levels left to the user
  std::vector<int> rotation_steps;  ///< Galois keys to make (one per distinct Galois element)
  bool conjugation = true;      ///< the conjugation key is needed as well
  std::size_t galois_key_bytes = 0;  ///< bytes of one Galois key in memory (dnum·2·(L+1+k)·N·8)
  int ephemeral_secret_weight = 0;   ///< h' (0: no encapsulation, no encapsulation keys)
  int error_reduction_bits = 0;      ///< k (0: one bootstrap; else two, see BootstrapConfig)
  std::size_t galois_keys() const { return rotation_steps.size() + (conjugation ? 1 : 0); }
  /// The level budget table and key list as text (one line per stage, then the keys and sizes).
  std::string describe() const;
};

/// Parameters and a configuration made for each other.
struct BootstrapPreset {
  Params params;
  BootstrapConfig config;
};

/// 128-bit (by the project's check, params.h: uniform ternary secret, log QP ≤ 1747) at N = 2^16,
/// `slots` = 0 (full, 32768) or a power of two below: 9 levels of 40 bits left after bootstrapping at
/// Δ = 2^40. Chain q_0 = 60 | 9 × 40 (user) | 3 × 40 (SlotsToCoeffs) | 12 × 60 (EvalMod) |
/// 3 × 60 (CoeffsToSlots), P = 5 × 61, dnum 6: log QP = 1745.
/// The dense secret (h ≈ 2N/3) gives |I| a standard deviation of about √(h/12) ≈ 60, so K = 384
/// (6.4 standard deviations); the cosine then spans 2π·384/2^5 ≈ 75 radians on [−1, 1]: degree 127
/// (7 levels) + r = 5 double angles; no arcsine correction (it would need 2 more levels).
/// Message ratio q_0/Δ_eff = 2^4.25 for full slots and 2^8 for fewer: the many slots make the
/// coefficients u = FFT^{-1}(z) small (about √(2/(3n)) for |z| ≤ 1), so the sine's curvature error
/// stays small while less noise is amplified. Full slots, measured at N = 2^16 (mean bits): ratio
/// 2^7 17.48, 2^5 19.56, 2^4.5 19.87, 2^4.25 20.03, 2^4 19.93, 2^3.5 19.30.
/// Throws ParameterError unless slots is 0 or a power of two in [2, 2^15].
BootstrapPreset bootstrap_preset_n16(std::size_t slots = 0);

/// 128-bit at N = 2^16 with sparse-secret encapsulation [BTH22]: 9 levels of 44 bits left at
/// Δ = 2^44 (bootstrap_preset_n16 leaves 9 of 40 bits at 2^40). The ephemeral secret has Hamming
/// weight h' = 32, so ‖I‖_∞ ≤ 16.5 and K = 16 (|I| ≤ 7 measured at N = 2^12 and 2^14). The cosine
/// spans 2π·16/2^4 ≈ 6.3 radians: degree 31 (5 levels) + r = 4 double angles + the cubic arcsine
/// correction (2 levels), 11 EvalMod levels instead of 12; message ratio 2^3 for full slots,
/// growing with fewer slots (ratio_grows_with_sparse_slots; the arcsine removes the sine's
/// curvature error, so less noise is amplified).
/// Chain q_0 = 60 | 9 × 44 (user) | 3 × 45 (SlotsToCoeffs) | 11 × 61 (EvalMod) | 3 × 60
/// (CoeffsToSlots), P = 5 × 61, dnum 6: log QP = 1747, the 128-bit bound. Δ = 2^44 and the 61-bit
/// EvalMod primes lower the two floors of the rounding error under the dense secret; the 45-bit
/// SlotsToCoeffs primes keep the rounding of its diagonals, the same at every bootstrap, from adding
/// up over bootstraps in a row (docs/bootstrapping.md). The main chain's security is the dense
/// secret's (params.h); the sparse s' is exposed only by the key s → s' modulo q_0·p_0 (121 bits),
/// see docs/bootstrapping.md. Throws as bootstrap_preset_n16.
BootstrapPreset bootstrap_preset_n16_sparse_secret(std::size_t slots = 0);

/// The radix-2 stages of the encoder's special FFT on n points, as size × size matrices (size = n,
/// or 2n for two copies side by side), in the order they are applied, without the bit reversal:
///   forward: stage len = 2, 4, …, n, with special_fft(v) = stage_n·…·stage_2·BR(v);
///   inverse: the butterflies of special_ifft, len = n, …, 2, with
///            special_ifft(v) = BR((1/n)·inv_2·…·inv_n·v).
/// Each stage has the 3 diagonals 0, len/2 and size − len/2. Throws InputError unless n is a power of
/// two ≥ 2 and size ∈ {n, 2n}.
std::vector<DiagonalMatrix> special_fft_stages(std::size_t n, std::size_t size, bool inverse);

/// Products of consecutive stages (in application order) into `groups` matrices, as evenly as
/// possible (the earlier groups take the extra stage). Throws InputError unless 1 ≤ groups ≤ count.
std::vector<DiagonalMatrix> merge_stages(const std::vector<DiagonalMatrix>& stages, int groups);

class Bootstrapper {
 public:
  /// The plan for `cfg` on `ctx`, computed in the clear: levels per stage and the Galois keys.
  /// Throws ParameterError, naming the value and the fix, when: slots is not a power of two in
  /// [2, N/2]; cts_levels or stc_levels is outside [1, log2(n)]; K ≤ 0; cos_degree < 1;
  /// double_angle < 0; or the chain leaves no level (output level < 1).
  static BootstrapPlan plan(const Context& ctx, const BootstrapConfig& cfg);

  /// Precompute the stages (encoded diagonals, the interpolant) and check the keys.
  /// `rk` and `gk` are held by reference and must outlive the Bootstrapper.
  /// Throws as plan(); MissingKeyError listing every missing rotation step (and the conjugation
  /// key) with the fix; ParameterError if a key comes from another Context.
  Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk);
  /// The same with sparse-secret encapsulation (cfg.ephemeral_secret_weight > 0): `ek` from
  /// KeyGenerator::encapsulation_keys(sk, cfg.ephemeral_secret_weight), held by reference.
  /// Throws as above; ParameterError if ek's weight differs from the configuration's or ek comes
  /// from another Context. The four-argument constructor throws MissingKeyError when the
  /// configuration asks for encapsulation.
  Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk,
               const EncapsulationKeys& ek);

  /// ModRaise: ct at level 0 is multiplied by the integer k = scale_up() (exact, no level), then read
  /// modulo Q_L (c_0, c_1 centred mod q_0). Output: level L, scale k·Δ_in, the same slots; it decrypts
  /// to t = k·m + q_0·I. With encapsulation, k·ct is switched to s' at level 0 (key modulo q_0·p_0)
  /// and the raised ciphertext back to s at level L: t = k·m + q_0·I with ‖I‖_∞ ≤ (h' + 1)/2 [BTH22].
  /// Throws as check_input.
  Ciphertext mod_raise(const Ciphertext& ct) const;
  /// CoeffsToSlots of a ModRaise output (level L, any scale): the trace (sparse slots), then the
  /// inverse special FFT. Output at level L − c, scale σ_0, slots holding x_k = t_k/(q_0·K) in
  /// bit-reversed order: full slots, two ciphertexts (k < n, k ≥ n); sparse slots, one ciphertext of
  /// 2n slots. Throws LevelError unless raised.level = L; InputError unless raised.slots = n.
  std::vector<Ciphertext> coeffs_to_slots(const Ciphertext& raised) const;
  /// EvalMod on one CoeffsToSlots output: slots x ∈ [−1, 1] ↦ sin(2π·K·x) (level −e, scale σ_r),
  /// followed by the arcsine correction when configured (then ≈ 2π·(K·x − round(K·x))).
  /// Throws LevelError unless x.level = L − c.
  Ciphertext eval_mod(const Ciphertext& x) const;
  /// SlotsToCoeffs of the EvalMod outputs (two for full slots, one for sparse): the forward special
  /// FFT times q_0/(2π·Δ_in). Output: level L − c − e − s, scale Δ_out, n slots.
  /// Throws InputError for the wrong number of parts or slots; LevelError for the wrong level.
  Ciphertext slots_to_coeffs(const std::vector<Ciphertext>& parts) const;
  /// The four stages in order, then reduce_error() when error_reduction_bits > 0. Output:
  /// plan().output_level, scale exactly Δ_out, n slots. Throws as check_input.
  Ciphertext bootstrap(const Ciphertext& ct) const;
  /// Error reduction [BCCKK22] (BootstrapConfig::error_reduction_bits = k > 0): `ct` the level-0
  /// input, `out` its bootstrap (the four stages, m + ε). Computes ε' = 2^k·(out at level 0 − ct)
  /// (a subtraction and an integer product at level 0: exact), bootstraps ε' with the last
  /// SlotsToCoeffs factor divided by 2^k (so it returns ε + e_2/2^k at scale Δ_out) and returns
  /// out − that: m − e_2/2^k, at out's level and scale. Departure from OpenFHE's
  /// FHECKKSRNS::EvalBootstrap (which multiplies by 1/2^k afterwards, one level): the factor is
  /// folded into the diagonals, so no level is spent. Throws ParameterError if k = 0; as
  /// check_input for `ct`; InputError unless `out` is at plan().output_level with n slots and
  /// scale Δ_out.
  Ciphertext reduce_error(const Ciphertext& ct, const Ciphertext& out) const;

  const BootstrapPlan& plan() const { return plan_; }
  const BootstrapConfig& config() const { return cfg_; }
  const ChebyshevSeries& cosine() const { return cos_; }  ///< p ≈ cos(2π(K·x − 1/4)/2^r) on [−1, 1]
  double eval_mod_input_scale() const { return sigma0_; }  ///< σ_0
  std::int64_t scale_up() const { return scale_up_; }  ///< k (see BootstrapConfig::log_message_ratio)
  /// The ratio k was computed from: log_message_ratio, plus log2(N/(2n))/2 with
  /// ratio_grows_with_sparse_slots.
  double message_ratio() const { return ratio_; }
  double eval_mod_output_scale() const { return sigma_r_; }  ///< σ_r
  /// Rotations, key switches and levels spent by every stage call since construction (summed):
  /// the trace, the linear transforms, the conjugations and the double angles. The relinearisations
  /// inside the cosine and arcsine polynomials are not counted (PolynomialEvaluator does not report them).
  const TransformCost& cost() const { return cost_; }

 private:
  /// Throws ParameterError for another Context; LevelError unless ct.level = 0 (drop_level(ct, 0)
  /// first); InputError unless ct.slots = n or if ct has 3 components; ScaleError unless
  /// ct.scale = Δ_in (relative 10^-9).
  void check_input(const Ciphertext& ct, const char* op) const;
  Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk,
               const EncapsulationKeys* ek);
  Ciphertext switch_key(const Ciphertext& ct, const KeySwitchKey& key) const;
  Ciphertext to_ephemeral_secret(const Ciphertext& ct) const;
  Ciphertext times_i(const Ciphertext& ct, double sign) const;
  Ciphertext four_stages(const Ciphertext& ct, bool reduced) const;
  Ciphertext slots_to_coeffs(const std::vector<Ciphertext>& parts, bool reduced) const;

  ContextPtr ctx_;
  BootstrapConfig cfg_;
  BootstrapPlan plan_;
  Encoder enc_;
  Evaluator ev_;
  const RelinKey* rk_;
  const GaloisKeys* gk_;
  const EncapsulationKeys* ek_ = nullptr;
  std::vector<DiagonalTransform> cts_, stc_;
  std::optional<DiagonalTransform> stc_reduced_;  ///< the last SlotsToCoeffs factor / 2^k (error reduction only)
  ChebyshevSeries cos_, arcsin_;
  double rho_ = 0, sigma0_ = 0, sigma_r_ = 0, ratio_ = 0;
  std::int64_t scale_up_ = 1;
  mutable TransformCost cost_;
};

}  // namespace ckks

// The textbook scheme: the original, big-integer CKKS of [CKKS17], written to be
// read beside the paper. One modulus per level, q_ℓ = q_0·Δ^ℓ (ℓ = 0 … L), polynomials as NTL::ZZX
// with big-integer coefficients, no RNS, no NTT of our own (NTL multiplies ZZX), no hoisting.
// It is slow on purpose: every step is one line of the paper.
//
//   Setup      q_ℓ = q_0·Δ^ℓ,  P = q_L (the evaluation key lives modulo P·q_L)     [CKKS17]
//   KeyGen     s ← HWT(h) (or uniform ternary, the default here);  a ← R_{q_L}, e ← DG(σ²):  pk = (−a·s + e, a) mod q_L
//              a' ← R_{P·q_L}, e' ← DG(σ²):  evk = (−a'·s + e' + P·s², a') mod P·q_L
//   Ecd / Dcd  m = ⌊Δ·σ⁻¹(π⁻¹(z))⌉;  z = π(σ(Δ⁻¹·m))                               [CKKS17, Ecd]
//   Enc        v ← ZO(0.5), e_0, e_1 ← DG(σ²):  c = v·pk + (m + e_0, e_1) mod q_L
//   Dec        m' = ⟨c, (1, s)⟩ mod q_ℓ  (centred)
//   Add        c + c' mod q_ℓ
//   Mult       (d_0, d_1, d_2) = (b b', a b' + a' b, a a');  c_mult = (d_0, d_1) + ⌊P⁻¹·d_2·evk⌉ mod q_ℓ
//   RS_{ℓ→ℓ'}  c' = ⌊(q_ℓ'/q_ℓ)·c⌉ mod q_ℓ'   (here q_ℓ/q_ℓ' = Δ^{ℓ−ℓ'} exactly)
// The rows name the paper's operations, not its section numbers (which could not be read here; see
// docs/references.md). The same steps with section numbers a reader can open: [FHETB] §D-3.1
// (Ecd/Dcd), §D-3.2 (Enc/Dec), §D-3.5 (Mult with the evaluation key, §D-3.5.4 RS).
//
// Departures from the paper, on purpose and marked in the code:
//  * Encoding rounds each coefficient to the nearest integer (the paper discretises Δ·σ⁻¹(π⁻¹(z))
//    to σ(R) by a randomised "coordinate-wise rounding"); the RNS Encoder does the same.
//  * Uniform sampling modulo a big q draws 64 more bits than q has and reduces (statistical
//    distance below 2^−64 from uniform) instead of exact rejection.
//  * Δ ≤ 2^50 and q_0 ≤ 2^200 here (a double carries Δ·m exactly enough; see encode()).
//
// It is also the differential oracle of the RNS implementation: tests/ckks/test_textbook.cpp runs
// the same circuit in both and requires the same decoded result within the noise bound.
// Nothing here is shared with the RNS code except the CSPRNG and the error types.
#pragma once
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "ckks/math/sampler.h"

namespace ckks::textbook {

/// The paper's parameters. Moduli are powers of two, as in [CKKS17] (q_0 = 2^log_q0,
/// Δ = 2^log_delta, so q_ℓ = 2^{log_q0 + ℓ·log_delta} and P = q_L).
struct Params {
  int log_n = 12;          ///< N = 2^log_n, 1 ≤ log_n ≤ 16
  int log_q0 = 60;         ///< q_0 = 2^log_q0: the last modulus, headroom for the result
  int log_delta = 40;      ///< Δ = 2^log_delta ≤ 2^50
  int levels = 2;          ///< L ≥ 0
  /// 0: s uniform ternary (each coefficient uniform in {−1, 0, 1}), the distribution the 128-bit
  /// table assumes. h > 0: s ← HWT(h), exactly h non-zero ±1 coefficients, as in [CKKS17]
  /// (h = 64 there); sparse secrets are outside the table, so they need allow_insecure.
  int hamming_weight = 0;
  double sigma = 3.2;      ///< σ of DG(σ²)
  /// Parameters whose log2(P·q_L) exceeds the HomomorphicEncryption.org 128-bit bound for N, or a
  /// sparse secret (hamming_weight > 0), are refused unless this is set (then a warning is printed
  /// on stderr).
  bool allow_insecure = false;
};

struct SecretKey { NTL::ZZX s; };          ///< s uniform ternary or HWT(h), coefficients in {−1, 0, 1}
struct PublicKey { NTL::ZZX b, a; };       ///< mod q_L
struct EvaluationKey { NTL::ZZX b, a; };   ///< mod P·q_L, encrypts P·s² under s

/// (c_0, c_1) mod q_level, decrypting to c_0 + c_1·s ≈ Δ·m. Coefficients kept in [0, q_level).
struct Ciphertext {
  NTL::ZZX c0, c1;
  int level = 0;
  double scale = 1;  ///< the Δ the message is multiplied by (Δ after encryption, Δ² after a product)
};

/// The tensor product before relinearisation: decrypts under (1, s, s²).
struct Ciphertext3 {
  NTL::ZZX d0, d1, d2;
  int level = 0;
  double scale = 1;
};

class Scheme {
 public:
  /// Validates the parameters. Throws ParameterError (naming the value and the fix) for log_n
  /// outside 1..16, log_delta outside 1..50, log_q0 outside 1..200, levels < 0, h outside 0..N,
  /// σ ≤ 0, or (without allow_insecure) log2(P·q_L) above the 128-bit bound for N or h > 0.
  explicit Scheme(const Params& p);

  const Params& params() const { return p_; }
  std::size_t N() const { return n_; }
  std::size_t slots() const { return n_ / 2; }
  NTL::ZZ q(int level) const;  ///< q_ℓ = q_0·Δ^ℓ. Throws LevelError outside 0..L.
  const NTL::ZZ& P() const { return P_; }
  double delta() const { return std::ldexp(1.0, p_.log_delta); }
  /// log2(P·q_L) = 2·(log_q0 + L·log_delta) (P = q_L): the modulus the security table bounds.
  int log_pq() const { return 2 * (p_.log_q0 + p_.levels * p_.log_delta); }
  /// 128 if log_pq() is within the bound for N and the secret is uniform ternary, else 0
  /// (accepted only with allow_insecure).
  int security_bits() const { return security_bits_; }

  // ---- encoding [CKKS17, Ecd/Dcd; FHETB, §D-3.1]
  /// m = ⌊Δ·σ⁻¹(π⁻¹(z))⌉: the integer polynomial whose values at the N/2 roots ζ^{5^j}
  /// (ζ = e^{iπ/N}) are ≈ Δ·z_j (and at their conjugates ≈ Δ·z̄_j). z has at most N/2 values
  /// (missing ones are 0); slot j ↔ root ζ^{5^j mod 2N}, the order of the RNS Encoder.
  /// Computed directly as m_i = ⌊(2Δ/N)·Re Σ_j z_j·ζ^{−5^j·i}⌉ (O(N²): the RNS Encoder uses the
  /// special FFT for the same map). Throws InputError for too many values, a NaN/∞, or
  /// |Δ·m_i| ≥ 2^62 (naming the slot magnitude and the fix: smaller values or a smaller Δ).
  NTL::ZZX encode(const std::vector<std::complex<double>>& z, double scale) const;
  /// z_j = m(ζ^{5^j})/scale for j < N/2. m's coefficients are read as they are (pass centred ones).
  std::vector<std::complex<double>> decode(const NTL::ZZX& m, double scale) const;

  // ---- keys and encryption [CKKS17]
  SecretKey secret_key(math::Csprng& rng) const;
  PublicKey public_key(const SecretKey& sk, math::Csprng& rng) const;
  EvaluationKey evaluation_key(const SecretKey& sk, math::Csprng& rng) const;
  /// c = v·pk + (m + e_0, e_1) mod q_L, at level L with the given scale.
  Ciphertext encrypt(const NTL::ZZX& m, double scale, const PublicKey& pk, math::Csprng& rng) const;
  /// ⟨c, (1, s)⟩ mod q_ℓ, centred in (−q_ℓ/2, q_ℓ/2].
  NTL::ZZX decrypt(const Ciphertext& c, const SecretKey& sk) const;
  /// d_0 + d_1·s + d_2·s² mod q_ℓ, centred (to look at a product before relinearisation).
  NTL::ZZX decrypt(const Ciphertext3& c, const SecretKey& sk) const;

  // ---- homomorphic operations [CKKS17]
  /// c + c' mod q_ℓ. Throws LevelError if the levels differ, ScaleError if the scales differ.
  Ciphertext add(const Ciphertext& x, const Ciphertext& y) const;
  /// The tensor product (b b', a b' + a' b, a a') mod q_ℓ, scale Δ·Δ'. Throws LevelError if the
  /// levels differ.
  Ciphertext3 tensor(const Ciphertext& x, const Ciphertext& y) const;
  /// (d_0, d_1) + ⌊P⁻¹·d_2·evk⌉ mod q_ℓ: back to two components under s.
  Ciphertext relinearize(const Ciphertext3& d, const EvaluationKey& evk) const;
  /// tensor then relinearize (the paper's Mult).
  Ciphertext multiply(const Ciphertext& x, const Ciphertext& y, const EvaluationKey& evk) const;
  /// RS_{ℓ→ℓ'}: ⌊(q_ℓ'/q_ℓ)·c⌉ mod q_ℓ', scale divided by Δ^{ℓ−ℓ'}. Default ℓ' = ℓ − 1.
  /// Throws LevelError if c is at level 0, or unless 0 ≤ ℓ' < ℓ.
  Ciphertext rescale(const Ciphertext& c, int to_level = -1) const;

  // ---- polynomial arithmetic in R_q = Z_q[X]/(X^N + 1), public for the labs
  /// a·b mod (X^N + 1, q), coefficients in [0, q).
  NTL::ZZX mul_mod(const NTL::ZZX& a, const NTL::ZZX& b, const NTL::ZZ& q) const;
  /// Reduce every coefficient into [0, q) (and the degree below N: X^N = −1).
  NTL::ZZX reduce(const NTL::ZZX& a, const NTL::ZZ& q) const;
  /// The centred representatives, in (−q/2, q/2].
  static NTL::ZZX centre(const NTL::ZZX& a, const NTL::ZZ& q);
  /// The infinity norm max_i |a_i| (of the coefficients as given), as log2 (−∞ for 0).
  static double log2_norm(const NTL::ZZX& a);

 private:
  NTL::ZZX uniform(const NTL::ZZ& q, math::Csprng& rng) const;
  NTL::ZZX gaussian(math::Csprng& rng) const;
  NTL::ZZX zo(math::Csprng& rng) const;  // ZO(0.5): 0 w.p. 1/2, ±1 w.p. 1/4 each
  void check_level(int level, const char* op) const;

  Params p_;
  std::size_t n_ = 0;
  NTL::ZZ P_;
  int security_bits_ = 0;
  std::vector<std::complex<double>> zeta_pow_;  // ζ^k, k = 0 … 2N − 1
  std::vector<std::size_t> rot_group_;          // 5^j mod 2N, j < N/2
};

}  // namespace ckks::textbook

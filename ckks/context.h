// Context: the validated, immutable form of Params, with every precomputed table the scheme needs.
// Built once; ciphertexts, keys and the verbs (Encoder, Encryptor, Evaluator, ...) hold a
// shared_ptr to it, and every operation checks that its operands come from the same Context.
//
// Moduli [CHKKS18]: data primes q_0..q_L (level ℓ ciphertexts live modulo Q_ℓ = q_0·…·q_ℓ) and
// special primes p_0..p_{k-1} (P = Π p_j) used only inside key switching. Hybrid key switching
// [HK20] splits the data primes into dnum digits of alpha = ceil((L+1)/dnum) consecutive primes.
//
// Thread safety (the whole library): objects that are only read may be shared by any number of
// threads. A Context (immutable; its one cache, of automorphism permutations, takes a lock), an
// Encoder, an Evaluator and a Decryptor have only const verbs; keys, plaintexts and ciphertexts are
// values, safe to read concurrently and never modified by an operation. An Encryptor and a
// KeyGenerator draw from their own CSPRNG and are NOT safe to share: give each thread its own
// (with its own seed). tests/ckks/test_concurrency.cpp checks this under ThreadSanitizer in CI.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ckks/math/rns.h"
#include "ckks/math/rns_poly.h"
#include "ckks/params.h"

namespace ckks {

class Context {
 public:
  /// Validate `params` and build the tables (primes, NTT tables, base converters).
  /// Throws ParameterError when: log_n is outside [1, 17]; a prime size is outside [20, 61]; the
  /// chain or the special primes are empty; dnum is outside [1, L+1]; the scale is not below the
  /// modulus Q_L or is below 2^10; P is smaller than the largest key-switching digit; h is outside
  /// [1, N]; or the parameters are not 128-bit secure by [HES18] (log QP too large for N, N < 2^10,
  /// a sparse secret, σ < 3.2) and `allow_insecure` is false; an explicit prime (q_primes,
  /// p_primes) is outside [20, 61] bits, not ≡ 1 mod 2N, not prime, or given twice. With explicit
  /// primes the size checks and the security bound use their actual bit sizes, and params()
  /// reports those sizes in log_q / log_p. With allow_insecure the Context prints one warning line
  /// on stderr naming what is insecure.
  static std::shared_ptr<const Context> create(const Params& params);

  const Params& params() const { return params_; }
  std::size_t n() const { return n_; }                      ///< ring degree N
  int log_n() const { return params_.log_n; }
  std::size_t max_slots() const { return n_ / 2; }          ///< N/2
  int max_level() const { return static_cast<int>(q_.size()) - 1; }  ///< L
  double default_scale() const;                              ///< Δ = 2^log_scale
  std::size_t dnum() const { return dnum_; }
  std::size_t alpha() const { return alpha_; }               ///< primes per digit
  /// 128 when the parameters meet [HES18]'s 128-bit bound, 0 when accepted via allow_insecure.
  int security_bits() const { return security_bits_; }
  double log_qp() const;                                     ///< log2(Q_L · P), bits

  const math::Prime& q(int i) const { return *q_[i]; }       ///< data prime q_i
  const math::Prime& p(int j) const { return *p_[j]; }       ///< special prime p_j
  std::size_t num_special() const { return p_.size(); }

  const math::RnsBasis& basis_q(int level) const { return basis_q_[level]; }    ///< q_0..q_ℓ
  const math::RnsBasis& basis_qp(int level) const { return basis_qp_[level]; }  ///< q_0..q_ℓ,p_0..
  const math::RnsBasis& basis_p() const { return basis_p_; }

  /// Digits of hybrid key switching at level ℓ: digit j covers data primes
  /// [j·alpha, min((j+1)·alpha, ℓ+1)). Number of digits at level ℓ:
  std::size_t num_digits(int level) const { return (level + alpha_) / alpha_; }
  /// ModUp converter for digit j at level ℓ: from the digit's primes to all other primes of Q_ℓ·P
  /// (in basis_qp order, the digit's own primes skipped) [HK20, ModUp; CHKKS18, ModUp].
  const math::BaseConverter& modup_converter(int level, std::size_t digit) const {
    return *modup_[level][digit];
  }
  /// ModDown converter at level ℓ: from the special primes to q_0..q_ℓ [CHKKS18, ModDown].
  const math::BaseConverter& moddown_converter(int level) const { return *moddown_[level]; }
  /// [P^{-1}]_{q_i} and [P]_{q_i}, i = 0..L.
  std::uint64_t p_inv_mod_q(int i) const { return p_inv_mod_q_[i]; }
  std::uint64_t p_mod_q(int i) const { return p_mod_q_[i]; }
  /// [q_ℓ^{-1}]_{q_i} for i < ℓ (rescaling by q_ℓ).
  std::uint64_t q_inv_mod_q(int l, int i) const { return q_inv_mod_q_[l][i]; }

  /// Permutation of the evaluation points for the automorphism X ↦ X^g (cached; thread-safe).
  const std::vector<std::uint32_t>& automorphism_permutation(std::uint64_t g) const;
  /// Galois element of a rotation of the slots by `steps` to the left: 5^steps mod 2N (steps may
  /// be negative), for the full slot count N/2 and any sparse count [CKKS17; FHETB, §D-3.9].
  std::uint64_t galois_element(int steps) const;
  /// Galois element of complex conjugation: 2N − 1.
  std::uint64_t conjugation_element() const { return 2 * n_ - 1; }

 private:
  explicit Context(const Params& params);
  Params params_;
  std::size_t n_ = 0, dnum_ = 0, alpha_ = 0;
  int security_bits_ = 0;
  std::vector<std::unique_ptr<math::Prime>> q_, p_;
  std::vector<math::RnsBasis> basis_q_, basis_qp_;
  math::RnsBasis basis_p_;
  std::vector<std::vector<std::unique_ptr<math::BaseConverter>>> modup_;
  std::vector<std::unique_ptr<math::BaseConverter>> moddown_;
  std::vector<std::uint64_t> p_inv_mod_q_, p_mod_q_;
  std::vector<std::vector<std::uint64_t>> q_inv_mod_q_;
  mutable std::mutex perm_mutex_;
  mutable std::map<std::uint64_t, std::vector<std::uint32_t>> perm_cache_;
};

using ContextPtr = std::shared_ptr<const Context>;

/// "2^40" style rendering of a positive value for error messages.
std::string pow2_string(double x);

}  // namespace ckks

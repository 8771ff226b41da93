// KeyGenerator: secret, public, relinearisation and Galois keys [CKKS17; HK20].
#pragma once
#include <memory>
#include <vector>

#include "ckks/keys.h"
#include "ckks/math/sampler.h"

namespace ckks {

/// Key switching s → s' usable at level 0 only, modulo q_0·p_0 (p_0 the first special prime):
/// one RLWE pair (b, a) = (−a·s' + e + [p_0]_{q_0}·s, a) modulo q_0 and (−a·s' + e, a) modulo p_0,
/// two limbs (q_0, p_0) in evaluation form. It is an RLWE sample under s' at a 121-bit modulus
/// (60 + 61 bits in the N = 2^16 presets), nothing more [BTH22].
struct Level0SwitchKey {
  ContextPtr context;
  math::RnsPoly b, a;
};

/// The two keys of sparse-secret encapsulation for bootstrapping [BTH22]: an ephemeral secret s'
/// of Hamming weight h' is sampled, used for these two keys and wiped; it is never returned.
///   dense_to_sparse  s → s' at level 0, modulo q_0·p_0 only (Level0SwitchKey): the sparse s' is
///                    only ever exposed at this small modulus, which is what makes it acceptable;
///   sparse_to_dense  s' → s modulo Q_L·P (all digits), an ordinary switching key under s.
struct EncapsulationKeys {
  Level0SwitchKey dense_to_sparse;
  KeySwitchKey sparse_to_dense;
  int hamming_weight = 0;  ///< h' of the ephemeral secret
};

/// Not thread-safe (it advances its CSPRNG): one KeyGenerator per thread (see ckks/context.h).
class KeyGenerator {
 public:
  /// Randomness from a fresh OS-seeded Csprng.
  explicit KeyGenerator(ContextPtr context);
  /// Randomness from the given generator (e.g. Csprng::insecure_fixed_seed_for_testing).
  KeyGenerator(ContextPtr context, math::Csprng rng);

  /// s ← χ_key: uniform ternary, or fixed Hamming weight h (Params::secret).
  SecretKey secret_key();
  /// (−a·s + e, a) mod Q_L·P. Throws ParameterError if sk is from another Context.
  PublicKey public_key(const SecretKey& sk);
  /// Key switching s² → s. Same errors as public_key.
  RelinKey relin_key(const SecretKey& sk);
  /// Galois keys for rotations by each step in `steps` (left rotation by k > 0, right by k < 0;
  /// 0 is ignored) and, if `conjugation`, for complex conjugation. With max_level ℓ_k (−1: L, the
  /// whole chain) the keys switch ciphertexts at levels ≤ ℓ_k only and take num_digits(ℓ_k) digits
  /// of ℓ_k + 1 + k limbs instead of dnum of L + 1 + k (KeySwitchKey); key switching at a higher
  /// level throws LevelError. Throws ParameterError unless −1 ≤ max_level ≤ L. Source: [Lattigo]
  /// (core/rlwe/keys.go, EvaluationKeyParameters.LevelQ).
  GaloisKeys galois_keys(const SecretKey& sk, const std::vector<int>& steps, bool conjugation = false,
                         int max_level = -1);
  /// Galois keys for explicit Galois elements g (odd, 1 < g < 2N), for levels ≤ max_level as in
  /// galois_keys. Throws ParameterError for another g or max_level.
  GaloisKeys galois_keys_for_elements(const SecretKey& sk, const std::vector<std::uint64_t>& elements,
                                      int max_level = -1);
  /// The key switching key s' → s for any s' given modulo Q_L·P in evaluation form [HK20], for
  /// ciphertext levels ≤ max_level (−1: L; see galois_keys). Throws ParameterError unless
  /// −1 ≤ max_level ≤ L.
  KeySwitchKey switching_key(const SecretKey& sk, const math::RnsPoly& s_prime, int max_level = -1);
  /// The keys of sparse-secret encapsulation (EncapsulationKeys) for an ephemeral secret of Hamming
  /// weight `hamming_weight`. Throws ParameterError if sk is from another Context, unless
  /// 1 ≤ hamming_weight ≤ N, or if Params::log_p is empty. Source: [BTH22].
  EncapsulationKeys encapsulation_keys(const SecretKey& sk, int hamming_weight);

 private:
  void check(const SecretKey& sk, const char* op) const;
  ContextPtr ctx_;
  math::Csprng rng_;
};

}  // namespace ckks

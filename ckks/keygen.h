// KeyGenerator: secret, public, relinearisation and Galois keys [CKKS17; HK20].
#pragma once
#include <memory>
#include <vector>

#include "ckks/keys.h"
#include "ckks/math/sampler.h"

namespace ckks {

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
  /// 0 is ignored) and, if `conjugation`, for complex conjugation.
  GaloisKeys galois_keys(const SecretKey& sk, const std::vector<int>& steps, bool conjugation = false);
  /// Galois keys for explicit Galois elements g (odd, 1 < g < 2N). Throws ParameterError otherwise.
  GaloisKeys galois_keys_for_elements(const SecretKey& sk, const std::vector<std::uint64_t>& elements);
  /// The key switching key s' → s for any s' given modulo Q_L·P in evaluation form [HK20].
  KeySwitchKey switching_key(const SecretKey& sk, const math::RnsPoly& s_prime);

 private:
  void check(const SecretKey& sk, const char* op) const;
  ContextPtr ctx_;
  math::Csprng rng_;
};

}  // namespace ckks

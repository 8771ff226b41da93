// Encryptor: public-key and secret-key encryption [CKKS17, Enc; FHETB, §D-3.2].
#pragma once
#include <optional>

#include "ckks/ciphertext.h"
#include "ckks/keys.h"
#include "ckks/math/sampler.h"

namespace ckks {

/// Not thread-safe (it advances its CSPRNG): one Encryptor per thread (see ckks/context.h).
class Encryptor {
 public:
  /// Public-key encryptor (what a data owner without the secret key, or a client, uses).
  Encryptor(ContextPtr context, PublicKey pk);
  /// Secret-key encryptor (smaller noise; the uniform part can be regenerated from a seed).
  Encryptor(ContextPtr context, const SecretKey& sk);
  /// As above with explicit randomness (e.g. Csprng::insecure_fixed_seed_for_testing).
  Encryptor(ContextPtr context, PublicKey pk, math::Csprng rng);
  Encryptor(ContextPtr context, const SecretKey& sk, math::Csprng rng);

  /// Encrypt pt at its level ℓ and scale.
  /// Public key: v ← ternary, e_0, e_1 ← Gaussian; (v·b + e_0, v·a + e_1) is formed modulo Q_ℓ·P
  /// and divided by P (ModDown) before adding m, so the fresh noise is ≈ the rounding of the
  /// division rather than v·e. Departure from [CKKS17], which works modulo Q_ℓ directly;
  /// the same practice as SEAL and Lattigo.
  /// Secret key: (−a·s + e + m, a) mod Q_ℓ with a uniform.
  /// The ciphertext records the key set of the key (Ciphertext::key_id).
  /// Throws ParameterError if pt comes from another Context.
  Ciphertext encrypt(const Plaintext& pt);

 private:
  ContextPtr ctx_;
  std::optional<PublicKey> pk_;
  std::optional<SecretKey> sk_;
  math::Csprng rng_;
};

}  // namespace ckks

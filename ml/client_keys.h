// The data owner's (client's) key material and verbs, shared by every encrypted model: it holds the
// secret key, so it stays on the client; the server gets only the Context and evaluation keys.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/keygen.h"
#include "ckks/keys.h"

namespace ckks::ml {

struct ClientKeys {
  KeyGenerator keygen;
  SecretKey sk;
  PublicKey pk;
  Encoder encoder;
  Encryptor encryptor;
  Decryptor decryptor;

  /// Generates the secret and public keys. Randomness from the operating system unless
  /// `test_seed` is set: then keys and encryptions are deterministic and INSECURE (tests only).
  explicit ClientKeys(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt)
      : keygen(test_seed ? KeyGenerator(ctx, math::Csprng::insecure_fixed_seed_for_testing(*test_seed))
                         : KeyGenerator(ctx)),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        encoder(ctx),
        encryptor(test_seed ? Encryptor(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(*test_seed + 1))
                            : Encryptor(ctx, pk)),
        decryptor(ctx, sk) {}

  /// From keys made earlier (e.g. loaded with ckks/serialize.h by `ckks-ml encrypt/decrypt`):
  /// encryption and any further key generation use the operating system's randomness.
  /// Throws ParameterError if a key belongs to another Context.
  ClientKeys(ContextPtr ctx, SecretKey secret, PublicKey public_key)
      : keygen(ctx), sk(std::move(secret)), pk(std::move(public_key)), encoder(ctx), encryptor(ctx, pk),
        decryptor(ctx, sk) {
    if (sk.context != ctx || pk.context != ctx)
      throw ParameterError("ClientKeys: the secret or public key belongs to another Context");
  }
};

/// Bytes of a key-switching key in memory: the limbs of its 2·digits polynomials × N words × 8
/// bytes (a key for a lower top level, KeyGenerator::galois_keys with max_level, holds fewer).
inline double key_bytes(const KeySwitchKey& k, std::size_t n) {
  std::size_t limbs = 0;
  for (const auto* polys : {&k.a, &k.b})
    for (const auto& p : *polys) limbs += p.limbs();
  return static_cast<double>(limbs * n * 8);
}

/// Bytes of every Galois key of `gk` in memory (key_bytes summed).
inline double galois_key_bytes(const GaloisKeys& gk, std::size_t n) {
  double b = 0;
  for (const auto& entry : gk.keys) b += key_bytes(entry.second, n);
  return b;
}

}  // namespace ckks::ml

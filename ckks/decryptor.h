// Decryptor: m = c_0 + c_1·s (+ c_2·s² before relinearisation) mod Q_ℓ
// [CKKS17, Dec; FHETB, §D-3.2].
#pragma once
#include "ckks/ciphertext.h"
#include "ckks/keys.h"

namespace ckks {

/// Thread-safe: decrypt is const; one Decryptor may serve many threads (see ckks/context.h).
class Decryptor {
 public:
  Decryptor(ContextPtr context, const SecretKey& sk);
  /// The plaintext (same level, scale and slots as ct). Throws ParameterError if ct comes from
  /// another Context, InputError if ct has fewer than 2 or more than 3 components,
  /// KeyMismatchError if ct records a key set (Ciphertext::key_id) other than this secret key's:
  /// decrypting it would give garbage that looks like an answer. A ciphertext whose key set is
  /// unknown (key_id 0: read from a file written before key ids existed) is decrypted unchecked.
  Plaintext decrypt(const Ciphertext& ct) const;

 private:
  ContextPtr ctx_;
  SecretKey sk_;
};

}  // namespace ckks

#include "ckks/decryptor.h"

#include <string>

#include "ckks/math/errors.h"

namespace ckks {

Decryptor::Decryptor(ContextPtr context, const SecretKey& sk) : ctx_(std::move(context)), sk_(sk) {
  if (sk_.context != ctx_) throw ParameterError("Decryptor: the secret key belongs to another Context");
}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  if (ct.context != ctx_)
    throw ParameterError("decrypt: the ciphertext was made under another Context");
  if (ct.size() < 2 || ct.size() > 3)
    throw InputError("decrypt: a ciphertext has 2 or 3 components, this one has " +
                     std::to_string(ct.size()));
  check_same_key_set(ct.key_id, sk_.key_id, "decrypt", "the ciphertext", "the secret key",
                     "decrypt with the secret key of the key set the ciphertext was encrypted under");
  const auto& bq = ctx_->basis_q(ct.level);
  // Horner: m = c_0 + s·(c_1 + s·c_2). The first ℓ+1 limbs of s (held mod Q_L·P) are s mod Q_ℓ,
  // so s is used in place: no copy of the secret is made.
  math::RnsPoly acc = ct.c.back();
  for (std::size_t i = ct.size() - 1; i-- > 0;) {
    math::mul_inplace(acc, sk_.s, bq);
    math::add_inplace(acc, ct.c[i], bq);
  }
  return Plaintext{ctx_, std::move(acc), ct.level, ct.scale, ct.slots};
}

}  // namespace ckks

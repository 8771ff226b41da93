// Plaintext and Ciphertext: ring elements with the metadata every operation checks [CHKKS18].
//
//  * level ℓ: the element lives modulo Q_ℓ = q_0·…·q_ℓ (ℓ + 1 RNS limbs); ℓ counts down to 0.
//  * scale Δ: a plaintext polynomial m encodes the slot vector z with m ≈ Δ·τ^{-1}(z)
//    [CKKS17, Ecd; FHETB, §D-3.1].
//  * slots n: how many slots are in use (a power of two ≤ N/2; n < N/2 is sparse packing).
// Polynomials are kept in evaluation (NTT) form, where ring products are coefficient-wise.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ckks/context.h"
#include "ckks/math/rns_poly.h"

namespace ckks {

/// A key set's identifier (its "key fingerprint"): 64 bits derived from the secret key s by
/// key_id_of (ckks/keys.h), recorded in every key made from s and in every ciphertext encrypted
/// under those keys or computed from such ciphertexts. 0 means unknown: objects read from files
/// written before key ids existed, or assembled by hand; every check skips an unknown id. It
/// detects the accidental mixing of key sets (the wrong secret key decrypts to plausible-looking
/// garbage); it is not an authenticator: a malicious file can carry any id.
using KeyId = std::uint64_t;

struct Plaintext {
  ContextPtr context;
  math::RnsPoly poly;   ///< ℓ + 1 limbs, evaluation form
  int level = 0;        ///< ℓ
  double scale = 1;     ///< Δ
  std::size_t slots = 0;
};

struct Ciphertext {
  ContextPtr context;
  /// (c_0, c_1) decrypting as c_0 + c_1·s; after a multiplication (c_0, c_1, c_2) with c_2·s² until
  /// relinearised. Each has ℓ + 1 limbs, evaluation form.
  std::vector<math::RnsPoly> c;
  int level = 0;
  double scale = 1;
  std::size_t slots = 0;
  /// Set by secret-key encryption: c[1] (the uniform a) was expanded from this 32-byte seed by
  /// Csprng::from_key and sample_uniform over q_0..q_ℓ, so serialization can store the seed instead
  /// of the polynomial (about half the size). Operations may copy it along with a ciphertext they
  /// modify; the serializer therefore re-expands and compares before relying on it (ckks/serialize.h).
  std::optional<std::array<std::uint8_t, 32>> seed;
  /// The key set this ciphertext was encrypted under (0: unknown). Evaluator results inherit it;
  /// Decryptor and the key-switching verbs refuse a ciphertext of another key set.
  KeyId key_id = 0;

  std::size_t size() const { return c.size(); }
};

/// A plaintext with its residues modulo the special primes p_0..p_{k−1} as well: the same integer
/// polynomial over Q_ℓ·P (ℓ+1+k limbs, Context::basis_qp(ℓ) order, evaluation form). The operand of
/// products in the extended basis (Evaluator::rotate_sum, Evaluator::multiply_sum over
/// ExtendedCiphertexts); made by Encoder::encode_extended or Evaluator::extend_plaintext.
struct ExtendedPlaintext {
  ContextPtr context;
  math::RnsPoly poly;  ///< ℓ + 1 + k limbs over Q_ℓ·P, evaluation form
  int level = 0;       ///< ℓ
  double scale = 1;    ///< Δ
  std::size_t slots = 0;
};

/// A ciphertext of P·m over Q_ℓ·P: a rotation (or a sum of weighted rotations) whose key switching
/// has not been finished by its ModDown yet ("lazy" key switching [BMTH21]; Lattigo keeps its
/// hoisted rotations in this form and calls ModDown once per sum). (c_0, c_1), ℓ+1+k limbs each
/// (Context::basis_qp(ℓ) order, evaluation form), with c_0 + c_1·s ≡ P·(Δ·m + e) mod Q_ℓ·P;
/// Evaluator::mod_down divides by P (rounding) and returns the Ciphertext of m at level ℓ. Made
/// by Evaluator::rotate_lazy; summed by Evaluator::multiply_sum and Evaluator::add_inplace.
struct ExtendedCiphertext {
  ContextPtr context;
  std::array<math::RnsPoly, 2> c;
  int level = 0;          ///< ℓ
  double scale = 1;       ///< Δ of the message (the factor P is not counted in it)
  std::size_t slots = 0;
  KeyId key_id = 0;
};

}  // namespace ckks

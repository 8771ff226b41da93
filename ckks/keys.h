// Key material [CKKS17; CHKKS18; HK20]. All polynomials are over the full key-switching modulus
// Q_L·P (limbs q_0..q_L then p_0..p_{k-1}), in evaluation form — except a switching key made for a
// lower top level ℓ_k (KeyGenerator::galois_keys with max_level), which lives over Q_{ℓ_k}·P.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/math/rns_poly.h"

namespace ckks {

/// The key-set identifier of the secret key s (held modulo Q_L·P in evaluation form): the first 8
/// bytes of NTL's DeriveKey (a SHA-256-based key derivation [Shoup]) over a domain-separation label,
/// the form flag and the residues of s modulo q_0 (its first limb), never 0. Deterministic (the same
/// s always gives the same id, so reloading a key reproduces it) and consumes no randomness
/// (fixed-seed key material is unchanged). Pseudorandom in s: it reveals nothing usable about s.
/// Cost: one hash over N words. A polynomial without limbs (a default-constructed key) gives 0.
KeyId key_id_of(const math::RnsPoly& s);

/// An id as 16 hexadecimal digits ("unknown" for 0), the form error messages and files show.
std::string key_id_string(KeyId id);

/// Throws KeyMismatchError when both ids are known and differ. The message reads
/// "<op>: <what_a> belongs to key set <a>, <what_b> to key set <b>; <fix>". 0 (unknown) passes.
void check_same_key_set(KeyId a, KeyId b, const std::string& op, const std::string& what_a,
                        const std::string& what_b, const std::string& fix);

/// s ∈ R with small coefficients (ternary or fixed Hamming weight), held modulo Q_L·P.
/// The memory holding s is zeroed when the key is destroyed. `key_id` is key_id_of(s), computed
/// when the key is made from s.
struct SecretKey {
  ContextPtr context;
  math::RnsPoly s;
  KeyId key_id = 0;
  SecretKey() = default;
  SecretKey(ContextPtr c, math::RnsPoly p) : context(std::move(c)), s(std::move(p)), key_id(key_id_of(s)) {}
  SecretKey(const SecretKey&) = default;
  SecretKey(SecretKey&&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  SecretKey& operator=(SecretKey&&) = default;
  ~SecretKey();
};

/// (b, a) = (−a·s + e, a) mod Q_L·P, a uniform, e Gaussian [CKKS17, KeyGen].
struct PublicKey {
  ContextPtr context;
  math::RnsPoly b, a;
  /// a = sample_uniform(Csprng::from_key(*seed), N, q_0..q_L,p_0.., evaluation form) when set
  /// (KeyGenerator sets it), so a serialized key can store the seed instead of a.
  std::optional<std::array<std::uint8_t, 32>> seed;
  /// The key set (key_id_of the secret key it was made from; 0: unknown). Encryption copies it
  /// into the ciphertext.
  KeyId key_id = 0;
};

/// A key-switching key from s' to s, one RLWE pair per digit j of hybrid key switching [HK20]:
/// (b_j, a_j) = (−a_j·s + e_j + P·[Q̂_j·(Q̂_j^{-1} mod Q_j)]·s', a_j) mod Q_L·P, where Q_j is the
/// product of digit j's primes and Q̂_j = Q_L/Q_j. Modulo q_i the gadget factor is [P]_{q_i} when q_i
/// is in digit j and 0 otherwise; modulo each p it is 0.
/// A key for levels ≤ ℓ_k < L (max_level()) holds only what key switching at those levels reads:
/// the num_digits(ℓ_k) digits of Q_{ℓ_k}, each pair over q_0..q_{ℓ_k},p_0..p_{k−1} — the same
/// gadget restricted to Q_{ℓ_k}·P (a digit's Q̂_j·(Q̂_j^{-1} mod Q_j) is ≡ 1 on its own primes and 0
/// on the others, whatever the top level), so (ℓ_k + 1 + k)/(L + 1 + k) of the limbs in each of
/// fewer digits. Source: [Lattigo] (core/rlwe/keys.go, EvaluationKeyParameters.LevelQ: keys below
/// the top level); the restriction of the gadget is [HK20]'s with Q_{ℓ_k} in place of Q_L.
struct KeySwitchKey {
  ContextPtr context;
  std::vector<math::RnsPoly> b, a;  ///< dnum pairs
  /// a[0], a[1], … drawn one after the other by sample_uniform from Csprng::from_key(*seed) over
  /// q_0..q_L,p_0.. in evaluation form, when set (KeyGenerator sets it): the serialized key then
  /// stores the seed instead of the dnum polynomials a_j (about half the size).
  std::optional<std::array<std::uint8_t, 32>> seed;
  /// The key set of the target key s (0: unknown). Key switching refuses a ciphertext of another.
  KeyId key_id = 0;
  /// The highest ciphertext level ℓ_k the key switches (its data limbs q_0..q_{ℓ_k}): L for a key of
  /// the whole chain, −1 for an empty key. No errors.
  int max_level() const {
    return b.empty() ? -1 : static_cast<int>(b.front().limbs()) - static_cast<int>(context->num_special()) - 1;
  }
};

/// Relinearisation key: switches s² → s [CKKS17, KeyGen (evk); HK20].
struct RelinKey {
  KeySwitchKey key;
};

/// Galois keys: for each Galois element g, a key switching σ_g(s) = s(X^g) → s
/// [CKKS17; FHETB, §D-3.9].
struct GaloisKeys {
  ContextPtr context;
  std::map<std::uint64_t, KeySwitchKey> keys;
  bool has(std::uint64_t g) const { return keys.count(g) != 0; }
};

}  // namespace ckks

// Key material [CKKS17; CHKKS18; HK20]. All polynomials are over the full
// key-switching modulus Q_L·P (limbs q_0..q_L then p_0..p_{k-1}), in evaluation form.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <map>
#include <vector>

#include "ckks/context.h"
#include "ckks/math/rns_poly.h"

namespace ckks {

/// s ∈ R with small coefficients (ternary or fixed Hamming weight), held modulo Q_L·P.
/// The memory holding s is zeroed when the key is destroyed.
struct SecretKey {
  ContextPtr context;
  math::RnsPoly s;
  SecretKey() = default;
  SecretKey(ContextPtr c, math::RnsPoly p) : context(std::move(c)), s(std::move(p)) {}
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
};

/// A key-switching key from s' to s, one RLWE pair per digit j of hybrid key switching [HK20]:
/// (b_j, a_j) = (−a_j·s + e_j + P·[Q̂_j·(Q̂_j^{-1} mod Q_j)]·s', a_j) mod Q_L·P, where Q_j is the
/// product of digit j's primes and Q̂_j = Q_L/Q_j. Modulo q_i the gadget factor is [P]_{q_i} when q_i
/// is in digit j and 0 otherwise; modulo each p it is 0.
struct KeySwitchKey {
  ContextPtr context;
  std::vector<math::RnsPoly> b, a;  ///< dnum pairs
  /// a[0], a[1], … drawn one after the other by sample_uniform from Csprng::from_key(*seed) over
  /// q_0..q_L,p_0.. in evaluation form, when set (KeyGenerator sets it): the serialized key then
  /// stores the seed instead of the dnum polynomials a_j (about half the size).
  std::optional<std::array<std::uint8_t, 32>> seed;
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

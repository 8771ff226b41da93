// The negacyclic number-theoretic transform over Z_q[X]/(X^N+1).
//
// Forward: Cooley–Tukey butterflies with the powers of ψ (a primitive 2N-th root of unity) stored in
// bit-reversed order, so no separate bit-reversal pass is needed [Longa–Naehrig 2016, eprint
// 2016/504, Alg. 1]; inverse: Gentleman–Sande butterflies [ibid., Alg. 2].
// Butterflies are lazy in the Harvey style [Harvey 2014, "Faster arithmetic for number-theoretic
// transforms", Alg. 4 (forward) and Alg. 3 (inverse)]: values stay in [0, 4q) (forward) or [0, 2q)
// (inverse) between stages, with Shoup multiplication by the precomputed twiddles, and are fully
// reduced only at the end. This needs q < 2^62.
//
// Output order: after `forward`, a[i] = a(ψ^(2·brv(i)+1)) where brv reverses log2(N) bits. The
// Galois automorphisms in evaluation form (rns_poly.h) rely on this.
#pragma once
#include <cstdint>
#include <vector>

#include "ckks/math/modarith.h"

namespace ckks::math {

/// Precomputed twiddle factors for one prime q and ring degree N.
class NttTables {
 public:
  /// Precondition: N a power of two ≥ 2, q prime ≡ 1 mod 2N, q < 2^62; ψ is found with NTL.
  /// Throws ParameterError otherwise.
  NttTables(std::uint64_t N, const Modulus& q);

  /// In place: coefficients (values in [0, q)) → evaluations (values in [0, q)). Length N.
  void forward(std::uint64_t* a) const;
  /// In place: evaluations → coefficients, including the factor N^{-1}. Length N.
  void inverse(std::uint64_t* a) const;

  std::uint64_t n() const { return n_; }
  const Modulus& modulus() const { return q_; }
  std::uint64_t psi() const { return psi_; }

 private:
  std::uint64_t n_;
  int log_n_;
  Modulus q_;
  std::uint64_t psi_;
  std::vector<std::uint64_t> psi_rev_, psi_rev_shoup_;          // ψ^brv(i)
  std::vector<std::uint64_t> psi_inv_rev_, psi_inv_rev_shoup_;  // ψ^-(brv(i)) 
  std::uint64_t n_inv_, n_inv_shoup_;
  std::uint64_t last_inv_, last_inv_shoup_;  // N^{-1} · ψ^-brv(1), folded into the last inverse stage
};

/// Reverse the low `bits` bits of x.
inline std::uint32_t bit_reverse(std::uint32_t x, int bits) {
  std::uint32_t r = 0;
  for (int i = 0; i < bits; ++i) r |= ((x >> i) & 1u) << (bits - 1 - i);
  return r;
}

}  // namespace ckks::math

// The negacyclic number-theoretic transform over Z_q[X]/(X^N+1).
//
// Forward: Cooley–Tukey butterflies with the powers of ψ (a primitive 2N-th root of unity) stored in
// bit-reversed order, so no separate bit-reversal pass is needed [LN16, Alg. 1]; inverse:
// Gentleman–Sande butterflies [LN16, Alg. 2].
// Butterflies are lazy in the Harvey style [Harvey14, Alg. 4 (forward) and Alg. 3 (inverse)]:
// values stay in [0, 4q) (forward) or [0, 2q) (inverse) between stages, with Shoup multiplication
// by the precomputed twiddles, and are fully reduced only at the end. This needs q < 2^62.
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

  /// In place: coefficients → evaluations (values in [0, q)). Length N. Inputs may be lazy, in
  /// [0, 4q) (Harvey's invariant), which saves callers a reduction.
  void forward(std::uint64_t* a) const;
  /// In place: evaluations → coefficients, including the factor N^{-1}. Length N.
  void inverse(std::uint64_t* a) const;

  /// The forward transform of a polynomial of the subring Z_q[X^g] (g = 2^log_gap ≤ N/2), given by
  /// its n = N/g coefficients: on entry a[0..n) holds m'(Y) ∈ Z_q[Y]/(Y^n + 1) (coefficient i of
  /// m' is coefficient i·g of m(X) = m'(X^g); the rest of a is ignored), on return a[0..N) holds
  /// forward's output for m, a[i] = m(ψ^(2·brv(i)+1)), values in [0, q). Since ψ^(g·(2r+1)) depends
  /// on r mod n only, a[i] = â'[i >> log_gap], where â' is the size-n transform of m' with the root
  /// ψ^g, whose twiddles ψ^(g·brv_n(j)) = ψ^(brv_N(j)) are the first n of this table's (brv_n
  /// reverses log2(n) bits): one transform of n coefficients and N writes instead of a transform of
  /// N. Equal bit for bit to zero-filling, spreading the coefficients to i·g and calling forward
  /// (tests/math/test_ntt.cpp). Inputs may be lazy, in [0, 4q), as for forward. log_gap = 0 is
  /// forward. Precondition (unchecked, as forward's length): 0 ≤ log_gap < log2(N).
  void forward_subring(std::uint64_t* a, int log_gap) const;

  /// The portable scalar butterflies (the reference). forward/inverse run AVX-512 butterflies
  /// instead when the build targets AVX-512F/DQ (e.g. -march=native on such a CPU) and N ≥ 16: the
  /// IFMA (52-bit multiply-add) path for q < 2^50 when the CPU has IFMA, so that lazy values < 4q
  /// fit its multipliers, else a 64-bit Shoup path from 32×32-bit products. All give identical
  /// results (checked in tests).
  void forward_scalar(std::uint64_t* a) const;
  void inverse_scalar(std::uint64_t* a) const;
  /// True when forward/inverse use the AVX-512 IFMA butterflies for this prime.
  bool uses_ifma() const { return use_ifma_; }
  /// True when forward/inverse use the AVX-512 64-bit butterflies (primes without the IFMA path).
  bool uses_avx512_64() const { return use_avx512_; }

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
  // 52-bit Shoup constants ⌊w·2^52/q⌋ for the IFMA path (empty when it does not apply).
  bool use_ifma_ = false;
  std::vector<std::uint64_t> psi_rev_shoup52_, psi_inv_rev_shoup52_;
  std::uint64_t n_inv_shoup52_ = 0, last_inv_shoup52_ = 0;
  void forward_n(std::uint64_t* a, std::uint64_t n) const;  // forward of size n ≤ N on the first n twiddles
  void forward_scalar_n(std::uint64_t* a, std::uint64_t n) const;
  void forward_ifma(std::uint64_t* a, std::uint64_t n) const;
  std::uint64_t inverse_scalar_stages(std::uint64_t* a, std::uint64_t t_stop) const;
  void inverse_ifma(std::uint64_t* a) const;
  bool use_avx512_ = false;  // the 64-bit AVX-512 butterflies (q ≥ 2^50 or no IFMA)
  void forward_avx512(std::uint64_t* a, std::uint64_t n) const;
  void inverse_avx512(std::uint64_t* a) const;
};

/// Reverse the low `bits` bits of x.
inline std::uint32_t bit_reverse(std::uint32_t x, int bits) {
  std::uint32_t r = 0;
  for (int i = 0; i < bits; ++i) r |= ((x >> i) & 1u) << (bits - 1 - i);
  return r;
}

}  // namespace ckks::math

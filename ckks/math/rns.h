// Residue number system (RNS) bases and fast base conversion.
//
// An integer x mod Q = q_0·…·q_{k-1} is held as its residues (x mod q_0, …, x mod q_{k-1})
// [CHKKS18; FHETB, § ]. Fast base conversion [CHKKS18, Conv; HK20; FHETB, §D-5.1] maps
// residues modulo the basis C = {q_i} to residues modulo another basis B = {p_j} without leaving
// word size:
//
//     Conv_{C→B}(x) = ( Σ_i [x_i · q̂_i^{-1}]_{q_i} · q̂_i  mod p_j )_j,   q̂_i = Q / q_i.
//
// It is exact up to a small multiple of Q: the result is x + u·Q for a small integer u. We take each
// [x_i · q̂_i^{-1}]_{q_i} as its centred representative in (−q_i/2, q_i/2], which, for x read as its
// centred value in (−Q/2, Q/2], makes |u| ≤ k/2 and, more importantly, makes u average to zero (with representatives in [0, q_i) the
// paper's u lies in [0, k) and biases ModDown by (k−1)/2 in every coefficient, a structured error
// that concentrates in a few slots). Departure from [CHKKS18, Conv], marked here and in tests.
// This is what ModUp and ModDown of hybrid key switching are built from (ckks/keyswitch.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "ckks/math/modarith.h"
#include "ckks/math/ntt.h"

namespace ckks::math {

/// One word-size NTT-friendly prime with its NTT tables for ring degree N.
struct Prime {
  Modulus mod;
  NttTables ntt;
  Prime(std::uint64_t q, std::uint64_t N) : mod(q), ntt(N, mod) {}
  std::uint64_t value() const { return mod.q; }
};

/// An ordered list of primes (non-owning: the primes live in a Context and outlive every basis).
using RnsBasis = std::vector<const Prime*>;

/// Precomputed constants for Conv_{from→to}.
class BaseConverter {
 public:
  /// Throws ParameterError if `from` is empty or a prime appears twice (within a basis or in both).
  BaseConverter(RnsBasis from, RnsBasis to);

  /// in: from.size() limbs of N coefficients (coefficient form, limb i reduced mod from[i]);
  /// out: to.size() limbs of N coefficients, limb j reduced mod to[j]. Source: [CHKKS18, Conv].
  /// Fast (approximate) conversion: out = x + u·Q with a small integer u; |u| ≤ k/2 when x is read
  /// as its centred value in (−Q/2, Q/2] (for x in [0, Q), u ∈ (−(k/2+1), k/2]).
  void convert(const std::uint64_t* in, std::uint64_t* out, std::size_t N) const {
    convert_impl(in, out, N, false);
  }
  /// Exact conversion of the centred representative x ∈ (−Q/2, Q/2]: the wrap count
  /// u = ⌊Σ_i y_i/q_i⌉ is estimated in floating point and subtracted, as in [HPS19]. Exact unless
  /// x/Q lies within about k·2^-52 of ±1/2 (the rounding error of the floating-point sum);
  /// ModDown's inputs are far from that boundary.
  void convert_exact(const std::uint64_t* in, std::uint64_t* out, std::size_t N) const {
    convert_impl(in, out, N, true);
  }

  /// The two steps of the conversion, exposed so that key switching can produce one target limb
  /// at a time (cache-friendly): `prepare` computes y_i = [x_i·q̂_i^{-1}]_{q_i} and the wrap count
  /// per coefficient; `convert_to` forms the output limb for target prime `j` from them.
  struct Prepared {
    std::vector<std::uint64_t> y;       ///< from.size() limbs of N
    std::vector<std::uint32_t> wraps;   ///< N wrap counts (multiples of Q to subtract)
  };
  Prepared prepare(const std::uint64_t* in, std::size_t N, bool exact) const;
  /// With lazy_output, values may be left in [0, 4·p_j) (what NttTables::forward accepts).
  void convert_to(const Prepared& p, std::size_t j, std::uint64_t* out, std::size_t N,
                  bool lazy_output = false) const;

  const RnsBasis& from() const { return from_; }
  const RnsBasis& to() const { return to_; }

 private:
  void convert_impl(const std::uint64_t* in, std::uint64_t* out, std::size_t N, bool exact) const;
  RnsBasis from_, to_;
  std::vector<std::uint64_t> qhat_inv_, qhat_inv_shoup_;  // [q̂_i^{-1}]_{q_i}
  std::vector<std::uint64_t> qhat_mod_p_;                  // [q̂_i]_{p_j}, row j, column i
  std::vector<std::uint64_t> q_mod_p_;                     // [Q]_{p_j}
  // The IFMA path of convert_to (rns.cpp), for targets p_j < 2^50 when k ≤ 14: ⌊[q̂_i]_{p_j}·2^52/p_j⌋,
  // [2^52·q̂_i]_{p_j} and its own ⌊·2^52/p_j⌋ (row j, column i), the wrap corrections [−w·Q]_{p_j}
  // for w = 0..15 (16 per row), and per source whether it is above 2^52 (1: below 2^54, 2: above).
  // Empty when the path does not apply.
  std::vector<std::uint64_t> qhat_mod_p52_, qhat_2_52_mod_p_, qhat_2_52_mod_p52_, wrap_corr_;
  std::vector<std::uint8_t> source_width_;
  std::vector<bool> ifma_target_;                          // p_j < 2^50 (with k ≤ 14)
};

/// log2 of the product of the primes of `basis` (bits of the modulus it represents).
double log2_product(const RnsBasis& basis);

}  // namespace ckks::math

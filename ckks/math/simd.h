// AVX-512 building blocks shared by the vectorised NTT (ntt.cpp) and base conversion (rns.cpp):
// eight 64-bit lanes per register. Internal to ckks/math (not installed as API).
//
// CKKS_HAVE_AVX512 is defined when the build targets AVX-512F/DQ (e.g. -march=native on such a
// CPU), CKKS_HAVE_IFMA when it also targets AVX-512 IFMA (52-bit multiply-add). Code using them
// keeps a scalar path, which is the reference its tests compare against.
#pragma once
#include <cstdint>

#include "ckks/math/modarith.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define CKKS_HAVE_AVX512 1
#if defined(__AVX512IFMA__)
#define CKKS_HAVE_IFMA 1
#endif
#endif

namespace ckks::math::simd {

/// The 52-bit Shoup multiplier w' = ⌊w·2^52/q⌋ of w modulo q, for the IFMA products of Ifma52
/// ([Harvey14] with β = 2^52). Precondition: w < q < 2^52 (then w' < 2^52); the callers only use it
/// for primes below 2^50. Plain integer arithmetic, available with or without AVX-512.
inline std::uint64_t shoup52(std::uint64_t w, std::uint64_t q) {
  return static_cast<std::uint64_t>((static_cast<u128>(w) << 52) / q);
}

}  // namespace ckks::math::simd

#ifdef CKKS_HAVE_AVX512
namespace ckks::math::simd {

/// x ∈ [0, 2·bound) → [0, bound), lane by lane.
inline __m512i reduce_below(__m512i x, __m512i bound) {
  const __mmask8 ge = _mm512_cmpge_epu64_mask(x, bound);
  return _mm512_mask_sub_epi64(x, ge, x, bound);
}

/// x in all eight lanes.
inline __m512i broadcast(std::uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }

#ifdef CKKS_HAVE_IFMA
/// The lazy Shoup product y·w mod q ∈ [0, 2q) of eight lanes with the 52-bit multipliers
/// [Harvey14], for q < 2^50 and y < 2^52 (lazy values < 4q fit): with w' = ⌊w·2^52/q⌋,
/// Q = ⌊y·w'/2^52⌋ (madd52hi), and y·w − Q·q ∈ [0, 2q) computed modulo 2^52 as
/// lo52(y·w) + lo52(Q·(2^52 − q)) — the approach of Intel HEXL.
struct Ifma52 {
  __m512i neg_q, mask52;
  explicit Ifma52(std::uint64_t q)
      : neg_q(broadcast((std::uint64_t(1) << 52) - q)), mask52(broadcast((std::uint64_t(1) << 52) - 1)) {}
  struct Twiddle {
    __m512i w, w52;  ///< w and w' = ⌊w·2^52/q⌋
  };
  static Twiddle twiddle(std::uint64_t w, std::uint64_t w52) { return {broadcast(w), broadcast(w52)}; }
  static Twiddle twiddle(__m512i w, __m512i w52) { return {w, w52}; }
  __m512i mul_lazy(__m512i y, const Twiddle& t) const {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i qhat = _mm512_madd52hi_epu64(zero, y, t.w52);
    const __m512i lo = _mm512_madd52lo_epu64(zero, y, t.w);
    return _mm512_and_si512(_mm512_madd52lo_epu64(lo, qhat, neg_q), mask52);  // [0, 2q)
  }
};

/// Sums of products modulo q < 2^50 kept in one 64-bit word per lane, reduced once at the end (the
/// plaintext products of math::dot_product and key switching's inner product). A product x·y of
/// operands below 2^52 (reduced or lazily reduced values) is h·2^52 + l (madd52hi, madd52lo;
/// h < 2^48) and enters the sum as term(x, y) = l + [h·2^52]_q, the second part a lazy Shoup product
/// by r = 2^52 mod q in [0, 2q): below 2^53 a term, so up to 2048 terms fit in 64 bits. reduce(s)
/// splits s = s_h·2^52 + s_l and returns [s_l]_q + [s_h·2^52]_q brought to [0, q): the exact residue
/// of the sum, the value a 128-bit multiply-accumulate and reduction give.
struct Ifma52Sum {
  explicit Ifma52Sum(std::uint64_t q)
      : mul(q),
        by_r(Ifma52::twiddle(r_of(q), shoup52(r_of(q), q))),
        by_one(Ifma52::twiddle(1, shoup52(1, q))),
        vq(broadcast(q)),
        v2q(broadcast(2 * q)),
        mask52(broadcast((std::uint64_t{1} << 52) - 1)) {}
  /// l + [h·2^52]_q of x·y, below 2^53 (x, y < 2^52).
  __m512i term(__m512i x, __m512i y) const {
    const __m512i zero = _mm512_setzero_si512();
    return _mm512_add_epi64(_mm512_madd52lo_epu64(zero, x, y), mul.mul_lazy(_mm512_madd52hi_epu64(zero, x, y), by_r));
  }
  /// s mod q in [0, q), for any 64-bit s.
  __m512i reduce(__m512i s) const {
    const __m512i t = _mm512_add_epi64(mul.mul_lazy(_mm512_and_si512(s, mask52), by_one),
                                       mul.mul_lazy(_mm512_srli_epi64(s, 52), by_r));  // [0, 4q)
    return reduce_below(reduce_below(t, v2q), vq);
  }
  static std::uint64_t r_of(std::uint64_t q) { return static_cast<std::uint64_t>((u128{1} << 52) % q); }
  Ifma52 mul;
  Ifma52::Twiddle by_r, by_one;
  __m512i vq, v2q, mask52;
};
#endif

}  // namespace ckks::math::simd
#endif

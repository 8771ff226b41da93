// 64-bit modular arithmetic for word-size primes q < 2^62.
//
//  * Barrett reduction of a 128-bit product [Barrett86; as used in SEAL's util/uintarithsmallmod]:
//    precompute floor(2^128 / q), estimate the quotient with the high words, correct once.
//  * Shoup's multiplication by a fixed operand w [Shoup, NTL "MulModPrecon"; Harvey14, Alg. 2]:
//    precompute w' = floor(w * 2^64 / q); then a*w mod q = a*w - floor(a*w'/2^64)*q, up to one
//    correction. This is the workhorse of the NTT and of every multiplication by a constant.
//
// All functions take and return values in [0, q) unless stated otherwise ("lazy" variants return
// values in [0, 2q)). These are tight inner-loop helpers: they check nothing.
#pragma once
#include <cstdint>

namespace ckks::math {

using u64 = std::uint64_t;
__extension__ typedef unsigned __int128 u128;  // GCC/Clang 128-bit integer

/// A word-size modulus q < 2^62 with its Barrett constant floor(2^128 / q) split in two words.
struct Modulus {
  u64 q = 0;
  u64 barrett_hi = 0;  ///< high word of floor(2^128 / q)
  u64 barrett_lo = 0;  ///< low word of floor(2^128 / q)

  Modulus() = default;
  explicit Modulus(u64 q_) : q(q_) {
    // floor(2^128 / q) = floor((2^128 - 1) / q) since q is not a power of two (q odd, > 1).
    const u128 m = ~u128(0) / q_;
    barrett_hi = static_cast<u64>(m >> 64);
    barrett_lo = static_cast<u64>(m);
  }
};

inline u64 add_mod(u64 a, u64 b, u64 q) {
  const u64 s = a + b;
  return s >= q ? s - q : s;
}
inline u64 sub_mod(u64 a, u64 b, u64 q) { return a >= b ? a - b : a + q - b; }
inline u64 neg_mod(u64 a, u64 q) { return a == 0 ? 0 : q - a; }

/// Barrett reduction of any 128-bit value x. Only the quotient modulo 2^64 is needed, because the
/// remainder x - qhat*q is computed modulo 2^64 and its true value is below 2q < 2^64; so the
/// 256-bit product x * floor(2^128/q) may wrap in its middle words without harm.
inline u64 reduce_128(u128 x, const Modulus& m) {
  const u64 xlo = static_cast<u64>(x), xhi = static_cast<u64>(x >> 64);
  // quotient estimate floor(x * floor(2^128/q) / 2^128) mod 2^64, from the four word products.
  const u128 lo_hi = static_cast<u128>(xlo) * m.barrett_hi;
  const u128 hi_lo = static_cast<u128>(xhi) * m.barrett_lo;
  const u128 lo_lo_hi = (static_cast<u128>(xlo) * m.barrett_lo) >> 64;
  const u128 mid = lo_hi + hi_lo + lo_lo_hi;  // may wrap: a lost 2^128 is 0 in qhat mod 2^64
  const u64 qhat = static_cast<u64>(mid >> 64) + xhi * m.barrett_hi;
  // qhat underestimates floor(x/q) by at most 1 (the truncation of 2^128/q costs < x/2^128 < 1),
  // so r = x - qhat*q, exact modulo 2^64, lies in [0, 2q).
  u64 r = xlo - qhat * m.q;
  if (r >= m.q) r -= m.q;
  return r;
}

/// a*b mod q by Barrett reduction.
inline u64 mul_mod(u64 a, u64 b, const Modulus& m) {
  return reduce_128(static_cast<u128>(a) * b, m);
}

/// Reduce one 64-bit word modulo q.
inline u64 reduce_64(u64 a, const Modulus& m) { return reduce_128(static_cast<u128>(a), m); }

/// Shoup's precomputation for a fixed multiplicand w < q: floor(w * 2^64 / q).
inline u64 shoup_precompute(u64 w, u64 q) {
  return static_cast<u64>((static_cast<u128>(w) << 64) / q);
}

/// a*w mod q in [0, 2q) given w_shoup = shoup_precompute(w, q); a may be any 64-bit value.
inline u64 mul_shoup_lazy(u64 a, u64 w, u64 w_shoup, u64 q) {
  const u64 qhat = static_cast<u64>((static_cast<u128>(a) * w_shoup) >> 64);
  return a * w - qhat * q;
}

/// a*w mod q in [0, q).
inline u64 mul_shoup(u64 a, u64 w, u64 w_shoup, u64 q) {
  const u64 r = mul_shoup_lazy(a, w, w_shoup, q);
  return r >= q ? r - q : r;
}

/// a^e mod q by square-and-multiply.
inline u64 pow_mod(u64 a, u64 e, const Modulus& m) {
  u64 r = 1 % m.q, b = a % m.q;
  while (e) {
    if (e & 1) r = mul_mod(r, b, m);
    b = mul_mod(b, b, m);
    e >>= 1;
  }
  return r;
}

/// a^{-1} mod q for prime q (Fermat). Precondition: a not divisible by q.
inline u64 inv_mod(u64 a, const Modulus& m) { return pow_mod(a, m.q - 2, m); }

/// The centred representative of a in (-q/2, q/2].
inline std::int64_t centre(u64 a, u64 q) {
  return a > q / 2 ? -static_cast<std::int64_t>(q - a) : static_cast<std::int64_t>(a);
}

/// A signed 64-bit integer reduced into [0, q).
inline u64 from_signed(std::int64_t a, const Modulus& m) {
  if (a >= 0) return reduce_64(static_cast<u64>(a), m);
  const u64 r = reduce_64(static_cast<u64>(-(a + 1)) + 1, m);  // |a| without overflow at INT64_MIN
  return neg_mod(r, m.q);
}

}  // namespace ckks::math

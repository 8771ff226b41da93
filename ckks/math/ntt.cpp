#include "ckks/math/ntt.h"

#include <string>

#if defined(__AVX512IFMA__) && defined(__AVX512F__)
#include <immintrin.h>
#define CKKS_HAVE_IFMA 1
#endif

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"

namespace ckks::math {

NttTables::NttTables(std::uint64_t N, const Modulus& q) : n_(N), q_(q) {
  if (N < 2 || (N & (N - 1)))
    throw ParameterError("NttTables: N = " + std::to_string(N) + " is not a power of two ≥ 2");
  if (q.q >= (std::uint64_t(1) << 62))
    throw ParameterError("NttTables: q = " + std::to_string(q.q) +
                         " is not below 2^62, which the lazy butterflies need; use primes of ≤ 61 bits");
  log_n_ = 0;
  while ((std::uint64_t(1) << log_n_) < N) ++log_n_;
  psi_ = primitive_root_2n(q.q, N);  // throws if q is not prime ≡ 1 mod 2N
  const std::uint64_t psi_inv = inv_mod(psi_, q_);
  psi_rev_.resize(N); psi_rev_shoup_.resize(N);
  psi_inv_rev_.resize(N); psi_inv_rev_shoup_.resize(N);
  std::uint64_t p = 1, pi = 1;
  for (std::uint64_t i = 0; i < N; ++i) {
    const auto r = bit_reverse(static_cast<std::uint32_t>(i), log_n_);
    psi_rev_[r] = p;
    psi_inv_rev_[r] = pi;
    p = mul_mod(p, psi_, q_);
    pi = mul_mod(pi, psi_inv, q_);
  }
  for (std::uint64_t i = 0; i < N; ++i) {
    psi_rev_shoup_[i] = shoup_precompute(psi_rev_[i], q.q);
    psi_inv_rev_shoup_[i] = shoup_precompute(psi_inv_rev_[i], q.q);
  }
  n_inv_ = inv_mod(N % q.q, q_);
  n_inv_shoup_ = shoup_precompute(n_inv_, q.q);
  last_inv_ = mul_mod(n_inv_, psi_inv_rev_[1], q_);
  last_inv_shoup_ = shoup_precompute(last_inv_, q.q);
#ifdef CKKS_HAVE_IFMA
  use_ifma_ = q.q < (std::uint64_t(1) << 50) && N >= 16;
  if (use_ifma_) {
    auto shoup52 = [&](std::uint64_t w) { return static_cast<std::uint64_t>((static_cast<u128>(w) << 52) / q.q); };
    psi_rev_shoup52_.resize(N);
    psi_inv_rev_shoup52_.resize(N);
    for (std::uint64_t i = 0; i < N; ++i) {
      psi_rev_shoup52_[i] = shoup52(psi_rev_[i]);
      psi_inv_rev_shoup52_[i] = shoup52(psi_inv_rev_[i]);
    }
    n_inv_shoup52_ = shoup52(n_inv_);
    last_inv_shoup52_ = shoup52(last_inv_);
  }
#endif
}

void NttTables::forward(std::uint64_t* a) const {
  if (use_ifma_) forward_ifma(a);
  else forward_scalar(a);
}

void NttTables::inverse(std::uint64_t* a) const {
  if (use_ifma_) inverse_ifma(a);
  else inverse_scalar(a);
}

void NttTables::forward_scalar(std::uint64_t* a) const { forward_scalar_from(a, 1, n_); }

// Stages m, 2m, … of [LN16, Alg. 1] (blocks of length 2t, t = N/(2m) at the first one) with
// Harvey's lazy butterfly: invariant a[j] ∈ [0, 4q) between stages. The last stage (t = 1) is fused
// with the final reduction [0, 4q) → [0, q). Called with m = 1 for the whole transform, and by the
// IFMA path for the stages whose blocks are too short for eight lanes.
void NttTables::forward_scalar_from(std::uint64_t* a, std::uint64_t m, std::uint64_t t) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  // Cooley–Tukey butterfly on (x, y) with twiddle (w, ws), inputs and outputs in [0, 4q).
  auto butterfly = [&](std::uint64_t& x, std::uint64_t& y, std::uint64_t w, std::uint64_t ws) {
    std::uint64_t u = x;
    u = u >= two_q ? u - two_q : u;                        // u ∈ [0, 2q)
    const std::uint64_t v = mul_shoup_lazy(y, w, ws, q);  // v ∈ [0, 2q)
    x = u + v;                                             // [0, 4q)
    y = u - v + two_q;                                     // (0, 4q)
  };
  for (; m < n_ / 2; m <<= 1) {
    t >>= 1;
    if (t == 2) {  // two butterflies per twiddle, written out (an inner loop of length 2 costs more)
      for (std::uint64_t i = 0; i < m; ++i) {
        const std::uint64_t w = psi_rev_[m + i], ws = psi_rev_shoup_[m + i];
        std::uint64_t* x = a + 4 * i;
        butterfly(x[0], x[2], w, ws);
        butterfly(x[1], x[3], w, ws);
      }
      continue;
    }
    for (std::uint64_t i = 0; i < m; ++i) {
      const std::uint64_t w = psi_rev_[m + i], ws = psi_rev_shoup_[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; ++j) butterfly(x[j], y[j], w, ws);
    }
  }
  const std::uint64_t half = n_ / 2;
  for (std::uint64_t i = 0; i < half; ++i) {
    const std::uint64_t w = psi_rev_[half + i], ws = psi_rev_shoup_[half + i];
    std::uint64_t u = a[2 * i];
    u = u >= two_q ? u - two_q : u;
    const std::uint64_t v = mul_shoup_lazy(a[2 * i + 1], w, ws, q);
    std::uint64_t x = u + v, y = u - v + two_q;  // both in [0, 4q)
    x = x >= two_q ? x - two_q : x;
    y = y >= two_q ? y - two_q : y;
    a[2 * i] = x >= q ? x - q : x;
    a[2 * i + 1] = y >= q ? y - q : y;
  }
}

// Stages of [LN16, Alg. 2] from t = 1 while t < t_stop (and m > 2), lazy Gentleman–Sande
// butterflies keeping a[j] ∈ [0, 2q). Returns the block half-length t reached. Used for the whole
// transform but its last stage (t_stop = N/2) and by the IFMA path for the stages too short for
// eight lanes (t_stop = 8).
std::uint64_t NttTables::inverse_scalar_stages(std::uint64_t* a, std::uint64_t t_stop) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  std::uint64_t t = 1;
  for (std::uint64_t m = n_; m > 2 && t < t_stop; m >>= 1, t <<= 1) {
    const std::uint64_t h = m >> 1;
    // Gentleman–Sande butterfly on (x, y) with twiddle (w, ws): x + y, (x − y)·w, both in [0, 2q).
    auto butterfly = [&](std::uint64_t& x, std::uint64_t& y, std::uint64_t w, std::uint64_t ws) {
      const std::uint64_t u = x, v = y;
      const std::uint64_t s = u + v;
      x = s >= two_q ? s - two_q : s;
      y = mul_shoup_lazy(u - v + two_q, w, ws, q);
    };
    if (t <= 2) {
      // The two shortest stages written out: an inner loop of length 1 or 2, entered h times, cost
      // more than the butterflies.
      for (std::uint64_t i = 0; i < h; ++i) {
        const std::uint64_t w = psi_inv_rev_[h + i], ws = psi_inv_rev_shoup_[h + i];
        std::uint64_t* x = a + 2 * i * t;
        butterfly(x[0], x[t], w, ws);
        if (t == 2) butterfly(x[1], x[3], w, ws);
      }
      continue;
    }
    for (std::uint64_t i = 0; i < h; ++i) {
      const std::uint64_t w = psi_inv_rev_[h + i], ws = psi_inv_rev_shoup_[h + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; ++j) butterfly(x[j], y[j], w, ws);
    }
  }
  return t;
}

void NttTables::inverse_scalar(std::uint64_t* a) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  // [LN16, Alg. 2] with lazy Gentleman–Sande butterflies: invariant a[j] ∈ [0, 2q).
  inverse_scalar_stages(a, n_ / 2);
  // Last stage (m = 2, one twiddle ψ^-brv(1)) with N^{-1} folded in, then full reduction.
  const std::uint64_t half = n_ >> 1;
  for (std::uint64_t j = 0; j < half; ++j) {
    const std::uint64_t u = a[j], v = a[j + half];
    std::uint64_t s = u + v;
    s = s >= two_q ? s - two_q : s;
    std::uint64_t x = mul_shoup_lazy(s, n_inv_, n_inv_shoup_, q);
    std::uint64_t y = mul_shoup_lazy(u - v + two_q, last_inv_, last_inv_shoup_, q);
    a[j] = x >= q ? x - q : x;
    a[j + half] = y >= q ? y - q : y;
  }
}

#ifdef CKKS_HAVE_IFMA
// The same butterflies, eight at a time, with AVX-512 IFMA (52-bit multiply-add) in place of
// 64-bit Shoup multiplication [Harvey14 with 52-bit words; the approach of Intel HEXL]. For
// q < 2^50, lazy values < 4q < 2^52 fit the multiplier, and with w' = ⌊w·2^52/q⌋,
//     Q = ⌊y·w'/2^52⌋ (madd52hi),  y·w − Q·q ∈ [0, 2q),
// computed modulo 2^52 as lo52(y·w) + lo52(Q·(2^52 − q)). Stages whose blocks are shorter than
// eight (t < 8) run the scalar code.
namespace {
inline __m512i mul_shoup52_lazy(__m512i y, __m512i w, __m512i w52, __m512i neg_q, __m512i mask52) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i qhat = _mm512_madd52hi_epu64(zero, y, w52);
  const __m512i lo = _mm512_madd52lo_epu64(zero, y, w);
  return _mm512_and_si512(_mm512_madd52lo_epu64(lo, qhat, neg_q), mask52);  // [0, 2q)
}
inline __m512i reduce_below(__m512i x, __m512i bound) {  // x ∈ [0, 2·bound) → [0, bound)
  const __mmask8 ge = _mm512_cmpge_epu64_mask(x, bound);
  return _mm512_mask_sub_epi64(x, ge, x, bound);
}
}  // namespace

void NttTables::forward_ifma(std::uint64_t* a) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  const __m512i v2q = _mm512_set1_epi64(static_cast<long long>(two_q));
  const __m512i neg_q = _mm512_set1_epi64(static_cast<long long>((std::uint64_t(1) << 52) - q));
  const __m512i mask52 = _mm512_set1_epi64(static_cast<long long>((std::uint64_t(1) << 52) - 1));
  std::uint64_t t = n_, m = 1;
  for (; m < n_ / 2 && (t >> 1) >= 8; m <<= 1) {
    t >>= 1;
    for (std::uint64_t i = 0; i < m; ++i) {
      const __m512i w = _mm512_set1_epi64(static_cast<long long>(psi_rev_[m + i]));
      const __m512i w52 = _mm512_set1_epi64(static_cast<long long>(psi_rev_shoup52_[m + i]));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; j += 8) {
        __m512i u = reduce_below(_mm512_loadu_si512(x + j), v2q);                        // [0, 2q)
        const __m512i v = mul_shoup52_lazy(_mm512_loadu_si512(y + j), w, w52, neg_q, mask52);  // [0, 2q)
        _mm512_storeu_si512(x + j, _mm512_add_epi64(u, v));
        _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q));
      }
    }
  }
  // Remaining stages (t = 4, 2, 1) in scalar code, the last fused with the final reduction.
  forward_scalar_from(a, m, t);
}

void NttTables::inverse_ifma(std::uint64_t* a) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  const __m512i vq = _mm512_set1_epi64(static_cast<long long>(q));
  const __m512i v2q = _mm512_set1_epi64(static_cast<long long>(two_q));
  const __m512i neg_q = _mm512_set1_epi64(static_cast<long long>((std::uint64_t(1) << 52) - q));
  const __m512i mask52 = _mm512_set1_epi64(static_cast<long long>((std::uint64_t(1) << 52) - 1));
  // Stages with t < 8 in scalar code (values stay in [0, 2q)).
  std::uint64_t t = inverse_scalar_stages(a, 8), m = n_ / t;
  for (; m > 2; m >>= 1, t <<= 1) {
    const std::uint64_t h = m >> 1;
    for (std::uint64_t i = 0; i < h; ++i) {
      const __m512i w = _mm512_set1_epi64(static_cast<long long>(psi_inv_rev_[h + i]));
      const __m512i w52 = _mm512_set1_epi64(static_cast<long long>(psi_inv_rev_shoup52_[h + i]));
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; j += 8) {
        const __m512i u = _mm512_loadu_si512(x + j), v = _mm512_loadu_si512(y + j);
        _mm512_storeu_si512(x + j, reduce_below(_mm512_add_epi64(u, v), v2q));
        const __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q);  // (0, 4q)
        _mm512_storeu_si512(y + j, mul_shoup52_lazy(d, w, w52, neg_q, mask52));
      }
    }
  }
  // Last stage (m = 2) with N^{-1} folded in, then full reduction to [0, q).
  const std::uint64_t half = n_ >> 1;
  const __m512i ni = _mm512_set1_epi64(static_cast<long long>(n_inv_));
  const __m512i ni52 = _mm512_set1_epi64(static_cast<long long>(n_inv_shoup52_));
  const __m512i li = _mm512_set1_epi64(static_cast<long long>(last_inv_));
  const __m512i li52 = _mm512_set1_epi64(static_cast<long long>(last_inv_shoup52_));
  for (std::uint64_t j = 0; j < half; j += 8) {
    const __m512i u = _mm512_loadu_si512(a + j), v = _mm512_loadu_si512(a + j + half);
    const __m512i s = reduce_below(_mm512_add_epi64(u, v), v2q);
    const __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q);
    _mm512_storeu_si512(a + j, reduce_below(mul_shoup52_lazy(s, ni, ni52, neg_q, mask52), vq));
    _mm512_storeu_si512(a + j + half, reduce_below(mul_shoup52_lazy(d, li, li52, neg_q, mask52), vq));
  }
}
#else
void NttTables::forward_ifma(std::uint64_t* a) const { forward_scalar(a); }
void NttTables::inverse_ifma(std::uint64_t* a) const { inverse_scalar(a); }
#endif

}  // namespace ckks::math

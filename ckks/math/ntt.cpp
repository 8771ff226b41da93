#include "ckks/math/ntt.h"

#include <algorithm>
#include <string>
#include <utility>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"
#include "ckks/math/simd.h"  // CKKS_HAVE_AVX512, CKKS_HAVE_IFMA, reduce_below, broadcast, Ifma52

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
    psi_rev_shoup52_.resize(N);
    psi_inv_rev_shoup52_.resize(N);
    for (std::uint64_t i = 0; i < N; ++i) {
      psi_rev_shoup52_[i] = simd::shoup52(psi_rev_[i], q.q);
      psi_inv_rev_shoup52_[i] = simd::shoup52(psi_inv_rev_[i], q.q);
    }
    n_inv_shoup52_ = simd::shoup52(n_inv_, q.q);
    last_inv_shoup52_ = simd::shoup52(last_inv_, q.q);
  }
#endif
#ifdef CKKS_HAVE_AVX512
  use_avx512_ = !use_ifma_ && N >= 16;
#endif
}

void NttTables::forward(std::uint64_t* a) const { forward_n(a, n_); }

// The butterflies of a transform of size n ≤ N with root ψ^(N/n): the stages of [LN16, Alg. 1] read
// the twiddles psi_rev_[m + i] with m + i < n, and for j < n, ψ^(brv_N(j)) = (ψ^(N/n))^(brv_n(j)).
// The vector paths need n ≥ 16 (blocks of eight lanes).
void NttTables::forward_n(std::uint64_t* a, std::uint64_t n) const {
  if (use_ifma_ && n >= 16) forward_ifma(a, n);
  else if (use_avx512_ && n >= 16) forward_avx512(a, n);
  else forward_scalar_n(a, n);
}

void NttTables::forward_subring(std::uint64_t* a, int log_gap) const {
  const std::uint64_t n = n_ >> log_gap, g = std::uint64_t{1} << log_gap;
  forward_n(a, n);
  if (g == 1) return;
  // a[i·g .. i·g + g) = â'[i], from the last i down: position i·g ≥ i, so every â'[i'] with i' < i is
  // still in place when it is read (copied before the fill, which may overwrite a[i] itself).
  for (std::uint64_t i = n; i-- > 0;) {
    const std::uint64_t value = a[i];
    std::fill(a + i * g, a + (i + 1) * g, value);
  }
}

void NttTables::inverse(std::uint64_t* a) const {
  if (use_ifma_) inverse_ifma(a);
  else if (use_avx512_) inverse_avx512(a);
  else inverse_scalar(a);
}

void NttTables::forward_scalar(std::uint64_t* a) const { forward_scalar_n(a, n_); }

// The stages of [LN16, Alg. 1] on n values (blocks of length 2t, t = n/(2m) at stage m) with
// Harvey's lazy butterfly: invariant a[j] ∈ [0, 4q) between stages. The last stage (t = 1) is fused
// with the final reduction [0, 4q) → [0, q). n = N for the whole transform, n < N for
// forward_subring.
void NttTables::forward_scalar_n(std::uint64_t* a, std::uint64_t n) const {
  std::uint64_t m = 1, t = n;
  const std::uint64_t q = q_.q, two_q = 2 * q;
  // Cooley–Tukey butterfly on (x, y) with twiddle (w, ws), inputs and outputs in [0, 4q).
  auto butterfly = [&](std::uint64_t& x, std::uint64_t& y, std::uint64_t w, std::uint64_t ws) {
    std::uint64_t u = x;
    u = u >= two_q ? u - two_q : u;                        // u ∈ [0, 2q)
    const std::uint64_t v = mul_shoup_lazy(y, w, ws, q);  // v ∈ [0, 2q)
    x = u + v;                                             // [0, 4q)
    y = u - v + two_q;                                     // (0, 4q)
  };
  for (; m < n / 2; m <<= 1) {
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
  const std::uint64_t half = n / 2;
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

#ifdef CKKS_HAVE_AVX512
// The same butterflies, eight at a time, with AVX-512. Two multipliers compute the lazy Shoup
// product y·w mod q ∈ [0, 2q) of eight lanes [Harvey14]:
//  * IFMA (q < 2^50, the approach of Intel HEXL): lazy values < 4q < 2^52 fit the 52-bit
//    multiplier; with w' = ⌊w·2^52/q⌋, Q = ⌊y·w'/2^52⌋ (madd52hi) and y·w − Q·q ∈ [0, 2q) is computed
//    modulo 2^52 as lo52(y·w) + lo52(Q·(2^52 − q)).
//  * 64-bit (q < 2^62, AVX-512F/DQ without IFMA): Q = ⌊y·w'/2^64⌋ with w' = ⌊w·2^64/q⌋ assembled from
//    four 32×32-bit products (vpmuludq), and y·w − Q·q modulo 2^64 from two vpmullq: the scalar
//    mul_shoup_lazy, lane by lane.
// Stages whose blocks are shorter than eight (t < 8) run the scalar code; the results equal the
// scalar butterflies exactly (tests/math/test_ntt.cpp).
// GCC 12 warns "__Y may be used uninitialized" inside its own avx512fintrin.h for
// _mm512_srli_epi64 / _mm512_mul_epu32 (the intrinsics' internal _mm512_undefined source operand,
// a known false positive); silenced for this section only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace {
using simd::broadcast;
using simd::reduce_below;
#ifdef CKKS_HAVE_IFMA
using simd::Ifma52;
#endif

struct Shoup64 {
  __m512i q;
  explicit Shoup64(std::uint64_t q_) : q(broadcast(q_)) {}
  struct Twiddle {
    __m512i w, ws, ws_hi;  // w, w' and w' >> 32
  };
  static Twiddle twiddle(std::uint64_t w, std::uint64_t ws) { return {broadcast(w), broadcast(ws), broadcast(ws >> 32)}; }
  static Twiddle twiddle(__m512i w, __m512i ws) { return {w, ws, _mm512_srli_epi64(ws, 32)}; }
  __m512i mul_lazy(__m512i y, const Twiddle& t) const {
    // ⌊y·w'/2^64⌋ = y_h·w'_h + ⌊y_h·w'_l/2^32⌋ + ⌊y_l·w'_h/2^32⌋ + carry of the low 64-bit sum.
    const __m512i lo32 = broadcast(0xffffffffULL);
    const __m512i y_hi = _mm512_srli_epi64(y, 32);
    const __m512i ll = _mm512_mul_epu32(y, t.ws);
    const __m512i lh = _mm512_mul_epu32(y, t.ws_hi);
    const __m512i hl = _mm512_mul_epu32(y_hi, t.ws);
    const __m512i hh = _mm512_mul_epu32(y_hi, t.ws_hi);
    const __m512i mid = _mm512_add_epi64(_mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_and_si512(lh, lo32)),
                                         _mm512_and_si512(hl, lo32));
    const __m512i qhat =
        _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(mid, 32)),
                         _mm512_add_epi64(_mm512_srli_epi64(lh, 32), _mm512_srli_epi64(hl, 32)));
    return _mm512_sub_epi64(_mm512_mullo_epi64(y, t.w), _mm512_mullo_epi64(qhat, q));  // [0, 2q)
  }
};

// The short stages (t = 4, 2, 1: blocks of 2t < 16 elements) on 16 elements (v0 ‖ v1) at a time:
// the x and y halves of the 16/(2t) blocks are gathered into two vectors X and Y (lane l belongs
// to block l / t), the butterflies run lane-wise with one twiddle per block, and the results are
// scattered back. Index vectors for _mm512_permutex2var_epi64 (0–7: first operand, 8–15: second).
struct ShortStage {
  __m512i gather_x, gather_y, scatter_lo, scatter_hi, twiddle_lanes;
  explicit ShortStage(std::uint64_t t) {
    alignas(64) long long gx[8], gy[8], lo[8], hi[8], tl[8];
    for (std::uint64_t l = 0; l < 8; ++l) {
      const std::uint64_t b = l / t, j = l % t;
      gx[l] = static_cast<long long>(b * 2 * t + j);
      gy[l] = static_cast<long long>(b * 2 * t + t + j);
      tl[l] = static_cast<long long>(b);
    }
    for (std::uint64_t e = 0; e < 16; ++e) {  // element e = b·2t + s·t + j comes from lane b·t + j of X (s = 0) or Y
      const std::uint64_t b = e / (2 * t), s_ = (e / t) % 2, j = e % t;
      const long long from = static_cast<long long>(b * t + j + (s_ ? 8 : 0));
      (e < 8 ? lo[e] : hi[e - 8]) = from;
    }
    gather_x = _mm512_load_si512(gx);
    gather_y = _mm512_load_si512(gy);
    scatter_lo = _mm512_load_si512(lo);
    scatter_hi = _mm512_load_si512(hi);
    twiddle_lanes = _mm512_load_si512(tl);
  }
  // X and Y of the 16 elements at p; and back.
  void gather(const std::uint64_t* p, __m512i& x, __m512i& y) const {
    const __m512i v0 = _mm512_loadu_si512(p), v1 = _mm512_loadu_si512(p + 8);
    x = _mm512_permutex2var_epi64(v0, gather_x, v1);
    y = _mm512_permutex2var_epi64(v0, gather_y, v1);
  }
  void scatter(std::uint64_t* p, __m512i x, __m512i y) const {
    _mm512_storeu_si512(p, _mm512_permutex2var_epi64(x, scatter_lo, y));
    _mm512_storeu_si512(p + 8, _mm512_permutex2var_epi64(x, scatter_hi, y));
  }
  // The 8/t twiddles tab[0 … 8/t − 1], one per block, spread over the block's lanes.
  __m512i spread(const std::uint64_t* tab, std::uint64_t t) const {
    const __m512i w = _mm512_maskz_loadu_epi64(static_cast<__mmask8>((1u << (8 / t)) - 1), tab);
    return _mm512_permutexvar_epi64(twiddle_lanes, w);
  }
};

// Forward stages t = 4, 2, 1 (n ≥ 16), the last with the final reduction to [0, q).
template <class Mul>
void forward_short_stages(std::uint64_t* a, std::uint64_t n, std::uint64_t q, std::uint64_t m, const std::uint64_t* psi,
                          const std::uint64_t* shoup, const Mul& mul) {
  const __m512i vq = broadcast(q), v2q = broadcast(2 * q);
  for (std::uint64_t t = 4; t >= 1; t >>= 1, m <<= 1) {
    const ShortStage st(t);
    for (std::uint64_t e = 0, i = 0; e < n; e += 16, i += 8 / t) {
      __m512i x, y;
      st.gather(a + e, x, y);
      const auto tw = Mul::twiddle(st.spread(psi + m + i, t), st.spread(shoup + m + i, t));
      const __m512i u = reduce_below(x, v2q);
      const __m512i v = mul.mul_lazy(y, tw);
      __m512i xo = _mm512_add_epi64(u, v), yo = _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q);
      if (t == 1) {
        xo = reduce_below(reduce_below(xo, v2q), vq);
        yo = reduce_below(reduce_below(yo, v2q), vq);
      }
      st.scatter(a + e, xo, yo);
    }
  }
}

// Inverse stages t = 1, 2, 4 (n ≥ 16), values in [0, 2q).
template <class Mul>
void inverse_short_stages(std::uint64_t* a, std::uint64_t n, std::uint64_t q, const std::uint64_t* psi_inv,
                          const std::uint64_t* shoup, const Mul& mul) {
  const __m512i v2q = broadcast(2 * q);
  std::uint64_t m = n;
  for (std::uint64_t t = 1; t <= 4; t <<= 1, m >>= 1) {
    const std::uint64_t h = m >> 1;
    const ShortStage st(t);
    for (std::uint64_t e = 0, i = 0; e < n; e += 16, i += 8 / t) {
      __m512i x, y;
      st.gather(a + e, x, y);
      const auto tw = Mul::twiddle(st.spread(psi_inv + h + i, t), st.spread(shoup + h + i, t));
      const __m512i xo = reduce_below(_mm512_add_epi64(x, y), v2q);
      const __m512i yo = mul.mul_lazy(_mm512_add_epi64(_mm512_sub_epi64(x, y), v2q), tw);
      st.scatter(a + e, xo, yo);
    }
  }
}

// Forward stages with t ≥ 8 (Cooley–Tukey, values in [0, 4q)); returns (m, t) reached.
template <class Mul>
std::pair<std::uint64_t, std::uint64_t> forward_vector_stages(std::uint64_t* a, std::uint64_t n, std::uint64_t q,
                                                              const std::uint64_t* psi, const std::uint64_t* shoup,
                                                              const Mul& mul) {
  const __m512i v2q = broadcast(2 * q);
  std::uint64_t t = n, m = 1;
  for (; m < n / 2 && (t >> 1) >= 8; m <<= 1) {
    t >>= 1;
    for (std::uint64_t i = 0; i < m; ++i) {
      const auto tw = Mul::twiddle(psi[m + i], shoup[m + i]);
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; j += 8) {
        const __m512i u = reduce_below(_mm512_loadu_si512(x + j), v2q);  // [0, 2q)
        const __m512i v = mul.mul_lazy(_mm512_loadu_si512(y + j), tw);  // [0, 2q)
        _mm512_storeu_si512(x + j, _mm512_add_epi64(u, v));
        _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q));
      }
    }
  }
  return {m, t};
}

// Inverse stages from block half-length t (≥ 8) on (Gentleman–Sande, values in [0, 2q)), then the
// last stage with N^{-1} folded in and the full reduction to [0, q).
template <class Mul>
void inverse_vector_stages(std::uint64_t* a, std::uint64_t n, std::uint64_t q, std::uint64_t t,
                           const std::uint64_t* psi_inv, const std::uint64_t* shoup,
                           const typename Mul::Twiddle& n_inv, const typename Mul::Twiddle& last_inv, const Mul& mul) {
  const __m512i vq = broadcast(q), v2q = broadcast(2 * q);
  for (std::uint64_t m = n / t; m > 2; m >>= 1, t <<= 1) {
    const std::uint64_t h = m >> 1;
    for (std::uint64_t i = 0; i < h; ++i) {
      const auto tw = Mul::twiddle(psi_inv[h + i], shoup[h + i]);
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; j += 8) {
        const __m512i u = _mm512_loadu_si512(x + j), v = _mm512_loadu_si512(y + j);
        _mm512_storeu_si512(x + j, reduce_below(_mm512_add_epi64(u, v), v2q));
        const __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q);  // (0, 4q)
        _mm512_storeu_si512(y + j, mul.mul_lazy(d, tw));
      }
    }
  }
  const std::uint64_t half = n >> 1;
  for (std::uint64_t j = 0; j < half; j += 8) {
    const __m512i u = _mm512_loadu_si512(a + j), v = _mm512_loadu_si512(a + j + half);
    const __m512i s = reduce_below(_mm512_add_epi64(u, v), v2q);
    const __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q);
    _mm512_storeu_si512(a + j, reduce_below(mul.mul_lazy(s, n_inv), vq));
    _mm512_storeu_si512(a + j + half, reduce_below(mul.mul_lazy(d, last_inv), vq));
  }
}
}  // namespace

void NttTables::forward_avx512(std::uint64_t* a, std::uint64_t n) const {
  const Shoup64 mul(q_.q);
  const auto m = forward_vector_stages(a, n, q_.q, psi_rev_.data(), psi_rev_shoup_.data(), mul).first;
  forward_short_stages(a, n, q_.q, m, psi_rev_.data(), psi_rev_shoup_.data(), mul);  // t = 4, 2, 1
}

void NttTables::inverse_avx512(std::uint64_t* a) const {
  const Shoup64 mul(q_.q);
  inverse_short_stages(a, n_, q_.q, psi_inv_rev_.data(), psi_inv_rev_shoup_.data(), mul);  // t = 1, 2, 4
  inverse_vector_stages(a, n_, q_.q, 8, psi_inv_rev_.data(), psi_inv_rev_shoup_.data(),
                        Shoup64::twiddle(n_inv_, n_inv_shoup_), Shoup64::twiddle(last_inv_, last_inv_shoup_), mul);
}
#pragma GCC diagnostic pop
#else
void NttTables::forward_avx512(std::uint64_t* a, std::uint64_t n) const { forward_scalar_n(a, n); }
void NttTables::inverse_avx512(std::uint64_t* a) const { inverse_scalar(a); }
#endif

#ifdef CKKS_HAVE_IFMA
void NttTables::forward_ifma(std::uint64_t* a, std::uint64_t n) const {
  const Ifma52 mul(q_.q);
  const auto m = forward_vector_stages(a, n, q_.q, psi_rev_.data(), psi_rev_shoup52_.data(), mul).first;
  forward_short_stages(a, n, q_.q, m, psi_rev_.data(), psi_rev_shoup52_.data(), mul);
}

void NttTables::inverse_ifma(std::uint64_t* a) const {
  const Ifma52 mul(q_.q);
  inverse_short_stages(a, n_, q_.q, psi_inv_rev_.data(), psi_inv_rev_shoup52_.data(), mul);
  inverse_vector_stages(a, n_, q_.q, 8, psi_inv_rev_.data(), psi_inv_rev_shoup52_.data(),
                        Ifma52::twiddle(n_inv_, n_inv_shoup52_), Ifma52::twiddle(last_inv_, last_inv_shoup52_), mul);
}
#else
void NttTables::forward_ifma(std::uint64_t* a, std::uint64_t n) const { forward_scalar_n(a, n); }
void NttTables::inverse_ifma(std::uint64_t* a) const { inverse_scalar(a); }
#endif

}  // namespace ckks::math

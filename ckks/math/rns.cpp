#include "ckks/math/rns.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/math/errors.h"
#include "ckks/math/simd.h"
#include "ckks/math/threads.h"

namespace ckks::math {

BaseConverter::BaseConverter(RnsBasis from, RnsBasis to) : from_(std::move(from)), to_(std::move(to)) {
  if (from_.empty()) throw ParameterError("BaseConverter: the source basis is empty");
  RnsBasis all = from_;
  all.insert(all.end(), to_.begin(), to_.end());
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j)
      if (all[i]->value() == all[j]->value())
        throw ParameterError("BaseConverter: prime " + std::to_string(all[i]->value()) +
                             " appears twice; base conversion needs distinct, coprime primes");
  const std::size_t k = from_.size(), m = to_.size();
  qhat_inv_.resize(k);
  qhat_inv_shoup_.resize(k);
  for (std::size_t i = 0; i < k; ++i) {
    const Modulus& qi = from_[i]->mod;
    std::uint64_t prod = 1;  // q̂_i mod q_i
    for (std::size_t l = 0; l < k; ++l)
      if (l != i) prod = mul_mod(prod, reduce_64(from_[l]->value(), qi), qi);
    qhat_inv_[i] = inv_mod(prod, qi);
    qhat_inv_shoup_[i] = shoup_precompute(qhat_inv_[i], qi.q);
  }
  qhat_mod_p_.resize(m * k);
  q_mod_p_.resize(m);
  for (std::size_t j = 0; j < m; ++j) {
    const Modulus& pj = to_[j]->mod;
    std::uint64_t qm = 1;
    for (std::size_t l = 0; l < k; ++l) qm = mul_mod(qm, reduce_64(from_[l]->value(), pj), pj);
    q_mod_p_[j] = qm;
    for (std::size_t i = 0; i < k; ++i) {
      std::uint64_t prod = 1;
      for (std::size_t l = 0; l < k; ++l)
        if (l != i) prod = mul_mod(prod, reduce_64(from_[l]->value(), pj), pj);
      qhat_mod_p_[j * k + i] = prod;
    }
  }
#ifdef CKKS_HAVE_IFMA
  constexpr std::uint64_t kIfmaBound = std::uint64_t{1} << 50;
  if (k <= 14) {
    qhat_mod_p52_.resize(m * k);
    qhat_2_52_mod_p_.resize(m * k);
    qhat_2_52_mod_p52_.resize(m * k);
    source_width_.resize(k);
    for (std::size_t i = 0; i < k; ++i) {
      const std::uint64_t q = from_[i]->value();
      source_width_[i] = q < (std::uint64_t{1} << 52) ? 0 : q < (std::uint64_t{1} << 54) ? 1 : 2;
    }
    wrap_corr_.assign(m * 16, 0);
    ifma_target_.resize(m);
    for (std::size_t j = 0; j < m; ++j) {
      const Modulus& pj = to_[j]->mod;
      ifma_target_[j] = pj.q < kIfmaBound;
      if (!ifma_target_[j]) continue;
      for (std::size_t i = 0; i < k; ++i) {
        const std::uint64_t qhat = qhat_mod_p_[j * k + i];
        qhat_mod_p52_[j * k + i] = simd::shoup52(qhat, pj.q);
        qhat_2_52_mod_p_[j * k + i] = static_cast<std::uint64_t>((static_cast<u128>(qhat) << 52) % pj.q);
        qhat_2_52_mod_p52_[j * k + i] = simd::shoup52(qhat_2_52_mod_p_[j * k + i], pj.q);
      }
      for (std::uint64_t w = 0; w < 16; ++w) wrap_corr_[j * 16 + w] = neg_mod(mul_mod(w, q_mod_p_[j], pj), pj.q);
    }
  }
#endif
}

BaseConverter::Prepared BaseConverter::prepare(const std::uint64_t* in, std::size_t N, bool exact) const {
  const std::size_t k = from_.size();
  Prepared p;
  // Step 1: y_i = [x_i · q̂_i^{-1}]_{q_i}, one limb at a time (Shoup multiplication).
  p.y.resize(k * N);
  parallel_for_limbs(k, k * N, [&](std::size_t i) {
    const std::uint64_t q = from_[i]->value(), w = qhat_inv_[i], ws = qhat_inv_shoup_[i];
    const std::uint64_t* xi = in + i * N;
    std::uint64_t* yi = p.y.data() + i * N;
    for (std::size_t c = 0; c < N; ++c) yi[c] = mul_shoup(xi[c], w, ws, q);
  });
  // Wrap count. Fast mode: centred representatives, y_i > q_i/2 stands for y_i − q_i, and
  // Σ_i (y_i − q_i·[y_i > q_i/2])·q̂_i = Σ_i y_i·q̂_i − (count)·Q. Exact mode: the true number of
  // wraps of the centred value, u = ⌊Σ_i y_i/q_i⌉ in floating point [HPS19].
  // Only the exact mode is worth threads (a floating-point sum per coefficient); it runs over blocks
  // of coefficients, each summing over i in the same order, so the result does not depend on the
  // thread count.
  p.wraps.assign(N, 0);
  if (exact) {
    constexpr std::size_t block = 1024;
    parallel_for_limbs((N + block - 1) / block, k * N, [&](std::size_t b) {
      const std::size_t c0 = b * block, c1 = std::min(N, c0 + block);
      double frac[block] = {};
      for (std::size_t i = 0; i < k; ++i) {
        const double inv_q = 1.0 / static_cast<double>(from_[i]->value());
        const std::uint64_t* yi = p.y.data() + i * N;
        for (std::size_t c = c0; c < c1; ++c) frac[c - c0] += static_cast<double>(yi[c]) * inv_q;
      }
      for (std::size_t c = c0; c < c1; ++c) p.wraps[c] = static_cast<std::uint32_t>(std::llround(frac[c - c0]));
    });
  } else {
    for (std::size_t i = 0; i < k; ++i) {
      const std::uint64_t half = from_[i]->value() >> 1;
      const std::uint64_t* yi = p.y.data() + i * N;
      for (std::size_t c = 0; c < N; ++c) p.wraps[c] += yi[c] > half;
    }
  }
  return p;
}

void BaseConverter::convert_to(const Prepared& p, std::size_t j, std::uint64_t* out, std::size_t N,
                               bool lazy_output) const {
  // Step 2: out_j = Σ_i y_i · [q̂_i]_{p_j} − wraps·[Q]_{p_j} mod p_j. Products are < 2^122 (primes
  // ≤ 61 bits), so up to 64 of them are summed in 128 bits before one Barrett reduction.
  const std::size_t k = from_.size();
  const Modulus& pj = to_[j]->mod;
  const std::uint64_t* row = qhat_mod_p_.data() + j * k;
  if (k == 1) {
    // One source prime q (q̂ = 1, so y = x): the centred value is x or x − q, reduced mod p_j.
    const std::uint64_t q = from_[0]->value(), q_mod = q_mod_p_[j];
    if (q < 2 * pj.q) {
      // Lazy: x < q < 2p_j, and x − q + 2p_j ∈ (2p_j − q/2, 2p_j]: both in [0, 4p_j), the input
      // range NttTables::forward accepts, so no reduction is needed when the NTT follows.
      const std::uint64_t shift = 2 * pj.q - q;
      for (std::size_t c = 0; c < N; ++c) out[c] = p.y[c] + (p.wraps[c] ? shift : 0);
      if (!lazy_output) for (std::size_t c = 0; c < N; ++c) {
        std::uint64_t v = out[c];
        v = v >= 2 * pj.q ? v - 2 * pj.q : v;
        out[c] = v >= pj.q ? v - pj.q : v;
      }
      return;
    }
    for (std::size_t c = 0; c < N; ++c) {
      const std::uint64_t v = reduce_64(p.y[c], pj);
      out[c] = p.wraps[c] ? sub_mod(v, q_mod, pj.q) : v;
    }
    return;
  }
#ifdef CKKS_HAVE_IFMA
  if (!ifma_target_.empty() && ifma_target_[j] && N % 8 == 0) {
    // Target below 2^50, k ≤ 14: eight coefficients at a time. Each product
    // y_i·[q̂_i]_{p_j} is taken lazily mod p_j in [0, 2p_j) by the 52-bit Shoup multiplication
    // (simd::Ifma52, the NTT's), and added into a sum kept in [0, 2p_j) (one conditional subtraction
    // per term: sum + product < 4p_j < 2^52), starting from the wrap correction [−w·Q]_{p_j}
    // looked up per lane (w ≤ k + 1 < 16: two registers of the table); the sum is reduced to
    // [0, p_j) at the end. A source prime above 2^52 (of up to 54 bits, like q_0 of the ResNet's
    // chain) gives y = a + b·2^52 with a < 2^52, b ≤ 3: the product is a·[q̂_i] lazily plus
    // b·[2^52·q̂_i]_{p_j} (< 3p_j < 2^52, exact in madd52lo), the term < 5p_j, the sum < 7p_j reduced
    // by two conditional subtractions (4p_j, 2p_j). A source prime above 2^54 (the 60-bit special
    // primes of ModDown, a 60-bit q_0) gives b < 2^12: b·[2^52·q̂_i]_{p_j} is then a second lazy Shoup
    // product, in [0, 2p_j), the term < 4p_j and the sum < 6p_j, reduced the same way. The same
    // residue as the 128-bit path below, which stays the reference (tests/math/test_rns.cpp compares
    // the two).
    const simd::Ifma52 mul(pj.q);
    const __m512i vp = simd::broadcast(pj.q), v2p = simd::broadcast(2 * pj.q), v4p = simd::broadcast(4 * pj.q);
    const __m512i mask52 = simd::broadcast((std::uint64_t{1} << 52) - 1);
    const std::uint64_t* corr = wrap_corr_.data() + j * 16;
    const __m512i corr_lo = _mm512_loadu_si512(corr), corr_hi = _mm512_loadu_si512(corr + 8);
    simd::Ifma52::Twiddle tw[14], tw_high[14];
    for (std::size_t i = 0; i < k; ++i) {
      tw[i] = simd::Ifma52::twiddle(row[i], qhat_mod_p52_[j * k + i]);
      tw_high[i] = simd::Ifma52::twiddle(qhat_2_52_mod_p_[j * k + i], qhat_2_52_mod_p52_[j * k + i]);
    }
    const std::uint64_t* y = p.y.data();
    for (std::size_t c = 0; c < N; c += 8) {
      const __m512i w = _mm512_cvtepu32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.wraps.data() + c)));
      __m512i acc = _mm512_permutex2var_epi64(corr_lo, w, corr_hi);  // [0, p_j)
      for (std::size_t i = 0; i < k; ++i) {
        const __m512i yi = _mm512_loadu_si512(y + i * N + c);
        if (source_width_[i] == 0) {
          const __m512i t = mul.mul_lazy(yi, tw[i]);  // [0, 2p_j)
          acc = simd::reduce_below(_mm512_add_epi64(acc, t), v2p);
          continue;
        }
        __m512i t = mul.mul_lazy(_mm512_and_si512(yi, mask52), tw[i]);  // a·[q̂_i], [0, 2p_j)
        const __m512i b = _mm512_srli_epi64(yi, 52);
        if (source_width_[i] == 1)
          t = _mm512_madd52lo_epu64(t, b, tw_high[i].w);  // + b·[2^52·q̂_i] (b ≤ 3), < 5p_j
        else
          t = _mm512_add_epi64(t, mul.mul_lazy(b, tw_high[i]));  // + [b·2^52·q̂_i] in [0, 2p_j), < 4p_j
        acc = simd::reduce_below(simd::reduce_below(_mm512_add_epi64(acc, t), v4p), v2p);
      }
      _mm512_storeu_si512(out + c, simd::reduce_below(acc, vp));
    }
    return;
  }
#endif
  // General path: coefficient by coefficient, the k products summed in one 128-bit register (each
  // < 2^122, so k + 2 terms stay below 2^128 for k ≤ 62) and reduced once. The wrap correction
  // −wraps·[Q]_{p_j} enters as p_j·(k+1) − wraps·[Q]_{p_j} ≥ 0. Reading the k limbs of y side by
  // side keeps the sum in a register: an earlier limb-by-limb form held an N-entry 128-bit
  // accumulator in memory (1 MiB at N = 2^16) and spent a third of a bootstrap's time here.
  if (k <= 62) {
    u128 neg_wrap[64];
    for (std::size_t w = 0; w < k + 2; ++w)
      neg_wrap[w] = static_cast<u128>(pj.q) * (k + 1) - static_cast<u128>(mul_mod(w, q_mod_p_[j], pj));
    const std::uint64_t* y = p.y.data();
    for (std::size_t c = 0; c < N; ++c) {
      u128 acc = neg_wrap[p.wraps[c]];
      for (std::size_t i = 0; i < k; ++i) acc += static_cast<u128>(y[i * N + c]) * row[i];
      out[c] = reduce_128(acc, pj);
    }
    return;
  }
  std::vector<u128> acc(N, 0);
  std::vector<std::uint64_t> partial(N, 0);
  for (std::size_t i = 0; i < k; ++i) {
    const std::uint64_t r = row[i];
    const std::uint64_t* yi = p.y.data() + i * N;
    for (std::size_t c = 0; c < N; ++c) acc[c] += static_cast<u128>(yi[c]) * r;
    if ((i & 63) == 63 || i + 1 == k)
      for (std::size_t c = 0; c < N; ++c) {
        partial[c] = add_mod(partial[c], reduce_128(acc[c], pj), pj.q);
        acc[c] = 0;
      }
  }
  for (std::size_t c = 0; c < N; ++c) out[c] = sub_mod(partial[c], mul_mod(p.wraps[c], q_mod_p_[j], pj), pj.q);
}

void BaseConverter::convert_impl(const std::uint64_t* in, std::uint64_t* out, std::size_t N, bool exact) const {
  const Prepared p = prepare(in, N, exact);
  const std::size_t work = to_.size() * from_.size() * N;  // k products per coefficient and target
  parallel_for_limbs(to_.size(), work, [&](std::size_t j) { convert_to(p, j, out + j * N, N); });
}

double log2_product(const RnsBasis& basis) {
  double s = 0;
  for (auto* p : basis) s += std::log2(static_cast<double>(p->value()));
  return s;
}

}  // namespace ckks::math

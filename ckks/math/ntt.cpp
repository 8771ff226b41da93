#include "ckks/math/ntt.h"

#include <string>

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
}

void NttTables::forward(std::uint64_t* a) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  // [LN16, Alg. 1] with Harvey's lazy butterfly: invariant a[j] ∈ [0, 4q) between stages.
  std::uint64_t t = n_;
  for (std::uint64_t m = 1; m < n_; m <<= 1) {
    t >>= 1;
    for (std::uint64_t i = 0; i < m; ++i) {
      const std::uint64_t w = psi_rev_[m + i], ws = psi_rev_shoup_[m + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; ++j) {
        std::uint64_t u = x[j];
        u = u >= two_q ? u - two_q : u;                    // u ∈ [0, 2q)
        const std::uint64_t v = mul_shoup_lazy(y[j], w, ws, q);  // v ∈ [0, 2q)
        x[j] = u + v;                                        // [0, 4q)
        y[j] = u - v + two_q;                                // (0, 4q)
      }
    }
  }
  for (std::uint64_t j = 0; j < n_; ++j) {  // final reduction [0, 4q) → [0, q)
    std::uint64_t u = a[j];
    u = u >= two_q ? u - two_q : u;
    a[j] = u >= q ? u - q : u;
  }
}

void NttTables::inverse(std::uint64_t* a) const {
  const std::uint64_t q = q_.q, two_q = 2 * q;
  // [LN16, Alg. 2] with lazy Gentleman–Sande butterflies: invariant a[j] ∈ [0, 2q).
  std::uint64_t t = 1;
  for (std::uint64_t m = n_; m > 2; m >>= 1) {
    const std::uint64_t h = m >> 1;
    for (std::uint64_t i = 0; i < h; ++i) {
      const std::uint64_t w = psi_inv_rev_[h + i], ws = psi_inv_rev_shoup_[h + i];
      std::uint64_t* x = a + 2 * i * t;
      std::uint64_t* y = x + t;
      for (std::uint64_t j = 0; j < t; ++j) {
        const std::uint64_t u = x[j], v = y[j];
        std::uint64_t s = u + v;
        x[j] = s >= two_q ? s - two_q : s;
        y[j] = mul_shoup_lazy(u - v + two_q, w, ws, q);
      }
    }
    t <<= 1;
  }
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

}  // namespace ckks::math

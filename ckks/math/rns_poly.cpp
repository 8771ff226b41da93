#include "ckks/math/rns_poly.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/simd.h"
#include "ckks/math/threads.h"

namespace ckks::math {

namespace {
void check_shape(const RnsPoly& a, const RnsBasis& basis, const char* op) {
  CKKS_INVARIANT(a.limbs() == basis.size(), std::string(op) + ": limb count differs from basis size");
  (void)a; (void)basis; (void)op;
}
void check_same(const RnsPoly& a, const RnsPoly& b, const char* op) {
  CKKS_INVARIANT(a.n() == b.n() && a.limbs() <= b.limbs() && a.is_ntt() == b.is_ntt(),
                 std::string(op) + ": operands differ in degree, limbs or form");
  (void)a; (void)b; (void)op;
}
}  // namespace

void to_ntt(RnsPoly& a, const RnsBasis& basis) {
  check_shape(a, basis, "to_ntt");
  CKKS_INVARIANT(!a.is_ntt(), "to_ntt: already in evaluation form");
  parallel_for_limbs(a.limbs(), a.limbs() * ntt_work(a.n()), [&](std::size_t i) { basis[i]->ntt.forward(a.limb(i)); });
  a.set_ntt(true);
}

void from_ntt(RnsPoly& a, const RnsBasis& basis) {
  check_shape(a, basis, "from_ntt");
  CKKS_INVARIANT(a.is_ntt(), "from_ntt: already in coefficient form");
  parallel_for_limbs(a.limbs(), a.limbs() * ntt_work(a.n()), [&](std::size_t i) { basis[i]->ntt.inverse(a.limb(i)); });
  a.set_ntt(false);
}

void add_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis) {
  check_shape(a, basis, "add");
  check_same(a, b, "add");
  const std::size_t N = a.n();
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value();
    std::uint64_t* x = a.limb(i);
    const std::uint64_t* y = b.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = add_mod(x[c], y[c], q);
  }
}

void sub_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis) {
  check_shape(a, basis, "sub");
  check_same(a, b, "sub");
  const std::size_t N = a.n();
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value();
    std::uint64_t* x = a.limb(i);
    const std::uint64_t* y = b.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = sub_mod(x[c], y[c], q);
  }
}

void negate_inplace(RnsPoly& a, const RnsBasis& basis) {
  check_shape(a, basis, "negate");
  const std::size_t N = a.n();
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value();
    std::uint64_t* x = a.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = neg_mod(x[c], q);
  }
}

void mul_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis) {
  check_shape(a, basis, "mul");
  check_same(a, b, "mul");
  const std::size_t N = a.n();
  parallel_for_limbs(a.limbs(), a.limbs() * N, [&](std::size_t i) {
    const Modulus& m = basis[i]->mod;
    std::uint64_t* x = a.limb(i);
    const std::uint64_t* y = b.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = mul_mod(x[c], y[c], m);
  });
}

void mul_add_inplace(RnsPoly& a, const RnsPoly& b, const RnsPoly& c, const RnsBasis& basis) {
  check_shape(a, basis, "mul_add");
  check_same(a, b, "mul_add");
  check_same(a, c, "mul_add");
  const std::size_t N = a.n();
  parallel_for_limbs(a.limbs(), a.limbs() * N, [&](std::size_t i) {
    const Modulus& m = basis[i]->mod;
    std::uint64_t* x = a.limb(i);
    const std::uint64_t* y = b.limb(i);
    const std::uint64_t* z = c.limb(i);
    for (std::size_t k = 0; k < N; ++k)
      x[k] = reduce_128(static_cast<u128>(y[k]) * z[k] + x[k], m);
  });
}

namespace {
// out_i ← Σ_t x_t,i ⊙ f(t, i) for every limb i of out, where f(t, i) gives the second factor of term t
// on limb i as (pointer, stride 1) or (scalar, stride 0). Coefficient blocks of at most 4096 (64 KiB
// of accumulators, in L2), terms in chunks of 64 so that the 128-bit sums of products < 2^122 cannot
// overflow. The shared loop of dot_product and scaled_sum.
template <class Factor>
void sum_of_products(RnsPoly& out, std::span<const RnsPoly* const> x, const RnsBasis& basis, Factor factor) {
  const std::size_t N = out.n(), terms = x.size();
  std::vector<u128> acc(std::min<std::size_t>(N, 4096));
  for (std::size_t i = 0; i < out.limbs(); ++i) {
    const Modulus& m = basis[i]->mod;
    std::uint64_t* o = out.limb(i);
#ifdef CKKS_HAVE_IFMA
    if (m.q < (std::uint64_t{1} << 50) && N % 8 == 0 && terms <= 2048) {
      // A prime below 2^50 (operands reduced, < q < 2^52): eight coefficients at a time, the products
      // summed in 64 bits by simd::Ifma52Sum (at most 2048 terms) and reduced once: the same residue
      // as the 128-bit path below, which stays the reference (tests/math/test_rns_poly.cpp compares
      // the two).
      const simd::Ifma52Sum f(m.q);
      for (std::size_t c = 0; c < N; c += 8) {
        __m512i sum = _mm512_setzero_si512();
        for (std::size_t t = 0; t < terms; ++t) {
          const __m512i a = _mm512_loadu_si512(x[t]->limb(i) + c);
          const auto [fac, stride] = factor(t, i);
          const __m512i b = stride ? _mm512_loadu_si512(fac + c) : simd::broadcast(fac[0]);
          sum = _mm512_add_epi64(sum, f.term(a, b));
        }
        _mm512_storeu_si512(o + c, f.reduce(sum));
      }
      continue;
    }
#endif
    for (std::size_t c0 = 0; c0 < N; c0 += acc.size()) {
      const std::size_t len = std::min(acc.size(), N - c0);
      for (std::size_t t0 = 0; t0 < terms; t0 += 64) {
        for (std::size_t c = 0; c < len; ++c) acc[c] = t0 == 0 ? 0 : o[c0 + c];  // earlier chunks' sum
        for (std::size_t t = t0; t < std::min(terms, t0 + 64); ++t) {
          const std::uint64_t* a = x[t]->limb(i) + c0;
          const auto [b, stride] = factor(t, i);
          for (std::size_t c = 0; c < len; ++c) acc[c] += static_cast<u128>(a[c]) * b[stride * (c0 + c)];
        }
        for (std::size_t c = 0; c < len; ++c) o[c0 + c] = reduce_128(acc[c], m);
      }
    }
  }
}
}  // namespace

void dot_product(RnsPoly& out, std::span<const RnsPoly* const> x, std::span<const RnsPoly* const> y,
                 const RnsBasis& basis) {
  check_shape(out, basis, "dot_product");
  CKKS_INVARIANT(x.size() == y.size() && !x.empty(), "dot_product: x and y must be non-empty and of equal length");
  for (std::size_t k = 0; k < x.size(); ++k) {
    check_same(out, *x[k], "dot_product");
    check_same(out, *y[k], "dot_product");
  }
  sum_of_products(out, x, basis, [&](std::size_t t, std::size_t i) { return std::pair{y[t]->limb(i), std::size_t(1)}; });
}

void scaled_sum(RnsPoly& out, std::span<const RnsPoly* const> x, std::span<const std::vector<std::uint64_t>> k,
                const RnsBasis& basis) {
  check_shape(out, basis, "scaled_sum");
  CKKS_INVARIANT(x.size() == k.size() && !x.empty(), "scaled_sum: x and k must be non-empty and of equal length");
  for (std::size_t t = 0; t < x.size(); ++t) {
    check_same(out, *x[t], "scaled_sum");
    CKKS_INVARIANT(k[t].size() >= out.limbs(), "scaled_sum: a scalar per limb is needed");
  }
  sum_of_products(out, x, basis, [&](std::size_t t, std::size_t i) { return std::pair{&k[t][i], std::size_t(0)}; });
}

void add_scalar_ntt_inplace(RnsPoly& a, std::span<const std::uint64_t> s, const RnsBasis& basis) {
  check_shape(a, basis, "add_scalar");
  CKKS_INVARIANT(a.is_ntt(), "add_scalar_ntt: the polynomial must be in evaluation form");
  const std::size_t N = a.n();
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value(), v = s[i];
    std::uint64_t* x = a.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = add_mod(x[c], v, q);
  }
}

void mul_scalar_inplace(RnsPoly& a, std::span<const std::uint64_t> s, const RnsBasis& basis) {
  check_shape(a, basis, "mul_scalar");
  const std::size_t N = a.n();
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value(), w = s[i], ws = shoup_precompute(w, q);
    std::uint64_t* x = a.limb(i);
    for (std::size_t c = 0; c < N; ++c) x[c] = mul_shoup(x[c], w, ws, q);
  }
}

std::vector<std::uint32_t> automorphism_ntt_permutation(std::size_t N, std::uint64_t g) {
  // Slot i holds a(ψ^(2·brv(i)+1)). σ_g(a)(ψ^e) = a(ψ^(e·g)), so output slot i reads the input slot
  // j with 2·brv(j)+1 ≡ (2·brv(i)+1)·g (mod 2N).
  int log_n = 0;
  while ((std::size_t(1) << log_n) < N) ++log_n;
  const std::uint64_t mask = 2 * N - 1;
  std::vector<std::uint32_t> perm(N);
  for (std::size_t i = 0; i < N; ++i) {
    const std::uint64_t e = 2 * bit_reverse(static_cast<std::uint32_t>(i), log_n) + 1;
    const std::uint64_t eg = (e * g) & mask;
    perm[i] = bit_reverse(static_cast<std::uint32_t>((eg - 1) >> 1), log_n);
  }
  return perm;
}

RnsPoly automorphism(const RnsPoly& a, std::uint64_t g, const RnsBasis& basis) {
  check_shape(a, basis, "automorphism");
  const std::size_t N = a.n();
  RnsPoly out(N, a.limbs(), a.is_ntt());
  if (a.is_ntt()) {
    const auto perm = automorphism_ntt_permutation(N, g);
    for (std::size_t i = 0; i < a.limbs(); ++i) {
      const std::uint64_t* x = a.limb(i);
      std::uint64_t* y = out.limb(i);
      for (std::size_t c = 0; c < N; ++c) y[c] = x[perm[c]];
    }
    return out;
  }
  const std::uint64_t mask = 2 * N - 1;
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    const std::uint64_t q = basis[i]->value();
    const std::uint64_t* x = a.limb(i);
    std::uint64_t* y = out.limb(i);
    for (std::size_t c = 0; c < N; ++c) {
      const std::uint64_t k = (c * g) & mask;  // X^c ↦ X^(c·g); X^N = -1
      if (k < N) y[k] = x[c];
      else y[k - N] = neg_mod(x[c], q);
    }
  }
  return out;
}

}  // namespace ckks::math

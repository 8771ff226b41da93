// ckks/math/rns.h: RNS representation and fast base conversion, checked with NTL's big integers.
//
// Base conversion with centred representatives (the documented departure from [CHKKS18, Conv]):
// for x in [0, Q) the converter outputs S = Σ_i y'_i·q̂_i with y'_i = [x_i·q̂_i^{-1}]_{q_i} taken in
// (−q_i/2, q_i/2]; S = x + u·Q for an integer u with −(k/2 + 1) < u ≤ k/2, and S/Q averages 0.
// Relative to the centred representative x_c ∈ (−Q/2, Q/2] of x, S = x_c + u_c·Q with |u_c| ≤ k/2
// (the bound stated in rns.h). convert_exact returns x_c itself.
#include <NTL/RR.h>
#include <NTL/ZZ.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns.h"
#include "ckks/math/rns_poly.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::OwnedBasis;
using test_util::to_u64;
using test_util::zz;

namespace {

constexpr u64 kRing = 16;  // ring degree of the Prime objects (their NTT tables are not used here)

/// Distinct primes of the given bit sizes (ring degree kRing), none in `used`; appended to `used`.
std::vector<u64> fresh_primes(const std::vector<int>& bits, std::vector<u64>& used) {
  std::vector<u64> out;
  for (int b : bits) {
    const u64 q = generate_ntt_primes(b, 1, kRing, used)[0];
    used.push_back(q);
    out.push_back(q);
  }
  return out;
}

/// Residues of x, limb-major for coefficient c of an n-coefficient RNS polynomial.
void scatter(const NTL::ZZ& x, const RnsBasis& basis, std::span<u64> limbs, std::size_t n,
             std::size_t c) {
  for (std::size_t i = 0; i < basis.size(); ++i) limbs[i * n + c] = to_u64(x % zz(basis[i]->value()));
}

std::vector<u64> gather(std::span<const u64> limbs, std::size_t nlimbs, std::size_t n, std::size_t c) {
  std::vector<u64> r(nlimbs);
  for (std::size_t i = 0; i < nlimbs; ++i) r[i] = limbs[i * n + c];
  return r;
}

struct ConversionStats {
  std::vector<long> u;         // S = x + u·Q per coefficient
  std::vector<double> s_over_q;  // S / Q per coefficient
  long failures = 0;
};

/// Runs conv on `in` (from.size() limbs of n coefficients) and checks every coefficient:
///  (1) black box: out_j = (x + u·Q) mod p_j for one integer u shared by all j, |u| ≤ k/2 + 1;
///  (2) white box: out_j = S mod p_j with S the documented centred sum, computed with NTL.
ConversionStats check_conversion(const BaseConverter& conv, const std::vector<u64>& in, std::size_t n) {
  const RnsBasis& from = conv.from();
  const RnsBasis& to = conv.to();
  const std::size_t k = from.size(), m = to.size();
  const auto qs = test_util::moduli_of(from);
  NTL::ZZ Q(1);
  for (u64 q : qs) Q *= zz(q);
  std::vector<NTL::ZZ> qhat(k), qhat_inv(k);
  for (std::size_t i = 0; i < k; ++i) {
    qhat[i] = Q / zz(qs[i]);
    qhat_inv[i] = NTL::InvMod(qhat[i] % zz(qs[i]), zz(qs[i]));
  }
  std::vector<u64> out(m * n, ~u64(0));
  conv.convert(in.data(), out.data(), n);

  ConversionStats st;
  for (std::size_t c = 0; c < n; ++c) {
    const NTL::ZZ x = test_util::crt(gather(in, k, n, c), qs);
    // White box: the centred sum S.
    NTL::ZZ S(0);
    for (std::size_t i = 0; i < k; ++i) {
      const NTL::ZZ qi = zz(qs[i]);
      NTL::ZZ y = zz(in[i * n + c]) * qhat_inv[i] % qi;
      if (2 * y > qi) y -= qi;
      S += y * qhat[i];
    }
    NTL::ZZ u_zz, rem;
    NTL::DivRem(u_zz, rem, S - x, Q);
    const long u = NTL::conv<long>(u_zz);
    bool ok = NTL::IsZero(rem) && 2 * u <= static_cast<long>(k) && 2 * u > -static_cast<long>(k) - 2;
    const long u_c = u + (2 * x > Q ? 1 : 0);  // relative to the centred representative of x
    ok = ok && 2 * std::abs(u_c) <= static_cast<long>(k);
    for (std::size_t j = 0; j < m; ++j) {
      const NTL::ZZ pj = zz(to[j]->value());
      const u64 o = out[j * n + c];
      ok = ok && o < to[j]->value();
      ok = ok && zz(o) == S % pj;  // white box
      // Black box: the u that this output implies, (o - x)/Q mod p_j, centred.
      NTL::ZZ uj = (zz(o) - x) % pj * NTL::InvMod(Q % pj, pj) % pj;
      if (2 * uj > pj) uj -= pj;
      ok = ok && uj == u;
      ok = ok && 2 * NTL::abs(uj) <= static_cast<long>(k) + 2;  // |u| ≤ k/2 + 1
    }
    if (!ok) {
      ++st.failures;
      if (st.failures <= 3) {
        CAPTURE(c);
        CAPTURE(k);
        CAPTURE(u);
        CHECK(ok);
      }
    }
    st.u.push_back(u);
    st.s_over_q.push_back(NTL::conv<double>(NTL::conv<NTL::RR>(S) / NTL::conv<NTL::RR>(Q)));
  }
  return st;
}

/// Coefficients 2 and 3 of `in` (limb-major, n per limb) set so that y_i = [x_i·q̂_i^{-1}]_{q_i} is
/// q_i − 1 for every i (coefficient 2) and (q_i − 1)/2 (coefficient 3): the largest sums.
void set_extremes(std::vector<u64>& in, const RnsBasis& from, const NTL::ZZ& Q, std::size_t n) {
  for (std::size_t i = 0; i < from.size(); ++i) {
    const u64 q = from[i]->value();
    const NTL::ZZ qi = zz(q), qhat_mod = (Q / qi) % qi;
    in[i * n + 2] = to_u64(zz(q - 1) * qhat_mod % qi);
    in[i * n + 3] = to_u64(zz(q / 2) * qhat_mod % qi);
  }
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("math/rns: residues reconstruct by CRT and limb-wise arithmetic is arithmetic mod Q") {
  std::mt19937_64 rng(0x5eed2001);
  const u64 N = 64;
  for (const std::vector<int>& bits : {std::vector<int>{61, 50, 40}, {60, 60, 60, 60},
                                       {61, 61, 45, 30, 20}, {55, 36, 61, 40, 50, 60}}) {
    OwnedBasis ob;
    std::vector<u64> used;
    for (int b : bits) {
      const u64 q = generate_ntt_primes(b, 1, N, used)[0];
      used.push_back(q);
    }
    ob.add(used, N);
    const RnsBasis& basis = ob.basis;
    const NTL::ZZ Q = ob.product();
    CAPTURE(basis.size());
    std::vector<NTL::ZZ> xs(N), ys(N);
    RnsPoly a(N, basis.size(), false), b(N, basis.size(), false);
    for (std::size_t c = 0; c < N; ++c) {
      xs[c] = test_util::random_zz_below(rng, Q);
      ys[c] = test_util::random_zz_below(rng, Q);
      if (c == 0) xs[c] = 0;
      if (c == 1) xs[c] = Q - 1;
      scatter(xs[c], basis, a.data(), N, c);
      scatter(ys[c], basis, b.data(), N, c);
    }
    // Decomposition and reconstruction round-trip.
    for (std::size_t c = 0; c < N; ++c)
      CHECK(test_util::crt(gather(a.data(), basis.size(), N, c), used) == xs[c]);
    auto sum = a, diff = a, prod = a, neg = a;
    add_inplace(sum, b, basis);
    sub_inplace(diff, b, basis);
    mul_inplace(prod, b, basis);
    negate_inplace(neg, basis);
    for (std::size_t c = 0; c < N; ++c) {
      CAPTURE(c);
      CHECK(test_util::crt(gather(sum.data(), basis.size(), N, c), used) == (xs[c] + ys[c]) % Q);
      CHECK(test_util::crt(gather(diff.data(), basis.size(), N, c), used) == (xs[c] - ys[c]) % Q);
      CHECK(test_util::crt(gather(prod.data(), basis.size(), N, c), used) == xs[c] * ys[c] % Q);
      CHECK(test_util::crt(gather(neg.data(), basis.size(), N, c), used) == (-xs[c]) % Q);
    }
  }
}

TEST_CASE("math/rns: BaseConverter output is x + u*Q with one u for all targets, |u| <= k/2 + 1") {
  std::mt19937_64 rng(0x5eed2002);
  const std::size_t n = 256;
  const std::vector<int> source_bits = {61, 50, 40, 60, 36, 55};
  for (std::size_t k = 1; k <= source_bits.size(); ++k) {
    for (const std::vector<int>& target_bits : {std::vector<int>{61}, {61, 45, 30, 20}, {60, 60}}) {
      std::vector<u64> used;
      const auto src = fresh_primes({source_bits.begin(), source_bits.begin() + k}, used);
      const auto dst = fresh_primes(target_bits, used);
      OwnedBasis from(src, kRing), to(dst, kRing);
      const BaseConverter conv(from.basis, to.basis);
      CHECK(conv.from() == from.basis);
      CHECK(conv.to() == to.basis);
      const NTL::ZZ Q = from.product();
      std::vector<u64> in(k * n);
      for (std::size_t c = 0; c < n; ++c) {
        NTL::ZZ x = test_util::random_zz_below(rng, Q);
        if (c == 0) x = 0;
        if (c == 1) x = Q - 1;
        if (c == 2) x = Q / 2;
        if (c == 3) x = Q / 2 + 1;
        scatter(x, from.basis, in, n, c);
      }
      CAPTURE(k);
      CAPTURE(target_bits.size());
      const auto st = check_conversion(conv, in, n);
      CHECK(st.failures == 0);
      CHECK(st.u[0] == 0);  // x = 0 converts exactly to 0
    }
  }
}

TEST_CASE("math/rns: BaseConverter at the centring boundary y_i = (q_i-1)/2 vs (q_i+1)/2") {
  // Choose y_i = [x_i·q̂_i^{-1}]_{q_i} directly and set x_i = y_i·q̂_i mod q_i: every combination
  // of {0, 1, (q_i-1)/2, (q_i+1)/2, q_i-1} over k = 3 primes, plus all-maximal k = 5, 6.
  for (std::size_t k : {std::size_t(3), std::size_t(5), std::size_t(6)}) {
    std::vector<u64> used;
    std::vector<int> bits{61, 50, 40, 60, 36, 55};
    bits.resize(k);
    const auto qs = fresh_primes(bits, used);
    const auto ps = fresh_primes({61, 30}, used);
    OwnedBasis from(qs, kRing), to(ps, kRing);
    const BaseConverter conv(from.basis, to.basis);
    const NTL::ZZ Q = from.product();
    std::vector<std::vector<u64>> choices(k);
    for (std::size_t i = 0; i < k; ++i) {
      const u64 q = qs[i];
      choices[i] = k == 3 ? std::vector<u64>{0, 1, q / 2, q / 2 + 1, q - 1}
                          : std::vector<u64>{q / 2, q / 2 + 1};
    }
    std::size_t total = 1;
    for (auto& ch : choices) total *= ch.size();
    std::vector<u64> in(k * total);
    for (std::size_t c = 0; c < total; ++c) {
      std::size_t idx = c;
      for (std::size_t i = 0; i < k; ++i) {
        const u64 y = choices[i][idx % choices[i].size()];
        idx /= choices[i].size();
        const NTL::ZZ qi = zz(qs[i]);
        in[i * total + c] = to_u64(zz(y) * ((Q / qi) % qi) % qi);  // x_i = y_i · q̂_i mod q_i
      }
    }
    CAPTURE(k);
    const auto st = check_conversion(conv, in, total);
    CHECK(st.failures == 0);
    if (k >= 5) {
      // All y_i = (q_i-1)/2: S is the largest possible, S/Q just below k/2, u = ceil(k/2) - 1.
      // All y_i = (q_i+1)/2: centred to −(q_i−1)/2, S just above −k/2, u = −ceil(k/2).
      const long kk = static_cast<long>(k);
      CHECK(st.u[0] == (kk + 1) / 2 - 1);
      CHECK(st.u[total - 1] == -((kk + 1) / 2));
    }
  }
}

TEST_CASE("math/rns: BaseConverter is exact for small x in the common case, unbiased on average") {
  std::mt19937_64 rng(0x5eed2003);
  const std::size_t n = 2048;
  // P(u = 0) for small x: the density at 0 of the sum of k uniforms on (−1/2, 1/2] (Irwin–Hall).
  const double p_exact[] = {0, 1.0, 1.0, 0.75, 2.0 / 3.0, 115.0 / 192.0};
  for (std::size_t k = 1; k <= 5; ++k) {
    std::vector<u64> used;
    std::vector<int> bits{50, 61, 40, 60, 36};
    bits.resize(k);
    const auto qs = fresh_primes(bits, used);
    const auto ps = fresh_primes({61, 59}, used);
    OwnedBasis from(qs, kRing), to(ps, kRing);
    const BaseConverter conv(from.basis, to.basis);
    const NTL::ZZ Q = from.product();
    CAPTURE(k);

    // Small x (below 2^30, far below Q): exact (u = 0) with probability p_exact[k].
    std::vector<u64> in(k * n);
    for (std::size_t c = 0; c < n; ++c) scatter(zz(rng() >> 34), from.basis, in, n, c);
    auto st = check_conversion(conv, in, n);
    CHECK(st.failures == 0);
    long exact = 0;
    for (long u : st.u) exact += u == 0;
    const double frac = static_cast<double>(exact) / n;
    CHECK(frac >= p_exact[k] - 0.05);
    CHECK(frac <= p_exact[k] + 0.05);
    if (k == 1) {
      CHECK(exact == static_cast<long>(n));  // one prime: exact for every x ≤ q_0/2
      // ... and x > q_0/2 comes out as x − q_0 (u = −1), the centred representative.
      for (std::size_t c = 0; c < n; ++c)
        scatter(zz(qs[0] / 2 + 1 + rng() % (qs[0] / 2)), from.basis, in, n, c);
      st = check_conversion(conv, in, n);
      CHECK(st.failures == 0);
      long minus_one = 0;
      for (long u : st.u) minus_one += u == -1;
      CHECK(minus_one == static_cast<long>(n));
    }

    // Uniform x in [0, Q): S = x + u·Q averages 0 (centred representatives; with the paper's
    // representatives in [0, q_i) it would average about k/2), so u averages −1/2.
    for (std::size_t c = 0; c < n; ++c) scatter(test_util::random_zz_below(rng, Q), from.basis, in, n, c);
    st = check_conversion(conv, in, n);
    CHECK(st.failures == 0);
    CHECK(std::abs(mean(st.s_over_q)) < 0.06);
    std::vector<double> us(st.u.begin(), st.u.end());
    CHECK(std::abs(mean(us) + 0.5) < 0.08);
  }
}

TEST_CASE("math/rns: BaseConverter with 200 source primes of 61 bits (chunked 128-bit accumulation)") {
  std::mt19937_64 rng(0x5eed2004);
  const std::size_t k = 200, n = 16;
  // Every product y_i·[q̂_i]_{p_j} is below 2^122, so 64 of them fit in 128 bits but 200 do not:
  // with y_i = q_i − 1 for all i the sum is about 100·2^122 > 2^128, and the accumulator must be
  // reduced every 64 terms.
  const auto all = generate_ntt_primes(61, k + 3, 2);
  OwnedBasis from(std::vector<u64>(all.begin(), all.begin() + k), 2);
  OwnedBasis to(std::vector<u64>(all.begin() + k, all.end()), 2);
  const BaseConverter conv(from.basis, to.basis);
  const NTL::ZZ Q = from.product();
  std::vector<u64> in(k * n);
  for (std::size_t c = 0; c < n; ++c) {
    NTL::ZZ x = test_util::random_zz_below(rng, Q);
    if (c == 0) x = Q - 1;
    if (c == 1) x = 0;
    scatter(x, from.basis, in, n, c);
  }
  set_extremes(in, from.basis, Q, n);  // coefficient 2: all y_i = q_i − 1 (centred −1); 3: all (q_i − 1)/2
  const auto st = check_conversion(conv, in, n);
  CHECK(st.failures == 0);
  CHECK(st.u[2] == -1);  // S = −Σ q̂_i, just below 0
  CHECK(st.u[3] == 99);  // S/Q = Σ (q_i−1)/(2q_i), just below 100
}

TEST_CASE("math/rns: the AVX-512 IFMA path (targets below 2^50) gives the documented sums exactly") {
  // convert_to has an eight-lane path for targets below 2^50 with k ≤ 14 (rns.cpp; sources above
  // 2^52 split y = a + b·2^52, with b·[2^52·q̂_i] one madd52lo below 2^54 and a second Shoup product
  // above); the 128-bit path takes the others (here: the 61-bit target, and k = 15). Both must give
  // S mod p_j for the white-box sum S of check_conversion, at every k, with the extremes of y_i (all
  // q_i − 1, all (q_i − 1)/2: the largest sums and the most wraps), and convert_exact the centred x
  // exactly. The second list is ModDown's case: every source a 60- or 61-bit special prime.
  std::mt19937_64 rng(0x5eed2008);
  const std::size_t n = 64;
  const std::vector<int> mixed = {54, 60, 49, 53, 61, 40, 34, 45, 52, 20, 34, 49, 34, 34, 34};
  const std::vector<int> wide = {60, 61, 60, 59, 60, 61, 60, 60};
  const std::vector<std::pair<const std::vector<int>*, std::size_t>> cases = {
      {&mixed, 1}, {&mixed, 2}, {&mixed, 8}, {&mixed, 14}, {&mixed, 15}, {&wide, 1}, {&wide, 5}, {&wide, 8}};
  for (const auto& [source_bits, k] : cases) {
    std::vector<u64> used;
    const auto src = fresh_primes({source_bits->begin(), source_bits->begin() + static_cast<long>(k)}, used);
    const auto dst = fresh_primes({34, 49, 61, 20, 34}, used);
    OwnedBasis from(src, kRing), to(dst, kRing);
    const BaseConverter conv(from.basis, to.basis);
    const NTL::ZZ Q = from.product();
    std::vector<u64> in(k * n);
    for (std::size_t c = 0; c < n; ++c) {
      NTL::ZZ x = test_util::random_zz_below(rng, Q);
      if (c == 0) x = 0;
      if (c == 1) x = Q - 1;
      scatter(x, from.basis, in, n, c);
    }
    set_extremes(in, from.basis, Q, n);
    CAPTURE(k);
    CAPTURE(source_bits->front());
    CHECK(check_conversion(conv, in, n).failures == 0);
    std::vector<u64> out(dst.size() * n);
    conv.convert_exact(in.data(), out.data(), n);
    long bad = 0;
    for (std::size_t c = 0; c < n; ++c) {
      // Coefficient 3 (every y_i = (q_i − 1)/2) puts Σ y_i/q_i within k·2^-54 of k/2: at odd k that
      // is the rounding boundary convert_exact documents as its limit (x/Q within ~k·2^-52 of ±1/2).
      if (c == 3 && k % 2 == 1) continue;
      NTL::ZZ x = test_util::crt(gather(in, k, n, c), test_util::moduli_of(from.basis));
      if (2 * x > Q) x -= Q;  // centred
      for (std::size_t j = 0; j < dst.size(); ++j) {
        const NTL::ZZ pj = zz(dst[j]);
        bad += zz(out[j * n + c]) != ((x % pj) + pj) % pj;
      }
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("math/rns: convert_exact returns the centred representative of x exactly") {
  std::mt19937_64 rng(0x5eed2005);
  const std::size_t n = 512;
  const std::vector<int> source_bits = {61, 50, 40, 60, 36, 55};
  for (std::size_t k = 1; k <= source_bits.size() + 1; ++k) {
    std::vector<u64> used;
    std::vector<u64> qs;
    if (k <= source_bits.size()) {
      qs = fresh_primes({source_bits.begin(), source_bits.begin() + k}, used);
    } else {  // 200 primes of 61 bits: a long floating-point sum and the chunked accumulation
      const auto all = generate_ntt_primes(61, 200, kRing);
      qs = all;
      used = all;
    }
    const auto ps = fresh_primes({61, 45, 30}, used);
    OwnedBasis from(qs, kRing), to(ps, kRing);
    const BaseConverter conv(from.basis, to.basis);
    const NTL::ZZ Q = from.product();
    CAPTURE(qs.size());
    std::vector<NTL::ZZ> xc(n);  // centred representatives in (−Q/2, Q/2]
    std::vector<u64> in(qs.size() * n);
    for (std::size_t c = 0; c < n; ++c) {
      NTL::ZZ x;
      switch (c) {
        case 0: x = 0; break;
        case 1: x = 1; break;
        case 2: x = -1; break;
        case 3: x = (Q - 1) / 2 - (Q >> 40); break;  // close to, but 2^-40·Q away from, Q/2
        case 4: x = -((Q - 1) / 2 - (Q >> 40)); break;
        default:
          if (c % 2) {  // small magnitude, either sign (the ModDown case)
            x = zz(rng() >> (rng() % 64)) % (Q / 4);
            if (rng() & 1) x = -x;
          } else {
            x = test_util::random_zz_below(rng, Q) - Q / 2;
          }
      }
      // Avoid values within 2^-44·Q of ±Q/2, where the documented floating-point estimate may
      // round either way.
      if (NTL::abs(2 * NTL::abs(x) - Q) < (Q >> 44)) x = 7;
      xc[c] = x;
      scatter(x % Q, from.basis, in, n, c);  // NTL's % lands in [0, Q)
    }
    std::vector<u64> out(ps.size() * n, ~u64(0));
    conv.convert_exact(in.data(), out.data(), n);
    long bad = 0;
    for (std::size_t c = 0; c < n; ++c)
      for (std::size_t j = 0; j < ps.size(); ++j)
        if (zz(out[j * n + c]) != xc[c] % zz(ps[j])) {
          ++bad;
          if (bad <= 3) {
            CAPTURE(c);
            CAPTURE(j);
            CHECK(zz(out[j * n + c]) == xc[c] % zz(ps[j]));
          }
        }
    CHECK(bad == 0);
  }
}

TEST_CASE("math/rns: prepare + convert_to give y_i, the wrap counts, and convert's limbs one at a time") {
  std::mt19937_64 rng(0x5eed2006);
  const std::size_t n = 128;
  for (std::size_t k : {std::size_t(1), std::size_t(2), std::size_t(4)}) {
    std::vector<u64> used;
    std::vector<int> bits{61, 50, 40, 60};
    bits.resize(k);
    const auto qs = fresh_primes(bits, used);
    const auto ps = fresh_primes({61, 45, 30}, used);
    OwnedBasis from(qs, kRing), to(ps, kRing);
    const BaseConverter conv(from.basis, to.basis);
    const NTL::ZZ Q = from.product();
    std::vector<u64> in(k * n);
    for (std::size_t c = 0; c < n; ++c) scatter(test_util::random_zz_below(rng, Q), from.basis, in, n, c);
    CAPTURE(k);
    for (bool exact : {false, true}) {
      CAPTURE(exact);
      const auto prep = conv.prepare(in.data(), n, exact);
      REQUIRE(prep.y.size() == k * n);
      REQUIRE(prep.wraps.size() == n);
      long bad = 0;
      for (std::size_t c = 0; c < n; ++c) {
        long wraps = 0;
        NTL::RR frac(0);
        for (std::size_t i = 0; i < k; ++i) {
          const NTL::ZZ qi = zz(qs[i]), qhat = Q / qi;
          const NTL::ZZ y = zz(in[i * n + c]) * NTL::InvMod(qhat % qi, qi) % qi;
          bad += zz(prep.y[i * n + c]) != y;
          wraps += 2 * y > qi;
          frac += NTL::conv<NTL::RR>(y) / NTL::conv<NTL::RR>(qi);
        }
        const long expect = exact ? NTL::conv<long>(NTL::round(frac)) : wraps;
        bad += static_cast<long>(prep.wraps[c]) != expect;
      }
      CHECK(bad == 0);
      std::vector<u64> whole(ps.size() * n);
      if (exact) conv.convert_exact(in.data(), whole.data(), n);
      else conv.convert(in.data(), whole.data(), n);
      for (std::size_t j = 0; j < ps.size(); ++j) {
        std::vector<u64> limb(n, ~u64(0));
        conv.convert_to(prep, j, limb.data(), n);
        CHECK(limb == std::vector<u64>(whole.begin() + static_cast<long>(j * n),
                                       whole.begin() + static_cast<long>((j + 1) * n)));
      }
    }
  }
}

TEST_CASE("math/rns: BaseConverter rejects an empty source and overlapping bases") {
  std::vector<u64> used;
  const auto qs = fresh_primes({61, 50, 40}, used);
  const auto ps = fresh_primes({60, 45}, used);
  OwnedBasis a(qs, kRing), b(ps, kRing);
  CHECK_NOTHROW(BaseConverter(a.basis, b.basis));
  CHECK_NOTHROW(BaseConverter(b.basis, a.basis));
  CHECK_THROWS_AS(BaseConverter(RnsBasis{}, b.basis), ckks::ParameterError);
  // Sharing a prime, through the same Prime object or an equal value in another object.
  RnsBasis overlap = b.basis;
  overlap.push_back(a.basis[1]);
  CHECK_THROWS_AS(BaseConverter(a.basis, overlap), ckks::ParameterError);
  CHECK_THROWS_AS(BaseConverter(overlap, a.basis), ckks::ParameterError);
  OwnedBasis copy({qs[2]}, kRing);
  CHECK_THROWS_AS(BaseConverter(a.basis, copy.basis), ckks::ParameterError);
  CHECK_THROWS_AS(BaseConverter(a.basis, a.basis), ckks::ParameterError);
}

TEST_CASE("math/rns: log2_product is log2 of the product of the primes") {
  CHECK(log2_product(RnsBasis{}) == 0.0);
  std::vector<u64> used;
  for (const std::vector<int>& bits : {std::vector<int>{61}, {20, 30}, {61, 50, 40, 60, 36, 55},
                                       std::vector<int>(20, 60)}) {
    OwnedBasis ob(fresh_primes(bits, used), kRing);
    const NTL::ZZ Q = ob.product();
    const double expect = NTL::log(Q) / std::log(2.0);
    CAPTURE(bits.size());
    CHECK(log2_product(ob.basis) == doctest::Approx(expect).epsilon(1e-12));
    // And it lies within the bit length of Q.
    CHECK(log2_product(ob.basis) > static_cast<double>(NTL::NumBits(Q) - 1));
    CHECK(log2_product(ob.basis) <= static_cast<double>(NTL::NumBits(Q)));
  }
}

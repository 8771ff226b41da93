// ckks/math/rns_poly.h: transforms, limb-wise arithmetic and Galois automorphisms of RnsPoly,
// checked against per-coefficient 128-bit oracles and NTL polynomials.
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>
#include <NTL/ZZ_pX.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns_poly.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::OwnedBasis;
using test_util::to_u64;
using test_util::u128;
using test_util::zz;

namespace {

/// Four distinct primes (61, 50, 40, 30 bits) for ring degree N.
OwnedBasis make_basis(u64 N, const std::vector<int>& bits = {61, 50, 40, 30}) {
  std::vector<u64> qs;
  for (int b : bits) qs.push_back(generate_ntt_primes(b, 1, N, qs)[0]);
  return OwnedBasis(qs, N);
}

/// Random limbs, with one coefficient in eight replaced by an edge value 0, 1 or q-1.
RnsPoly random_poly(std::mt19937_64& rng, std::size_t N, const RnsBasis& basis, bool ntt) {
  RnsPoly a(N, basis.size(), ntt);
  for (std::size_t i = 0; i < basis.size(); ++i) {
    const u64 q = basis[i]->value();
    for (std::size_t c = 0; c < N; ++c) {
      const u64 r = rng();
      a.limb(i)[c] = (r & 7) == 0 ? std::vector<u64>{0, 1, q - 1}[(r >> 3) % 3] : rng() % q;
    }
  }
  return a;
}

u64 mulq(u64 a, u64 b, u64 q) { return static_cast<u64>(static_cast<u128>(a) * b % q); }

/// X ↦ X^g on one limb via NTL::ZZX: Σ a_c X^(c·g), reduced mod X^N + 1, then mod q.
std::vector<u64> automorphism_zzx(const std::uint64_t* a, std::size_t N, u64 g, u64 q) {
  NTL::ZZX A;
  for (std::size_t c = 0; c < N; ++c) NTL::SetCoeff(A, static_cast<long>(c * g), zz(a[c]));
  NTL::ZZX M;
  NTL::SetCoeff(M, static_cast<long>(N), 1);
  NTL::SetCoeff(M, 0, 1);
  const NTL::ZZX R = A % M;
  std::vector<u64> out(N);
  for (std::size_t c = 0; c < N; ++c) out[c] = to_u64(NTL::coeff(R, static_cast<long>(c)) % zz(q));
  return out;
}

/// X ↦ X^g on one limb via NTL's modular composition a(X^g) mod (X^N + 1) over Z_q.
std::vector<u64> automorphism_compose(const std::uint64_t* a, std::size_t N, u64 g, u64 q) {
  NTL::ZZ_pPush push(zz(q));
  NTL::ZZ_pX A, F, Xg;
  for (std::size_t c = 0; c < N; ++c) NTL::SetCoeff(A, static_cast<long>(c), NTL::conv<NTL::ZZ_p>(zz(a[c])));
  NTL::SetCoeff(F, static_cast<long>(N), 1);
  NTL::SetCoeff(F, 0, 1);
  const NTL::ZZ_pXModulus Fm(F);
  NTL::ZZ_pX X;
  NTL::SetX(X);
  NTL::PowerMod(Xg, X, static_cast<long>(g), Fm);
  NTL::ZZ_pX R;
  NTL::CompMod(R, A, Xg, Fm);
  std::vector<u64> out(N);
  for (std::size_t c = 0; c < N; ++c) out[c] = to_u64(NTL::rep(NTL::coeff(R, static_cast<long>(c))));
  return out;
}

std::vector<u64> limb_vec(const RnsPoly& a, std::size_t i) {
  return std::vector<u64>(a.limb(i), a.limb(i) + a.n());
}

}  // namespace

TEST_CASE("math/rns_poly: construction, shape, limb layout, equality") {
  const RnsPoly z(8, 3, true);
  CHECK(z.n() == 8);
  CHECK(z.limbs() == 3);
  CHECK(z.is_ntt());
  CHECK(z.data().size() == 24);
  CHECK(std::all_of(z.data().begin(), z.data().end(), [](u64 x) { return x == 0; }));
  RnsPoly a(8, 3, false);
  a.limb(2)[5] = 42;
  CHECK(a.data()[2 * 8 + 5] == 42);
  CHECK(a.limb(1) == a.data().data() + 8);
  RnsPoly b(8, 3, false);
  CHECK_FALSE(a == b);
  b.data()[21] = 42;
  CHECK(a == b);
  b.set_ntt(true);
  CHECK_FALSE(a == b);  // the form is part of the value
  CHECK(RnsPoly() == RnsPoly());
}

TEST_CASE("math/rns_poly: to_ntt then from_ntt is the identity over a multi-prime basis") {
  std::mt19937_64 rng(0x5eed3001);
  for (u64 N : {u64(2), u64(64), u64(1024), u64(4096)}) {
    CAPTURE(N);
    const auto ob = make_basis(N);
    const auto a = random_poly(rng, N, ob.basis, false);
    auto b = a;
    to_ntt(b, ob.basis);
    CHECK(b.is_ntt());
    // Each limb is exactly the NTT of that limb with its own prime's tables.
    for (std::size_t i = 0; i < ob.basis.size(); ++i) {
      auto limb = limb_vec(a, i);
      ob.basis[i]->ntt.forward(limb.data());
      CHECK(limb_vec(b, i) == limb);
    }
    if (N >= 64) CHECK(b.data() != a.data());
    from_ntt(b, ob.basis);
    CHECK_FALSE(b.is_ntt());
    CHECK(b == a);
  }
}

TEST_CASE("math/rns_poly: NTT-domain mul is the product in Z_Q[X]/(X^N+1) (NTL::ZZX over the CRT)") {
  std::mt19937_64 rng(0x5eed3002);
  const u64 N = 64;
  const auto ob = make_basis(N);
  const auto qs = test_util::moduli_of(ob.basis);
  const NTL::ZZ Q = ob.product();
  const auto a = random_poly(rng, N, ob.basis, false), b = random_poly(rng, N, ob.basis, false);
  NTL::ZZX A, B;
  for (std::size_t c = 0; c < N; ++c) {
    std::vector<u64> ra(qs.size()), rb(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) {
      ra[i] = a.limb(i)[c];
      rb[i] = b.limb(i)[c];
    }
    NTL::SetCoeff(A, static_cast<long>(c), test_util::crt(ra, qs));
    NTL::SetCoeff(B, static_cast<long>(c), test_util::crt(rb, qs));
  }
  const NTL::ZZX C = A * B;
  auto x = a, y = b;
  to_ntt(x, ob.basis);
  to_ntt(y, ob.basis);
  mul_inplace(x, y, ob.basis);
  from_ntt(x, ob.basis);
  for (std::size_t c = 0; c < N; ++c) {
    std::vector<u64> r(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) r[i] = x.limb(i)[c];
    const NTL::ZZ expect = (NTL::coeff(C, static_cast<long>(c)) - NTL::coeff(C, static_cast<long>(c + N))) % Q;
    CAPTURE(c);
    CHECK(test_util::crt(r, qs) == expect);
  }
}

TEST_CASE("math/rns_poly: add, sub, negate, mul, mul_add, mul_scalar match per-coefficient oracles") {
  std::mt19937_64 rng(0x5eed3003);
  const u64 N = 256;
  const auto ob = make_basis(N);
  const RnsBasis& basis = ob.basis;
  const std::size_t L = basis.size();
  const NTL::ZZ Q = ob.product();
  for (bool ntt : {false, true}) {
    CAPTURE(ntt);
    const auto a = random_poly(rng, N, basis, ntt), b = random_poly(rng, N, basis, ntt),
               c = random_poly(rng, N, basis, ntt);
    auto sum = a, diff = a, neg = a, prod = a, fma = a;
    add_inplace(sum, b, basis);
    sub_inplace(diff, b, basis);
    negate_inplace(neg, basis);
    mul_inplace(prod, b, basis);
    mul_add_inplace(fma, b, c, basis);
    long bad = 0;
    for (std::size_t i = 0; i < L; ++i) {
      const u64 q = basis[i]->value();
      for (std::size_t k = 0; k < N; ++k) {
        const u64 x = a.limb(i)[k], y = b.limb(i)[k], z = c.limb(i)[k];
        bad += sum.limb(i)[k] != static_cast<u64>((static_cast<u128>(x) + y) % q);
        bad += diff.limb(i)[k] != static_cast<u64>((static_cast<u128>(x) + q - y) % q);
        bad += neg.limb(i)[k] != (q - x) % q;
        bad += prod.limb(i)[k] != mulq(x, y, q);
        bad += fma.limb(i)[k] != static_cast<u64>((static_cast<u128>(y) * z + x) % q);
      }
    }
    CHECK(bad == 0);
    for (const RnsPoly* p : {&sum, &diff, &neg, &prod, &fma}) {
      CHECK(p->is_ntt() == ntt);
      CHECK(p->limbs() == L);
      CHECK(p->n() == N);
    }
    // Spot checks through NTL, and the aliasing case a += a.
    CHECK(zz(sum.limb(L - 1)[7]) == (zz(a.limb(L - 1)[7]) + zz(b.limb(L - 1)[7])) % zz(basis[L - 1]->value()));
    auto twice = a;
    add_inplace(twice, twice, basis);
    auto twice2 = a;
    mul_scalar_inplace(twice2, std::vector<u64>(L, 2), basis);
    CHECK(twice == twice2);
    // mul_add accumulates: a + b·c + b·c.
    auto fma2 = fma;
    mul_add_inplace(fma2, b, c, basis);
    auto bc = b;
    mul_inplace(bc, c, basis);
    auto expect = a;
    add_inplace(expect, bc, basis);
    add_inplace(expect, bc, basis);
    CHECK(fma2 == expect);

    // mul_scalar by integers S given by their residues: random, 0, 1, −1 (= Q − 1).
    for (int rep = 0; rep < 4; ++rep) {
      NTL::ZZ S = rep == 0 ? NTL::ZZ(0) : rep == 1 ? NTL::ZZ(1) : rep == 2 ? Q - 1 : test_util::random_zz_below(rng, Q);
      std::vector<u64> s(L);
      for (std::size_t i = 0; i < L; ++i) s[i] = to_u64(S % zz(basis[i]->value()));
      auto sc = a;
      mul_scalar_inplace(sc, s, basis);
      long sbad = 0;
      for (std::size_t i = 0; i < L; ++i)
        for (std::size_t k = 0; k < N; ++k) sbad += sc.limb(i)[k] != mulq(a.limb(i)[k], s[i], basis[i]->value());
      CAPTURE(rep);
      CHECK(sbad == 0);
      if (rep == 2) {
        auto n2 = a;
        negate_inplace(n2, basis);
        CHECK(sc == n2);
      }
    }
  }
}

TEST_CASE("math/rns_poly: dot_product and scaled_sum equal the sum of the reduced products, every path") {
  // Primes below 2^50 take the eight-lane IFMA path in AVX-512 IFMA builds (up to 2048 terms), the
  // others and longer sums the 128-bit path (chunks of 64 terms): both must give Σ_t x_t·y_t mod q
  // exactly, with every operand at q − 1 in one coefficient (the largest sums).
  std::mt19937_64 rng(0x5eed3010);
  const u64 N = 64;
  const auto ob = make_basis(N, {61, 50, 49, 34, 30});
  const RnsBasis& basis = ob.basis;
  for (std::size_t terms : {std::size_t(1), std::size_t(3), std::size_t(64), std::size_t(65), std::size_t(2049)}) {
    CAPTURE(terms);
    std::vector<RnsPoly> xs, ys;
    std::vector<std::vector<u64>> ks;
    for (std::size_t t = 0; t < terms; ++t) {
      xs.push_back(random_poly(rng, N, basis, true));
      ys.push_back(random_poly(rng, N, basis, true));
      ks.emplace_back();
      for (std::size_t i = 0; i < basis.size(); ++i) {
        const u64 q = basis[i]->value();
        xs.back().limb(i)[5] = ys.back().limb(i)[5] = q - 1;
        ks.back().push_back(t % 2 ? q - 1 : rng() % q);
      }
    }
    std::vector<const RnsPoly*> x, y;
    for (std::size_t t = 0; t < terms; ++t) {
      x.push_back(&xs[t]);
      y.push_back(&ys[t]);
    }
    RnsPoly dot(N, basis.size(), true), scaled(N, basis.size(), true);
    dot_product(dot, x, y, basis);
    scaled_sum(scaled, x, ks, basis);
    long bad = 0;
    for (std::size_t i = 0; i < basis.size(); ++i) {
      const u64 q = basis[i]->value();
      for (std::size_t c = 0; c < N; ++c) {
        u64 d = 0, e = 0;
        for (std::size_t t = 0; t < terms; ++t) {
          d = (d + mulq(xs[t].limb(i)[c], ys[t].limb(i)[c], q)) % q;
          e = (e + mulq(xs[t].limb(i)[c], ks[t][i], q)) % q;
        }
        bad += dot.limb(i)[c] != d;
        bad += scaled.limb(i)[c] != e;
      }
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("math/rns_poly: coefficient-form automorphism equals X -> X^g via NTL::ZZX (N = 8, 64)") {
  std::mt19937_64 rng(0x5eed3004);
  for (u64 N : {u64(8), u64(64)}) {
    const auto ob = make_basis(N);
    std::vector<u64> gs{1, 3, 5, 7, 25, 2 * N - 1, 2 * N - 3, N + 1, N - 1};
    u64 g5 = 1;  // powers of 5 (the rotation generators)
    for (int k = 0; k < 6; ++k) gs.push_back(g5 = g5 * 5 % (2 * N));
    for (int k = 0; k < 4; ++k) gs.push_back((rng() % N) * 2 + 1);
    const auto a = random_poly(rng, N, ob.basis, false);
    for (u64 g : gs) {
      CAPTURE(N);
      CAPTURE(g);
      const auto r = automorphism(a, g, ob.basis);
      CHECK_FALSE(r.is_ntt());
      CHECK(r.limbs() == a.limbs());
      for (std::size_t i = 0; i < ob.basis.size(); ++i)
        CHECK(limb_vec(r, i) == automorphism_zzx(a.limb(i), N, g, ob.basis[i]->value()));
    }
    // The identity; and conjugation on a monomial: X ↦ X^(2N−1) = −X^(N−1).
    CHECK(automorphism(a, 1, ob.basis) == a);
    RnsPoly x1(N, ob.basis.size(), false);
    for (std::size_t i = 0; i < ob.basis.size(); ++i) x1.limb(i)[1] = 1;
    const auto conj = automorphism(x1, 2 * N - 1, ob.basis);
    for (std::size_t i = 0; i < ob.basis.size(); ++i) {
      std::vector<u64> expect(N, 0);
      expect[N - 1] = ob.basis[i]->value() - 1;
      CHECK(limb_vec(conj, i) == expect);
    }
  }
}

TEST_CASE("math/rns_poly: coefficient-form automorphism equals NTL modular composition a(X^g) (N = 1024)") {
  std::mt19937_64 rng(0x5eed3005);
  const u64 N = 1024;
  const auto ob = make_basis(N, {61, 40});
  const auto a = random_poly(rng, N, ob.basis, false);
  for (u64 g : {u64(3), u64(5), u64(625), 2 * N - 1, (rng() % N) * 2 + 1}) {
    CAPTURE(g);
    const auto r = automorphism(a, g, ob.basis);
    for (std::size_t i = 0; i < ob.basis.size(); ++i)
      CHECK(limb_vec(r, i) == automorphism_compose(a.limb(i), N, g, ob.basis[i]->value()));
  }
}

TEST_CASE("math/rns_poly: evaluation-form automorphism agrees with the coefficient form") {
  std::mt19937_64 rng(0x5eed3006);
  for (u64 N : {u64(2), u64(4), u64(16), u64(256), u64(2048)}) {
    const auto ob = make_basis(N);
    std::vector<u64> gs;
    if (N <= 16) {
      for (u64 g = 1; g < 2 * N; g += 2) gs.push_back(g);  // every odd g
    } else {
      gs = {1, 3, 5, 25, 125, 2 * N - 1, N + 1};
      for (int k = 0; k < 4; ++k) gs.push_back((rng() % N) * 2 + 1);
    }
    const auto a = random_poly(rng, N, ob.basis, false);
    auto a_ntt = a;
    to_ntt(a_ntt, ob.basis);
    for (u64 g : gs) {
      CAPTURE(N);
      CAPTURE(g);
      const auto coeff = automorphism(a, g, ob.basis);
      auto eval = automorphism(a_ntt, g, ob.basis);
      CHECK(eval.is_ntt());
      from_ntt(eval, ob.basis);
      CHECK(eval == coeff);
      // The permutation is a bijection and is what the evaluation form applies.
      const auto perm = automorphism_ntt_permutation(N, g);
      REQUIRE(perm.size() == N);
      auto sorted = perm;
      std::sort(sorted.begin(), sorted.end());
      bool bijective = true;
      for (std::size_t i = 0; i < N; ++i) bijective = bijective && sorted[i] == i;
      CHECK(bijective);
      const auto e2 = automorphism(a_ntt, g, ob.basis);
      bool applied = true;
      for (std::size_t i = 0; i < ob.basis.size(); ++i)
        for (std::size_t c = 0; c < N; ++c) applied = applied && e2.limb(i)[c] == a_ntt.limb(i)[perm[c]];
      CHECK(applied);
    }
  }
}

TEST_CASE("math/rns_poly: automorphisms compose (sigma_g o sigma_h = sigma_gh) and are ring homomorphisms") {
  std::mt19937_64 rng(0x5eed3007);
  const u64 N = 128;
  const auto ob = make_basis(N);
  const auto a = random_poly(rng, N, ob.basis, false), b = random_poly(rng, N, ob.basis, false);
  for (int rep = 0; rep < 6; ++rep) {
    const u64 g = (rng() % N) * 2 + 1, h = (rng() % N) * 2 + 1;
    CAPTURE(g);
    CAPTURE(h);
    CHECK(automorphism(automorphism(a, h, ob.basis), g, ob.basis) == automorphism(a, g * h % (2 * N), ob.basis));
    // σ_g(a·b) = σ_g(a)·σ_g(b), products taken in evaluation form.
    auto an = a, bn = b;
    to_ntt(an, ob.basis);
    to_ntt(bn, ob.basis);
    auto ab = an;
    mul_inplace(ab, bn, ob.basis);
    auto lhs = automorphism(ab, g, ob.basis);
    auto rhs = automorphism(an, g, ob.basis);
    mul_inplace(rhs, automorphism(bn, g, ob.basis), ob.basis);
    CHECK(lhs == rhs);
  }
}

TEST_CASE("math/rns_poly: truncate keeps the first k limbs unchanged") {
  std::mt19937_64 rng(0x5eed3008);
  const u64 N = 32;
  const auto ob = make_basis(N);
  for (bool ntt : {false, true}) {
    const auto a = random_poly(rng, N, ob.basis, ntt);
    for (std::size_t k = ob.basis.size(); k-- > 0;) {
      auto t = a;
      t.truncate(k);
      CHECK(t.limbs() == k);
      CHECK(t.n() == N);
      CHECK(t.is_ntt() == ntt);
      CHECK(t.data().size() == k * N);
      CHECK(std::equal(t.data().begin(), t.data().end(), a.data().begin()));
    }
    // A truncated polynomial works over the prefix basis.
    auto t = a, u = a;
    t.truncate(2);
    const RnsBasis prefix(ob.basis.begin(), ob.basis.begin() + 2);
    add_inplace(t, t, prefix);
    add_inplace(u, u, ob.basis);
    u.truncate(2);
    CHECK(t == u);
  }
  // Truncating a coefficient-form polynomial commutes with the NTT.
  const auto a = random_poly(rng, N, ob.basis, false);
  auto x = a, y = a;
  to_ntt(x, ob.basis);
  x.truncate(3);
  y.truncate(3);
  const RnsBasis prefix(ob.basis.begin(), ob.basis.begin() + 3);
  to_ntt(y, prefix);
  CHECK(x == y);
}

#ifdef CKKS_CHECK_INVARIANTS
TEST_CASE("math/rns_poly: invariant checks catch misuse (CKKS_CHECK_INVARIANTS builds)") {
  const u64 N = 16;
  const auto ob = make_basis(N);
  RnsPoly a(N, ob.basis.size(), true);
  CHECK_THROWS_AS(to_ntt(a, ob.basis), ckks::InvariantError);  // already in evaluation form
  RnsPoly c(N, ob.basis.size(), false);
  CHECK_THROWS_AS(from_ntt(c, ob.basis), ckks::InvariantError);
  RnsPoly short_poly(N, 2, false);
  CHECK_THROWS_AS(negate_inplace(short_poly, ob.basis), ckks::InvariantError);  // limb count
  CHECK_THROWS_AS(add_inplace(c, a, ob.basis), ckks::InvariantError);           // mixed forms
}
#endif

// ckks/math/ntt.h: the negacyclic NTT, checked against schoolbook products, NTL::ZZX and the
// definition of the evaluation order.
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/modarith.h"
#include "ckks/math/ntt.h"
#include "ckks/math/primes.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::to_u64;
using test_util::zz;

namespace {

/// The largest prime q < 2^62 with q ≡ 1 mod 2N: the top of NttTables' documented range, above
/// what generate_ntt_primes produces.
u64 prime_62_bits(u64 N) {
  for (u64 q = (u64(1) << 62) - 2 * N + 1;; q -= 2 * N)
    if (NTL::ProbPrime(zz(q), 40)) return q;
}

/// Primes for ring degree N: 20, 40, 60, 61 and 62 bits.
std::vector<u64> primes_for(u64 N) {
  std::vector<u64> qs;
  for (int bits : {20, 40, 60, 61}) qs.push_back(generate_ntt_primes(bits, 1, N)[0]);
  qs.push_back(prime_62_bits(N));
  return qs;
}

std::vector<u64> random_poly(std::mt19937_64& rng, std::size_t N, u64 q) {
  std::vector<u64> a(N);
  for (auto& x : a) x = rng() % q;
  return a;
}

/// Schoolbook product in Z_q[X]/(X^N+1) with 128-bit integer arithmetic (independent of modarith).
std::vector<u64> negacyclic_schoolbook(const std::vector<u64>& a, const std::vector<u64>& b, u64 q) {
  const std::size_t N = a.size();
  std::vector<u64> c(N, 0);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      const u64 p = static_cast<u64>(static_cast<test_util::u128>(a[i]) * b[j] % q);
      const std::size_t k = i + j;
      if (k < N) c[k] = static_cast<u64>((static_cast<test_util::u128>(c[k]) + p) % q);
      else c[k - N] = static_cast<u64>((static_cast<test_util::u128>(c[k - N]) + q - p) % q);
    }
  return c;
}

/// The product via NTL::ZZX, reduced mod X^N + 1 and then mod q.
std::vector<u64> negacyclic_ntl(const std::vector<u64>& a, const std::vector<u64>& b, u64 q) {
  const long N = static_cast<long>(a.size());
  NTL::ZZX A, B;
  for (long i = 0; i < N; ++i) {
    NTL::SetCoeff(A, i, zz(a[i]));
    NTL::SetCoeff(B, i, zz(b[i]));
  }
  const NTL::ZZX C = A * B;  // degree ≤ 2N − 2; X^N ≡ −1 folds coefficient N + i onto i
  std::vector<u64> c(N);
  const NTL::ZZ Q = zz(q);
  for (long i = 0; i < N; ++i) c[i] = to_u64((NTL::coeff(C, i) - NTL::coeff(C, i + N)) % Q);
  return c;
}

/// forward a, forward b, pointwise mul_mod, inverse.
std::vector<u64> negacyclic_ntt(std::vector<u64> a, std::vector<u64> b, const NttTables& t) {
  t.forward(a.data());
  t.forward(b.data());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = mul_mod(a[i], b[i], t.modulus());
  t.inverse(a.data());
  return a;
}

bool all_below(const std::vector<u64>& a, u64 q) {
  for (u64 x : a)
    if (x >= q) return false;
  return true;
}

}  // namespace

TEST_CASE("math/ntt: NttTables rejects N not a power of two and q not a prime ≡ 1 mod 2N") {
  const u64 q = generate_ntt_primes(40, 1, 1024)[0];
  for (u64 N : {u64(0), u64(1), u64(3), u64(6), u64(12), u64(1000), u64(1023)}) {
    CAPTURE(N);
    CHECK_THROWS_AS(NttTables(N, Modulus(q)), ckks::ParameterError);
  }
  CHECK_NOTHROW(NttTables(1024, Modulus(q)));
  // q ≡ 1 mod 2^11 but not necessarily mod 2^(k+1) for large k: find a degree it does not fit.
  u64 N_bad = 1024;
  while ((q - 1) % (2 * N_bad) == 0) N_bad *= 2;
  CHECK_THROWS_AS(NttTables(N_bad, Modulus(q)), ckks::ParameterError);
  // A prime that is not ≡ 1 mod 2N at all, and a composite that is.
  CHECK_THROWS_AS(NttTables(8, Modulus((u64(1) << 61) - 1)), ckks::ParameterError);
  u64 comp = q + 2 * 1024;
  while (NTL::ProbPrime(zz(comp), 40)) comp += 2 * 1024;
  CHECK_THROWS_AS(NttTables(1024, Modulus(comp)), ckks::ParameterError);
  // q ≥ 2^62 breaks the lazy butterflies: rejected even though it is an NTT-friendly prime.
  u64 big = (u64(1) << 62) + 1;
  while (!NTL::ProbPrime(zz(big), 40)) big += 2 * 1024;
  CHECK_THROWS_AS(NttTables(1024, Modulus(big)), ckks::ParameterError);
  // The top of the accepted range is fine.
  CHECK_NOTHROW(NttTables(1024, Modulus(prime_62_bits(1024))));
}

TEST_CASE("math/ntt: inverse(forward(a)) == a and forward(inverse(a)) == a for N = 2^1..2^12") {
  std::mt19937_64 rng(0x5eed1001);
  for (int log_n = 1; log_n <= 12; ++log_n) {
    const u64 N = u64(1) << log_n;
    for (u64 q : primes_for(N)) {
      CAPTURE(N);
      CAPTURE(q);
      const NttTables t(N, Modulus(q));
      CHECK(t.n() == N);
      CHECK(t.modulus().q == q);
      CHECK(t.psi() == primitive_root_2n(q, N));
      for (int rep = 0; rep < 3; ++rep) {
        auto a = random_poly(rng, N, q);
        if (rep == 1) std::fill(a.begin(), a.end(), q - 1);  // stresses the lazy ranges
        const auto orig = a;
        t.forward(a.data());
        CHECK(all_below(a, q));
        if (N >= 4 && rep != 1) CHECK(a != orig);  // the transform did something
        t.inverse(a.data());
        CHECK(a == orig);
        t.inverse(a.data());
        CHECK(all_below(a, q));
        t.forward(a.data());
        CHECK(a == orig);
      }
    }
  }
}

TEST_CASE("math/ntt: negacyclic product via NTT equals the schoolbook product (N = 2, 8, 64)") {
  std::mt19937_64 rng(0x5eed1002);
  for (u64 N : {u64(2), u64(8), u64(64)}) {
    for (u64 q : primes_for(N)) {
      CAPTURE(N);
      CAPTURE(q);
      const NttTables t(N, Modulus(q));
      for (int rep = 0; rep < 4; ++rep) {
        auto a = random_poly(rng, N, q), b = random_poly(rng, N, q);
        if (rep == 0) {  // extremes
          std::fill(a.begin(), a.end(), q - 1);
          std::fill(b.begin(), b.end(), q - 1);
        }
        CHECK(negacyclic_ntt(a, b, t) == negacyclic_schoolbook(a, b, q));
      }
      // X^(N-1) · X = X^N = -1.
      std::vector<u64> x_top(N, 0), x1(N, 0), minus_one(N, 0);
      x_top[N - 1] = 1;
      x1[1 % N] = 1;
      minus_one[0] = q - 1;
      if (N >= 2) CHECK(negacyclic_ntt(x_top, x1, t) == minus_one);
    }
  }
}

TEST_CASE("math/ntt: negacyclic product via NTT equals NTL::ZZX product mod (X^N+1, q) for N = 1024, 4096") {
  std::mt19937_64 rng(0x5eed1003);
  for (u64 N : {u64(1024), u64(4096)}) {
    for (u64 q : primes_for(N)) {
      CAPTURE(N);
      CAPTURE(q);
      const NttTables t(N, Modulus(q));
      const auto a = random_poly(rng, N, q), b = random_poly(rng, N, q);
      const auto got = negacyclic_ntt(a, b, t);
      CHECK(all_below(got, q));
      CHECK(got == negacyclic_ntl(a, b, q));
    }
  }
}

TEST_CASE("math/ntt: forward output order is a[i] = a(psi^(2*brv(i)+1)) (N = 2, 16, 128)") {
  std::mt19937_64 rng(0x5eed1004);
  for (u64 N : {u64(2), u64(16), u64(128)}) {
    int log_n = 0;
    while ((u64(1) << log_n) < N) ++log_n;
    for (u64 q : primes_for(N)) {
      CAPTURE(N);
      CAPTURE(q);
      const NttTables t(N, Modulus(q));
      const NTL::ZZ Q = zz(q), psi = zz(t.psi());
      REQUIRE(NTL::PowerMod(psi, zz(N), Q) == Q - 1);  // primitive 2N-th root
      const auto coeffs = random_poly(rng, N, q);
      auto a = coeffs;
      t.forward(a.data());
      for (u64 i = 0; i < N; ++i) {
        const u64 e = 2 * bit_reverse(static_cast<std::uint32_t>(i), log_n) + 1;
        const NTL::ZZ root = NTL::PowerMod(psi, zz(e), Q);
        NTL::ZZ value(0), power(1);  // Σ_k a_k ψ^(k·e)
        for (u64 k = 0; k < N; ++k) {
          value += zz(coeffs[k]) * power;
          power = power * root % Q;
        }
        CAPTURE(i);
        CHECK(zz(a[i]) == value % Q);
      }
    }
  }
}

TEST_CASE("math/ntt: bit_reverse") {
  CHECK(bit_reverse(0, 0) == 0);
  CHECK(bit_reverse(1, 1) == 1);
  CHECK(bit_reverse(1, 4) == 8);
  CHECK(bit_reverse(0b0011, 4) == 0b1100);
  CHECK(bit_reverse(0b1011, 4) == 0b1101);
  CHECK(bit_reverse(1, 16) == 0x8000);
  for (int bits = 1; bits <= 12; ++bits)
    for (std::uint32_t x = 0; x < (1u << bits); x += 1 + (x >> 3)) {
      CHECK(bit_reverse(bit_reverse(x, bits), bits) == x);
      std::uint32_t naive = 0;
      for (int b = 0; b < bits; ++b)
        if (x & (1u << b)) naive |= 1u << (bits - 1 - b);
      CHECK(bit_reverse(x, bits) == naive);
    }
}

TEST_CASE("math/ntt: the dispatched transform equals the scalar reference butterflies") {
  // forward/inverse may take the AVX-512 IFMA path (q < 2^50, built with -mavx512ifma); the scalar
  // code is the reference. Check both primes below and above 2^50, several N, random inputs,
  // including lazy inputs in [0, 4q) for forward.
  std::mt19937_64 g(2024);
  for (int log_n : {4, 5, 10, 13}) {
    const std::uint64_t N = std::uint64_t(1) << log_n;
    for (int bits : {30, 40, 49, 50, 55, 60, 61}) {
      CAPTURE(log_n);
      CAPTURE(bits);
      const std::uint64_t q = ckks::math::generate_ntt_primes(bits, 1, N)[0];
      const ckks::math::NttTables t(N, ckks::math::Modulus(q));
      std::vector<std::uint64_t> a(N), b;
      for (auto& x : a) x = g() % (4 * q);
      b = a;
      t.forward(a.data());
      t.forward_scalar(b.data());
      CHECK(a == b);
      for (auto& x : a) x = g() % q;
      b = a;
      t.inverse(a.data());
      t.inverse_scalar(b.data());
      CHECK(a == b);
    }
  }
}

TEST_CASE("math/ntt: forward_subring equals forward of the spread polynomial, every gap, both paths") {
  // m(X) = m'(X^g): forward_subring on m' (n = N/g coefficients, lazy in [0, 4q)) against zero-filling,
  // spreading coefficient i to i·g and the whole forward; the scalar butterflies (n < 16, or a build
  // without AVX-512) and the vector ones (n ≥ 16) both run, for primes below and above 2^50.
  std::mt19937_64 g(2027);
  for (int log_n : {1, 4, 6, 12}) {
    const std::uint64_t N = std::uint64_t(1) << log_n;
    for (int bits : {30, 49, 55, 61}) {
      const std::uint64_t q = ckks::math::generate_ntt_primes(bits, 1, N)[0];
      const ckks::math::NttTables t(N, ckks::math::Modulus(q));
      for (int log_gap = 0; log_gap < log_n; ++log_gap) {
        CAPTURE(log_n);
        CAPTURE(bits);
        CAPTURE(log_gap);
        const std::uint64_t gap = std::uint64_t(1) << log_gap, n = N >> log_gap;
        std::vector<std::uint64_t> sub(N, 0xdeadbeef), full(N, 0);  // sub's tail: ignored on entry
        for (std::uint64_t i = 0; i < n; ++i) full[i * gap] = sub[i] = g() % (4 * q);
        t.forward_subring(sub.data(), log_gap);
        t.forward(full.data());
        CHECK(sub == full);
      }
    }
  }
}

// ckks/math/modarith.h against NTL::ZZ and native unsigned __int128 arithmetic.
#include <NTL/ZZ.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "ckks/math/modarith.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::to_u64;
using test_util::zz;
using test_util::zz128;

namespace {

u64 largest_prime_below(u64 bound) {  // deterministic, via NTL's primality test
  for (u64 q = bound - 1;; q -= 2)
    if (q % 2 == 1 && NTL::ProbPrime(zz(q), 40)) return q;
}

/// Primes of ~20, 40, 60, 61 and 62 bits (62 bits is the documented maximum, q < 2^62), plus the
/// Mersenne prime 2^61 - 1 and a small odd prime. Not NTT-friendly: modarith does not care.
const std::vector<u64>& test_primes() {
  static const std::vector<u64> ps = [] {
    std::vector<u64> v;
    v.push_back(65537);
    v.push_back(to_u64(NTL::NextPrime(zz((u64(1) << 19) + 12345))));
    v.push_back(to_u64(NTL::NextPrime(zz((u64(1) << 39) + 987654321))));
    v.push_back(to_u64(NTL::NextPrime(zz((u64(1) << 59) + 31415926535ull))));
    v.push_back((u64(1) << 61) - 1);
    v.push_back(largest_prime_below(u64(1) << 60));
    v.push_back(largest_prime_below(u64(1) << 61));
    v.push_back(largest_prime_below(u64(1) << 62));
    return v;
  }();
  return ps;
}

/// Interesting operands below q: 0, 1, 2, q-1, q-2, floor(q/2), ceil(q/2), and a few powers of 2.
std::vector<u64> edge_values(u64 q) {
  std::vector<u64> v{0, 1, 2, q - 1, q - 2, q / 2, q / 2 + 1};
  for (int b = 1; b < 64 && (u64(1) << b) < q; b += 13) v.push_back(u64(1) << b);
  return v;
}

u64 oracle_mod(u128 x, u64 q) { return static_cast<u64>(x % q); }

u64 ntl_mulmod(u64 a, u64 b, u64 q) { return to_u64(NTL::MulMod(zz(a), zz(b), zz(q))); }

}  // namespace

TEST_CASE("math/modarith: Modulus holds floor(2^128 / q)") {
  for (u64 q : test_primes()) {
    CAPTURE(q);
    const Modulus m(q);
    const NTL::ZZ expect = (NTL::ZZ(1) << 128) / zz(q);
    CHECK(m.q == q);
    CHECK(zz128((static_cast<u128>(m.barrett_hi) << 64) | m.barrett_lo) == expect);
  }
}

TEST_CASE("math/modarith: reduce_128 equals x mod q on arbitrary 128-bit inputs up to 2^128-1") {
  std::mt19937_64 rng(0x5eed0001);
  const u128 all_ones = ~u128(0);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    const Modulus m(q);
    std::vector<u128> xs{0, 1, q - 1, q, u128(q) + 1, 2 * u128(q) - 1, 2 * u128(q),
                         u128(q - 1) * (q - 1), u128(q) * q - 1, u128(q) * q,
                         std::numeric_limits<u64>::max(), u128(1) << 64, (u128(1) << 64) + 1,
                         all_ones, all_ones - 1, all_ones - q, all_ones / q * q,
                         all_ones / q * q - 1, u128(1) << 127, (u128(1) << 127) - 1};
    for (int i = 0; i < 3000; ++i) {
      const u128 r = (static_cast<u128>(rng()) << 64) | rng();
      xs.push_back(r);                                // uniform over [0, 2^128)
      xs.push_back(r >> (rng() % 128));               // all magnitudes
      const u128 k = r % (all_ones / q);              // near a multiple of q: where a quotient
      xs.push_back(k * q);                            // estimate that is off by one shows
      xs.push_back(k * q + q - 1);
      if (k > 0) xs.push_back(k * q - 1);
      xs.push_back(u128(rng() % q) * (rng() % q));    // products of reduced operands
    }
    for (u128 x : xs) {
      const u64 r = reduce_128(x, m);
      if (r != oracle_mod(x, q)) {
        CAPTURE(static_cast<u64>(x >> 64));
        CAPTURE(static_cast<u64>(x));
        CHECK(r == oracle_mod(x, q));
      }
    }
    // The same on a subset against NTL (independent of the compiler's 128-bit division).
    for (std::size_t i = 0; i < xs.size(); i += 7) CHECK(zz(reduce_128(xs[i], m)) == zz128(xs[i]) % zz(q));
  }
}

TEST_CASE("math/modarith: reduce_64 and mul_mod match NTL, including edge operands") {
  std::mt19937_64 rng(0x5eed0002);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    const Modulus m(q);
    // reduce_64 on any 64-bit word.
    std::vector<u64> words{0, 1, q - 1, q, q + 1, 2 * q - 1, 2 * q, 3 * q + 5,
                           std::numeric_limits<u64>::max(), std::numeric_limits<u64>::max() - 1};
    for (int i = 0; i < 2000; ++i) words.push_back(rng() >> (rng() % 64));
    for (u64 a : words) CHECK(reduce_64(a, m) == to_u64(zz(a) % zz(q)));

    // mul_mod on all pairs of edge values and on random reduced operands.
    const auto edges = edge_values(q);
    for (u64 a : edges)
      for (u64 b : edges) {
        CAPTURE(a);
        CAPTURE(b);
        CHECK(mul_mod(a, b, m) == ntl_mulmod(a, b, q));
      }
    int bad = 0;
    for (int i = 0; i < 20000; ++i) {
      const u64 a = rng() % q, b = rng() % q;
      const u64 got = mul_mod(a, b, m);
      if (got != oracle_mod(u128(a) * b, q)) ++bad;
      if (i % 16 == 0) CHECK(got == ntl_mulmod(a, b, q));
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("math/modarith: add_mod, sub_mod, neg_mod") {
  std::mt19937_64 rng(0x5eed0003);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    std::vector<u64> vals = edge_values(q);
    for (int i = 0; i < 40; ++i) vals.push_back(rng() % q);
    for (u64 a : vals) {
      CHECK(neg_mod(a, q) == to_u64((zz(q) - zz(a)) % zz(q)));
      for (u64 b : vals) {
        CHECK(add_mod(a, b, q) == to_u64((zz(a) + zz(b)) % zz(q)));
        CHECK(sub_mod(a, b, q) == to_u64(((zz(a) - zz(b)) % zz(q) + zz(q)) % zz(q)));
      }
    }
  }
}

TEST_CASE("math/modarith: Shoup multiplication (lazy in [0, 2q), full in [0, q))") {
  std::mt19937_64 rng(0x5eed0004);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    std::vector<u64> ws = edge_values(q);
    for (int i = 0; i < 60; ++i) ws.push_back(rng() % q);
    for (u64 w : ws) {
      CAPTURE(w);
      const u64 ws_ = shoup_precompute(w, q);
      CHECK(zz(ws_) == (zz(w) << 64) / zz(q));
      // a may be any 64-bit word.
      std::vector<u64> as{0, 1, q - 1, q, 2 * q - 1, 4 * q - 1, std::numeric_limits<u64>::max()};
      for (int i = 0; i < 150; ++i) as.push_back(i % 2 ? rng() % q : rng());
      for (u64 a : as) {
        const u64 expect = oracle_mod(u128(a) * w, q);
        const u64 lazy = mul_shoup_lazy(a, w, ws_, q);
        const u64 full = mul_shoup(a, w, ws_, q);
        if (lazy >= 2 * q || lazy % q != expect || full != expect) {
          CAPTURE(a);
          CHECK(lazy < 2 * q);
          CHECK(lazy % q == expect);
          CHECK(full == expect);
        }
      }
    }
    // Spot check against NTL::MulMod.
    for (int i = 0; i < 200; ++i) {
      const u64 a = rng() % q, w = rng() % q;
      CHECK(mul_shoup(a, w, shoup_precompute(w, q), q) == ntl_mulmod(a, w, q));
    }
  }
}

TEST_CASE("math/modarith: pow_mod and inv_mod match NTL::PowerMod and NTL::InvMod") {
  std::mt19937_64 rng(0x5eed0005);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    const Modulus m(q);
    // Exponent edge cases.
    CHECK(pow_mod(0, 0, m) == 1);
    CHECK(pow_mod(q - 1, 0, m) == 1);
    CHECK(pow_mod(0, 5, m) == 0);
    CHECK(pow_mod(q - 1, 2, m) == 1);
    CHECK(pow_mod(q - 1, 3, m) == q - 1);
    for (u64 a : edge_values(q)) {
      if (a != 0) CHECK(pow_mod(a, q - 1, m) == 1);  // Fermat
      for (u64 e : {u64(1), u64(2), q - 2, q, std::numeric_limits<u64>::max()})
        CHECK(zz(pow_mod(a, e, m)) == NTL::PowerMod(zz(a), zz(e), zz(q)));
    }
    // pow_mod reduces a base that is not below q.
    CHECK(pow_mod(q + 3, 5, m) == to_u64(NTL::PowerMod(zz(3), 5, zz(q))));
    for (int i = 0; i < 200; ++i) {
      const u64 a = rng() % q, e = rng() >> (rng() % 64);
      CHECK(zz(pow_mod(a, e, m)) == NTL::PowerMod(zz(a), zz(e), zz(q)));
    }
    // inv_mod.
    std::vector<u64> as = edge_values(q);
    for (int i = 0; i < 200; ++i) as.push_back(rng() % q);
    for (u64 a : as) {
      if (a == 0) continue;
      const u64 inv = inv_mod(a, m);
      CHECK(inv < q);
      CHECK(zz(inv) == NTL::InvMod(zz(a), zz(q)));
      CHECK(mul_mod(a, inv, m) == 1);
    }
  }
}

TEST_CASE("math/modarith: from_signed reduces any int64 into [0, q)") {
  std::mt19937_64 rng(0x5eed0006);
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (u64 q : test_primes()) {
    CAPTURE(q);
    const Modulus m(q);
    const auto sq = static_cast<std::int64_t>(q);
    std::vector<std::int64_t> xs{0, 1, -1, 2, -2, sq - 1, -(sq - 1), sq, -sq, sq + 1, -sq - 1,
                                 2 * sq, -2 * sq, kMin, kMin + 1, kMax, kMax - 1};
    for (int i = 0; i < 3000; ++i) xs.push_back(static_cast<std::int64_t>(rng()) >> (rng() % 64));
    for (std::int64_t x : xs) {
      CAPTURE(x);
      NTL::ZZ expect = test_util::zz_signed(x) % zz(q);  // NTL's % takes the sign of the divisor
      CHECK(zz(from_signed(x, m)) == expect);
    }
    CHECK(from_signed(-1, m) == q - 1);
  }
}

TEST_CASE("math/modarith: centre returns the representative in (-q/2, q/2]") {
  std::mt19937_64 rng(0x5eed0007);
  for (u64 q : test_primes()) {
    CAPTURE(q);
    std::vector<u64> as = edge_values(q);
    for (int i = 0; i < 3000; ++i) as.push_back(rng() % q);
    for (u64 a : as) {
      CAPTURE(a);
      const NTL::ZZ expect = 2 * zz(a) > zz(q) ? zz(a) - zz(q) : zz(a);
      const std::int64_t c = centre(a, q);
      CHECK(test_util::zz_signed(c) == expect);
      CHECK(2 * test_util::zz_signed(c) > -zz(q));
      CHECK(2 * test_util::zz_signed(c) <= zz(q));
    }
    // The boundary explicitly (q odd): (q-1)/2 stays positive, (q+1)/2 becomes negative.
    CHECK(centre(q / 2, q) == static_cast<std::int64_t>(q / 2));
    CHECK(centre(q / 2 + 1, q) == -static_cast<std::int64_t>(q / 2));
    CHECK(centre(q - 1, q) == -1);
    CHECK(centre(0, q) == 0);
  }
  // An even modulus (centre is a generic helper): q/2 itself stays positive.
  CHECK(centre(5, 10) == 5);
  CHECK(centre(6, 10) == -4);
}

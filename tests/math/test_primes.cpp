// ckks/math/primes.h: NTT-friendly prime generation and primitive 2N-th roots, checked with NTL.
#include <NTL/ZZ.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::zz;
using u64 = std::uint64_t;

namespace {

bool ntl_prime(u64 q) { return NTL::ProbPrime(zz(q), 40); }

/// All primes q ≡ 1 mod 2N with 2^(bits-1) < q < 2^bits, in decreasing order, at most `limit`.
std::vector<u64> reference_primes(int bits, u64 N, std::size_t limit) {
  std::vector<u64> out;
  const u64 two_n = 2 * N, lower = u64(1) << (bits - 1), upper = u64(1) << bits;
  // Largest value < 2^bits that is ≡ 1 mod 2N.
  u64 q = (upper - 1) / two_n * two_n + 1;
  if (q >= upper) q -= two_n;
  for (; q > lower && out.size() < limit; q -= two_n) {
    if (ntl_prime(q)) out.push_back(q);
    if (q < two_n) break;
  }
  return out;
}

struct GenCase {
  int bits;
  std::size_t count;
  u64 N;
};

}  // namespace

TEST_CASE("math/primes: generate_ntt_primes returns the first `count` NTT-friendly primes below 2^bits") {
  const GenCase cases[] = {{20, 5, 1024}, {25, 3, 1},       {30, 4, 4096},     {36, 3, 2},
                           {40, 3, 8192}, {50, 3, 1 << 15}, {55, 2, 1 << 16},  {60, 6, 1 << 16},
                           {61, 4, 1 << 16}, {61, 3, 1 << 17}};
  for (const auto& c : cases) {
    CAPTURE(c.bits);
    CAPTURE(c.count);
    CAPTURE(c.N);
    const auto ps = generate_ntt_primes(c.bits, c.count, c.N);
    REQUIRE(ps.size() == c.count);
    CHECK(std::set<u64>(ps.begin(), ps.end()).size() == c.count);  // distinct
    for (u64 q : ps) {
      CAPTURE(q);
      CHECK(q > (u64(1) << (c.bits - 1)));  // exactly `bits` bits
      CHECK(q < (u64(1) << c.bits));
      CHECK(NTL::NumBits(zz(q)) == c.bits);
      CHECK(q % (2 * c.N) == 1);
      CHECK(ntl_prime(q));
      CHECK(is_prime(q));
    }
    // The documented search order: downward from 2^bits, none skipped.
    CHECK(ps == reference_primes(c.bits, c.N, c.count));
  }
}

TEST_CASE("math/primes: generate_ntt_primes skips the primes in `exclude`") {
  const u64 N = 1 << 12;
  const auto all = generate_ntt_primes(45, 6, N);
  REQUIRE(all.size() == 6);
  // Excluding the 1st and 3rd: the 2nd, 4th, 5th, 6th remain, in order.
  const auto got = generate_ntt_primes(45, 4, N, {all[0], all[2]});
  CHECK(got == std::vector<u64>{all[1], all[3], all[4], all[5]});
  // A chain of calls that excludes all previous primes never repeats one.
  std::vector<u64> used;
  for (int round = 0; round < 3; ++round) {
    const auto more = generate_ntt_primes(45, 2, N, used);
    for (u64 q : more) CHECK(std::find(used.begin(), used.end(), q) == used.end());
    used.insert(used.end(), more.begin(), more.end());
  }
  CHECK(used == all);
  // Values in `exclude` that are not candidates change nothing.
  CHECK(generate_ntt_primes(45, 3, N, {2, 3, 12345, all[0] + 2}) ==
        std::vector<u64>{all[0], all[1], all[2]});
  // Excluding across a different bit size changes nothing either.
  CHECK(generate_ntt_primes(45, 2, N, generate_ntt_primes(50, 3, N)) ==
        std::vector<u64>{all[0], all[1]});
}

TEST_CASE("math/primes: generate_ntt_primes rejects bad bit sizes, ring degrees and counts") {
  for (int bits : {-1, 0, 1, 19, 62, 63, 64, 100}) {
    CAPTURE(bits);
    CHECK_THROWS_AS(generate_ntt_primes(bits, 1, 1024), ckks::ParameterError);
  }
  CHECK_NOTHROW(generate_ntt_primes(20, 1, 1024));
  CHECK_NOTHROW(generate_ntt_primes(61, 1, 1024));
  for (u64 N : {u64(0), u64(3), u64(6), u64(1000), u64(1023), u64(1025), (u64(1) << 20) + 1}) {
    CAPTURE(N);
    CHECK_THROWS_AS(generate_ntt_primes(40, 1, N), ckks::ParameterError);
  }
  // Impossible counts: with N = 2^16 and 20 bits there are only 4 candidates k·2^17 + 1, k = 4..7.
  const u64 N = 1 << 16;
  const auto avail = reference_primes(20, N, 100);
  CHECK(avail.size() < 4);
  CHECK(generate_ntt_primes(20, avail.size(), N) == avail);
  CHECK_THROWS_AS(generate_ntt_primes(20, avail.size() + 1, N), ckks::ParameterError);
  // Asking for one more 30-bit prime ≡ 1 mod 2^17 than exist (all 4096 candidates searched).
  const auto avail30 = reference_primes(30, 1 << 16, 1 << 20);
  CHECK(avail30.size() > 10);
  CHECK(generate_ntt_primes(30, avail30.size(), 1 << 16) == avail30);
  CHECK_THROWS_AS(generate_ntt_primes(30, avail30.size() + 1, 1 << 16), ckks::ParameterError);
  // ... or excluding enough of them makes the count impossible.
  CHECK_THROWS_AS(generate_ntt_primes(20, 1, N, avail), ckks::ParameterError);
  // 2N ≥ 2^bits: no candidate at all in (2^(bits-1), 2^bits).
  CHECK_THROWS_AS(generate_ntt_primes(20, 1, u64(1) << 19), ckks::ParameterError);
}

TEST_CASE("math/primes: generate_ntt_primes with 2N > 2^bits throws rather than returning out-of-range values") {
  // 2N = 2^21 > 2^20: no 20-bit value is ≡ 1 mod 2N. The result must be an error, or at least
  // never a value that violates the documented contract.
  for (const auto& [bits, N] : {std::pair<int, u64>{20, u64(1) << 20}, {20, u64(1) << 22}, {30, u64(1) << 30}}) {
    CAPTURE(bits);
    CAPTURE(N);
    std::vector<u64> ps;
    bool threw = false;
    try {
      ps = generate_ntt_primes(bits, 1, N);
    } catch (const ckks::ParameterError&) {
      threw = true;
    }
    CHECK(threw);
    for (u64 q : ps) {
      CAPTURE(q);
      CHECK(q < (u64(1) << bits));
      CHECK(q % (2 * N) == 1);
    }
  }
}

TEST_CASE("math/primes: is_prime agrees with NTL on small numbers, Carmichael numbers and big primes") {
  for (u64 n = 0; n < 3000; ++n) {
    bool trial = n >= 2;
    for (u64 d = 2; d * d <= n && trial; ++d) trial = n % d != 0;
    if (is_prime(n) != trial) {
      CAPTURE(n);
      CHECK(is_prime(n) == trial);
    }
  }
  for (u64 c : {u64(561), u64(1105), u64(1729), u64(41041), u64(825265), u64(3215031751)})
    CHECK_FALSE(is_prime(c));  // Carmichael numbers / strong pseudoprimes to small bases
  CHECK(is_prime((u64(1) << 61) - 1));
  CHECK_FALSE(is_prime((u64(1) << 61) + 1));
  CHECK_FALSE(is_prime(u64(4294967291) * 4294967279ull));  // product of two 32-bit primes
  CHECK(is_prime(18446744073709551557ull));                // largest 64-bit prime
}

TEST_CASE("math/primes: primitive_root_2n gives psi^N = -1 and psi^(2N) = 1") {
  struct Case { int bits; u64 N; };
  for (const auto& c : {Case{20, 2}, Case{20, 1024}, Case{30, 4096}, Case{40, 1 << 13},
                        Case{50, 1 << 15}, Case{60, 1 << 16}, Case{61, 1 << 16}, Case{61, 1}}) {
    for (u64 q : generate_ntt_primes(c.bits, 2, c.N)) {
      CAPTURE(q);
      CAPTURE(c.N);
      const u64 psi = primitive_root_2n(q, c.N);
      CHECK(psi > 1);
      CHECK(psi < q);
      CHECK(NTL::PowerMod(zz(psi), zz(c.N), zz(q)) == zz(q - 1));
      CHECK(NTL::PowerMod(zz(psi), zz(2 * c.N), zz(q)) == 1);
      CHECK(primitive_root_2n(q, c.N) == psi);  // deterministic
    }
  }
}

TEST_CASE("math/primes: primitive_root_2n rejects q that is not a prime ≡ 1 mod 2N") {
  const u64 N = 1024;
  const u64 q = generate_ntt_primes(40, 1, N)[0];
  // Prime, but ≢ 1 mod 2N.
  CHECK_THROWS_AS(primitive_root_2n((u64(1) << 61) - 1, N), ckks::ParameterError);
  // Find a prime q' ≡ 1 mod 2N but ≢ 1 mod 4N: fine for N, rejected for 2N.
  u64 q2 = 0;
  for (u64 p : generate_ntt_primes(40, 20, N))
    if (p % (4 * N) != 1) { q2 = p; break; }
  REQUIRE(q2 != 0);
  CHECK_NOTHROW(primitive_root_2n(q2, N));
  CHECK_THROWS_AS(primitive_root_2n(q2, 2 * N), ckks::ParameterError);
  // Composite q ≡ 1 mod 2N.
  u64 comp = q + 2 * N;
  while (ntl_prime(comp)) comp += 2 * N;
  CHECK_THROWS_AS(primitive_root_2n(comp, N), ckks::ParameterError);
  CHECK_THROWS_AS(primitive_root_2n(1, N), ckks::ParameterError);
  CHECK_THROWS_AS(primitive_root_2n(0, N), ckks::ParameterError);
  // N not a power of two.
  CHECK_THROWS_AS(primitive_root_2n(q, 1000), ckks::ParameterError);
  CHECK_THROWS_AS(primitive_root_2n(q, 0), ckks::ParameterError);
}

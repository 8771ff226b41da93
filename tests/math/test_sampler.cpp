// ckks/math/sampler.h: the ChaCha20 CSPRNG wrapper and the CKKS samplers. Statistical bounds are
// loose (≥ 5 standard deviations) and the seeds fixed, so the outcomes are deterministic.
#include <NTL/ZZ.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"
#include "ckks/math/sampler.h"
#include "test_util.h"

using namespace ckks::math;
using test_util::OwnedBasis;
using test_util::zz;

namespace {

std::vector<u64> stream(Csprng& r, std::size_t n) {
  std::vector<u64> v(n);
  for (auto& x : v) x = r.next_u64();
  return v;
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
double chi_square(const std::vector<double>& observed, const std::vector<double>& probs) {
  double total = 0;
  for (double o : observed) total += o;
  double chi = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double e = total * probs[i];
    chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

/// A prime q ≡ 1 mod 2N near 1.5·2^(bits−1): with the power-of-two-mask rejection sampler roughly
/// a quarter of the masked draws are rejected, and a modulo-reduction shortcut would be visibly biased.
u64 prime_near_three_halves(int bits, u64 N) {
  u64 q = (u64(3) << (bits - 2)) / (2 * N) * (2 * N) + 1;
  while (!NTL::ProbPrime(zz(q), 40)) q += 2 * N;
  return q;
}

}  // namespace

TEST_CASE("math/sampler: insecure_fixed_seed_for_testing is deterministic and seed-dependent") {
  auto a = Csprng::insecure_fixed_seed_for_testing(42);
  auto b = Csprng::insecure_fixed_seed_for_testing(42);
  const auto sa = stream(a, 1000), sb = stream(b, 1000);  // crosses several 512-byte refills
  CHECK(sa == sb);
  // Different seeds differ, including seeds that differ only in the top or bottom byte.
  for (u64 other : {u64(43), u64(0), u64(42) | (u64(1) << 56), ~u64(0)}) {
    CAPTURE(other);
    auto c = Csprng::insecure_fixed_seed_for_testing(other);
    CHECK(stream(c, 1000) != sa);
  }
  // Not a constant or trivially structured stream.
  CHECK(std::set<u64>(sa.begin(), sa.end()).size() == sa.size());
  // Seed 0 is a valid seed and deterministic too.
  auto z1 = Csprng::insecure_fixed_seed_for_testing(0), z2 = Csprng::insecure_fixed_seed_for_testing(0);
  CHECK(stream(z1, 100) == stream(z2, 100));
}

TEST_CASE("math/sampler: fill and next_u64 read one byte stream regardless of chunking") {
  auto a = Csprng::insecure_fixed_seed_for_testing(7);
  std::vector<std::uint8_t> whole(3000);
  a.fill(whole.data(), whole.size());
  auto b = Csprng::insecure_fixed_seed_for_testing(7);
  std::vector<std::uint8_t> pieces;
  std::mt19937_64 rng(0x5eed4001);
  while (pieces.size() < whole.size()) {
    const std::size_t take = std::min<std::size_t>(rng() % 700, whole.size() - pieces.size());
    std::vector<std::uint8_t> chunk(take + 1, 0xEE);
    b.fill(chunk.data(), take);  // take may be 0
    CHECK(chunk[take] == 0xEE);  // never writes past the requested length
    pieces.insert(pieces.end(), chunk.begin(), chunk.begin() + static_cast<long>(take));
  }
  CHECK(pieces == whole);
  // next_u64 consumes 8 bytes of the same stream.
  auto c = Csprng::insecure_fixed_seed_for_testing(7);
  for (std::size_t i = 0; i < 375; ++i) {
    std::uint64_t expect;
    std::memcpy(&expect, whole.data() + 8 * i, 8);
    if (c.next_u64() != expect) {
      CAPTURE(i);
      CHECK(false);
      break;
    }
  }
}

TEST_CASE("math/sampler: from_key, new_key, moves and the OS-seeded constructor") {
  std::array<std::uint8_t, 32> key{};
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(i * 37 + 1);
  auto a = Csprng::from_key(key), b = Csprng::from_key(key);
  const auto sa = stream(a, 300);
  CHECK(sa == stream(b, 300));
  // One flipped bit anywhere in the key changes the stream.
  for (int byte : {0, 15, 31}) {
    auto k2 = key;
    k2[byte] ^= 0x10;
    auto c = Csprng::from_key(k2);
    CHECK(stream(c, 300) != sa);
  }
  // Domain separation: the test seed is not the key (seed bytes, zeros).
  std::array<std::uint8_t, 32> seed_key{};
  seed_key[0] = 42;
  auto d = Csprng::from_key(seed_key);
  auto e = Csprng::insecure_fixed_seed_for_testing(42);
  CHECK(stream(d, 50) != stream(e, 50));

  // new_key: deterministic given the parent's state, fresh on each call, keys a different stream.
  auto p1 = Csprng::insecure_fixed_seed_for_testing(9), p2 = Csprng::insecure_fixed_seed_for_testing(9);
  const auto k1 = p1.new_key(), k1b = p1.new_key();
  CHECK(k1 == p2.new_key());
  CHECK(k1 != k1b);
  auto child = Csprng::from_key(k1);
  auto parent_ref = Csprng::insecure_fixed_seed_for_testing(9);
  CHECK(stream(child, 50) != stream(parent_ref, 50));

  // A moved-to generator continues the stream where the source left off.
  auto src = Csprng::insecure_fixed_seed_for_testing(11);
  auto ref = Csprng::insecure_fixed_seed_for_testing(11);
  const auto head = stream(src, 10);
  CHECK(head == stream(ref, 10));
  Csprng moved(std::move(src));
  CHECK(stream(moved, 100) == stream(ref, 100));
  auto assigned = Csprng::insecure_fixed_seed_for_testing(12);
  assigned = std::move(moved);
  CHECK(stream(assigned, 100) == stream(ref, 100));

  // Two OS-seeded generators differ (probability of a collision: 2^-6400).
  Csprng os1, os2;
  CHECK(stream(os1, 100) != stream(os2, 100));
}

TEST_CASE("math/sampler: uniform_below stays in range and is roughly uniform (chi-square)") {
  auto r = Csprng::insecure_fixed_seed_for_testing(100);
  CHECK(r.uniform_below(1) == 0);
  for (u64 bound : {u64(1), u64(2), u64(3), u64(7), u64(10), (u64(1) << 32) + 1, u64(1) << 63,
                    (u64(1) << 63) + 1, u64(3) << 62, ~u64(0), (u64(1) << 61) - 1}) {
    CAPTURE(bound);
    bool in_range = true;
    for (int i = 0; i < 2000; ++i) in_range = in_range && r.uniform_below(bound) < bound;
    CHECK(in_range);
  }
  // Ten outcomes, 20000 draws: chi-square with 9 degrees of freedom (99.999% quantile ≈ 37).
  {
    std::vector<double> counts(10, 0);
    for (int i = 0; i < 20000; ++i) counts[r.uniform_below(10)] += 1;
    CHECK(chi_square(counts, std::vector<double>(10, 0.1)) < 40);
  }
  // bound = 3·2^62, three equal thirds: x mod bound without rejection would put half the mass in
  // the first third.
  {
    const u64 bound = u64(3) << 62;
    std::vector<double> counts(3, 0);
    for (int i = 0; i < 30000; ++i) counts[r.uniform_below(bound) >> 62] += 1;
    CHECK(chi_square(counts, std::vector<double>(3, 1.0 / 3)) < 25);
  }
  // Small bound 3 (the ternary case), exact frequencies.
  {
    std::vector<double> counts(3, 0);
    for (int i = 0; i < 30000; ++i) counts[r.uniform_below(3)] += 1;
    CHECK(chi_square(counts, std::vector<double>(3, 1.0 / 3)) < 25);
  }
}

TEST_CASE("math/sampler: sample_uniform gives values below q per limb, uniformly") {
  const u64 N = 4096;
  std::vector<u64> qs = generate_ntt_primes(61, 1, N);
  qs.push_back(prime_near_three_halves(41, N));
  qs.push_back(generate_ntt_primes(30, 1, N)[0]);
  const OwnedBasis ob(qs, N);
  auto r = Csprng::insecure_fixed_seed_for_testing(200);
  for (bool ntt : {false, true}) {
    const RnsPoly a = sample_uniform(r, N, ob.basis, ntt);
    CHECK(a.n() == N);
    CHECK(a.limbs() == qs.size());
    CHECK(a.is_ntt() == ntt);
    for (std::size_t i = 0; i < qs.size(); ++i) {
      CAPTURE(qs[i]);
      const std::uint64_t* x = a.limb(i);
      CHECK(std::all_of(x, x + N, [&](u64 v) { return v < qs[i]; }));
      // 16 equal bins of [0, q): chi-square with 15 degrees of freedom (99.999% quantile ≈ 46).
      std::vector<double> counts(16, 0);
      for (std::size_t c = 0; c < N; ++c)
        counts[static_cast<std::size_t>(static_cast<test_util::u128>(x[c]) * 16 / qs[i])] += 1;
      CHECK(chi_square(counts, std::vector<double>(16, 1.0 / 16)) < 50);
    }
  }
  // Deterministic for a fixed seed, different for another.
  auto r1 = Csprng::insecure_fixed_seed_for_testing(201), r2 = Csprng::insecure_fixed_seed_for_testing(201),
       r3 = Csprng::insecure_fixed_seed_for_testing(202);
  const auto a1 = sample_uniform(r1, 64, ob.basis, false);
  CHECK(a1 == sample_uniform(r2, 64, ob.basis, false));
  CHECK_FALSE(a1 == sample_uniform(r3, 64, ob.basis, false));
}

TEST_CASE("math/sampler: sample_ternary is uniform over {-1, 0, 1}") {
  auto r = Csprng::insecure_fixed_seed_for_testing(300);
  const std::size_t N = 1 << 14;
  const auto s = sample_ternary(r, N);
  REQUIRE(s.size() == N);
  std::vector<double> counts(3, 0);
  bool in_set = true;
  for (auto x : s) {
    in_set = in_set && (x == -1 || x == 0 || x == 1);
    if (x >= -1 && x <= 1) counts[static_cast<std::size_t>(x + 1)] += 1;
  }
  CHECK(in_set);
  for (double c : counts) {  // standard deviation of a frequency: sqrt(2/9/N) ≈ 0.0037
    CHECK(c / N > 1.0 / 3 - 0.02);
    CHECK(c / N < 1.0 / 3 + 0.02);
  }
  // Adjacent coefficients are not correlated: the 9 pairs (s[2i], s[2i+1]) are equally frequent.
  std::vector<double> pairs(9, 0);
  for (std::size_t i = 0; i + 1 < N; i += 2) pairs[static_cast<std::size_t>((s[i] + 1) * 3 + (s[i + 1] + 1))] += 1;
  CHECK(chi_square(pairs, std::vector<double>(9, 1.0 / 9)) < 40);
  auto r2 = Csprng::insecure_fixed_seed_for_testing(300);
  CHECK(sample_ternary(r2, N) == s);
  CHECK(sample_ternary(r, 0).empty());
}

TEST_CASE("math/sampler: sample_ternary_hamming has exactly h entries of +-1") {
  auto r = Csprng::insecure_fixed_seed_for_testing(400);
  const std::size_t N = 1024;
  for (std::size_t h : {std::size_t(0), std::size_t(1), std::size_t(64), std::size_t(192), std::size_t(512),
                        N - 1, N}) {
    CAPTURE(h);
    const auto s = sample_ternary_hamming(r, N, h);
    REQUIRE(s.size() == N);
    std::size_t nonzero = 0;
    bool ok = true;
    for (auto x : s) {
      ok = ok && (x == -1 || x == 0 || x == 1);
      nonzero += x != 0;
    }
    CHECK(ok);
    CHECK(nonzero == h);
  }
  CHECK_THROWS_AS(sample_ternary_hamming(r, N, N + 1), ckks::ParameterError);
  CHECK_THROWS_AS(sample_ternary_hamming(r, 0, 1), ckks::ParameterError);
  CHECK(sample_ternary_hamming(r, 0, 0).empty());
  // Signs are balanced (h = N = 2^14: sd of the +1 count is 64).
  {
    const std::size_t n = 1 << 14;
    const auto s = sample_ternary_hamming(r, n, n);
    const auto plus = std::count(s.begin(), s.end(), 1);
    CHECK(std::abs(static_cast<double>(plus) - n / 2.0) < 5 * 64);
  }
  // Positions are uniform: N = 16, h = 4, 4000 draws: each position is hit 1000 ± 27 times.
  {
    std::vector<int> hits(16, 0);
    for (int t = 0; t < 4000; ++t) {
      const auto s = sample_ternary_hamming(r, 16, 4);
      for (std::size_t i = 0; i < 16; ++i) hits[i] += s[i] != 0;
    }
    for (int h : hits) {
      CHECK(h > 1000 - 150);
      CHECK(h < 1000 + 150);
    }
  }
  // Deterministic for a fixed seed.
  auto a = Csprng::insecure_fixed_seed_for_testing(401), b = Csprng::insecure_fixed_seed_for_testing(401);
  CHECK(sample_ternary_hamming(a, N, 64) == sample_ternary_hamming(b, N, 64));
}

TEST_CASE("math/sampler: sample_gaussian is the discrete Gaussian with sigma 3.2, cut at 6 sigma") {
  auto r = Csprng::insecure_fixed_seed_for_testing(500);
  const std::size_t n = 1 << 16;
  const double sigma = 3.2;
  const auto e = sample_gaussian(r, n);  // default sigma = 3.2
  REQUIRE(e.size() == n);
  std::int64_t max_abs = 0;
  double sum = 0, sum_sq = 0;
  for (auto x : e) {
    max_abs = std::max<std::int64_t>(max_abs, x < 0 ? -x : x);
    sum += static_cast<double>(x);
    sum_sq += static_cast<double>(x) * static_cast<double>(x);
  }
  const double mean = sum / n, sd = std::sqrt(sum_sq / n - mean * mean);
  CHECK(max_abs <= 19);  // 6σ = 19.2
  CHECK(max_abs >= 10);  // the tail is there: P(|x| ≥ 10) ≈ 2e-3, ~120 expected
  CHECK(std::abs(mean) < 0.06);  // standard error 3.2/256 = 0.0125
  CHECK(sd > sigma - 0.1);
  CHECK(sd < sigma + 0.1);
  // Chi-square against the exact probabilities ρ(k) ∝ exp(−k²/2σ²), |k| ≤ 19: bins −9..9 and the
  // two pooled tails, 20 degrees of freedom (99.999% quantile ≈ 55).
  std::vector<double> probs(21, 0), counts(21, 0);
  double total = 0;
  auto bin = [](std::int64_t k) -> std::size_t { return static_cast<std::size_t>(std::clamp<std::int64_t>(k, -10, 10) + 10); };
  for (std::int64_t k = -19; k <= 19; ++k) {
    const double w = std::exp(-static_cast<double>(k * k) / (2 * sigma * sigma));
    probs[bin(k)] += w;
    total += w;
  }
  for (auto& p : probs) p /= total;
  for (auto x : e) counts[bin(x)] += 1;
  CHECK(chi_square(counts, probs) < 60);

  // Another width: σ = 1 is cut at 6.
  const auto f = sample_gaussian(r, n, 1.0);
  double s2 = 0;
  bool within = true;
  for (auto x : f) {
    within = within && x >= -6 && x <= 6;
    s2 += static_cast<double>(x * x);
  }
  CHECK(within);
  CHECK(std::sqrt(s2 / n) == doctest::Approx(1.0).epsilon(0.05));
  // Deterministic for a fixed seed.
  auto a = Csprng::insecure_fixed_seed_for_testing(501), b = Csprng::insecure_fixed_seed_for_testing(501);
  CHECK(sample_gaussian(a, 256) == sample_gaussian(b, 256));
}

TEST_CASE("math/sampler: from_signed_coeffs maps signed coefficients to residues per limb") {
  const u64 N = 64;
  std::vector<u64> qs{generate_ntt_primes(61, 1, N)[0], generate_ntt_primes(40, 1, N)[0],
                      generate_ntt_primes(20, 1, N)[0]};
  const OwnedBasis ob(qs, N);
  std::mt19937_64 rng(0x5eed4002);
  std::vector<std::int64_t> coeffs(N);
  for (auto& c : coeffs) c = static_cast<std::int64_t>(rng()) >> (rng() % 64);
  coeffs[0] = -1;
  coeffs[1] = 0;
  coeffs[2] = 1;
  coeffs[3] = std::numeric_limits<std::int64_t>::min();
  coeffs[4] = std::numeric_limits<std::int64_t>::max();
  coeffs[5] = -static_cast<std::int64_t>(qs[2]);
  coeffs[6] = static_cast<std::int64_t>(qs[0]);
  const RnsPoly a = from_signed_coeffs(coeffs, ob.basis);
  CHECK(a.n() == N);
  CHECK(a.limbs() == qs.size());
  CHECK_FALSE(a.is_ntt());
  for (std::size_t i = 0; i < qs.size(); ++i) {
    CAPTURE(qs[i]);
    CHECK(a.limb(i)[0] == qs[i] - 1);  // −1 ↦ q − 1
    CHECK(a.limb(i)[1] == 0);
    CHECK(a.limb(i)[2] == 1);
    long bad = 0;
    for (std::size_t c = 0; c < N; ++c)
      bad += zz(a.limb(i)[c]) != test_util::zz_signed(coeffs[c]) % zz(qs[i]);
    CHECK(bad == 0);
  }
  // Samplers feed it directly: ternary secrets become {q−1, 0, 1}.
  auto r = Csprng::insecure_fixed_seed_for_testing(600);
  const auto s = sample_ternary(r, N);
  const RnsPoly sp = from_signed_coeffs(s, ob.basis);
  bool ok = true;
  for (std::size_t i = 0; i < qs.size(); ++i)
    for (std::size_t c = 0; c < N; ++c)
      ok = ok && sp.limb(i)[c] == (s[c] < 0 ? qs[i] - 1 : static_cast<u64>(s[c]));
  CHECK(ok);
}

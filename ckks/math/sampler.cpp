#include "ckks/math/sampler.h"

#include <NTL/ZZ.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "ckks/math/errors.h"

namespace ckks::math {

Csprng::Csprng(const std::array<std::uint8_t, 32>& key)
    : stream_(std::make_unique<NTL::RandomStream>(key.data())) {}

Csprng::Csprng() {
  std::array<std::uint8_t, 32> key{};
  std::size_t got = 0;
  while (got < key.size()) {
    const ssize_t r = getrandom(key.data() + got, key.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("Csprng: getrandom failed: ") + std::strerror(errno) +
                  "; the operating system must provide randomness");
    }
    got += static_cast<std::size_t>(r);
  }
  stream_ = std::make_unique<NTL::RandomStream>(key.data());
  key.fill(0);
}

Csprng Csprng::insecure_fixed_seed_for_testing(std::uint64_t seed) {
  std::array<std::uint8_t, 32> key{};
  for (int i = 0; i < 8; ++i) key[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  key[31] = 0xA5;  // domain separation from from_key(all-zero-but-seed)
  return Csprng(key);
}

Csprng Csprng::from_key(const std::array<std::uint8_t, 32>& key) { return Csprng(key); }

Csprng::~Csprng() = default;
Csprng::Csprng(Csprng&&) noexcept = default;
Csprng& Csprng::operator=(Csprng&&) noexcept = default;

void Csprng::fill(std::uint8_t* out, std::size_t bytes) {
  while (bytes > 0) {
    if (pos_ == buf_.size()) {
      stream_->get(buf_.data(), static_cast<long>(buf_.size()));
      pos_ = 0;
    }
    const std::size_t take = std::min(bytes, buf_.size() - pos_);
    std::memcpy(out, buf_.data() + pos_, take);
    pos_ += take;
    out += take;
    bytes -= take;
  }
}

std::uint64_t Csprng::next_u64() {
  std::uint64_t x;
  fill(reinterpret_cast<std::uint8_t*>(&x), sizeof x);
  return x;
}

std::uint64_t Csprng::uniform_below(std::uint64_t bound) {
  // Accept x < the largest multiple of bound that fits in 2^64, then reduce.
  const std::uint64_t limit = bound * (~std::uint64_t(0) / bound);
  std::uint64_t x;
  do x = next_u64(); while (x >= limit);
  return x % bound;
}

std::array<std::uint8_t, 32> Csprng::new_key() {
  std::array<std::uint8_t, 32> k{};
  fill(k.data(), k.size());
  return k;
}

RnsPoly sample_uniform(Csprng& rng, std::size_t N, const RnsBasis& basis, bool ntt_form) {
  RnsPoly a(N, basis.size(), ntt_form);
  for (std::size_t i = 0; i < basis.size(); ++i) {
    const std::uint64_t q = basis[i]->value();
    // Rejection on the smallest power-of-two mask ≥ q: accepts with probability > 1/2.
    int bits = 64 - __builtin_clzll(q);
    const std::uint64_t mask = bits == 64 ? ~0ull : ((1ull << bits) - 1);
    std::uint64_t* x = a.limb(i);
    for (std::size_t c = 0; c < N; ++c) {
      std::uint64_t v;
      do v = rng.next_u64() & mask; while (v >= q);
      x[c] = v;
    }
  }
  return a;
}

std::vector<std::int64_t> sample_ternary(Csprng& rng, std::size_t N) {
  std::vector<std::int64_t> s(N);
  for (std::size_t c = 0; c < N; ++c) {
    std::uint8_t b;
    do rng.fill(&b, 1); while (b >= 255);  // 255 = 3·85: uniform over {0,1,2} after % 3
    s[c] = static_cast<std::int64_t>(b % 3) - 1;
  }
  return s;
}

std::vector<std::int64_t> sample_ternary_hamming(Csprng& rng, std::size_t N, std::size_t h) {
  if (h > N)
    throw ParameterError("sample_ternary_hamming: Hamming weight h = " + std::to_string(h) +
                         " exceeds N = " + std::to_string(N) + "; choose h ≤ N");
  // Partial Fisher–Yates: the first h entries of a uniform permutation are the support.
  std::vector<std::size_t> idx(N);
  for (std::size_t i = 0; i < N; ++i) idx[i] = i;
  std::vector<std::int64_t> s(N, 0);
  for (std::size_t i = 0; i < h; ++i) {
    const std::size_t j = i + rng.uniform_below(N - i);
    std::swap(idx[i], idx[j]);
    s[idx[i]] = (rng.next_u64() & 1) ? 1 : -1;
  }
  return s;
}

std::vector<std::int64_t> sample_gaussian(Csprng& rng, std::size_t N, double sigma) {
  // Cumulative distribution table of |x| for the discrete Gaussian ρ(x) ∝ exp(-x²/2σ²), |x| ≤ 6σ,
  // as 64-bit fixed-point thresholds; then a random sign (x = 0 counted once).
  const int bound = static_cast<int>(std::floor(6 * sigma));
  std::vector<long double> w(bound + 1);
  long double total = 0;
  for (int k = 0; k <= bound; ++k) {
    w[k] = std::exp(-static_cast<long double>(k) * k / (2.0L * sigma * sigma)) * (k == 0 ? 1 : 2);
    total += w[k];
  }
  std::vector<std::uint64_t> cdt(bound + 1);
  long double acc = 0;
  for (int k = 0; k <= bound; ++k) {
    acc += w[k] / total;
    const long double t = acc * 18446744073709551616.0L;
    cdt[k] = t >= 18446744073709551615.0L ? ~0ull : static_cast<std::uint64_t>(t);
  }
  cdt[bound] = ~0ull;
  std::vector<std::int64_t> e(N);
  for (std::size_t c = 0; c < N; ++c) {
    const std::uint64_t u = rng.next_u64();
    int k = 0;
    while (k < bound && u >= cdt[k]) ++k;
    const bool neg = rng.next_u64() & 1;
    e[c] = neg ? -k : k;
  }
  return e;
}

RnsPoly from_signed_coeffs(const std::vector<std::int64_t>& coeffs, const RnsBasis& basis) {
  const std::size_t N = coeffs.size();
  RnsPoly a(N, basis.size(), false);
  std::uint64_t max_abs = 0;
  for (const std::int64_t v : coeffs)
    max_abs = std::max(max_abs, v < 0 ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v));
  for (std::size_t i = 0; i < basis.size(); ++i) {
    const Modulus& m = basis[i]->mod;
    std::uint64_t* x = a.limb(i);
    if (max_abs < m.q) {
      // Small coefficients (the usual case: |v| ≤ 6σ or 1): v, or v + q for negative v, branch-free.
      for (std::size_t c = 0; c < N; ++c) {
        const std::int64_t v = coeffs[c];
        x[c] = static_cast<std::uint64_t>(v) + (m.q & (0 - static_cast<std::uint64_t>(v < 0)));
      }
    } else {
      for (std::size_t c = 0; c < N; ++c) x[c] = from_signed(coeffs[c], m);
    }
  }
  return a;
}

}  // namespace ckks::math

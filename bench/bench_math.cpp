// bench_math: Google Benchmark programs for the ckks::math layer (single thread).
//
//   NTT/forward/logN=15/bits=40    one limb (N words) through NttTables::forward, a 40-bit prime
//   NTT/inverse/logN=15/bits=60    the same through NttTables::inverse, a 60-bit prime
//   RnsPoly/mul/logN=15            one limb, coefficient-wise product (Barrett), RnsPoly mul_inplace
//   RnsPoly/automorphism/logN=15   one limb, evaluation-form Galois permutation (X ↦ X^5)
//   BaseConverter/convert/logN=15/from=1/to=8   fast base conversion [CHKKS18, Conv]
//   Sampler/{uniform,ternary,gaussian}/logN=15  one limb of randomness
//
// Tables and data are built once per benchmark, outside the timing loop. Names carry the
// parameters so that --benchmark_filter can pick a size, e.g. --benchmark_filter='NTT/.*/logN=15/'.
#include <benchmark/benchmark.h>

#include "bench_main.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ckks/math/ntt.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns.h"
#include "ckks/math/rns_poly.h"
#include "ckks/math/sampler.h"

namespace {

using ckks::math::Prime;
using ckks::math::RnsBasis;
using ckks::math::RnsPoly;

constexpr int kLogNs[] = {13, 14, 15};

// Primes of `bits` bits, NTT-friendly for N = 2^log_n, each with its NTT tables; cached per
// (log_n, bits) so that every benchmark of one size shares them. Grows on demand.
const std::vector<std::unique_ptr<Prime>>& primes(int log_n, int bits, std::size_t count) {
  static std::vector<std::unique_ptr<Prime>> cache[18][62];
  auto& v = cache[log_n][bits];
  if (v.size() < count) {
    const std::uint64_t N = std::uint64_t(1) << log_n;
    const auto q = ckks::math::generate_ntt_primes(bits, count, N);
    for (std::size_t i = v.size(); i < count; ++i) v.push_back(std::make_unique<Prime>(q[i], N));
  }
  return v;
}

// N values uniform in [0, q).
std::vector<std::uint64_t> random_limb(std::size_t N, std::uint64_t q, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<std::uint64_t> d(0, q - 1);
  std::vector<std::uint64_t> v(N);
  for (auto& x : v) x = d(g);
  return v;
}

std::string suffix(int log_n) { return "/logN=" + std::to_string(log_n); }

// Two prime sizes, because the NTT may take a different code path for each (with AVX-512 IFMA,
// primes below 2^50 use 52-bit vector multipliers and 60-bit primes the scalar butterflies):
// bits=40 is a data prime q_1..q_L of the parameter sets, bits=60 is q_0 or the special prime.
void register_ntt() {
  for (int log_n : kLogNs) {
    for (int bits : {40, 60}) {
      const std::string tail = suffix(log_n) + "/bits=" + std::to_string(bits);
      benchmark::RegisterBenchmark(("NTT/forward" + tail).c_str(), [log_n, bits](benchmark::State& st) {
        const Prime& p = *primes(log_n, bits, 1)[0];
        auto a = random_limb(p.ntt.n(), p.value(), 1);
        for (auto _ : st) {
          p.ntt.forward(a.data());  // output stays in [0, q): a valid input for the next round
          benchmark::DoNotOptimize(a.data());
          benchmark::ClobberMemory();
        }
      })->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("NTT/inverse" + tail).c_str(), [log_n, bits](benchmark::State& st) {
        const Prime& p = *primes(log_n, bits, 1)[0];
        auto a = random_limb(p.ntt.n(), p.value(), 2);
        for (auto _ : st) {
          p.ntt.inverse(a.data());
          benchmark::DoNotOptimize(a.data());
          benchmark::ClobberMemory();
        }
      })->Unit(benchmark::kMillisecond);
    }
  }
}

void register_limb_ops() {
  for (int log_n : kLogNs) {
    benchmark::RegisterBenchmark(("RnsPoly/mul" + suffix(log_n)).c_str(), [log_n](benchmark::State& st) {
      const Prime& p = *primes(log_n, 40, 1)[0];
      const RnsBasis basis{&p};
      const std::size_t N = p.ntt.n();
      RnsPoly a(N, 1, true), b(N, 1, true);
      { const auto r = random_limb(N, p.value(), 3); a.data().assign(r.begin(), r.end()); }
      { const auto r = random_limb(N, p.value(), 4); b.data().assign(r.begin(), r.end()); }
      for (auto _ : st) {
        ckks::math::mul_inplace(a, b, basis);
        benchmark::DoNotOptimize(a.data().data());
        benchmark::ClobberMemory();
      }
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("RnsPoly/automorphism" + suffix(log_n)).c_str(), [log_n](benchmark::State& st) {
      const Prime& p = *primes(log_n, 40, 1)[0];
      const RnsBasis basis{&p};
      const std::size_t N = p.ntt.n();
      RnsPoly a(N, 1, true);
      { const auto r = random_limb(N, p.value(), 5); a.data().assign(r.begin(), r.end()); }
      for (auto _ : st) {
        // Includes building the permutation, as math::automorphism does on every call (the scheme
        // layer caches it in the Context instead).
        RnsPoly r = ckks::math::automorphism(a, 5, basis);
        benchmark::DoNotOptimize(r.data().data());
      }
    })->Unit(benchmark::kMillisecond);
  }
}

// Conv_{from → to} on N = 2^15 coefficients. The shapes are those of hybrid key switching with one
// special prime: 1 → 8 is ModUp of one digit at set B's top level (7 other data primes + P),
// 1 → 19 the same at set C; 4 → 20 a 4-prime digit extended to 20 primes.
void register_base_conversion() {
  const int log_n = 15;
  const std::pair<int, int> shapes[] = {{1, 8}, {1, 19}, {4, 20}};
  for (auto [k, m] : shapes) {
    const std::string name = "BaseConverter/convert" + suffix(log_n) + "/from=" + std::to_string(k) +
                             "/to=" + std::to_string(m);
    benchmark::RegisterBenchmark(name.c_str(), [log_n, k, m](benchmark::State& st) {
      const auto& ps = primes(log_n, 40, static_cast<std::size_t>(k + m));
      RnsBasis from, to;
      for (int i = 0; i < k; ++i) from.push_back(ps[i].get());
      for (int j = 0; j < m; ++j) to.push_back(ps[k + j].get());
      const ckks::math::BaseConverter conv(from, to);
      const std::size_t N = std::size_t(1) << log_n;
      std::vector<std::uint64_t> in(k * N), out(m * N);
      for (int i = 0; i < k; ++i) {
        const auto limb = random_limb(N, from[i]->value(), 10 + i);
        std::copy(limb.begin(), limb.end(), in.begin() + i * N);
      }
      for (auto _ : st) {
        conv.convert(in.data(), out.data(), N);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
      }
    })->Unit(benchmark::kMillisecond);
  }
}

void register_samplers() {
  const int log_n = 15;
  const std::size_t N = std::size_t(1) << log_n;
  benchmark::RegisterBenchmark(("Sampler/uniform" + suffix(log_n)).c_str(), [log_n, N](benchmark::State& st) {
    const RnsBasis basis{primes(log_n, 40, 1)[0].get()};
    auto rng = ckks::math::Csprng::insecure_fixed_seed_for_testing(1);
    for (auto _ : st) {
      RnsPoly r = ckks::math::sample_uniform(rng, N, basis, true);
      benchmark::DoNotOptimize(r.data().data());
    }
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("Sampler/ternary" + suffix(log_n)).c_str(), [N](benchmark::State& st) {
    auto rng = ckks::math::Csprng::insecure_fixed_seed_for_testing(2);
    for (auto _ : st) {
      auto r = ckks::math::sample_ternary(rng, N);
      benchmark::DoNotOptimize(r.data());
    }
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("Sampler/gaussian" + suffix(log_n)).c_str(), [N](benchmark::State& st) {
    auto rng = ckks::math::Csprng::insecure_fixed_seed_for_testing(3);
    for (auto _ : st) {
      auto r = ckks::math::sample_gaussian(rng, N, 3.2);
      benchmark::DoNotOptimize(r.data());
    }
  })->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_ntt();
  register_limb_ops();
  register_base_conversion();
  register_samplers();
  return run_benchmark_main(argc, argv);
}

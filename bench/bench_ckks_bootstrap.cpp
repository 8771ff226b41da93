// bench_ckks, bootstrapping entries: one bootstrap at the 128-bit N = 2^16 preset
// (ckks/bootstrapping.h, bootstrap_preset_n16), full slots and 1024 slots, single thread.
//
//   Bootstrap/full/logN=16                 32768 slots
//   Bootstrap/slots=1024/logN=16           1024 slots
//   Bootstrap/sparse_secret/full/logN=16   32768 slots, sparse-secret encapsulation (h' = 32,
//                                          bootstrap_preset_n16_sparse_secret)
//   …/threads=2                            the same with ckks::set_num_threads(2) (full and
//                                          sparse_secret/full), real time; the plain rows run
//                                          on one thread (CPU time of the timing thread)
//   …/error_reduction=k                    with BootstrapConfig::error_reduction_bits = k (a
//                                          second bootstrap of 2^k·ε, [BCCKK22])
//   …/ten_in_a_row                         one iteration = ten bootstraps, each output dropped
//                                          to level 0 and bootstrapped again; counters
//                                          first_mean_bits (after one) and bits_lost
//
// One iteration each (a bootstrap outlasts the minimum time). Keys and the Bootstrapper are made once, outside the timing loop (about 40 Galois keys of ~200 MiB:
// the process needs about 11 GiB; run one entry at a time). Each entry checks its result against the
// input (uniform in [−1, 1], real and imaginary parts) and reports counters:
//   mean_bits    −log2 of the mean absolute error over the slots
//   min_bits     −log2 of the largest error (worst slot)
//   levels_left  level of the output
//   galois_keys, key_gib, setup_s (key generation and precomputation, seconds)
// An entry whose worst slot has fewer than 10 correct bits fails (SkipWithError).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <complex>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ckks/bootstrapping.h"
#include "ckks/decryptor.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/sampler.h"
#include "ckks/precision.h"
#include "ckks/threads.h"

namespace {

using cplx = std::complex<double>;

// k of the error_reduction rows: a few bits below one bootstrap's worst slot (18.3 bits dense,
// 26.8 with the sparse secret; docs/bootstrapping.md), so 2^k·|ε| ≤ 2^-4 in every slot.
constexpr int kDenseErrorBits = 14;
constexpr int kSparseErrorBits = 22;

struct BootFixture {
  ckks::ContextPtr ctx;
  std::unique_ptr<ckks::KeyGenerator> keygen;
  ckks::SecretKey sk;
  ckks::RelinKey rk;
  ckks::GaloisKeys gk;
  ckks::EncapsulationKeys ek;
  ckks::BootstrapConfig config;
  std::map<int, std::unique_ptr<ckks::Bootstrapper>> boot;  // by error_reduction_bits
  std::vector<cplx> z;
  ckks::Ciphertext input;
  double setup_seconds = 0;
};

BootFixture& fixture(std::size_t slots, bool sparse_secret) {
  static std::unique_ptr<BootFixture> f;
  static std::pair<std::size_t, bool> made_for{~std::size_t(0), false};
  if (f && made_for == std::pair{slots, sparse_secret}) return *f;
  f.reset();  // free the other entry's keys first
  const auto t0 = std::chrono::steady_clock::now();
  f = std::make_unique<BootFixture>();
  const ckks::BootstrapPreset preset =
      sparse_secret ? ckks::bootstrap_preset_n16_sparse_secret(slots) : ckks::bootstrap_preset_n16(slots);
  f->ctx = ckks::Context::create(preset.params);
  f->keygen = std::make_unique<ckks::KeyGenerator>(f->ctx, ckks::math::Csprng::insecure_fixed_seed_for_testing(16));
  f->sk = f->keygen->secret_key();
  const ckks::BootstrapPlan plan = ckks::Bootstrapper::plan(*f->ctx, preset.config);
  f->rk = f->keygen->relin_key(f->sk);
  f->gk = f->keygen->galois_keys(f->sk, plan.rotation_steps, plan.conjugation);
  f->config = preset.config;
  if (sparse_secret) f->ek = f->keygen->encapsulation_keys(f->sk, preset.config.ephemeral_secret_weight);
  std::mt19937_64 g(5);
  std::uniform_real_distribution<double> u(-1, 1);
  f->z.resize(plan.slots);
  for (auto& x : f->z) x = {u(g), u(g)};
  ckks::Encoder enc(f->ctx);
  ckks::Encryptor encryptor(f->ctx, f->sk, ckks::math::Csprng::insecure_fixed_seed_for_testing(17));
  f->input = encryptor.encrypt(enc.encode(f->z, 0, f->ctx->default_scale(), plan.slots));
  f->setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  made_for = {slots, sparse_secret};
  return *f;
}

// The fixture's Bootstrapper with error_reduction_bits = k (made on first use; the keys are shared).
const ckks::Bootstrapper& bootstrapper(BootFixture& f, int error_bits) {
  auto& b = f.boot[error_bits];
  if (!b) {
    ckks::BootstrapConfig cfg = f.config;
    cfg.error_reduction_bits = error_bits;
    b = cfg.ephemeral_secret_weight > 0 ? std::make_unique<ckks::Bootstrapper>(f.ctx, cfg, f.rk, f.gk, f.ek)
                                        : std::make_unique<ckks::Bootstrapper>(f.ctx, cfg, f.rk, f.gk);
  }
  return *b;
}

double mean_bits_of(const std::vector<cplx>& got, const std::vector<cplx>& want) {
  double sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) sum += std::abs(got[i] - want[i]);
  return -std::log2(sum / static_cast<double>(got.size()));
}

// `chain` bootstraps in a row per iteration (1: one bootstrap).
void bootstrap_bench(benchmark::State& state, std::size_t slots, bool sparse_secret, int threads, int error_bits,
                     int chain) {
  BootFixture& f = fixture(slots, sparse_secret);  // keys made on one thread, reused by the threads=2 row
  const ckks::Bootstrapper& boot = bootstrapper(f, error_bits);
  ckks::Encoder enc(f.ctx);
  const ckks::Decryptor decryptor(f.ctx, f.sk);
  const ckks::Evaluator ev(f.ctx);
  ckks::Ciphertext out;
  double first_mean_bits = 0;
  ckks::set_num_threads(threads);
  for (auto _ : state) {
    out = f.input;
    for (int i = 0; i < chain; ++i) {
      if (i > 0) out = ev.drop_level(out, 0);
      out = boot.bootstrap(out);
      if (i == 0 && chain > 1) {
        state.PauseTiming();
        first_mean_bits = mean_bits_of(enc.decode_complex(decryptor.decrypt(out)), f.z);
        state.ResumeTiming();
      }
    }
    benchmark::DoNotOptimize(out);
  }
  ckks::set_num_threads(1);
  const std::vector<cplx> got = enc.decode_complex(decryptor.decrypt(out));
  const double mean_bits = mean_bits_of(got, f.z);
  const double min_bits = ckks::precision_bits(got, f.z);
  if (chain > 1) {
    state.counters["first_mean_bits"] = first_mean_bits;
    state.counters["bits_lost"] = first_mean_bits - mean_bits;
  }
  const auto& plan = boot.plan();
  state.counters["mean_bits"] = mean_bits;
  state.counters["min_bits"] = min_bits;
  state.counters["levels_left"] = out.level;
  state.counters["galois_keys"] = static_cast<double>(plan.galois_keys());
  state.counters["key_gib"] = static_cast<double>(plan.galois_keys() * plan.galois_key_bytes) / 1073741824.0;
  state.counters["setup_s"] = f.setup_seconds;
  if (min_bits < 10) state.SkipWithError("bootstrap self-check failed: fewer than 10 correct bits in the worst slot");
}

}  // namespace

BENCHMARK_CAPTURE(bootstrap_bench, full, std::size_t(0), false, 1, 0, 1)
    ->Name("Bootstrap/full/logN=16")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, full_2, std::size_t(0), false, 2, 0, 1)
    ->Name("Bootstrap/full/logN=16/threads=2")
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(bootstrap_bench, full_er, std::size_t(0), false, 1, kDenseErrorBits, 1)
    ->Name("Bootstrap/full/logN=16/error_reduction=" + std::to_string(kDenseErrorBits))
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, full_ten, std::size_t(0), false, 1, 0, 10)
    ->Name("Bootstrap/full/logN=16/ten_in_a_row")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, full_er_ten, std::size_t(0), false, 1, kDenseErrorBits, 10)
    ->Name("Bootstrap/full/logN=16/error_reduction=" + std::to_string(kDenseErrorBits) + "/ten_in_a_row")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, sparse, std::size_t(1024), false, 1, 0, 1)
    ->Name("Bootstrap/slots=1024/logN=16")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, sparse_secret_full, std::size_t(0), true, 1, 0, 1)
    ->Name("Bootstrap/sparse_secret/full/logN=16")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, sparse_secret_full_2, std::size_t(0), true, 2, 0, 1)
    ->Name("Bootstrap/sparse_secret/full/logN=16/threads=2")
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(bootstrap_bench, sparse_secret_er, std::size_t(0), true, 1, kSparseErrorBits, 1)
    ->Name("Bootstrap/sparse_secret/full/logN=16/error_reduction=" + std::to_string(kSparseErrorBits))
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, sparse_secret_ten, std::size_t(0), true, 1, 0, 10)
    ->Name("Bootstrap/sparse_secret/full/logN=16/ten_in_a_row")
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(bootstrap_bench, sparse_secret_er_ten, std::size_t(0), true, 1, kSparseErrorBits, 10)
    ->Name("Bootstrap/sparse_secret/full/logN=16/error_reduction=" + std::to_string(kSparseErrorBits) +
           "/ten_in_a_row")
    ->Unit(benchmark::kSecond);

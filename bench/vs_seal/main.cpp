// bench_vs_seal: this project and Microsoft SEAL timed in the same process and run, on the
// parameter sets A, B, C of bench/README.md with the same primes and inputs (README.md in this
// directory: build, commands, what each row times).
//
//   encode/logN=13/L=2/ours                    this project, one library thread (CPU time)
//   encode/logN=13/L=2/SEAL                    SEAL 4.4 (single-threaded library; CPU time)
//   encode/logN=13/L=2/ours/threads=2/process_time   this project at ckks::set_num_threads(2):
//                                              CPU time of the whole process, and real time
//   NTT/forward/logN=15/bits=60/ours           one limb, output in [0, q)
//   NTT/forward/logN=15/bits=60/SEAL           util::ntt_negacyclic_harvey, output in [0, q)
//   NTT/forward/logN=15/bits=60/SEAL_lazy      util::ntt_negacyclic_harvey_lazy, output in [0, 4q)
//
// For each operation the three rows run one after the other, so that they see the same machine
// load. `bench_vs_seal --precision[=trials]` instead prints the precision comparison at set B.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#if defined(__GLIBC__)  // defined by the standard headers above (glibc's features.h)
#include <malloc.h>
#endif

#include "../bench_main.h"
#include "ckks/math/memory.h"
#include "vs_seal.h"

namespace vs_seal {

int log_n(int set) { return 13 + set; }

std::vector<int> log_q(int set) {
  std::vector<int> bits(set == 0 ? 3 : set == 1 ? 7 : 19, 40);
  bits[0] = 60;
  return bits;
}

std::string set_suffix(int set) {
  return "/logN=" + std::to_string(log_n(set)) + "/L=" + std::to_string(log_q(set).size() - 1);
}

const char* op_name(Op op) {
  switch (op) {
    case Op::encode: return "encode";
    case Op::decode: return "decode";
    case Op::encrypt_pk: return "encrypt_pk";
    case Op::decrypt: return "decrypt";
    case Op::add: return "add";
    case Op::multiply_plain: return "multiply_plain";
    case Op::multiply: return "multiply";
    case Op::relinearize: return "relinearize";
    case Op::multiply_relin: return "multiply_relin";
    case Op::rescale: return "rescale";
    case Op::rotate: return "rotate";
  }
  return "?";
}

bool is_key_switching(Op op) { return op == Op::relinearize || op == Op::multiply_relin || op == Op::rotate; }

std::vector<cplx> random_slots(std::size_t slots, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-0.7, 0.7);
  std::vector<cplx> z(slots);
  for (auto& x : z) x = cplx(u(g), u(g));
  return z;
}

std::vector<std::uint64_t> random_limb(std::size_t n, std::uint64_t q, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<std::uint64_t> d(0, q - 1);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

Bits precision_bits(const std::vector<cplx>& got, const std::vector<cplx>& want) {
  double sum = 0, max = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(got[i] - want[i]);
    sum += e;
    max = std::max(max, e);
  }
  return {-std::log2(sum / static_cast<double>(want.size())), -std::log2(max)};
}

std::vector<cplx> expected_product(const std::vector<cplx>& z1, const std::vector<cplx>& z2) {
  std::vector<cplx> r(z1.size());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = z1[i] * z2[i];
  return r;
}

std::vector<cplx> expected_rotation(const std::vector<cplx>& z) {
  std::vector<cplx> r(z.size());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = z[(i + 1) % z.size()];
  return r;
}

void self_check_or_abort(const char* lib, int set, const TrialBits& b) {
  if (b.fresh.min_bits < 9.96 || b.product.min_bits < 9.96 || b.rotation.min_bits < 9.96) {
    std::fprintf(stderr, "bench_vs_seal: self-check of %s failed at set %c: min bits %.2f (encrypt/decrypt), "
                 "%.2f (multiply/relinearize/rescale), %.2f (rotate), need 9.96\n",
                 lib, 'A' + set, b.fresh.min_bits, b.product.min_bits, b.rotation.min_bits);
    std::abort();
  }
}

namespace {

void register_all() {
  for (int set = 0; set < kSets; ++set) {
    for (Op op : kOps) {
      const std::string name = std::string(op_name(op)) + set_suffix(set);
      const bool fixed = set == 2 && is_key_switching(op);  // hundreds of ms per call at C
      auto* ours = benchmark::RegisterBenchmark((name + "/ours").c_str(), [op, set](benchmark::State& st) {
        ours_time(op, set, 1, st);
      });
      auto* theirs = benchmark::RegisterBenchmark((name + "/SEAL").c_str(), [op, set](benchmark::State& st) {
        seal_time(op, set, st);
      });
      auto* two = benchmark::RegisterBenchmark((name + "/ours/threads=2").c_str(), [op, set](benchmark::State& st) {
        ours_time(op, set, 2, st);
      });
      two->MeasureProcessCPUTime();
      for (auto* b : {ours, theirs, two}) {
        b->Unit(benchmark::kMillisecond);
        if (fixed) b->Iterations(5);
      }
    }
  }
  for (int ln = 13; ln <= 15; ++ln) {
    for (int bits : {60, 40}) {
      for (bool inverse : {false, true}) {
        const std::string name = std::string("NTT/") + (inverse ? "inverse" : "forward") + "/logN=" +
                                 std::to_string(ln) + "/bits=" + std::to_string(bits);
        benchmark::RegisterBenchmark((name + "/ours").c_str(), [=](benchmark::State& st) {
          ours_time_ntt(inverse, ln, bits, st);
        })->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark((name + "/SEAL").c_str(), [=](benchmark::State& st) {
          seal_time_ntt(inverse, false, ln, bits, st);
        })->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark((name + "/SEAL_lazy").c_str(), [=](benchmark::State& st) {
          seal_time_ntt(inverse, true, ln, bits, st);
        })->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

// The precision comparison: per trial, the same inputs (seeds 1000 + 2t and 1001 + 2t) through
// both libraries at set B, each with its own fresh keys; prints each trial and the means.
int run_precision(int trials) {
  const int set = 1;
  const std::size_t slots = std::size_t(1) << (log_n(set) - 1);
  std::printf("precision at set B (N = 2^%d, L = %zu, Δ = 2^%d), %d trials; bits = -log2(mean |error|) / "
              "-log2(max |error|)\n", log_n(set), log_q(set).size() - 1, kLogScale, trials);
  std::printf("%-6s %-5s %15s %15s %15s\n", "trial", "lib", "encrypt/decrypt", "mul+relin+resc", "rotate 1");
  TrialBits sum[2] = {};
  for (int t = 0; t < trials; ++t) {
    const auto z1 = random_slots(slots, 1000 + 2 * t), z2 = random_slots(slots, 1001 + 2 * t);
    const TrialBits r[2] = {ours_precision(set, z1, z2, 100 + 2 * t), seal_precision(set, z1, z2)};
    for (int lib = 0; lib < 2; ++lib) {
      std::printf("%-6d %-5s %7.2f / %5.2f %7.2f / %5.2f %7.2f / %5.2f\n", t, lib ? "SEAL" : "ours",
                  r[lib].fresh.mean_bits, r[lib].fresh.min_bits, r[lib].product.mean_bits, r[lib].product.min_bits,
                  r[lib].rotation.mean_bits, r[lib].rotation.min_bits);
      for (auto [s, x] : {std::pair{&sum[lib].fresh, r[lib].fresh}, std::pair{&sum[lib].product, r[lib].product},
                          std::pair{&sum[lib].rotation, r[lib].rotation}}) {
        s->mean_bits += x.mean_bits / trials;
        s->min_bits += x.min_bits / trials;
      }
    }
  }
  for (int lib = 0; lib < 2; ++lib) {
    std::printf("%-6s %-5s %7.2f / %5.2f %7.2f / %5.2f %7.2f / %5.2f\n", "mean", lib ? "SEAL" : "ours",
                sum[lib].fresh.mean_bits, sum[lib].fresh.min_bits, sum[lib].product.mean_bits,
                sum[lib].product.min_bits, sum[lib].rotation.mean_bits, sum[lib].rotation.min_bits);
  }
  return 0;
}

// The allocator settings ckks/math/memory.h documents (mmap threshold 1 GiB, trim threshold
// 2^31 − 1), applied here directly: up to commit 28724bc ckks::math::keep_freed_memory_for_reuse()
// tested __GLIBC__ before any header defined it, compiled to `return false` and changed nothing,
// and then every multi-MB result of this project page-faults once SEAL's allocations sit above it
// on the heap (multiply at set B: 2.2 ms instead of 0.9 ms). True if glibc accepted both.
bool keep_freed_memory() {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1 && mallopt(M_TRIM_THRESHOLD, 2147483647) == 1;
#else
  return false;
#endif
}

}  // namespace
}  // namespace vs_seal

int main(int argc, char** argv) {
  using namespace vs_seal;
  ours_init();  // one library thread
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--precision", 11) == 0) {
      const int trials = argv[i][11] == '=' ? std::atoi(argv[i] + 12) : 5;
      if (trials < 1) {
        std::fprintf(stderr, "bench_vs_seal: --precision=%s: give a number of trials ≥ 1\n", argv[i] + 12);
        return 2;
      }
      return run_precision(trials);
    }
  }
  const bool library_tuned = ckks::math::keep_freed_memory_for_reuse();
  const bool tuned = keep_freed_memory();
  benchmark::AddCustomContext("allocator", std::string("ckks::math::keep_freed_memory_for_reuse() ") +
                                               (library_tuned ? "applied" : "returned false") +
                                               "; mallopt in main " + (tuned ? "applied" : "failed"));
  benchmark::AddCustomContext("SEAL", seal_version() + " (default Release build, seal.cpp without -march=native)");
  std::string same;
  for (int set = 0; set < kSets; ++set) {
    same += std::string(same.empty() ? "" : ", ") + char('A' + set) + ": " +
            (seal_create_gives_same_primes(set) ? "same set of primes" : "different primes");
  }
  benchmark::AddCustomContext("SEAL CoeffModulus::Create vs ours (both runs use ours)", same);
  register_all();
  return run_benchmark_main(argc, argv);
}

// bench_ckks: Google Benchmark programs for the scheme layer, at the top level L of
// three parameter sets (scale Δ = 2^40, one 60-bit special prime, dnum = L + 1, all 128-bit secure):
//
//   A  log_n 13, log_q {60, 40, 40}        , log_p {60}   L = 2
//   B  log_n 14, log_q {60, 40 × 6}        , log_p {60}   L = 6
//   C  log_n 15, log_q {60, 40 × 18}       , log_p {60}   L = 18
//
// Names carry the parameters: Evaluator/multiply_relin/logN=14/L=6, Encoder/encode/logN=13/L=2, ...
// Threads: the plain rows run with ckks::set_num_threads(1). The key-switching rows (relinearize,
// multiply_relin, rotate) and encode/decode also have .../threads=1 and .../threads=2 variants,
// which set the library's thread count (ckks/threads.h) for their timing loop and measure the CPU
// time of the whole process (every thread's), so their CPU column is the total work and their Time
// column (wall clock) shows the speed-up.
// Each set's Context, keys, plaintexts and ciphertexts are built once (on first use, so that a
// --benchmark_filter naming only set A never pays for set C) and shared by all its benchmarks;
// nothing but the operation itself is inside the timing loop.
#include <benchmark/benchmark.h>

#include "bench_main.h"

#include <array>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/sampler.h"
#include "ckks/threads.h"

namespace {

using cplx = std::complex<double>;
using ckks::math::Csprng;

constexpr int kSets = 3;

ckks::Params params_for(int set) {
  ckks::Params p;
  p.log_scale = 40;
  p.log_p = {60};
  switch (set) {
    case 0: p.log_n = 13; p.log_q = {60, 40, 40}; break;
    case 1: p.log_n = 14; p.log_q = std::vector<int>(7, 40); p.log_q[0] = 60; break;  // {60,40×6}: the set B
    default: p.log_n = 15; p.log_q = std::vector<int>(19, 40); p.log_q[0] = 60; break;
  }
  return p;  // dnum = 0: L + 1 digits of one prime each (alpha = 1), like SEAL with one special prime
}

// Everything the benchmarks of one parameter set need, built outside every timing loop.
struct Fixture {
  ckks::ContextPtr ctx;
  int L = 0;
  double scale = 0;
  std::unique_ptr<ckks::Encoder> encoder;
  ckks::SecretKey sk;
  ckks::PublicKey pk;
  ckks::RelinKey rk;
  ckks::GaloisKeys gk;  // rotation by one step
  std::unique_ptr<ckks::Encryptor> enc_pk, enc_sk;
  std::unique_ptr<ckks::Decryptor> decryptor;
  std::unique_ptr<ckks::Evaluator> ev;
  std::vector<cplx> z1, z2;  // N/2 slot values, |z| ≤ 1
  ckks::Plaintext pt1, pt2;  // encodings of z1, z2 at level L, scale Δ
  ckks::Ciphertext ct1, ct2;
  ckks::Ciphertext ct_mul;    // ct1 × ct2, 3 components, scale Δ²
  ckks::Ciphertext ct_relin;  // relinearised, 2 components, scale Δ²
  ckks::Plaintext pt_dec;     // decryption of ct1

  explicit Fixture(int set) {
    ctx = ckks::Context::create(params_for(set));
    L = ctx->max_level();
    scale = ctx->default_scale();
    encoder = std::make_unique<ckks::Encoder>(ctx);
    ckks::KeyGenerator kg(ctx, Csprng::insecure_fixed_seed_for_testing(1));
    sk = kg.secret_key();
    pk = kg.public_key(sk);
    rk = kg.relin_key(sk);
    gk = kg.galois_keys(sk, {1});
    enc_pk = std::make_unique<ckks::Encryptor>(ctx, pk, Csprng::insecure_fixed_seed_for_testing(2));
    enc_sk = std::make_unique<ckks::Encryptor>(ctx, sk, Csprng::insecure_fixed_seed_for_testing(3));
    decryptor = std::make_unique<ckks::Decryptor>(ctx, sk);
    ev = std::make_unique<ckks::Evaluator>(ctx);

    std::mt19937_64 g(42);
    std::uniform_real_distribution<double> u(-0.7, 0.7);
    const std::size_t n = ctx->max_slots();
    z1.resize(n);
    z2.resize(n);
    for (auto& x : z1) x = cplx(u(g), u(g));
    for (auto& x : z2) x = cplx(u(g), u(g));
    pt1 = encoder->encode(std::span<const cplx>(z1), L, scale);
    pt2 = encoder->encode(std::span<const cplx>(z2), L, scale);
    ct1 = enc_pk->encrypt(pt1);
    ct2 = enc_pk->encrypt(pt2);
    ct_mul = ev->multiply(ct1, ct2);
    ct_relin = ev->relinearize(ct_mul, rk);
    pt_dec = decryptor->decrypt(ct1);
    self_check();
  }

  // The benchmarks must time operations that work: check one result of each kind once.
  void self_check() const {
    const auto prod = encoder->decode_complex(decryptor->decrypt(ev->rescale(ct_relin)));
    const auto rot = encoder->decode_complex(decryptor->decrypt(ev->rotate(ct1, 1, gk)));
    const auto fresh = encoder->decode_complex(pt_dec);
    const std::size_t n = z1.size();
    double e_prod = 0, e_rot = 0, e_fresh = 0;
    for (std::size_t i = 0; i < n; ++i) {
      e_prod = std::max(e_prod, std::abs(prod[i] - z1[i] * z2[i]));
      e_rot = std::max(e_rot, std::abs(rot[i] - z1[(i + 1) % n]));
      e_fresh = std::max(e_fresh, std::abs(fresh[i] - z1[i]));
    }
    if (e_prod > 1e-3 || e_rot > 1e-3 || e_fresh > 1e-3) {
      std::fprintf(stderr, "bench_ckks: self-check failed for %s: max error %.3g (encrypt/decrypt), "
                   "%.3g (multiply/relinearize/rescale), %.3g (rotate)\n",
                   ctx->params().describe().c_str(), e_fresh, e_prod, e_rot);
      std::abort();
    }
  }
};

// The static cache: one Fixture per parameter set, built on first use.
Fixture& fixture(int set) {
  static std::array<std::unique_ptr<Fixture>, kSets> cache;
  if (!cache[set]) cache[set] = std::make_unique<Fixture>(set);
  return *cache[set];
}

std::string suffix(int set) {
  const ckks::Params p = params_for(set);
  return "/logN=" + std::to_string(p.log_n) + "/L=" + std::to_string(p.log_q.size() - 1);
}

// Timing policy: min_time 0.2 s by default (see main); on set C the key-switching operations
// (hundreds of ms each) and key generation run a fixed handful of iterations (their names then end
// in "/iterations:k"), so that the whole program takes well under a minute with default flags.
// `heavy_iters` = 0 means "let min_time decide". `threads` = 0: the plain row (one thread, CPU time
// of the timing thread); otherwise the row ".../threads=t" with t library threads and the process's
// CPU time.
void add(const std::string& op, int set, int heavy_iters, std::function<void(benchmark::State&, Fixture&)> body,
         int threads = 0) {
  const std::string name = op + suffix(set) + (threads > 0 ? "/threads=" + std::to_string(threads) : "");
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [set, body, threads](benchmark::State& st) {
    Fixture& fx = fixture(set);  // built before the first timed iteration
    ckks::set_num_threads(threads > 0 ? threads : 1);
    body(st, fx);
    ckks::set_num_threads(1);
  });
  b->Unit(benchmark::kMillisecond);
  if (threads > 0) b->MeasureProcessCPUTime();
  if (set == 2 && heavy_iters > 0) b->Iterations(heavy_iters);
}

// The plain row and its threads=1 and threads=2 variants.
void add_threaded(const std::string& op, int set, int heavy_iters,
                  const std::function<void(benchmark::State&, Fixture&)>& body) {
  for (int threads : {0, 1, 2}) add(op, set, heavy_iters, body, threads);
}

void register_all() {
  for (int set = 0; set < kSets; ++set) {
    add_threaded("Encoder/encode", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto pt = fx.encoder->encode(std::span<const cplx>(fx.z1), fx.L, fx.scale);
        benchmark::DoNotOptimize(pt);
      }
    });
    add_threaded("Encoder/decode", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto z = fx.encoder->decode_complex(fx.pt_dec);
        benchmark::DoNotOptimize(z);
      }
    });
    add("Encryptor/encrypt_pk", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.enc_pk->encrypt(fx.pt1);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("Encryptor/encrypt_sk", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.enc_sk->encrypt(fx.pt1);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("Decryptor/decrypt", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto pt = fx.decryptor->decrypt(fx.ct1);
        benchmark::DoNotOptimize(pt);
      }
    });
    add("Evaluator/add", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->add(fx.ct1, fx.ct2);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("Evaluator/multiply_plain", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->multiply(fx.ct1, fx.pt2);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("Evaluator/multiply", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->multiply(fx.ct1, fx.ct2);
        benchmark::DoNotOptimize(ct);
      }
    });
    add_threaded("Evaluator/relinearize", set, 5, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->relinearize(fx.ct_mul, fx.rk);
        benchmark::DoNotOptimize(ct);
      }
    });
    add_threaded("Evaluator/multiply_relin", set, 5, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->multiply_relin(fx.ct1, fx.ct2, fx.rk);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("Evaluator/rescale", set, 0, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->rescale(fx.ct_relin);
        benchmark::DoNotOptimize(ct);
      }
    });
    add_threaded("Evaluator/rotate", set, 5, [](benchmark::State& st, Fixture& fx) {
      for (auto _ : st) {
        auto ct = fx.ev->rotate(fx.ct1, 1, fx.gk);
        benchmark::DoNotOptimize(ct);
      }
    });
    add("KeyGenerator/secret_public", set, 0, [](benchmark::State& st, Fixture& fx) {
      ckks::KeyGenerator kg(fx.ctx, Csprng::insecure_fixed_seed_for_testing(11));
      for (auto _ : st) {
        auto sk = kg.secret_key();
        auto pk = kg.public_key(sk);
        benchmark::DoNotOptimize(pk);
      }
    });
    add("KeyGenerator/relin_key", set, 3, [](benchmark::State& st, Fixture& fx) {
      ckks::KeyGenerator kg(fx.ctx, Csprng::insecure_fixed_seed_for_testing(12));
      for (auto _ : st) {
        auto rk = kg.relin_key(fx.sk);
        benchmark::DoNotOptimize(rk);
      }
    });
    add("KeyGenerator/galois_key", set, 3, [](benchmark::State& st, Fixture& fx) {
      ckks::KeyGenerator kg(fx.ctx, Csprng::insecure_fixed_seed_for_testing(13));
      for (auto _ : st) {
        auto gk = kg.galois_keys(fx.sk, {1});
        benchmark::DoNotOptimize(gk);
      }
    });
  }
}

// The rotate-and-sum rows (sets B and C): Σ_t pt_t ⊙ rot(ct1, k_t) over `terms` terms, by
// Evaluator::rotate_sum (double hoisting: one ModUp, one ModDown), by rotate_sum with plaintexts
// extended to Q_ℓ·P ahead (extend_plaintext, outside the timing loop: what a caller that reuses its
// plaintexts pays), and by rotate_hoisted + multiply_sum (one ModUp, one ModDown per term). The
// steps are 1..8 (16 terms: each step twice, so the Galois keys stay at 8 — 1.6 GB at C — while
// every term still costs its own key inner product and, in the chain, its own ModDown). And
// Σ_k rot(x_k, k_k) over different ciphertexts (ct1, ct2 alternately): Evaluator::sum_rotations
// (a ModUp per term, one ModDown) against rotate and add.
struct SumInputs {
  const ckks::GaloisKeys* gk = nullptr;  // shared by the 8- and 16-term inputs of a set
  std::vector<int> steps;
  std::vector<ckks::Plaintext> pts;
  std::vector<ckks::ExtendedPlaintext> ext;
  std::vector<const ckks::Plaintext*> pt_ptrs;
  std::vector<const ckks::ExtendedPlaintext*> ext_ptrs;
};

const SumInputs& sum_inputs(Fixture& fx, int set, std::size_t terms) {
  static std::array<std::array<std::unique_ptr<SumInputs>, 2>, kSets> cache;
  static std::array<std::unique_ptr<ckks::GaloisKeys>, kSets> keys;
  auto& slot = cache[set][terms == 8 ? 0 : 1];
  if (slot) return *slot;
  if (!keys[set]) {
    ckks::KeyGenerator kg(fx.ctx, Csprng::insecure_fixed_seed_for_testing(21));
    keys[set] = std::make_unique<ckks::GaloisKeys>(kg.galois_keys(fx.sk, {1, 2, 3, 4, 5, 6, 7, 8}));
  }
  slot = std::make_unique<SumInputs>();
  SumInputs& in = *slot;
  in.gk = keys[set].get();
  std::mt19937_64 g(43);
  std::uniform_real_distribution<double> u(-0.7, 0.7);
  std::vector<double> w(fx.ctx->max_slots());
  for (std::size_t t = 0; t < terms; ++t) {
    in.steps.push_back(static_cast<int>(t % 8) + 1);
    for (auto& x : w) x = u(g);
    in.pts.push_back(fx.encoder->encode(w, fx.L, fx.scale));
    in.ext.push_back(fx.ev->extend_plaintext(in.pts.back()));
  }
  for (std::size_t t = 0; t < terms; ++t) {
    in.pt_ptrs.push_back(&in.pts[t]);
    in.ext_ptrs.push_back(&in.ext[t]);
  }
  return in;
}

void register_rotate_sum() {
  for (int set = 1; set < kSets; ++set)
    for (std::size_t terms : {8, 16}) {
      const std::string t = "/terms=" + std::to_string(terms);
      add("Evaluator/rotate_sum" + t, set, 3, [set, terms](benchmark::State& st, Fixture& fx) {
        const SumInputs& in = sum_inputs(fx, set, terms);
        for (auto _ : st) {
          auto ct = fx.ev->rotate_sum(fx.ct1, in.steps, in.pt_ptrs, *in.gk);
          benchmark::DoNotOptimize(ct);
        }
      });
      add("Evaluator/rotate_sum_extended" + t, set, 3, [set, terms](benchmark::State& st, Fixture& fx) {
        const SumInputs& in = sum_inputs(fx, set, terms);
        for (auto _ : st) {
          auto ct = fx.ev->rotate_sum(fx.ct1, in.steps, in.ext_ptrs, *in.gk);
          benchmark::DoNotOptimize(ct);
        }
      });
      add("Evaluator/sum_rotations" + t, set, 3, [set, terms](benchmark::State& st, Fixture& fx) {
        const SumInputs& in = sum_inputs(fx, set, terms);
        std::vector<const ckks::Ciphertext*> cts;  // ct1, ct2 alternately: terms of different ciphertexts
        for (std::size_t k = 0; k < terms; ++k) cts.push_back(k % 2 ? &fx.ct2 : &fx.ct1);
        for (auto _ : st) {
          auto ct = fx.ev->sum_rotations(cts, in.steps, *in.gk);
          benchmark::DoNotOptimize(ct);
        }
      });
      add("Evaluator/rotate+add" + t, set, 3, [set, terms](benchmark::State& st, Fixture& fx) {
        const SumInputs& in = sum_inputs(fx, set, terms);
        for (auto _ : st) {
          ckks::Ciphertext acc = fx.ev->rotate(fx.ct1, in.steps[0], *in.gk);
          for (std::size_t k = 1; k < terms; ++k)
            acc = fx.ev->add(acc, fx.ev->rotate(k % 2 ? fx.ct2 : fx.ct1, in.steps[k], *in.gk));
          benchmark::DoNotOptimize(acc);
        }
      });
      add("Evaluator/rotate_hoisted+multiply_sum" + t, set, 3, [set, terms](benchmark::State& st, Fixture& fx) {
        const SumInputs& in = sum_inputs(fx, set, terms);
        for (auto _ : st) {
          const auto rotated = fx.ev->rotate_hoisted(fx.ct1, in.steps, *in.gk);
          std::vector<const ckks::Ciphertext*> cts;
          for (const auto& c : rotated) cts.push_back(&c);
          auto ct = fx.ev->multiply_sum(cts, in.pt_ptrs);
          benchmark::DoNotOptimize(ct);
        }
      });
    }
}

}  // namespace

int main(int argc, char** argv) {
  ckks::set_num_threads(1);  // fixtures and plain rows: one thread (the rows compared with SEAL)
  register_all();
  register_rotate_sum();
  return run_benchmark_main(argc, argv);
}

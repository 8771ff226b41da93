// Circuits of ckks/ (general tools the models are built from), single thread, 128-bit-secure
// parameters N = 2^15, q = {60, 40 × 8}, p = {60} (L = 8, log QP = 440 ≤ 881), scale Δ = 2^40:
//
//   Polynomial/evaluate/degree=d/logN=15     PolynomialEvaluator on a full ciphertext (16384 slots),
//                                            p = Chebyshev interpolant of σ(8x) on [−1, 1],
//                                            d = 3, 7, 15, 31, 63 (levels = ⌈log2(d + 1)⌉)
//   MatrixVector/apply/dim=D/logN=15         dense D × D plaintext matrix × encrypted vector
//                                            (diagonal method, BSGS, hoisted baby steps), D = 16 … 1024,
//                                            the matrix encoded at level 2 (so its D diagonals stay small)
//   SumSlots/all/logN=15                      total sum of the 16384 slots (14 rotations)
//   VolleyRevolver/multiply/mnp:16/logN=15   encrypted 16 × 16 by encrypted 16 × 16 [Chiang22]
//   Sigmoid/wide/L=70/logN=15/target_bits:b  σ on [−70, 70] as approx_choose picks it for error 2^−b
//                                            within depth 10 (ckks/approx_select.h), on one ciphertext
//                                            whose 16384 slots hold a grid over [−70, 70]; this one
//                                            needs q = {60, 40 × 10} (log QP = 520 ≤ 881)
//
// Counters: `levels` consumed and `rotations` (key-switched automorphisms) per call, from the
// circuits' own accounting (levels_needed, TransformCost). Before timing, each fixture decrypts
// one result and aborts if it is wrong, so a benchmark never times a broken circuit.
#include <benchmark/benchmark.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/approx_select.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/linear_transform.h"
#include "ckks/math/sampler.h"
#include "ckks/polynomial.h"

namespace {

using ckks::math::Csprng;

// Shared keys and a random encrypted vector (values in [−1, 1]); Galois keys per benchmark.
struct Base {
  ckks::ContextPtr ctx;
  std::unique_ptr<ckks::KeyGenerator> kg;
  ckks::SecretKey sk;
  ckks::RelinKey rk;
  std::unique_ptr<ckks::Encoder> encoder;
  std::unique_ptr<ckks::Encryptor> encryptor;
  std::unique_ptr<ckks::Decryptor> decryptor;
  std::unique_ptr<ckks::Evaluator> ev;
  std::vector<double> x;  // N/2 values in [−1, 1]

  explicit Base(int levels = 8) {
    ckks::Params p;
    p.log_n = 15;
    p.log_q = std::vector<int>(levels + 1, 40);
    p.log_q[0] = 60;
    p.log_p = {60};
    p.log_scale = 40;
    ctx = ckks::Context::create(p);
    kg = std::make_unique<ckks::KeyGenerator>(ctx, Csprng::insecure_fixed_seed_for_testing(7));
    sk = kg->secret_key();
    rk = kg->relin_key(sk);
    encoder = std::make_unique<ckks::Encoder>(ctx);
    encryptor = std::make_unique<ckks::Encryptor>(ctx, sk, Csprng::insecure_fixed_seed_for_testing(8));
    decryptor = std::make_unique<ckks::Decryptor>(ctx, sk);
    ev = std::make_unique<ckks::Evaluator>(ctx);
    std::mt19937_64 g(11);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    x.resize(ctx->max_slots());
    for (double& v : x) v = u(g);
  }
  ckks::Ciphertext encrypt(const std::vector<double>& v, int level) const {
    return encryptor->encrypt(encoder->encode(std::span<const double>(v), level, ctx->default_scale()));
  }
  std::vector<double> decrypt(const ckks::Ciphertext& c) const { return encoder->decode(decryptor->decrypt(c)); }
};

Base& base() {
  static Base b;
  return b;
}

// The same keys and layout with ten levels (for the wide-interval sigmoid).
Base& base_ten_levels() {
  static Base b(10);
  return b;
}

void check(const char* what, double err, double bound) {
  if (!(err <= bound)) {
    std::fprintf(stderr, "bench_ml: self-check of %s failed: max error %.3g > %.3g\n", what, err, bound);
    std::abort();
  }
}

// ---- polynomial evaluation by degree

void BM_polynomial(benchmark::State& state) {
  Base& b = base();
  const int degree = static_cast<int>(state.range(0));
  const ckks::ChebyshevSeries p =
      ckks::chebyshev_interpolate([](double t) { return 1.0 / (1.0 + std::exp(-8 * t)); }, -1, 1, degree);
  const ckks::PolynomialEvaluator pe(*b.ev, b.rk);
  const int L = b.ctx->max_level();
  const ckks::Ciphertext ct = b.encrypt(b.x, L);
  {
    const auto y = b.decrypt(pe.evaluate(ct, p));
    double err = 0;
    for (std::size_t i = 0; i < y.size(); ++i) err = std::max(err, std::abs(y[i] - p(b.x[i])));
    check("polynomial evaluation", err, 1e-4);
  }
  for (auto _ : state) benchmark::DoNotOptimize(pe.evaluate(ct, p));
  state.counters["levels"] = ckks::PolynomialEvaluator::levels_needed(p);
  state.counters["rotations"] = 0;
}

// ---- σ on [−70, 70] as approx_choose picks it

void BM_sigmoid_wide(benchmark::State& state) {
  Base& b = base_ten_levels();
  const double L = 70;
  const int bits = static_cast<int>(state.range(0));
  const ckks::ApproxCandidate c =
      ckks::approx_choose({ckks::ApproxFunction::Sigmoid, -L, L, std::exp2(-bits), 10});
  const ckks::PolynomialEvaluator pe(*b.ev, b.rk);
  const std::size_t S = b.ctx->max_slots();
  std::vector<double> x(S);
  for (std::size_t i = 0; i < S; ++i) x[i] = -L + 2 * L * static_cast<double>(i) / static_cast<double>(S - 1);
  const ckks::Ciphertext ct = b.encrypt(x, b.ctx->max_level());
  double err = 0;
  {
    const auto y = b.decrypt(ckks::evaluate(pe, ct, c));
    for (std::size_t i = 0; i < S; ++i) err = std::max(err, std::abs(y[i] - ckks::approx_reference(c.function, x[i])));
    check("wide-interval sigmoid", err, 2 * std::exp2(-bits));
  }
  for (auto _ : state) benchmark::DoNotOptimize(ckks::evaluate(pe, ct, c));
  state.counters["max_error_bits"] = -std::log2(err);
  state.counters["depth"] = c.depth;
  state.counters["degree"] = c.degree();
  state.counters["products"] = c.products;
  state.counters["stages"] = static_cast<double>(c.stages.size());
}

// ---- matrix–vector product by dimension

void BM_matrix_vector(benchmark::State& state) {
  Base& b = base();
  const std::size_t D = static_cast<std::size_t>(state.range(0));
  std::mt19937_64 g(D);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  ckks::RealMatrix m(D, std::vector<double>(D));
  for (auto& row : m)
    for (double& v : row) v = u(g) / std::sqrt(static_cast<double>(D));
  const int level = 2;
  const ckks::MatrixVector mv(*b.encoder, m, level);
  const ckks::GaloisKeys gk = b.kg->galois_keys(b.sk, mv.rotation_steps());
  const std::vector<double> v(b.x.begin(), b.x.begin() + D);
  const ckks::Ciphertext ct = b.encrypt(mv.pack(std::span<const double>(v)), level);
  ckks::TransformCost cost;
  {
    const auto y = b.decrypt(mv.apply(*b.ev, ct, gk, &cost));
    double err = 0;
    for (std::size_t i = 0; i < D; ++i) {
      double want = 0;
      for (std::size_t j = 0; j < D; ++j) want += m[i][j] * v[j];
      err = std::max(err, std::abs(y[i] - want));
    }
    check("matrix-vector product", err, 1e-5);
  }
  for (auto _ : state) benchmark::DoNotOptimize(mv.apply(*b.ev, ct, gk));
  state.counters["levels"] = cost.levels;
  state.counters["rotations"] = cost.rotations;
  state.counters["diagonals"] = static_cast<double>(mv.diagonals());
}

// ---- sum of all slots

void BM_sum_slots(benchmark::State& state) {
  Base& b = base();
  const std::size_t S = b.ctx->max_slots();
  const ckks::GaloisKeys gk = b.kg->galois_keys(b.sk, ckks::sum_slots_steps(S));
  const ckks::Ciphertext ct = b.encrypt(b.x, b.ctx->max_level());
  ckks::TransformCost cost;
  {
    const auto y = b.decrypt(ckks::sum_slots(*b.ev, ct, gk, S, 1, &cost));
    double want = 0;
    for (double v : b.x) want += v;
    check("sum_slots", std::abs(y[0] - want), 1e-3);
  }
  for (auto _ : state) benchmark::DoNotOptimize(ckks::sum_slots(*b.ev, ct, gk, S));
  state.counters["levels"] = cost.levels;
  state.counters["rotations"] = cost.rotations;
}

// ---- Volley Revolver matrix product (encrypted × encrypted)

void BM_volley_revolver(benchmark::State& state) {
  Base& b = base();
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const int level = b.ctx->max_level();
  const ckks::VolleyRevolver vr(*b.encoder, n, n, n, level);
  const ckks::GaloisKeys gk = b.kg->galois_keys(b.sk, vr.rotation_steps(true));
  std::mt19937_64 g(n + 1);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  ckks::RealMatrix A(n, std::vector<double>(n)), B(n, std::vector<double>(n));
  for (auto& row : A)
    for (double& v : row) v = u(g);
  for (auto& row : B)
    for (double& v : row) v = u(g);
  const double scale = b.ctx->default_scale();
  const auto ea = vr.encode_a(A), eb = vr.encode_b(B);
  const ckks::Ciphertext ca =
      b.encryptor->encrypt(b.encoder->encode(std::span<const std::complex<double>>(ea), level, scale));
  const ckks::Ciphertext cb =
      b.encryptor->encrypt(b.encoder->encode(std::span<const std::complex<double>>(eb), level, scale));
  ckks::TransformCost cost;
  {
    const ckks::Ciphertext c = vr.multiply(*b.ev, ca, cb, b.rk, gk, &cost);
    const auto C = vr.decode_c(b.encoder->decode_complex(b.decryptor->decrypt(c)));
    double err = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double want = 0;
        for (std::size_t k = 0; k < n; ++k) want += A[i][k] * B[k][j];
        err = std::max(err, std::abs(C[i][j].real() - want));
      }
    check("Volley Revolver product", err, 1e-3);
  }
  for (auto _ : state) benchmark::DoNotOptimize(vr.multiply(*b.ev, ca, cb, b.rk, gk));
  state.counters["levels"] = cost.levels;
  state.counters["rotations"] = cost.rotations;
}

}  // namespace

BENCHMARK(BM_polynomial)->Name("Polynomial/evaluate/logN=15")->ArgName("degree")
    ->Arg(3)->Arg(7)->Arg(15)->Arg(31)->Arg(63)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sigmoid_wide)->Name("Sigmoid/wide/L=70/logN=15")->ArgName("target_bits")
    ->Arg(10)->Arg(11)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_matrix_vector)->Name("MatrixVector/apply/logN=15")->ArgName("dim")
    ->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sum_slots)->Name("SumSlots/all/logN=15")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_volley_revolver)->Name("VolleyRevolver/multiply/logN=15")->ArgName("mnp")
    ->Arg(16)->Unit(benchmark::kMillisecond);

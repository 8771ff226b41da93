// One iteration of mini-batch logistic regression on encrypted data (ml/logreg/logreg_minibatch.h),
// server side, at the 128-bit parameters `ckks-ml logreg-minibatch` uses (Params::preset_n15():
// N = 2^15, q = {60, 40 × 18}, p = {60}):
//
//   LogregMinibatch/iteration/logN=15/rows:1024/source:memory   MinibatchServer::step for t = 2
//        (both w_2 and w_1 in the margins: the general iteration) on a batch of 1024 Fashion-MNIST
//        rows (one chunk of 13 × 2 ciphertexts) held in memory
//   LogregMinibatch/iteration/logN=15/rows:1024/source:disk     the same batch read from a
//        MinibatchCache directory on every iteration (deserialisation and seed expansion included)
//
// The data: the first 3072 training images, 2×2 block means standardised, class 0 against the rest,
// three batches of 1024 rows; iterations 0 and 1 run once in the fixture. The fixture decrypts
// w_3 and aborts unless it matches the double-precision twin (logreg_minibatch_train), so the
// benchmark never times a broken model. The keys (18 Galois keys) take about 4 GiB: run it alone.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ckks/context.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_minibatch.h"
#include "ml/logreg/logreg_minibatch_job.h"
#include "ml/logreg/logreg_minibatch_plain.h"

namespace {

using namespace ckks;
using namespace ckks::ml;

struct MinibatchFixture {
  static constexpr std::size_t kRows = 1024;
  ContextPtr ctx = Context::create(Params::preset_n15());
  MinibatchLayout layout = MinibatchLayout::make(196, 16, ctx->max_slots());
  std::vector<std::vector<double>> A;
  std::vector<double> y;
  MinibatchPlan plan;
  MinibatchDataOwner owner{ctx, layout, 1};
  MinibatchServer server{ctx, owner.relin_key(), owner.galois_keys(), layout};
  MinibatchCache cache{""};
  InMemoryBatch batch2;
  MinibatchWeights state2;  // after iterations 0 and 1
  LogregOptions options;

  MinibatchFixture() {
    const ImageSet img = load_fashion_mnist(kDebianFashionMnistDir, true, 3 * kRows);
    Dataset ds{{}, "class", fashion_block_means(img), {}};
    for (int label : img.labels) ds.y.push_back(label == 0 ? 1.0 : 0.0);
    for (std::size_t j = 0; j < 196; ++j) ds.feature_names.push_back("block" + std::to_string(j));
    A = with_bias_column(Standardizer::fit(ds).apply(ds).X);
    y = ds.y;
    plan = MinibatchPlan::make(A.size(), kRows, 1);
    const int top = ctx->max_level(), per = MinibatchServer::levels_per_iteration(3);
    const InMemoryBatch b0 = owner.encrypt_batch(A, y, 0, kRows, -1, MinibatchLevels::xb(top, 0, per));
    const InMemoryBatch b1 = owner.encrypt_batch(A, y, kRows, 2 * kRows, MinibatchLevels::x(top, 1, per),
                                                 MinibatchLevels::xb(top, 1, per));
    server.step(state2, b0, options);
    server.step(state2, b1, options);
    batch2 = owner.encrypt_batch(A, y, 2 * kRows, 3 * kRows, MinibatchLevels::x(top, 2, per),
                                 MinibatchLevels::xb(top, 2, per));
    owner.write_batch(cache, 2, A, y, 2 * kRows, 3 * kRows, MinibatchLevels::x(top, 2, per),
                      MinibatchLevels::xb(top, 2, per));
    MinibatchWeights s = state2;
    server.step(s, batch2, options);
    const std::vector<double> w = owner.decrypt_weights(s.w);
    const std::vector<double> twin = logreg_minibatch_train(A, y, plan, options).w.back();
    double err = 0;
    for (std::size_t j = 0; j < w.size(); ++j) err = std::max(err, std::fabs(w[j] - twin[j]));
    if (!(err <= 1e-4)) {
      std::fprintf(stderr, "bench_ml: self-check of logreg mini-batch failed: max weight error %.3g > 1e-4\n", err);
      std::abort();
    }
  }
};

MinibatchFixture& fixture() {
  static MinibatchFixture f;
  return f;
}

// One iteration t = 2 on batch 2, read from memory or from the cache directory.
void run_iteration(benchmark::State& state, bool disk) {
  MinibatchFixture& f = fixture();
  const CachedBatch cached(f.ctx, f.cache, 2, f.layout.chunks(MinibatchFixture::kRows));
  const EncryptedBatch& batch = disk ? static_cast<const EncryptedBatch&>(cached) : f.batch2;
  for (auto _ : state) {
    MinibatchWeights s = f.state2;
    f.server.step(s, batch, f.options);
    benchmark::DoNotOptimize(s.w);
  }
  state.counters["levels"] = MinibatchServer::levels_per_iteration(3);
  state.counters["chunks"] = static_cast<double>(f.layout.chunks(MinibatchFixture::kRows));
}

void BM_minibatch_iteration_memory(benchmark::State& state) { run_iteration(state, false); }
void BM_minibatch_iteration_disk(benchmark::State& state) { run_iteration(state, true); }

}  // namespace

BENCHMARK(BM_minibatch_iteration_memory)
    ->Name("LogregMinibatch/iteration/logN=15/rows:1024/source:memory")
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_minibatch_iteration_disk)
    ->Name("LogregMinibatch/iteration/logN=15/rows:1024/source:disk")
    ->Unit(benchmark::kSecond);

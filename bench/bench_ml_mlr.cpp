// Encrypted multiclass logistic regression (ml/mlr/mlr_encrypted.h) on scikit-learn's digits: the
// whole training split (1438 rows = seed-1 80/20 split, pixels / 16, 10 classes), Params::preset_n15().
//
//   Mlr/train/logN=15/n=1438/iterations=1   iteration 0 only (V_0 = 0: one constant product and
//                                           the gradient, 2 levels, 9·7 rotations)
//   Mlr/train/logN=15/n=1438/iterations=2   iteration 0 plus one full iteration (5 levels,
//                                           12·6 + 9·7 = 135 rotations)
// The difference between the two is the cost of one full training iteration at the top of the
// chain; later iterations run at lower levels and are cheaper. Keys and the encrypted data (about
// 5 GB: 13 Galois keys of ~200 MB and 2·108 + 12 ciphertexts of ~10 MB) are made once, outside
// the timed region.
#include <benchmark/benchmark.h>

#include <memory>

#include "ckks/context.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/mlr/mlr_encrypted.h"

namespace {

struct MlrSetup {
  ckks::ContextPtr ctx;
  std::unique_ptr<ckks::ml::MlrDataOwner> owner;
  std::unique_ptr<ckks::ml::MlrServer> server;
  ckks::ml::EncryptedMlrData data;
};

MlrSetup& setup() {
  static MlrSetup s = [] {
    MlrSetup m;
    ckks::ml::Dataset ds = ckks::ml::read_sklearn_digits(ckks::ml::sklearn_data("digits.csv.gz"));
    for (auto& row : ds.X)
      for (auto& v : row) v /= ckks::ml::kDigitsMaxPixel;
    const ckks::ml::Split split = ckks::ml::train_test_split(ds, 0.2, 1);
    const auto A = ckks::ml::with_bias_column(split.train.X);
    m.ctx = ckks::Context::create(ckks::Params::preset_n15());
    m.owner = std::make_unique<ckks::ml::MlrDataOwner>(m.ctx, 1);
    m.data = m.owner->encrypt(A, split.train.y, 10);
    m.server = std::make_unique<ckks::ml::MlrServer>(m.ctx, m.owner->relin_key(), m.owner->galois_keys(m.data.layout));
    return m;
  }();
  return s;
}

void mlr_train(benchmark::State& state, int iterations) {
  MlrSetup& s = setup();
  ckks::ml::MlrOptions o;
  o.iterations = iterations;
  for (auto _ : state) benchmark::DoNotOptimize(s.server->train(s.data, o));
  state.counters["levels"] = ckks::ml::MlrServer::levels_needed(o.iterations, o.sigmoid_degree);
  state.counters["ciphertexts"] = static_cast<double>(s.data.layout.ciphertexts);
}
void BM_MlrTrain1(benchmark::State& state) { mlr_train(state, 1); }
void BM_MlrTrain2(benchmark::State& state) { mlr_train(state, 2); }

}  // namespace

// One run of several seconds each exceeds bench_main's --benchmark_min_time, so each runs once.
BENCHMARK(BM_MlrTrain1)->Name("Mlr/train/logN=15/n=1438/iterations=1")->Unit(benchmark::kSecond);
BENCHMARK(BM_MlrTrain2)->Name("Mlr/train/logN=15/n=1438/iterations=2")->Unit(benchmark::kSecond);

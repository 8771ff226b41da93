// Training on encrypted data, server side only (the data are encrypted once, outside the timing):
//
//   Linreg/train/logN=15/iterations:K   SfhServer::train on Boston Housing (404 training rows,
//                                       13 features), K = 1 and 4: building M̃ (2 levels) plus
//                                       K one-level iterations (ml/linreg/linreg_encrypted.h)
//   Ridge/train/logN=15/iterations:K    the same with the ridge parameter λ = 10 (the plaintext λ·P
//                                       added to diag_0 of M̃: same levels), K = 1 and 4
//   LinregMulti/train/logN=15/outputs:3/iterations:K   SfhServer::train_outputs on Boston with the
//                                       targets MEDV, LSTAT, RM (10 features): M̃ built once, then
//                                       one ciphertext per output per iteration; K = 1 and 2
//   Lffr/train/logN=15/iterations:K     LffrServer::train on Boston (MEDV normalised into (0.1, 0.9)),
//                                       degree-7 sigmoid on [−2, 2], K = 1 and 2: the first step
//                                       (1 level) plus K − 1 full ones (5 levels each; ml/lffr/)
//   Logreg/train/logN=15/iterations:K   LogregServer::train on breast cancer (455 training rows,
//                                       30 features), K = 1 and 2: the first iteration (2 levels)
//                                       plus K − 1 full ones (5 levels each; ml/logreg/logreg_encrypted.h)
//
// One iteration's cost is the difference between the two rows of a model (for logreg, the
// K = 2 row minus the K = 1 row is exactly one full iteration). Parameters: Params::preset_n15()
// (N = 2^15, q = {60, 40 × 18}, p = {60}, 128-bit secure), as `ckks-ml linreg/logreg` use.
// Each fixture decrypts one result and aborts unless it matches the plaintext run of the same
// algorithm, so a benchmark never times a broken model.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ckks/context.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/lffr/lffr_encrypted.h"
#include "ml/lffr/lffr_plain.h"
#include "ml/linreg/linreg_encrypted.h"
#include "ml/linreg/linreg_job.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_encrypted.h"
#include "ml/logreg/logreg_plain.h"

namespace {

using namespace ckks;
using namespace ckks::ml;


void require(const char* what, double err, double bound) {
  if (!(err <= bound)) {
    std::fprintf(stderr, "bench_ml: self-check of %s failed: max weight error %.3g > %.3g\n", what, err, bound);
    std::abort();
  }
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double e = 0;
  for (std::size_t i = 0; i < a.size(); ++i) e = std::max(e, std::fabs(a[i] - b[i]));
  return e;
}

// The training matrix A = [X | 1] of a dataset's standardised training split (seed 1, 20% held out).
struct TrainingData {
  std::vector<std::vector<double>> A;
  std::vector<double> y;
};

TrainingData training_data(const Dataset& ds, bool standardise_y) {
  const Split split = train_test_split(ds, 0.2, 1);
  const Standardizer z = Standardizer::fit(split.train);
  const Dataset train = z.apply(split.train);
  return {with_bias_column(train.X), standardise_y ? train.y : split.train.y};
}

struct LinregFixture {
  ContextPtr ctx = Context::create(Params::preset_n15());
  TrainingData data = training_data(select_target(read_csv(sklearn_data("boston_house_prices.csv")), "MEDV"), true);
  SfhLayout layout = SfhLayout::make(data.A.size(), data.A[0].size() - 1, ctx->max_slots());
  SfhDataOwner owner{ctx, 1};
  EncryptedTrainingSet enc = owner.encrypt(data.A, data.y);
  SfhServer server{ctx, owner.relin_key(), owner.galois_keys(layout)};
  LinregFixture() {
    const auto w = owner.decrypt_weights(server.train(enc, 1), layout);
    require("linreg", max_diff(w, sfh_train(data.A, data.y, 1).back()), 1e-3);
  }
};

void BM_linreg_train(benchmark::State& state) {
  static LinregFixture f;
  const int k = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.server.train(f.enc, k));
  state.counters["levels"] = SfhServer::levels_needed(k);
}

struct RidgeFixture {
  static constexpr double kLambda = 10.0;
  ContextPtr ctx = Context::create(Params::preset_n15());
  TrainingData data = training_data(select_target(read_csv(sklearn_data("boston_house_prices.csv")), "MEDV"), true);
  SfhDataOwner owner{ctx, 2};
  EncryptedTrainingSet enc = owner.encrypt(data.A, {data.y}, kLambda);
  SfhServer server{ctx, owner.relin_key(), owner.galois_keys(enc.layout)};
  RidgeFixture() {
    const auto w = owner.decrypt_weights(server.train(enc, 1), enc.layout);
    require("ridge", max_diff(w, sfh_train(data.A, data.y, 1, kLambda).back()), 1e-3);
  }
};

void BM_ridge_train(benchmark::State& state) {
  static RidgeFixture f;
  const int k = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.server.train(f.enc, k));
  state.counters["levels"] = SfhServer::levels_needed(k);
}

// Boston with three targets: the standardised training matrix and the three standardised targets.
struct MultiData {
  std::vector<std::vector<double>> A;
  std::vector<std::vector<double>> Y;
};

MultiData multi_data() {
  const RegressionSplit rs =
      load_regression_split(sklearn_data("boston_house_prices.csv"), "MEDV,LSTAT,RM", 0.2, 1, "bench");
  MultiData d;
  for (const Split& s : rs.splits) {
    const Standardizer z = Standardizer::fit(s.train);
    const Dataset train = z.apply(s.train);
    if (d.A.empty()) d.A = with_bias_column(train.X);
    d.Y.push_back(train.y);
  }
  return d;
}

struct LinregMultiFixture {
  ContextPtr ctx = Context::create(Params::preset_n15());
  MultiData data = multi_data();
  SfhDataOwner owner{ctx, 3};
  EncryptedTrainingSet enc = owner.encrypt(data.A, data.Y, 0.0);
  SfhServer server{ctx, owner.relin_key(), owner.galois_keys(enc.layout)};
  LinregMultiFixture() {
    const auto ws = server.train_outputs(enc, 1);
    for (std::size_t k = 0; k < ws.size(); ++k)
      require("linreg (several outputs)",
              max_diff(owner.decrypt_weights(ws[k], enc.layout, nullptr, k), sfh_train(data.A, data.Y[k], 1).back()),
              1e-3);
  }
};

void BM_linreg_multi_train(benchmark::State& state) {
  static LinregMultiFixture f;
  const int k = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.server.train_outputs(f.enc, k));
  state.counters["levels"] = SfhServer::levels_needed(k);
}

struct LffrFixture {
  ContextPtr ctx = Context::create(Params::preset_n15());
  TrainingData data = training_data(select_target(read_csv(sklearn_data("boston_house_prices.csv")), "MEDV"), false);
  std::vector<double> u = unit_targets(data.y);
  LffrSigmoid sigmoid = LffrSigmoid::make(2.0, 7);
  LffrDataOwner owner{ctx, 4};
  EncryptedLffrSet enc = owner.encrypt(data.A, {u}, sigmoid);
  LffrServer server{ctx, owner.relin_key(), owner.galois_keys(enc.layout)};
  static std::vector<double> unit_targets(const std::vector<double>& y) {
    const TargetScaling s = TargetScaling::fit(y, "MEDV");
    std::vector<double> u;
    for (double v : y) u.push_back(s.to_unit(v));
    return u;
  }
  LffrFixture() {
    const auto w = owner.decrypt_weights(server.train(enc, 2, sigmoid)[0], enc.layout, sigmoid);
    require("lffr", max_diff(w, lffr_train(data.A, u, 2, sigmoid).iterates.back()), 1e-3);
  }
};

void BM_lffr_train(benchmark::State& state) {
  static LffrFixture f;
  const int k = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.server.train(f.enc, k, f.sigmoid));
  state.counters["levels"] = LffrServer::levels_needed(k, 7);
}

struct LogregFixture {
  ContextPtr ctx = Context::create(Params::preset_n15());
  TrainingData data = training_data(read_sklearn_csv(sklearn_data("breast_cancer.csv")).data, false);
  LogregDataOwner owner{ctx, 1};
  EncryptedLogregData enc = owner.encrypt(data.A, data.y);
  LogregServer server{ctx, owner.relin_key(), owner.galois_keys(enc.layout)};
  LogregFixture() {
    LogregOptions o;
    o.iterations = 2;
    const auto w = owner.decrypt_weights(server.train(enc, o), enc.layout);
    require("logreg", max_diff(w, logreg_nag_train(data.A, data.y, o).w.back()), 1e-2);
  }
};

void BM_logreg_train(benchmark::State& state) {
  static LogregFixture f;
  LogregOptions o;
  o.iterations = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(f.server.train(f.enc, o));
  state.counters["levels"] = LogregServer::levels_needed(o.iterations, o.sigmoid_degree);
}

}  // namespace

BENCHMARK(BM_linreg_train)->Name("Linreg/train/logN=15")->ArgName("iterations")->Arg(1)->Arg(4)
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_ridge_train)->Name("Ridge/train/logN=15")->ArgName("iterations")->Arg(1)->Arg(4)
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_linreg_multi_train)->Name("LinregMulti/train/logN=15/outputs:3")->ArgName("iterations")->Arg(1)->Arg(2)
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_lffr_train)->Name("Lffr/train/logN=15")->ArgName("iterations")->Arg(1)->Arg(2)
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_logreg_train)->Name("Logreg/train/logN=15")->ArgName("iterations")->Arg(1)->Arg(2)
    ->Unit(benchmark::kSecond);

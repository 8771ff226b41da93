// bench_ml: encrypted k-nearest-neighbour inference (ml/knn/knn_encrypted.h) on real data.
//
//   Knn/decrypt_distances/logN=14/refs=405/d=13/queries=101    mode 1, Boston Housing: the server's
//                       squared distances for the whole test split (one query per slot) against the
//                       whole training split, Params::preset_n14 at level 1
//   Knn/decrypt_distances/logN=14/refs=100/d=784/queries=300   mode 1, Fashion-MNIST subset (pixels
//                       0..255): 100 of the 1000 references `ckks-ml knn --task classify` uses
//   Knn/encrypted_ranking/logN=11/n=8/d=13/queries=16/INSECURE mode 2 on a teaching-size ring
//                       (N = 2^11, insecure; steep steps of degree 63): the whole circuit for one
//                       ciphertext of 16 Boston queries. The 128-bit N = 2^16 run (knn_ranking_params,
//                       ≈ 5 GB of keys) takes minutes per ciphertext and is measured by
//                       `ckks-ml knn --mode encrypted` instead.
// Counter: queries per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/data/sklearn.h"
#include "ml/knn/knn_encrypted.h"

namespace {

using namespace ckks;
using ml::KnnMatrix;

const std::string kBoston = ckks::ml::sklearn_data("boston_house_prices.csv");

struct Boston {
  KnnMatrix refs, queries;
  std::vector<double> ref_y;
  Boston() {
    const auto split = ml::train_test_split(ml::select_target(ml::read_csv(kBoston), "MEDV"), 0.2, 1);
    const auto z = ml::Standardizer::fit(split.train);
    refs = z.apply(split.train).X;
    queries = z.apply(split.test).X;
    ref_y = split.train.y;
  }
};

double unit_of(const KnnMatrix& m) {
  double u = 1;
  for (const auto& r : m)
    for (double v : r) u = std::max(u, std::fabs(v));
  return u;
}

KnnMatrix pixels(const ml::ImageSet& s) {
  KnnMatrix X;
  for (const auto& im : s.images) {
    std::vector<double> row;
    for (float v : im) row.push_back(std::round(double(v) * 255));
    X.push_back(row);
  }
  return X;
}

void run_distances(benchmark::State& state, const KnnMatrix& refs, const KnnMatrix& queries) {
  auto ctx = Context::create(Params::preset_n14());
  ml::KnnClient client(ctx);
  const double unit = unit_of(refs);
  const ml::KnnDistanceServer server(ctx, refs, unit);
  const auto enc = client.encrypt_queries(queries, unit, 1);
  for (auto _ : state) benchmark::DoNotOptimize(server.distances(enc));
  state.counters["queries_per_second"] =
      benchmark::Counter(static_cast<double>(queries.size()) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_DistancesBoston(benchmark::State& state) {
  static const Boston b;
  run_distances(state, b.refs, b.queries);
}
BENCHMARK(BM_DistancesBoston)->Name("Knn/decrypt_distances/logN=14/refs=405/d=13/queries=101")->Unit(benchmark::kMillisecond);

void BM_DistancesFmnist(benchmark::State& state) {
  static const KnnMatrix refs = pixels(ml::load_fashion_mnist(ml::kDebianFashionMnistDir, true, 100));
  static const KnnMatrix queries = pixels(ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, 300));
  run_distances(state, refs, queries);
}
BENCHMARK(BM_DistancesFmnist)->Name("Knn/decrypt_distances/logN=14/refs=100/d=784/queries=300")->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_RankingSmall(benchmark::State& state) {
  static const Boston b;
  Params p;
  p.log_n = 11;
  p.log_q.assign(37, 36);
  p.log_q[0] = 50;
  p.log_p = {60, 60, 60, 60, 60};
  p.dnum = 6;
  p.log_scale = 36;
  p.allow_insecure = true;
  auto ctx = Context::create(p);
  const auto lay = ml::KnnRankLayout::make(8, 13, ctx->max_slots());
  const KnnMatrix refs(b.refs.begin(), b.refs.begin() + 8);
  const std::vector<double> y(b.ref_y.begin(), b.ref_y.begin() + 8);
  ml::KnnRankOptions o;
  o.k = 3;
  o.steep_degree_distance = 63;
  o.steep_degree_rank = 63;
  o.compositions_distance = 3;
  o.compositions_rank = 2;
  double spread = 0;
  for (const auto& t : b.refs) {
    const auto d = ml::squared_distances(refs, t);
    spread = std::max(spread, *std::max_element(d.begin(), d.end()) - *std::min_element(d.begin(), d.end()));
  }
  const double unit = unit_of(b.refs);
  const ml::KnnRankServer server(ctx, lay, refs, y, unit, 1.25 * spread, o);
  ml::KnnClient client(ctx);
  const auto rk = client.relin_key();
  const auto gk = client.galois_keys(server.rotation_steps());
  const KnnMatrix q(b.queries.begin(), b.queries.begin() + 16);
  const Ciphertext ct = client.encrypt_segments(q, lay, unit, server.levels_needed());
  for (auto _ : state) benchmark::DoNotOptimize(server.predict(ct, rk, gk));
  state.counters["queries_per_second"] =
      benchmark::Counter(16.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RankingSmall)->Name("Knn/encrypted_ranking/logN=11/n=8/d=13/queries=16/INSECURE")->Unit(benchmark::kMillisecond);

}  // namespace

// k-nearest neighbours: the plaintext reference (ties), the decrypted-distance mode (the SAME
// neighbours as plaintext on every query of real subsets), the fully encrypted ranking mode
// (agreement on real subsets, levels as counted), and the errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/data/sklearn.h"
#include "ml/knn/knn_encrypted.h"
#include "ml/knn/knn_job.h"
#include "ml/knn/knn_plain.h"

using namespace ckks;
using ml::KnnMatrix;
using ml::KnnTask;

namespace {
const std::string kBoston = ckks::ml::sklearn_data("boston_house_prices.csv");
const std::string kIris = ckks::ml::sklearn_data("iris.csv");

struct Data {
  KnnMatrix refs, queries;
  std::vector<double> ref_y, query_y;
};

// Seeded 80/20 split, features standardised on the training rows, first R / Q rows kept.
Data standardised(const ml::Dataset& ds, std::size_t R, std::size_t Q) {
  const auto split = ml::train_test_split(ds, 0.2, 1);
  const auto z = ml::Standardizer::fit(split.train);
  Data d;
  d.refs = z.apply(split.train).X;
  d.queries = z.apply(split.test).X;
  d.ref_y = split.train.y;
  d.query_y = split.test.y;
  d.refs.resize(R);
  d.ref_y.resize(R);
  d.queries.resize(Q);
  d.query_y.resize(Q);
  return d;
}

Data boston(std::size_t R, std::size_t Q) { return standardised(ml::select_target(ml::read_csv(kBoston), "MEDV"), R, Q); }

double max_abs(const KnnMatrix& m) {
  double u = 1;
  for (const auto& r : m)
    for (double v : r) u = std::max(u, std::fabs(v));
  return u;
}

// The insecure small ring for the ranking tests: N = 2^11, 36 levels of 36 bits.
Params small_rank_ring() {
  Params p;
  p.log_n = 11;
  p.log_q.assign(37, 36);
  p.log_q[0] = 50;
  p.log_p = {60, 60, 60, 60, 60};
  p.dnum = 6;
  p.log_scale = 36;
  p.allow_insecure = true;
  return p;
}

double beta_from(const KnnMatrix& refs, const KnnMatrix& proxies) {
  double spread = 0;
  for (const auto& t : proxies) {
    const auto d = ml::squared_distances(refs, t);
    spread = std::max(spread, *std::max_element(d.begin(), d.end()) - *std::min_element(d.begin(), d.end()));
  }
  return 1.25 * spread;
}
}  // namespace

TEST_CASE("ml/knn plain: ties go to the lower index, vote ties to the nearest neighbour's class") {
  const KnnMatrix refs = {{0, 0}, {1, 0}, {0, 1}, {3, 3}, {-1, 0}};
  const std::vector<double> y = {7, 1, 2, 2, 1};
  const auto d = ml::squared_distances(refs, {0, 0});
  CHECK(d == std::vector<double>{0, 1, 1, 18, 1});
  // References 1, 2 and 4 tie at distance 1: the lower indices come first.
  CHECK(ml::k_nearest(d, 3) == std::vector<std::size_t>{0, 1, 2});
  CHECK(ml::k_nearest(d, 4) == std::vector<std::size_t>{0, 1, 2, 4});
  CHECK(ml::knn_mean({0, 1, 2}, y) == doctest::Approx(10.0 / 3));
  // Votes {7: 1, 1: 1, 2: 1}: a three-way tie, the nearest (index 0, class 7) wins.
  CHECK(ml::knn_vote({0, 1, 2}, y) == 7);
  // Votes {1: 2, 2: 2, 7: 1} for neighbours 1, 2, 4, 3, 0: classes 1 and 2 tie, neighbour 1 (class 1) is nearer.
  CHECK(ml::knn_vote({1, 2, 4, 3, 0}, y) == 1);
  CHECK(ml::knn_predict(refs, y, {{0, 0}, {3, 2.9}}, 1, KnnTask::Classify) == std::vector<double>{7, 2});
}

TEST_CASE("ml/knn plain rejects k = 0, k > references, ragged rows, wrong query sizes and bad labels") {
  const KnnMatrix refs = {{0, 0}, {1, 0}};
  const std::vector<double> y = {0, 1};
  auto msg = [](auto f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg([&] { ml::knn_predict(refs, y, {{0, 0}}, 0, KnnTask::Regress); }).find("k = 0") != std::string::npos);
  CHECK(msg([&] { ml::knn_predict(refs, y, {{0, 0}}, 3, KnnTask::Regress); }).find("choose 1 ≤ k ≤ 2") != std::string::npos);
  CHECK(msg([&] { ml::knn_predict({{0, 0}, {1}}, y, {{0, 0}}, 1, KnnTask::Regress); }).find("same features") !=
        std::string::npos);
  CHECK(msg([&] { ml::knn_predict(refs, y, {{0, 0, 0}}, 1, KnnTask::Regress); }).find("the query has 3 features") !=
        std::string::npos);
  CHECK(msg([&] { ml::knn_predict(refs, {0, 1.5}, {{0, 0}}, 1, KnnTask::Classify); }).find("integer class labels") !=
        std::string::npos);
  CHECK(msg([&] { ml::knn_predict(refs, {0}, {{0, 0}}, 1, KnnTask::Regress); }).find("one target per row") !=
        std::string::npos);
}

TEST_CASE("ml/knn decrypted distances on Boston (120 refs × 40 queries): the plaintext neighbours on every query") {
  const Data d = boston(120, 40);
  auto ctx = Context::create(Params::preset_n13());
  ml::KnnClient client(ctx, 11);
  const double unit = max_abs(d.refs);
  const ml::KnnDistanceServer server(ctx, d.refs, unit);
  const auto enc = client.encrypt_queries(d.queries, unit, 1);
  const auto out = server.distances(enc);
  REQUIRE(out.size() == 120);
  CHECK(out[0].level == 0);
  const KnnMatrix dist = client.decrypt_distances(out, d.queries.size(), unit, false);
  double max_err = 0, min_gap = 1e9;
  for (std::size_t b = 0; b < d.queries.size(); ++b) {
    const auto plain = ml::squared_distances(d.refs, d.queries[b]);
    for (std::size_t r = 0; r < plain.size(); ++r) max_err = std::max(max_err, std::fabs(dist[b][r] - plain[r]));
    auto s = plain;
    std::sort(s.begin(), s.end());
    min_gap = std::min(min_gap, s[5] - s[4]);
    CHECK(ml::k_nearest(dist[b], 5) == ml::k_nearest(plain, 5));
  }
  MESSAGE("max distance error " << max_err << ", smallest 5th/6th gap " << min_gap);
  CHECK(max_err < 1e-4);
}

TEST_CASE("ml/knn decrypted distances on Fashion-MNIST (60 refs × 20 queries, pixels 0..255): exact integer distances") {
  const auto train = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, true, 60);
  const auto test = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, 20);
  auto pixels = [](const ml::ImageSet& s) {
    KnnMatrix X;
    for (const auto& im : s.images) {
      std::vector<double> row;
      for (float v : im) row.push_back(std::round(double(v) * 255));
      X.push_back(row);
    }
    return X;
  };
  const KnnMatrix refs = pixels(train), queries = pixels(test);
  auto ctx = Context::create(Params::preset_n13());
  ml::KnnClient client(ctx, 12);
  const ml::KnnDistanceServer server(ctx, refs, 255.0);
  const KnnMatrix dist = client.decrypt_distances(server.distances(client.encrypt_queries(queries, 255.0, 1)),
                                                  queries.size(), 255.0, true);
  for (std::size_t b = 0; b < queries.size(); ++b) {
    const auto plain = ml::squared_distances(refs, queries[b]);
    CHECK(dist[b] == plain);  // every distance recovered exactly after rounding
    CHECK(ml::k_nearest(dist[b], 5) == ml::k_nearest(plain, 5));
  }
}

TEST_CASE("ml/knn fully encrypted ranking, Boston regressor (8 refs, 16 queries): levels as counted, agreement") {
  const Data d = boston(200, 16);
  const KnnMatrix refs(d.refs.begin(), d.refs.begin() + 8);
  const std::vector<double> y(d.ref_y.begin(), d.ref_y.begin() + 8);
  auto ctx = Context::create(small_rank_ring());
  const auto lay = ml::KnnRankLayout::make(8, 13, ctx->max_slots());
  CHECK(lay.queries_per_ciphertext() == 16);
  ml::KnnRankOptions o;
  o.k = 3;
  o.steep_degree_distance = 63;  // small steep steps keep the test fast (6 levels each)
  o.steep_degree_rank = 63;
  o.compositions_distance = 3;
  o.compositions_rank = 2;
  const double unit = max_abs(d.refs);
  const ml::KnnRankServer server(ctx, lay, refs, y, unit, beta_from(refs, d.refs), o);
  CHECK(server.levels_needed() == 3 + (6 + 9) + (6 + 6));
  ml::KnnClient client(ctx, 13);
  const auto rk = client.relin_key();
  const auto gk = client.galois_keys(server.rotation_steps());
  const Ciphertext ct = client.encrypt_segments(d.queries, lay, unit, server.levels_needed());
  const Ciphertext out = server.predict(ct, rk, gk);
  CHECK(out.level == 0);
  const auto pred = client.decode_regression(out, lay, 16);
  const auto plain = ml::knn_predict(refs, y, d.queries, 3, KnnTask::Regress);
  std::size_t agree = 0;
  double max_err = 0;
  for (std::size_t b = 0; b < 16; ++b) {
    max_err = std::max(max_err, std::fabs(pred[b] - plain[b]));
    agree += std::fabs(pred[b] - plain[b]) < 0.1;  // MEDV in $1000s; 1% of its std is ≈ 0.09
  }
  MESSAGE("encrypted ranking: " << agree << "/16 within 0.1 of the plaintext prediction, max error " << max_err);
  CHECK(agree >= 14);
}

TEST_CASE("ml/knn fully encrypted ranking, iris classifier (8 refs, 16 queries): encrypted votes decide the class") {
  const auto iris = ml::read_sklearn_csv(kIris).data;
  const Data d = standardised(iris, 100, 16);
  // 8 references covering the three classes (the first 8 rows of the shuffled training split).
  const KnnMatrix refs(d.refs.begin(), d.refs.begin() + 8);
  const std::vector<double> y(d.ref_y.begin(), d.ref_y.begin() + 8);
  auto ctx = Context::create(small_rank_ring());
  const auto lay = ml::KnnRankLayout::make(8, 4, ctx->max_slots());
  ml::KnnRankOptions o;
  o.k = 3;
  o.task = KnnTask::Classify;
  o.steep_degree_distance = 63;  // small steep steps keep the test fast (6 levels each)
  o.steep_degree_rank = 63;
  o.compositions_distance = 3;
  o.compositions_rank = 2;
  const double unit = max_abs(d.refs);
  const ml::KnnRankServer server(ctx, lay, refs, y, unit, beta_from(refs, d.refs), o);
  CHECK(server.levels_needed() == 4 + (6 + 9) + (6 + 6));
  ml::KnnClient client(ctx, 14);
  const auto rk = client.relin_key();
  const auto gk = client.galois_keys(server.rotation_steps());
  const Ciphertext out =
      server.predict(client.encrypt_segments(d.queries, lay, unit, server.levels_needed()), rk, gk);
  KnnMatrix votes, nearest;
  client.decode_votes(out, lay, 16, server.classes(), votes, nearest);
  const auto plain = ml::knn_predict(refs, y, d.queries, 3, KnnTask::Classify);
  std::size_t agree = 0, sharp = 0;
  for (std::size_t b = 0; b < 16; ++b) {
    double total = 0;
    for (double v : votes[b]) total += v;
    // k votes in all, unless a near-tie leaves some selections fractional (then fewer).
    sharp += std::fabs(total - 3) < 0.1;
    CHECK(total < 3.1);
    agree += ml::decide_vote(votes[b], nearest[b]) == plain[b];
  }
  MESSAGE("encrypted ranking (iris): " << agree << "/16 same class as plaintext, " << sharp
                                        << "/16 with k votes in all");
  CHECK(agree >= 15);
  CHECK(sharp >= 14);
}

TEST_CASE("ml/knn encrypted modes reject bad dimensions, k and too few levels with clear errors") {
  auto what = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(what([] { ml::KnnRankLayout::make(6, 4, 1024); }).find("power of two in [4, 64]") != std::string::npos);
  CHECK(what([] { ml::KnnRankLayout::make(8, 65, 1024); }).find("use at least 16 references") != std::string::npos);
  CHECK(what([] { ml::KnnRankLayout::make(64, 4, 1024); }).find("exceeds N/2") != std::string::npos);
  auto ctx = Context::create(small_rank_ring());
  const auto lay = ml::KnnRankLayout::make(8, 2, ctx->max_slots());
  const KnnMatrix refs = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 0}, {0, 2}, {2, 2}, {3, 0}};
  const std::vector<double> y = {0, 1, 2, 3, 4, 5, 6, 7};
  ml::KnnRankOptions o;
  o.k = 9;
  CHECK(what([&] { ml::KnnRankServer(ctx, lay, refs, y, 1.0, 10.0, o); }).find("choose 1 ≤ k ≤ 8") != std::string::npos);
  o.k = 0;
  CHECK(what([&] { ml::KnnRankServer(ctx, lay, refs, y, 1.0, 10.0, o); }).find("k = 0") != std::string::npos);
  o.k = 3;
  o.task = KnnTask::Classify;
  CHECK(what([&] { ml::KnnRankServer(ctx, lay, refs, y, 1.0, 10.0, o); }).find("8 classes need") != std::string::npos);
  o.task = KnnTask::Regress;
  const ml::KnnRankServer server(ctx, lay, refs, y, 1.0, 10.0, o);
  ml::KnnClient client(ctx, 15);
  CHECK(what([&] { client.encrypt_segments({{1, 2, 3}}, lay, 1.0, 30); }).find("the references have 2") !=
        std::string::npos);
  // A ciphertext with fewer levels than the circuit needs: LevelError naming both numbers.
  const Ciphertext low = client.encrypt_segments({{1, 2}}, lay, 1.0, 10);
  const std::string lv = what([&] { server.predict(low, client.relin_key(), GaloisKeys{}); });
  CHECK(lv.find("needs " + std::to_string(server.levels_needed()) + " levels but the queries are at level 10") !=
        std::string::npos);
  // Mode 1: a chain without a level to rescale.
  CHECK(what([&] { client.encrypt_queries({{1, 2}}, 1.0, 0); }).find("outside [1,") != std::string::npos);
  // The job: k larger than the reference set, and non-integer labels for the classifier.
  ml::KnnJobOptions jo;
  jo.run_encrypted = false;
  jo.references = 10;
  jo.k = 11;
  CHECK(what([&] { ml::run_knn_job(jo); }).find("choose 1 ≤ k ≤ 10") != std::string::npos);
  jo.k = 3;
  jo.task = KnnTask::Classify;
  jo.data = kBoston;
  jo.target = "MEDV";
  CHECK(what([&] { ml::run_knn_job(jo); }).find("integer class labels") != std::string::npos);
}

// Encrypted SFH linear regression on a real subset of Boston Housing, against the plaintext run of
// the same algorithm (ml/linreg/linreg_plain.h).
#include <doctest/doctest.h>

#include <cmath>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_encrypted.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"

using namespace ckks;

namespace {
// N = 2^13 with a 30-bit scale: q {40, 30×4}, p {40} = 200 bits ≤ 218, 128-bit secure; depth 4.
Params small_chain() {
  Params p;
  p.log_n = 13;
  p.log_q = {40, 30, 30, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  return p;
}

struct BostonSubset {
  std::vector<std::vector<double>> A, A_test;
  std::vector<double> y, y_test_raw;
  ml::Standardizer z;
};

BostonSubset boston_subset(std::size_t train_rows) {
  const auto table = ml::read_csv(ckks::ml::sklearn_data("boston_house_prices.csv"));
  auto split = ml::train_test_split(ml::select_target(table, "MEDV"), 0.2, 1);
  split.train.X.resize(train_rows);
  split.train.y.resize(train_rows);
  BostonSubset s;
  s.z = ml::Standardizer::fit(split.train);
  const auto tr = s.z.apply(split.train), te = s.z.apply(split.test);
  s.A = ml::with_bias_column(tr.X);
  s.y = tr.y;
  s.A_test = ml::with_bias_column(te.X);
  s.y_test_raw = split.test.y;
  return s;
}
}  // namespace

TEST_CASE("ml/linreg_encrypted: layout and rotation steps") {
  const auto l = ml::SfhLayout::make(405, 13, 8192);
  CHECK(l.block == 16);
  CHECK(l.blocks == 512);
  CHECK(l.slots() == 8192);
  CHECK(l.baby() == 4);
  CHECK(l.rotation_steps() == std::vector<int>{1, 2, 3, 4, 8, 12, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096});
  CHECK_THROWS_WITH_AS(ml::SfhLayout::make(405, 13, 4096), doctest::Contains("preset_n16"), ParameterError);
  CHECK_THROWS_AS(ml::SfhLayout::make(0, 13, 8192), InputError);
}

TEST_CASE("ml/linreg_encrypted: Boston subset, encrypted training equals the plaintext algorithm") {
  const auto data = boston_subset(120);
  auto ctx = Context::create(small_chain());
  REQUIRE(ctx->security_bits() == 128);
  const int iterations = 2;
  ml::SfhDataOwner owner(ctx, 7);  // fixed seed: tests only
  const auto enc = owner.encrypt(data.A, data.y);
  ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
  const Ciphertext w_enc = server.train(enc, iterations);
  CHECK(w_enc.level == ctx->max_level() - ml::SfhServer::levels_needed(iterations));
  double one = 0;
  const auto w = owner.decrypt_weights(w_enc, enc.layout, &one);
  const auto w_plain = ml::sfh_train(data.A, data.y, iterations).back();
  REQUIRE(w.size() == w_plain.size());
  double max_err = 0;
  for (std::size_t j = 0; j < w.size(); ++j) max_err = std::max(max_err, std::fabs(w[j] - w_plain[j]));
  CHECK(max_err < 1e-3);
  CHECK(std::fabs(one - 1.0) < 1e-3);

  auto r2_of = [&](const std::vector<double>& weights) {
    auto pred = ml::predict(data.A_test, weights);
    for (auto& p : pred) p = data.z.unscale_y(p);
    return ml::r2(pred, data.y_test_raw);
  };
  const double r2_e = r2_of(w), r2_p = r2_of(w_plain);
  MESSAGE("Boston subset (120 rows, 2 iterations): encrypted R2 " << r2_e << ", plaintext R2 " << r2_p
                                                                   << ", max weight error " << max_err);
  CHECK(std::fabs(r2_e - r2_p) < 1e-3);
  CHECK(r2_p > 0.3);  // the algorithm learns something after two iterations
}

TEST_CASE("ml/linreg_encrypted: bad input and too few levels give clear errors") {
  const auto data = boston_subset(40);
  auto ctx = Context::create(small_chain());
  ml::SfhDataOwner owner(ctx, 8);
  auto y_short = data.y;
  y_short.pop_back();
  CHECK_THROWS_AS(owner.encrypt(data.A, y_short), InputError);
  auto y_nan = data.y;
  y_nan[3] = std::nan("");
  CHECK_THROWS_AS(owner.encrypt(data.A, y_nan), InputError);
  const auto enc = owner.encrypt(data.A, data.y);
  ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
  CHECK_THROWS_WITH_AS(server.train(enc, 3), doctest::Contains("3 iterations need 5 levels"), LevelError);
  CHECK_THROWS_AS(server.train(enc, 0), InputError);
}

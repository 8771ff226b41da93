// Tests for ml/data/dataset.cpp: target selection, the seeded split, standardisation; and the
// header-only metrics.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/dataset.h"
#include "ml/metrics.h"

using ckks::InputError;
using namespace ckks::ml;

namespace {

// n rows; feature "id" holds the row index (so rows can be traced through a split), "sq" its
// square, target "t" = 2·id + 1.
Dataset indexed_dataset(std::size_t n) {
  // Aggregate-initialised: assigning a literal to ds.target_name trips GCC 12's false-positive
  // -Wrestrict at -O3 (GCC bug 105329).
  Dataset ds{{"id", "sq"}, std::string("t"), {}, {}};
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(i);
    ds.X.push_back({v, v * v});
    ds.y.push_back(2 * v + 1);
  }
  return ds;
}

std::vector<int> ids(const Dataset& ds) {
  std::vector<int> out;
  for (const auto& row : ds.X) out.push_back(static_cast<int>(row[0]));
  return out;
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError thrown");
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ml/select_target: picks the column and keeps the others in order") {
  const Table t{{"a", "b", "c"}, {{1, 2, 3}, {4, 5, 6}}};
  const Dataset ds = select_target(t, "b");
  CHECK(ds.feature_names == std::vector<std::string>{"a", "c"});
  CHECK(ds.target_name == "b");
  CHECK(ds.X == std::vector<std::vector<double>>{{1, 3}, {4, 6}});
  CHECK(ds.y == std::vector<double>{2, 5});
}

TEST_CASE("ml/select_target: errors") {
  const Table t{{"CRIM", "MEDV"}, {{1, 2}}};
  const auto msg = message_of([&] { (void)select_target(t, "medv"); });
  CHECK(contains(msg, "no column named \"medv\""));
  CHECK(contains(msg, "available columns: \"CRIM\", \"MEDV\""));
  CHECK(contains(message_of([] { (void)select_target(Table{{"y"}, {{1}}}, "y"); }),
                 "at least one feature"));
  CHECK_THROWS_AS((void)select_target(Table{{"a", "b"}, {}}, "b"), InputError);
  CHECK_THROWS_AS((void)select_target(Table{{"a", "b"}, {{1, 2}, {3}}}, "b"), InputError);
  CHECK_THROWS_AS((void)select_target(Table{{"a", "b"}, {{1, NAN}}}, "b"), InputError);
}

TEST_CASE("ml/train_test_split: sizes, disjointness, coverage and determinism") {
  const Dataset ds = indexed_dataset(10);
  const Split s = train_test_split(ds, 0.3, 42);
  REQUIRE(s.test.X.size() == 3);
  REQUIRE(s.train.X.size() == 7);
  CHECK(s.test.y.size() == 3);
  CHECK(s.train.y.size() == 7);
  CHECK(s.train.feature_names == ds.feature_names);
  CHECK(s.test.target_name == "t");
  // Rows travel intact (target still 2·id + 1).
  for (const Dataset* part : {&s.train, &s.test}) {
    for (std::size_t i = 0; i < part->X.size(); ++i) {
      CHECK(part->y[i] == 2 * part->X[i][0] + 1);
      CHECK(part->X[i][1] == part->X[i][0] * part->X[i][0]);
    }
  }
  // Disjoint, and together every row exactly once.
  std::vector<int> all = ids(s.train);
  const std::vector<int> test_ids = ids(s.test);
  all.insert(all.end(), test_ids.begin(), test_ids.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(10);
  for (int i = 0; i < 10; ++i) expected[static_cast<std::size_t>(i)] = i;
  CHECK(all == expected);
  // Deterministic for a seed; a different seed gives a different split.
  const Split again = train_test_split(ds, 0.3, 42);
  CHECK(ids(again.train) == ids(s.train));
  CHECK(ids(again.test) == ids(s.test));
  const Split other = train_test_split(ds, 0.3, 43);
  CHECK((ids(other.test) != ids(s.test) || ids(other.train) != ids(s.train)));
  // Rounding: 0.25·10 = 2.5 rounds to 3 (half away from zero).
  CHECK(train_test_split(ds, 0.25, 1).test.X.size() == 3);
  // Boston-sized: round(0.2·506) = 101.
  CHECK(train_test_split(indexed_dataset(506), 0.2, 1).test.X.size() == 101);
}

TEST_CASE("ml/train_test_split: errors") {
  const Dataset ds = indexed_dataset(10);
  CHECK(contains(message_of([&] { (void)train_test_split(ds, 0.01, 1); }), "both must be non-empty"));
  CHECK(contains(message_of([&] { (void)train_test_split(ds, 0.99, 1); }), "both must be non-empty"));
  CHECK_THROWS_AS((void)train_test_split(ds, 0.0, 1), InputError);
  CHECK_THROWS_AS((void)train_test_split(ds, 1.0, 1), InputError);
  CHECK_THROWS_AS((void)train_test_split(ds, NAN, 1), InputError);
  Dataset bad = ds;
  bad.y.pop_back();
  CHECK_THROWS_AS((void)train_test_split(bad, 0.3, 1), InputError);
}

TEST_CASE("ml/Standardizer: mean 0 and population std 1 on the training set") {
  const Split s = train_test_split(indexed_dataset(50), 0.2, 7);
  const Standardizer st = Standardizer::fit(s.train);
  const Dataset z = st.apply(s.train);
  const double n = static_cast<double>(z.X.size());
  for (std::size_t j = 0; j < 2; ++j) {
    double m = 0, v = 0;
    for (const auto& row : z.X) m += row[j];
    m /= n;
    for (const auto& row : z.X) v += (row[j] - m) * (row[j] - m);
    CHECK(std::fabs(m) < 1e-12);
    CHECK(std::fabs(std::sqrt(v / n) - 1.0) < 1e-12);
  }
  double ym = 0, yv = 0;
  for (double v : z.y) ym += v;
  ym /= n;
  for (double v : z.y) yv += (v - ym) * (v - ym);
  CHECK(std::fabs(ym) < 1e-12);
  CHECK(std::fabs(std::sqrt(yv / n) - 1.0) < 1e-12);
  // Applying to the test set uses the TRAIN statistics; unscale_y inverts the target scaling.
  const Dataset zt = st.apply(s.test);
  for (std::size_t i = 0; i < zt.y.size(); ++i) {
    CHECK(zt.X[i][0] == doctest::Approx((s.test.X[i][0] - st.mean[0]) / st.stddev[0]));
    CHECK(st.unscale_y(zt.y[i]) == doctest::Approx(s.test.y[i]).epsilon(1e-12));
  }
}

TEST_CASE("ml/Standardizer: exact statistics on a tiny set") {
  const Dataset ds{{"f"}, std::string("t"), {{1}, {3}}, {0, 4}};
  const Standardizer st = Standardizer::fit(ds);
  CHECK(st.mean == std::vector<double>{2});
  CHECK(st.stddev == std::vector<double>{1});  // population std, not sample (which is √2)
  CHECK(st.y_mean == 2);
  CHECK(st.y_std == 2);
  CHECK(st.apply(ds).X == std::vector<std::vector<double>>{{-1}, {1}});
}

TEST_CASE("ml/Standardizer: errors") {
  Dataset ds = indexed_dataset(5);
  ds.feature_names = {"id", "CHAS"};
  for (auto& row : ds.X) row[1] = 0.0;
  const auto msg = message_of([&] { (void)Standardizer::fit(ds); });
  CHECK(contains(msg, "feature \"CHAS\" is constant"));
  CHECK(contains(msg, "drop that column"));
  Dataset flat = indexed_dataset(5);
  for (double& v : flat.y) v = 3.0;
  CHECK(contains(message_of([&] { (void)Standardizer::fit(flat); }), "target \"t\" is constant"));
  CHECK_THROWS_AS((void)Standardizer::fit(indexed_dataset(1)), InputError);
  const Standardizer st = Standardizer::fit(indexed_dataset(5));
  Dataset one_feature;
  one_feature.feature_names = {"id"};
  one_feature.X = {{1}};
  one_feature.y = {1};
  CHECK_THROWS_AS((void)st.apply(one_feature), InputError);
}

TEST_CASE("ml/metrics: rmse and r2") {
  const std::vector<double> truth{1, 2, 3, 4};
  CHECK(rmse(truth, truth) == 0.0);
  CHECK(r2(truth, truth) == 1.0);
  CHECK(rmse({2, 3, 4, 5}, truth) == 1.0);
  CHECK(r2({2.5, 2.5, 2.5, 2.5}, truth) == 0.0);  // predicting the mean
  // SS_res = 4·1 = 4, SS_tot = 5, R² = 1 − 4/5.
  CHECK(r2({2, 3, 4, 5}, truth) == doctest::Approx(0.2).epsilon(1e-15));
  CHECK_THROWS_AS((void)rmse({1, 2}, truth), InputError);
  CHECK_THROWS_AS((void)r2({1, 2}, truth), InputError);
  CHECK_THROWS_AS((void)rmse({}, {}), InputError);
  CHECK_THROWS_AS((void)r2({1, 2}, {3, 3}), InputError);
}

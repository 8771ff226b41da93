// Tests for ml/linreg/linreg_plain.cpp: the closed form recovers exact weights, the SFH iteration
// decreases the loss monotonically towards the least-squares minimum, and both give sane
// accuracy on scikit-learn's Boston house prices.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"

using ckks::InputError;
using namespace ckks::ml;
using Matrix = std::vector<std::vector<double>>;

namespace {

// Uniform double in [-1, 1) from the raw mt19937_64 stream (portable across standard libraries).
double uniform_pm1(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0;
}

// Boston, split 80/20 with seed 1, standardised on train, as design matrices [X | 1].
struct BostonSetup {
  Standardizer st;
  Matrix A_train, A_test;
  std::vector<double> y_train, y_test;       // standardised targets
  std::vector<double> y_test_raw;            // test targets in $1000s
  BostonSetup() {
    const Table t = read_csv(ckks::ml::sklearn_data("boston_house_prices.csv"));
    const Split s = train_test_split(select_target(t, "MEDV"), 0.2, 1);
    st = Standardizer::fit(s.train);
    const Dataset tr = st.apply(s.train);
    const Dataset te = st.apply(s.test);
    A_train = with_bias_column(tr.X);
    A_test = with_bias_column(te.X);
    y_train = tr.y;
    y_test = te.y;
    y_test_raw = s.test.y;
  }
  // Test-set predictions of w, in $1000s.
  std::vector<double> predict_test(const std::vector<double>& w) const {
    std::vector<double> p = predict(A_test, w);
    for (double& v : p) v = st.unscale_y(v);
    return p;
  }
};

}  // namespace

TEST_CASE("ml/with_bias_column appends a 1 to every row") {
  CHECK(with_bias_column({{2, 3}, {4, 5}}) == Matrix{{2, 3, 1}, {4, 5, 1}});
  CHECK_THROWS_AS((void)with_bias_column({}), InputError);
  CHECK_THROWS_AS((void)with_bias_column({{1, 2}, {3}}), InputError);
}

TEST_CASE("ml/least_squares_closed_form recovers exact weights from noiseless data") {
  std::mt19937_64 rng(2024);
  const std::size_t n = 60, d = 5;
  const std::vector<double> w_star{0.5, -1.25, 2.0, 0.0, 3.5, -0.75};  // last = bias
  Matrix X(n, std::vector<double>(d));
  for (auto& row : X)
    for (double& v : row) v = uniform_pm1(rng);
  const Matrix A = with_bias_column(X);
  const std::vector<double> y = predict(A, w_star);
  const std::vector<double> w = least_squares_closed_form(A, y);
  REQUIRE(w.size() == d + 1);
  for (std::size_t j = 0; j <= d; ++j) CHECK(std::fabs(w[j] - w_star[j]) < 1e-9);
  CHECK(residual_sum_of_squares(A, y, w) < 1e-18);

  // A square, invertible system is solved exactly too: [[2,1],[1,3]] w = [3,5] → w = [0.8, 1.4].
  const std::vector<double> w2 = least_squares_closed_form({{2, 1}, {1, 3}}, {3, 5});
  CHECK(w2[0] == doctest::Approx(0.8).epsilon(1e-14));
  CHECK(w2[1] == doctest::Approx(1.4).epsilon(1e-14));
}

TEST_CASE("ml/least_squares_closed_form rejects collinear or rank-deficient designs") {
  // Column 2 = column 0 + column 1.
  const Matrix collinear{{1, 2, 3}, {2, 0, 2}, {0, 1, 1}, {3, 3, 6}};
  std::string msg;
  try {
    (void)least_squares_closed_form(collinear, {1, 2, 3, 4});
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(msg.find("not positive definite: column 2") != std::string::npos);
  // A constant feature duplicates the bias column.
  CHECK_THROWS_AS((void)least_squares_closed_form({{1, 1}, {1, 1}, {1, 1}}, {1, 2, 3}), InputError);
  // Fewer rows than columns.
  CHECK_THROWS_AS((void)least_squares_closed_form({{1, 2, 1}}, {1}), InputError);
  // Shape errors.
  CHECK_THROWS_AS((void)least_squares_closed_form({{1, 1}, {2, 1}}, {1}), InputError);
  CHECK_THROWS_AS((void)least_squares_closed_form({{1, 1}, {2}}, {1, 2}), InputError);
  CHECK_THROWS_AS((void)least_squares_closed_form({{1, NAN}, {2, 1}}, {1, 2}), InputError);
}

TEST_CASE("ml/sfh_preconditioner: exact values and the Gershgorin bound") {
  // Rows (1,−2) and (3,1): row |sums| 3 and 4; B̃_00 = 1·3 + 3·4 = 15, B̃_11 = 2·3 + 1·4 = 10.
  const Matrix A{{1, -2}, {3, 1}};
  const std::vector<double> b = sfh_preconditioner(A);
  CHECK(b[0] == 1.0 / 15.0);
  CHECK(b[1] == 1.0 / 10.0);
  // AᵀA = [[10, 1], [1, 5]]: absolute row sums 11 and 6 are below 15 and 10.
  CHECK(1.0 / b[0] >= 11.0);
  CHECK(1.0 / b[1] >= 6.0);
  CHECK_THROWS_AS((void)sfh_preconditioner({{1, 0}, {2, 0}}), InputError);  // zero column
}

TEST_CASE("ml/sfh_train: argument checks and the first iterate") {
  const Matrix A{{1, -2}, {3, 1}};
  const std::vector<double> y{1, 2};
  CHECK_THROWS_AS((void)sfh_train(A, y, 0), InputError);
  CHECK_THROWS_AS((void)sfh_train(A, {1}, 3), InputError);
  const auto ws = sfh_train(A, y, 3);
  REQUIRE(ws.size() == 3);
  // w_1 = diag(b) Aᵀ y = (7/15, 0/10).
  CHECK(ws[0][0] == doctest::Approx(7.0 / 15.0).epsilon(1e-15));
  CHECK(ws[0][1] == 0.0);
}

TEST_CASE("ml/Boston: closed form and SFH") {
  const BostonSetup b;
  REQUIRE(b.A_train.size() == 405);
  REQUIRE(b.A_test.size() == 101);
  REQUIRE(b.A_train[0].size() == 14);  // 13 features + bias

  const std::vector<double> w_cf = least_squares_closed_form(b.A_train, b.y_train);
  const double loss_cf = residual_sum_of_squares(b.A_train, b.y_train, w_cf);
  // Standardised y: the intercept of the least-squares fit is the mean of y, i.e. 0.
  CHECK(std::fabs(w_cf.back()) < 1e-12);
  const std::vector<double> p_cf = b.predict_test(w_cf);
  const double r2_cf = r2(p_cf, b.y_test_raw);
  const double rmse_cf = rmse(p_cf, b.y_test_raw);
  MESSAGE("Boston (seed 1, 405 train / 101 test) closed form: test R^2 = " << r2_cf
          << ", test RMSE = " << rmse_cf << " ($1000s), train loss = " << loss_cf);
  CHECK(r2_cf > 0.55);
  CHECK(r2_cf < 0.85);

  const int K = 2000;
  const auto ws = sfh_train(b.A_train, b.y_train, K);
  REQUIRE(ws.size() == static_cast<std::size_t>(K));
  double prev = residual_sum_of_squares(b.A_train, b.y_train, std::vector<double>(14, 0.0));
  bool monotone = true;
  for (std::size_t t = 0; t < ws.size(); ++t) {
    const double loss = residual_sum_of_squares(b.A_train, b.y_train, ws[t]);
    if (!(loss <= prev * (1 + 1e-12))) {
      monotone = false;
      MESSAGE("loss increased at iteration " << t + 1 << ": " << prev << " -> " << loss);
    }
    CHECK(loss >= loss_cf * (1 - 1e-12));  // never below the true minimum
    prev = loss;
  }
  CHECK(monotone);
  const double loss_k = residual_sum_of_squares(b.A_train, b.y_train, ws.back());
  CHECK(loss_k <= loss_cf * 1.02);  // approaches the minimum

  std::string report = "Boston SFH test R^2 / train loss:";
  for (int k : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000}) {
    const auto& w = ws[static_cast<std::size_t>(k - 1)];
    char buf[96];
    std::snprintf(buf, sizeof buf, "\n  K=%4d  R^2=%.4f  RMSE=%.3f  loss=%.3f", k,
                  r2(b.predict_test(w), b.y_test_raw), rmse(b.predict_test(w), b.y_test_raw),
                  residual_sum_of_squares(b.A_train, b.y_train, w));
    report += buf;
  }
  MESSAGE(report);
  // Early iterates are already useful predictors.
  CHECK(r2(b.predict_test(ws[31]), b.y_test_raw) > 0.4);
}

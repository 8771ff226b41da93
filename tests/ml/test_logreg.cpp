// Logistic regression (NAG + quadratic gradient, polynomial sigmoid) on scikit-learn's breast
// cancer data: the header-less loader, the plaintext reference, the encrypted run against it.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "ckks/errors.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_encrypted.h"
#include "ml/logreg/logreg_job.h"
#include "ml/logreg/logreg_plain.h"

using namespace ckks;

namespace {
const std::string kBreastCancer = ckks::ml::sklearn_data("breast_cancer.csv");

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("ckks_test_logreg_" + name);
  std::ofstream(path) << text;
  return path.string();
}

struct Prepared {
  std::vector<std::vector<double>> A, A_test;
  std::vector<double> y, y_test;
};

// Seeded 80/20 split, standardised on the (possibly truncated) training rows, bias column last.
Prepared prepare(std::size_t train_rows) {
  auto split = ml::train_test_split(ml::read_sklearn_csv(kBreastCancer).data, 0.2, 1);
  if (train_rows > 0) {
    split.train.X.resize(train_rows);
    split.train.y.resize(train_rows);
  }
  const auto z = ml::Standardizer::fit(split.train);
  Prepared p;
  p.A = ml::with_bias_column(z.apply(split.train).X);
  p.A_test = ml::with_bias_column(z.apply(split.test).X);
  p.y = split.train.y;
  p.y_test = split.test.y;
  return p;
}
}  // namespace

TEST_CASE("ml/logreg loader reads breast_cancer.csv: 569 × 30, metadata, 0/1 labels") {
  const auto sk = ml::read_sklearn_csv(kBreastCancer);
  CHECK(sk.declared_samples == 569);
  CHECK(sk.declared_features == 30);
  REQUIRE(sk.class_names.size() == 2);
  CHECK(sk.class_names[0] == "malignant");
  CHECK(sk.class_names[1] == "benign");
  REQUIRE(sk.data.X.size() == 569);
  REQUIRE(sk.data.y.size() == 569);
  CHECK(sk.data.X[0].size() == 30);
  CHECK(sk.data.feature_names.size() == 30);
  CHECK(sk.data.X[0][0] == doctest::Approx(17.99));
  CHECK(sk.data.X[0][29] == doctest::Approx(0.1189));
  CHECK(sk.data.y[0] == 0.0);
  double ones = 0;
  for (double v : sk.data.y) ones += v;
  CHECK(ones == 357);  // 357 benign, 212 malignant (sklearn's DESCR)
}

TEST_CASE("ml/logreg loader rejects malformed files with the line and the fix") {
  auto msg = [](const std::string& text) {
    const std::string p = write_temp("bad.csv", text);
    try {
      ml::read_sklearn_csv(p);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg("").find("is empty") != std::string::npos);
  CHECK(msg("a,b,c\n1,2,0\n").find("metadata line") != std::string::npos);
  CHECK(msg("2,2,x,y\n1,2,0\n3,4\n").find("line 3: 2 cells, expected 2 features + 1 label") != std::string::npos);
  CHECK(msg("2,2,x,y\n1,2,0\n3,abc,1\n").find("\"abc\" is not a finite number") != std::string::npos);
  CHECK(msg("2,2,x,y\n1,2,0\n3,4,2\n").find("label \"2\" is not a class index in [0, 2)") != std::string::npos);
  CHECK(msg("2,2,x,y\n1,2,0\n3,4,0.5\n").find("label \"0.5\"") != std::string::npos);
  CHECK(msg("3,2,x,y\n1,2,0\n3,4,1\n").find("declares 3 samples but 2 data rows") != std::string::npos);
  CHECK(msg("2,2,x,y\n1,\"2,0\n").find("malformed CSV") != std::string::npos);
  CHECK_THROWS_AS(ml::read_sklearn_csv("/nonexistent/breast_cancer.csv"), InputError);
  CHECK_THROWS_AS(ml::read_sklearn_csv(std::filesystem::temp_directory_path().string()), InputError);
}

TEST_CASE("ml/logreg metrics: rank AUC with ties, accuracy") {
  CHECK(ml::roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == doctest::Approx(0.75));  // sklearn's example
  CHECK(ml::roc_auc({1, 2, 3}, {0, 1, 1}) == doctest::Approx(1.0));
  CHECK(ml::roc_auc({3, 2, 1}, {0, 1, 1}) == doctest::Approx(0.0));
  CHECK(ml::roc_auc({1, 1, 1, 1}, {0, 1, 0, 1}) == doctest::Approx(0.5));  // all tied
  CHECK(ml::accuracy({-1, 0.5, 2, -3}, {0, 1, 0, 0}) == doctest::Approx(0.75));
  CHECK_THROWS_AS(ml::roc_auc({1, 2}, {1, 1}), InputError);   // one class only
  CHECK_THROWS_AS(ml::roc_auc({1, 2}, {0, 1, 1}), InputError);
}

TEST_CASE("ml/logreg plaintext NAG with the quadratic gradient learns breast cancer") {
  const Prepared p = prepare(0);
  ml::LogregOptions o;
  o.iterations = 4;
  const auto tr = ml::logreg_nag_train(p.A, p.y, o);
  REQUIRE(tr.w.size() == 4);
  const auto s = ml::predict(p.A_test, tr.w.back());
  CHECK(ml::roc_auc(s, p.y_test) > 0.95);
  CHECK(ml::accuracy(s, p.y_test) > 0.85);
  // σ̃ is fitted on [−8, 8]; on this split its inputs stay within about that range (8.14 at t = 3).
  for (double m : tr.max_abs_margin) CHECK(m < 8.5);
  // The schedule: γ_0 = 0.99/α_1, then the usual Nesterov momentum (γ_t < 0 from t = 2).
  CHECK(ml::nag_gamma(0) == doctest::Approx(0.99 / (0.5 * (1 + std::sqrt(1.0004)))));
  CHECK(ml::nag_gamma(2) < 0);
  CHECK(ml::nag_step(0, 1.0) == 2.0);
}

TEST_CASE("ml/logreg bad labels are rejected with the index, the value and the fix") {
  const Prepared p = prepare(50);
  auto y = p.y;
  y[7] = 2;
  ml::LogregOptions o;
  try {
    ml::logreg_nag_train(p.A, y, o);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("y[7] = 2") != std::string::npos);
    CHECK(std::string(e.what()).find("map the two classes to 0 and 1") != std::string::npos);
  }
  std::vector<double> all_zero(p.y.size(), 0.0);
  CHECK_THROWS_AS(ml::logreg_nag_train(p.A, all_zero, o), InputError);
  auto ctx = Context::create([] {
    Params q;
    q.log_n = 12;
    q.log_q = {30, 30};
    q.log_p = {40};
    q.log_scale = 25;
    return q;
  }());
  ml::LogregDataOwner owner(ctx, 1);
  std::vector<std::vector<double>> A2(p.A.begin(), p.A.begin() + 4);
  CHECK_THROWS_AS(owner.encrypt(A2, {0, 1, 0.5, 1}), InputError);
}

TEST_CASE("ml/logreg job rejects a non-binary target column before any encryption") {
  ml::LogregJobOptions o;
  o.data = ckks::ml::sklearn_data("boston_house_prices.csv");
  o.target = "MEDV";
  try {
    ml::run_logreg_job(o);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) ==
          "logreg: target column \"MEDV\": label y[0] = 24 is not 0 or 1; logistic regression needs binary "
          "labels (map the two classes to 0 and 1)");
  }
}

TEST_CASE("ml/logreg encrypted training matches the plaintext run (breast cancer subset)") {
  // N = 2^14, q {38, 30×12}, p {40}: log QP = 438 ≤ 438, 128-bit secure; 12 levels = 3 iterations
  // (2 + 5 + 5). 200 training rows × 32-slot blocks = 256 blocks = 8192 slots = N/2.
  Params params;
  params.log_n = 14;
  params.log_q = {38, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30};
  params.log_p = {40};
  params.log_scale = 30;
  auto ctx = Context::create(params);
  REQUIRE(ctx->security_bits() >= 128);
  const Prepared p = prepare(200);
  ml::LogregOptions o;
  o.iterations = 3;
  CHECK(ml::LogregServer::levels_per_iteration(3) == 5);
  REQUIRE(ml::LogregServer::levels_needed(3, 3) == 12);

  ml::LogregDataOwner owner(ctx, 42);
  const auto enc = owner.encrypt(p.A, p.y);
  const auto layout = enc.layout;
  CHECK(layout.block == 32);
  CHECK(layout.blocks == 256);
  const ml::LogregServer server(ctx, owner.relin_key(), owner.galois_keys(layout));
  const auto w_enc = owner.decrypt_weights(server.train(enc, o), layout);
  const auto w_plain = ml::logreg_nag_train(p.A, p.y, o).w.back();
  REQUIRE(w_enc.size() == w_plain.size());
  // 30-bit scale: the weights (of size ~0.1) agree to about 2e-4.
  for (std::size_t j = 0; j < w_plain.size(); ++j) CHECK(std::fabs(w_enc[j] - w_plain[j]) < 1e-3);
  const auto s_enc = ml::predict(p.A_test, w_enc), s_plain = ml::predict(p.A_test, w_plain);
  const double auc_plain = ml::roc_auc(s_plain, p.y_test);
  CHECK(auc_plain > 0.9);
  CHECK(std::fabs(ml::roc_auc(s_enc, p.y_test) - auc_plain) < 0.01);
  CHECK(std::fabs(ml::accuracy(s_enc, p.y_test) - ml::accuracy(s_plain, p.y_test)) < 0.02);

  // One more iteration than the chain allows: a LevelError naming both numbers.
  o.iterations = 4;
  try {
    (void)server.train(enc, o);
    FAIL("no error");
  } catch (const LevelError& e) {
    CHECK(std::string(e.what()).find("4 iterations need 17 levels but the data is at level 12") != std::string::npos);
  }
}

// Multiclass logistic regression (sigmoid per class, NAG + quadratic gradient) on a real subset of
// scikit-learn's digits: the plaintext reference, the encrypted run against it, and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/approx.h"
#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_plain.h"
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_job.h"
#include "ml/mlr/mlr_plain.h"
#include "temp_dir.h"

using namespace ckks;

namespace {
const std::string kDigits = ckks::ml::sklearn_data("digits.csv.gz");

struct Prepared {
  ml::DenseMatrix A, A_test;
  std::vector<double> y, y_test;
};

// The first `rows` digits, seeded 80/20 split, pixels / 16, bias column last.
Prepared prepare(std::size_t rows) {
  ml::Dataset ds = ml::read_sklearn_digits(kDigits);
  ds.X.resize(rows);
  ds.y.resize(rows);
  const ml::Split split = ml::train_test_split(ds, 0.2, 1);
  auto scaled = [](ml::DenseMatrix X) {
    for (auto& r : X)
      for (auto& v : r) v /= ml::kDigitsMaxPixel;
    return ml::with_bias_column(X);
  };
  return {scaled(split.train.X), scaled(split.test.X), split.train.y, split.test.y};
}

// N = 2^12 with 12 levels of 30 bits: INSECURE (log QP = 440 > 109), small and fast for tests;
// 12 levels = 3 iterations (2 + 5 + 5).
Params small_insecure() {
  Params p;
  p.log_n = 12;
  p.log_q = {40, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("ml/mlr plaintext reference learns 10 digits; labels and one-hot") {
  const Prepared p = prepare(600);
  ml::MlrOptions o;
  o.iterations = 4;
  const ml::MlrTrace tr = ml::mlr_nag_train(p.A, p.y, 10, o);
  REQUIRE(tr.w.size() == 4);
  REQUIRE(tr.w.back().size() == 10);
  REQUIRE(tr.w.back()[0].size() == 65);
  // σ̃ is fitted on [−8, 8]: pixels in [0, 1] keep its inputs well inside.
  for (double m : tr.max_abs_margin) CHECK(m < 8.0);
  CHECK(tr.max_abs_margin[0] == 0.0);  // V_0 = 0
  const double acc = ml::class_accuracy(ml::mlr_predict(p.A_test, tr.w.back()), p.y_test);
  CHECK(acc > 0.75);  // 10 balanced classes: chance is 0.1
  // Iteration 1 is c_0·(Y − σ̃(0))ᵀA/B̄ exactly (V_0 = 0).
  const auto binv = ml::quadratic_gradient_preconditioner(p.A);
  const double s0 = sigmoid_approx(3)(0.0);
  double g = 0;
  for (std::size_t r = 0; r < p.A.size(); ++r) g += ((p.y[r] == 3.0 ? 1.0 : 0.0) - s0) * p.A[r][20];
  CHECK(tr.w[0][3][20] == doctest::Approx(g * binv[20]).epsilon(1e-12));

  CHECK(ml::one_hot({2, 0}, 3) == ml::DenseMatrix{{0, 0, 1}, {1, 0, 0}});
  CHECK(ml::count_classes({0, 2, 1, 2}, "t") == 3);
  CHECK(ml::agreement({1, 2, 3, 4}, {1, 2, 0, 4}) == doctest::Approx(0.75));
  CHECK(ml::mlr_predict({{1.0, 2.0}}, {{1, 0}, {0, 1}, {0, 0}}) == std::vector<int>{1});
}

TEST_CASE("ml/mlr bad labels and shapes are rejected with the value and the fix") {
  CHECK(error_of([] { ml::count_classes({0, 1, 2.5}, "mlr"); }).find("label y[2] = 2.5 is not a non-negative integer") !=
        std::string::npos);
  CHECK(error_of([] { ml::count_classes({0, -1}, "mlr"); }).find("y[1] = -1") != std::string::npos);
  CHECK(error_of([] { ml::count_classes({0, 0}, "mlr"); }).find("need at least 2 classes") != std::string::npos);
  CHECK(error_of([] { ml::count_classes({0, 2}, "mlr"); }).find("no sample has label 1") != std::string::npos);
  CHECK(error_of([] { ml::check_class_labels({0, 1, 3}, 3, "mlr"); })
            .find("label y[2] = 3 is not a class index in 0 … 2") != std::string::npos);

  const Prepared p = prepare(60);
  ml::MlrOptions o;
  auto y = p.y;
  y[4] = 10;
  CHECK_THROWS_AS(ml::mlr_nag_train(p.A, y, 10, o), InputError);
  auto ragged = p.A;
  ragged[3].pop_back();
  CHECK(error_of([&] { ml::mlr_nag_train(ragged, p.y, 10, o); }).find("row 3 has 64 values but row 0 has 65") !=
        std::string::npos);
  o.iterations = 0;
  CHECK_THROWS_AS(ml::mlr_nag_train(p.A, p.y, 10, o), InputError);

  auto ctx = Context::create(small_insecure());
  ml::MlrDataOwner owner(ctx, 1);
  CHECK(error_of([&] { owner.encrypt(p.A, std::vector<double>(p.y.begin(), p.y.end() - 1), 10); })
            .find("rows but y has") != std::string::npos);
  CHECK(error_of([&] { owner.encrypt(p.A, y, 10); }).find("label y[4] = 10") != std::string::npos);
  // 300 classes × 8 features need 4096-slot blocks; N/2 = 2048.
  CHECK_THROWS_AS(ml::MlrLayout::make(10, 64, 300, ctx->max_slots()), ParameterError);
}

TEST_CASE("ml/mlr job: bad CSV labels and too few levels fail before any key is generated") {
  test_util::TempDir dir("ckks_mlr");
  ml::MlrJobOptions o;
  o.params = small_insecure();
  o.data = dir.write("frac.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,1.5\n7,8,0\n");
  o.target = "label";
  CHECK(error_of([&] { ml::run_mlr_job(o); }) ==
        "mlr: target column \"label\": label y[2] = 1.5 is not a non-negative integer; multiclass labels must be "
        "the integers 0 … C−1");
  o.data = dir.write("gap.csv", "a,b,label\n1,2,0\n3,4,2\n5,6,2\n7,8,0\n");
  CHECK(error_of([&] { ml::run_mlr_job(o); }).find("no sample has label 1") != std::string::npos);
  // Class 2 occurs once; pick a seed whose split sends that row to the test half.
  o.data = dir.write("rare.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,2\n7,8,0\n2,2,1\n4,4,0\n");
  o.test_fraction = 0.5;
  const ml::Dataset rare = ml::select_target(ml::read_csv(o.data), "label");
  for (o.seed = 1;; ++o.seed) {
    const auto tr = ml::train_test_split(rare, 0.5, o.seed).train.y;
    if (std::find(tr.begin(), tr.end(), 2.0) == tr.end()) break;
  }
  CHECK(error_of([&] { ml::run_mlr_job(o); }) ==
        "mlr: the training split has no sample of class 2 (the data has 1); use another --seed, a smaller "
        "--test-fraction or more rows");
  o.seed = 1;
  o.test_fraction = 0.2;
  o.data.clear();
  o.target.clear();
  o.max_rows = 300;
  o.iterations = 4;  // needs 17 levels, the chain has 12
  CHECK(error_of([&] { ml::run_mlr_job(o); }) ==
        "mlr: 4 iterations need 17 levels but the chain has 12; use --iterations 3 or fewer, a longer chain "
        "(--params n16) or --bootstrap (refreshes the weights by bootstrapping)");
}

TEST_CASE("ml/mlr encrypted training matches the plaintext run (300 digits, 10 classes)") {
  auto ctx = Context::create(small_insecure());
  const Prepared p = prepare(300);
  REQUIRE(p.A.size() == 240);
  ml::MlrOptions o;
  o.iterations = 3;
  CHECK(ml::MlrServer::levels_per_iteration(3) == 5);
  REQUIRE(ml::MlrServer::levels_needed(3, 3) == 12);
  CHECK(ml::MlrServer::max_iterations(12, 3) == 3);

  ml::MlrDataOwner owner(ctx, 42);
  const ml::EncryptedMlrData enc = owner.encrypt(p.A, p.y, 10);
  const ml::MlrLayout& lay = enc.layout;
  CHECK(lay.group == 8);
  CHECK(lay.groups == 9);   // 65 columns in groups of 8
  CHECK(lay.block == 128);  // 10 classes × 8 features → 128 slots per sample
  CHECK(lay.blocks() == 16);
  CHECK(lay.ciphertexts == 15);  // 240 samples / 16
  CHECK(lay.rotation_steps().size() == 6 + 4);
  const ml::MlrServer server(ctx, owner.relin_key(), owner.galois_keys(lay));
  const std::vector<Ciphertext> w_ct = server.train(enc, o);
  REQUIRE(w_ct.size() == 9);
  CHECK(w_ct[0].level == ctx->max_level() - 12);
  const ml::DenseMatrix w_enc = owner.decrypt_weights(w_ct, lay);
  const ml::MlrTrace tr = ml::mlr_nag_train(p.A, p.y, 10, o);
  const ml::DenseMatrix& w_plain = tr.w.back();
  double max_err = 0, max_w = 0;
  for (std::size_t c = 0; c < 10; ++c)
    for (std::size_t j = 0; j < 65; ++j) {
      max_err = std::max(max_err, std::fabs(w_enc[c][j] - w_plain[c][j]));
      max_w = std::max(max_w, std::fabs(w_plain[c][j]));
    }
  CHECK(max_w > 0.1);  // the weights are not trivially 0
  // 30-bit scale: the weights agree to far better than 1e-3.
  CHECK(max_err < 1e-3);
  const auto p_enc = ml::mlr_predict(p.A_test, w_enc), p_plain = ml::mlr_predict(p.A_test, w_plain);
  const double acc_plain = ml::class_accuracy(p_plain, p.y_test);
  CHECK(acc_plain > 0.6);
  // The accuracy bar of the encrypted model (within 1 point of the plaintext accuracy) scaled to 60
  // test rows: at most one test row may differ.
  CHECK(std::fabs(ml::class_accuracy(p_enc, p.y_test) - acc_plain) <= 1.0 / 60 + 1e-12);
  CHECK(ml::agreement(p_enc, p_plain) >= 59.0 / 60 - 1e-12);

  // One more iteration than the chain allows: a LevelError naming both numbers.
  o.iterations = 4;
  CHECK(error_of([&] { (void)server.train(enc, o); })
            .find("4 iterations need 17 levels but the data is at level 12") != std::string::npos);
}

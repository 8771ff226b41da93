// Ridge regression, LFFR and several outputs (ml/linreg, ml/lffr): the encrypted training against
// its double-precision twin on small data, ridge λ = 0 against linear regression, the closed form
// against the iteration, several outputs against single-output runs, and the named errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/lffr/lffr_encrypted.h"
#include "ml/lffr/lffr_job.h"
#include "ml/lffr/lffr_plain.h"
#include "ml/linreg/linreg_encrypted.h"
#include "ml/linreg/linreg_job.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"

using namespace ckks;

namespace {

// N = 2^12 with 11 levels of 30 bits: INSECURE (log QP ≈ 410 bits, far above the 109 allowed at
// 128-bit), small and fast, for every encrypted test here (the LFFR circuit needs 1 + 4·(K − 1)
// levels with a degree-3 sigmoid; 2048 slots hold 128 rows of 16).
Params small_insecure_chain() {
  Params p;
  p.log_n = 12;
  p.log_q = {40, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

struct Subset {
  std::vector<std::vector<double>> A;
  std::vector<std::vector<double>> Y;  // standardised targets, one per column name
};

// `rows` training rows of Boston Housing (seed-1 split), features standardised, the named targets
// standardised (the other named targets are NOT features).
Subset boston_subset(std::size_t rows, const std::string& targets) {
  const auto rs = ml::load_regression_split(ml::sklearn_data("boston_house_prices.csv"), targets, 0.2, 1, "test");
  Subset s;
  for (const auto& split : rs.splits) {
    ml::Dataset train = split.train;
    train.X.resize(rows);
    train.y.resize(rows);
    const auto z = ml::Standardizer::fit(train);
    const auto tr = z.apply(train);
    if (s.A.empty()) s.A = ml::with_bias_column(tr.X);
    s.Y.push_back(tr.y);
  }
  return s;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("ml/ridge: λ = 0 is least squares exactly; the closed form solves the ridge normal equations") {
  const Subset s = boston_subset(120, "MEDV");
  const auto& A = s.A;
  const auto& y = s.Y[0];
  CHECK(ml::ridge_closed_form(A, y, 0.0) == ml::least_squares_closed_form(A, y));
  CHECK(ml::sfh_train(A, y, 5, 0.0) == ml::sfh_train(A, y, 5));
  CHECK(ml::sfh_preconditioner(A, 0.0) == ml::sfh_preconditioner(A));

  const double lambda = 25.0;
  const auto w = ml::ridge_closed_form(A, y, lambda);
  // Gradient of ‖y − Aw‖² + λ‖Pw‖² at w: Aᵀ(Aw − y) + λPw = 0 (P leaves the bias out).
  const auto pred = ml::predict(A, w);
  const std::size_t D = w.size();
  double grad_max = 0;
  for (std::size_t j = 0; j < D; ++j) {
    double g = (j + 1 < D) ? lambda * w[j] : 0.0;
    for (std::size_t r = 0; r < A.size(); ++r) g += A[r][j] * (pred[r] - y[r]);
    grad_max = std::max(grad_max, std::fabs(g));
  }
  CHECK(grad_max < 1e-9 * static_cast<double>(A.size()));
  // Shrinkage: the penalised weights are smaller than the least-squares ones.
  double norm_ridge = 0, norm_ls = 0;
  const auto w_ls = ml::least_squares_closed_form(A, y);
  for (std::size_t j = 0; j + 1 < D; ++j) {
    norm_ridge += w[j] * w[j];
    norm_ls += w_ls[j] * w_ls[j];
  }
  CHECK(norm_ridge < norm_ls);
  // The preconditioner grows by λ on the feature weights only.
  const auto b0 = ml::sfh_preconditioner(A), bl = ml::sfh_preconditioner(A, lambda);
  for (std::size_t j = 0; j + 1 < D; ++j) CHECK(1.0 / bl[j] == doctest::Approx(1.0 / b0[j] + lambda));
  CHECK(bl[D - 1] == b0[D - 1]);
}

TEST_CASE("ml/ridge: the SFH iteration converges to the closed form; its loss never increases") {
  const Subset s = boston_subset(120, "MEDV");
  const double lambda = 50.0;
  const auto w_star = ml::ridge_closed_form(s.A, s.Y[0], lambda);
  const auto ws = ml::sfh_train(s.A, s.Y[0], 3000, lambda);
  auto loss = [&](const std::vector<double>& w) {
    double l = ml::residual_sum_of_squares(s.A, s.Y[0], w);
    for (std::size_t j = 0; j + 1 < w.size(); ++j) l += lambda * w[j] * w[j];
    return l;
  };
  for (std::size_t t = 1; t < ws.size(); t += 97) CHECK(loss(ws[t]) <= loss(ws[t - 1]) + 1e-12);
  const double e10 = max_abs_diff(ws[9], w_star), e_last = max_abs_diff(ws.back(), w_star);
  MESSAGE("ridge λ = 50: max |w_t − w*| after 10 iterations " << e10 << ", after 3000 " << e_last);
  CHECK(e_last < 1e-3);
  CHECK(e_last < e10 / 20);
}

TEST_CASE("ml/ridge encrypted: equals its double twin; λ = 0 runs the linear-regression circuit bit for bit") {
  const Subset s = boston_subset(120, "MEDV");
  auto ctx = Context::create(small_insecure_chain());
  const int K = 2;
  {
    ml::SfhDataOwner owner(ctx, 11);  // fixed seed: deterministic and INSECURE, tests only
    const auto enc = owner.encrypt(s.A, s.Y, 10.0);
    CHECK(enc.lambda == 10.0);
    const ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
    double one = 0;
    const auto w = owner.decrypt_weights(server.train(enc, K), enc.layout, &one);
    const double err = max_abs_diff(w, ml::sfh_train(s.A, s.Y[0], K, 10.0).back());
    MESSAGE("encrypted ridge (λ = 10, 120 rows, 2 iterations): max weight error " << err);
    CHECK(err < 1e-4);  // Δ = 2^30: the CKKS noise leaves the weights ~1e-5 off
    CHECK(std::fabs(one - 1.0) < 1e-3);
  }
  // λ = 0 through the ridge/multi-output entry point and through the original one: same seed, same
  // ciphertexts, same circuit, so the decrypted weights agree exactly.
  std::vector<double> w_ridge0, w_linreg;
  {
    ml::SfhDataOwner owner(ctx, 12);
    const auto enc = owner.encrypt(s.A, s.Y, 0.0);
    const ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
    w_ridge0 = owner.decrypt_weights(server.train(enc, K), enc.layout);
  }
  {
    ml::SfhDataOwner owner(ctx, 12);
    const auto enc = owner.encrypt(s.A, s.Y[0]);
    const ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
    w_linreg = owner.decrypt_weights(server.train(enc, K), enc.layout);
  }
  CHECK(w_ridge0 == w_linreg);
}

TEST_CASE("ml/linreg_multi encrypted: several outputs on one data set equal the single-output runs") {
  const Subset s = boston_subset(100, "MEDV,LSTAT,RM");
  auto ctx = Context::create(small_insecure_chain());
  const int K = 2;
  const double lambda = 3.0;
  ml::SfhDataOwner owner(ctx, 13);
  const auto enc = owner.encrypt(s.A, s.Y, lambda);
  CHECK(enc.layout.outputs == 3);
  CHECK(enc.layout.block == 16);  // D = 12 (11 features + bias) + 3 outputs = 15 → 16
  CHECK(enc.columns_rotated.size() == 16);  // the data are encrypted once for all outputs
  const ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
  CHECK_THROWS_AS(server.train(enc, K), InputError);  // several outputs need train_outputs
  const auto ws = server.train_outputs(enc, K);
  REQUIRE(ws.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    double one = 0;
    const auto w = owner.decrypt_weights(ws[k], enc.layout, &one, k);
    // The single-output encrypted run of the same column.
    ml::SfhDataOwner single_owner(ctx, 20 + k);
    const auto single = single_owner.encrypt(s.A, {s.Y[k]}, lambda);
    const ml::SfhServer single_server(ctx, single_owner.relin_key(), single_owner.galois_keys(single.layout));
    const auto w_single = single_owner.decrypt_weights(single_server.train(single, K), single.layout);
    const auto w_plain = ml::sfh_train(s.A, s.Y[k], K, lambda).back();
    const double e_single = max_abs_diff(w, w_single), e_plain = max_abs_diff(w, w_plain);
    MESSAGE("output " << k << ": |multi − single| " << e_single << ", |multi − plain| " << e_plain);
    CHECK(e_single < 1e-4);
    CHECK(e_plain < 1e-4);
    CHECK(std::fabs(one - 1.0) < 1e-4);
  }
  CHECK_THROWS_AS(owner.decrypt_weights(ws[0], enc.layout, nullptr, 3), InputError);
}

TEST_CASE("ml/lffr plain: normalisation, the sigmoid polynomial, and a non-increasing log-loss") {
  const auto sc = ml::TargetScaling::fit({5, 10, 50}, "y");
  CHECK(sc.to_unit(5) == doctest::Approx(0.1));
  CHECK(sc.to_unit(50) == doctest::Approx(0.9));
  CHECK(sc.from_unit(sc.to_unit(17.5)) == doctest::Approx(17.5));
  CHECK_THROWS_WITH_AS(ml::TargetScaling::fit({3, 3, 3}, "Pulse"), doctest::Contains("\"Pulse\" is constant"),
                       InputError);
  const auto sig = ml::LffrSigmoid::make(4.0, 7);
  CHECK(sig.max_error < 3e-3);  // measured 2.46e-3 on [−4, 4]
  CHECK(ml::LffrSigmoid::make(4.0, 15).max_error < sig.max_error / 10);
  CHECK(sig(0.0) == doctest::Approx(0.5).epsilon(1e-9));
  CHECK_THROWS_AS(ml::LffrSigmoid::make(0.0, 7), InputError);
  CHECK(ml::lffr_radius_for(0.3) == 1.0);
  CHECK(ml::lffr_radius_for(3.3) == 5.0);

  const Subset s = boston_subset(120, "MEDV");
  const auto scale = ml::TargetScaling::fit(s.Y[0], "MEDV");
  std::vector<double> u;
  for (double y : s.Y[0]) u.push_back(scale.to_unit(y));
  const auto tr = ml::lffr_train(s.A, u, 40, ml::sigmoid);
  auto logloss = [&](const std::vector<double>& w) {
    const auto p = ml::lffr_predict(s.A, w);
    double l = 0;
    for (std::size_t r = 0; r < p.size(); ++r) l -= u[r] * std::log(p[r]) + (1 - u[r]) * std::log(1 - p[r]);
    return l;
  };
  for (std::size_t t = 1; t < tr.iterates.size(); ++t) CHECK(logloss(tr.iterates[t]) <= logloss(tr.iterates[t - 1]) + 1e-9);
  CHECK(tr.z_min < 0);
  CHECK(tr.z_max > 0);
  CHECK_THROWS_AS(ml::lffr_train(s.A, u, 0, ml::sigmoid), InputError);
}

TEST_CASE("ml/lffr encrypted (INSECURE small ring): two outputs equal the double twin and the single-output runs") {
  const Subset s = boston_subset(60, "MEDV,LSTAT");
  std::vector<std::vector<double>> U(2);
  for (std::size_t k = 0; k < 2; ++k) {
    const auto sc = ml::TargetScaling::fit(s.Y[k], "t");
    for (double y : s.Y[k]) U[k].push_back(sc.to_unit(y));
  }
  const int K = 3, degree = 3;
  auto ctx = Context::create(small_insecure_chain());
  REQUIRE(ctx->max_level() >= ml::LffrServer::levels_needed(K, degree));
  CHECK(ml::LffrServer::levels_needed(K, degree) == 9);
  // The interval the exact-σ run visits, then R with its margin.
  double z_abs = 0;
  for (const auto& u : U) {
    const auto tr = ml::lffr_train(s.A, u, K, ml::sigmoid);
    z_abs = std::max({z_abs, -tr.z_min, tr.z_max});
  }
  const auto sig = ml::LffrSigmoid::make(ml::lffr_radius_for(z_abs), degree);
  ml::LffrDataOwner owner(ctx, 31);  // fixed seed: tests only
  const auto enc = owner.encrypt(s.A, U, sig);
  CHECK(enc.data.size() == enc.layout.block);
  const ml::LffrServer server(ctx, owner.relin_key(), owner.galois_keys(enc.layout));
  const auto us = server.train(enc, K, sig);
  REQUIRE(us.size() == 2);
  CHECK(us[0].level == ctx->max_level() - ml::LffrServer::levels_needed(K, degree));
  for (std::size_t k = 0; k < 2; ++k) {
    const auto w = owner.decrypt_weights(us[k], enc.layout, sig);
    const auto w_plain = ml::lffr_train(s.A, U[k], K, sig).iterates.back();
    ml::LffrDataOwner single_owner(ctx, 40 + k);
    const auto single = single_owner.encrypt(s.A, {U[k]}, sig);
    const ml::LffrServer single_server(ctx, single_owner.relin_key(), single_owner.galois_keys(single.layout));
    const auto w_single = single_owner.decrypt_weights(single_server.train(single, K, sig)[0], single.layout, sig);
    const double e_plain = max_abs_diff(w, w_plain), e_single = max_abs_diff(w, w_single);
    MESSAGE("LFFR output " << k << " (60 rows, 3 iterations, R = " << sig.radius << "): |enc − plain| " << e_plain
                           << ", |multi − single| " << e_single);
    CHECK(e_plain < 1e-3);
    CHECK(e_single < 1e-3);
  }
  CHECK_THROWS_WITH_AS(server.train(enc, 4, sig), doctest::Contains("need 13 levels"), LevelError);
  CHECK_THROWS_AS(server.train(enc, 0, sig), InputError);
}

TEST_CASE("ml/ridge_lffr: bad input gives named errors with the flag to change") {
  CHECK_THROWS_WITH_AS(ml::check_ridge_lambda(-1.0, "op"), doctest::Contains("λ = -1 is negative"), InputError);
  CHECK_THROWS_WITH_AS(ml::check_ridge_lambda(std::nan(""), "op"), doctest::Contains("not finite"), InputError);
  CHECK_THROWS_AS(ml::ridge_closed_form({{1, 1}, {2, 1}, {3, 1}}, {1, 2, 3}, -0.5), InputError);

  ml::LinregJobOptions o;
  o.data = ml::sklearn_data("boston_house_prices.csv");
  o.params = Params::preset_n14();
  o.iterations = 1;
  o.ridge = -2;
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("--ridge -2"), InputError);
  o.ridge = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("--ridge inf"), InputError);
  o.ridge = 0;
  o.target = "MEDV,RM,MEDV";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("\"MEDV\" twice"), InputError);
  o.target = "MEDV,,RM";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("empty column name"), InputError);
  o.target = "MEDV,PRICE";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("no column named \"PRICE\""), InputError);

  // A target that is not numeric: read_csv names the column and the cell.
  const std::string path = "/tmp/ckks_ridge_lffr_bad.csv";
  {
    std::ofstream f(path);
    f << "a,b,y\n1,2,3\n4,5,six\n7,8,9\n";
  }
  o.data = path;
  o.target = "y";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("\"six\" is not a number"), InputError);
  // A user CSV needs --target.
  o.target = "";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("--target"), InputError);
  {
    std::ofstream f(path);
    f << "a,b,y\n1,2,3\n4,5,3\n7,8,3\n2,1,3\n5,5,3\n";
  }
  ml::LffrJobOptions lo;
  lo.data = path;
  lo.target = "y";
  lo.test_fraction = 0.4;
  lo.params = Params::preset_n14();
  CHECK_THROWS_WITH_AS(ml::run_lffr_job(lo), doctest::Contains("cannot be normalised"), InputError);
  std::remove(path.c_str());
  lo.data = ml::kLinnerudKeyword;
  lo.target = "";
  lo.sigmoid_degree = 8;
  CHECK_THROWS_WITH_AS(ml::run_lffr_job(lo), doctest::Contains("--sigmoid-degree 8"), InputError);
  lo.sigmoid_degree = 7;
  lo.iterations = 9;
  CHECK_THROWS_WITH_AS(ml::run_lffr_job(lo), doctest::Contains("use --iterations 2 or fewer"), LevelError);
}

TEST_CASE("ml/read_sklearn_linnerud: 20 rows, exercise then physiological columns") {
  const ml::Table t = ml::read_sklearn_linnerud();
  CHECK(t.columns == std::vector<std::string>{"Chins", "Situps", "Jumps", "Weight", "Waist", "Pulse"});
  REQUIRE(t.rows.size() == 20);
  CHECK(t.rows[0] == std::vector<double>{5, 162, 60, 191, 36, 50});
  CHECK_THROWS_WITH_AS(ml::read_sklearn_linnerud("/nonexistent"), doctest::Contains("linnerud_exercise.csv"),
                       InputError);
}

// Training past one modulus chain (ml/refresh.h): the packing of periodic ciphertexts into one
// bootstrap, and multiclass / binary logistic regression run for more iterations than the chain
// holds, against the plaintext run of the same algorithm. Every parameter set here is INSECURE
// (bootstrap_preset_n16_sparse_secret's chain at N = 2^10: its level budget, tiny ring): it exists to
// keep each test case to a few seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/bootstrapping.h"
#include "ckks/errors.h"
#include "ckks/fixtures.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_encrypted.h"
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_job.h"
#include "ml/refresh.h"
#include "temp_dir.h"

using namespace ckks;

namespace {

// The 128-bit preset's chain and bootstrap (9 user levels of 40 bits, sparse-secret encapsulation
// h' = 32) at N = 2^10: INSECURE.
BootstrapPreset small_boot() {
  BootstrapPreset b = bootstrap_preset_n16_sparse_secret();
  b.params.log_n = 10;
  b.params.allow_insecure = true;
  return b;
}

struct Wine {
  ml::DenseMatrix A, A_test;
  std::vector<double> y, y_test;
};

// scikit-learn's wine (13 features, 3 classes), seeded 80/20 split, z-scores fitted on the training
// rows, bias column last; `rows` > 0 keeps the first `rows` training rows.
Wine wine(std::size_t rows = 0) {
  const ml::Dataset ds = ml::read_sklearn_csv(ml::sklearn_data("wine_data.csv")).data;
  ml::Split split = ml::train_test_split(ds, 0.2, 1);
  if (rows > 0) {
    split.train.X.resize(rows);
    split.train.y.resize(rows);
  }
  const ml::Standardizer z = ml::Standardizer::fit(split.train);
  return {ml::with_bias_column(z.apply(split.train).X), ml::with_bias_column(z.apply(split.test).X), split.train.y,
          split.test.y};
}

}  // namespace

TEST_CASE("ml/refresh packs periodic ciphertexts into one bootstrap and unpacks them") {
  const BootstrapPreset b = small_boot();
  test::Kit kit(b.params, 5);
  const std::size_t S = 512, B = 32, count = 3;
  ml::RefreshConfig rc{b.config, 4.0};
  CHECK(ml::packed_slots(count, B) == 128);
  CHECK(ml::packed_slots(1, 1) == 2);
  CHECK_THROWS_AS(ml::packed_slots(0, B), InputError);
  const BootstrapPlan plan = ml::PeriodicRefresher::plan(*kit.ctx, rc, count, B);
  CHECK(plan.slots == 128);
  std::vector<int> steps = plan.rotation_steps;
  for (int s : sum_slots_steps(128 / B, B)) steps.push_back(s);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  const RelinKey rk = kit.keygen.relin_key(kit.sk);
  const GaloisKeys gk = kit.keygen.galois_keys(kit.sk, steps, true);
  const EncapsulationKeys ek = kit.keygen.encapsulation_keys(kit.sk, 32);
  const ml::PeriodicRefresher r(kit.ctx, rc, rk, gk, ek, count, B, S);
  CHECK(r.packed() == 128);
  CHECK(r.output_level() == plan.output_level - 1);
  // Three B-periodic vectors with values up to the bound M = 4, at levels 2, 3, 1.
  std::vector<std::vector<double>> want;
  std::vector<Ciphertext> in;
  for (std::size_t j = 0; j < count; ++j) {
    const test::cvec block = test::random_complex(B, 20 + j);
    std::vector<double> v(S);
    for (std::size_t i = 0; i < S; ++i) v[i] = 4.0 * block[i % B].real();
    want.push_back(v);
    in.push_back(kit.encryptor.encrypt(kit.encoder.encode(v, static_cast<int>(1 + (j + 1) % 3), kit.ctx->default_scale(), S)));
  }
  const std::vector<Ciphertext> out = r.refresh({&in[0], &in[1], &in[2]});
  REQUIRE(out.size() == count);
  double worst = 0;
  for (std::size_t j = 0; j < count; ++j) {
    CHECK(out[j].level == r.output_level());
    CHECK(out[j].scale == kit.ctx->default_scale());
    CHECK(out[j].slots == S);
    const std::vector<double> got = kit.encoder.decode(kit.decryptor.decrypt(out[j]));
    for (std::size_t i = 0; i < S; ++i) worst = std::max(worst, std::fabs(got[i] - want[j][i]));
  }
  MESSAGE("refresh of 3 × 32 values in [-4, 4]: worst error " << worst << " (" << -std::log2(worst) << " bits)");
  CHECK(worst < std::ldexp(1.0, -20));  // 26 bits measured
  CHECK(r.stats().bootstraps == 1);
  CHECK(r.stats().seconds >= r.stats().seconds_bootstrap);

  // Bad input: too many ciphertexts, wrong slots, level 0; a packing wider than the ciphertexts.
  auto too_many = [&] { (void)r.refresh({&in[0], &in[1], &in[2], &in[0]}); };
  CHECK_THROWS_WITH_AS(too_many(), "refresh: 4 ciphertexts; this refresher packs 1 to 3", InputError);
  const Ciphertext low = kit.encryptor.encrypt(kit.encoder.encode(want[0], 0, kit.ctx->default_scale(), S));
  CHECK_THROWS_WITH_AS((void)r.refresh({&low}),
                       "refresh: ciphertext 0 has 512 slots at level 0; need 512 slots at level ≥ 1 (packing costs one level)",
                       InputError);
  CHECK_THROWS_WITH_AS(ml::PeriodicRefresher(kit.ctx, rc, rk, gk, ek, 40, B, S),
                       "refresh: 40 ciphertexts of period 32 pack into 2048 slots but the ciphertexts have only 512; "
                       "use more samples or a larger ring",
                       ParameterError);
  CHECK_THROWS_WITH_AS(ml::check_refresh_bound(16.5, 16, 30, "mlr"),
                       "mlr: after 30 iterations the weights reach |w| = 16.5 (plaintext run) but bootstrapping "
                       "refreshes values up to M = 16; use fewer --iterations",
                       InputError);
  CHECK_NOTHROW(ml::check_refresh_bound(16, 16, 30, "mlr"));
  // A Galois key of the bootstrap is missing: the Bootstrapper's MissingKeyError.
  const GaloisKeys few = kit.keygen.galois_keys(kit.sk, sum_slots_steps(128 / B, B), true);
  CHECK_THROWS_AS(ml::PeriodicRefresher(kit.ctx, rc, rk, few, ek, count, B, S), MissingKeyError);
}

TEST_CASE("ml/refresh mlr trains past the chain: 6 iterations with refreshes match the plaintext run (wine)") {
  const BootstrapPreset b = small_boot();
  auto ctx = Context::create(b.params);
  const Wine w = wine();
  REQUIRE(w.A.size() == 142);
  ml::MlrOptions o;
  o.iterations = 6;
  // The chain's 9 user levels hold 2 iterations (2 + 5); 6 need 27.
  REQUIRE(ml::MlrServer::max_iterations(9, 3) == 2);
  const ml::RefreshConfig rc{b.config, 8.0};
  ml::MlrDataOwner owner(ctx, 42);
  const ml::MlrLayout lay = ml::MlrLayout::make(w.A.size(), 13, 3, ctx->max_slots());
  CHECK(lay.groups == 2);  // 14 columns in groups of 8
  CHECK(lay.block == 32);  // 3 classes × 8 features
  const BootstrapPlan plan = ml::MlrServer::refresh_plan(*ctx, rc, lay);
  CHECK(plan.slots == 128);  // 2·G·B = 128 packed weights
  const int data_level = plan.output_level;  // the data at the bootstrap's output level
  CHECK(data_level == 9);
  const ml::EncryptedMlrData enc = owner.encrypt(w.A, w.y, 3, o.epsilon, data_level);
  const ml::MlrServer server(ctx, owner.relin_key(), owner.galois_keys(lay, plan), rc,
                             owner.encapsulation_keys(b.config.ephemeral_secret_weight), lay);
  const std::vector<Ciphertext> w_ct = server.train(enc, o);
  // Iterations 0, 1 from level 9 (→ 7 → 2), then a refresh before each of the 4 others.
  CHECK(server.refresh_stats().bootstraps == 4);
  CHECK(w_ct[0].level == 9 - 1 - 5);
  const ml::DenseMatrix w_enc = owner.decrypt_weights(w_ct, lay);
  const ml::MlrTrace tr = ml::mlr_nag_train(w.A, w.y, 3, o);
  const ml::DenseMatrix& w_plain = tr.w.back();
  double max_err = 0, max_w = 0;
  for (const auto& wt : tr.w)
    for (const auto& row : wt)
      for (double v : row) max_w = std::max(max_w, std::fabs(v));
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t j = 0; j < 14; ++j) max_err = std::max(max_err, std::fabs(w_enc[c][j] - w_plain[c][j]));
  MESSAGE("mlr, 6 iterations, 4 refreshes: max |W_enc − W_plain| = " << max_err << " (" << -std::log2(max_err)
                                                                     << " bits), max |W| = " << max_w);
  CHECK(max_w <= rc.bound);
  CHECK(max_w > 0.5);  // not trivially small
  CHECK(max_err < std::ldexp(1.0, -20));  // 20 bits (26 measured)
  const auto p_enc = ml::mlr_predict(w.A_test, w_enc), p_plain = ml::mlr_predict(w.A_test, w_plain);
  CHECK(ml::agreement(p_enc, p_plain) == 1.0);
  CHECK(ml::class_accuracy(p_plain, w.y_test) > 0.9);

  // Without refreshing, the same 6 iterations stop at the chain's end, naming the fix.
  const ml::MlrServer plain_server(ctx, owner.relin_key(), owner.galois_keys(lay));
  CHECK_THROWS_WITH_AS((void)plain_server.train(enc, o),
                       "mlr train: 6 iterations need 27 levels but the data is at level 9; use fewer iterations, a "
                       "longer chain (e.g. Params::preset_n16()) or a refreshing MlrServer (bootstrapping)",
                       LevelError);
  // A refreshing server built for degree 3 refuses degree 5.
  o.sigmoid_degree = 5;
  CHECK_THROWS_WITH_AS((void)server.train(enc, o),
                       "mlr train: sigmoid degree 5 but the refreshing server was built for degree 3", InputError);
}

TEST_CASE("ml/refresh logreg trains past the chain: 6 iterations with refreshes match the plaintext run (wine 0 vs rest)") {
  const BootstrapPreset b = small_boot();
  auto ctx = Context::create(b.params);
  Wine w = wine(32);  // 32 rows × 16-slot blocks fill the 512 slots of N = 2^10
  for (auto& v : w.y) v = v == 0 ? 1.0 : 0.0;
  for (auto& v : w.y_test) v = v == 0 ? 1.0 : 0.0;
  ml::LogregOptions o;
  o.iterations = 6;
  const ml::RefreshConfig rc{b.config, 8.0};
  ml::LogregDataOwner owner(ctx, 43);
  const ml::LogregLayout lay = ml::LogregLayout::make(w.A.size(), 13, ctx->max_slots());
  CHECK(lay.block == 16);
  const BootstrapPlan plan = ml::LogregServer::refresh_plan(*ctx, rc, lay);
  CHECK(plan.slots == 32);
  const ml::EncryptedLogregData enc =
      owner.encrypt(w.A, w.y, o.epsilon, plan.output_level);
  const ml::LogregServer server(ctx, owner.relin_key(), owner.galois_keys(lay, plan), rc,
                                owner.encapsulation_keys(b.config.ephemeral_secret_weight), lay);
  const Ciphertext w_ct = server.train(enc, o);
  CHECK(server.refresh_stats().bootstraps == 4);
  const std::vector<double> w_enc = owner.decrypt_weights(w_ct, lay);
  const ml::LogregTrace tr = ml::logreg_nag_train(w.A, w.y, o);
  double max_err = 0, max_w = 0;
  for (const auto& wt : tr.w)
    for (double v : wt) max_w = std::max(max_w, std::fabs(v));
  for (std::size_t j = 0; j < 14; ++j) max_err = std::max(max_err, std::fabs(w_enc[j] - tr.w.back()[j]));
  MESSAGE("logreg, 6 iterations, 4 refreshes: max |w_enc − w_plain| = " << max_err << " (" << -std::log2(max_err)
                                                                        << " bits), max |w| = " << max_w);
  CHECK(max_w <= rc.bound);
  CHECK(max_w > 0.2);
  CHECK(max_err < std::ldexp(1.0, -20));
  const auto s_enc = ml::predict(w.A_test, w_enc), s_plain = ml::predict(w.A_test, tr.w.back());
  std::size_t agree = 0;
  for (std::size_t i = 0; i < s_enc.size(); ++i) agree += (s_enc[i] >= 0) == (s_plain[i] >= 0);
  CHECK(agree == s_enc.size());
  CHECK(ml::accuracy(s_plain, w.y_test) > 0.85);
}

TEST_CASE("ml/refresh mlr job with refreshing: report, seconds, and the bound checked before any key") {
  // wine as a CSV with a header row (the job's --data format).
  const ml::Dataset ds = ml::read_sklearn_csv(ml::sklearn_data("wine_data.csv")).data;
  std::string csv;
  for (std::size_t j = 0; j < ds.X[0].size(); ++j) csv += "f" + std::to_string(j) + ",";
  csv += "class\n";
  for (std::size_t i = 0; i < ds.X.size(); ++i) {
    for (double v : ds.X[i]) csv += std::to_string(v) + ",";
    csv += std::to_string(static_cast<int>(ds.y[i])) + "\n";
  }
  test_util::TempDir dir("ckks_refresh");
  const BootstrapPreset b = small_boot();
  ml::MlrJobOptions o;
  o.data = dir.write("wine.csv", csv);
  o.target = "class";
  o.params = b.params;
  o.refresh = ml::RefreshConfig{b.config, 8.0};
  o.test_seed = 9;
  o.iterations = 5;
  const ml::MlrReport r = ml::run_mlr_job(o);
  CHECK(r.iterations == 5);
  CHECK(r.refresh.enabled);
  CHECK(r.refresh.slots == 128);
  CHECK(r.refresh.output_level == 9);
  CHECK(r.refresh.stats.bootstraps == 3);  // before iterations 2, 3, 4
  CHECK(r.refresh.stats.seconds > 0);
  CHECK(r.refresh.stats.seconds < r.seconds_train);
  CHECK(r.refresh.max_abs_weight <= 8.0);
  CHECK(r.agreement == 1.0);
  CHECK(r.accuracy_encrypted == r.accuracy_plaintext);
  CHECK(r.max_weight_error < std::ldexp(1.0, -20));
  // A bound below the plaintext weights: refused before any key exists.
  o.refresh->bound = 0.25;
  CHECK_THROWS_AS(ml::run_mlr_job(o), InputError);
}

#include "ml/mlr/mlr_job.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "ckks/errors.h"
#include "ckks/serialize.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"  // Standardizer, with_bias_column
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_plain.h"
#include "ml/timer.h"

namespace ckks::ml {

int resolve_mlr_iterations(int max_level, const MlrJobOptions& o) {
  const int max_iter = MlrServer::max_iterations(max_level, o.sigmoid_degree);
  const int iterations = o.iterations > 0 ? o.iterations : o.refresh ? kBootstrapIterations : std::min(4, max_iter);
  if (!o.refresh && (max_iter < 1 || iterations > max_iter))
    throw LevelError(o.command + ": " + std::to_string(std::max(1, iterations)) + " iterations need " +
                     std::to_string(MlrServer::levels_needed(std::max(1, iterations), o.sigmoid_degree)) +
                     " levels but the chain has " + std::to_string(max_level) +
                     (max_iter >= 1 ? "; use --iterations " + std::to_string(max_iter) + " or fewer," : "; use") +
                     " a longer chain (--params n16) or --bootstrap (refreshes the weights by bootstrapping)");
  return iterations;
}

MlrReport run_mlr_job(const MlrJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  MlrReport rep;
  Dataset ds;
  const bool digits = o.data.empty();
  if (digits) {
    ds = read_sklearn_digits(sklearn_data("digits.csv.gz"));
    rep.dataset = "digits (python3-sklearn)";
  } else {
    ds = select_target(read_csv(o.data), o.target);
    rep.dataset = o.data;
  }
  if (o.max_rows > 0 && ds.X.size() > o.max_rows) {
    ds.X.resize(o.max_rows);
    ds.y.resize(o.max_rows);
  }
  const std::string label_op = "mlr: target column \"" + (digits ? std::string("digit") : o.target) + "\"";
  const std::size_t C = count_classes(ds.y, label_op.c_str());
  Split split = train_test_split(ds, o.test_fraction, o.seed);
  {
    std::vector<std::size_t> in_train(C, 0), in_all(C, 0);
    for (double v : split.train.y) ++in_train[static_cast<std::size_t>(v)];
    for (double v : ds.y) ++in_all[static_cast<std::size_t>(v)];
    for (std::size_t c = 0; c < C; ++c)
      if (in_train[c] == 0)
        throw InputError("mlr: the training split has no sample of class " + std::to_string(c) + " (the data has " +
                         std::to_string(in_all[c]) + "); use another --seed, a smaller --test-fraction or more rows");
  }
  DenseMatrix X_train, X_test;
  if (digits) {
    // Pixels are counts in [0, 16]: scale to [0, 1] (fixed, so nothing is fitted on the test rows).
    auto scale = [](DenseMatrix X) {
      for (auto& row : X)
        for (auto& v : row) v /= kDigitsMaxPixel;
      return X;
    };
    X_train = scale(split.train.X);
    X_test = scale(split.test.X);
    rep.scaling = "pixels / 16";
  } else {
    const Standardizer z = Standardizer::fit(split.train);
    X_train = z.apply(split.train).X;
    X_test = z.apply(split.test).X;
    rep.scaling = "z-scores fitted on the training split";
  }
  MlrMatrices m;
  m.A = with_bias_column(X_train);
  m.A_test = with_bias_column(X_test);
  m.y = split.train.y;
  m.y_test = split.test.y;
  m.classes = C;
  const std::string dataset = rep.dataset, scaling = rep.scaling;
  rep = run_mlr_on_matrices(m, o, progress);
  rep.dataset = dataset;
  rep.scaling = scaling;
  rep.features = split.train.feature_names.size();
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

MlrReport run_mlr_on_matrices(const MlrMatrices& m, const MlrJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  MlrReport rep;
  const char* op = o.command.c_str();
  if (m.A.empty() || m.A_test.empty() || m.A[0].size() < 2)
    throw InputError(o.command + ": the training and test matrices need at least one row and one feature besides the bias column (got " +
                     std::to_string(m.A.size()) + " and " + std::to_string(m.A_test.size()) + " rows)");
  check_class_labels(m.y, m.classes, op);
  const DenseMatrix &A = m.A, &A_test = m.A_test;
  const std::vector<double>&y = m.y, &y_test = m.y_test;
  const std::size_t C = m.classes;
  rep.train_rows = A.size();
  rep.test_rows = A_test.size();
  rep.features = A[0].size() - 1;
  rep.classes = C;

  auto ctx = Context::create(o.params);
  rep.params = o.params;
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  rep.levels_per_iteration = MlrServer::levels_per_iteration(o.sigmoid_degree);
  rep.iterations = resolve_mlr_iterations(ctx->max_level(), o);
  rep.levels_used = MlrServer::levels_needed(rep.iterations, o.sigmoid_degree);
  rep.layout = MlrLayout::make(A.size(), A[0].size() - 1, C, ctx->max_slots());
  rep.rotation_keys = static_cast<int>(rep.layout.rotation_steps().size());

  MlrOptions mo;
  mo.iterations = rep.iterations;
  mo.eta0 = o.eta0;
  mo.sigmoid_degree = o.sigmoid_degree;
  const MlrTrace tr = mlr_nag_train(A, y, C, mo);
  // With refreshing: the plan (keys, packed slots) and the bound check before any key exists.
  std::optional<BootstrapPlan> plan;
  if (o.refresh) {
    plan = MlrServer::refresh_plan(*ctx, *o.refresh, rep.layout);
    rep.refresh.enabled = true;
    rep.refresh.slots = plan->slots;
    rep.refresh.output_level = plan->output_level;
    rep.refresh.bound = o.refresh->bound;
    for (const auto& w : tr.w)
      for (const auto& row : w)
        for (double v : row) rep.refresh.max_abs_weight = std::max(rep.refresh.max_abs_weight, std::fabs(v));
    check_refresh_bound(rep.refresh.max_abs_weight, o.refresh->bound, rep.iterations, op);
  }

  auto t = Clock::now();
  MlrDataOwner owner(ctx, o.test_seed);
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = plan ? owner.galois_keys(rep.layout, *plan) : owner.galois_keys(rep.layout);
  EncapsulationKeys ek;
  if (o.refresh && o.refresh->bootstrap.ephemeral_secret_weight > 0)
    ek = owner.encapsulation_keys(o.refresh->bootstrap.ephemeral_secret_weight);
  if (plan) rep.rotation_keys = static_cast<int>(gk.keys.size());  // the model's and the bootstrap's
  rep.seconds_keygen = seconds_since(t);
  t = Clock::now();
  const EncryptedMlrData enc = owner.encrypt(A, y, C, mo.epsilon, plan ? plan->output_level : -1);
  rep.seconds_encrypt = seconds_since(t);
  rep.ciphertexts_uploaded = enc.y.size();
  for (std::size_t k = 0; k < enc.x.size(); ++k) rep.ciphertexts_uploaded += enc.x[k].size() + enc.xb[k].size();
  if (o.measure_upload) {
    for (const Ciphertext& ct : enc.y) rep.upload_bytes += serialize(ct).size();
    for (std::size_t k = 0; k < enc.x.size(); ++k)
      for (std::size_t g = 0; g < enc.x[k].size(); ++g)
        rep.upload_bytes += serialize(enc.x[k][g]).size() + serialize(enc.xb[k][g]).size();
  }

  t = Clock::now();
  const std::unique_ptr<const MlrServer> server =
      o.refresh ? std::make_unique<const MlrServer>(ctx, std::move(rk), std::move(gk), *o.refresh, std::move(ek),
                                                    rep.layout, o.sigmoid_degree)
                : std::make_unique<const MlrServer>(ctx, std::move(rk), std::move(gk));
  const std::vector<Ciphertext> w_enc = server->train(enc, mo, progress);
  rep.seconds_train = seconds_since(t);
  rep.refresh.stats = server->refresh_stats();

  t = Clock::now();
  rep.weights_encrypted = owner.decrypt_weights(w_enc, rep.layout);
  rep.seconds_decrypt = seconds_since(t);
  rep.weights_plaintext = tr.w.back();
  rep.max_abs_margin = *std::max_element(tr.max_abs_margin.begin(), tr.max_abs_margin.end());
  const std::vector<int> p_plain = mlr_predict(A_test, rep.weights_plaintext);
  const std::vector<int> p_enc = mlr_predict(A_test, rep.weights_encrypted);
  rep.accuracy_plaintext = class_accuracy(p_plain, y_test);
  rep.accuracy_encrypted = class_accuracy(p_enc, y_test);
  rep.agreement = agreement(p_enc, p_plain);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t j = 0; j < rep.weights_plaintext[c].size(); ++j)
      rep.max_weight_error =
          std::max(rep.max_weight_error, std::fabs(rep.weights_encrypted[c][j] - rep.weights_plaintext[c][j]));
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

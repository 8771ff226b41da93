#include "ml/logreg/logreg_job.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"  // Standardizer, with_bias_column
#include "ml/logreg/logreg_encrypted.h"
#include "ml/logreg/logreg_plain.h"
#include "ml/timer.h"

namespace ckks::ml {

LogregReport run_logreg_job(const LogregJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  LogregReport rep;
  Dataset ds;
  if (o.data.empty()) {
    ds = read_sklearn_csv(sklearn_data("breast_cancer.csv")).data;
    rep.dataset = "breast_cancer (python3-sklearn)";
  } else {
    ds = select_target(read_csv(o.data), o.target);
    rep.dataset = o.data;
  }
  check_binary_labels(ds.y, ("logreg: target column \"" + (o.data.empty() ? std::string("target") : o.target) + "\"").c_str());
  Split split = train_test_split(ds, o.test_fraction, o.seed);
  if (o.max_train_rows > 0 && split.train.X.size() > o.max_train_rows) {
    split.train.X.resize(o.max_train_rows);
    split.train.y.resize(o.max_train_rows);
  }
  check_binary_labels(split.train.y, "logreg (training split)");
  // Standardise the features on the training rows; the labels stay 0/1 (Standardizer also
  // z-scores y, which we simply do not use).
  const Standardizer z = Standardizer::fit(split.train);
  const auto A = with_bias_column(z.apply(split.train).X), A_test = with_bias_column(z.apply(split.test).X);
  const std::vector<double>&y = split.train.y, &y_test = split.test.y;
  rep.train_rows = A.size();
  rep.test_rows = A_test.size();
  rep.features = split.train.feature_names.size();

  auto ctx = Context::create(o.params);
  rep.params = o.params;
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  rep.levels_per_iteration = LogregServer::levels_per_iteration(o.sigmoid_degree);
  const int max_iter = LogregServer::max_iterations(ctx->max_level(), o.sigmoid_degree);
  rep.iterations = o.iterations > 0 ? o.iterations : o.refresh ? kBootstrapIterations : std::min(4, max_iter);
  if (max_iter < 1 && !o.refresh)
    throw LevelError("logreg: one iteration needs " + std::to_string(LogregServer::levels_needed(1, o.sigmoid_degree)) +
                     " levels but the chain of " + o.params.describe() + " has " + std::to_string(ctx->max_level()) +
                     "; use a longer chain (--params n15 or n16)");
  if (rep.iterations > max_iter && !o.refresh)
    throw LevelError("logreg: " + std::to_string(rep.iterations) + " iterations need " +
                     std::to_string(LogregServer::levels_needed(rep.iterations, o.sigmoid_degree)) +
                     " levels but the chain has " + std::to_string(ctx->max_level()) + "; use --iterations " +
                     std::to_string(max_iter) + " or fewer, a longer chain (--params n16) or --bootstrap "
                     "(refreshes the weights by bootstrapping)");
  rep.levels_used = LogregServer::levels_needed(rep.iterations, o.sigmoid_degree);
  // The layout without the slot bound first, so that the message names the flag.
  const LogregLayout layout = LogregLayout::make(A.size(), A[0].size() - 1, std::numeric_limits<std::size_t>::max());
  if (layout.slots() > ctx->max_slots())
    throw ParameterError("logreg: " + std::to_string(A.size()) + " training samples × " +
                         std::to_string(layout.block) + "-slot blocks need " + std::to_string(layout.slots()) +
                         " slots but N = 2^" + std::to_string(o.params.log_n) + " has " +
                         std::to_string(ctx->max_slots()) + "; use a larger ring (--params n15 or n16) or fewer " +
                         "samples (a larger --test-fraction)");

  LogregOptions lo;
  lo.iterations = rep.iterations;
  lo.eta0 = o.eta0;
  lo.sigmoid_degree = o.sigmoid_degree;
  const LogregTrace tr = logreg_nag_train(A, y, lo);
  // With refreshing: the plan (keys, packed slots) and the bound check before any key exists.
  std::optional<BootstrapPlan> plan;
  if (o.refresh) {
    plan = LogregServer::refresh_plan(*ctx, *o.refresh, layout);
    rep.refresh.enabled = true;
    rep.refresh.slots = plan->slots;
    rep.refresh.output_level = plan->output_level;
    rep.refresh.bound = o.refresh->bound;
    for (const auto& w : tr.w)
      for (double v : w) rep.refresh.max_abs_weight = std::max(rep.refresh.max_abs_weight, std::fabs(v));
    check_refresh_bound(rep.refresh.max_abs_weight, o.refresh->bound, rep.iterations, "logreg");
  }

  auto t = Clock::now();
  LogregDataOwner owner(ctx);
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = plan ? owner.galois_keys(layout, *plan) : owner.galois_keys(layout);
  EncapsulationKeys ek;
  if (o.refresh && o.refresh->bootstrap.ephemeral_secret_weight > 0)
    ek = owner.encapsulation_keys(o.refresh->bootstrap.ephemeral_secret_weight);
  rep.seconds_keygen = seconds_since(t);
  t = Clock::now();
  const EncryptedLogregData enc = owner.encrypt(A, y, lo.epsilon, plan ? plan->output_level : -1);
  rep.seconds_encrypt = seconds_since(t);

  t = Clock::now();
  const std::unique_ptr<const LogregServer> server =
      o.refresh ? std::make_unique<const LogregServer>(ctx, std::move(rk), std::move(gk), *o.refresh, std::move(ek),
                                                       layout, o.sigmoid_degree)
                : std::make_unique<const LogregServer>(ctx, std::move(rk), std::move(gk));
  const Ciphertext w_enc = server->train(enc, lo, progress);
  rep.seconds_train = seconds_since(t);
  rep.refresh.stats = server->refresh_stats();

  t = Clock::now();
  rep.weights_encrypted = owner.decrypt_weights(w_enc, layout);
  rep.seconds_decrypt = seconds_since(t);
  rep.weights_plaintext = tr.w.back();
  rep.max_abs_margin = *std::max_element(tr.max_abs_margin.begin(), tr.max_abs_margin.end());
  auto evaluate = [&](const std::vector<double>& w) {
    const std::vector<double> s = predict(A_test, w);
    return LogregMetrics{accuracy(s, y_test), roc_auc(s, y_test)};
  };
  rep.plaintext = evaluate(rep.weights_plaintext);
  rep.encrypted = evaluate(rep.weights_encrypted);
  for (std::size_t j = 0; j < rep.weights_encrypted.size(); ++j)
    rep.max_weight_error = std::max(rep.max_weight_error, std::fabs(rep.weights_encrypted[j] - rep.weights_plaintext[j]));
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

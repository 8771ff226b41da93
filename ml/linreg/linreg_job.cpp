#include "ml/linreg/linreg_job.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/sklearn.h"
#include "ml/format.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"
#include "ml/timer.h"

namespace ckks::ml {

std::vector<std::string> parse_target_list(const std::string& list, const std::string& data, const std::string& op) {
  std::vector<std::string> names;
  if (list.find_first_not_of(" \t") == std::string::npos) {
    if (data == kLinnerudKeyword) return {"Weight", "Waist", "Pulse"};
    if (data == sklearn_data("boston_house_prices.csv")) return {"MEDV"};
    throw InputError(op + ": no target column for " + data + "; name it with --target (several separated by commas)");
  }
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string name = list.substr(start, comma - start);
    const auto first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    if (name.empty())
      throw InputError(op + ": --target \"" + list + "\" has an empty column name; separate names by single commas");
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw InputError(op + ": --target names the column \"" + name + "\" twice; give each target once");
    names.push_back(std::move(name));
    start = comma + 1;
  }
  return names;
}

RegressionSplit load_regression_split(const std::string& data, const std::string& target_list, double test_fraction,
                                      std::uint64_t seed, const std::string& op) {
  const std::vector<std::string> targets = parse_target_list(target_list, data, op);
  const Table table = data == kLinnerudKeyword ? read_sklearn_linnerud() : read_csv(data);
  for (const std::string& t : targets)
    if (std::find(table.columns.begin(), table.columns.end(), t) == table.columns.end()) {
      (void)select_target(table, t);  // throws "select_target: no column named …", listing the columns
      throw InputError(op + ": --target: no column named \"" + t + "\" in " + data);
    }
  if (targets.size() >= table.columns.size())
    throw InputError(op + ": --target takes all " + std::to_string(table.columns.size()) + " columns of " + data +
                     "; leave at least one column as a feature");
  // Features: every column that is not a target (the other targets must not leak into X).
  std::vector<std::size_t> feature_cols;
  for (std::size_t j = 0; j < table.columns.size(); ++j)
    if (std::find(targets.begin(), targets.end(), table.columns[j]) == targets.end()) feature_cols.push_back(j);
  RegressionSplit out;
  out.targets = targets;
  for (const std::string& t : targets) {
    const std::size_t tc = static_cast<std::size_t>(
        std::find(table.columns.begin(), table.columns.end(), t) - table.columns.begin());
    Table sub;
    for (std::size_t j : feature_cols) sub.columns.push_back(table.columns[j]);
    sub.columns.push_back(t);
    for (const auto& row : table.rows) {
      std::vector<double> r;
      for (std::size_t j : feature_cols) r.push_back(row[j]);
      r.push_back(row[tc]);
      sub.rows.push_back(std::move(r));
    }
    out.splits.push_back(train_test_split(select_target(sub, t), test_fraction, seed));
  }
  return out;
}

LinregReport run_linreg_job(const LinregJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  LinregReport rep;
  if (!std::isfinite(o.ridge) || o.ridge < 0.0)
    throw InputError("linreg: --ridge " + format_number(o.ridge) +
                     " is not a finite λ ≥ 0; pass --ridge 0 (least squares) or a positive value");
  rep.ridge = o.ridge;

  // ---- data owner: load, split, standardise on the training part only (each target separately)
  const RegressionSplit rs = load_regression_split(o.data, o.target, o.test_fraction, o.seed, "linreg");
  const std::vector<std::string>& names = rs.targets;
  const std::size_t m = names.size();
  std::vector<Standardizer> z;
  std::vector<std::vector<double>> Y;  // standardised training targets
  for (const Split& s : rs.splits) {
    z.push_back(Standardizer::fit(s.train));
    Y.push_back(z.back().apply(s.train).y);
  }
  const Dataset train = z[0].apply(rs.splits[0].train), test = z[0].apply(rs.splits[0].test);
  const auto A = with_bias_column(train.X), A_test = with_bias_column(test.X);
  rep.train_rows = train.X.size();
  rep.test_rows = test.X.size();
  rep.features = train.feature_names.size();

  auto ctx = Context::create(o.params);
  record_parameters(rep, o.params, *ctx);
  const int max_iter = ctx->max_level() - 2;
  rep.iterations = o.iterations > 0 ? o.iterations : std::min(16, max_iter);
  if (max_iter < 1)
    throw LevelError("linreg: one iteration needs " + std::to_string(SfhServer::levels_needed(1)) +
                     " levels but the chain of " + o.params.describe() + " has " + std::to_string(ctx->max_level()) +
                     "; use a longer chain (--params n14, n15 or n16)");
  if (rep.iterations > max_iter)
    throw LevelError("linreg: " + std::to_string(rep.iterations) + " iterations need " +
                     std::to_string(SfhServer::levels_needed(rep.iterations)) + " levels but the chain has " +
                     std::to_string(ctx->max_level()) + "; use --iterations " + std::to_string(max_iter) +
                     " or fewer, or a longer chain (--params n16)");
  rep.levels_used = SfhServer::levels_needed(rep.iterations);
  // The layout without the slot bound first, so that the message names the flag.
  const SfhLayout layout =
      SfhLayout::make(A.size(), A[0].size() - 1, std::numeric_limits<std::size_t>::max(), m);
  if (layout.slots() > ctx->max_slots())
    throw ParameterError("linreg: " + std::to_string(A.size()) + " training samples × " + std::to_string(layout.block) +
                         "-slot blocks need " + std::to_string(layout.slots()) + " slots but N = 2^" +
                         std::to_string(o.params.log_n) + " has " + std::to_string(ctx->max_slots()) +
                         "; use a larger ring (--params n16) or fewer samples (a larger --test-fraction)");

  // ---- keys and encryption (data owner): one encrypted data set for every target
  auto t = Clock::now();
  SfhDataOwner owner(ctx);
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = owner.galois_keys(layout);
  rep.galois_keys = gk.keys.size();
  rep.seconds_keygen = seconds_since(t);
  t = Clock::now();
  const EncryptedTrainingSet enc = owner.encrypt(A, Y, o.ridge);
  rep.seconds_encrypt = seconds_since(t);

  // ---- server: ciphertexts and evaluation keys only
  t = Clock::now();
  const SfhServer server(ctx, std::move(rk), std::move(gk));
  const std::vector<Ciphertext> w_enc = server.train_outputs(enc, rep.iterations, progress);
  rep.seconds_train = seconds_since(t);

  // ---- data owner: decrypt and evaluate each output on the held-out rows
  for (std::size_t k = 0; k < m; ++k) {
    LinregOutput out;
    out.name = names[k];
    t = Clock::now();
    out.weights_encrypted = owner.decrypt_weights(w_enc[k], layout, &out.decrypted_constant, k);
    rep.seconds_decrypt += seconds_since(t);
    out.weights_plaintext = sfh_train(A, Y[k], rep.iterations, o.ridge).back();
    out.weights_closed_form = ridge_closed_form(A, Y[k], o.ridge);
    auto evaluate = [&](const std::vector<double>& w) {
      std::vector<double> pred = predict(A_test, w);
      for (auto& p : pred) p = z[k].unscale_y(p);
      return LinregMetrics{rmse(pred, rs.splits[k].test.y), r2(pred, rs.splits[k].test.y)};
    };
    out.encrypted = evaluate(out.weights_encrypted);
    out.plaintext = evaluate(out.weights_plaintext);
    out.closed_form = evaluate(out.weights_closed_form);
    for (std::size_t j = 0; j < out.weights_encrypted.size(); ++j)
      out.max_weight_error =
          std::max(out.max_weight_error, std::fabs(out.weights_encrypted[j] - out.weights_plaintext[j]));
    rep.max_weight_error = std::max(rep.max_weight_error, out.max_weight_error);
    rep.outputs.push_back(std::move(out));
  }
  const LinregOutput& first = rep.outputs[0];
  rep.encrypted = first.encrypted;
  rep.plaintext = first.plaintext;
  rep.closed_form = first.closed_form;
  rep.weights_encrypted = first.weights_encrypted;
  rep.weights_plaintext = first.weights_plaintext;
  rep.decrypted_constant = first.decrypted_constant;
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

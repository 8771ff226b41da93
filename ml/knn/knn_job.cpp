#include "ml/knn/knn_job.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/data/sklearn.h"
#include "ml/knn/knn_encrypted.h"
#include "ml/metrics.h"
#include "ml/timer.h"

namespace ckks::ml {

namespace {

struct Prepared {
  KnnMatrix refs, queries;  // all training rows usable as references, all test rows
  std::vector<double> ref_y, query_y;
  std::vector<double> train_y;  // for the regression tolerance
};

KnnMetrics metrics(KnnTask task, const std::vector<double>& pred, const std::vector<double>& truth) {
  KnnMetrics m;
  if (task == KnnTask::Classify) {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == truth[i];
    m.accuracy = pred.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(pred.size());
  } else {
    m.rmse = rmse(pred, truth);
    bool constant = true;
    for (double t : truth) constant = constant && t == truth[0];
    m.r2 = constant ? 0.0 : r2(pred, truth);
  }
  return m;
}

bool all_integer(const KnnMatrix& a, const KnnMatrix& b) {
  for (const auto* m : {&a, &b})
    for (const auto& row : *m)
      for (double v : row)
        if (v != std::floor(v) || std::fabs(v) > 1e6) return false;
  return true;
}

KnnParamsReport params_report(const ContextPtr& ctx) {
  return {ctx->params(), ctx->log_qp(), ctx->security_bits()};
}

std::vector<double> predict_from_distances(const KnnMatrix& dist, const std::vector<double>& y, std::size_t k,
                                           KnnTask task, std::vector<std::vector<std::size_t>>* nn_out) {
  std::vector<double> pred;
  for (const auto& d : dist) {
    const auto nn = k_nearest(d, k);
    pred.push_back(task == KnnTask::Regress ? knn_mean(nn, y) : static_cast<double>(knn_vote(nn, y)));
    if (nn_out) nn_out->push_back(nn);
  }
  return pred;
}

/// The data: Fashion-MNIST pixels 0..255 (classification without --data), else a CSV (Boston by
/// default) split into training rows (references) and test rows (queries), features standardised
/// on the training rows. Fills the data set fields of `rep`.
Prepared load_data(const KnnJobOptions& o, KnnReport& rep) {
  Prepared p;
  if (o.task == KnnTask::Classify && o.data.empty()) {
    const std::string dir = o.fmnist_dir.empty() ? std::string(kDebianFashionMnistDir) : o.fmnist_dir;
    const std::size_t R = o.references ? o.references : 1000;
    const std::size_t Q = std::max(o.queries ? o.queries : std::size_t{300}, o.rank_queries);
    const ImageSet train = load_fashion_mnist(dir, true, R), test = load_fashion_mnist(dir, false, Q);
    auto pixels = [](const ImageSet& s, KnnMatrix& X, std::vector<double>& y) {
      for (std::size_t i = 0; i < s.images.size(); ++i) {
        std::vector<double> row(s.images[i].size());
        for (std::size_t f = 0; f < row.size(); ++f) row[f] = std::round(double(s.images[i][f]) * 255.0);
        X.push_back(std::move(row));
        y.push_back(s.labels[i]);
      }
    };
    pixels(train, p.refs, p.ref_y);
    pixels(test, p.queries, p.query_y);
    p.train_y = p.ref_y;
    rep.dataset = "fashion-mnist (" + dir + "), pixels 0..255";
    rep.target = "label";
    rep.train_rows = p.refs.size();
    rep.test_rows = p.queries.size();
  } else {
    const std::string path = o.data.empty() ? sklearn_data("boston_house_prices.csv") : o.data;
    if (!o.data.empty() && o.target.empty())
      throw InputError("knn: --data needs --target NAME (the column to predict)");
    rep.target = o.data.empty() ? "MEDV" : o.target;
    rep.dataset = o.data.empty() ? "boston_house_prices (python3-sklearn)" : o.data;
    const Split split = train_test_split(select_target(read_csv(path), rep.target), o.test_fraction, o.seed);
    const Standardizer z = Standardizer::fit(split.train);
    p.refs = z.apply(split.train).X;
    p.queries = z.apply(split.test).X;
    p.ref_y = split.train.y;  // targets stay in their own units
    p.query_y = split.test.y;
    p.train_y = split.train.y;
    rep.train_rows = p.refs.size();
    rep.test_rows = p.queries.size();
    if (o.task == KnnTask::Classify) {
      check_knn_model(p.refs, p.ref_y, 1, KnnTask::Classify, ("knn: target column \"" + rep.target + "\"").c_str());
      check_knn_model(p.queries, p.query_y, 1, KnnTask::Classify, ("knn: target column \"" + rep.target + "\"").c_str());
    }
  }
  rep.features = p.refs.empty() ? 0 : p.refs[0].size();
  return p;
}

/// Mode 1: the first R references against the first Q queries, distances decrypted by the client
/// and ranked in the clear; compared with the plaintext neighbours.
void run_decrypt_mode(const KnnJobOptions& o, const Prepared& p, const KnnMatrix& refs, const std::vector<double>& ref_y,
                      std::size_t Q, double unit, const Progress& progress, KnnDecryptReport& m) {
  const std::size_t R = refs.size();
  m.ran = true;
  m.references = R;
  m.queries = Q;
  const KnnMatrix queries(p.queries.begin(), p.queries.begin() + static_cast<std::ptrdiff_t>(Q));
  const std::vector<double> truth(p.query_y.begin(), p.query_y.begin() + static_cast<std::ptrdiff_t>(Q));
  auto ctx = Context::create(o.params);
  m.params = params_report(ctx);
  if (ctx->max_level() < KnnDistanceServer::levels_needed())
    throw LevelError("knn: the decrypted-distance mode needs 1 level but the chain of " + o.params.describe() +
                     " has 0; use a chain with at least two data primes (e.g. --params n14)");
  auto t = Clock::now();
  KnnClient client(ctx, o.test_seed ? std::optional<std::uint64_t>(o.test_seed) : std::nullopt);
  m.seconds_keygen = seconds_since(t);
  const KnnDistanceServer server(ctx, refs, unit);
  m.rounded = all_integer(refs, queries);
  KnnMatrix dist;  // decrypted, unrounded
  for (std::size_t start = 0; start < Q; start += ctx->max_slots()) {
    const std::size_t cnt = std::min(ctx->max_slots(), Q - start);
    const KnnMatrix batch(queries.begin() + static_cast<std::ptrdiff_t>(start),
                          queries.begin() + static_cast<std::ptrdiff_t>(start + cnt));
    t = Clock::now();
    const EncryptedQueries eq = client.encrypt_queries(batch, unit, KnnDistanceServer::levels_needed());
    m.seconds_encrypt += seconds_since(t);
    if (progress) progress("distances", start, Q);
    t = Clock::now();
    const auto dct = server.distances(eq);
    m.seconds_distances += seconds_since(t);
    t = Clock::now();
    const KnnMatrix dd = client.decrypt_distances(dct, cnt, unit, false);
    m.seconds_decrypt += seconds_since(t);
    dist.insert(dist.end(), dd.begin(), dd.end());
  }
  if (progress) progress("distances", Q, Q);
  KnnMatrix plain_dist, used = dist;
  double max_d = 0;
  m.min_boundary_gap = INFINITY;
  for (std::size_t b = 0; b < Q; ++b) {
    plain_dist.push_back(squared_distances(refs, queries[b]));
    std::vector<double> s = plain_dist.back();
    std::sort(s.begin(), s.end());
    if (o.k < s.size()) m.min_boundary_gap = std::min(m.min_boundary_gap, s[o.k] - s[o.k - 1]);
    for (std::size_t r = 0; r < R; ++r) {
      m.max_distance_error = std::max(m.max_distance_error, std::fabs(dist[b][r] - plain_dist[b][r]));
      max_d = std::max(max_d, plain_dist[b][r]);
      if (m.rounded) used[b][r] = std::round(used[b][r]);
    }
  }
  if (!std::isfinite(m.min_boundary_gap)) m.min_boundary_gap = 0;
  m.distance_error_bits = m.max_distance_error > 0 ? -std::log2(m.max_distance_error / max_d) : 64;
  std::vector<std::vector<std::size_t>> nn_plain, nn_enc;
  const auto pred_plain = predict_from_distances(plain_dist, ref_y, o.k, o.task, &nn_plain);
  const auto pred_enc = predict_from_distances(used, ref_y, o.k, o.task, &nn_enc);
  std::size_t same_pred = 0, same_nn = 0;
  for (std::size_t b = 0; b < Q; ++b) {
    same_pred += pred_plain[b] == pred_enc[b];
    same_nn += nn_plain[b] == nn_enc[b];
  }
  m.agreement = static_cast<double>(same_pred) / static_cast<double>(Q);
  m.neighbours_identical = static_cast<double>(same_nn) / static_cast<double>(Q);
  m.plaintext = metrics(o.task, pred_plain, truth);
  m.encrypted = metrics(o.task, pred_enc, truth);
  const double s = m.seconds_encrypt + m.seconds_distances + m.seconds_decrypt;
  m.samples_per_second = s > 0 ? static_cast<double>(Q) / s : 0.0;
}

/// Mode 2: the server ranks o.rank_references references with approximate comparisons and returns
/// only the encrypted prediction; compared with the plaintext k-NN on the same references.
void run_rank_mode(const KnnJobOptions& o, const Prepared& p, std::size_t features, double unit,
                   const Progress& progress, KnnRankReport& m) {
  m.ran = true;
  const std::size_t n = o.rank_references;
  const Params rp = o.rank_params ? *o.rank_params : knn_ranking_params();
  if (n > p.refs.size())
    throw InputError("knn: the fully encrypted mode uses " + std::to_string(n) + " references but only " +
                     std::to_string(p.refs.size()) + " training rows exist");
  if (o.k > n)
    throw InputError("knn: k = " + std::to_string(o.k) + " but the fully encrypted mode ranks " + std::to_string(n) +
                     " references; choose 1 ≤ k ≤ " + std::to_string(n) + " (or more --rank-references)");
  auto ctx = Context::create(rp);
  m.params = params_report(ctx);
  const KnnRankLayout lay = KnnRankLayout::make(n, features, ctx->max_slots());
  const std::size_t Qm = o.rank_queries ? o.rank_queries : std::min(lay.queries_per_ciphertext(), p.queries.size());
  if (Qm > p.queries.size())
    throw InputError("knn: --rank-queries " + std::to_string(Qm) + " but only " + std::to_string(p.queries.size()) +
                     " test rows exist");
  m.queries = Qm;
  m.references = n;
  const KnnMatrix refs2(p.refs.begin(), p.refs.begin() + static_cast<std::ptrdiff_t>(n));
  const std::vector<double> y2(p.ref_y.begin(), p.ref_y.begin() + static_cast<std::ptrdiff_t>(n));
  const KnnMatrix queries(p.queries.begin(), p.queries.begin() + static_cast<std::ptrdiff_t>(Qm));
  const std::vector<double> truth(p.query_y.begin(), p.query_y.begin() + static_cast<std::ptrdiff_t>(Qm));
  // β: the server's bound on |D_i − D_j|, from its own training rows as stand-ins for queries.
  double spread = 0;
  const std::size_t proxies = std::min<std::size_t>(p.refs.size(), 1000);
  for (std::size_t t = 0; t < proxies; ++t) {
    const auto d = squared_distances(refs2, p.refs[t]);
    spread = std::max(spread, *std::max_element(d.begin(), d.end()) - *std::min_element(d.begin(), d.end()));
  }
  m.beta = 1.25 * std::max(spread, 1e-9);
  KnnRankOptions ro;
  ro.k = o.k;
  ro.task = o.task;
  ro.compositions_distance = o.compositions_distance;
  ro.compositions_rank = o.compositions_rank;
  m.compositions_distance = ro.compositions_distance;
  m.compositions_rank = ro.compositions_rank;
  const KnnRankServer server(ctx, lay, refs2, y2, unit, m.beta, ro);
  m.levels_used = server.levels_needed();
  if (m.levels_used > ctx->max_level())
    throw LevelError("knn: the fully encrypted circuit needs " + std::to_string(m.levels_used) +
                     " levels but the chain has " + std::to_string(ctx->max_level()) +
                     "; use fewer compositions (--compositions-distance / --compositions-rank) or a longer chain");
  const auto steps = server.rotation_steps();
  m.rotation_keys = static_cast<int>(steps.size());
  auto t = Clock::now();
  KnnClient client(ctx, o.test_seed ? std::optional<std::uint64_t>(o.test_seed + 7) : std::nullopt);
  const RelinKey rk = client.relin_key();
  const GaloisKeys gk = client.galois_keys(steps);
  m.seconds_keygen = seconds_since(t);
  std::vector<double> pred_enc;
  const std::size_t per = lay.queries_per_ciphertext();
  for (std::size_t start = 0; start < Qm; start += per) {
    const std::size_t cnt = std::min(per, Qm - start);
    const KnnMatrix batch(queries.begin() + static_cast<std::ptrdiff_t>(start),
                          queries.begin() + static_cast<std::ptrdiff_t>(start + cnt));
    if (progress) progress("encrypted ranking", start, Qm);
    t = Clock::now();
    const Ciphertext ct = client.encrypt_segments(batch, lay, unit, m.levels_used);
    m.seconds_encrypt += seconds_since(t);
    t = Clock::now();
    const Ciphertext out = server.predict(ct, rk, gk);
    m.seconds_predict += seconds_since(t);
    t = Clock::now();
    if (o.task == KnnTask::Regress) {
      const auto v = client.decode_regression(out, lay, cnt);
      pred_enc.insert(pred_enc.end(), v.begin(), v.end());
    } else {
      KnnMatrix votes, nearest;
      client.decode_votes(out, lay, cnt, server.classes(), votes, nearest);
      for (std::size_t b = 0; b < cnt; ++b) pred_enc.push_back(decide_vote(votes[b], nearest[b]));
    }
    m.seconds_decrypt += seconds_since(t);
    ++m.batches;
  }
  if (progress) progress("encrypted ranking", Qm, Qm);
  const auto pred_plain = knn_predict(refs2, y2, queries, o.k, o.task);
  double mean = 0, var = 0;
  for (double v : p.train_y) mean += v;
  mean /= static_cast<double>(p.train_y.size());
  for (double v : p.train_y) var += (v - mean) * (v - mean);
  m.tolerance = o.task == KnnTask::Regress ? 0.01 * std::sqrt(var / static_cast<double>(p.train_y.size())) : 0.0;
  std::size_t agree = 0;
  for (std::size_t b = 0; b < Qm; ++b) {
    const double e = std::fabs(pred_enc[b] - pred_plain[b]);
    m.max_prediction_error = std::max(m.max_prediction_error, e);
    agree += o.task == KnnTask::Classify ? pred_enc[b] == pred_plain[b] : e <= m.tolerance;
  }
  m.agreement = static_cast<double>(agree) / static_cast<double>(Qm);
  m.plaintext = metrics(o.task, pred_plain, truth);
  m.encrypted = metrics(o.task, pred_enc, truth);
  const double s = m.seconds_encrypt + m.seconds_predict + m.seconds_decrypt;
  m.samples_per_second = s > 0 ? static_cast<double>(Qm) / s : 0.0;
}

}  // namespace

KnnReport run_knn_job(const KnnJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  KnnReport rep;
  rep.task = o.task;
  rep.k = o.k;
  const Prepared p = load_data(o, rep);

  // Counts for mode 1.
  const std::size_t R = o.references ? o.references : p.refs.size();
  const std::size_t Q = o.queries ? o.queries : std::min<std::size_t>(p.queries.size(), o.data.empty() && o.task == KnnTask::Classify ? 300 : p.queries.size());
  if (R > p.refs.size())
    throw InputError("knn: --references " + std::to_string(R) + " but only " + std::to_string(p.refs.size()) +
                     " training rows exist; choose at most " + std::to_string(p.refs.size()));
  if (Q > p.queries.size())
    throw InputError("knn: --queries " + std::to_string(Q) + " but only " + std::to_string(p.queries.size()) +
                     " test rows exist; choose at most " + std::to_string(p.queries.size()));
  const KnnMatrix refs(p.refs.begin(), p.refs.begin() + static_cast<std::ptrdiff_t>(R));
  const std::vector<double> ref_y(p.ref_y.begin(), p.ref_y.begin() + static_cast<std::ptrdiff_t>(R));
  check_knn_model(refs, ref_y, o.k, o.task, "knn");
  double unit = 1.0;  // public feature unit: the largest |x| of the references
  for (const auto& row : refs)
    for (double v : row) unit = std::max(unit, std::fabs(v));

  if (o.run_decrypt) run_decrypt_mode(o, p, refs, ref_y, Q, unit, progress, rep.decrypt);
  if (o.run_encrypted) run_rank_mode(o, p, rep.features, unit, progress, rep.rank);
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

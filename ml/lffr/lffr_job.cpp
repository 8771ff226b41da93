#include "ml/lffr/lffr_job.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ckks/errors.h"
#include "ckks/polynomial.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"
#include "ml/timer.h"

namespace ckks::ml {

LffrReport run_lffr_job(const LffrJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  LffrReport rep;
  if (o.sigmoid_degree < 3 || o.sigmoid_degree > 31 || o.sigmoid_degree % 2 == 0)
    throw InputError("lffr: --sigmoid-degree " + std::to_string(o.sigmoid_degree) +
                     " is not an odd degree from 3 to 31; pass e.g. --sigmoid-degree 7");
  rep.sigmoid_degree = o.sigmoid_degree;

  // ---- data owner: load, split, normalise targets into (0, 1), standardise features
  const RegressionSplit rs = load_regression_split(o.data, o.target, o.test_fraction, o.seed, "lffr");
  const std::vector<std::string>& names = rs.targets;
  const std::size_t m = names.size();
  std::vector<TargetScaling> scaling;
  std::vector<std::vector<double>> U;  // normalised training targets
  for (std::size_t k = 0; k < m; ++k) {
    scaling.push_back(TargetScaling::fit(rs.splits[k].train.y, names[k]));
    std::vector<double> u;
    for (double y : rs.splits[k].train.y) u.push_back(scaling.back().to_unit(y));
    U.push_back(std::move(u));
  }
  const Standardizer zx = Standardizer::fit(rs.splits[0].train);
  const auto A = with_bias_column(zx.apply(rs.splits[0].train).X);
  const auto A_test = with_bias_column(zx.apply(rs.splits[0].test).X);
  rep.train_rows = A.size();
  rep.test_rows = A_test.size();
  rep.features = A[0].size() - 1;

  auto ctx = Context::create(o.params);
  record_parameters(rep, o.params, *ctx);
  const int max_iter = LffrServer::max_iterations(ctx->max_level(), o.sigmoid_degree);
  rep.iterations = o.iterations > 0 ? o.iterations : std::min(16, max_iter);
  if (rep.iterations < 1 || rep.iterations > max_iter)
    throw LevelError("lffr: " + std::to_string(rep.iterations) + " iterations with a degree-" +
                     std::to_string(o.sigmoid_degree) + " sigmoid need " +
                     std::to_string(LffrServer::levels_needed(std::max(1, rep.iterations), o.sigmoid_degree)) +
                     " levels but the chain has " + std::to_string(ctx->max_level()) + "; use --iterations " +
                     std::to_string(max_iter) + " or fewer, a lower --sigmoid-degree, or a longer chain (--params n16)");
  rep.levels_used = LffrServer::levels_needed(rep.iterations, o.sigmoid_degree);
  const SfhLayout layout = SfhLayout::make(A.size(), rep.features, std::numeric_limits<std::size_t>::max(), 0);
  if (layout.slots() > ctx->max_slots())
    throw ParameterError("lffr: " + std::to_string(A.size()) + " training samples × " + std::to_string(layout.block) +
                         "-slot blocks need " + std::to_string(layout.slots()) + " slots but N = 2^" +
                         std::to_string(o.params.log_n) + " has " + std::to_string(ctx->max_slots()) +
                         "; use a larger ring (--params n16) or fewer samples (a larger --test-fraction)");

  // ---- the interval: where σ is evaluated in K steps (exact σ first, then the polynomial twin)
  auto widest = [&](const std::function<double(double)>& sigma, double* lo, double* hi) {
    *lo = 0;
    *hi = 0;
    for (std::size_t k = 0; k < m; ++k) {
      const LffrTrace tr = lffr_train(A, U[k], rep.iterations, sigma);
      *lo = std::min(*lo, tr.z_min);
      *hi = std::max(*hi, tr.z_max);
    }
  };
  double lo = 0, hi = 0;
  widest(sigmoid, &lo, &hi);
  LffrSigmoid sig = LffrSigmoid::make(lffr_radius_for(std::max(-lo, hi)), o.sigmoid_degree);
  for (int attempt = 0; attempt < 4; ++attempt) {
    widest(sig, &lo, &hi);
    if (std::max(-lo, hi) <= sig.radius) break;
    sig = LffrSigmoid::make(lffr_radius_for(std::max(-lo, hi)), o.sigmoid_degree);
  }
  rep.z_min = lo;
  rep.z_max = hi;
  rep.radius = sig.radius;
  rep.sigmoid_max_error = sig.max_error;

  // ---- keys and encryption (data owner): one encrypted data set for every target
  auto t = Clock::now();
  LffrDataOwner owner(ctx);
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = owner.galois_keys(layout);
  rep.galois_keys = gk.keys.size();
  rep.seconds_keygen = seconds_since(t);
  t = Clock::now();
  const EncryptedLffrSet enc = owner.encrypt(A, U, sig);
  rep.seconds_encrypt = seconds_since(t);

  // ---- server
  t = Clock::now();
  const LffrServer server(ctx, std::move(rk), std::move(gk));
  const std::vector<Ciphertext> u_enc = server.train(enc, rep.iterations, sig, progress);
  rep.seconds_train = seconds_since(t);

  // ---- data owner: decrypt, evaluate in original units
  for (std::size_t k = 0; k < m; ++k) {
    LffrOutput out;
    out.name = names[k];
    out.scaling = scaling[k];
    t = Clock::now();
    out.weights_encrypted = owner.decrypt_weights(u_enc[k], layout, sig);
    rep.seconds_decrypt += seconds_since(t);
    out.weights_plaintext = lffr_train(A, U[k], rep.iterations, sig).iterates.back();
    auto evaluate = [&](const std::vector<double>& w) {
      std::vector<double> pred = lffr_predict(A_test, w);
      for (double& p : pred) p = scaling[k].from_unit(p);
      return LinregMetrics{rmse(pred, rs.splits[k].test.y), r2(pred, rs.splits[k].test.y)};
    };
    out.encrypted = evaluate(out.weights_encrypted);
    out.plaintext = evaluate(out.weights_plaintext);
    out.exact_sigmoid = evaluate(lffr_train(A, U[k], rep.iterations, sigmoid).iterates.back());
    out.converged = evaluate(lffr_train(A, U[k], LffrReport::kConvergedIterations, sigmoid).iterates.back());
    for (std::size_t j = 0; j < out.weights_encrypted.size(); ++j)
      out.max_weight_error =
          std::max(out.max_weight_error, std::fabs(out.weights_encrypted[j] - out.weights_plaintext[j]));
    rep.outputs.push_back(std::move(out));
  }
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

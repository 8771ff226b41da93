#include "ml/linreg/linreg_job.h"

#include <cmath>
#include <limits>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"
#include "ml/timer.h"

namespace ckks::ml {

namespace {
}  // namespace

LinregReport run_linreg_job(const LinregJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  LinregReport rep;

  // ---- data owner: load, split, standardise on the training part only
  const Dataset ds = select_target(read_csv(o.data), o.target);
  const Split split = train_test_split(ds, o.test_fraction, o.seed);
  const Standardizer z = Standardizer::fit(split.train);
  const Dataset train = z.apply(split.train), test = z.apply(split.test);
  const auto A = with_bias_column(train.X), A_test = with_bias_column(test.X);
  rep.train_rows = train.X.size();
  rep.test_rows = test.X.size();
  rep.features = train.feature_names.size();

  auto ctx = Context::create(o.params);
  rep.params = o.params;
  rep.dnum = static_cast<int>(ctx->dnum());
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
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
  const SfhLayout layout = SfhLayout::make(A.size(), A[0].size() - 1, std::numeric_limits<std::size_t>::max());
  if (layout.slots() > ctx->max_slots())
    throw ParameterError("linreg: " + std::to_string(A.size()) + " training samples × " + std::to_string(layout.block) +
                         "-slot blocks need " + std::to_string(layout.slots()) + " slots but N = 2^" +
                         std::to_string(o.params.log_n) + " has " + std::to_string(ctx->max_slots()) +
                         "; use a larger ring (--params n16) or fewer samples (a larger --test-fraction)");

  // ---- keys and encryption (data owner)
  auto t = Clock::now();
  SfhDataOwner owner(ctx);
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = owner.galois_keys(layout);
  rep.galois_keys = gk.keys.size();
  rep.seconds_keygen = seconds_since(t);
  t = Clock::now();
  const EncryptedTrainingSet enc = owner.encrypt(A, train.y);
  rep.seconds_encrypt = seconds_since(t);

  // ---- server: ciphertexts and evaluation keys only
  t = Clock::now();
  const SfhServer server(ctx, std::move(rk), std::move(gk));
  const Ciphertext w_enc = server.train(enc, rep.iterations, progress);
  rep.seconds_train = seconds_since(t);

  // ---- data owner: decrypt and evaluate on the held-out rows
  t = Clock::now();
  rep.weights_encrypted = owner.decrypt_weights(w_enc, layout, &rep.decrypted_constant);
  rep.seconds_decrypt = seconds_since(t);
  rep.weights_plaintext = sfh_train(A, train.y, rep.iterations).back();
  const std::vector<double> w_closed = least_squares_closed_form(A, train.y);
  auto evaluate = [&](const std::vector<double>& w) {
    std::vector<double> pred = predict(A_test, w);
    for (auto& p : pred) p = z.unscale_y(p);
    return LinregMetrics{rmse(pred, split.test.y), r2(pred, split.test.y)};
  };
  rep.encrypted = evaluate(rep.weights_encrypted);
  rep.plaintext = evaluate(rep.weights_plaintext);
  rep.closed_form = evaluate(w_closed);
  for (std::size_t j = 0; j < rep.weights_encrypted.size(); ++j)
    rep.max_weight_error =
        std::max(rep.max_weight_error, std::fabs(rep.weights_encrypted[j] - rep.weights_plaintext[j]));
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

// ckks-ml: the command-line front end of the encrypted machine-learning layer.
//
//   ckks-ml linreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
//
// linreg: linear regression trained on encrypted data with the simplified fixed Hessian. The data
// owner standardises and splits the data, encrypts the training part and sends ciphertexts to the
// server, which trains on ciphertexts only; the owner decrypts the weights and evaluates them on the
// held-out test part. The same algorithm in double precision and the closed-form least-squares
// solution are run beside it as references.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <unistd.h>

#include "ckks/context.h"
#include "ckks/math/errors.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/linreg_encrypted.h"
#include "ml/linreg_plain.h"
#include "ml/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const char* kBostonPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv";

ckks::Params preset(const std::string& name) {
  if (name == "n13") return ckks::Params::preset_n13();
  if (name == "n14") return ckks::Params::preset_n14();
  if (name == "n15") return ckks::Params::preset_n15();
  if (name == "n16") return ckks::Params::preset_n16();
  throw ckks::InputError("--params " + name + " is not a preset; choose n13, n14, n15 or n16");
}

struct LinregOptions {
  std::string data = kBostonPath;
  std::string target = "MEDV";
  int iterations = 0;  // 0 = as many as the chain allows, at most 16
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

int run_linreg(const LinregOptions& o) {
  using namespace ckks;
  const auto t_total = Clock::now();
  const bool is_boston = o.data == kBostonPath;

  // ---- data owner: load, split, standardise (on the training part only)
  const ml::Table table = ml::read_csv(o.data);
  const ml::Dataset ds = ml::select_target(table, o.target);
  const ml::Split split = ml::train_test_split(ds, o.test_fraction, o.seed);
  const ml::Standardizer z = ml::Standardizer::fit(split.train);
  const ml::Dataset train = z.apply(split.train), test = z.apply(split.test);
  const auto A = ml::with_bias_column(train.X), A_test = ml::with_bias_column(test.X);

  const Params params = preset(o.params);
  auto ctx = Context::create(params);
  const int max_iter = ctx->max_level() - 2;
  const int iterations = o.iterations > 0 ? o.iterations : std::min(16, max_iter);
  if (iterations > max_iter)
    throw LevelError("linreg: " + std::to_string(iterations) + " iterations need " +
                     std::to_string(iterations + 2) + " levels but preset " + o.params + " has " +
                     std::to_string(ctx->max_level()) + "; use --iterations " + std::to_string(max_iter) +
                     " or a longer chain (--params n16)");

  // Progress on stderr: an updating line on a terminal, one line per phase otherwise.
  const bool tty = isatty(fileno(stderr));
  auto progress = [&](const std::string& phase, std::size_t done, std::size_t total) {
    if (tty) {
      std::fprintf(stderr, "\r[linreg] %-24s %zu/%zu", phase.c_str(), done, total);
      if (done == total) std::fprintf(stderr, "\n");
    } else if (done == total) {
      std::fprintf(stderr, "[linreg] %s: %zu/%zu done\n", phase.c_str(), done, total);
    }
    std::fflush(stderr);
  };

  // ---- keys (data owner), encryption (data owner)
  auto t = Clock::now();
  std::fprintf(stderr, "[linreg] %s: %zu train / %zu test rows, %zu features; %s\n", o.data.c_str(),
               train.X.size(), test.X.size(), train.feature_names.size(), params.describe().c_str());
  ml::SfhDataOwner owner(ctx);
  const ml::SfhLayout layout = ml::SfhLayout::make(A.size(), A[0].size() - 1, ctx->max_slots());
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = owner.galois_keys(layout);
  const double s_keygen = since(t);
  std::fprintf(stderr, "[linreg] keys generated (%zu Galois keys) in %.1f s\n", gk.keys.size(), s_keygen);

  t = Clock::now();
  const ml::EncryptedTrainingSet enc = owner.encrypt(A, train.y);
  const double s_encrypt = since(t);

  // ---- server: ciphertexts and evaluation keys only
  t = Clock::now();
  ml::SfhServer server(ctx, std::move(rk), std::move(gk));
  const Ciphertext w_enc = server.train(enc, iterations, progress);
  const double s_train = since(t);

  // ---- data owner: decrypt and evaluate
  t = Clock::now();
  double one = 0;
  const std::vector<double> w = owner.decrypt_weights(w_enc, layout, &one);
  const double s_decrypt = since(t);

  const std::vector<double> w_plain = ml::sfh_train(A, train.y, iterations).back();
  const std::vector<double> w_closed = ml::least_squares_closed_form(A, train.y);
  auto evaluate = [&](const std::vector<double>& weights) {
    std::vector<double> pred = ml::predict(A_test, weights);
    for (auto& p : pred) p = z.unscale_y(p);
    return std::make_pair(ml::rmse(pred, split.test.y), ml::r2(pred, split.test.y));
  };
  const auto [rmse_e, r2_e] = evaluate(w);
  const auto [rmse_p, r2_p] = evaluate(w_plain);
  const auto [rmse_c, r2_c] = evaluate(w_closed);
  double max_w_err = 0;
  for (std::size_t j = 0; j < w.size(); ++j) max_w_err = std::max(max_w_err, std::fabs(w[j] - w_plain[j]));
  const double s_total = since(t_total);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "linreg";
    j["algorithm"] = "simplified fixed Hessian (Bonte-Vercauteren 2018), encrypted training";
    j["dataset"] = is_boston ? "boston_house_prices (python3-sklearn)" : o.data;
    j["target"] = o.target;
    j["rows"] = {{"train", train.X.size()}, {"test", test.X.size()}, {"features", train.feature_names.size()}};
    j["iterations"] = iterations;
    j["seed"] = o.seed;
    j["levels_used"] = ml::SfhServer::levels_needed(iterations);
    j["params"] = {{"log_n", params.log_n},
                   {"log_q", params.log_q},
                   {"log_p", params.log_p},
                   {"log_scale", params.log_scale},
                   {"dnum", ctx->dnum()},
                   {"log_qp", ctx->log_qp()},
                   {"security_bits", ctx->security_bits()}};
    j["encrypted"] = {{"rmse", rmse_e}, {"r2", r2_e}};
    j["plaintext"] = {{"rmse", rmse_p}, {"r2", r2_p}};
    j["closed_form"] = {{"rmse", rmse_c}, {"r2", r2_c}};
    j["max_weight_error"] = max_w_err;
    j["decrypted_constant"] = one;
    j["seconds"] = {{"keygen", s_keygen}, {"encrypt", s_encrypt}, {"train", s_train},
                    {"decrypt", s_decrypt}, {"total", s_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted linear regression (simplified fixed Hessian), %s, target %s\n",
              is_boston ? "Boston Housing" : o.data.c_str(), o.target.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations, seed %llu\n", train.X.size(),
              test.X.size(), train.feature_names.size(), iterations, static_cast<unsigned long long>(o.seed));
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", params.describe().c_str(), ctx->log_qp(),
              ctx->security_bits() >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "RMSE", "R2");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", rmse_e, r2_e);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", rmse_p, r2_p);
  std::printf("  %-28s %10.4f %10.4f\n", "closed-form least squares", rmse_c, r2_c);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; decrypted constant coordinate = %.8f (should be 1)\n",
              max_w_err, one);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n", s_keygen,
              s_encrypt, s_train, s_decrypt, s_total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckks-ml: machine learning on CKKS-encrypted data"};
  app.require_subcommand(1);
  LinregOptions lo;
  auto* linreg = app.add_subcommand("linreg", "linear regression trained on encrypted data (Boston Housing by default)");
  linreg->add_option("--data", lo.data, "CSV file with a header row (default: Boston Housing from python3-sklearn)");
  linreg->add_option("--target", lo.target, "name of the target column (default MEDV)");
  linreg->add_option("--iterations", lo.iterations, "SFH iterations (default: min(16, levels − 2))")->check(CLI::Range(1, 1000));
  linreg->add_option("--seed", lo.seed, "seed of the train/test shuffle (default 1)");
  linreg->add_option("--test-fraction", lo.test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  linreg->add_option("--params", lo.params, "parameter preset n13|n14|n15|n16 (default n15)");
  linreg->add_flag("--json", lo.json, "print one JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);
  try {
    if (linreg->parsed()) return run_linreg(lo);
  } catch (const ckks::Error& e) {
    std::fprintf(stderr, "ckks-ml: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-ml: internal error: %s\n", e.what());
    return 3;
  }
  return 1;
}

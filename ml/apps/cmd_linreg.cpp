// ckks-ml linreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
//
// Linear regression trained on encrypted data with the simplified fixed Hessian. The data owner
// standardises and splits the data, encrypts the training part and sends ciphertexts to the
// server, which trains on ciphertexts only; the owner decrypts the weights and evaluates them on the
// held-out test part. The same algorithm in double precision and the closed-form least-squares
// solution are run beside it as references.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/linreg/linreg_job.h"

namespace ckks::ml::cli {
namespace {

struct LinregOptions {
  std::string data = sklearn_data("boston_house_prices.csv");
  std::string target = "MEDV";
  int iterations = 0;  // 0 = as many as the chain allows, at most 16
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

int run_linreg(const LinregOptions& o) {
  const bool is_boston = o.data == sklearn_data("boston_house_prices.csv");
  LinregJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[linreg] %s, target %s, %s\n", o.data.c_str(), o.target.c_str(),
               jo.params.describe().c_str());

  const Progress progress = stderr_progress("linreg");
  const LinregReport r = run_linreg_job(jo, progress);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "linreg";
    j["algorithm"] = "simplified fixed Hessian (Bonte-Vercauteren 2018), trained on encrypted data";
    j["dataset"] = is_boston ? "boston_house_prices (python3-sklearn)" : o.data;
    j["target"] = o.target;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["levels_used"] = r.levels_used;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    j["encrypted"] = {{"rmse", r.encrypted.rmse}, {"r2", r.encrypted.r2}};
    j["plaintext"] = {{"rmse", r.plaintext.rmse}, {"r2", r.plaintext.r2}};
    j["closed_form"] = {{"rmse", r.closed_form.rmse}, {"r2", r.closed_form.r2}};
    j["max_weight_error"] = r.max_weight_error;
    j["decrypted_constant"] = r.decrypted_constant;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted linear regression (simplified fixed Hessian), %s, target %s\n",
              is_boston ? "Boston Housing" : o.data.c_str(), o.target.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used,
              static_cast<unsigned long long>(o.seed));
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "RMSE", "R2");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.encrypted.rmse, r.encrypted.r2);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", r.plaintext.rmse, r.plaintext.r2);
  std::printf("  %-28s %10.4f %10.4f\n", "closed-form least squares", r.closed_form.rmse, r.closed_form.r2);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; decrypted constant coordinate = %.8f (should be 1)\n",
              r.max_weight_error, r.decrypted_constant);
  std::printf("  seconds: keygen %.2f (%zu Galois keys), encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.galois_keys, r.seconds_encrypt, r.seconds_train, r.seconds_decrypt,
              r.seconds_total);
  return 0;
}

}  // namespace

Command add_linreg(CLI::App& app) {
  auto lo = std::make_shared<LinregOptions>();
  auto* linreg = app.add_subcommand("linreg", "linear regression trained on encrypted data (Boston Housing by default)");
  linreg->add_option("--data", lo->data, "CSV file with a header row (default: Boston Housing from python3-sklearn)");
  linreg->add_option("--target", lo->target, "name of the target column (default MEDV)");
  linreg->add_option("--iterations", lo->iterations, "SFH iterations (default: min(16, levels − 2))")->check(CLI::Range(1, 1000));
  linreg->add_option("--seed", lo->seed, "seed of the train/test shuffle (default 1)");
  linreg->add_option("--test-fraction", lo->test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  linreg->add_option("--params", lo->params, "parameter preset n14|n15|n16 (default n15; n13 has too short a chain for one iteration)");
  linreg->add_flag("--json", lo->json, "print one JSON object instead of the table");
  return {linreg, [lo] { return run_linreg(*lo); }};
}

}  // namespace ckks::ml::cli

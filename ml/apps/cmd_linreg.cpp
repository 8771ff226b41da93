// ckks-ml linreg [--data PATH|linnerud --target NAME[,NAME…]] [--ridge λ] [--iterations K] [--seed S]
//                [--params n15] [--json]
//
// Linear (or ridge, --ridge λ > 0) regression trained on encrypted data with the simplified fixed
// Hessian; several comma-separated targets train together against one encrypted data set. The data owner
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
  std::string target;  // empty: the data set's default (MEDV; Weight,Waist,Pulse for linnerud)
  double ridge = 0.0;
  int iterations = 0;  // 0 = as many as the chain allows, at most 16
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

int run_linreg(const LinregOptions& o) {
  const bool is_boston = o.data == sklearn_data("boston_house_prices.csv");
  const bool is_linnerud = o.data == kLinnerudKeyword;
  const char* dataset_name = is_boston ? "Boston Housing" : is_linnerud ? "linnerud (scikit-learn)" : o.data.c_str();
  LinregJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.ridge = o.ridge;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[linreg] %s, target %s, ridge %g, %s\n", o.data.c_str(),
               o.target.empty() ? "(default)" : o.target.c_str(), o.ridge, jo.params.describe().c_str());

  const Progress progress = stderr_progress("linreg");
  const LinregReport r = run_linreg_job(jo, progress);
  std::string targets;
  for (const auto& out : r.outputs) targets += (targets.empty() ? "" : ",") + out.name;

  if (o.json) {
    nlohmann::json j;
    j["model"] = "linreg";
    j["algorithm"] = r.ridge > 0 ? "ridge regression, simplified fixed Hessian (Chiang 2024), trained on encrypted data"
                                 : "simplified fixed Hessian (Bonte-Vercauteren 2018), trained on encrypted data";
    j["dataset"] = is_boston ? "boston_house_prices (python3-sklearn)"
                   : is_linnerud ? "linnerud (python3-sklearn)" : o.data;
    j["target"] = targets;
    j["ridge"] = r.ridge;
    j["units"] = "rmse in original target units; r2 unit-free; weights in standardised units";
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["levels_used"] = r.levels_used;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    auto model = [&](auto metrics_of) {
      nlohmann::json m = nlohmann::json::object();
      if (r.outputs.size() == 1) {
        const LinregMetrics x = metrics_of(r.outputs[0]);
        m["rmse"] = x.rmse;
        m["r2"] = x.r2;
      }
      m["outputs"] = nlohmann::json::array();
      for (const auto& out : r.outputs) {
        const LinregMetrics x = metrics_of(out);
        m["outputs"].push_back({{"name", out.name}, {"rmse", x.rmse}, {"r2", x.r2}});
      }
      return m;
    };
    j["encrypted"] = model([](const LinregOutput& out) { return out.encrypted; });
    j["plaintext"] = model([](const LinregOutput& out) { return out.plaintext; });
    j["closed_form"] = model([](const LinregOutput& out) { return out.closed_form; });
    j["max_weight_error"] = r.max_weight_error;
    j["decrypted_constant"] = r.decrypted_constant;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (r.ridge > 0)
    std::printf("Encrypted ridge regression (simplified fixed Hessian, lambda = %g), %s, target %s\n", r.ridge,
                dataset_name, targets.c_str());
  else
    std::printf("Encrypted linear regression (simplified fixed Hessian), %s, target %s\n", dataset_name,
                targets.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used,
              static_cast<unsigned long long>(o.seed));
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("\n  %-10s %-28s %10s %10s\n", "target", "model (test set)", "RMSE", "R2");
  for (const auto& out : r.outputs) {
    std::printf("  %-10s %-28s %10.4f %10.4f\n", out.name.c_str(), "encrypted training", out.encrypted.rmse,
                out.encrypted.r2);
    std::printf("  %-10s %-28s %10.4f %10.4f\n", "", "same algorithm, plaintext", out.plaintext.rmse, out.plaintext.r2);
    std::printf("  %-10s %-28s %10.4f %10.4f\n", "", r.ridge > 0 ? "closed-form ridge" : "closed-form least squares",
                out.closed_form.rmse, out.closed_form.r2);
  }
  std::printf("  (RMSE in the target's original units; trained on standardised features and targets)\n");
  for (const auto& out : r.outputs)
    std::printf("\n  %s: max |w_encrypted - w_plaintext| = %.3g; decrypted constant coordinate = %.8f (should be 1)",
                out.name.c_str(), out.max_weight_error, out.decrypted_constant);
  std::printf("\n");
  std::printf("  seconds: keygen %.2f (%zu Galois keys), encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.galois_keys, r.seconds_encrypt, r.seconds_train, r.seconds_decrypt,
              r.seconds_total);
  return 0;
}

}  // namespace

Command add_linreg(CLI::App& app) {
  auto lo = std::make_shared<LinregOptions>();
  auto* linreg = app.add_subcommand("linreg", "linear regression trained on encrypted data (Boston Housing by default)");
  linreg->add_option("--data", lo->data,
                     "CSV file with a header row, or 'linnerud' (default: Boston Housing from python3-sklearn)");
  linreg->add_option("--target", lo->target,
                     "target column, or several separated by commas, trained together on one encrypted data set "
                     "(default MEDV; Weight,Waist,Pulse for linnerud)");
  linreg->add_option("--ridge", lo->ridge, "ridge parameter lambda >= 0 on the standardised data (default 0: least squares)");
  linreg->add_option("--iterations", lo->iterations, "SFH iterations (default: min(16, levels − 2))")->check(CLI::Range(1, 1000));
  linreg->add_option("--seed", lo->seed, "seed of the train/test shuffle (default 1)");
  linreg->add_option("--test-fraction", lo->test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  linreg->add_option("--params", lo->params, "parameter preset n14|n15|n16 (default n15; n13 has too short a chain for one iteration)");
  linreg->add_flag("--json", lo->json, "print one JSON object instead of the table");
  return {linreg, [lo] { return run_linreg(*lo); }};
}

}  // namespace ckks::ml::cli

// ckks-ml lffr [--data PATH|linnerud --target NAME[,NAME…]] [--iterations K] [--sigmoid-degree D]
//              [--seed S] [--params n15] [--json]
//
// LFFR, regression through the logistic function (ml/lffr/), trained on encrypted data. A command of
// its own rather than `linreg --link logistic`: it has its own circuit, level budget (a sigmoid
// polynomial per iteration) and options (--sigmoid-degree), and its targets are normalised into
// (0, 1) instead of standardised. The same algorithm in double precision (same polynomial), with the
// exact sigmoid, and run to convergence are reported beside it.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/lffr/lffr_job.h"

namespace ckks::ml::cli {
namespace {

struct LffrOptions {
  std::string data = sklearn_data("boston_house_prices.csv");
  std::string target;  // empty: the data set's default
  int iterations = 0;
  int sigmoid_degree = 7;
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

int run_lffr(const LffrOptions& o) {
  const bool is_boston = o.data == sklearn_data("boston_house_prices.csv");
  const bool is_linnerud = o.data == kLinnerudKeyword;
  LffrJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.sigmoid_degree = o.sigmoid_degree;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[lffr] %s, target %s, %s\n", o.data.c_str(), o.target.empty() ? "(default)" : o.target.c_str(),
               jo.params.describe().c_str());
  const LffrReport r = run_lffr_job(jo, stderr_progress("lffr"));
  std::string targets;
  for (const auto& out : r.outputs) targets += (targets.empty() ? "" : ",") + out.name;

  if (o.json) {
    nlohmann::json j;
    j["model"] = "lffr";
    j["algorithm"] = "LFFR: logistic-function regression, constant simplified Hessian (Chiang 2024), trained on "
                     "encrypted data";
    j["dataset"] = is_boston ? "boston_house_prices (python3-sklearn)" : is_linnerud ? "linnerud (python3-sklearn)" : o.data;
    j["target"] = targets;
    j["units"] = "rmse in original target units (predictions mapped back from (0, 1)); r2 unit-free";
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["levels_used"] = r.levels_used;
    j["sigmoid"] = {{"degree", r.sigmoid_degree}, {"visited", {r.z_min, r.z_max}},
                    {"interval", {-r.radius, r.radius}}, {"max_error", r.sigmoid_max_error}};
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    auto model = [&](auto metrics_of) {
      nlohmann::json m = nlohmann::json::object();
      if (r.outputs.size() == 1) {
        m["rmse"] = metrics_of(r.outputs[0]).rmse;
        m["r2"] = metrics_of(r.outputs[0]).r2;
      }
      m["outputs"] = nlohmann::json::array();
      for (const auto& out : r.outputs)
        m["outputs"].push_back({{"name", out.name}, {"rmse", metrics_of(out).rmse}, {"r2", metrics_of(out).r2}});
      return m;
    };
    j["encrypted"] = model([](const LffrOutput& x) { return x.encrypted; });
    j["plaintext"] = model([](const LffrOutput& x) { return x.plaintext; });
    j["exact_sigmoid"] = model([](const LffrOutput& x) { return x.exact_sigmoid; });
    j["converged"] = model([](const LffrOutput& x) { return x.converged; });
    double max_err = 0;
    for (const auto& out : r.outputs) max_err = std::max(max_err, out.max_weight_error);
    j["max_weight_error"] = max_err;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted LFFR (logistic-function regression, constant simplified Hessian), %s, target %s\n",
              is_boston ? "Boston Housing" : is_linnerud ? "linnerud (scikit-learn)" : o.data.c_str(), targets.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels), seed %llu\n", r.train_rows,
              r.test_rows, r.features, r.iterations, r.levels_used, static_cast<unsigned long long>(o.seed));
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("  sigmoid: visited z in [%.3f, %.3f]; degree-%d Chebyshev interpolant on [-%g, %g], max error %.2e\n",
              r.z_min, r.z_max, r.sigmoid_degree, r.radius, r.radius, r.sigmoid_max_error);
  std::printf("\n  %-10s %-34s %10s %10s\n", "target", "model (test set)", "RMSE", "R2");
  for (const auto& out : r.outputs) {
    std::printf("  %-10s %-34s %10.4f %10.4f\n", out.name.c_str(), "encrypted training", out.encrypted.rmse,
                out.encrypted.r2);
    std::printf("  %-10s %-34s %10.4f %10.4f\n", "", "same algorithm, plaintext", out.plaintext.rmse, out.plaintext.r2);
    std::printf("  %-10s %-34s %10.4f %10.4f\n", "", "same steps, exact sigmoid", out.exact_sigmoid.rmse,
                out.exact_sigmoid.r2);
    char label[64];
    std::snprintf(label, sizeof label, "exact sigmoid, %d iterations", LffrReport::kConvergedIterations);
    std::printf("  %-10s %-34s %10.4f %10.4f\n", "", label, out.converged.rmse, out.converged.r2);
  }
  std::printf("  (targets trained in (0.1, 0.9); RMSE mapped back to the original units)\n\n");
  for (const auto& out : r.outputs)
    std::printf("  %s: max |w_encrypted - w_plaintext| = %.3g\n", out.name.c_str(), out.max_weight_error);
  std::printf("  seconds: keygen %.2f (%zu Galois keys), encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.galois_keys, r.seconds_encrypt, r.seconds_train, r.seconds_decrypt, r.seconds_total);
  return 0;
}

}  // namespace

Command add_lffr(CLI::App& app) {
  auto lo = std::make_shared<LffrOptions>();
  auto* sub = app.add_subcommand("lffr", "LFFR (regression through the logistic function) trained on encrypted data");
  sub->add_option("--data", lo->data, "CSV file with a header row, or 'linnerud' (default: Boston Housing)");
  sub->add_option("--target", lo->target,
                  "target column, or several separated by commas, trained together on one encrypted data set "
                  "(default MEDV; Weight,Waist,Pulse for linnerud)");
  sub->add_option("--iterations", lo->iterations, "iterations (default: as many as the chain allows, at most 16)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--sigmoid-degree", lo->sigmoid_degree, "degree of the sigmoid polynomial, odd 3..31 (default 7)");
  sub->add_option("--seed", lo->seed, "seed of the train/test shuffle (default 1)");
  sub->add_option("--test-fraction", lo->test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  sub->add_option("--params", lo->params, "parameter preset n14|n15|n16 (default n15)");
  sub->add_flag("--json", lo->json, "print one JSON object instead of the table");
  return {sub, [lo] { return run_lffr(*lo); }};
}

}  // namespace ckks::ml::cli

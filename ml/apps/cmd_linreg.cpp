// ckks-ml linreg [--data PATH|linnerud --target NAME[,NAME…]] [--ridge λ] [--iterations K] [--seed S]
//                [--params n15] [--json]
// ckks-ml lffr   [--data PATH|linnerud --target NAME[,NAME…]] [--sigmoid-degree D] [--iterations K]
//                [--seed S] [--params n15] [--json]
//
// The regression commands, sharing their options and output. linreg: linear (or ridge, --ridge λ > 0)
// regression trained on encrypted data with the simplified fixed Hessian; lffr: regression through
// the logistic function (ml/lffr/). Several comma-separated targets train together against one
// encrypted data set. The data owner splits and normalises the data, encrypts the training part and
// sends ciphertexts to the server, which trains on ciphertexts only; the owner decrypts the weights
// and evaluates them on the held-out test part, beside the same algorithm in double precision and a
// reference fit (closed form for linreg; the exact sigmoid, and run to convergence, for lffr).
//
// LFFR is a command of its own rather than `linreg --link logistic`: its circuit, level budget (a
// sigmoid polynomial per iteration), options (--sigmoid-degree) and target normalisation (into
// (0, 1), not z-scores) all differ, and --ridge would have no meaning for it.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/lffr/lffr_job.h"
#include "ml/linreg/linreg_job.h"

namespace ckks::ml::cli {
namespace {

struct RegressionOptions {
  std::string data = sklearn_data("boston_house_prices.csv");
  std::string target;  // empty: the data set's default (MEDV; Weight,Waist,Pulse for linnerud)
  double ridge = 0.0;          // linreg only
  int sigmoid_degree = 7;      // lffr only
  int iterations = 0;          // 0 = as many as the chain allows, at most 16
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

// --data, --target, --iterations, --seed, --test-fraction, --params, --json.
void add_regression_options(CLI::App* sub, RegressionOptions& o, const std::string& iterations_help) {
  sub->add_option("--data", o.data, "CSV file with a header row, or 'linnerud' (default: Boston Housing from python3-sklearn)");
  sub->add_option("--target", o.target,
                  "target column, or several separated by commas, trained together on one encrypted data set "
                  "(default MEDV; Weight,Waist,Pulse for linnerud)");
  sub->add_option("--iterations", o.iterations, iterations_help)->check(CLI::Range(1, 1000));
  sub->add_option("--seed", o.seed, "seed of the train/test shuffle (default 1)");
  sub->add_option("--test-fraction", o.test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  sub->add_option("--params", o.params, "parameter preset n14|n15|n16 (default n15; n13 has too short a chain)");
  sub->add_flag("--json", o.json, "print one JSON object instead of the table");
}

// The data set as the table (`table`) and the JSON (`json`) name it.
struct DatasetName {
  std::string table, json;
};

DatasetName dataset_name(const std::string& data) {
  if (data == sklearn_data("boston_house_prices.csv")) return {"Boston Housing", "boston_house_prices (python3-sklearn)"};
  if (data == kLinnerudKeyword) return {"linnerud (scikit-learn)", "linnerud (python3-sklearn)"};
  return {data, data};
}

// "A,B,C" from the outputs' names.
template <typename Output>
std::string joined_names(const std::vector<Output>& outputs) {
  std::string s;
  for (const auto& out : outputs) s += (s.empty() ? "" : ",") + out.name;
  return s;
}

// One model's metrics: {"rmse", "r2"} (one target only) and "outputs": [{"name", "rmse", "r2"}, …].
template <typename Output, typename MetricsOf>
nlohmann::json model_json(const std::vector<Output>& outputs, MetricsOf metrics_of) {
  nlohmann::json m = nlohmann::json::object();
  if (outputs.size() == 1) {
    m["rmse"] = metrics_of(outputs[0]).rmse;
    m["r2"] = metrics_of(outputs[0]).r2;
  }
  m["outputs"] = nlohmann::json::array();
  for (const auto& out : outputs)
    m["outputs"].push_back({{"name", out.name}, {"rmse", metrics_of(out).rmse}, {"r2", metrics_of(out).r2}});
  return m;
}

// The fields both commands print in JSON: rows, iterations, seed, levels, params, seconds.
template <typename Report>
void common_json(nlohmann::json& j, const Report& r, const RegressionOptions& o, const std::string& targets) {
  j["dataset"] = dataset_name(o.data).json;
  j["target"] = targets;
  j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
  j["iterations"] = r.iterations;
  j["seed"] = o.seed;
  j["levels_used"] = r.levels_used;
  j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                 {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                 {"security_bits", r.security_bits}};
  j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                  {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
}

// The table's second and third lines: rows, iterations, levels, seed; parameters.
template <typename Report>
void common_table_head(const Report& r, const RegressionOptions& o) {
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels), seed %llu\n", r.train_rows,
              r.test_rows, r.features, r.iterations, r.levels_used, static_cast<unsigned long long>(o.seed));
  print_params_line(r.params, r.log_qp, r.security_bits);
}

// One row of the results table.
void metrics_row(const std::string& target, const char* model, const LinregMetrics& m) {
  std::printf("  %-10s %-34s %10.4f %10.4f\n", target.c_str(), model, m.rmse, m.r2);
}

template <typename Report>
void seconds_line(const Report& r) {
  std::printf("  seconds: keygen %.2f (%zu Galois keys), encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.galois_keys, r.seconds_encrypt, r.seconds_train, r.seconds_decrypt, r.seconds_total);
}

// The job options both commands share, copied from the command line.
template <typename JobOptions>
JobOptions job_options(const RegressionOptions& o) {
  JobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.params = preset(o.params);
  return jo;
}

int run_linreg(const RegressionOptions& o) {
  LinregJobOptions jo = job_options<LinregJobOptions>(o);
  jo.ridge = o.ridge;
  std::fprintf(stderr, "[linreg] %s, target %s, ridge %g, %s\n", o.data.c_str(),
               o.target.empty() ? "(default)" : o.target.c_str(), o.ridge, jo.params.describe().c_str());
  const LinregReport r = run_linreg_job(jo, stderr_progress("linreg"));
  const std::string targets = joined_names(r.outputs);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "linreg";
    j["algorithm"] = r.ridge > 0 ? "ridge regression, simplified fixed Hessian (Chiang 2024), trained on encrypted data"
                                 : "simplified fixed Hessian (Bonte-Vercauteren 2018), trained on encrypted data";
    common_json(j, r, o, targets);
    j["ridge"] = r.ridge;
    j["units"] = "rmse in original target units; r2 unit-free; weights in standardised units";
    j["encrypted"] = model_json(r.outputs, [](const LinregOutput& out) { return out.encrypted; });
    j["plaintext"] = model_json(r.outputs, [](const LinregOutput& out) { return out.plaintext; });
    j["closed_form"] = model_json(r.outputs, [](const LinregOutput& out) { return out.closed_form; });
    j["max_weight_error"] = r.max_weight_error;
    j["decrypted_constant"] = r.decrypted_constant;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const std::string name = dataset_name(o.data).table;
  if (r.ridge > 0)
    std::printf("Encrypted ridge regression (simplified fixed Hessian, lambda = %g), %s, target %s\n", r.ridge,
                name.c_str(), targets.c_str());
  else
    std::printf("Encrypted linear regression (simplified fixed Hessian), %s, target %s\n", name.c_str(), targets.c_str());
  common_table_head(r, o);
  std::printf("\n  %-10s %-34s %10s %10s\n", "target", "model (test set)", "RMSE", "R2");
  for (const auto& out : r.outputs) {
    metrics_row(out.name, "encrypted training", out.encrypted);
    metrics_row("", "same algorithm, plaintext", out.plaintext);
    metrics_row("", r.ridge > 0 ? "closed-form ridge" : "closed-form least squares", out.closed_form);
  }
  std::printf("  (RMSE in the target's original units; trained on standardised features and targets)\n\n");
  for (const auto& out : r.outputs)
    std::printf("  %s: max |w_encrypted - w_plaintext| = %.3g; decrypted constant coordinate = %.8f (should be 1)\n",
                out.name.c_str(), out.max_weight_error, out.decrypted_constant);
  seconds_line(r);
  return 0;
}

int run_lffr(const RegressionOptions& o) {
  LffrJobOptions jo = job_options<LffrJobOptions>(o);
  jo.sigmoid_degree = o.sigmoid_degree;
  std::fprintf(stderr, "[lffr] %s, target %s, %s\n", o.data.c_str(), o.target.empty() ? "(default)" : o.target.c_str(),
               jo.params.describe().c_str());
  const LffrReport r = run_lffr_job(jo, stderr_progress("lffr"));
  const std::string targets = joined_names(r.outputs);
  double max_err = 0;
  for (const auto& out : r.outputs) max_err = std::max(max_err, out.max_weight_error);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "lffr";
    j["algorithm"] = "LFFR: logistic-function regression, constant simplified Hessian (Chiang 2024), trained on "
                     "encrypted data";
    common_json(j, r, o, targets);
    j["units"] = "rmse in original target units (predictions mapped back from (0.1, 0.9)); r2 unit-free";
    j["sigmoid"] = {{"degree", r.sigmoid_degree}, {"visited", {r.z_min, r.z_max}},
                    {"interval", {-r.radius, r.radius}}, {"max_error", r.sigmoid_max_error}};
    j["encrypted"] = model_json(r.outputs, [](const LffrOutput& x) { return x.encrypted; });
    j["plaintext"] = model_json(r.outputs, [](const LffrOutput& x) { return x.plaintext; });
    j["exact_sigmoid"] = model_json(r.outputs, [](const LffrOutput& x) { return x.exact_sigmoid; });
    j["converged"] = model_json(r.outputs, [](const LffrOutput& x) { return x.converged; });
    j["converged_iterations"] = LffrReport::kConvergedIterations;
    j["max_weight_error"] = max_err;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted LFFR (logistic-function regression, constant simplified Hessian), %s, target %s\n",
              dataset_name(o.data).table.c_str(), targets.c_str());
  common_table_head(r, o);
  std::printf("  sigmoid: visited z in [%.3f, %.3f]; degree-%d Chebyshev interpolant on [-%g, %g], max error %.2e\n",
              r.z_min, r.z_max, r.sigmoid_degree, r.radius, r.radius, r.sigmoid_max_error);
  std::printf("\n  %-10s %-34s %10s %10s\n", "target", "model (test set)", "RMSE", "R2");
  const std::string converged = "exact sigmoid, " + std::to_string(LffrReport::kConvergedIterations) + " iterations";
  for (const auto& out : r.outputs) {
    metrics_row(out.name, "encrypted training", out.encrypted);
    metrics_row("", "same algorithm, plaintext", out.plaintext);
    metrics_row("", "same steps, exact sigmoid", out.exact_sigmoid);
    metrics_row("", converged.c_str(), out.converged);
  }
  std::printf("  (targets trained in (0.1, 0.9); RMSE mapped back to the original units)\n\n");
  std::printf("  max |w_encrypted - w_plaintext| = %.3g (all targets)\n", max_err);
  seconds_line(r);
  return 0;
}

}  // namespace

Command add_linreg(CLI::App& app) {
  auto o = std::make_shared<RegressionOptions>();
  auto* sub = app.add_subcommand("linreg", "linear or ridge regression trained on encrypted data (Boston Housing by default)");
  add_regression_options(sub, *o, "SFH iterations (default: min(16, levels − 2))");
  sub->add_option("--ridge", o->ridge, "ridge parameter lambda >= 0 on the standardised data (default 0: least squares)");
  return {sub, [o] { return run_linreg(*o); }};
}

Command add_lffr(CLI::App& app) {
  auto o = std::make_shared<RegressionOptions>();
  auto* sub = app.add_subcommand("lffr", "LFFR (regression through the logistic function) trained on encrypted data");
  add_regression_options(sub, *o, "iterations (default: as many as the chain allows, at most 16)");
  sub->add_option("--sigmoid-degree", o->sigmoid_degree, "degree of the sigmoid polynomial, odd 3..31 (default 7)");
  return {sub, [o] { return run_lffr(*o); }};
}

}  // namespace ckks::ml::cli

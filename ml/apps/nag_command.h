// The parts of the logreg and mlr commands that are the same for both (training with NAG and the
// quadratic gradient on encrypted data): LogregJobOptions / MlrJobOptions and LogregReport /
// MlrReport share these field names.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"

namespace ckks::ml::cli {

/// Checks that --data and --target come together, then copies the shared options (the preset
/// resolved) into the job's options. `labels` says what the target column holds, `fixed` names the
/// default data set. Throws InputError naming the missing flag; preset's error for a bad --params.
template <class JobOptions>
JobOptions nag_job_options(const NagCliOptions& o, const std::string& command, const std::string& labels,
                           const std::string& fixed) {
  if (!o.data.empty() && o.target.empty())
    throw InputError(command + ": --data needs --target NAME (the column holding " + labels + ")");
  if (o.data.empty() && !o.target.empty())
    throw InputError(command + ": --target needs --data PATH (" + fixed + " has a fixed target)");
  JobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.eta0 = o.eta0;
  jo.params = preset(o.params);
  return jo;
}

/// Adds the shared fields of a training report to `j`: iterations, seed, eta0, levels_per_iteration,
/// levels_used, max_sigmoid_input, params, max_weight_error, seconds and seconds_per_iteration.
template <class Report>
void add_nag_json(nlohmann::json& j, const Report& r, const NagCliOptions& o) {
  j["iterations"] = r.iterations;
  j["seed"] = o.seed;
  j["eta0"] = o.eta0;
  j["levels_per_iteration"] = r.levels_per_iteration;
  j["levels_used"] = r.levels_used;
  j["max_sigmoid_input"] = r.max_abs_margin;
  j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                 {"log_scale", r.params.log_scale}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
  j["max_weight_error"] = r.max_weight_error;
  j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                  {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
  j["seconds_per_iteration"] = r.seconds_train / r.iterations;
}

/// The table's last two lines: the largest weight error (weights named `w`) and σ̃'s input range,
/// then the seconds of each phase.
template <class Report>
void print_nag_footer(const Report& r, const char* w) {
  std::printf("  max |%s_encrypted - %s_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              w, w, r.max_weight_error, r.max_abs_margin);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f (%.2f per iteration), decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.seconds_encrypt, r.seconds_train, r.seconds_train / r.iterations, r.seconds_decrypt,
              r.seconds_total);
}

}  // namespace ckks::ml::cli

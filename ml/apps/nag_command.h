// The parts of the logreg and mlr commands that are the same for both (training with NAG and the
// quadratic gradient on encrypted data): LogregJobOptions / MlrJobOptions and LogregReport /
// MlrReport share these field names.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "ckks/bootstrapping.h"
#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/refresh.h"

namespace ckks::ml::cli {

/// Registers --bootstrap on `sub` and records in o.params_given whether --params was given
/// (`params` is the --params option registered by add_params_and_json). For logreg and mlr.
inline void add_bootstrap_flag(CLI::App* sub, NagCliOptions& o) {
  CLI::Option* params = sub->get_option("--params");
  sub->add_flag("--bootstrap", o.bootstrap,
                "train past one modulus chain: when the levels run out, the encrypted weights are packed into one "
                "sparse-slot ciphertext and bootstrapped (128-bit N = 2^16 bootstrapping parameters with "
                "sparse-secret encapsulation, replacing --params; any --iterations; measured peak memory: 12.5 GiB for mlr on digits, 6.3 GiB for logreg on breast cancer)");
  sub->callback([&o, params] { o.params_given = params->count() > 0; });
}

/// Checks that --data and --target come together, then copies the shared options (the preset
/// resolved) into the job's options; with --bootstrap the parameters are
/// bootstrap_preset_n16_sparse_secret's and the job refreshes its weights (RefreshConfig defaults).
/// `labels` says what the target column holds, `fixed` names the default data set. Throws
/// InputError naming the missing flag, or --params given with --bootstrap; preset's error for a bad
/// --params.
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
  if (o.bootstrap) {
    if (o.params_given)
      throw InputError(command + ": --bootstrap brings its own parameters (128-bit, N = 2^16, the bootstrapping chain); "
                       "drop --params " + o.params);
    const BootstrapPreset b = bootstrap_preset_n16_sparse_secret();
    jo.params = b.params;
    jo.refresh = RefreshConfig{b.config};
  } else {
    jo.params = preset(o.params);
  }
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
  const RefreshStats& rs = r.refresh.stats;
  // Training time without the refreshes, per iteration.
  j["seconds_per_iteration"] = (r.seconds_train - rs.seconds) / r.iterations;
  if (r.refresh.enabled) {
    j["seconds"]["bootstrap"] = rs.seconds;
    j["seconds_per_bootstrap"] = rs.bootstraps > 0 ? rs.seconds / rs.bootstraps : 0.0;
    j["bootstrap"] = {{"bootstraps", rs.bootstraps},
                      {"packed_slots", r.refresh.slots},
                      {"output_level", r.refresh.output_level},
                      {"bound", r.refresh.bound},
                      {"max_abs_weight_plaintext", r.refresh.max_abs_weight},
                      {"seconds_in_bootstrap", rs.seconds_bootstrap}};
  }
}

/// The table's last two lines: the largest weight error (weights named `w`) and σ̃'s input range,
/// then the seconds of each phase.
template <class Report>
void print_nag_footer(const Report& r, const char* w) {
  std::printf("  max |%s_encrypted - %s_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              w, w, r.max_weight_error, r.max_abs_margin);
  const RefreshStats& rs = r.refresh.stats;
  if (r.refresh.enabled)
    std::printf("  bootstrapping: %d refreshes of the weights packed into %zu slots (level %d after each), "
                "%.2f s per refresh (%.2f s in the bootstrap itself); max |%s| = %.2f (plaintext run) <= bound %.0f\n",
                rs.bootstraps, r.refresh.slots, r.refresh.output_level, rs.bootstraps ? rs.seconds / rs.bootstraps : 0.0,
                rs.bootstraps ? rs.seconds_bootstrap / rs.bootstraps : 0.0, w, r.refresh.max_abs_weight, r.refresh.bound);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f (%.2f per iteration%s), decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.seconds_encrypt, r.seconds_train, (r.seconds_train - rs.seconds) / r.iterations,
              r.refresh.enabled ? " without the refreshes" : "", r.seconds_decrypt, r.seconds_total);
}

}  // namespace ckks::ml::cli

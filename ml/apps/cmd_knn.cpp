// ckks-ml knn [--task regress|classify] [--mode decrypt|encrypted|both] [--k K] [--data PATH --target NAME]
//             [--queries Q] [--references R] [--rank-references N] [--rank-queries Q2] [--params n14]
//             [--seed S] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/knn/knn_encrypted.h"
#include "ml/knn/knn_job.h"

namespace ckks::ml::cli {
namespace {

// knn: k-nearest neighbours with homomorphically computed squared distances (ml/knn/knn_encrypted.h).
// Mode "decrypt": the client decrypts the distances and picks the neighbours; mode "encrypted": the
// server ranks n references with approximate comparisons and returns only an encrypted prediction.
struct KnnCliOptions {
  std::string task = "regress";
  std::string mode = "both";
  std::size_t k = 5;
  std::string data, target;
  std::size_t queries = 0, references = 0, rank_references = 32, rank_queries = 0;
  int compositions_distance = 4, compositions_rank = 2;
  std::string params = "n14";
  std::uint64_t seed = 1;
  bool json = false;
};

nlohmann::json metrics_json(KnnTask task, const KnnMetrics& m) {
  if (task == KnnTask::Classify) return {{"accuracy", m.accuracy}};
  return {{"rmse", m.rmse}, {"r2", m.r2}};
}

nlohmann::json params_json(const KnnParamsReport& p) {
  return {{"log_n", p.params.log_n}, {"log_q", p.params.log_q},   {"log_p", p.params.log_p},
          {"log_scale", p.params.log_scale}, {"dnum", p.params.dnum}, {"log_qp", p.log_qp},
          {"security_bits", p.security_bits}};
}

std::string metrics_text(KnnTask task, const KnnMetrics& m) {
  char b[96];
  if (task == KnnTask::Classify) std::snprintf(b, sizeof b, "accuracy %.4f", m.accuracy);
  else std::snprintf(b, sizeof b, "RMSE %.3f  R² %.3f", m.rmse, m.r2);
  return b;
}

int run_knn(const KnnCliOptions& o) {
  if (o.task != "regress" && o.task != "classify")
    throw InputError("knn: --task " + o.task + " is not regress or classify");
  if (o.mode != "decrypt" && o.mode != "encrypted" && o.mode != "both")
    throw InputError("knn: --mode " + o.mode + " is not decrypt, encrypted or both");
  if (!o.data.empty() && o.target.empty())
    throw InputError("knn: --data needs --target NAME (the column to predict; integer labels for --task classify)");
  if (o.data.empty() && !o.target.empty())
    throw InputError("knn: --target needs --data PATH (the default data sets have a fixed target)");
  if (o.k == 0) throw InputError("knn: k = 0; choose k ≥ 1 (k nearest neighbours)");
  KnnJobOptions jo;
  jo.task = o.task == "regress" ? KnnTask::Regress : KnnTask::Classify;
  jo.run_decrypt = o.mode != "encrypted";
  jo.run_encrypted = o.mode != "decrypt";
  jo.k = o.k;
  jo.data = o.data;
  jo.target = o.target;
  jo.queries = o.queries;
  jo.references = o.references;
  jo.rank_references = o.rank_references;
  jo.rank_queries = o.rank_queries;
  jo.compositions_distance = o.compositions_distance;
  jo.compositions_rank = o.compositions_rank;
  jo.seed = o.seed;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[knn] %s, %s, mode %s; decrypt-mode ring %s\n", o.task.c_str(),
               o.data.empty() ? (jo.task == KnnTask::Regress ? "Boston Housing" : "Fashion-MNIST subset") : o.data.c_str(),
               o.mode.c_str(), jo.params.describe().c_str());
  const KnnReport r = run_knn_job(jo, stderr_progress("knn"));
  const KnnTask task = r.task;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "knn";
    j["task"] = o.task;
    j["dataset"] = r.dataset;
    j["target"] = r.target;
    j["k"] = r.k;
    j["seed"] = o.seed;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    nlohmann::json modes;
    if (r.decrypt.ran) {
      const auto& m = r.decrypt;
      modes["decrypt"] = {
          {"algorithm", "encrypted queries (one per slot), squared distances ||q||² − 2<x,q> + ||x||² as plaintext-"
                        "weighted sums (1 level); the key owner decrypts them and picks the k nearest"},
          {"queries", m.queries}, {"references", m.references},
          {"plaintext", metrics_json(task, m.plaintext)}, {"encrypted", metrics_json(task, m.encrypted)},
          {"agreement", m.agreement}, {"neighbours_identical", m.neighbours_identical},
          {"max_distance_error", m.max_distance_error}, {"distance_error_bits", m.distance_error_bits},
          {"min_boundary_gap", m.min_boundary_gap}, {"rounded_to_integers", m.rounded},
          {"samples_per_second", m.samples_per_second}, {"params", params_json(m.params)},
          {"seconds", {{"keygen", m.seconds_keygen}, {"encrypt", m.seconds_encrypt},
                       {"distances", m.seconds_distances}, {"decrypt", m.seconds_decrypt}}}};
    }
    if (r.rank.ran) {
      const auto& m = r.rank;
      modes["encrypted"] = {
          {"algorithm", "fully encrypted ranking (Zuber-Sirdey comparison matrix, CKKS composite sign): the server "
                        "returns only the encrypted prediction"},
          {"queries", m.queries}, {"references", m.references}, {"batches", m.batches},
          {"plaintext", metrics_json(task, m.plaintext)}, {"encrypted", metrics_json(task, m.encrypted)},
          {"agreement", m.agreement}, {"max_prediction_error", m.max_prediction_error},
          {"levels_used", m.levels_used}, {"compositions", {m.compositions_distance, m.compositions_rank}},
          {"rotation_keys", m.rotation_keys}, {"distance_bound", m.beta},
          {"samples_per_second", m.samples_per_second}, {"params", params_json(m.params)},
          {"seconds", {{"keygen", m.seconds_keygen}, {"encrypt", m.seconds_encrypt},
                       {"predict", m.seconds_predict}, {"decrypt", m.seconds_decrypt}}}};
      if (task == KnnTask::Regress) modes["encrypted"]["agreement_tolerance"] = m.tolerance;
    }
    j["modes"] = modes;
    // The linreg/logreg conventions at the top level, for the first mode that ran.
    const std::string first = r.decrypt.ran ? "decrypt" : "encrypted";
    for (const char* key : {"plaintext", "encrypted", "agreement", "samples_per_second", "params"})
      j[key] = modes[first][key];
    j["primary_mode"] = first;
    j["seconds"] = {{"total", r.seconds_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted k-nearest neighbours (k = %zu, %s), %s\n", r.k, o.task.c_str(), r.dataset.c_str());
  std::printf("  %zu train / %zu test rows available, %zu features, target %s\n", r.train_rows, r.test_rows,
              r.features, r.target.c_str());
  if (r.decrypt.ran) {
    const auto& m = r.decrypt;
    std::printf("\n  mode decrypt: %zu encrypted queries × %zu references; %s, %d-bit security\n", m.queries,
                m.references, m.params.params.describe().c_str(), m.params.security_bits);
    std::printf("    %-34s %s\n", "plaintext KNN", metrics_text(task, m.plaintext).c_str());
    std::printf("    %-34s %s\n", "decrypted distances", metrics_text(task, m.encrypted).c_str());
    std::printf("    same neighbours as plaintext: %.4f of queries; same prediction: %.4f\n", m.neighbours_identical,
                m.agreement);
    std::printf("    max distance error %.3g (%.1f bits below the largest distance)%s; smallest k/k+1 gap %.3g\n",
                m.max_distance_error, m.distance_error_bits, m.rounded ? ", distances rounded to integers" : "",
                m.min_boundary_gap);
    std::printf("    seconds: keygen %.2f, encrypt %.2f, distances %.2f, decrypt %.2f (%.1f queries/s)\n",
                m.seconds_keygen, m.seconds_encrypt, m.seconds_distances, m.seconds_decrypt, m.samples_per_second);
  }
  if (r.rank.ran) {
    const auto& m = r.rank;
    std::printf("\n  mode encrypted: %zu queries × %zu references, %zu ciphertext(s); %s, %d-bit security\n", m.queries,
                m.references, m.batches, m.params.params.describe().c_str(), m.params.security_bits);
    std::printf("    %d levels (compositions %d + %d), %d rotation keys, distance bound %.4g\n", m.levels_used,
                m.compositions_distance, m.compositions_rank, m.rotation_keys, m.beta);
    std::printf("    %-34s %s\n", "plaintext KNN on the same references", metrics_text(task, m.plaintext).c_str());
    std::printf("    %-34s %s\n", "fully encrypted", metrics_text(task, m.encrypted).c_str());
    if (task == KnnTask::Regress)
      std::printf("    agreement (|Δ| ≤ %.3g): %.4f; max |encrypted − plaintext| = %.3g\n", m.tolerance, m.agreement,
                  m.max_prediction_error);
    else
      std::printf("    agreement (same class): %.4f\n", m.agreement);
    std::printf("    seconds: keygen %.1f, encrypt %.2f, predict %.1f, decrypt %.2f (%.2f queries/s)\n", m.seconds_keygen,
                m.seconds_encrypt, m.seconds_predict, m.seconds_decrypt, m.samples_per_second);
  }
  std::printf("\n  total %.1f s\n", r.seconds_total);
  return 0;
}

}  // namespace

Command add_knn(CLI::App& app) {
  auto ko = std::make_shared<KnnCliOptions>();
  auto* knn = app.add_subcommand("knn", "k-nearest neighbours with encrypted queries (Boston regressor / Fashion-MNIST classifier)");
  knn->add_option("--task", ko->task, "regress (default: Boston Housing) or classify (default: Fashion-MNIST subset)");
  knn->add_option("--mode", ko->mode, "decrypt (client picks neighbours), encrypted (server ranks), or both (default)");
  knn->add_option("--k", ko->k, "neighbours (default 5)")->check(whole_at_least(1));
  knn->add_option("--data", ko->data, "CSV file with a header row (default: Boston / Fashion-MNIST)");
  knn->add_option("--target", ko->target, "target column of --data (integer class labels with --task classify)");
  knn->add_option("--queries", ko->queries, "decrypt mode: test queries (default all test rows; 300 for Fashion-MNIST)")
      ->check(whole_at_least(1));
  knn->add_option("--references", ko->references, "decrypt mode: reference rows (default all training rows; 1000 for Fashion-MNIST)")
      ->check(whole_at_least(1));
  knn->add_option("--rank-references", ko->rank_references, "encrypted mode: references ranked per query (power of two 4..64, default 32)")
      ->check(whole_at_least(1));
  knn->add_option("--rank-queries", ko->rank_queries, "encrypted mode: queries (default one ciphertext: N/2 / n²)")
      ->check(whole_at_least(1));
  knn->add_option("--compositions-distance", ko->compositions_distance, "encrypted mode: f_3 compositions after the steep step, distance comparisons (default 4)")->check(CLI::Range(0, 12));
  knn->add_option("--compositions-rank", ko->compositions_rank, "encrypted mode: f_3 compositions after the steep step, rank threshold (default 2)")->check(CLI::Range(0, 12));
  knn->add_option("--params", ko->params, "decrypt-mode ring: n13|n14|n15|n16 (default n14); the encrypted mode uses its own N=2^16 set");
  knn->add_option("--seed", ko->seed, "seed of the train/test shuffle (default 1)");
  knn->add_flag("--json", ko->json, "print one JSON object instead of the table");
  return {knn, [ko] { return run_knn(*ko); }};
}

}  // namespace ckks::ml::cli

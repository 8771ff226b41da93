// ckks-ml logreg-minibatch [--class C] [--batch B] [--epochs E] [--cache DIR] [--train-images N]
//                          [--test-images N] [--params n14|n15] [--json]
//
// A subcommand of its own rather than `logreg --minibatch B`: its data (Fashion-MNIST images, one
// class against the rest), its options (--class, --batch, --epochs, --cache) and its report (bytes
// on disk, seconds per epoch, the full-batch comparison) share nothing with logreg's CSV options,
// --iterations or --bootstrap.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ml/apps/cli_common.h"
#include "ml/logreg/logreg_minibatch_job.h"

namespace ckks::ml::cli {
namespace {

struct MinibatchCliOptions {
  MinibatchJobOptions job;
  std::string params = "n15";
  bool json = false;
};

void print_schedule(const MinibatchReport& r) {
  std::fprintf(stderr,
               "[logreg-minibatch] %zu training rows in %zu mini-batches of %zu (chunks of %zu rows × %zu groups of "
               "%zu columns), %d epochs = %d iterations: %d of the chain's %d levels (1 + %d per iteration after the "
               "first; at most %d iterations fit)\n",
               r.train_rows, r.batches, r.batch, r.layout.samples(), r.layout.groups, r.layout.block, r.epochs,
               r.iterations, r.levels_used, r.params.log_q.empty() ? 0 : static_cast<int>(r.params.log_q.size()) - 1,
               r.levels_per_iteration, r.max_iterations);
  std::fprintf(stderr, "[logreg-minibatch] level schedule:\n  %4s %6s %6s %7s %10s %9s %11s %9s\n", "t", "epoch",
               "batch", "chunks", "w_t level", "x level", "xb,yb level", "w_{t+1}");
  for (const MinibatchScheduleRow& s : r.schedule)
    std::fprintf(stderr, "  %4d %6d %6zu %7zu %10d %9s %11d %9d\n", s.t, s.epoch, s.batch, s.chunks, s.w_level,
                 s.x_level < 0 ? "-" : std::to_string(s.x_level).c_str(), s.xb_level, s.w_next_level);
}

int run_minibatch(MinibatchCliOptions& o) {
  // n16 would need about 15 GiB of keys with this layout (the bound is 8 GiB), n13 too few levels.
  if (o.params != "n14" && o.params != "n15")
    throw InputError("logreg-minibatch: --params " + o.params + " is not offered; use --params n14 or n15 (n16 needs "
                     "about 15 GiB of keys with this layout, n13 has too few levels)");
  o.job.params = preset(o.params);
  std::fprintf(stderr, "[logreg-minibatch] Fashion-MNIST class %d (%s) against the rest, %s\n", o.job.positive_class,
               fashion_class_name(o.job.positive_class), o.job.params.describe().c_str());
  const MinibatchReport r = run_logreg_minibatch_job(o.job, stderr_progress("logreg-minibatch"), print_schedule);
  double per_epoch = 0;
  for (double s : r.seconds_per_epoch) per_epoch += s;
  per_epoch /= static_cast<double>(r.seconds_per_epoch.size());
  if (o.json) {
    nlohmann::json j;
    j["model"] = "logreg-minibatch";
    j["algorithm"] = "mini-batch logistic regression with the quadratic gradient and NAG (Chiang, arXiv:2406.13221), "
                     "degree-3 polynomial sigmoid, trained on encrypted mini-batches streamed from disk";
    j["dataset"] = r.dataset;
    j["class"] = {{"positive", r.positive_class}, {"name", fashion_class_name(r.positive_class)}};
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features},
                 {"features_note", "means of the 2x2 pixel blocks, standardised on the training rows"},
                 {"positives_train", r.positives_train}};
    j["batch"] = r.batch;
    j["batches_per_epoch"] = r.batches;
    j["epochs"] = r.epochs;
    j["iterations"] = r.iterations;
    j["layout"] = {{"block", r.layout.block}, {"groups", r.layout.groups}, {"rows_per_chunk", r.layout.samples()}};
    j["levels_per_iteration"] = r.levels_per_iteration;
    j["levels_used"] = r.levels_used;
    j["max_iterations"] = r.max_iterations;
    j["max_sigmoid_input"] = r.max_abs_margin;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
    j["encrypted"] = {{"accuracy", r.encrypted.accuracy}, {"auc", r.encrypted.auc}};
    j["plaintext"] = {{"accuracy", r.plaintext.accuracy}, {"auc", r.plaintext.auc}};
    j["full_batch_plaintext"] = {{"accuracy", r.full_batch.accuracy}, {"auc", r.full_batch.auc}};
    j["max_weight_error"] = r.max_weight_error;
    j["bytes_on_disk"] = r.bytes_on_disk;
    j["ciphertexts_on_disk"] = r.ciphertexts_on_disk;
    j["peak_memory_gib"] = r.peak_rss_gib;
    j["seconds"] = {{"load", r.seconds_load},     {"keygen", r.seconds_keygen},   {"encrypt", r.seconds_encrypt},
                    {"train", r.seconds_train},   {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total},
                    {"per_epoch", per_epoch},     {"epochs", r.seconds_per_epoch}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted mini-batch logistic regression (quadratic gradient + NAG, degree-3 sigmoid)\n");
  std::printf("  Fashion-MNIST class %d (%s) vs rest: %zu train (%zu positive) / %zu test images, %zu features "
              "(2x2 block means, standardised)\n",
              r.positive_class, fashion_class_name(r.positive_class), r.train_rows, r.positives_train, r.test_rows,
              r.features);
  std::printf("  %zu mini-batches of %zu rows x %d epochs = %d iterations, %d levels\n", r.batches, r.batch, r.epochs,
              r.iterations, r.levels_used);
  print_params_line(r.params, r.log_qp, r.security_bits);
  std::printf("\n  %-36s %10s %10s\n", "model (test set)", "accuracy", "AUC");
  std::printf("  %-36s %10.4f %10.4f\n", "mini-batch, encrypted", r.encrypted.accuracy, r.encrypted.auc);
  std::printf("  %-36s %10.4f %10.4f\n", "mini-batch, plaintext (same batches)", r.plaintext.accuracy, r.plaintext.auc);
  std::printf("  %-36s %10.4f %10.4f\n", "full-batch, plaintext (same iters)", r.full_batch.accuracy, r.full_batch.auc);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              r.max_weight_error, r.max_abs_margin);
  std::printf("  on disk: %llu bytes in %llu ciphertexts; peak memory %.2f GiB\n",
              static_cast<unsigned long long>(r.bytes_on_disk), static_cast<unsigned long long>(r.ciphertexts_on_disk),
              r.peak_rss_gib);
  std::printf("  seconds: load %.1f, keygen %.1f, encrypt %.1f, train %.1f (%.1f per epoch), decrypt %.2f, total %.1f\n",
              r.seconds_load, r.seconds_keygen, r.seconds_encrypt, r.seconds_train, per_epoch, r.seconds_decrypt,
              r.seconds_total);
  return 0;
}

}  // namespace

Command add_logreg_minibatch(CLI::App& app) {
  auto o = std::make_shared<MinibatchCliOptions>();
  auto* sub = app.add_subcommand(
      "logreg-minibatch",
      "mini-batch logistic regression on encrypted Fashion-MNIST (one class vs the rest), streamed from disk");
  sub->add_option("--class", o->job.positive_class, "the positive class, 0..9 (default 0, T-shirt/top)");
  sub->add_option("--batch", o->job.batch, "rows per mini-batch (default 15000)")->check(whole_at_least(1));
  sub->add_option("--epochs", o->job.epochs, "passes over the training set (default 1)")->check(whole_at_least(1));
  sub->add_option("--cache", o->job.cache,
                  "directory for the encrypted mini-batches (default: a temporary directory, removed afterwards)");
  sub->add_option("--train-images", o->job.train_limit, "use the first N training images (default: all 60000)")
      ->check(whole_at_least(1));
  sub->add_option("--test-images", o->job.test_limit, "use the first N test images (default: all 10000)")
      ->check(whole_at_least(1));
  sub->add_option("--data", o->job.data_dir, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  add_params_and_json(sub, o->params, o->json,
                      "parameter preset n14|n15 (default n15: 18 levels, 4 iterations, 16384 slots)");
  return {sub, [o] { return run_minibatch(*o); }};
}

}  // namespace ckks::ml::cli

#include "ml/logreg/logreg_minibatch_job.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ml/data/dataset.h"
#include "ml/linreg/linreg_plain.h"  // Standardizer, with_bias_column, predict
#include "ml/logreg/logreg_plain.h"
#include "ml/timer.h"

namespace ckks::ml {

std::vector<std::vector<double>> fashion_block_means(const ImageSet& images) {
  if (images.rows != 28 || images.cols != 28)
    throw InputError("fashion_block_means: images are " + std::to_string(images.rows) + "×" +
                     std::to_string(images.cols) + " but 28×28 Fashion-MNIST images are expected");
  std::vector<std::vector<double>> out;
  out.reserve(images.images.size());
  for (const auto& img : images.images) {
    std::vector<double> f(196);
    for (std::size_t r = 0; r < 14; ++r)
      for (std::size_t c = 0; c < 14; ++c) {
        const std::size_t p = 2 * r * 28 + 2 * c;
        f[r * 14 + c] = 0.25 * (static_cast<double>(img[p]) + img[p + 1] + img[p + 28] + img[p + 29]);
      }
    out.push_back(std::move(f));
  }
  return out;
}

const char* fashion_class_name(int c) {
  static const char* const names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return c >= 0 && c < 10 ? names[c] : "?";
}

namespace {

double peak_rss_gib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB on Linux
}

// y = 1 for the positive class, 0 for the nine others.
std::vector<double> one_vs_rest(const std::vector<int>& labels, int positive) {
  std::vector<double> y(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) y[i] = labels[i] == positive ? 1.0 : 0.0;
  return y;
}

}  // namespace

MinibatchReport run_logreg_minibatch_job(const MinibatchJobOptions& o, const Progress& progress,
                                         const std::function<void(const MinibatchReport&)>& on_schedule) {
  const auto t_total = Clock::now();
  if (o.positive_class < 0 || o.positive_class > 9)
    throw InputError("logreg-minibatch: --class " + std::to_string(o.positive_class) +
                     " is not a Fashion-MNIST class; use 0 … 9 (0 T-shirt/top, 1 Trouser, …, 9 Ankle boot)");
  if (o.epochs < 1)
    throw InputError("logreg-minibatch: --epochs " + std::to_string(o.epochs) + "; need at least 1");
  if (o.batch < 1) throw InputError("logreg-minibatch: --batch 0; a mini-batch needs at least 1 row");
  // The cache first: an unwritable directory fails before the data are read.
  const MinibatchCache cache(o.cache, "--cache");

  MinibatchReport rep;
  rep.positive_class = o.positive_class;
  auto t = Clock::now();
  const ImageSet train_img = load_fashion_mnist(o.data_dir, true, o.train_limit);
  const ImageSet test_img = load_fashion_mnist(o.data_dir, false, o.test_limit);
  rep.dataset = "fashion-mnist (" + o.data_dir + ")";
  Dataset train{{}, "class", fashion_block_means(train_img), one_vs_rest(train_img.labels, o.positive_class)};
  Dataset test{{}, "class", fashion_block_means(test_img), one_vs_rest(test_img.labels, o.positive_class)};
  for (std::size_t j = 0; j < 196; ++j) {
    train.feature_names.push_back("block" + std::to_string(j));
    test.feature_names.push_back(train.feature_names.back());
  }
  check_binary_labels(train.y, "logreg-minibatch (training images)");
  check_binary_labels(test.y, "logreg-minibatch (test images)");
  const std::size_t n = train.X.size();
  if (o.batch > n)
    throw InputError("logreg-minibatch: --batch " + std::to_string(o.batch) + " is larger than the " +
                     std::to_string(n) + " training rows; use --batch " + std::to_string(n) + " or less");
  const MinibatchPlan plan = MinibatchPlan::make(n, o.batch, o.epochs);
  rep.train_rows = n;
  rep.test_rows = test.X.size();
  rep.features = 196;

  auto ctx = Context::create(o.params);
  rep.params = o.params;
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  rep.layout = MinibatchLayout::make(196, o.block, ctx->max_slots());
  rep.batch = o.batch;
  rep.batches = plan.ranges.size();
  rep.epochs = o.epochs;
  rep.iterations = plan.iterations();
  rep.levels_per_iteration = MinibatchServer::levels_per_iteration(o.sigmoid_degree);
  rep.max_iterations = MinibatchServer::max_iterations(ctx->max_level(), o.sigmoid_degree);
  rep.levels_used = MinibatchServer::levels_needed(rep.iterations, o.sigmoid_degree);
  if (rep.iterations > rep.max_iterations)
    throw LevelError("logreg-minibatch: --epochs " + std::to_string(o.epochs) + " × " + std::to_string(rep.batches) +
                     " mini-batches (--batch " + std::to_string(o.batch) + " of " + std::to_string(n) +
                     " rows) = " + std::to_string(rep.iterations) + " iterations need " +
                     std::to_string(rep.levels_used) + " levels but the chain of " + o.params.describe() + " has L = " +
                     std::to_string(ctx->max_level()) + ", enough for " + std::to_string(rep.max_iterations) +
                     " iterations (1 + " + std::to_string(rep.levels_per_iteration) +
                     " per iteration after the first); lower --epochs or raise --batch");
  // The level schedule, and the level each batch is encrypted at: the highest its iterations read.
  const int top = ctx->max_level(), per = rep.levels_per_iteration;
  std::vector<int> x_level(rep.batches, -1), xb_level(rep.batches, -1);
  for (int it = 0; it < rep.iterations; ++it) {
    MinibatchScheduleRow row;
    row.t = it;
    row.epoch = it / static_cast<int>(rep.batches);
    row.batch = plan.batch_of(it);
    row.rows = plan.ranges[row.batch].second - plan.ranges[row.batch].first;
    row.chunks = rep.layout.chunks(row.rows);
    row.w_level = it == 0 ? top : MinibatchLevels::weights(top, it, per);
    row.x_level = MinibatchLevels::x(top, it, per);
    row.xb_level = MinibatchLevels::xb(top, it, per);
    row.w_next_level = MinibatchLevels::weights(top, it + 1, per);
    x_level[row.batch] = std::max(x_level[row.batch], row.x_level);
    xb_level[row.batch] = std::max(xb_level[row.batch], row.xb_level);
    rep.schedule.push_back(row);
  }
  if (on_schedule) on_schedule(rep);

  // Features standardised on the training rows, bias column last (as `ckks-ml logreg`).
  const Standardizer z = Standardizer::fit(train);
  const auto A = with_bias_column(z.apply(train).X), A_test = with_bias_column(z.apply(test).X);
  const std::vector<double>&y = train.y, &y_test = test.y;
  for (double v : y) rep.positives_train += v == 1.0;
  rep.seconds_load = seconds_since(t);

  // Plaintext: the same mini-batch algorithm, and the full-batch one with as many iterations.
  LogregOptions lo;
  lo.iterations = rep.iterations;
  lo.eta0 = o.eta0;
  lo.sigmoid_degree = o.sigmoid_degree;
  const LogregTrace tr = logreg_minibatch_train(A, y, plan, lo);
  rep.weights_plaintext = tr.w.back();
  rep.max_abs_margin = *std::max_element(tr.max_abs_margin.begin(), tr.max_abs_margin.end());
  rep.weights_full_batch = logreg_nag_train(A, y, lo).w.back();

  t = Clock::now();
  MinibatchDataOwner owner(ctx, rep.layout, o.test_seed);
  const MinibatchServer server(ctx, owner.relin_key(), owner.galois_keys(), rep.layout);
  rep.seconds_keygen = seconds_since(t);

  t = Clock::now();
  for (std::size_t j = 0; j < rep.batches; ++j) {
    if (progress) progress("encrypting batches", j, rep.batches);
    const auto [begin, end] = plan.ranges[j];
    rep.bytes_on_disk += owner.write_batch(cache, j, A, y, begin, end, x_level[j], xb_level[j], lo.epsilon);
    rep.ciphertexts_on_disk += rep.layout.groups * (1 + rep.layout.chunks(end - begin) * (x_level[j] >= 0 ? 2 : 1));
  }
  if (progress) progress("encrypting batches", rep.batches, rep.batches);
  rep.seconds_encrypt = seconds_since(t);

  // Training, epoch by epoch (the same steps as MinibatchServer::train, timed per epoch).
  t = Clock::now();
  MinibatchWeights state;
  auto t_epoch = Clock::now();
  for (int it = 0; it < rep.iterations; ++it) {
    if (progress) progress("iterations", static_cast<std::size_t>(it), static_cast<std::size_t>(rep.iterations));
    const MinibatchScheduleRow& row = rep.schedule[it];
    server.step(state, CachedBatch(ctx, cache, row.batch, row.chunks), lo);
    if (row.batch + 1 == rep.batches) {
      rep.seconds_per_epoch.push_back(seconds_since(t_epoch));
      t_epoch = Clock::now();
    }
  }
  if (progress) progress("iterations", static_cast<std::size_t>(rep.iterations), static_cast<std::size_t>(rep.iterations));
  rep.seconds_train = seconds_since(t);

  t = Clock::now();
  rep.weights_encrypted = owner.decrypt_weights(state.w);
  rep.seconds_decrypt = seconds_since(t);
  auto evaluate = [&](const std::vector<double>& w) {
    const std::vector<double> s = predict(A_test, w);
    return LogregMetrics{accuracy(s, y_test), roc_auc(s, y_test)};
  };
  rep.encrypted = evaluate(rep.weights_encrypted);
  rep.plaintext = evaluate(rep.weights_plaintext);
  rep.full_batch = evaluate(rep.weights_full_batch);
  for (std::size_t j = 0; j < rep.weights_encrypted.size(); ++j)
    rep.max_weight_error = std::max(rep.max_weight_error, std::fabs(rep.weights_encrypted[j] - rep.weights_plaintext[j]));
  rep.seconds_total = seconds_since(t_total);
  rep.peak_rss_gib = peak_rss_gib();
  return rep;
}

}  // namespace ckks::ml

// Mini-batch logistic regression on encrypted batches streamed from disk
// (ml/logreg/logreg_minibatch*.h): the plan, the double-precision twin against the full-batch
// algorithm, the encrypted run against the twin, the file round trip, and the named errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "ckks/errors.h"
#include "ckks/serialize.h"
#include "temp_dir.h"
#include "ml/data/idx.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/logreg/logreg_minibatch.h"
#include "ml/logreg/logreg_minibatch_job.h"
#include "ml/logreg/logreg_minibatch_plain.h"
#include "ml/logreg/logreg_plain.h"

using namespace ckks;
using namespace ckks::ml;

namespace {

// INSECURE (N = 2^11, tests only): 1024 slots = 64 rows × 16 columns per chunk; q = {60, 40 × 16},
// 16 levels = 4 iterations (1 + 5 + 5 + 5).
Params insecure_params() {
  Params p;
  p.log_n = 11;
  p.log_q = {60};
  p.log_q.insert(p.log_q.end(), 16, 40);
  p.log_p = {60};
  p.log_scale = 40;
  p.allow_insecure = true;
  return p;
}

// The first n Fashion-MNIST training images, 2×2 block means centred and scaled by their standard
// deviation (constant columns of a small subset are left at 0), bias last; class 0 against the rest.
struct Small {
  std::vector<std::vector<double>> A;
  std::vector<double> y;
};
Small small_fashion(std::size_t n) {
  const ImageSet img = load_fashion_mnist(kDebianFashionMnistDir, true, n);
  const auto X = fashion_block_means(img);
  std::vector<double> mean(196, 0.0), sd(196, 0.0);
  for (const auto& r : X)
    for (std::size_t j = 0; j < 196; ++j) mean[j] += r[j] / static_cast<double>(n);
  for (const auto& r : X)
    for (std::size_t j = 0; j < 196; ++j) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / static_cast<double>(n);
  Small s;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> row(197, 1.0);
    for (std::size_t j = 0; j < 196; ++j) row[j] = sd[j] > 0 ? (X[i][j] - mean[j]) / std::sqrt(sd[j]) : 0.0;
    s.A.push_back(row);
    s.y.push_back(img.labels[i] == 0 ? 1.0 : 0.0);
  }
  return s;
}

// The job on the first `train` / `test` images at the INSECURE ring, deterministic keys.
MinibatchJobOptions job_options(std::size_t train, std::size_t test, std::size_t batch, int epochs) {
  MinibatchJobOptions o;
  o.params = insecure_params();
  o.train_limit = train;
  o.test_limit = test;
  o.batch = batch;
  o.epochs = epochs;
  o.test_seed = 3;
  return o;
}

}  // namespace

TEST_CASE("ml/logreg_minibatch plan: consecutive batches, the last shorter, named errors") {
  const MinibatchPlan p = MinibatchPlan::make(10, 4, 3);
  REQUIRE(p.ranges.size() == 3);
  CHECK(p.ranges[0] == std::pair<std::size_t, std::size_t>{0, 4});
  CHECK(p.ranges[2] == std::pair<std::size_t, std::size_t>{8, 10});
  CHECK(p.iterations() == 9);
  CHECK(p.batch_of(4) == 1);
  CHECK_THROWS_WITH_AS((void)MinibatchPlan::make(10, 11, 1),
                       "mini-batch plan: a batch of 11 rows but only 10 training rows; use a batch size of at most 10",
                       InputError);
  CHECK_THROWS_AS((void)MinibatchPlan::make(10, 0, 1), InputError);
  CHECK_THROWS_AS((void)MinibatchPlan::make(10, 5, 0), InputError);
}

TEST_CASE("ml/logreg_minibatch twin: one batch is the full-batch algorithm, several batches differ") {
  const Small s = small_fashion(200);
  LogregOptions o;
  o.iterations = 3;
  const auto full = logreg_nag_train(s.A, s.y, o).w.back();
  const auto one = logreg_minibatch_train(s.A, s.y, MinibatchPlan::make(200, 200, 3), o).w.back();
  for (std::size_t j = 0; j < full.size(); ++j) CHECK(one[j] == doctest::Approx(full[j]).epsilon(1e-12));
  const auto two = logreg_minibatch_train(s.A, s.y, MinibatchPlan::make(200, 100, 1), o);
  CHECK(two.w.size() == 2);
  double diff = 0;
  for (std::size_t j = 0; j < full.size(); ++j) diff = std::max(diff, std::fabs(two.w.back()[j] - full[j]));
  CHECK(diff > 1e-6);
}

TEST_CASE("ml/logreg_minibatch layout: groups, rotation steps, a block that does not fit the slots") {
  const MinibatchLayout l = MinibatchLayout::make(196, 16, 1024);
  CHECK(l.groups == 13);
  CHECK(l.samples() == 64);
  CHECK(l.chunks(160) == 3);
  CHECK(l.rotation_steps() == std::vector<int>{1, -1, 2, -2, 4, -4, 8, -8, 16, 32, 64, 128, 256, 512});
  CHECK_THROWS_WITH_AS((void)MinibatchLayout::make(196, 1024, 1024),
                       "logreg mini-batch layout: a block of k = 1024 columns needs at least 2048 slots but the ring "
                       "has 1024; use a smaller block or a larger ring",
                       ParameterError);
  CHECK_THROWS_AS((void)MinibatchLayout::make(196, 12, 1024), InputError);
}

TEST_CASE("ml/logreg_minibatch the streaming path round-trips the ciphertexts bit for bit") {
  auto ctx = Context::create(insecure_params());
  const MinibatchLayout l = MinibatchLayout::make(196, 16, ctx->max_slots());
  MinibatchDataOwner owner(ctx, l, 7);
  const Small s = small_fashion(64);
  const MinibatchCache cache("");  // a temporary directory, removed by the destructor
  const std::string dir = cache.dir();
  const std::vector<Ciphertext> cts = owner.encrypt_rows(s.A, 0, 64, nullptr, 9);
  const std::string path = cache.path(0, 0, "x");
  const std::uint64_t bytes = cache.write(path, cts);
  CHECK(bytes == std::filesystem::file_size(path));
  const std::vector<Ciphertext> back = MinibatchCache::read(ctx, path);
  REQUIRE(back.size() == cts.size());
  for (std::size_t g = 0; g < cts.size(); ++g) {
    CHECK(back[g].level == cts[g].level);
    CHECK(back[g].scale == cts[g].scale);
    CHECK(back[g].slots == cts[g].slots);
    CHECK(back[g].c == cts[g].c);  // every coefficient of both polynomials
  }
  // Seeded: one polynomial of 10 limbs × 2^11 coefficients and a 32-byte seed per ciphertext,
  // about half of the two full polynomials.
  CHECK(bytes < cts.size() * (2 * 10 * 2048 * 8) * 6 / 10);
  CHECK(std::filesystem::exists(dir));
}

TEST_CASE("ml/logreg_minibatch encrypted training equals the double-precision twin (INSECURE N = 2^11)") {
  auto ctx = Context::create(insecure_params());
  REQUIRE(ctx->max_level() == 16);
  const Small s = small_fashion(320);
  // 2 batches of 160 rows (chunks of 64, 64, 32 rows) × 2 epochs = 4 iterations = 16 levels.
  const MinibatchPlan plan = MinibatchPlan::make(320, 160, 2);
  LogregOptions o;
  CHECK(MinibatchServer::levels_needed(4, 3) == 16);
  CHECK(MinibatchServer::max_iterations(16, 3) == 4);
  const MinibatchLayout l = MinibatchLayout::make(196, 16, ctx->max_slots());
  MinibatchDataOwner owner(ctx, l, 11);
  const MinibatchServer server(ctx, owner.relin_key(), owner.galois_keys(), l);
  const MinibatchCache cache("");
  // Each batch at the highest levels its iterations read it (batch 0: t = 0 and 2; batch 1: t = 1 and 3).
  const int top = ctx->max_level();
  CHECK(MinibatchLevels::xb(top, 0, 5) == 16);
  CHECK(MinibatchLevels::x(top, 1, 5) == 15);
  CHECK(MinibatchLevels::xb(top, 1, 5) == 11);
  CHECK(MinibatchLevels::x(top, 2, 5) == 10);
  owner.write_batch(cache, 0, s.A, s.y, 0, 160, MinibatchLevels::x(top, 2, 5), MinibatchLevels::xb(top, 0, 5));
  owner.write_batch(cache, 1, s.A, s.y, 160, 320, MinibatchLevels::x(top, 1, 5), MinibatchLevels::xb(top, 1, 5));
  const auto w_enc = owner.decrypt_weights(server.train(cache, plan, o));
  const auto trace = logreg_minibatch_train(s.A, s.y, plan, o);
  const auto& w_plain = trace.w.back();
  REQUIRE(w_enc.size() == 197);
  // Bound: 40-bit scale, 4 iterations; the weights (|w| ≲ 0.05) agree to 1e-6 (measured ~1e-8).
  double err = 0, wmax = 0;
  for (std::size_t j = 0; j < 197; ++j) {
    err = std::max(err, std::fabs(w_enc[j] - w_plain[j]));
    wmax = std::max(wmax, std::fabs(w_plain[j]));
  }
  CHECK(err < 1e-6);
  CHECK(wmax > 1e-3);  // the weights moved: the comparison is not between zeros

  // One more epoch than the chain holds: a LevelError naming the count and the limit.
  CHECK_THROWS_WITH_AS((void)server.train(cache, MinibatchPlan::make(320, 160, 3), o),
                       "logreg mini-batch train: 6 iterations need 26 levels but the chain has L = 16; at most 4 "
                       "iterations fit: fewer epochs or larger batches",
                       LevelError);
  // A batch encrypted too low for its iteration: the level named.
  MinibatchWeights st;
  const InMemoryBatch low = owner.encrypt_batch(s.A, s.y, 0, 64, -1, 12);
  CHECK_THROWS_WITH_AS(server.step(st, low, o),
                       doctest::Contains("xb is at level 12 but this iteration reads it at level 16"), LevelError);
}

TEST_CASE("ml/logreg_minibatch job: bad class, batch, cache directory and iteration count are named errors") {
  MinibatchJobOptions o = job_options(300, 100, 100, 1);
  o.positive_class = 10;
  CHECK_THROWS_WITH_AS(
      (void)run_logreg_minibatch_job(o),
      "logreg-minibatch: --class 10 is not a Fashion-MNIST class; use 0 … 9 (0 T-shirt/top, 1 Trouser, …, 9 Ankle boot)",
      InputError);
  o.positive_class = -1;
  CHECK_THROWS_AS((void)run_logreg_minibatch_job(o), InputError);
  o.positive_class = 0;

  o.batch = 301;
  CHECK_THROWS_WITH_AS((void)run_logreg_minibatch_job(o),
                       "logreg-minibatch: --batch 301 is larger than the 300 training rows; use --batch 300 or less",
                       InputError);
  o.batch = 100;

  // A regular file where the cache directory should be.
  const test_util::TempDir tmp("ckks_test_minibatch");
  o.cache = tmp.write("not_a_dir", "x") + "/cache";
  CHECK_THROWS_WITH_AS((void)run_logreg_minibatch_job(o),
                       ("logreg mini-batch: --cache " + o.cache +
                        " cannot be created as a directory (Not a directory); pass a writable directory")
                           .c_str(),
                       InputError);
  o.cache.clear();

  // 3 batches × 2 epochs = 6 iterations > 4.
  o.epochs = 2;
  CHECK_THROWS_WITH_AS((void)run_logreg_minibatch_job(o),
                       doctest::Contains("--epochs 2 × 3 mini-batches (--batch 100 of 300 rows) = 6 iterations need 26 "
                                         "levels but the chain of N=2^11"),
                       LevelError);
  CHECK_THROWS_WITH_AS((void)run_logreg_minibatch_job(o),
                       doctest::Contains("has L = 16, enough for 4 iterations (1 + 5 per iteration after the first); "
                                         "lower --epochs or raise --batch"),
                       LevelError);
}

TEST_CASE("ml/logreg_minibatch job on 1024 images (INSECURE N = 2^11): encrypted beside plaintext, figures filled") {
  MinibatchJobOptions o = job_options(1024, 300, 512, 2);
  const test_util::TempDir tmp("ckks_test_minibatch");
  const auto cache = tmp.dir / "cache";
  o.cache = cache.string();
  const MinibatchReport r = run_logreg_minibatch_job(o);
  CHECK(r.iterations == 4);
  CHECK(r.batches == 2);
  REQUIRE(r.schedule.size() == 4);
  CHECK(r.schedule[3].w_next_level == 0);  // 16 − 1 − 3·5
  CHECK(r.seconds_per_epoch.size() == 2);
  CHECK(r.max_weight_error < 1e-5);
  CHECK(std::fabs(r.encrypted.auc - r.plaintext.auc) < 1e-3);
  CHECK(r.plaintext.auc > 0.85);
  CHECK(r.full_batch.auc > 0.85);
  // The files the report counts are the ones in the directory (a given --cache is kept).
  std::uint64_t bytes = 0, files = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache)) {
    bytes += e.file_size();
    ++files;
  }
  CHECK(bytes == r.bytes_on_disk);
  CHECK(files == 2 + 2 * 8 * 2);  // per batch: yb, and 8 chunks of x and of xb
  CHECK(r.ciphertexts_on_disk == 13 * files);
}

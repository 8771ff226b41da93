// CNN training by transfer learning (ml/transfer): the digit-to-network-input path (bilinear
// upsampling checked exactly on tiny images), the features against a direct call of the plain
// ResNet-20 forward pass, the scaler, encrypted MLR on real features against its plaintext twin
// (weights compared) at a small INSECURE ring, and the job's named errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/mlr/mlr_job.h"
#include "ml/mlr/mlr_plain.h"
#include "ml/resnet/resnet_plain.h"
#include "ml/transfer/transfer_features.h"
#include "ml/transfer/transfer_job.h"

using namespace ckks;

namespace {

const std::string kResNet20 = std::string(CKKS_MODELS_DIR_FOR_TESTS) + "/resnet20_fmnist.safetensors";

// N = 2^12, q_0 of 40 bits and exactly the 7 levels of 2 MLR iterations (2 + 5) at Δ = 2^30:
// INSECURE (log QP = 290 bits, above the 109 bits 128-bit security allows at N = 2^12); small and
// fast for tests.
Params two_iteration_insecure() {
  Params p;
  p.log_n = 12;
  p.log_q.assign(8, 30);
  p.log_q[0] = 40;
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

}  // namespace

TEST_CASE("ml/transfer: bilinear upsampling of tiny images, exactly") {
  // 2 x 2 -> 4 x 4 with half-pixel centres: source coordinates (i + 1/2)/2 − 1/2 clamped to [0, 1]
  // are 0, 1/4, 3/4, 1 on both axes. On I(y, x) = 2y + x bilinear interpolation is exact, so
  // output (i, j) = 2·s_i + s_j, every value a multiple of 1/4 (exact in float).
  const std::vector<float> in = {0, 1, 2, 3};
  const std::vector<float> out = ml::bilinear_resize(in, 2, 2, 4, 4);
  const double s[4] = {0, 0.25, 0.75, 1};
  REQUIRE(out.size() == 16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) CHECK(out[i * 4 + j] == static_cast<float>(2 * s[i] + s[j]));
  // A 1 x 3 row to 1 x 2: source x = (j + 1/2)·3/2 − 1/2 = 1/4 and 7/4.
  CHECK(ml::bilinear_resize({0, 4, 8}, 1, 3, 1, 2) == std::vector<float>{1, 7});
  // Same size: unchanged. 1 x 1 -> 3 x 3: the constant.
  CHECK(ml::bilinear_resize(in, 2, 2, 2, 2) == in);
  CHECK(ml::bilinear_resize({5}, 1, 1, 3, 3) == std::vector<float>(9, 5.0f));
  CHECK_THROWS_WITH(ml::bilinear_resize({1, 2, 3}, 2, 2, 4, 4), "bilinear_resize: the image has 3 values but rows x cols = 2 x 2; pass the image's own shape");
  CHECK_THROWS_WITH(ml::bilinear_resize({1}, 1, 1, 0, 4), "bilinear_resize: every size must be at least 1 (got 1 x 1 -> 0 x 4)");
}

TEST_CASE("ml/transfer: a digit becomes the 1x32x32 network input (÷16, bilinear 8->28, padded by 2)") {
  const ml::Dataset ds = ml::read_sklearn_digits(ml::sklearn_data("digits.csv.gz"));
  const std::vector<double>& px = ds.X[0];
  const std::vector<float> x = ml::digit_to_resnet_input(px);
  REQUIRE(x.size() == 32 * 32);
  std::vector<float> unit(64);
  for (int i = 0; i < 64; ++i) unit[i] = static_cast<float>(px[i] / 16.0);
  const std::vector<float> up = ml::bilinear_resize(unit, 8, 8, 28, 28);
  for (int r = 0; r < 32; ++r)
    for (int c = 0; c < 32; ++c) {
      const bool inside = r >= 2 && r < 30 && c >= 2 && c < 30;
      CHECK(x[r * 32 + c] == (inside ? up[(r - 2) * 28 + (c - 2)] : 0.0f));
    }
  // Output (0, 0) of 8 -> 28 samples source (−0.357…, −0.357…), clamped to pixel (0, 0).
  CHECK(up[0] == unit[0]);
  for (float v : x) CHECK((v >= 0.0f && v <= 1.0f));
  CHECK_THROWS_WITH(ml::digit_to_resnet_input(std::vector<double>(63, 0)), "digit_to_resnet_input: the digit has 63 pixels; a scikit-learn digit has 8 x 8 = 64");
  std::vector<double> bad(64, 0);
  bad[5] = 17;
  CHECK_THROWS_WITH(ml::digit_to_resnet_input(bad), "digit_to_resnet_input: pixel 5 is 17.000000; scikit-learn digits hold counts in [0, 16]");
}

TEST_CASE("ml/transfer: features are the ResNet-20 global-average-pool output (direct forward pass)") {
  const ml::ResNet net = ml::ResNet::load(kResNet20);
  CHECK(ml::feature_dimension(net) == 64);
  const ml::Dataset ds = ml::read_sklearn_digits(ml::sklearn_data("digits.csv.gz"));
  std::vector<std::vector<float>> images;
  for (int i = 0; i < 3; ++i) images.push_back(ml::digit_to_resnet_input(ds.X[i]));
  const ml::DenseMatrix f = ml::extract_features(net, images);
  REQUIRE(f.size() == 3);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f[i].size() == 64);
    const auto trace = net.trace(ml::FeatureMap::from_values(images[i], 1, 32, 32));
    CHECK(f[i] == ml::find_layer(trace, "pool").data);  // same arithmetic, bit for bit
    // The frozen fc head on the features gives the network's logits.
    ml::FeatureMap pooled(64, 1, 1);
    pooled.data = f[i];
    const std::vector<double> logits = ml::dense(pooled, net.fc).data;
    const std::vector<double> direct = net.forward(images[i]);
    for (int k = 0; k < 10; ++k) CHECK(logits[k] == doctest::Approx(direct[k]).epsilon(1e-12));
  }
  // Different digits give different features.
  CHECK(f[0] != f[1]);
  CHECK_THROWS_WITH(ml::extract_features(net, {std::vector<float>(28 * 28, 0.0f)}), "extract_features: image 0 has 784 values; the network takes 1 x 32 x 32 (digit_to_resnet_input)");
  CHECK_THROWS_WITH(ml::extract_features(ml::ResNet{}, {}), "extract_features: the model is empty; load it with ResNet::load first");
}

TEST_CASE("ml/transfer: FeatureScaler z-scores on the training rows; a constant feature is centred") {
  const ml::DenseMatrix X = {{1, 5}, {3, 5}};
  const ml::FeatureScaler z = ml::FeatureScaler::fit(X);
  CHECK(z.mean == std::vector<double>{2, 5});
  CHECK(z.stddev == std::vector<double>{1, 1});  // population sd of {1, 3} is 1; constant column: 1
  CHECK(z.apply({{4, 7}}) == ml::DenseMatrix{{2, 2}});
  CHECK_THROWS_WITH(z.apply({{1, 2, 3}}), "FeatureScaler::apply: row 0 has 3 features but the scaler was fitted on 2");
  CHECK_THROWS_WITH(ml::FeatureScaler::fit({}), "FeatureScaler::fit: no training rows (or rows without features)");
}

TEST_CASE("ml/transfer: encrypted MLR on ResNet-20 features equals its plaintext twin (small INSECURE ring)") {
  // 60 digits: features of the frozen network, seeded 2/3 : 1/3 split, z-scored on the training
  // rows, 2 iterations (7 of the 12 levels) at N = 2^12, Δ = 2^30.
  ml::Dataset ds = ml::read_sklearn_digits(ml::sklearn_data("digits.csv.gz"));
  ds.X.resize(60);
  ds.y.resize(60);
  const ml::ResNet net = ml::ResNet::load(kResNet20);
  std::vector<std::vector<float>> images;
  for (const auto& row : ds.X) images.push_back(ml::digit_to_resnet_input(row));
  ml::Dataset feats = ds;
  feats.X = ml::extract_features(net, images);
  const ml::Split split = ml::train_test_split(feats, 1.0 / 3, 1);
  const ml::FeatureScaler z = ml::FeatureScaler::fit(split.train.X);
  ml::MlrMatrices m{ml::with_bias_column(z.apply(split.train.X)), ml::with_bias_column(z.apply(split.test.X)),
                    split.train.y, split.test.y, 10};
  ml::MlrJobOptions o;
  o.params = two_iteration_insecure();
  o.iterations = 2;
  o.test_seed = 7;
  o.command = "transfer";
  o.measure_upload = true;
  const ml::MlrReport r = ml::run_mlr_on_matrices(m, o);
  REQUIRE(r.weights_encrypted.size() == 10);
  REQUIRE(r.weights_encrypted[0].size() == 65);
  double max_w = 0;
  for (const auto& row : r.weights_plaintext)
    for (double v : row) max_w = std::max(max_w, std::fabs(v));
  // Bound: 1e-4 absolute, 0.3 % of the largest weight (0.034); the CKKS error at Δ = 2^30 after two
  // iterations measured 2.1e-5 with this seed (at Δ = 2^40, n15, it is 4.6e-7: docs/ml.md).
  MESSAGE("max |W_enc - W_plain| = " << r.max_weight_error << ", max |W| = " << max_w);
  CHECK(max_w > 1e-4);
  CHECK(r.max_weight_error < 1e-4);
  CHECK(r.agreement == 1.0);
  CHECK(r.accuracy_encrypted == r.accuracy_plaintext);
  // 40 samples in blocks of 128 slots, 16 per ciphertext of 2048 slots: K = 3 ciphertexts, each
  // with X and XB for G = 9 groups of 8 features and Y.
  CHECK(r.layout.ciphertexts == 3);
  CHECK(r.ciphertexts_uploaded == 3 * (2 * 9 + 1));
  CHECK(r.upload_bytes > 0);
}

TEST_CASE("ml/transfer: the job's errors name the flag") {
  ml::TransferJobOptions o;
  o.model = kResNet20;
  o.params = two_iteration_insecure();
  o.train_images = 1439;
  CHECK_THROWS_WITH(ml::run_transfer_job(o),
                    "transfer: --train-images 1439 but the training split has 1438 digits; use --train-images 1438 or "
                    "fewer (0: all)");
  o.train_images = 9;
  CHECK_THROWS_WITH(ml::run_transfer_job(o), "transfer: --train-images 9 is fewer than the 10 classes; use at least 10");
  o.train_images = 10;  // the first 10 shuffled training digits (seed 1) do not hold every class
  CHECK_THROWS_WITH(ml::run_transfer_job(o), doctest::Contains("training digits hold no "));
  o.train_images = 128;
  o.iterations = 3;  // 2 + 2·5 = 12 levels, the chain has 7
  CHECK_THROWS_WITH(ml::run_transfer_job(o),
                    "transfer: 3 iterations need 12 levels but the chain has 7; use --iterations 2 or fewer, a longer "
                    "chain (--params n16) or --bootstrap (refreshes the weights by bootstrapping)");
  o.classifiers.clear();
  CHECK_THROWS_WITH(ml::run_transfer_job(o), doctest::Contains("transfer: no classifier to train"));
}

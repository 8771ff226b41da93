#include "ml/transfer/transfer_job.h"

#include <algorithm>
#include <string>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"  // with_bias_column
#include "ml/mlr/mlr_encrypted.h"
#include "ml/mlr/mlr_plain.h"
#include "ml/resnet/resnet_plain.h"
#include "ml/timer.h"
#include "ml/transfer/transfer_features.h"

namespace ckks::ml {

namespace {

constexpr std::size_t kDigitClasses = 10;

/// The job options of ml/mlr for the transfer job's options (messages prefixed "transfer").
MlrJobOptions mlr_options(const TransferJobOptions& o) {
  MlrJobOptions m;
  m.iterations = o.iterations;
  m.params = o.params;
  m.refresh = o.refresh;
  m.test_seed = o.test_seed;
  m.command = "transfer";
  m.measure_upload = o.measure_upload;
  return m;
}

DenseMatrix pixels_over_16(DenseMatrix X) {
  for (auto& row : X)
    for (double& v : row) v /= kDigitsMaxPixel;
  return X;
}

}  // namespace

TransferClassifier mlr_transfer_classifier() {
  TransferClassifier c;
  c.name = "mlr";
  c.train = [](const TransferData& data, const TransferJobOptions& o, const Progress& progress) {
    const MlrReport r = run_mlr_on_matrices(data.features, mlr_options(o), progress);
    TransferOutcome t;
    t.name = "mlr";
    t.algorithm = "multiclass logistic regression, sigmoid per class, NAG with the quadratic gradient (ml/mlr)";
    t.accuracy_encrypted = r.accuracy_encrypted;
    t.accuracy_plaintext = r.accuracy_plaintext;
    t.agreement = r.agreement;
    t.max_weight_error = r.max_weight_error;
    t.max_sigmoid_input = r.max_abs_margin;
    t.iterations = r.iterations;
    t.levels_used = r.levels_used;
    t.bootstraps = r.refresh.stats.bootstraps;
    t.params = r.params;
    t.log_qp = r.log_qp;
    t.security_bits = r.security_bits;
    t.ciphertexts_uploaded = r.ciphertexts_uploaded;
    t.upload_bytes = r.upload_bytes;
    t.rotation_keys = static_cast<std::size_t>(r.rotation_keys);
    t.seconds_keygen = r.seconds_keygen;
    t.seconds_encrypt = r.seconds_encrypt;
    t.seconds_train = r.seconds_train;
    t.seconds_bootstrap = r.refresh.stats.seconds;
    t.seconds_decrypt = r.seconds_decrypt;
    return t;
  };
  return c;
}

TransferClassifier nn_transfer_classifier(NnJobOptions nn) {
  TransferClassifier c;
  c.name = "nn";
  c.train = [nn](const TransferData& data, const TransferJobOptions& o, const Progress& progress) {
    NnJobOptions jo = nn;
    if (o.test_seed) jo.test_seed = o.test_seed;
    jo.nn.batch = std::min(jo.nn.batch, data.features.A.size());
    const MlrMatrices& f = data.features;
    NnReport base;
    base.dataset = "transfer features";
    const NnReport r =
        run_nn_on_matrices({f.A, f.A_test, f.y, f.y_test, f.classes}, jo, std::move(base), progress);
    TransferOutcome t;
    t.name = "nn";
    t.algorithm = "network " + std::to_string(r.features) + "-" + std::to_string(jo.nn.hidden) + "-" +
                  std::to_string(r.classes) + ", cubic sigmoids, binary cross-entropy, Nesterov, weight decay, " +
                  "bootstrapped weights (ml/nn)";
    t.accuracy_encrypted = r.accuracy_encrypted;
    t.accuracy_plaintext = r.accuracy_plaintext;
    t.agreement = r.agreement;
    t.max_weight_error = r.max_weight_error;
    t.max_sigmoid_input = std::max(r.visited_z1, r.visited_z2);
    t.iterations = r.iterations;
    t.levels_used = NnServer::levels_needed(jo.nn.momentum);
    t.bootstraps = r.stats.bootstraps;
    t.params = r.params;
    t.log_qp = r.log_qp;
    t.security_bits = r.security_bits;
    t.ciphertexts_uploaded = r.uploaded_ciphertexts;
    t.rotation_keys = r.galois_keys;
    t.seconds_keygen = r.seconds_keygen;
    t.seconds_encrypt = r.seconds_encrypt;
    t.seconds_train = r.seconds_train;
    t.seconds_bootstrap = r.stats.seconds_bootstrap;
    return t;
  };
  return c;
}

TransferData prepare_transfer_data(const TransferJobOptions& o, TransferReport& rep) {
  const Dataset ds = read_sklearn_digits(sklearn_data("digits.csv.gz"));
  Split split = train_test_split(ds, o.test_fraction, o.seed);
  rep.available_train_images = split.train.X.size();
  const std::size_t n = o.train_images == 0 ? split.train.X.size() : o.train_images;
  if (n > split.train.X.size())
    throw InputError("transfer: --train-images " + std::to_string(n) + " but the training split has " +
                     std::to_string(split.train.X.size()) + " digits; use --train-images " +
                     std::to_string(split.train.X.size()) + " or fewer (0: all)");
  if (n < kDigitClasses)
    throw InputError("transfer: --train-images " + std::to_string(n) + " is fewer than the " +
                     std::to_string(kDigitClasses) + " classes; use at least " + std::to_string(kDigitClasses));
  split.train.X.resize(n);
  split.train.y.resize(n);
  {
    std::vector<std::size_t> count(kDigitClasses, 0);
    for (double v : split.train.y) ++count[static_cast<std::size_t>(v)];
    for (std::size_t c = 0; c < kDigitClasses; ++c)
      if (count[c] == 0)
        throw InputError("transfer: the first " + std::to_string(n) + " training digits hold no " + std::to_string(c) +
                         "; use a larger --train-images or another --seed");
  }
  rep.train_images = n;
  rep.test_images = split.test.X.size();
  rep.classes = kDigitClasses;

  const auto t = Clock::now();
  const ResNet net = ResNet::load(o.model);
  rep.model = o.model;
  rep.network_depth = net.depth();
  rep.feature_dimension = feature_dimension(net);
  std::vector<std::vector<float>> train_in, test_in;
  for (const auto& row : split.train.X) train_in.push_back(digit_to_resnet_input(row));
  for (const auto& row : split.test.X) test_in.push_back(digit_to_resnet_input(row));
  const DenseMatrix f_train = extract_features(net, train_in), f_test = extract_features(net, test_in);
  rep.seconds_features = seconds_since(t);

  const FeatureScaler z = FeatureScaler::fit(f_train);
  TransferData d;
  d.features = {with_bias_column(z.apply(f_train)), with_bias_column(z.apply(f_test)), split.train.y, split.test.y,
                kDigitClasses};
  d.pixels = {with_bias_column(pixels_over_16(split.train.X)), with_bias_column(pixels_over_16(split.test.X)),
              split.train.y, split.test.y, kDigitClasses};
  return d;
}

TransferReport run_transfer_job(const TransferJobOptions& o, const Progress& progress) {
  const auto t_total = Clock::now();
  if (o.classifiers.empty())
    throw InputError("transfer: no classifier to train; TransferJobOptions::classifiers needs at least one "
                     "(mlr_transfer_classifier())");
  // MLR's iteration count is checked against the chain before the forward passes run.
  if (o.classifiers.front().name == "mlr") {
    const auto ctx = Context::create(o.params);
    resolve_mlr_iterations(ctx->max_level(), mlr_options(o));
  }
  TransferReport rep;
  const TransferData data = prepare_transfer_data(o, rep);
  for (const TransferClassifier& c : o.classifiers) rep.outcomes.push_back(c.train(data, o, progress));

  MlrOptions mo;
  mo.iterations = rep.outcomes.front().iterations;
  const MlrTrace raw = mlr_nag_train(data.pixels.A, data.pixels.y, data.pixels.classes, mo);
  rep.raw_pixels_accuracy = class_accuracy(mlr_predict(data.pixels.A_test, raw.w.back()), data.pixels.y_test);
  rep.raw_pixels_max_sigmoid_input = *std::max_element(raw.max_abs_margin.begin(), raw.max_abs_margin.end());
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

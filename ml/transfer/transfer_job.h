// The `ckks-ml transfer` job: CNN training by transfer learning [Chiang23]. The client extracts
// features of its digits with the frozen Fashion-MNIST ResNet-20 (plaintext,
// ml/transfer/transfer_features.h), encrypts them, and the server trains a classifier on the
// ciphertexts; the key owner decrypts only the trained weights and evaluates them on held-out
// digits. Beside it: the same algorithm in double precision on the same features, and the same
// algorithm in double precision on the raw pixels (pixels / 16) with the same iterations.
//
// Data: scikit-learn's digits (1797), split 80/20 by train_test_split(seed) into 1438 training and
// 359 test digits; the first N training digits train (the seed's setting: N = 128), all test digits
// evaluate. Features are z-scored on those N training digits.
//
// Classifiers plug in as TransferClassifier: a name and a function from the prepared matrices to
// a TransferOutcome. The first (and default) one is the encrypted multiclass logistic regression
// of ml/mlr (mlr_transfer_classifier); the encrypted network of ml/nn (issue 18's nn-train,
// nn_transfer_classifier) is added by appending it to TransferJobOptions::classifiers.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/mlr/mlr_job.h"
#include "ml/nn/nn_job.h"
#include "ml/refresh.h"

namespace ckks::ml {

struct TransferJobOptions;

/// What one classifier trained on the encrypted features reports.
struct TransferOutcome {
  std::string name;                 ///< e.g. "mlr"
  std::string algorithm;            ///< one line for the report
  double accuracy_encrypted = 0;    ///< test accuracy of the decrypted trained weights
  double accuracy_plaintext = 0;    ///< the same algorithm in double precision, same data
  double agreement = 0;             ///< fraction of test digits where the two predict the same class
  double max_weight_error = 0;      ///< max |W_encrypted − W_plaintext|
  double max_sigmoid_input = 0;     ///< max |σ̃ input| of the plaintext run (σ̃ fitted on [−8, 8])
  int iterations = 0, levels_used = 0, bootstraps = 0;
  Params params;
  double log_qp = 0;
  int security_bits = 0;
  std::size_t ciphertexts_uploaded = 0, upload_bytes = 0;  ///< data only (no evaluation keys)
  std::size_t rotation_keys = 0;
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_bootstrap = 0, seconds_decrypt = 0;
};

/// The matrices a classifier trains on: A = [features | 1] (bias last) for the N training digits
/// and the test digits, labels 0 … 9.
struct TransferData {
  MlrMatrices features;  ///< z-scored network features
  MlrMatrices pixels;    ///< the same digits as pixels / 16 (for the raw-pixel baseline)
};

struct TransferClassifier {
  std::string name;
  std::function<TransferOutcome(const TransferData&, const TransferJobOptions&, const Progress&)> train;
};

/// The encrypted multiclass logistic regression of ml/mlr (run_mlr_on_matrices) on the features.
/// Its outcome's iterations are the ones the job reuses for the raw-pixel baseline.
TransferClassifier mlr_transfer_classifier();

/// The network trained on encrypted data of ml/nn (run_nn_on_matrices, `ckks-ml nn-train`'s
/// algorithm and bootstrapping parameters, nn.boot) on the same z-scored features, not centred
/// again. It runs `nn`'s own recipe (hidden units, epochs, η, γ, λ), not the job's --iterations,
/// with the batch capped at the training rows (one batch per epoch at the seed's 128 images); the
/// job's test_seed, if set, replaces nn.test_seed. Outcome: levels_used is the levels one
/// iteration spends between two refreshes (NnServer::levels_needed), max_sigmoid_input the larger
/// visited |Z1|, |Z2| of the twin, upload_bytes 0 (not serialized). Throws what run_nn_on_matrices
/// throws.
TransferClassifier nn_transfer_classifier(NnJobOptions nn);

struct TransferJobOptions {
  std::size_t train_images = 128;  ///< N: first N training digits (0: all 1438)
  int iterations = 2;              ///< NAG iterations (0: as many as the chain allows, at most 4)
  std::uint64_t seed = 1;          ///< train/test shuffle
  double test_fraction = 0.2;
  std::string model;               ///< required: safetensors path of the frozen network (ResNet-20, Fashion-MNIST)
  Params params = Params::preset_n15();  ///< 128-bit
  std::optional<RefreshConfig> refresh;  ///< set: bootstrapped weights (params = bootstrapping ones)
  std::optional<std::uint64_t> test_seed;  ///< INSECURE deterministic keys (tests only)
  bool measure_upload = true;      ///< serialize the uploaded ciphertexts to count their bytes
  std::vector<TransferClassifier> classifiers = {mlr_transfer_classifier()};
};

struct TransferReport {
  std::string model;                  ///< the network's path
  std::size_t network_depth = 0, feature_dimension = 0, classes = 0;
  std::size_t train_images = 0, test_images = 0, available_train_images = 0;
  std::vector<TransferOutcome> outcomes;  ///< one per classifier, in TransferJobOptions order
  double raw_pixels_accuracy = 0;     ///< plaintext MLR on pixels / 16, iterations of outcomes[0]
  double raw_pixels_max_sigmoid_input = 0;
  double seconds_features = 0;        ///< loading the network and the forward passes (N + test images)
  double seconds_total = 0;
};

/// The first n rows of the seeded training split (n = options.train_images, 0: all), the whole test
/// split, features and pixels prepared as in the file comment. Returns the data and sets the
/// report's counts and seconds_features. Throws InputError naming --train-images if n exceeds the
/// training digits or is below the 10 classes, or the first n training digits miss a class;
/// ResNet::load's errors for the model file.
TransferData prepare_transfer_data(const TransferJobOptions& options, TransferReport& report);

/// prepare_transfer_data, then every classifier, then the raw-pixel baseline. Throws what
/// prepare_transfer_data and the classifiers throw (for MLR: LevelError naming --iterations,
/// --params and --bootstrap when the iterations do not fit the chain; InputError if
/// options.classifiers is empty).
TransferReport run_transfer_job(const TransferJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

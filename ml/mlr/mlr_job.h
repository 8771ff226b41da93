// The `ckks-ml mlr` job: loads the data (scikit-learn's digits by default, or a CSV with integer class
// labels 0..C−1), standardises it, plays the data owner (keys, encryption) and the server (training
// without the secret key, ml/mlr/mlr_encrypted.h), decrypts the weights and compares them and their
// test-set accuracy with the plaintext run of the same algorithm (ml/mlr/mlr_plain.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/mlr/mlr_encrypted.h"

namespace ckks::ml {

struct MlrJobOptions {
  std::string data;     ///< empty: scikit-learn's digits.csv.gz; else a CSV with a header row
  std::string target;   ///< label column of `data` (integers 0 … C−1); ignored for digits
  int iterations = 0;   ///< 0: as many as the chain allows, at most 4 (kBootstrapIterations with refresh)
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  int sigmoid_degree = 3;
  std::size_t max_rows = 0;  ///< 0: all rows; else only the first max_rows rows of the data set
  Params params = Params::preset_n15();
  /// Set: train past one chain, refreshing the weights by bootstrapping (ml/refresh.h); `params`
  /// must then be bootstrapping parameters (e.g. bootstrap_preset_n16_sparse_secret().params).
  std::optional<RefreshConfig> refresh;
  std::optional<std::uint64_t> test_seed;  ///< INSECURE deterministic keys (tests only)
  /// Prefix of error messages (the command that runs the job: "mlr", "transfer", …).
  std::string command = "mlr";
  /// Set: serialize every uploaded ciphertext (ckks/serialize.h) to count MlrReport::upload_bytes.
  bool measure_upload = false;
};

struct MlrReport {
  std::string dataset, scaling;
  std::size_t train_rows = 0, test_rows = 0, features = 0, classes = 0;
  MlrLayout layout;
  int iterations = 0, levels_per_iteration = 0, levels_used = 0, rotation_keys = 0;
  Params params;
  double log_qp = 0;
  int security_bits = 0;
  double accuracy_plaintext = 0, accuracy_encrypted = 0;  ///< held-out test rows
  double agreement = 0;  ///< fraction of test rows where encrypted and plaintext predictions agree
  double max_weight_error = 0;  ///< max |W_encrypted − W_plaintext|
  double max_abs_margin = 0;    ///< max |A V_tᵀ| over the iterations (σ̃'s inputs), plaintext run
  DenseMatrix weights_plaintext, weights_encrypted;
  RefreshReport refresh;  ///< bootstraps, their seconds and the packing (enabled = false without)
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0, seconds_total = 0;
  /// Ciphertexts the data owner sends to the server: K·(2G + 1) (X, XB and Y of the layout).
  std::size_t ciphertexts_uploaded = 0;
  /// Their serialized size in bytes (ckks::serialize, seeded where possible); 0 unless
  /// MlrJobOptions::measure_upload. Evaluation keys are not counted.
  std::size_t upload_bytes = 0;
};

/// Training data the caller has already prepared: A = [X | 1] and A_test (bias column last, the
/// same D columns), integer labels 0 … classes−1 (every class in y).
struct MlrMatrices {
  DenseMatrix A, A_test;
  std::vector<double> y, y_test;
  std::size_t classes = 0;
};

/// Loads the data (digits: pixels / 16; a CSV: features standardised on the training split),
/// splits it, trains in plaintext and on encrypted data, and evaluates both on the test rows.
/// Throws InputError for bad data or labels (not integers 0 … C−1, or a class missing from the
/// training split), ParameterError / LevelError when the data or the iteration count do not fit
/// the parameters (before any key is generated).
MlrReport run_mlr_job(const MlrJobOptions& options, const Progress& progress = {});

/// The iteration count a run uses: options.iterations, or (0) as many as a chain of max_level
/// levels allows, at most 4 (kBootstrapIterations with options.refresh). Throws LevelError when
/// they do not fit the chain without options.refresh, naming --iterations, --params and
/// --bootstrap (prefixed by options.command).
int resolve_mlr_iterations(int max_level, const MlrJobOptions& options);

/// The job's second half on prepared matrices (run_mlr_job calls it after loading and scaling; the
/// transfer-learning job, ml/transfer/transfer_job.h, after feature extraction): plaintext run,
/// keys, encryption, training on ciphertexts, decryption, evaluation on A_test. options.data,
/// target, seed, test_fraction and max_rows are not used; dataset, scaling and features of the
/// report are left for the caller (features is set to D − 1).
/// Throws InputError for bad shapes or labels (check_class_labels), LevelError when the iterations
/// do not fit the chain without options.refresh (the message names --iterations, --params and
/// --bootstrap), ParameterError when a block does not fit the slots; all before any key exists.
MlrReport run_mlr_on_matrices(const MlrMatrices& data, const MlrJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

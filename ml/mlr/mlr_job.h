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
};

/// Loads the data (digits: pixels / 16; a CSV: features standardised on the training split),
/// splits it, trains in plaintext and on encrypted data, and evaluates both on the test rows.
/// Throws InputError for bad data or labels (not integers 0 … C−1, or a class missing from the
/// training split), ParameterError / LevelError when the data or the iteration count do not fit
/// the parameters (before any key is generated).
MlrReport run_mlr_job(const MlrJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

// The `ckks-ml logreg` job: loads the data (scikit-learn's breast cancer by default, or a CSV with
// 0/1 labels), standardises it, plays the data owner (keys, encryption) and the server (training
// without the secret key, ml/logreg/logreg_encrypted.h), decrypts the weights and compares them and
// their test-set accuracy and AUC with the plaintext run of the same algorithm
// (ml/logreg/logreg_plain.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/logreg/logreg_encrypted.h"

namespace ckks::ml {

struct LogregJobOptions {
  std::string data;           ///< empty: scikit-learn's breast_cancer.csv; else a CSV with a header row
  std::string target;         ///< target column of `data` (0/1 labels); ignored for breast cancer
  int iterations = 0;         ///< 0: as many as the chain allows, at most 4 (kBootstrapIterations with refresh)
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  int sigmoid_degree = 3;
  std::size_t max_train_rows = 0;  ///< 0: all; else keep only the first rows of the training split
  Params params = Params::preset_n15();
  /// Set: train past one chain, refreshing the weights by bootstrapping (ml/refresh.h); `params`
  /// must then be bootstrapping parameters (e.g. bootstrap_preset_n16_sparse_secret().params).
  std::optional<RefreshConfig> refresh;
};

struct LogregMetrics {
  double accuracy = 0, auc = 0;
};

struct LogregReport {
  std::string dataset;
  std::size_t train_rows = 0, test_rows = 0, features = 0;
  int iterations = 0, levels_per_iteration = 0, levels_used = 0;
  Params params;
  double log_qp = 0;
  int security_bits = 0;
  LogregMetrics plaintext, encrypted;  ///< held-out test rows
  std::vector<double> weights_plaintext, weights_encrypted;
  double max_weight_error = 0;
  double max_abs_margin = 0;  ///< max |A v_t| over the iterations (σ̃'s inputs), plaintext run
  RefreshReport refresh;  ///< bootstraps, their seconds and the packing (enabled = false without)
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0, seconds_total = 0;
};

/// Throws InputError for bad data or labels other than 0/1, ParameterError / LevelError when the
/// data or the iteration count do not fit the parameters.
LogregReport run_logreg_job(const LogregJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

// The `ckks-ml linreg` job as a library function: data owner, server and evaluation in one call,
// so that the command, the tests and the benchmarks run exactly the same code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/linreg/linreg_encrypted.h"

namespace ckks::ml {

struct LinregJobOptions {
  std::string data;           ///< CSV path with a header row
  std::string target;         ///< target column name
  int iterations = 0;         ///< 0: min(16, L − 2)
  std::uint64_t seed = 1;     ///< train/test shuffle seed
  double test_fraction = 0.2;
  Params params = Params::preset_n15();
};

struct LinregMetrics {
  double rmse = 0, r2 = 0;
};

struct LinregReport {
  std::size_t train_rows = 0, test_rows = 0, features = 0;
  int iterations = 0, levels_used = 0;
  Params params;
  int dnum = 0;
  double log_qp = 0;
  int security_bits = 0;
  std::size_t galois_keys = 0;
  LinregMetrics encrypted, plaintext, closed_form;  ///< on the held-out test rows, original units
  std::vector<double> weights_encrypted, weights_plaintext;
  double max_weight_error = 0;   ///< max_j |w_encrypted − w_plaintext| (standardised units)
  double decrypted_constant = 0; ///< the augmented coordinate, ≈ 1
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0, seconds_total = 0;
};

/// Load, split (seeded), standardise on the training rows, generate keys, encrypt, train on
/// ciphertexts (SfhServer), decrypt, and evaluate beside the plaintext SFH run of the same
/// iteration count and the closed-form solution. Progress goes to `progress` (may be empty).
/// Throws InputError for bad data (from read_csv / select_target / split / standardise),
/// ParameterError / LevelError when the data or the iteration count do not fit the parameters.
LinregReport run_linreg_job(const LinregJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

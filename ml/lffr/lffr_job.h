// The `ckks-ml lffr` job as a library function (data owner, server and evaluation in one call), so
// that the command, the tests and the benchmarks run the same code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/lffr/lffr_encrypted.h"
#include "ml/linreg/linreg_job.h"

namespace ckks::ml {

struct LffrJobOptions {
  std::string data;            ///< CSV path with a header row, or kLinnerudKeyword
  std::string target;          ///< one or several comma-separated target columns (parse_target_list)
  int iterations = 0;          ///< 0: as many as the chain allows (LffrServer::max_iterations), at most 16
  int sigmoid_degree = 7;      ///< degree of the sigmoid polynomial (odd, 3 … 31)
  std::uint64_t seed = 1;      ///< train/test shuffle seed
  double test_fraction = 0.2;
  Params params = Params::preset_n15();
};

/// One target's results; metrics on the held-out rows in the target's ORIGINAL units (RMSE; R² is
/// unit-free), predictions mapped back by TargetScaling::from_unit.
struct LffrOutput {
  std::string name;
  TargetScaling scaling;
  LinregMetrics encrypted;      ///< encrypted training, exact σ at prediction
  LinregMetrics plaintext;      ///< the same algorithm in double (same polynomial, same K)
  LinregMetrics exact_sigmoid;  ///< the same K steps with the exact σ
  LinregMetrics converged;      ///< the exact-σ iteration run to kConvergedIterations: the loss's minimiser
  std::vector<double> weights_encrypted, weights_plaintext;  ///< w (standardised features)
  double max_weight_error = 0;  ///< max_j |w_encrypted − w_plaintext|
};

struct LffrReport {
  static constexpr int kConvergedIterations = 1000;
  std::size_t train_rows = 0, test_rows = 0, features = 0;
  int iterations = 0, levels_used = 0, sigmoid_degree = 0;
  double z_min = 0, z_max = 0;          ///< the interval σ was evaluated on (plaintext twin, all outputs)
  double radius = 0;                    ///< R: the polynomial approximates σ on [−R, R]
  double sigmoid_max_error = 0;         ///< max |p − σ| on [−R, R]
  Params params;
  int dnum = 0;
  double log_qp = 0;
  int security_bits = 0;
  std::size_t galois_keys = 0;
  std::vector<LffrOutput> outputs;
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0, seconds_total = 0;
};

/// Load and split (seeded); normalise each target into (0, 1) on the training rows (TargetScaling)
/// and standardise the features; measure the interval z = A w visits in the exact-σ run of K steps,
/// choose R (lffr_radius_for; widened while the polynomial twin leaves [−R, R]) and the sigmoid
/// polynomial; encrypt one data set for all targets, train on ciphertexts (LffrServer), decrypt;
/// evaluate beside the plaintext twin, the exact-σ run and the converged fit.
/// Throws InputError for bad data or targets (load_regression_split, a constant target naming
/// --target, Standardizer::fit), a sigmoid degree outside 3 … 31 or even (naming --sigmoid-degree);
/// LevelError (naming --iterations / --params) or ParameterError when it does not fit the parameters.
LffrReport run_lffr_job(const LffrJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

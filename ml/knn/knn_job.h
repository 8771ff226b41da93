// The whole `ckks-ml knn` job in one call: load and prepare the data, run the plaintext KNN and
// one or both encrypted modes of ml/knn/knn_encrypted.h, and compare them.
//
// Data. Regressor: Boston Housing (python3-sklearn's boston_house_prices.csv, target MEDV) or a
// user CSV; seeded 80/20 split, features standardised with the training split's statistics
// (ml/data/dataset.h Standardizer), targets in their own units; references = the first R training
// rows, queries = the first Q test rows. Classifier: a Fashion-MNIST subset (references = the first
// R training images, queries = the first Q test images) in pixel units 0..255 — NOT standardised:
// KNN on raw pixels is the usual setting, and per-pixel z-scores would divide by zero on the
// always-black border pixels of a subset; integer pixels also make every squared distance an
// integer, which the decrypted-distance mode uses to round exactly — or a user CSV with integer
// class labels (standardised like the regressor).
// Mode 1 runs all Q queries against all R references; mode 2 runs the first `rank_queries` queries
// against the first `rank_references` references, and the plaintext KNN on that same subset is its
// reference.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/knn/knn_plain.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress

namespace ckks::ml {

struct KnnJobOptions {
  KnnTask task = KnnTask::Regress;
  bool run_decrypt = true;    ///< mode 1
  bool run_encrypted = true;  ///< mode 2
  std::size_t k = 5;
  std::string data;           ///< empty: Boston (Regress) or Fashion-MNIST (Classify)
  std::string target;         ///< target column of `data`
  std::string fmnist_dir;     ///< empty: Debian's /usr/share/datasets/fashion-mnist
  std::size_t queries = 0;     ///< mode 1 queries; 0: all test rows (CSV) or 300 (Fashion-MNIST)
  std::size_t references = 0;  ///< mode 1 references; 0: all training rows (CSV) or 1000 (Fashion-MNIST)
  std::size_t rank_references = 32;  ///< mode 2: n (power of two in [4, 64], n² ≥ features)
  std::size_t rank_queries = 0;      ///< mode 2 queries; 0: one ciphertext's worth (N/2 / n²), at most the test rows
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  Params params = Params::preset_n14();         ///< mode 1 ring
  std::optional<Params> rank_params;            ///< mode 2 ring; empty: knn_ranking_params()
  int compositions_distance = 4, compositions_rank = 2;  ///< mode 2 polynomials (KnnRankOptions)
  std::uint64_t test_seed = 0;         ///< tests: deterministic INSECURE keys when ≠ 0
};

/// Metrics of one set of predictions against the true targets: accuracy (Classify) or rmse and r2
/// (Regress), in the target's units.
struct KnnMetrics {
  double accuracy = 0, rmse = 0, r2 = 0;
};

struct KnnParamsReport {
  Params params;
  double log_qp = 0;
  int security_bits = 0;
};

struct KnnDecryptReport {
  bool ran = false;
  std::size_t queries = 0, references = 0;
  KnnMetrics plaintext, encrypted;
  double agreement = 0;            ///< fraction of queries whose prediction equals the plaintext one
  double neighbours_identical = 0; ///< fraction with exactly the plaintext neighbour list (order included)
  double max_distance_error = 0;   ///< max |D_decrypted − D_plaintext| (data units, before rounding)
  double distance_error_bits = 0;  ///< −log2(max_distance_error / max D)
  double min_boundary_gap = 0;     ///< min over queries of D_(k+1) − D_(k) (plaintext): the margin the bar needs
  bool rounded = false;            ///< integer data: decrypted distances rounded to integers
  KnnParamsReport params;
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_distances = 0, seconds_decrypt = 0;
  double samples_per_second = 0;   ///< queries / (encrypt + distances + decrypt)
};

struct KnnRankReport {
  bool ran = false;
  std::size_t queries = 0, references = 0, batches = 0;
  KnnMetrics plaintext, encrypted;  ///< plaintext = KNN on the same n references
  double agreement = 0;             ///< Classify: same class; Regress: |Δ| ≤ tolerance
  double tolerance = 0;             ///< Regress: 1% of the training targets' standard deviation
  double max_prediction_error = 0;  ///< max |encrypted − plaintext| prediction
  double beta = 0;                  ///< the server's distance bound (data units)
  int levels_used = 0, compositions_distance = 0, compositions_rank = 0, rotation_keys = 0;
  KnnParamsReport params;
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_predict = 0, seconds_decrypt = 0;
  double samples_per_second = 0;
};

struct KnnReport {
  std::string dataset, target;
  KnnTask task = KnnTask::Regress;
  std::size_t k = 0, features = 0, train_rows = 0, test_rows = 0;
  KnnDecryptReport decrypt;
  KnnRankReport rank;
  double seconds_total = 0;
};

/// Runs the job. Throws InputError for bad data (missing column, non-integer labels for
/// Classify, wrong shapes), k = 0 or k > the reference count, bad counts; ParameterError /
/// LevelError when the parameters cannot hold the circuit (naming the numbers and the fix).
KnnReport run_knn_job(const KnnJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

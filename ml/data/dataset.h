// Supervised-learning datasets: choosing the target column, the train/test split, and
// standardisation (z-scores) fitted on the training set only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ml/data/csv.h"

namespace ckks::ml {

/// n samples with d features and one real target: X is n rows of d doubles (X[i][j] is sample i,
/// feature j, named feature_names[j]); y[i] is the target of sample i, a column named target_name.
struct Dataset {
  std::vector<std::string> feature_names;
  std::string target_name;
  std::vector<std::vector<double>> X;  // rows
  std::vector<double> y;
};

/// Splits a table into features and target: the column named `target` becomes y, every other
/// column (in table order) a feature.
/// Preconditions: `t` is rectangular with ≥1 row (as read_csv returns), finite values.
/// Throws ckks::InputError if `target` is not a column (the message lists the available
/// columns), if no feature column remains (a one-column table), or if `t` is malformed (no rows,
/// a row whose length differs from the number of columns, a non-finite value).
Dataset select_target(const Table& t, const std::string& target);

/// The two halves of a train_test_split.
struct Split {
  Dataset train, test;
};

/// Random train/test split: shuffles the row indices with a Fisher–Yates shuffle driven by
/// std::mt19937_64(seed), then the first round(test_fraction·n) shuffled rows form `test` and the
/// remaining rows form `train`, both in shuffled order. Every row lands in exactly one half.
///
/// Deterministic for a given (n, test_fraction, seed) on every platform: the bounded draws are
/// done by rejection sampling on the raw 64-bit output of mt19937_64 (whose sequence the C++
/// standard fixes), not by std::uniform_int_distribution (whose algorithm is unspecified).
/// Shuffling data is NOT a cryptographic operation, so a non-cryptographic, seedable generator
/// is the right tool here; never use it for keys or encryption randomness (see ckks::math::Csprng).
///
/// Throws ckks::InputError if test_fraction is not a finite number strictly between 0 and 1, if
/// either half would be empty (round(test_fraction·n) is 0 or n), or if `ds` is malformed
/// (X and y of different lengths, rows of a length other than feature_names.size()).
Split train_test_split(const Dataset& ds, double test_fraction, std::uint64_t seed);

/// Per-feature and target standardisation (z-scores): x' = (x − mean) / stddev, computed from the
/// TRAINING set only (so no information leaks from the test set) and then applied to any split.
/// stddev is the population standard deviation (divide by n, as numpy.std and
/// sklearn.preprocessing.StandardScaler do).
struct Standardizer {
  std::vector<double> mean, stddev;  // one per feature
  double y_mean = 0.0, y_std = 1.0;

  /// Fits means and population standard deviations of every feature and of y on `train`.
  /// Throws ckks::InputError if `train` has fewer than 2 rows, is malformed, or has a constant
  /// feature (stddev 0: the message names the column and asks to drop it) or a constant target,
  /// or a value beyond 1e150 in magnitude (its square would overflow the variance; the message
  /// names the column, the row and the value).
  static Standardizer fit(const Dataset& train);

  /// Returns a copy of `ds` with X[i][j] ← (X[i][j] − mean[j]) / stddev[j] and
  /// y[i] ← (y[i] − y_mean) / y_std. Names are kept.
  /// Throws ckks::InputError if `ds` has a different number of features than the fitted set or
  /// is malformed.
  Dataset apply(const Dataset& ds) const;

  /// Maps a standardised target (e.g. a prediction) back to original units: v·y_std + y_mean.
  double unscale_y(double v) const;
};

}  // namespace ckks::ml

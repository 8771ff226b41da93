// Target selection, seeded train/test split and train-set standardisation. See dataset.h.
#include "ml/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstddef>
#include <limits>
#include <random>
#include <utility>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// Shortest-ish human-readable form of a double for messages (std::to_string prints "0.000000"
// for 1e-9).
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string join_quoted(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (j != 0) out += ", ";
    out += in_quotes(names[j]);
  }
  return out;
}

// Shape and finiteness checks shared by every function taking a Dataset.
void check_dataset(const Dataset& ds, const char* op) {
  const std::string who = op;
  if (ds.X.size() != ds.y.size()) {
    throw InputError(who + ": X has " + std::to_string(ds.X.size()) + " rows but y has " +
                     std::to_string(ds.y.size()) + " values; they must have one per sample");
  }
  const std::size_t d = ds.feature_names.size();
  for (std::size_t i = 0; i < ds.X.size(); ++i) {
    if (ds.X[i].size() != d) {
      throw InputError(who + ": row " + std::to_string(i + 1) + " of X has " +
                       std::to_string(ds.X[i].size()) + " values but there are " +
                       std::to_string(d) + " feature names; every row needs one per feature");
    }
    for (std::size_t j = 0; j < d; ++j) {
      if (!std::isfinite(ds.X[i][j])) {
        throw InputError(who + ": row " + std::to_string(i + 1) + ", feature " +
                         in_quotes(ds.feature_names[j]) + " is not finite; drop or impute it");
      }
    }
    if (!std::isfinite(ds.y[i])) {
      throw InputError(who + ": row " + std::to_string(i + 1) + ", target " +
                       in_quotes(ds.target_name) + " is not finite; drop or impute it");
    }
  }
}

// Uniform integer in [0, bound] from raw mt19937_64 output by rejection sampling: draws falling
// in the incomplete last block of size (2^64 mod (bound+1)) are rejected, so there is no modulo
// bias. Spelled out (rather than std::uniform_int_distribution) so the result is identical on
// every standard library.
std::uint64_t uniform_upto(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t range = bound + 1;  // bound < 2^64 - 1 here (it is a row index)
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              std::numeric_limits<std::uint64_t>::max() % range;
  std::uint64_t x = 0;
  do {
    x = rng();
  } while (x >= limit);
  return x % range;
}

Dataset subset(const Dataset& ds, const std::vector<std::size_t>& idx, std::size_t from,
               std::size_t to) {
  Dataset out;
  out.feature_names = ds.feature_names;
  out.target_name = ds.target_name;
  out.X.reserve(to - from);
  out.y.reserve(to - from);
  for (std::size_t k = from; k < to; ++k) {
    out.X.push_back(ds.X[idx[k]]);
    out.y.push_back(ds.y[idx[k]]);
  }
  return out;
}

}  // namespace

Dataset select_target(const Table& t, const std::string& target) {
  if (t.rows.empty()) {
    throw InputError("select_target: the table has no rows; read a file with at least one data row");
  }
  std::size_t target_col = t.columns.size();
  for (std::size_t j = 0; j < t.columns.size(); ++j) {
    if (t.columns[j] == target) {
      target_col = j;
      break;
    }
  }
  if (target_col == t.columns.size()) {
    throw InputError("select_target: no column named " + in_quotes(target) +
                     "; available columns: " + join_quoted(t.columns) +
                     " (names are case-sensitive)");
  }
  if (t.columns.size() < 2) {
    throw InputError("select_target: the table has only the target column " + in_quotes(target) +
                     "; at least one feature column is needed");
  }
  Dataset ds;
  ds.target_name = target;
  for (std::size_t j = 0; j < t.columns.size(); ++j) {
    if (j != target_col) ds.feature_names.push_back(t.columns[j]);
  }
  ds.X.reserve(t.rows.size());
  ds.y.reserve(t.rows.size());
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    if (row.size() != t.columns.size()) {
      throw InputError("select_target: row " + std::to_string(i + 1) + " has " +
                       std::to_string(row.size()) + " values but the table has " +
                       std::to_string(t.columns.size()) + " columns; every row needs one per column");
    }
    std::vector<double> x;
    x.reserve(row.size() - 1);
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (!std::isfinite(row[j])) {
        throw InputError("select_target: row " + std::to_string(i + 1) + ", column " +
                         in_quotes(t.columns[j]) + " is not finite; drop or impute it");
      }
      if (j != target_col) x.push_back(row[j]);
    }
    ds.X.push_back(std::move(x));
    ds.y.push_back(row[target_col]);
  }
  return ds;
}

Split train_test_split(const Dataset& ds, double test_fraction, std::uint64_t seed) {
  check_dataset(ds, "train_test_split");
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {  // also rejects NaN
    throw InputError("train_test_split: test_fraction is " + num(test_fraction) +
                     "; it must lie strictly between 0 and 1 (e.g. 0.2)");
  }
  const std::size_t n = ds.y.size();
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  if (n_test == 0 || n_test >= n) {
    throw InputError("train_test_split: " + std::to_string(n) + " rows with test_fraction " +
                     num(test_fraction) + " give a test set of " +
                     std::to_string(n_test) + " and a train set of " +
                     std::to_string(n - std::min(n_test, n)) +
                     " rows; both must be non-empty, so use more rows or another fraction");
  }
  // Fisher–Yates (Durstenfeld): for i = n−1 … 1 swap idx[i] with idx[j], j uniform in [0, i].
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  for (std::size_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(uniform_upto(rng, i));
    std::swap(idx[i], idx[j]);
  }
  return Split{subset(ds, idx, n_test, n), subset(ds, idx, 0, n_test)};
}

Standardizer Standardizer::fit(const Dataset& train) {
  check_dataset(train, "Standardizer::fit");
  const std::size_t n = train.y.size();
  if (n < 2) {
    throw InputError("Standardizer::fit: the training set has " + std::to_string(n) +
                     " row(s); at least 2 are needed to estimate a standard deviation");
  }
  const std::size_t d = train.feature_names.size();
  // Squared deviations must stay finite: a value beyond 1e150 would make the variance overflow to
  // infinity and every standardised value 0 or NaN (a silent wrong result).
  constexpr double kLargest = 1e150;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j)
      if (std::fabs(train.X[i][j]) > kLargest)
        throw InputError("Standardizer::fit: feature " + in_quotes(train.feature_names[j]) + " holds " +
                         num(train.X[i][j]) + " in training row " + std::to_string(i) +
                         "; values beyond 1e150 in magnitude overflow its variance. Express the column in "
                         "other units (divide it by a power of ten) or drop that row");
    if (std::fabs(train.y[i]) > kLargest)
      throw InputError("Standardizer::fit: the target " + in_quotes(train.target_name) + " holds " + num(train.y[i]) +
                       " in training row " + std::to_string(i) +
                       "; values beyond 1e150 in magnitude overflow its variance. Express the target in other "
                       "units (divide it by a power of ten) or drop that row");
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  Standardizer s;
  s.mean.assign(d, 0.0);
  s.stddev.assign(d, 0.0);
  // Two passes (mean, then squared deviations): numerically safer than E[x²] − E[x]².
  for (const auto& row : train.X) {
    for (std::size_t j = 0; j < d; ++j) s.mean[j] += row[j];
  }
  for (std::size_t j = 0; j < d; ++j) s.mean[j] *= inv_n;
  for (const auto& row : train.X) {
    for (std::size_t j = 0; j < d; ++j) {
      const double dev = row[j] - s.mean[j];
      s.stddev[j] += dev * dev;
    }
  }
  for (std::size_t j = 0; j < d; ++j) {
    s.stddev[j] = std::sqrt(s.stddev[j] * inv_n);
    if (!(s.stddev[j] > 0.0)) {
      throw InputError("Standardizer::fit: feature " + in_quotes(train.feature_names[j]) +
                       " is constant on the training set (every value is " +
                       num(train.X[0][j]) +
                       "), so it cannot be standardised and carries no information; drop that "
                       "column");
    }
  }
  double ym = 0.0;
  for (double v : train.y) ym += v;
  ym *= inv_n;
  double yv = 0.0;
  for (double v : train.y) yv += (v - ym) * (v - ym);
  s.y_mean = ym;
  s.y_std = std::sqrt(yv * inv_n);
  if (!(s.y_std > 0.0)) {
    throw InputError("Standardizer::fit: the target " + in_quotes(train.target_name) +
                     " is constant on the training set (every value is " +
                     num(train.y[0]) + "); there is nothing to learn, pick another "
                     "target or more data");
  }
  return s;
}

Dataset Standardizer::apply(const Dataset& ds) const {
  check_dataset(ds, "Standardizer::apply");
  const std::size_t d = mean.size();
  if (stddev.size() != d) {
    throw InputError("Standardizer::apply: the standardizer has " + std::to_string(d) +
                     " means but " + std::to_string(stddev.size()) +
                     " standard deviations; build it with Standardizer::fit");
  }
  if (ds.feature_names.size() != d) {
    throw InputError("Standardizer::apply: the dataset has " +
                     std::to_string(ds.feature_names.size()) + " features but the standardizer "
                     "was fitted on " + std::to_string(d) + "; apply it to the same columns");
  }
  Dataset out = ds;
  for (auto& row : out.X) {
    for (std::size_t j = 0; j < d; ++j) row[j] = (row[j] - mean[j]) / stddev[j];
  }
  for (double& v : out.y) v = (v - y_mean) / y_std;
  return out;
}

double Standardizer::unscale_y(double v) const { return v * y_std + y_mean; }

}  // namespace ckks::ml

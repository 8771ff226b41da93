// The `ckks-ml linreg` job as a library function: data owner, server and evaluation in one call,
// so that the command, the tests and the benchmarks run exactly the same code. Also the data loading
// the regression jobs share (linreg here, LFFR in ml/lffr/lffr_job.h): one or several target columns
// of a CSV file, of Boston Housing or of scikit-learn's linnerud.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/params.h"
#include "ml/data/dataset.h"
#include "ml/linreg/linreg_encrypted.h"

namespace ckks::ml {

/// The keyword `--data linnerud` stands for scikit-learn's linnerud (read_sklearn_linnerud).
inline constexpr const char* kLinnerudKeyword = "linnerud";

/// One train/test split per target, all over the same rows and the same feature columns.
struct RegressionSplit {
  std::vector<std::string> targets;  ///< target names, in the order given
  std::vector<Split> splits;         ///< splits[k]: every non-target column a feature, y = targets[k]
};

/// Parses a comma-separated target list ("Weight,Waist,Pulse"; spaces around names are trimmed).
/// An empty list means the data set's default: all three physiological columns for linnerud, MEDV
/// for Boston Housing (data = sklearn_data("boston_house_prices.csv")).
/// Throws InputError, naming the flag --target, for an empty name, a name given twice, or an empty
/// list with any other data set.
std::vector<std::string> parse_target_list(const std::string& list, const std::string& data, const std::string& op);

/// Reads `data` (a CSV path for read_csv, or kLinnerudKeyword), takes the columns of the
/// comma-separated `target_list` (parse_target_list) as targets and every other column as a
/// feature, and splits the rows with
/// train_test_split(test_fraction, seed) (the same rows for every target: the split depends only
/// on the row count, the fraction and the seed).
/// Throws InputError (naming --data / --target) when the file cannot be read or a cell is not
/// numeric (read_csv's message names the column), the list is malformed (parse_target_list), a
/// target is not a column (the message lists the columns), no feature column remains, or the
/// split is empty.
RegressionSplit load_regression_split(const std::string& data, const std::string& target_list, double test_fraction,
                                      std::uint64_t seed, const std::string& op);

/// Copies into a job's report (LinregReport, LffrReport) what it states about the parameters:
/// `params`, `dnum`, `log_qp` and `security_bits` of `ctx`. No errors.
template <typename Report>
void record_parameters(Report& rep, const Params& params, const Context& ctx) {
  rep.params = params;
  rep.dnum = static_cast<int>(ctx.dnum());
  rep.log_qp = ctx.log_qp();
  rep.security_bits = ctx.security_bits();
}

struct LinregJobOptions {
  std::string data;           ///< CSV path with a header row, or kLinnerudKeyword
  std::string target;         ///< target column name, or several separated by commas (parse_target_list)
  int iterations = 0;         ///< 0: min(16, L − 2)
  double ridge = 0.0;         ///< ridge parameter λ ≥ 0 on the standardised data (0: least squares)
  std::uint64_t seed = 1;     ///< train/test shuffle seed
  double test_fraction = 0.2;
  Params params = Params::preset_n15();
};

struct LinregMetrics {
  double rmse = 0, r2 = 0;
};

/// One target's results.
struct LinregOutput {
  std::string name;
  LinregMetrics encrypted, plaintext, closed_form;  ///< on the held-out test rows, original units
  std::vector<double> weights_encrypted, weights_plaintext, weights_closed_form;  ///< standardised units
  double max_weight_error = 0;    ///< max_j |w_encrypted − w_plaintext| (standardised units)
  double decrypted_constant = 0;  ///< the augmented coordinate, ≈ 1
};

struct LinregReport {
  std::size_t train_rows = 0, test_rows = 0, features = 0;
  int iterations = 0, levels_used = 0;
  double ridge = 0.0;
  Params params;
  int dnum = 0;
  double log_qp = 0;
  int security_bits = 0;
  std::size_t galois_keys = 0;
  std::vector<LinregOutput> outputs;  ///< one per target, in --target order
  /// The first target's figures (the only target's, with one), as before several outputs existed.
  LinregMetrics encrypted, plaintext, closed_form;
  std::vector<double> weights_encrypted, weights_plaintext;
  double max_weight_error = 0;   ///< max over the outputs of their max_weight_error
  double decrypted_constant = 0; ///< the first output's augmented coordinate, ≈ 1
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0, seconds_total = 0;
};

/// Load, split (seeded), standardise features and each target on the training rows, generate keys,
/// encrypt ONE data set holding every target, train all outputs on ciphertexts
/// (SfhServer::train_outputs, ridge when options.ridge > 0), decrypt, and evaluate each output
/// beside the plaintext SFH run of the same iteration count and λ (sfh_train) and the closed-form
/// solution (ridge_closed_form). Metrics in original target units (RMSE) or unit-free (R²).
/// Progress goes to `progress` (may be empty).
/// Throws InputError for bad data or targets (load_regression_split, Standardizer::fit: a constant
/// target), a ridge λ that is negative or not finite (naming --ridge); ParameterError / LevelError
/// when the data or the iteration count do not fit the parameters.
LinregReport run_linreg_job(const LinregJobOptions& options, const Progress& progress = {});

}  // namespace ckks::ml

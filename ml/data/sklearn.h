// Loading scikit-learn's bundled classification CSVs (sklearn/datasets/data/breast_cancer.csv,
// iris.csv, wine_data.csv), which have NO header row.
//
// Format (as written by scikit-learn and read by sklearn.datasets._base.load_csv_data):
//   line 1: metadata "n_samples,n_features,class_name_0,class_name_1,…" — e.g.
//           "569,30,malignant,benign" for breast_cancer.csv;
//   then n_samples rows of n_features numbers followed by the integer class label in
//   {0, …, n_classes − 1} (the index into the class names).
// read_csv (ml/data/csv.h) cannot read these files: it needs a header row of names and its
// sklearn special case only covers metadata lines followed by a header (boston_house_prices.csv).
// So this loader tokenises with libcsv as csv.cpp does (one physical line at a time, which also
// gives exact line numbers: these files hold no quoted multi-line fields), and validates the
// cells itself. digits.csv.gz has a different format (gzip, no metadata line) and its own loader,
// read_sklearn_digits, below.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "ml/data/csv.h"
#include "ml/data/dataset.h"

namespace ckks::ml {

struct SklearnClassification {
  std::size_t declared_samples = 0;   ///< first metadata field
  std::size_t declared_features = 0;  ///< second metadata field
  std::vector<std::string> class_names;  ///< remaining metadata fields (may be empty)
  /// Features named "feature_0" … "feature_{d−1}" (the CSV carries no names), target "target",
  /// y[i] the integer class label as a double.
  Dataset data;
};

/// Reads a header-less scikit-learn classification CSV (format above).
/// Throws ckks::InputError, naming the file, the line and the offending text, when: the file is
/// missing, a directory or empty; the metadata line does not start with two positive integers; a
/// row has a number of cells other than n_features + 1; a cell is empty, not a number or not
/// finite; a label is not an integer in [0, n_classes) (n_classes = number of class names, when
/// any are given); the number of rows differs from the declared n_samples.
/// Example: read_sklearn_csv: /x/breast_cancer.csv line 5: 31 cells, expected 30 features + 1 label
SklearnClassification read_sklearn_csv(const std::string& path);

/// The pixel range of scikit-learn's digits: every pixel is an integer count in [0, 16].
inline constexpr double kDigitsMaxPixel = 16.0;

/// Directory where Debian's python3-sklearn installs scikit-learn's bundled data files
/// (boston_house_prices.csv, breast_cancer.csv, digits.csv.gz, iris.csv, …).
inline constexpr const char* kSklearnDataDir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

/// The path of one of those files: kSklearnDataDir + "/" + file. No errors (nothing is opened).
inline std::string sklearn_data(const std::string& file) { return std::string(kSklearnDataDir) + "/" + file; }

/// Reads scikit-learn's bundled handwritten digits, sklearn/datasets/data/digits.csv.gz (the file
/// sklearn.datasets.load_digits reads: 1797 samples of 8×8 images, 10 classes).
/// Format: gzip-compressed (zlib's gz* reader also accepts the same text uncompressed), NO metadata
/// and NO header line; each line holds 64 pixel values — integers in [0, 16], row-major 8×8 — then
/// the digit 0 … 9. Blank lines are skipped.
/// Returns a Dataset with features "pixel_<row>_<col>" (as scikit-learn names them), target
/// "digit", y the digit as a double. Pixels are returned unscaled (divide by kDigitsMaxPixel for
/// [0, 1]).
/// Throws ckks::InputError, naming the file, the line and the offending text, when: the file is
/// missing, a directory, not readable or a corrupt gzip stream; a line does not have 65 cells; a
/// pixel is not an integer in [0, 16]; a label is not an integer in [0, 9]; there are no rows.
/// Example: read_sklearn_digits: /x/digits.csv.gz line 3, column 65: label "12" is not a digit 0 … 9
Dataset read_sklearn_digits(const std::string& path);

/// Reads scikit-learn's linnerud data set (the files sklearn.datasets.load_linnerud reads) from
/// `dir`: linnerud_exercise.csv (the features Chins, Situps, Jumps) and linnerud_physiological.csv
/// (the targets Weight, Waist, Pulse), 20 rows each. Format of both: a header line of names, then
/// rows of numbers, cells separated by runs of spaces (not commas). Returns one Table of the 6
/// columns, exercise columns first, row i of both files joined into row i.
/// Throws ckks::InputError, naming the file and the line, when a file is missing or unreadable, a
/// row's cell count differs from its header's, a cell is not a finite number, the files have no
/// rows or different row counts.
/// Example: read_sklearn_linnerud: /x/linnerud_exercise.csv line 4: "6x" is not a number
Table read_sklearn_linnerud(const std::string& dir = kSklearnDataDir);

}  // namespace ckks::ml

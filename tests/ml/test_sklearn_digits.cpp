// read_sklearn_digits (ml/data/sklearn.h): scikit-learn's bundled digits.csv.gz, and small bad
// files written by the test (plain text, which zlib's reader passes through, and gzip).
#include <doctest/doctest.h>
#include <zlib.h>

#include <array>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/sklearn.h"
#include "temp_dir.h"

using namespace ckks;

namespace {
const std::string kDigits = ckks::ml::sklearn_data("digits.csv.gz");

// A valid digits line: 64 pixels then the label.
std::string line(int label, int pixel = 3) {
  std::string s;
  for (int j = 0; j < 64; ++j) s += std::to_string(j == 10 ? pixel : 0) + ",";
  return s + std::to_string(label) + "\n";
}

std::string error_of(const std::string& path) {
  try {
    ml::read_sklearn_digits(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string write_gz(const test_util::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string p = (dir.dir / name).string();
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  gzclose(f);
  return p;
}
}  // namespace

TEST_CASE("ml/sklearn digits: the bundled digits.csv.gz is 1797 × 64 with the known class counts") {
  const ml::Dataset ds = ml::read_sklearn_digits(kDigits);
  REQUIRE(ds.X.size() == 1797);
  REQUIRE(ds.y.size() == 1797);
  REQUIRE(ds.feature_names.size() == 64);
  CHECK(ds.feature_names[0] == "pixel_0_0");
  CHECK(ds.feature_names[63] == "pixel_7_7");
  CHECK(ds.target_name == "digit");
  // First row as stored in the file: 0,0,5,13,9,1,0,0, … label 0.
  const std::array<double, 8> first = {0, 0, 5, 13, 9, 1, 0, 0};
  for (std::size_t j = 0; j < 8; ++j) CHECK(ds.X[0][j] == first[j]);
  CHECK(ds.y[0] == 0.0);
  std::array<int, 10> counts{};
  double max_pixel = 0;
  for (std::size_t i = 0; i < ds.X.size(); ++i) {
    REQUIRE(ds.X[i].size() == 64);
    for (double v : ds.X[i]) max_pixel = std::max(max_pixel, v);
    ++counts[static_cast<std::size_t>(ds.y[i])];
  }
  // The class sizes scikit-learn's load_digits reports for this file.
  const std::array<int, 10> expected = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
  CHECK(counts == expected);
  CHECK(max_pixel == ml::kDigitsMaxPixel);
}

TEST_CASE("ml/sklearn digits: gzip and plain text both read; bad files give the line and the fix") {
  test_util::TempDir dir("ckks_digits");
  const ml::Dataset ok = ml::read_sklearn_digits(write_gz(dir, "ok.csv.gz", line(7, 16) + "\n" + line(0)));
  REQUIRE(ok.X.size() == 2);  // the blank line is skipped
  CHECK(ok.X[0][10] == 16);
  CHECK(ok.y[0] == 7);
  CHECK(ok.y[1] == 0);
  CHECK(ml::read_sklearn_digits(dir.write("plain.csv", line(1))).y == std::vector<double>{1});

  CHECK(error_of(dir.write("short.csv", line(1) + "1,2,3\n")).find("line 2: 3 cells, expected 64 pixels + 1 label") !=
        std::string::npos);
  CHECK(error_of(dir.write("pix.csv", line(1, 17))).find("line 1, column 11: pixel \"17\" is not an integer in [0, 16]") !=
        std::string::npos);
  CHECK(error_of(dir.write("frac.csv", line(1, 0) + line(2, -1))).find("line 2, column 11: pixel \"-1\"") !=
        std::string::npos);
  CHECK(error_of(write_gz(dir, "label.csv.gz", line(10))).find("line 1, column 65: label \"10\" is not a digit 0 … 9") !=
        std::string::npos);
  std::string half = line(1);
  half.replace(half.rfind(",1"), 2, ",2.5");
  CHECK(error_of(dir.write("half.csv", half)).find("label \"2.5\"") != std::string::npos);
  CHECK(error_of(dir.write("empty.csv", "")).find("holds no data rows") != std::string::npos);
  CHECK(error_of((dir.dir / "missing.csv.gz").string()).find("does not exist") != std::string::npos);
  CHECK(error_of(dir.dir.string()).find("is a directory") != std::string::npos);
  // A gzip header followed by bytes that are not a deflate stream.
  const std::vector<unsigned char> corrupt = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xff, 0xff, 0xff, 0xff, 0x00, 0x12};
  CHECK(error_of(dir.write("corrupt.csv.gz", corrupt)).find("not a readable gzip file") != std::string::npos);
}

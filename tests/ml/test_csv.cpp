// Tests for ml/data/csv.cpp: read_csv on small files written to a temporary directory, every
// rejection path (checking the message names line and column), and scikit-learn's Boston CSV.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/csv.h"
#include "ml/data/sklearn.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::read_csv;
using ckks::ml::Table;

namespace {

// A fresh directory under the system temp dir, removed with its contents on destruction.
using test_util::TempDir;

// The message of the InputError that read_csv(path) throws (fails the test if none is thrown).
std::string error_of(const std::string& path) {
  try {
    (void)read_csv(path);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("read_csv(" << path << ") did not throw InputError");
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ml/read_csv: well-formed file, quoting, CRLF and number syntax") {
  TempDir tmp;
  const std::string path = tmp.write(
      "good.csv",
      "\"a\",b,\"c, with comma\"\r\n"
      "1,2.5,-3\r\n"
      "\n"  // blank lines are skipped
      "0.1,1e-3,+7\r\n"
      "\"4\", 5 ,6");  // quoted number, spaces trimmed, no final newline
  const Table t = read_csv(path);
  REQUIRE(t.columns == std::vector<std::string>{"a", "b", "c, with comma"});
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0] == std::vector<double>{1.0, 2.5, -3.0});
  CHECK(t.rows[1] == std::vector<double>{0.1, 1e-3, 7.0});  // from_chars is correctly rounded
  CHECK(t.rows[2] == std::vector<double>{4.0, 5.0, 6.0});
}

TEST_CASE("ml/read_csv: ragged row names the line and both counts") {
  TempDir tmp;
  const auto msg = error_of(tmp.write("ragged.csv", "x,y,z\n1,2,3\n4,5\n"));
  CHECK(contains(msg, "line 3"));
  CHECK(contains(msg, "2 cells"));
  CHECK(contains(msg, "3 columns"));
  const auto msg2 = error_of(tmp.write("long.csv", "x,y\n1,2\n3,4\n5,6,7\n"));
  CHECK(contains(msg2, "line 4"));
}

TEST_CASE("ml/read_csv: non-numeric, empty, NaN/inf, trailing garbage and out-of-range cells") {
  TempDir tmp;
  SUBCASE("abc") {
    const std::string path = tmp.write("abc.csv", "CRIM,RM\n1,2\n3,4\n5,abc\n");
    const auto msg = error_of(path);
    CHECK(msg == "read_csv: " + path +
                     " line 4, column \"RM\": \"abc\" is not a number; every cell must be numeric");
  }
  SUBCASE("empty cell") {
    const auto msg = error_of(tmp.write("empty.csv", "p,q,r\n1,,3\n"));
    CHECK(contains(msg, "line 2, column \"q\""));
    CHECK(contains(msg, "empty cell"));
  }
  SUBCASE("quoted empty cell") {
    const auto msg = error_of(tmp.write("qempty.csv", "p,q\n1,\"\"\n"));
    CHECK(contains(msg, "line 2, column \"q\""));
    CHECK(contains(msg, "empty cell"));
  }
  SUBCASE("NaN text") {
    const auto msg = error_of(tmp.write("nan.csv", "p,q\n1,2\nNaN,3\n"));
    CHECK(contains(msg, "line 3, column \"p\""));
    CHECK(contains(msg, "\"NaN\" is not finite"));
  }
  SUBCASE("inf text") {
    const auto msg = error_of(tmp.write("inf.csv", "p,q\n1,-inf\n"));
    CHECK(contains(msg, "line 2, column \"q\""));
    CHECK(contains(msg, "not finite"));
  }
  SUBCASE("trailing garbage") {
    const auto msg = error_of(tmp.write("garbage.csv", "p,q\n1,2.5x\n"));
    CHECK(contains(msg, "line 2, column \"q\": \"2.5x\" is not a number"));
  }
  SUBCASE("hex is not accepted") {
    CHECK(contains(error_of(tmp.write("hex.csv", "p\n0x10\n")), "\"0x10\" is not a number"));
  }
  SUBCASE("out of range") {
    const auto msg = error_of(tmp.write("big.csv", "p,q\n1,1e400\n"));
    CHECK(contains(msg, "line 2, column \"q\""));
    CHECK(contains(msg, "outside the range"));
  }
}

TEST_CASE("ml/read_csv: missing file, empty file, header only, bad header, bad quoting") {
  TempDir tmp;
  SUBCASE("missing file") {
    const std::string path = (tmp.dir / "does_not_exist.csv").string();
    const auto msg = error_of(path);
    CHECK(contains(msg, "cannot open \"" + path + "\""));
    CHECK(contains(msg, "No such file"));
  }
  SUBCASE("directory") { CHECK(contains(error_of(tmp.dir.string()), "is a directory")); }
  SUBCASE("empty file") { CHECK(contains(error_of(tmp.write("e.csv", "")), "is empty")); }
  SUBCASE("header only") {
    const auto msg = error_of(tmp.write("h.csv", "a,b,c\n"));
    CHECK(contains(msg, "no data rows"));
  }
  SUBCASE("duplicate column") {
    const auto msg = error_of(tmp.write("dup.csv", "a,b,a\n1,2,3\n"));
    CHECK(contains(msg, "line 1"));
    CHECK(contains(msg, "\"a\" appears twice (columns 1 and 3)"));
  }
  SUBCASE("empty column name") {
    CHECK(contains(error_of(tmp.write("noname.csv", "a,,c\n1,2,3\n")), "column 2 has an empty name"));
  }
  SUBCASE("no header (first line all numbers)") {
    CHECK(contains(error_of(tmp.write("nohdr.csv", "1,2\n3,4\n")), "no header"));
  }
  SUBCASE("stray quote") {
    const auto msg = error_of(tmp.write("quote.csv", "a,b\n1,2\n3,4\"5\n"));
    CHECK(contains(msg, "line 3"));
    CHECK(contains(msg, "malformed CSV"));
  }
  SUBCASE("unterminated quote") {
    CHECK(contains(error_of(tmp.write("open.csv", "a,b\n1,\"2\n")), "unterminated"));
  }
}

TEST_CASE("ml/read_csv: scikit-learn metadata line is detected, skipped and checked") {
  TempDir tmp;
  SUBCASE("accepted") {
    const Table t = read_csv(tmp.write("sk.csv", "2,1,\n\"F\",\"T\"\n1,2\n3,4\n"));
    CHECK(t.columns == std::vector<std::string>{"F", "T"});
    CHECK(t.rows == std::vector<std::vector<double>>{{1, 2}, {3, 4}});
  }
  SUBCASE("line numbers count the metadata line") {
    const auto msg = error_of(tmp.write("sk_cell.csv", "2,1,\nF,T\n1,2\n3,x\n"));
    CHECK(contains(msg, "line 4, column \"T\": \"x\" is not a number"));
  }
  SUBCASE("declared count disagrees") {
    const auto msg = error_of(tmp.write("sk_bad.csv", "3,1,\nF,T\n1,2\n3,4\n"));
    CHECK(contains(msg, "line 1"));
    CHECK(contains(msg, "declares 3 samples but the file has 2 data rows"));
  }
  SUBCASE("an integer header line followed by data is an ordinary (all-numeric) header") {
    CHECK(contains(error_of(tmp.write("ints.csv", "2,1\n1,2\n")), "no header"));
  }
}

TEST_CASE("ml/read_csv: scikit-learn's Boston house prices") {
  const std::string path = ckks::ml::sklearn_data("boston_house_prices.csv");
  const Table t = read_csv(path);
  REQUIRE(t.columns.size() == 14);
  CHECK(t.columns == std::vector<std::string>{"CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE",
                                              "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
                                              "MEDV"});
  REQUIRE(t.rows.size() == 506);
  CHECK(t.rows.front() == std::vector<double>{0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1,
                                              296, 15.3, 396.9, 4.98, 24});
  CHECK(t.rows.back() == std::vector<double>{0.04741, 0, 11.93, 0, 0.573, 6.03, 80.8, 2.505, 1,
                                             273, 21, 396.9, 7.88, 11.9});
  for (const auto& row : t.rows) CHECK(row.size() == 14);
}

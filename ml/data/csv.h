// Reading numeric tables from CSV files (RFC 4180 syntax, parsed by libcsv).
//
// The ML layer only ever needs "a header of column names, then rows of numbers", so read_csv
// accepts exactly that and rejects everything else with an InputError naming the file, the line,
// the column and the offending text. Tokenising (quotes, embedded commas, CRLF) is libcsv's job;
// this file adds the numeric validation and the scikit-learn metadata-line special case.
#pragma once
#include <string>
#include <vector>

namespace ckks::ml {

/// A rectangular numeric table: `columns.size()` names, and `rows.size()` rows of exactly
/// `columns.size()` finite doubles each (row-major: rows[i][j] is row i, column j).
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};

/// Reads a numeric CSV file with a header line.
///
/// Format:
///  * The first record is the header: one non-empty, unique name per column. Names may be
///    quoted ("CRIM"). A header whose cells are all numbers is rejected (the file probably has no
///    header, and its first sample would silently become column names).
///  * Every further record is a data row with exactly as many cells as the header. Each cell must
///    parse completely as a finite double: "1", "-2.5", "3e-4", "+7" are accepted; empty cells,
///    "abc", "1.5x", "NaN", "inf", "0x1p3" and values outside the double range are rejected.
///    Quoted numbers ("2.5") are accepted; libcsv trims unquoted spaces/tabs around a cell.
///  * At least one data row. Blank lines are ignored (libcsv skips them); LF and CRLF line ends
///    are both accepted; a UTF-8 byte-order mark at the start of the file is ignored.
///
/// Special case — scikit-learn's bundled CSVs: files such as
/// sklearn/datasets/data/boston_house_prices.csv begin with a metadata line holding the sample
/// and feature counts, e.g. `506,13,,,,,,,,,,,,`, followed by the real (quoted) header
/// `"CRIM","ZN",...,"MEDV"`. A first line is treated as such a metadata line when it consists of
/// one or more non-negative decimal integers followed only by empty fields AND the next line is
/// non-numeric (some cell is not a number, i.e. it is a header). The metadata line is then
/// skipped, the next line is the header, and the first integer (the declared sample count) must
/// equal the number of data rows read; the remaining integers are not checked.
///
/// Line numbers in messages are 1-based physical lines of the file, counting the metadata line
/// and blank lines (a record is reported at the line where its first cell ends, which is where it
/// starts unless that cell is a quoted multi-line one).
///
/// Throws ckks::InputError when: the path is missing, a directory or unreadable; the file is
/// empty; the CSV syntax is malformed (e.g. a stray quote, an unterminated quoted field); the
/// header has an empty or a duplicate name, or is all numbers; a row has the wrong number of
/// cells; a cell is empty, non-numeric, non-finite or out of range; there is no data row; the
/// sklearn metadata count disagrees with the row count. Example message:
///   read_csv: /x/y.csv line 7, column "RM": "abc" is not a number; every cell must be numeric
Table read_csv(const std::string& path);

}  // namespace ckks::ml

// read_csv: libcsv tokenises, this file validates. See csv.h for the accepted format.
//
// libcsv is a push parser: csv_parse() is fed bytes and calls back once per field (on_field) and
// once per record (on_record). It knows nothing about line numbers, so the file is fed one
// physical line at a time and the callbacks stamp each record with the line being fed.
#include "ml/data/csv.h"

#include <csv.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <system_error>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

// One CSV record and the 1-based line on which its first field ended (= where it starts, unless
// that very field is a quoted multi-line one).
struct Record {
  std::vector<std::string> cells;
  std::size_t line = 0;
};

struct ParseState {
  std::vector<Record> records;
  Record current;
  std::size_t line = 1;        // line currently being fed to csv_parse
  std::exception_ptr failure;  // exceptions must not unwind through libcsv's C frames
};

extern "C" void on_field(void* data, std::size_t len, void* user) {
  auto* st = static_cast<ParseState*>(user);
  try {
    if (st->current.cells.empty()) st->current.line = st->line;
    if (len == 0 || data == nullptr) {
      st->current.cells.emplace_back();
    } else {
      st->current.cells.emplace_back(static_cast<const char*>(data), len);
    }
  } catch (...) {
    if (!st->failure) st->failure = std::current_exception();
  }
}

extern "C" void on_record(int /*terminator*/, void* user) {
  auto* st = static_cast<ParseState*>(user);
  try {
    st->records.push_back(std::move(st->current));
    st->current = Record{};
  } catch (...) {
    if (!st->failure) st->failure = std::current_exception();
  }
}

// RAII owner of a csv_parser (csv_free releases its buffer on every path, including throws).
class Parser {
 public:
  explicit Parser(unsigned char options) {
    if (csv_init(&p_, options) != 0) throw std::bad_alloc();
  }
  ~Parser() { csv_free(&p_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  csv_parser* get() { return &p_; }

 private:
  csv_parser p_{};
};

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

std::string where(const std::string& path, std::size_t line) {
  return "read_csv: " + path + " line " + std::to_string(line);
}

std::string where(const std::string& path, std::size_t line, const std::string& column) {
  return where(path, line) + ", column " + in_quotes(column);
}

// Tokenises the whole file into records. Throws InputError on unreadable files and bad syntax.
std::vector<Record> tokenize(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError("read_csv: " + in_quotes(path) + " is a directory; pass the path of a CSV file");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string reason = err != 0 ? std::string(" (") + std::strerror(err) + ")" : "";
    throw InputError("read_csv: cannot open " + in_quotes(path) + reason +
                     "; check the path and the file's permissions");
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw InputError("read_csv: error while reading " + in_quotes(path) + "; check the file");
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // UTF-8 byte-order mark

  // CSV_STRICT: a quote inside an unquoted field or after a closing quote is an error rather
  // than silently kept. CSV_STRICT_FINI: an unterminated quoted field at end of file is an error.
  Parser parser(CSV_STRICT | CSV_STRICT_FINI);
  ParseState st;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::size_t end = (nl == std::string::npos) ? text.size() : nl + 1;
    const std::size_t len = end - pos;
    const std::size_t used = csv_parse(parser.get(), text.data() + pos, len, on_field, on_record, &st);
    if (st.failure) std::rethrow_exception(st.failure);
    if (used != len) {
      throw InputError(where(path, st.line) + ": malformed CSV (" +
                       csv_strerror(csv_error(parser.get())) +
                       "), e.g. a quote inside an unquoted cell; quote the whole cell as \"...\" "
                       "and double any quote inside it");
    }
    pos = end;
    if (nl != std::string::npos) ++st.line;
  }
  if (csv_fini(parser.get(), on_field, on_record, &st) != 0) {
    if (st.failure) std::rethrow_exception(st.failure);
    throw InputError("read_csv: " + path +
                     ": unterminated quoted cell at end of file; close every \" you open");
  }
  if (st.failure) std::rethrow_exception(st.failure);
  return std::move(st.records);
}

enum class CellStatus { kOk, kEmpty, kNotNumber, kNotFinite, kOutOfRange };

// Parses the whole of `s` as a double. std::from_chars is locale-independent, correctly rounded,
// and rejects leading whitespace and hex; a single leading '+' is allowed here by hand.
CellStatus parse_double(std::string_view s, double& out) {
  if (s.empty()) return CellStatus::kEmpty;
  std::string_view digits = s;
  if (digits.front() == '+') {
    digits.remove_prefix(1);
    if (digits.empty() || digits.front() == '-' || digits.front() == '+') {
      return CellStatus::kNotNumber;
    }
  }
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) return CellStatus::kOutOfRange;
  if (ec != std::errc{} || ptr != digits.data() + digits.size()) return CellStatus::kNotNumber;
  if (!std::isfinite(v)) return CellStatus::kNotFinite;  // "nan", "inf", "infinity"
  out = v;
  return CellStatus::kOk;
}

bool is_number(std::string_view s) {
  double ignored = 0.0;
  return parse_double(s, ignored) == CellStatus::kOk;
}

// A non-negative decimal integer such as "506" (what sklearn writes in its metadata line).
std::optional<std::size_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

// The sklearn metadata line: >=1 leading integers, then only empty fields, and the next record is
// not all numbers (so it is a header). Returns the declared sample count if `r0` is one.
std::optional<std::size_t> sklearn_metadata_count(const Record& r0, const Record* r1) {
  if (r1 == nullptr || r0.cells.empty()) return std::nullopt;
  const auto count = parse_count(r0.cells[0]);
  if (!count) return std::nullopt;
  std::size_t j = 1;
  while (j < r0.cells.size() && parse_count(r0.cells[j])) ++j;
  for (; j < r0.cells.size(); ++j) {
    if (!r0.cells[j].empty()) return std::nullopt;
  }
  bool next_is_numeric = true;
  for (const auto& c : r1->cells) next_is_numeric = next_is_numeric && is_number(c);
  if (next_is_numeric) return std::nullopt;
  return count;
}

}  // namespace

Table read_csv(const std::string& path) {
  const std::vector<Record> records = tokenize(path);
  if (records.empty()) {
    throw InputError("read_csv: " + path +
                     " is empty; the first line must be a header of column names");
  }

  std::size_t first = 0;  // index of the header record
  std::optional<std::size_t> declared_rows;
  if (records.size() >= 2) {
    declared_rows = sklearn_metadata_count(records[0], &records[1]);
    if (declared_rows) first = 1;
  }

  // Header.
  const Record& header = records[first];
  Table t;
  t.columns = header.cells;
  bool all_numeric = true;
  for (std::size_t j = 0; j < t.columns.size(); ++j) {
    const std::string& name = t.columns[j];
    if (name.empty()) {
      throw InputError(where(path, header.line) + ": header column " + std::to_string(j + 1) +
                       " has an empty name; give every column a name");
    }
    for (std::size_t k = 0; k < j; ++k) {
      if (t.columns[k] == name) {
        throw InputError(where(path, header.line) + ": column name " + in_quotes(name) +
                         " appears twice (columns " + std::to_string(k + 1) + " and " +
                         std::to_string(j + 1) + "); column names must be unique");
      }
    }
    all_numeric = all_numeric && is_number(name);
  }
  if (all_numeric) {
    throw InputError(where(path, header.line) + ": every header cell is a number (the first is " +
                     in_quotes(header.cells[0]) + "), so the file seems to have no header; add a "
                     "first line naming the columns");
  }

  // Data rows.
  const std::size_t ncols = t.columns.size();
  t.rows.reserve(records.size() - first - 1);
  for (std::size_t i = first + 1; i < records.size(); ++i) {
    const Record& r = records[i];
    if (r.cells.size() != ncols) {
      throw InputError(where(path, r.line) + ": " + std::to_string(r.cells.size()) +
                       " cells but the header (line " + std::to_string(header.line) + ") has " +
                       std::to_string(ncols) + " columns; every row needs one cell per column");
    }
    std::vector<double> row(ncols);
    for (std::size_t j = 0; j < ncols; ++j) {
      const std::string& cell = r.cells[j];
      switch (parse_double(cell, row[j])) {
        case CellStatus::kOk:
          break;
        case CellStatus::kEmpty:
          throw InputError(where(path, r.line, t.columns[j]) +
                           ": empty cell; every cell must hold a number (drop or impute missing "
                           "values first)");
        case CellStatus::kNotNumber:
          throw InputError(where(path, r.line, t.columns[j]) + ": " + in_quotes(cell) +
                           " is not a number; every cell must be numeric");
        case CellStatus::kNotFinite:
          throw InputError(where(path, r.line, t.columns[j]) + ": " + in_quotes(cell) +
                           " is not finite; NaN and infinity are not allowed, drop or impute "
                           "that value");
        case CellStatus::kOutOfRange:
          throw InputError(where(path, r.line, t.columns[j]) + ": " + in_quotes(cell) +
                           " is outside the range of a double; rescale that column");
      }
    }
    t.rows.push_back(std::move(row));
  }
  if (t.rows.empty()) {
    throw InputError("read_csv: " + path + " has a header (line " + std::to_string(header.line) +
                     ") but no data rows; add at least one row of numbers");
  }
  if (declared_rows && *declared_rows != t.rows.size()) {
    throw InputError(where(path, records[0].line) + ": the scikit-learn metadata line declares " +
                     std::to_string(*declared_rows) + " samples but the file has " +
                     std::to_string(t.rows.size()) +
                     " data rows; fix the count or delete the metadata line");
  }
  return t;
}

}  // namespace ckks::ml

// read_sklearn_csv: see sklearn.h. libcsv tokenises each physical line; this file validates.
#include "ml/data/sklearn.h"

#include <csv.h>
#include <zlib.h>

#include <charconv>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <sstream>
#include <system_error>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

struct Cells {
  std::vector<std::string> cells;
  std::exception_ptr failure;  // exceptions must not unwind through libcsv's C frames
};

extern "C" void sk_on_field(void* data, std::size_t len, void* user) {
  auto* c = static_cast<Cells*>(user);
  try {
    c->cells.emplace_back(data ? static_cast<const char*>(data) : "", data ? len : 0);
  } catch (...) {
    if (!c->failure) c->failure = std::current_exception();
  }
}
extern "C" void sk_on_record(int, void*) {}

std::string where(const std::string& path, std::size_t line) {
  return "read_sklearn_csv: " + path + " line " + std::to_string(line);
}

// Tokenises one physical line with libcsv (strict quoting, as csv.cpp).
std::vector<std::string> split_line(const std::string& text, const std::string& path, std::size_t line) {
  csv_parser p{};
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) throw std::bad_alloc();
  Cells c;
  const std::size_t used = csv_parse(&p, text.data(), text.size(), sk_on_field, sk_on_record, &c);
  const bool ok = used == text.size() && csv_fini(&p, sk_on_field, sk_on_record, &c) == 0;
  const std::string err = ok ? "" : csv_strerror(csv_error(&p));
  csv_free(&p);
  if (c.failure) std::rethrow_exception(c.failure);
  if (!ok) throw InputError(where(path, line) + ": malformed CSV (" + err + "); fix the quoting");
  return c.cells;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, out, std::chars_format::general);
  return ec == std::errc() && ptr == e && std::isfinite(out);
}

bool parse_count(const std::string& s, std::size_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && out > 0;
}

}  // namespace

SklearnClassification read_sklearn_csv(const std::string& path) {
  std::error_code fec;
  if (std::filesystem::is_directory(path, fec))
    throw InputError("read_sklearn_csv: \"" + path + "\" is a directory; pass the path of a CSV file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("read_sklearn_csv: cannot open \"" + path + "\"; check the path and permissions");

  SklearnClassification out;
  std::string line;
  std::size_t lineno = 0;
  bool have_meta = false;
  std::size_t n_classes = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    const std::vector<std::string> cells = split_line(line, path, lineno);
    if (!have_meta) {
      if (cells.size() < 2 || !parse_count(cells[0], out.declared_samples) ||
          !parse_count(cells[1], out.declared_features))
        throw InputError(where(path, lineno) + ": metadata line \"" + line +
                         "\" must start with the sample and feature counts (e.g. \"569,30,malignant,benign\"); "
                         "is this a scikit-learn bundled CSV? (files with a header row: use read_csv)");
      for (std::size_t i = 2; i < cells.size(); ++i)
        if (!cells[i].empty()) out.class_names.push_back(cells[i]);
      n_classes = out.class_names.size();
      for (std::size_t j = 0; j < out.declared_features; ++j)
        out.data.feature_names.push_back("feature_" + std::to_string(j));
      out.data.target_name = "target";
      have_meta = true;
      continue;
    }
    const std::size_t d = out.declared_features;
    if (cells.size() != d + 1)
      throw InputError(where(path, lineno) + ": " + std::to_string(cells.size()) + " cells, expected " +
                       std::to_string(d) + " features + 1 label (from the metadata line)");
    std::vector<double> row(d);
    for (std::size_t j = 0; j <= d; ++j) {
      double v = 0;
      if (!parse_double(cells[j], v))
        throw InputError(where(path, lineno) + ", column " + std::to_string(j + 1) + ": \"" + cells[j] +
                         "\" is not a finite number; every cell must be numeric");
      if (j < d) {
        row[j] = v;
      } else {
        if (v != std::floor(v) || v < 0 || (n_classes > 0 && v >= static_cast<double>(n_classes)))
          throw InputError(where(path, lineno) + ": label \"" + cells[j] + "\" is not a class index in [0, " +
                           std::to_string(n_classes) + ")" + "; labels must be integers naming a class");
        out.data.y.push_back(v);
      }
    }
    out.data.X.push_back(std::move(row));
  }
  if (in.bad()) throw InputError("read_sklearn_csv: error while reading \"" + path + "\"");
  if (!have_meta) throw InputError("read_sklearn_csv: \"" + path + "\" is empty; expected a metadata line and data rows");
  if (out.data.X.size() != out.declared_samples)
    throw InputError("read_sklearn_csv: " + path + ": the metadata line declares " +
                     std::to_string(out.declared_samples) + " samples but " + std::to_string(out.data.X.size()) +
                     " data rows were read; the file is truncated or corrupt");
  return out;
}

namespace {

// RAII owner of a gzFile opened for reading (gzread passes uncompressed files through unchanged).
class GzLines {
 public:
  explicit GzLines(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw InputError("read_sklearn_digits: " + path + " does not exist; check the path (Debian's python3-sklearn "
                       "ships it as " + sklearn_data("digits.csv.gz") + ")");
    if (std::filesystem::is_directory(path, ec))
      throw InputError("read_sklearn_digits: " + path + " is a directory; pass the digits.csv.gz file itself");
    f_ = gzopen(path.c_str(), "rb");
    if (f_ == nullptr)
      throw InputError("read_sklearn_digits: cannot open " + path + ": " + std::strerror(errno) +
                       "; check its permissions");
  }
  ~GzLines() {
    if (f_ != nullptr) gzclose_r(f_);
  }
  GzLines(const GzLines&) = delete;
  GzLines& operator=(const GzLines&) = delete;

  // Next physical line without its newline; false at the end of the file. Throws InputError on a
  // corrupt or truncated gzip stream.
  bool next(std::string& line) {
    line.clear();
    char buf[4096];
    for (;;) {
      if (gzgets(f_, buf, sizeof buf) == nullptr) {
        int err = Z_OK;
        const char* msg = gzerror(f_, &err);
        if (err != Z_OK && err != Z_STREAM_END)
          throw InputError("read_sklearn_digits: " + path_ + " is not a readable gzip file (" + msg +
                           "); the file is corrupt or truncated, reinstall python3-sklearn");
        return !line.empty();
      }
      line += buf;
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        return true;
      }
    }
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

// An integer in [lo, hi] written as an integer or as a float with a zero fraction ("3", "3.0").
bool parse_int_in(const std::string& s, int lo, int hi, double& out) {
  double v = 0;
  if (!parse_double(s, v) || v != std::floor(v) || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

Dataset read_sklearn_digits(const std::string& path) {
  constexpr std::size_t kPixels = 64;
  GzLines in(path);
  Dataset out;
  for (std::size_t r = 0; r < 8; ++r)
    for (std::size_t c = 0; c < 8; ++c) out.feature_names.push_back("pixel_" + std::to_string(r) + "_" + std::to_string(c));
  out.target_name = "digit";
  std::string line;
  std::size_t lineno = 0;
  while (in.next(line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::vector<std::string> cells = split_line(line, path, lineno);
    const std::string at = "read_sklearn_digits: " + path + " line " + std::to_string(lineno);
    if (cells.size() != kPixels + 1)
      throw InputError(at + ": " + std::to_string(cells.size()) +
                       " cells, expected 64 pixels + 1 label; is this scikit-learn's digits.csv.gz?");
    std::vector<double> row(kPixels);
    for (std::size_t j = 0; j < kPixels; ++j)
      if (!parse_int_in(cells[j], 0, 16, row[j]))
        throw InputError(at + ", column " + std::to_string(j + 1) + ": pixel \"" + cells[j] +
                         "\" is not an integer in [0, 16]; the file is not scikit-learn's digits data");
    double label = 0;
    if (!parse_int_in(cells[kPixels], 0, 9, label))
      throw InputError(at + ", column 65: label \"" + cells[kPixels] + "\" is not a digit 0 … 9");
    out.X.push_back(std::move(row));
    out.y.push_back(label);
  }
  if (out.X.empty())
    throw InputError("read_sklearn_digits: " + path + " holds no data rows; expected 64 pixels + 1 label per line");
  return out;
}

namespace {

// One whitespace-separated numeric file with a header line (a linnerud half).
Table read_whitespace_table(const std::string& path) {
  const std::string op = "read_sklearn_linnerud: " + path;
  if (std::filesystem::is_directory(path)) throw InputError(op + " is a directory; pass the data directory");
  std::ifstream in(path);
  if (!in) throw InputError(op + " cannot be opened (" + std::strerror(errno) + "); install python3-sklearn");
  Table t;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream cells(line);
    std::vector<std::string> words{std::istream_iterator<std::string>(cells), std::istream_iterator<std::string>()};
    if (words.empty()) continue;
    if (t.columns.empty()) {
      t.columns = std::move(words);
      continue;
    }
    if (words.size() != t.columns.size())
      throw InputError(op + " line " + std::to_string(line_no) + ": " + std::to_string(words.size()) +
                       " cells but the header names " + std::to_string(t.columns.size()) + " columns");
    std::vector<double> row;
    for (const std::string& w : words) {
      double v = 0;
      const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
      if (ec != std::errc() || end != w.data() + w.size() || !std::isfinite(v))
        throw InputError(op + " line " + std::to_string(line_no) + ": \"" + w + "\" is not a number");
      row.push_back(v);
    }
    t.rows.push_back(std::move(row));
  }
  if (t.rows.empty()) throw InputError(op + " has no data rows");
  return t;
}

}  // namespace

Table read_sklearn_linnerud(const std::string& dir) {
  const Table ex = read_whitespace_table(dir + "/linnerud_exercise.csv");
  const Table ph = read_whitespace_table(dir + "/linnerud_physiological.csv");
  if (ex.rows.size() != ph.rows.size())
    throw InputError("read_sklearn_linnerud: " + dir + ": linnerud_exercise.csv has " + std::to_string(ex.rows.size()) +
                     " rows but linnerud_physiological.csv has " + std::to_string(ph.rows.size()) +
                     "; the two halves must have one row per person");
  Table t;
  t.columns = ex.columns;
  t.columns.insert(t.columns.end(), ph.columns.begin(), ph.columns.end());
  for (std::size_t i = 0; i < ex.rows.size(); ++i) {
    std::vector<double> row = ex.rows[i];
    row.insert(row.end(), ph.rows[i].begin(), ph.rows[i].end());
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace ckks::ml

// safetensors reader: nlohmann::json parses the header, this file validates it and decodes the
// little-endian F32/F64 data. See safetensors.h for the format.
#include "ml/data/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

// The reference implementation's limit on the header length; real headers are a few KB to MB.
constexpr std::uint64_t kMaxHeader = 100ull << 20;

std::uint64_t le_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// One header entry, validated, with offsets relative to the byte buffer.
struct Entry {
  std::string name;
  std::size_t elem_size = 0;  // 4 (F32) or 8 (F64)
  std::vector<std::size_t> shape;
  std::uint64_t begin = 0, end = 0;
};

struct Parsed {
  std::vector<unsigned char> bytes;  // the whole file
  std::uint64_t data_start = 0;      // file offset of the byte buffer (8 + N)
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

// The whole file; `where` names the function and the path for the messages.
std::vector<unsigned char> read_bytes(const std::string& where, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw InputError(where + " does not exist; check the path (the project's models are in "
                             "ml/models/)");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(where + " is a directory; pass a .safetensors file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where + " cannot be opened; check its permissions");
  std::vector<unsigned char> bytes;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(where + ": read error");
  return bytes;
}

// The JSON header: checks the 8-byte length N against the file and parses the N bytes after it;
// sets data_start = 8 + N.
nlohmann::json read_header(const std::string& where, const std::vector<unsigned char>& bytes, std::uint64_t& data_start) {
  const std::uint64_t size = bytes.size();
  if (size < 8) {
    throw InputError(where + " is " + std::to_string(size) + " bytes long, shorter than the 8-byte "
                             "header length every safetensors file starts with; it is not a "
                             "safetensors file (or is truncated)");
  }
  const std::uint64_t n = le_u64(bytes.data());
  if (n == 0 || n > kMaxHeader) {
    throw InputError(where + ": header length " + std::to_string(n) + " is " +
                     (n == 0 ? "zero" : "over the 100 MiB limit") +
                     "; the file is not a safetensors file or is corrupt");
  }
  if (n > size - 8) {
    throw InputError(where + ": header length " + std::to_string(n) + " runs past the end of the " +
                     std::to_string(size) + "-byte file; the file is truncated or not a "
                     "safetensors file");
  }
  data_start = 8 + n;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(where + ": the header is not valid JSON (" + e.what() +
                     "); the file is corrupt or not a safetensors file");
  }
  if (!header.is_object()) {
    throw InputError(where + ": the header is JSON of type " + std::string(header.type_name()) +
                     ", not an object of tensors; the file is not a safetensors file");
  }
  return header;
}

// "__metadata__": an object of strings.
void read_metadata(const std::string& where, const nlohmann::json& value, std::map<std::string, std::string>& metadata) {
  if (!value.is_object()) {
    throw InputError(where + ": \"__metadata__\" must be an object of strings, not " +
                     std::string(value.type_name()));
  }
  for (const auto& [k, v] : value.items()) {
    if (!v.is_string()) {
      throw InputError(where + ": \"__metadata__\" value of \"" + k + "\" is " +
                       std::string(v.type_name()) + "; metadata values must be strings");
    }
    metadata[k] = v.get<std::string>();
  }
}

// One tensor entry: dtype F32/F64, shape, data_offsets within the buffer of buffer_size bytes,
// consistent with each other. `tw` names the tensor for the messages.
Entry read_entry(const std::string& tw, const std::string& name, const nlohmann::json& value, std::uint64_t buffer_size) {
  Entry e;
  e.name = name;
  const auto& dtype = value["dtype"];
  if (!dtype.is_string()) throw InputError(tw + ": dtype " + dtype.dump() + " is not a string");
  const std::string dt = dtype.get<std::string>();
  if (dt == "F32") {
    e.elem_size = 4;
  } else if (dt == "F64") {
    e.elem_size = 8;
  } else {
    throw InputError(tw + " has dtype " + dt + "; only F32 and F64 are supported, save it as "
                     "float32 or float64 (e.g. tensor.float() in PyTorch)");
  }
  const auto& shape = value["shape"];
  if (!shape.is_array()) throw InputError(tw + ": shape " + shape.dump() + " is not a list");
  std::uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned()) {
      throw InputError(tw + ": shape " + shape.dump() +
                       " must be a list of non-negative integers");
    }
    const std::uint64_t v = d.get<std::uint64_t>();
    if (v != 0 && numel > std::numeric_limits<std::uint64_t>::max() / v) overflow = true;
    numel = overflow ? 0 : numel * v;
    e.shape.push_back(static_cast<std::size_t>(v));
  }
  const auto& off = value["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned()) {
    throw InputError(tw + ": data_offsets " + off.dump() +
                     " must be [begin, end], two non-negative integers");
  }
  e.begin = off[0].get<std::uint64_t>();
  e.end = off[1].get<std::uint64_t>();
  if (e.begin > e.end) {
    throw InputError(tw + ": data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + "] has begin > end");
  }
  if (e.end > buffer_size) {
    throw InputError(tw + ": data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + "] run past the " + std::to_string(buffer_size) +
                     "-byte data buffer (offsets count from the end of the header); the "
                     "file is truncated or its header is wrong");
  }
  if (overflow || numel > std::numeric_limits<std::uint64_t>::max() / e.elem_size ||
      numel * e.elem_size != e.end - e.begin) {
    throw InputError(tw + ": shape " + shape.dump() + " of " + dt + " needs " +
                     (overflow ? std::string("more than 2^64") :
                                 std::to_string(numel) + " x " + std::to_string(e.elem_size)) +
                     " bytes, but data_offsets span " + std::to_string(e.end - e.begin) +
                     "; the header is inconsistent");
  }
  return e;
}

// The tensors must tile the byte buffer exactly (see the comment in the body).
void check_tiling(const std::string& where, const std::vector<Entry>& entries, std::uint64_t buffer_size) {
  // The tensors must tile the byte buffer exactly: sorted by offset, each begins where the
  // previous one ended, and the last ends at the end of the file.
  std::vector<const Entry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  std::string prev = "the start of the data buffer";
  for (const Entry* e : order) {
    if (e->begin != at) {
      throw InputError(where + ": tensor \"" + e->name + "\" begins at byte " +
                       std::to_string(e->begin) + " but " + prev + " ends at byte " +
                       std::to_string(at) + " (" + (e->begin < at ? "overlap" : "gap") +
                       "); tensors must be stored back to back");
    }
    at = e->end;
    prev = "tensor \"" + e->name + "\"";
  }
  if (at != buffer_size) {
    throw InputError(where + ": the tensors end at byte " + std::to_string(at) +
                     " of the data buffer but the file has " + std::to_string(buffer_size - at) +
                     " more bytes; the file is corrupt or was appended to");
  }
}

// Reads and validates everything but the tensor values. `fn` names the public function.
Parsed parse(const std::string& fn, const std::string& path) {
  const std::string where = fn + ": " + path;
  Parsed p;
  p.bytes = read_bytes(where, path);
  const nlohmann::json header = read_header(where, p.bytes, p.data_start);
  const std::uint64_t buffer_size = p.bytes.size() - p.data_start;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      read_metadata(where, value, p.metadata);
      continue;
    }
    const std::string tw = where + ": tensor \"" + name + "\"";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets")) {
      throw InputError(tw + " must be an object with \"dtype\", \"shape\" and \"data_offsets\", "
                       "got " + value.dump());
    }
    p.entries.push_back(read_entry(tw, name, value, buffer_size));
  }
  check_tiling(where, p.entries, buffer_size);
  return p;
}

}  // namespace

std::size_t Tensor::numel() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string r = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(shape[i]);
  }
  return r + "]";
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  const Parsed p = parse("read_safetensors", path);
  std::map<std::string, Tensor> out;
  for (const Entry& e : p.entries) {
    Tensor t;
    t.shape = e.shape;
    const std::size_t count = (e.end - e.begin) / e.elem_size;
    t.data.resize(count);
    const unsigned char* src = p.bytes.data() + p.data_start + e.begin;
    for (std::size_t i = 0; i < count; ++i, src += e.elem_size) {
      std::uint64_t bits = 0;
      for (std::size_t b = e.elem_size; b-- > 0;) bits = (bits << 8) | src[b];
      const double v = e.elem_size == 4
                           ? static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits)))
                           : std::bit_cast<double>(bits);
      if (!std::isfinite(v)) {
        throw InputError("read_safetensors: " + path + ": tensor \"" + e.name + "\" element " +
                         std::to_string(i) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                         "; the model diverged in training, retrain it");
      }
      t.data[i] = v;
    }
    out.emplace(e.name, std::move(t));
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  return parse("read_safetensors_metadata", path).metadata;
}

}  // namespace ckks::ml

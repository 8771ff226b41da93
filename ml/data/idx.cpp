// IDX reader on top of zlib's gz* file API. See idx.h for the format.
#include "ml/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

constexpr std::uint32_t kImageMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelMagic = 0x00000801;  // unsigned bytes, 1 dimension
// Headers are not trusted for allocation sizes: memory grows only as data is actually read, and
// one image may have at most this many pixels (4096 x 4096), so a corrupt header cannot make the
// reader allocate gigabytes before it finds the file too short.
constexpr std::size_t kMaxPixels = std::size_t{1} << 24;
constexpr std::size_t kChunk = std::size_t{1} << 16;  // labels read per gzread

std::string hex32(std::uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
  return s;
}

// RAII owner of a gzFile. gzread transparently passes through files that are not gzip-compressed.
class GzReader {
 public:
  GzReader(const std::string& fn, const std::string& path) : fn_(fn), path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      throw InputError(fn_ + ": " + path_ + " does not exist; check the path (Fashion-MNIST: " +
                       "apt-get install dataset-fashion-mnist puts it in " +
                       kDebianFashionMnistDir + ")");
    }
    if (std::filesystem::is_directory(path, ec)) {
      throw InputError(fn_ + ": " + path_ + " is a directory; pass the .gz file itself");
    }
    f_ = gzopen(path.c_str(), "rb");
    if (f_ == nullptr) {
      throw InputError(fn_ + ": cannot open " + path_ + ": " + std::strerror(errno) +
                       "; check its permissions");
    }
    gzbuffer(f_, 1 << 17);
  }
  ~GzReader() {
    if (f_ != nullptr) gzclose_r(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads exactly n bytes into dst; `what` names the part being read, for the error message.
  void read_exact(unsigned char* dst, std::size_t n, const std::string& what) {
    std::size_t done = 0;
    while (done < n) {
      const std::size_t chunk = std::min<std::size_t>(n - done, 1u << 30);
      const int got = gzread(f_, dst + done, static_cast<unsigned>(chunk));
      if (got < 0) fail_stream(what);
      if (got == 0) {
        // gzread reports a truncated gzip stream as an error only on some zlib versions; a
        // short read is a truncated file either way.
        int err = Z_OK;
        (void)gzerror(f_, &err);
        if (err != Z_OK && err != Z_BUF_ERROR) fail_stream(what);
        throw InputError(fn_ + ": " + path_ + " is truncated: it ends after " +
                         std::to_string(done) + " of the " + std::to_string(n) + " bytes of " +
                         what + "; the file is incomplete, download or reinstall it again");
      }
      done += static_cast<std::size_t>(got);
    }
  }

  // True if at least one more (decompressed) byte follows.
  bool has_more() {
    unsigned char b = 0;
    const int got = gzread(f_, &b, 1);
    if (got < 0) fail_stream("the end of the data");
    return got > 0;
  }

 private:
  [[noreturn]] void fail_stream(const std::string& what) {
    int err = Z_OK;
    const char* msg = gzerror(f_, &err);
    throw InputError(fn_ + ": " + path_ + ": decompression failed while reading " + what + " (" +
                     (msg != nullptr ? msg : "zlib error") +
                     "); the file is corrupt or truncated, download or reinstall it again");
  }

  std::string fn_, path_;
  gzFile f_ = nullptr;
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// Reads the magic and the dimensions of an IDX file, checking the magic against `expected`.
std::vector<std::uint32_t> read_header(GzReader& in, const std::string& fn, const std::string& path,
                                       std::uint32_t expected, const char* kind) {
  std::array<unsigned char, 4> m{};
  in.read_exact(m.data(), 4, "the magic number");
  const std::uint32_t magic = be32(m.data());
  if (magic != expected) {
    std::string hint;
    if (magic == kImageMagic) hint = " (this is an image file)";
    else if (magic == kLabelMagic) hint = " (this is a label file)";
    else if (m[0] == 0x1f && m[1] == 0x8b) hint = " (a doubly-compressed file: gunzip it once)";
    throw InputError(fn + ": " + path + " has magic number " + hex32(magic) + hint + ", but an " +
                     kind + " file has " + hex32(expected) + "; pass the " + kind + " file");
  }
  const std::size_t ndim = magic & 0xFF;
  std::vector<std::uint32_t> dims(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    in.read_exact(m.data(), 4, "dimension " + std::to_string(i + 1) + " of the header");
    dims[i] = be32(m.data());
  }
  return dims;
}

std::size_t take(std::uint32_t count, std::size_t limit) {
  return limit == 0 ? count : std::min<std::size_t>(count, limit);
}

struct RawImages {
  ImageSet set;
  std::uint32_t declared = 0;
};

RawImages read_images(const std::string& path, std::size_t limit) {
  const std::string fn = "read_idx_images";
  GzReader in(fn, path);
  const auto dims = read_header(in, fn, path, kImageMagic, "image");
  const std::uint32_t count = dims[0];
  if (count == 0 || dims[1] == 0 || dims[2] == 0) {
    throw InputError(fn + ": " + path + " declares " + std::to_string(count) + " images of " +
                     std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                     " pixels; every dimension must be at least 1");
  }
  RawImages r;
  r.declared = count;
  r.set.rows = dims[1];
  r.set.cols = dims[2];
  const std::size_t pixels = r.set.rows * r.set.cols;  // < 2^64: two 32-bit factors
  if (pixels > kMaxPixels) {
    throw InputError(fn + ": " + path + " declares images of " + std::to_string(dims[1]) + "x" +
                     std::to_string(dims[2]) + " pixels, over the " + std::to_string(kMaxPixels) +
                     "-pixel limit; the header is corrupt");
  }
  const std::size_t n = take(count, limit);
  std::vector<unsigned char> buf(pixels);
  r.set.images.reserve(std::min(n, kChunk));
  for (std::size_t i = 0; i < n; ++i) {
    in.read_exact(buf.data(), pixels, "image " + std::to_string(i) + " (of " +
                                          std::to_string(count) + " declared)");
    std::vector<float> img(pixels);
    for (std::size_t k = 0; k < pixels; ++k) img[k] = static_cast<float>(buf[k]) / 255.0f;
    r.set.images.push_back(std::move(img));
  }
  if (n == count && in.has_more()) {
    throw InputError(fn + ": " + path + " has data after the " + std::to_string(count) +
                     " images its header declares; the file is corrupt (or two files were "
                     "concatenated)");
  }
  return r;
}

struct RawLabels {
  std::vector<int> labels;
  std::uint32_t declared = 0;
};

RawLabels read_labels(const std::string& path, std::size_t limit) {
  const std::string fn = "read_idx_labels";
  GzReader in(fn, path);
  const auto dims = read_header(in, fn, path, kLabelMagic, "label");
  const std::uint32_t count = dims[0];
  if (count == 0) {
    throw InputError(fn + ": " + path + " declares 0 labels; a label file needs at least one");
  }
  const std::size_t n = take(count, limit);
  RawLabels r;
  r.declared = count;
  r.labels.reserve(std::min(n, kChunk));
  std::vector<unsigned char> buf(std::min(n, kChunk));
  for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
    const std::size_t m = std::min(kChunk, n - i0);
    in.read_exact(buf.data(), m, "labels " + std::to_string(i0) + ".." + std::to_string(i0 + m - 1) +
                                     " (of " + std::to_string(count) + " declared)");
    for (std::size_t k = 0; k < m; ++k) {
      if (buf[k] > 9) {
        throw InputError(fn + ": " + path + ": label " + std::to_string(i0 + k) + " is " +
                         std::to_string(buf[k]) + ", outside the classes 0..9; this is not a "
                         "(Fashion-)MNIST label file");
      }
      r.labels.push_back(buf[k]);
    }
  }
  if (n == count && in.has_more()) {
    throw InputError(fn + ": " + path + " has data after the " + std::to_string(count) +
                     " labels its header declares; the file is corrupt (or two files were "
                     "concatenated)");
  }
  return r;
}

}  // namespace

ImageSet read_idx_images(const std::string& path, std::size_t limit) {
  return read_images(path, limit).set;
}

std::vector<int> read_idx_labels(const std::string& path, std::size_t limit) {
  return read_labels(path, limit).labels;
}

ImageSet load_fashion_mnist(const std::string& dir, bool train, std::size_t limit) {
  const std::filesystem::path d(dir);
  const std::string prefix = train ? "train" : "t10k";
  const std::string img_path = (d / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string lbl_path = (d / (prefix + "-labels-idx1-ubyte.gz")).string();
  for (const auto& p : {img_path, lbl_path}) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      throw InputError("load_fashion_mnist: " + p + " does not exist; install Debian's copy with "
                       "`apt-get install dataset-fashion-mnist` (it goes to " +
                       kDebianFashionMnistDir + ") or pass the directory holding the four "
                       "IDX .gz files");
    }
  }
  RawImages imgs = read_images(img_path, limit);
  RawLabels lbls = read_labels(lbl_path, limit);
  if (imgs.declared != lbls.declared) {
    throw InputError("load_fashion_mnist: " + img_path + " holds " +
                     std::to_string(imgs.declared) + " images but " + lbl_path + " holds " +
                     std::to_string(lbls.declared) + " labels; the two files must come from the "
                     "same split");
  }
  imgs.set.labels = std::move(lbls.labels);
  return std::move(imgs.set);
}

}  // namespace ckks::ml

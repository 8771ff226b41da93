// Tests for ml/data/idx.cpp: tiny gzipped IDX files written here with zlib (layout, scaling,
// limit), every rejection path, and Debian's Fashion-MNIST test set when it is installed.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/idx.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::ImageSet;
using ckks::ml::load_fashion_mnist;
using ckks::ml::read_idx_images;
using ckks::ml::read_idx_labels;

namespace {

using Bytes = std::vector<unsigned char>;

using test_util::TempDir;

std::string write_gz(const TempDir& tmp, const std::string& name, const Bytes& b) {
  const std::string p = (tmp.dir / name).string();
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!b.empty()) REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
  return p;
}

void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

// An IDX image file: count images of rows×cols, pixel (i, r, c) = (i·31 + r·7 + c) mod 256.
Bytes image_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes b;
  put_be32(b, 0x00000803);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  for (std::uint32_t i = 0; i < count; ++i)
    for (std::uint32_t r = 0; r < rows; ++r)
      for (std::uint32_t c = 0; c < cols; ++c) b.push_back(static_cast<unsigned char>((i * 31 + r * 7 + c) % 256));
  return b;
}

Bytes label_file(const std::vector<unsigned char>& labels) {
  Bytes b;
  put_be32(b, 0x00000801);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError thrown");
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ml/idx: tiny gzipped image and label files round-trip") {
  TempDir tmp;
  const std::string img = write_gz(tmp, "t10k-images-idx3-ubyte.gz", image_file(3, 2, 5));
  write_gz(tmp, "t10k-labels-idx1-ubyte.gz", label_file({7, 0, 9}));

  const ImageSet s = load_fashion_mnist(tmp.dir.string(), /*train=*/false);
  REQUIRE(s.rows == 2);
  REQUIRE(s.cols == 5);
  REQUIRE(s.images.size() == 3);
  CHECK(s.labels == std::vector<int>{7, 0, 9});
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(s.images[i].size() == 10);
    for (std::size_t r = 0; r < 2; ++r)
      for (std::size_t c = 0; c < 5; ++c) {
        const auto byte = static_cast<float>((i * 31 + r * 7 + c) % 256);
        CHECK(s.images[i][r * 5 + c] == byte / 255.0f);  // row-major, scaled exactly so
      }
  }

  const ImageSet two = load_fashion_mnist(tmp.dir.string(), false, 2);
  CHECK(two.images.size() == 2);
  CHECK(two.labels == std::vector<int>{7, 0});
  CHECK(load_fashion_mnist(tmp.dir.string(), false, 99).images.size() == 3);  // limit > count

  // Extremes of the scaling: 0 -> 0, 255 -> 1; an uncompressed file is read as well.
  Bytes ext;
  put_be32(ext, 0x803);
  put_be32(ext, 1);
  put_be32(ext, 1);
  put_be32(ext, 2);
  ext.push_back(0);
  ext.push_back(255);
  const ImageSet e = read_idx_images(tmp.write("plain-idx3-ubyte", ext));
  CHECK(e.images.at(0) == std::vector<float>{0.0f, 1.0f});
  CHECK(read_idx_images(img).images.size() == 3);
  CHECK(read_idx_labels(tmp.write("plain-idx1-ubyte", label_file({1, 2}))) == std::vector<int>{1, 2});
}

TEST_CASE("ml/idx: malformed files are rejected with the file named") {
  TempDir tmp;
  SUBCASE("missing file / directory") {
    const std::string m = error_of([&] { read_idx_images((tmp.dir / "nope.gz").string()); });
    CHECK(contains(m, "nope.gz does not exist"));
    CHECK(contains(error_of([&] { read_idx_images(tmp.dir.string()); }), "is a directory"));
    const std::string d = error_of([&] { load_fashion_mnist((tmp.dir / "none").string(), true); });
    CHECK(contains(d, "train-images-idx3-ubyte.gz does not exist"));
    CHECK(contains(d, "apt-get install dataset-fashion-mnist"));
  }
  SUBCASE("bad magic: a label file passed as images, and vice versa") {
    const std::string lbl = write_gz(tmp, "l.gz", label_file({1, 2}));
    const std::string m = error_of([&] { read_idx_images(lbl); });
    CHECK(contains(m, "l.gz has magic number 0x00000801 (this is a label file)"));
    CHECK(contains(m, "0x00000803"));
    const std::string img = write_gz(tmp, "i.gz", image_file(1, 2, 2));
    CHECK(contains(error_of([&] { read_idx_labels(img); }), "0x00000803 (this is an image file)"));
    Bytes junk = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'};
    CHECK(contains(error_of([&] { read_idx_images(write_gz(tmp, "j.gz", junk)); }), "magic number 0x68656c6c"));
  }
  SUBCASE("zero dimensions, bad labels") {
    CHECK(contains(error_of([&] { read_idx_images(write_gz(tmp, "z.gz", image_file(2, 0, 3))); }),
                   "at least 1"));
    CHECK(contains(error_of([&] { read_idx_labels(write_gz(tmp, "z.gz", label_file({}))); }), "0 labels"));
    // A corrupt header cannot make the reader allocate gigabytes.
    Bytes big;
    put_be32(big, 0x803);
    put_be32(big, 0xFFFFFFFF);
    put_be32(big, 0xFFFFFFFF);
    put_be32(big, 0xFFFFFFFF);
    CHECK(contains(error_of([&] { read_idx_images(write_gz(tmp, "big.gz", big)); }), "-pixel limit"));
    Bytes many;
    put_be32(many, 0x801);
    put_be32(many, 0xFFFFFFFF);
    many.push_back(1);
    CHECK(contains(error_of([&] { read_idx_labels(write_gz(tmp, "many.gz", many)); }), "is truncated"));
    CHECK(contains(error_of([&] { read_idx_labels(write_gz(tmp, "b.gz", label_file({3, 12}))); }),
                   "label 1 is 12"));
  }
  SUBCASE("truncated header, truncated data, trailing data") {
    Bytes b = image_file(3, 2, 2);
    const Bytes head(b.begin(), b.begin() + 10);
    CHECK(contains(error_of([&] { read_idx_images(write_gz(tmp, "h.gz", head)); }), "is truncated"));
    Bytes shortb(b.begin(), b.end() - 2);
    const std::string m = error_of([&] { read_idx_images(write_gz(tmp, "s.gz", shortb)); });
    CHECK(contains(m, "s.gz is truncated"));
    CHECK(contains(m, "image 2"));
    CHECK(read_idx_images(write_gz(tmp, "s.gz", shortb), 2).images.size() == 2);  // the complete ones
    b.push_back(0);
    CHECK(contains(error_of([&] { read_idx_images(write_gz(tmp, "t.gz", b)); }), "has data after the 3 images"));
    Bytes lb = label_file({1, 2, 3});
    lb.pop_back();
    CHECK(contains(error_of([&] { read_idx_labels(write_gz(tmp, "lt.gz", lb)); }), "is truncated"));
  }
  SUBCASE("a gzip stream cut in the middle") {
    const std::string full = write_gz(tmp, "full.gz", image_file(50, 28, 28));
    std::ifstream in(full, std::ios::binary);
    Bytes gzbytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzbytes.resize(gzbytes.size() / 2);
    const std::string m = error_of([&] { read_idx_images(tmp.write("cut.gz", gzbytes)); });
    CHECK(contains(m, "cut.gz"));
    CHECK((contains(m, "truncated") || contains(m, "corrupt")));
  }
  SUBCASE("image and label counts differ") {
    write_gz(tmp, "train-images-idx3-ubyte.gz", image_file(3, 2, 2));
    write_gz(tmp, "train-labels-idx1-ubyte.gz", label_file({1, 2}));
    const std::string m = error_of([&] { load_fashion_mnist(tmp.dir.string(), true); });
    CHECK(contains(m, "holds 3 images but"));
    CHECK(contains(m, "holds 2 labels"));
  }
}

TEST_CASE("ml/idx: Debian's Fashion-MNIST test set") {
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  if (!fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: " << dir << " missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  const ImageSet s = load_fashion_mnist(dir, /*train=*/false);
  CHECK(s.rows == 28);
  CHECK(s.cols == 28);
  REQUIRE(s.images.size() == 10000);
  REQUIRE(s.labels.size() == 10000);
  std::vector<int> per_class(10, 0);
  for (int l : s.labels) {
    REQUIRE((l >= 0 && l <= 9));
    ++per_class[static_cast<std::size_t>(l)];
  }
  CHECK(per_class == std::vector<int>(10, 1000));  // the test set is balanced
  float lo = 1.0f, hi = 0.0f;
  for (const auto& img : s.images) {
    REQUIRE(img.size() == 784);
    for (float p : img) {
      lo = std::min(lo, p);
      hi = std::max(hi, p);
    }
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
  CHECK(s.labels[0] == 9);  // the first test image is an ankle boot
}

// Tests for ml/data/safetensors.cpp: small files written here byte by byte (F32, F64, scalars,
// metadata, header padding), every rejection path, and the committed model file's header.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/safetensors.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::read_safetensors;
using ckks::ml::read_safetensors_metadata;
using ckks::ml::Tensor;

namespace {

using Bytes = std::vector<unsigned char>;

using test_util::TempDir;

void put_le(Bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void put_f32(Bytes& b, float f) { put_le(b, std::bit_cast<std::uint32_t>(f), 4); }
void put_f64(Bytes& b, double d) { put_le(b, std::bit_cast<std::uint64_t>(d), 8); }

// A safetensors file: u64 LE header length, the header text, then `data`.
Bytes file(const std::string& header, const Bytes& data) {
  Bytes b;
  put_le(b, header.size(), 8);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The data of the well-formed file below: w = [[1, -2.5, 3], [0.1, 5, 6]] (F32), s = 0.125 (F64).
Bytes good_data() {
  Bytes d;
  for (float f : {1.0f, -2.5f, 3.0f, 0.1f, 5.0f, 6.0f}) put_f32(d, f);
  put_f64(d, 0.125);
  return d;
}
const std::string kGoodHeader =
    R"({"__metadata__":{"format":"pt","note":"test"},)"
    R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
    R"("s":{"dtype":"F64","shape":[],"data_offsets":[24,32]}}    )";  // space padding is allowed

std::string error_of(const std::string& path) {
  try {
    (void)read_safetensors(path);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("read_safetensors(" << path << ") did not throw InputError");
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The message for a file with the given header and data.
std::string error_for(const TempDir& tmp, const std::string& header, const Bytes& data) {
  return error_of(tmp.write("bad.safetensors", file(header, data)));
}

}  // namespace

TEST_CASE("ml/safetensors: F32, F64, scalar and metadata round-trip") {
  TempDir tmp;
  const std::string p = tmp.write("good.safetensors", file(kGoodHeader, good_data()));
  const auto t = read_safetensors(p);
  REQUIRE(t.size() == 2);  // __metadata__ is not a tensor
  const Tensor& w = t.at("w");
  CHECK(w.shape == std::vector<std::size_t>{2, 3});
  CHECK(w.numel() == 6);
  // F32 values are widened exactly: 0.1f, not 0.1.
  CHECK(w.data == std::vector<double>{1.0, -2.5, 3.0, static_cast<double>(0.1f), 5.0, 6.0});
  const Tensor& s = t.at("s");
  CHECK(s.shape.empty());
  CHECK(s.numel() == 1);
  CHECK(s.data == std::vector<double>{0.125});
  const auto meta = read_safetensors_metadata(p);
  CHECK(meta.size() == 2);
  CHECK(meta.at("format") == "pt");

  // No metadata, an empty tensor, tensors listed out of offset order.
  Bytes d;
  put_f64(d, -7.0);
  const auto t2 = read_safetensors(tmp.write(
      "two.safetensors",
      file(R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[8,8]},)"
           R"("x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", d)));
  CHECK(t2.at("x").data == std::vector<double>{-7.0});
  CHECK(t2.at("e").data.empty());
  CHECK(read_safetensors_metadata(tmp.dir.string() + "/two.safetensors").empty());
}

TEST_CASE("ml/safetensors: malformed files are rejected") {
  TempDir tmp;
  const Bytes data = good_data();
  const std::string w = R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  const std::string s = R"("s":{"dtype":"F64","shape":[],"data_offsets":[24,32]})";

  SUBCASE("file level") {
    CHECK(contains(error_of((tmp.dir / "none.safetensors").string()), "does not exist"));
    CHECK(contains(error_of(tmp.dir.string()), "is a directory"));
    CHECK(contains(error_of(tmp.write("short", Bytes{1, 2, 3})), "shorter than the 8-byte"));
    Bytes zero;
    put_le(zero, 0, 8);
    CHECK(contains(error_of(tmp.write("zero", zero)), "header length 0 is zero"));
    Bytes huge;
    put_le(huge, 1ull << 40, 8);
    CHECK(contains(error_of(tmp.write("huge", huge)), "over the 100 MiB limit"));
    Bytes past = file("{}", {});
    past[0] = 50;  // header length 50, file holds 2 header bytes
    CHECK(contains(error_of(tmp.write("past", past)), "runs past the end"));
  }
  SUBCASE("header JSON") {
    CHECK(contains(error_for(tmp, "{\"w\":", data), "not valid JSON"));
    CHECK(contains(error_for(tmp, "[1,2]", data), "not an object"));
    CHECK(contains(error_for(tmp, R"({"__metadata__":{"k":1},)" + w + "," + s + "}", data),
                   "metadata values must be strings"));
    CHECK(contains(error_for(tmp, R"({"__metadata__":[],)" + w + "," + s + "}", data),
                   "must be an object of strings"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,3]},)" + s + "}", data),
                   "tensor \"w\" must be an object with"));
  }
  SUBCASE("dtype and shape") {
    const std::string m = error_for(
        tmp, R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,24]},)" + s + "}", data);
    CHECK(contains(m, "tensor \"w\" has dtype BF16"));
    CHECK(contains(m, "float32 or float64"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]},)" + s + "}", data),
                   "non-negative integers"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,3.0],"data_offsets":[0,24]},)" + s + "}", data),
                   "non-negative integers"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":6,"data_offsets":[0,24]},)" + s + "}", data),
                   "is not a list"));
    // shape·elemsize must equal the byte length.
    const std::string m2 = error_for(
        tmp, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]},)" + s + "}", data);
    CHECK(contains(m2, "needs 4 x 4 bytes, but data_offsets span 24"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F64","shape":[2,3],"data_offsets":[0,24]},)" + s + "}", data),
                   "needs 6 x 8 bytes"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,24]},)" + s + "}", data),
                   "more than 2^64"));
  }
  SUBCASE("offsets") {
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0]},)" + s + "}", data),
                   "must be [begin, end]"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[24,0]},)" + s + "}", data),
                   "begin > end"));
    CHECK(contains(error_for(tmp, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},)" + s + "}", data),
                   "run past the 32-byte data buffer"));
    // A hole: w at [0,24), s moved to [28,36) in a 36-byte buffer.
    Bytes gap = data;
    gap.insert(gap.begin() + 24, {0, 0, 0, 0});
    CHECK(contains(error_for(tmp, "{" + w + R"(,"s":{"dtype":"F64","shape":[],"data_offsets":[28,36]}})", gap),
                   "(gap)"));
    // An overlap: s at [16,24) inside w.
    CHECK(contains(error_for(tmp, "{" + w + R"(,"s":{"dtype":"F64","shape":[],"data_offsets":[16,24]}})", data),
                   "(overlap)"));
    // Bytes after the last tensor.
    Bytes extra = data;
    extra.push_back(0);
    CHECK(contains(error_for(tmp, "{" + w + "," + s + "}", extra), "1 more bytes"));
  }
  SUBCASE("non-finite values") {
    Bytes nan = data;
    nan.resize(24);
    put_f64(nan, std::numeric_limits<double>::quiet_NaN());
    CHECK(contains(error_for(tmp, "{" + w + "," + s + "}", nan), "tensor \"s\" element 0 is NaN"));
  }
}

TEST_CASE("ml/safetensors: the committed model file") {
  const fs::path models = fs::path(__FILE__).parent_path().parent_path().parent_path() / "ml" / "models";
  const std::string path = (models / "mlp_fmnist.safetensors").string();
  REQUIRE_MESSAGE(fs::exists(path), path << " is missing; run scripts/train_mlp.py");
  const auto t = read_safetensors(path);
  CHECK(t.at("fc1.weight").shape == std::vector<std::size_t>{64, 784});
  CHECK(t.at("fc1.bias").shape == std::vector<std::size_t>{64});
  CHECK(t.at("fc2.weight").shape == std::vector<std::size_t>{32, 64});
  CHECK(t.at("fc3.weight").shape == std::vector<std::size_t>{10, 32});
  CHECK(t.at("act1.a").numel() == 1);
  const auto meta = read_safetensors_metadata(path);
  CHECK(meta.count("test_accuracy") == 1);
  CHECK(meta.count("seed") == 1);
}

// Tests for ml/data/cifar.cpp on small CIFAR-10 binary files the tests write themselves (the real
// data set is not packaged by Debian): the record layout, load_cifar10's file order and limit,
// and the rejection of missing, empty, truncated and mislabelled files.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/cifar.h"
#include "temp_dir.h"

using ckks::InputError;
using ckks::ml::ChannelImageSet;
using ckks::ml::load_cifar10;
using ckks::ml::read_cifar10_batch;
using test_util::TempDir;

namespace {

// `labels.size()` records; pixel k of record i is a byte drawn from mt19937(seed), kept in
// `pixels` (one 3072-byte vector per record) so the test can compare.
std::vector<unsigned char> make_batch(const std::vector<int>& labels, std::uint32_t seed,
                                      std::vector<std::vector<unsigned char>>* pixels = nullptr) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> bytes;
  for (int label : labels) {
    bytes.push_back(static_cast<unsigned char>(label));
    std::vector<unsigned char> px(3072);
    for (auto& b : px) b = static_cast<unsigned char>(rng() & 0xFF);
    bytes.insert(bytes.end(), px.begin(), px.end());
    if (pixels) pixels->push_back(std::move(px));
  }
  return bytes;
}

std::string error_of(const std::string& path, std::size_t limit = 0) {
  try {
    (void)read_cifar10_batch(path, limit);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("read_cifar10_batch did not throw for " << path);
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ml/cifar: a batch file is read record by record, channel-major, byte/255") {
  TempDir tmp("ckks_cifar");
  std::vector<std::vector<unsigned char>> px;
  const std::vector<int> labels = {3, 0, 9, 7, 1};
  const std::string p = tmp.write("data_batch_1.bin", make_batch(labels, 11, &px));

  const ChannelImageSet s = read_cifar10_batch(p);
  CHECK(s.channels == 3);
  CHECK(s.rows == 32);
  CHECK(s.cols == 32);
  REQUIRE(s.images.size() == 5);
  CHECK(s.labels == labels);
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE(s.images[i].size() == 3072);
    for (std::size_t k = 0; k < 3072; ++k) {
      if (s.images[i][k] != static_cast<float>(px[i][k]) / 255.0f) {
        FAIL("image " << i << " value " << k << ": " << s.images[i][k] << " vs byte " << int(px[i][k]));
      }
    }
  }
  // The layout, spelled out on one record: red, green, blue planes of 32 rows of 32 pixels.
  std::vector<unsigned char> rec(3073, 0);
  rec[0] = 4;
  rec[1 + 0 * 1024 + 0 * 32 + 5] = 255;  // red,   row 0,  column 5
  rec[1 + 1 * 1024 + 2 * 32 + 0] = 51;   // green, row 2,  column 0
  rec[1 + 2 * 1024 + 31 * 32 + 31] = 102;  // blue, row 31, column 31
  const ChannelImageSet one = read_cifar10_batch(tmp.write("one.bin", rec));
  REQUIRE(one.images.size() == 1);
  CHECK(one.labels[0] == 4);
  const auto& im = one.images[0];
  CHECK(im[(0 * 32 + 0) * 32 + 5] == 1.0f);
  CHECK(im[(1 * 32 + 2) * 32 + 0] == 51.0f / 255.0f);
  CHECK(im[(2 * 32 + 31) * 32 + 31] == 102.0f / 255.0f);
  double total = 0;
  for (float v : im) total += v;
  CHECK(total == doctest::Approx(1.0 + 0.2 + 0.4));  // nothing else is set

  // limit: the first records only; a limit beyond the count reads everything.
  const ChannelImageSet two = read_cifar10_batch(p, 2);
  REQUIRE(two.images.size() == 2);
  CHECK(two.labels == std::vector<int>{3, 0});
  CHECK(two.images[1] == s.images[1]);
  CHECK(read_cifar10_batch(p, 100).images.size() == 5);
}

TEST_CASE("ml/cifar: load_cifar10 reads data_batch_1..5 in order, or test_batch") {
  TempDir tmp("ckks_cifar");
  // Batch b has b records labelled b-1, ... so the concatenation order is visible in the labels.
  std::vector<int> want;
  for (int b = 1; b <= 5; ++b) {
    std::vector<int> labels;
    for (int r = 0; r < b; ++r) labels.push_back((b + r) % 10);
    want.insert(want.end(), labels.begin(), labels.end());
    tmp.write("data_batch_" + std::to_string(b) + ".bin", make_batch(labels, 100 + b));
  }
  tmp.write("test_batch.bin", make_batch({8, 6}, 7));
  const std::string dir = tmp.dir.string();

  const ChannelImageSet train = load_cifar10(dir, true);
  CHECK(train.images.size() == 15);
  CHECK(train.labels == want);
  CHECK(train.channels == 3);
  // The first record of batch 2 follows the single record of batch 1.
  CHECK(train.images[1] == read_cifar10_batch(dir + "/data_batch_2.bin").images[0]);

  const ChannelImageSet test = load_cifar10(dir, false);
  CHECK(test.labels == std::vector<int>{8, 6});

  // A limit spanning files 1..3 (1 + 2 + 1 of 3 records).
  const ChannelImageSet four = load_cifar10(dir, true, 4);
  CHECK(four.labels == std::vector<int>(want.begin(), want.begin() + 4));

  // Missing batch 4: the full load fails naming it, a limit reached earlier does not open it.
  std::filesystem::remove(tmp.dir / "data_batch_4.bin");
  CHECK(load_cifar10(dir, true, 6).images.size() == 6);
  std::string msg;
  try {
    (void)load_cifar10(dir, true);
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "data_batch_4.bin does not exist"));
  CHECK(contains(msg, "cifar.html"));
  CHECK_THROWS_AS(load_cifar10((tmp.dir / "nowhere").string(), false), InputError);
}

TEST_CASE("ml/cifar: missing, empty, truncated and mislabelled files are rejected") {
  TempDir tmp("ckks_cifar");
  CHECK(contains(error_of((tmp.dir / "absent.bin").string()), "does not exist"));
  CHECK(contains(error_of(tmp.dir.string()), "is a directory"));
  CHECK(contains(error_of(tmp.write("empty.bin", std::string())), "is empty"));

  // Truncated: two records minus 5 bytes.
  auto bytes = make_batch({1, 2}, 3);
  bytes.resize(bytes.size() - 5);
  const std::string cut = error_of(tmp.write("cut.bin", bytes));
  CHECK(contains(cut, "has 6141 bytes, not a multiple of the 3073-byte CIFAR-10 record"));
  CHECK(contains(cut, "1 whole records and 3068 bytes left over"));
  CHECK(contains(cut, "truncated"));

  // Two CIFAR-100 records (2 label bytes + 3072 pixels each) = 6148 bytes.
  const std::string c100 = error_of(tmp.write("c100.bin", std::vector<unsigned char>(6148, 0)));
  CHECK(contains(c100, "CIFAR-100"));

  // A label of 10 in record 2 (byte offset 6146).
  bytes = make_batch({0, 5, 9}, 4);
  bytes[2 * 3073] = 10;
  const std::string path = tmp.write("label.bin", bytes);
  const std::string bad = error_of(path);
  CHECK(contains(bad, "record 2 (byte offset 6146) has label 10"));
  CHECK(contains(bad, "labels are 0..9"));
  // Records before the bad one are still readable with a limit.
  CHECK(read_cifar10_batch(path, 2).labels == std::vector<int>{0, 5});
  CHECK(contains(error_of(path, 3), "has label 10"));
}

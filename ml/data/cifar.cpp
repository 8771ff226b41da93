// CIFAR-10 binary-format reader. See cifar.h for the format.
#include "ml/data/cifar.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "ckks/errors.h"

namespace ckks::ml {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kPixels = 3 * 32 * 32;            // bytes of pixels per record
constexpr std::size_t kCifar100RecordBytes = 2 + kPixels;  // CIFAR-100: coarse + fine label
constexpr const char* kWhere =
    "download \"CIFAR-10 binary version (suitable for C programs)\" from "
    "https://www.cs.toronto.edu/~kriz/cifar.html and extract it (it unpacks to "
    "cifar-10-batches-bin/)";

}  // namespace

ChannelImageSet read_cifar10_batch(const std::string& path, std::size_t limit) {
  const std::string fn = "read_cifar10_batch";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw InputError(fn + ": " + path + " does not exist; check the path, or " + kWhere);
  }
  if (fs::is_directory(path, ec)) {
    throw InputError(fn + ": " + path + " is a directory; pass a batch file such as "
                     "data_batch_1.bin (or use load_cifar10 for the directory)");
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    throw InputError(fn + ": cannot read the size of " + path + ": " + ec.message());
  }
  if (size == 0) {
    throw InputError(fn + ": " + path + " is empty; a CIFAR-10 batch holds 3073-byte records (" +
                     kWhere + ")");
  }
  if (size % kCifar10RecordBytes != 0) {
    std::string msg = fn + ": " + path + " has " + std::to_string(size) +
                      " bytes, not a multiple of the 3073-byte CIFAR-10 record (1 label + 3072 "
                      "pixels): " + std::to_string(size / kCifar10RecordBytes) +
                      " whole records and " + std::to_string(size % kCifar10RecordBytes) +
                      " bytes left over";
    if (size % kCifar100RecordBytes == 0) {
      msg += ". Its size is a multiple of 3074, the CIFAR-100 record (2 label bytes); this reader "
             "reads CIFAR-10 only";
    } else {
      msg += ". The file is truncated or not a CIFAR-10 binary batch; download it again";
    }
    throw InputError(msg);
  }
  std::size_t count = static_cast<std::size_t>(size / kCifar10RecordBytes);
  if (limit > 0 && limit < count) count = limit;

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fn + ": cannot open " + path + ": " + std::strerror(errno) +
                     "; check its permissions");
  }
  ChannelImageSet set;
  set.channels = 3;
  set.rows = 32;
  set.cols = 32;
  set.images.reserve(count);
  set.labels.reserve(count);
  std::vector<unsigned char> rec(kCifar10RecordBytes);
  for (std::size_t i = 0; i < count; ++i) {
    in.read(reinterpret_cast<char*>(rec.data()), static_cast<std::streamsize>(rec.size()));
    if (in.gcount() != static_cast<std::streamsize>(rec.size())) {
      // The size was checked above, so this means the file shrank or a read error occurred.
      throw InputError(fn + ": " + path + ": reading record " + std::to_string(i) +
                       " failed after " + std::to_string(in.gcount()) + " of 3073 bytes; the "
                       "file changed while being read or the disk reported an error");
    }
    if (rec[0] > 9) {
      throw InputError(fn + ": " + path + ": record " + std::to_string(i) + " (byte offset " +
                       std::to_string(i * kCifar10RecordBytes) + ") has label " +
                       std::to_string(rec[0]) + "; CIFAR-10 labels are 0..9, so the file is "
                       "corrupt or not a CIFAR-10 binary batch");
    }
    set.labels.push_back(rec[0]);
    std::vector<float> img(kPixels);
    for (std::size_t k = 0; k < kPixels; ++k) img[k] = static_cast<float>(rec[1 + k]) / 255.0f;
    set.images.push_back(std::move(img));
  }
  return set;
}

ChannelImageSet load_cifar10(const std::string& dir, bool train, std::size_t limit) {
  std::vector<std::string> names;
  if (train) {
    for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  ChannelImageSet all;
  all.channels = 3;
  all.rows = 32;
  all.cols = 32;
  for (const std::string& name : names) {
    if (limit > 0 && all.images.size() >= limit) break;
    const std::string p = (fs::path(dir) / name).string();
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      throw InputError("load_cifar10: " + p + " does not exist; the " +
                       std::string(train ? "training" : "test") + " set needs " +
                       (train ? "data_batch_1.bin ... data_batch_5.bin" : "test_batch.bin") +
                       " in " + dir + ". " + kWhere);
    }
    const std::size_t want = limit > 0 ? limit - all.images.size() : 0;
    ChannelImageSet part = read_cifar10_batch(p, want);
    for (auto& img : part.images) all.images.push_back(std::move(img));
    all.labels.insert(all.labels.end(), part.labels.begin(), part.labels.end());
  }
  return all;
}

}  // namespace ckks::ml

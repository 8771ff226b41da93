// A scratch directory for tests that write files (removed with everything in it at scope exit).
#pragma once
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace test_util {

struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& tag = "ckks_test") {
    std::random_device rd;
    dir = std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Write `contents` to dir/name; returns the path.
  std::string write(const std::string& name, const std::string& contents) const {
    const std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  std::string write(const std::string& name, const std::vector<unsigned char>& bytes) const {
    const std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
};

}  // namespace test_util

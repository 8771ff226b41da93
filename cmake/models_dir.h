// Force-included into every source of the ckks-ml command (ml/CMakeLists.txt). Defines
// CKKS_MODELS_DIR, the folder of the committed model weights (ml/models/), chosen at run time so
// that one binary works both where it was built and where it was installed:
//  - the build-tree ckks-ml (its folder is CKKS_BUILD_BINDIR, e.g. build/ml/) reads the source
//    tree's ml/models (CKKS_SOURCE_MODELS_DIR);
//  - an installed ckks-ml (`cmake --install`, with any --prefix) reads <prefix>/share/ckks/models,
//    located from its own path (/proc/self/exe) as <bindir>/CKKS_MODELS_FROM_BINDIR, and never the
//    source tree, so a missing installed file is reported with its installed path.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace ckks::ml::cli {

// The folder of the model weights, as described above. Never throws: if /proc/self/exe cannot be
// read, the source tree's folder.
inline std::string models_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || fs::equivalent(exe.parent_path(), CKKS_BUILD_BINDIR, ec)) return CKKS_SOURCE_MODELS_DIR;
  return (exe.parent_path() / CKKS_MODELS_FROM_BINDIR).lexically_normal().string();
}

}  // namespace ckks::ml::cli

#define CKKS_MODELS_DIR (::ckks::ml::cli::models_dir())

// See cli_common.h.
#include "ml/apps/cli_common.h"

#include <cstdio>

#include <unistd.h>

#include "ckks/errors.h"

namespace ckks::ml::cli {

Progress stderr_progress(std::string tag) {
  const bool tty = isatty(fileno(stderr));
  return [tty, tag](const std::string& phase, std::size_t done, std::size_t total) {
    if (tty) {
      std::fprintf(stderr, "\r[%s] %-24s %zu/%zu", tag.c_str(), phase.c_str(), done, total);
      if (done == total) std::fprintf(stderr, "\n");
    } else if (done == total) {
      std::fprintf(stderr, "[%s] %s: %zu/%zu done\n", tag.c_str(), phase.c_str(), done, total);
    }
    std::fflush(stderr);
  };
}

Params preset(const std::string& name) {
  if (name == "n13") return Params::preset_n13();
  if (name == "n14") return Params::preset_n14();
  if (name == "n15") return Params::preset_n15();
  if (name == "n16") return Params::preset_n16();
  throw InputError("--params " + name + " is not a preset; choose n13, n14, n15 or n16");
}

}  // namespace ckks::ml::cli

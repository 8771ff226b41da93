// ckks-kat: write the known-answer test vectors (ckks/kat/kat.h) as JSON files.
//
//   ckks-kat --out DIR      writes DIR/ntt.json, rns.json, encoding.json, keyswitch.json, multiply.json,
//                           bootstrap.json
//   ckks-kat --check DIR    regenerates and compares with the files in DIR (exit 1 on any difference)
//   --only FILE             (with either) that one file, e.g. --only bootstrap.json
//
// The committed copies live in tests/vectors/ (format: docs/test-vectors.md). Regenerate them with
// `build/ckks/ckks-kat --out tests/vectors` after a deliberate change to the arithmetic, and say why
// in the commit message: the files are a contract with other implementations.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "ckks/kat/kat.h"
#include "ckks/math/errors.h"

int main(int argc, char** argv) {
  CLI::App app{"ckks-kat: known-answer test vectors of this CKKS implementation"};
  std::string out, check, only;
  auto* o = app.add_option("--out", out, "directory to write the JSON files to (created if missing)");
  auto* c = app.add_option("--check", check, "directory whose JSON files must equal freshly generated ones");
  o->excludes(c);
  app.add_option("--only", only, "one file name (e.g. bootstrap.json) instead of every file");
  CLI11_PARSE(app, argc, argv);
  if (out.empty() && check.empty()) {
    std::fprintf(stderr, "ckks-kat: error: give --out DIR (write the files) or --check DIR (compare with them)\n");
    return 2;
  }
  try {
    const auto vectors = only.empty() ? ckks::kat::all_vectors()
                                      : std::map<std::string, nlohmann::json>{{only, ckks::kat::vectors(only)}};
    if (!out.empty()) {
      std::filesystem::create_directories(out);
      for (const auto& [name, doc] : vectors) {
        const std::string path = out + "/" + name;
        std::ofstream f(path);
        f << doc.dump(1) << "\n";
        if (!f) throw ckks::InputError("ckks-kat: cannot write " + path);
        std::printf("wrote %s\n", path.c_str());
      }
      return 0;
    }
    int differ = 0;
    for (const auto& [name, doc] : vectors) {
      const std::string path = check + "/" + name;
      std::ifstream f(path);
      if (!f) throw ckks::InputError("ckks-kat: cannot read " + path + "; generate it with --out");
      const nlohmann::json committed = nlohmann::json::parse(f);
      std::string why;
      const auto agreement = ckks::kat::compare_vectors(committed, doc, &why);
      differ += agreement == ckks::kat::Agreement::differs;
      std::printf("%s: %s\n", path.c_str(),
                  agreement == ckks::kat::Agreement::identical
                      ? "identical"
                      : agreement == ckks::kat::Agreement::within_noise
                            ? "identical except the build-dependent sections, which agree within the noise "
                              "(this build's floating-point evaluation differs from the generating one)"
                            : ("DIFFERS in " + why).c_str());
    }
    return differ ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-kat: error: %s\n", e.what());
    return 2;
  }
}

// ckks-sizes: measured sizes of serialized keys and ciphertexts for the parameter presets
// (ckks/serialize.h), as a Markdown table (docs/parameters.md shows its output).
//   ckks-sizes [--presets n13,n14,n15,n16]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/keygen.h"
#include "ckks/math/errors.h"
#include "ckks/serialize.h"

namespace {

std::string mib(std::size_t bytes) {
  char buf[32];
  if (bytes < (1u << 20)) std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckks-sizes: serialized key and ciphertext sizes of the parameter presets"};
  std::string presets = "n13,n14,n15,n16";
  app.add_option("--presets", presets, "comma-separated presets (n13, n14, n15, n16)");
  CLI11_PARSE(app, argc, argv);
  try {
    std::printf("| preset | N | L | dnum | log QP | secret key | public key (seeded / full) | relinearisation key "
                "(seeded / full) | one Galois key (seeded) | ciphertext at level L: public-key / secret-key seeded "
                "| ciphertext at level 0 |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::stringstream ss(presets);
    for (std::string name; std::getline(ss, name, ',');) {
      ckks::Params p;
      if (name == "n13") p = ckks::Params::preset_n13();
      else if (name == "n14") p = ckks::Params::preset_n14();
      else if (name == "n15") p = ckks::Params::preset_n15();
      else if (name == "n16") p = ckks::Params::preset_n16();
      else throw ckks::InputError("--presets: unknown preset " + name + "; use n13, n14, n15 or n16");
      auto ctx = ckks::Context::create(p);
      ckks::KeyGenerator kg(ctx);
      const auto sk = kg.secret_key();
      const auto pk = kg.public_key(sk);
      const auto rk = kg.relin_key(sk);
      const auto gk = kg.galois_keys(sk, {1});
      ckks::Encoder enc(ctx);
      ckks::Encryptor pk_enc(ctx, pk), sk_enc(ctx, sk);
      const std::vector<double> z = {1.0};
      const int L = ctx->max_level();
      const auto pt = enc.encode(std::span<const double>(z), L, ctx->default_scale());
      const auto pt0 = enc.encode(std::span<const double>(z), 0, ctx->default_scale());
      std::printf("| %s | 2^%d | %d | %zu | %.0f | %s | %s / %s | %s / %s | %s | %s / %s | %s |\n", name.c_str(), p.log_n,
                  L, ctx->dnum(), ctx->log_qp(), mib(ckks::serialize(sk).size()).c_str(),
                  mib(ckks::serialize(pk).size()).c_str(), mib(ckks::serialize(pk, false).size()).c_str(),
                  mib(ckks::serialize(rk).size()).c_str(), mib(ckks::serialize(rk, false).size()).c_str(),
                  mib(ckks::serialize(gk).size()).c_str(), mib(ckks::serialize(pk_enc.encrypt(pt)).size()).c_str(),
                  mib(ckks::serialize(sk_enc.encrypt(pt)).size()).c_str(),
                  mib(ckks::serialize(pk_enc.encrypt(pt0)).size()).c_str());
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-sizes: error: %s\n", e.what());
    return 2;
  }
}

// Writes the seed corpus of the fuzz targets: valid objects of every kind for the fuzz parameters
// (seeded and full forms), one directory per target: DIR/ciphertext/, DIR/plaintext/, …
//   make_corpus DIR
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/serialize.h"
#include "fuzz_params.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 1;
  }
  const std::string dir = argv[1];
  try {
    using namespace ckks;
    auto ctx = Context::create(fuzz::params());
    KeyGenerator kg(ctx, math::Csprng::insecure_fixed_seed_for_testing(3));
    const SecretKey sk = kg.secret_key();
    const PublicKey pk = kg.public_key(sk);
    Encoder enc(ctx);
    Encryptor pk_enc(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(4));
    Encryptor sk_enc(ctx, sk, math::Csprng::insecure_fixed_seed_for_testing(5));
    const Evaluator ev(ctx);
    const std::vector<double> z = {0.5, -0.25, 1.0};
    const Plaintext pt = enc.encode(std::span<const double>(z), ctx->max_level(), ctx->default_scale());
    const Ciphertext c_pk = pk_enc.encrypt(pt), c_sk = sk_enc.encrypt(pt);
    const RelinKey rk = kg.relin_key(sk);
    const GaloisKeys gk = kg.galois_keys(sk, {1, 3}, true);
    auto put = [&](const std::string& target, const std::string& name, const std::vector<std::uint8_t>& b) {
      std::filesystem::create_directories(dir + "/" + target);
      write_file(dir + "/" + target + "/" + name, b);
    };
    put("ciphertext", "pk", serialize(c_pk));
    put("ciphertext", "sk_seeded", serialize(c_sk));
    put("ciphertext", "sk_full", serialize(c_sk, false));
    put("ciphertext", "three", serialize(ev.multiply(c_pk, c_pk)));
    put("ciphertext", "level1", serialize(ev.rescale(ev.multiply_const(c_pk, 2.0))));
    put("plaintext", "pt", serialize(pt));
    put("public_key", "seeded", serialize(pk));
    put("public_key", "full", serialize(pk, false));
    put("relin_key", "seeded", serialize(rk));
    put("relin_key", "full", serialize(rk, false));
    put("galois_keys", "seeded", serialize(gk));
    put("galois_keys", "full", serialize(gk, false));
    put("secret_key", "sk", serialize(sk));
    put("params", "fuzz", serialize(ctx->params()));
    put("params", "n14", serialize(Params::preset_n14()));
    std::vector<std::uint8_t> bundle = serialize_metadata("{\"model\": \"mlp\"}");
    for (const auto& b : {serialize(ctx->params())}) bundle.insert(bundle.end(), b.begin(), b.end());
    for (const auto& b : {serialize(pk), serialize(rk), serialize(gk)}) bundle.insert(bundle.end(), b.begin(), b.end());
    put("bundle", "keys", bundle);
    std::printf("make_corpus: wrote the seed corpus to %s\n", dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 2;
  }
}

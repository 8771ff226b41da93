// Writes the seed corpus of the fuzz targets: valid objects of every kind for the fuzz parameters
// (seeded and full forms) under both presets of fuzz_params.h, one directory per target: DIR/ciphertext/, DIR/plaintext/, …
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
    auto put = [&](const std::string& target, const std::string& name, const std::vector<std::uint8_t>& b) {
      std::filesystem::create_directories(dir + "/" + target);
      write_file(dir + "/" + target + "/" + name, b);
    };
    for (int preset = 0; preset < fuzz::kPresets; ++preset) {
      auto ctx = Context::create(fuzz::params(preset));
      KeyGenerator kg(ctx, math::Csprng::insecure_fixed_seed_for_testing(fuzz::kKeySeed));
      const SecretKey sk = kg.secret_key();
      const PublicKey pk = kg.public_key(sk);
      Encoder enc(ctx);
      Encryptor pk_enc(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(4));
      Encryptor sk_enc(ctx, sk, math::Csprng::insecure_fixed_seed_for_testing(5));
      const Evaluator ev(ctx);
      const std::vector<double> z = {0.5, -0.25, 1.0};
      const Plaintext pt = enc.encode(std::span<const double>(z), ctx->max_level(), ctx->default_scale());
      const Ciphertext c_pk = pk_enc.encrypt(pt), c_sk = sk_enc.encrypt(pt);
      Ciphertext c_legacy = c_pk;  // as written before key-set ids existed
      c_legacy.key_id = 0;
      const RelinKey rk = kg.relin_key(sk);
      const GaloisKeys gk = kg.galois_keys(sk, {1, 3}, true);
      const std::string s = "_p" + std::to_string(preset);
      put("ciphertext", "pk" + s, serialize(c_pk));
      put("ciphertext", "sk_seeded" + s, serialize(c_sk));
      put("ciphertext", "sk_full" + s, serialize(c_sk, false));
      put("ciphertext", "legacy" + s, serialize(c_legacy));
      put("ciphertext", "three" + s, serialize(ev.multiply(c_pk, c_pk)));
      put("ciphertext", "level1" + s, serialize(ev.rescale(ev.multiply_const(c_pk, 2.0))));
      put("ciphertext", "level0" + s, serialize(ev.drop_level(c_pk, 0)));
      put("plaintext", "pt" + s, serialize(pt));
      put("plaintext", "level0" + s, serialize(ev.drop_level(pt, 0)));
      put("public_key", "seeded" + s, serialize(pk));
      put("public_key", "full" + s, serialize(pk, false));
      put("relin_key", "seeded" + s, serialize(rk));
      put("relin_key", "full" + s, serialize(rk, false));
      put("galois_keys", "seeded" + s, serialize(gk));
      put("galois_keys", "full" + s, serialize(gk, false));
      put("secret_key", "sk" + s, serialize(sk));
      const EncapsulationKeys ek = kg.encapsulation_keys(sk, 4);
      put("encapsulation_keys", "seeded" + s, serialize(ek));
      put("encapsulation_keys", "full" + s, serialize(ek, false));
      put("params", "fuzz" + s, serialize(ctx->params()));
      std::vector<std::uint8_t> bundle = serialize_metadata("{\"model\": \"mlp\"}");
      for (const auto& b : {serialize(ctx->params()), serialize(pk), serialize(rk), serialize(gk)})
        bundle.insert(bundle.end(), b.begin(), b.end());
      put("bundle", "keys" + s, bundle);
    }
    put("params", "n14", serialize(Params::preset_n14()));
    std::printf("make_corpus: wrote the seed corpus to %s\n", dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 2;
  }
}

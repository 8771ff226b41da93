// Serialization (ckks/serialize.h): round trips of every object, seeded compression, and loading
// bad data (truncated at every length, corrupted, mismatched) always ends in a clear error.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cmath>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ckks/fixtures.h"
#include "ckks/precision.h"
#include "ckks/serialize.h"
#include "temp_dir.h"

namespace ckks::test {
namespace {

using Bytes = std::vector<std::uint8_t>;

// N = 2^10, q {40, 30, 30}, p {40, 40}, dnum 2: INSECURE, small and fast; two special primes and
// two digits so that key layouts with alpha > 1 are exercised.
Params serial_params() {
  Params p;
  p.log_n = 10;
  p.log_q = {40, 30, 30};
  p.log_p = {40, 40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

TEST_CASE("ckks/serialize: every object round-trips and still works") {
  Kit k(serial_params(), 5);
  const cvec z = random_complex(k.ctx->max_slots(), 1);

  // Params
  const Params p2 = deserialize_params(serialize(k.ctx->params()));
  CHECK(p2.describe() == k.ctx->params().describe());
  CHECK(p2.allow_insecure);

  // Public-key ciphertext (no seed) and its decryption after loading.
  const Ciphertext ct = k.encrypt(z);
  CHECK_FALSE(ct.seed.has_value());
  const Bytes b = serialize(ct);
  CHECK_FALSE(inspect(b).seeded);
  const Ciphertext ct2 = deserialize_ciphertext(k.ctx, b);
  REQUIRE(ct2.size() == 2);
  CHECK(ct2.c[0] == ct.c[0]);
  CHECK(ct2.c[1] == ct.c[1]);
  CHECK(ct2.level == ct.level);
  CHECK(ct2.scale == ct.scale);
  CHECK(ct2.slots == ct.slots);
  CHECK(precision_bits(k.decrypt(ct2), z) >= 15);

  // 3-component ciphertext, plaintext.
  const Ciphertext prod = k.evaluator.multiply(ct, ct);
  const Ciphertext prod2 = deserialize_ciphertext(k.ctx, serialize(prod));
  CHECK(prod2.size() == 3);
  CHECK(prod2.c[2] == prod.c[2]);
  const Plaintext pt = k.encoder.encode(z, 1, k.ctx->default_scale());
  const Plaintext pt2 = deserialize_plaintext(k.ctx, serialize(pt));
  CHECK(pt2.poly == pt.poly);
  CHECK(pt2.level == 1);

  // Keys: loaded keys work for relinearisation and rotation; a loaded public key encrypts.
  const RelinKey rk = deserialize_relin_key(k.ctx, serialize(k.keygen.relin_key(k.sk)));
  const GaloisKeys gk = deserialize_galois_keys(k.ctx, serialize(k.keygen.galois_keys(k.sk, {1, -3}, true)));
  CHECK(gk.keys.size() == 3);
  const PublicKey pk = deserialize_public_key(k.ctx, serialize(k.pk));
  CHECK(pk.b == k.pk.b);
  CHECK(pk.a == k.pk.a);
  const SecretKey sk = deserialize_secret_key(k.ctx, serialize(k.sk));
  CHECK(sk.s == k.sk.s);
  Encryptor enc2(k.ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(77));
  const Ciphertext c = enc2.encrypt(k.encoder.encode(z, k.ctx->max_level(), k.ctx->default_scale()));
  const Ciphertext sq = k.evaluator.rescale(k.evaluator.relinearize(k.evaluator.multiply(c, c), rk));
  const Ciphertext rot = k.evaluator.rotate(c, 1, gk);
  cvec want_sq(z.size()), want_rot(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    want_sq[i] = z[i] * z[i];
    want_rot[i] = z[(i + 1) % z.size()];
  }
  const cvec got_sq = Encoder(k.ctx).decode_complex(Decryptor(k.ctx, sk).decrypt(sq));
  CHECK(precision_bits(got_sq, want_sq) >= 12);
  CHECK(precision_bits(k.decrypt(rot), want_rot) >= 12);
}

TEST_CASE("ckks/serialize: seeded compression halves secret-key ciphertexts and keys") {
  Kit k(serial_params(), 6);
  const cvec z = random_complex(k.ctx->max_slots(), 2);
  Encryptor sk_enc(k.ctx, k.sk, math::Csprng::insecure_fixed_seed_for_testing(8));
  const Ciphertext ct = sk_enc.encrypt(k.encoder.encode(z, k.ctx->max_level(), k.ctx->default_scale()));
  REQUIRE(ct.seed.has_value());
  const Bytes seeded = serialize(ct), full = serialize(ct, false);
  CHECK(inspect(seeded).seeded);
  CHECK_FALSE(inspect(full).seeded);
  MESSAGE("secret-key ciphertext, N = 2^10, 3 limbs: " << seeded.size() << " bytes seeded, " << full.size() << " full");
  CHECK(seeded.size() < full.size() / 2 + 100);
  const Ciphertext back = deserialize_ciphertext(k.ctx, seeded);
  CHECK(back.c[1] == ct.c[1]);
  CHECK(precision_bits(k.decrypt(back), z) >= 15);

  const RelinKey rk = k.keygen.relin_key(k.sk);
  const Bytes rk_seeded = serialize(rk), rk_full = serialize(rk, false);
  MESSAGE("relinearisation key: " << rk_seeded.size() << " bytes seeded, " << rk_full.size() << " full");
  CHECK(rk_seeded.size() < rk_full.size() / 2 + 100);
  const RelinKey rk2 = deserialize_relin_key(k.ctx, rk_seeded);
  CHECK(rk2.key.a == rk.key.a);
  CHECK(rk2.key.b == rk.key.b);
  const GaloisKeys gk = k.keygen.galois_keys(k.sk, {1, 2});
  CHECK(serialize(gk).size() < serialize(gk, false).size() / 2 + 200);
  CHECK(serialize(k.pk).size() < serialize(k.pk, false).size() / 2 + 100);

  // A stale seed (copied along by an operation that changed c[1]) is detected: the full
  // polynomial is written and the loaded ciphertext is the modified one.
  const Ciphertext doubled = k.evaluator.add(ct, ct);
  REQUIRE(doubled.seed.has_value());  // Evaluator copies the input, seed included
  const Bytes b = serialize(doubled);
  CHECK_FALSE(inspect(b).seeded);
  cvec want(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) want[i] = 2.0 * z[i];
  CHECK(precision_bits(k.decrypt(deserialize_ciphertext(k.ctx, b)), want) >= 14);
}

TEST_CASE("ckks/serialize: truncation at every length and corrupted bytes give InputError, never a crash") {
  Params p = tiny_insecure();
  Kit k(p, 7);
  Encryptor sk_enc(k.ctx, k.sk, math::Csprng::insecure_fixed_seed_for_testing(9));
  const Ciphertext ct = sk_enc.encrypt(k.encoder.encode(cvec{{0.5, 0}}, k.ctx->max_level(), k.ctx->default_scale()));
  for (bool seeded : {true, false}) {
    const Bytes good = serialize(ct, seeded);
    std::size_t rejected = 0;
    for (std::size_t len = 0; len < good.size(); ++len) {
      try {
        deserialize_ciphertext(k.ctx, std::span(good.data(), len));
      } catch (const InputError&) {
        ++rejected;
      }
    }
    CHECK(rejected == good.size());  // every proper prefix
    // One trailing byte too many.
    Bytes longer = good;
    longer.push_back(0);
    CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, longer), doctest::Contains("payload bytes but"), InputError);
  }
  const Bytes good = serialize(ct, false);
  auto corrupt = [&](std::size_t at, std::uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return b;
  };
  // The payload starts at byte P: the 32-byte header, then the 8-byte key-set id (flag bit 1).
  constexpr std::size_t P = 40;
  REQUIRE(inspect(good).key_id == k.sk.key_id);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(0, 'X')), doctest::Contains("magic"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(4, 9)), doctest::Contains("format version 9"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(6, 2)), doctest::Contains("this is a PublicKey, not a Ciphertext"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(6, 99)), doctest::Contains("unknown object type 99"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(24, 6)), doctest::Contains("unknown flags"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(P, 7)), doctest::Contains("level 7 is outside 0..2"), InputError);
  // The scale (payload bytes 4..11) as NaN: set the exponent bits to all ones and a mantissa bit.
  {
    Bytes b = good;
    b[P + 11] = 0x7f;
    b[P + 10] = 0xf8;
    CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, b), doctest::Contains("is not a positive number"), InputError);
  }
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(P + 12, 3)), doctest::Contains("slot count 3"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(P + 20, 4)), doctest::Contains("4 components"), InputError);
  // First coefficient of component 0 (after u32 limbs + u8 form at payload bytes 24..28): all ones ≥ every prime.
  {
    Bytes b = good;
    for (std::size_t i = P + 29; i < P + 37; ++i) b[i] = 0xff;
    CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, b), doctest::Contains("not below its prime"), InputError);
  }
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(P + 28, 0)), doctest::Contains("form flag 0"), InputError);
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(k.ctx, corrupt(P + 24, 9)), doctest::Contains("9 limbs, expected 3"), InputError);
}

TEST_CASE("ckks/serialize: objects from other parameters are refused by fingerprint") {
  Kit a(tiny_insecure(), 1);
  Params other = tiny_insecure();
  other.log_q = {40, 30, 31};
  Kit b(other, 1);
  CHECK(fingerprint(*a.ctx) != fingerprint(*b.ctx));
  const Bytes ct = serialize(a.encrypt(cvec{{1, 0}}));
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(b.ctx, ct), doctest::Contains("made under other parameters"), ParameterError);
  CHECK_THROWS_AS(deserialize_relin_key(b.ctx, serialize(a.keygen.relin_key(a.sk))), ParameterError);
  // The same parameters in another Context load fine (the fingerprint is of the parameters).
  Kit a2(tiny_insecure(), 2);
  CHECK(deserialize_ciphertext(a2.ctx, ct).level == a.ctx->max_level());
}

TEST_CASE("ckks/serialize: Galois keys with a bad or repeated element are refused") {
  Kit k(tiny_insecure(), 3);
  const GaloisKeys gk = k.keygen.galois_keys(k.sk, {1, 2});
  Bytes b = serialize(gk, false);
  // First element at payload offset 4 (after the u32 count; the payload starts after the 32-byte
  // header and the 8-byte key-set id): make it even.
  b[40 + 4] = 4;
  for (int i = 1; i < 8; ++i) b[40 + 4 + i] = 0;
  CHECK_THROWS_WITH_AS(deserialize_galois_keys(k.ctx, b), doctest::Contains("is not odd"), InputError);
}

TEST_CASE("ckks/serialize: bundles and files; secret keys are written owner-only") {
  Kit k(tiny_insecure(), 4);
  Bytes bundle = serialize(k.ctx->params());
  const Bytes meta = serialize_metadata("{\"model\": \"linreg\"}");
  CHECK(deserialize_metadata(meta) == "{\"model\": \"linreg\"}");
  CHECK_THROWS_WITH_AS(deserialize_metadata(bundle), doctest::Contains("this is a Params, not a Metadata"), InputError);
  const Bytes pk = serialize(k.pk), rk = serialize(k.keygen.relin_key(k.sk));
  bundle.insert(bundle.end(), pk.begin(), pk.end());
  bundle.insert(bundle.end(), rk.begin(), rk.end());
  const auto parts = split_blobs(bundle);
  REQUIRE(parts.size() == 3);
  CHECK(inspect(parts[0]).type == ObjectType::Params);
  CHECK(inspect(parts[1]).type == ObjectType::PublicKey);
  CHECK(inspect(parts[2]).type == ObjectType::RelinKey);
  const auto cut = std::span(bundle.data(), bundle.size() - 5);
  CHECK_THROWS_WITH_AS(split_blobs(cut), doctest::Contains("object 2"), InputError);

  test_util::TempDir dir("ckks_serialize");
  const std::string secret = dir.dir.string() + "/secret.key", pub = dir.dir.string() + "/public.keys";
  write_file(secret, serialize(k.sk), true);
  write_file(pub, bundle);
  struct stat st {};
  REQUIRE(::stat(secret.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(pub.c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) != 0);  // readable by others, as an ordinary file
  CHECK(deserialize_secret_key(k.ctx, read_file(secret)).s == k.sk.s);
  CHECK(read_file(pub) == bundle);
  CHECK_THROWS_WITH_AS(read_file(dir.dir.string() + "/nope"), doctest::Contains("does not exist"), InputError);
  CHECK_THROWS_WITH_AS(read_file(dir.dir.string()), doctest::Contains("is a directory"), InputError);
  CHECK_THROWS_WITH_AS(read_file(pub, 10), doctest::Contains("more than the limit"), InputError);
  CHECK_THROWS_WITH_AS(write_file(dir.dir.string() + "/no/such/dir/x", pk), doctest::Contains("cannot create"), InputError);
}

}  // namespace
}  // namespace ckks::test

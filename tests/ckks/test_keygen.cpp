// Key generation (ckks/keygen.h) and key-set ids (ckks/keys.h): every key made from one secret key
// records that key's id, ciphertexts carry it through encryption, evaluation and files, and every
// place where two key sets could meet refuses the mix with both ids named.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ckks/fixtures.h"
#include "ckks/math/errors.h"
#include "ckks/serialize.h"

namespace ckks::test {
namespace {

// N = 2^10, q {40, 30, 30}, p {40}: INSECURE, small and fast.
Params keyid_params() {
  Params p;
  p.log_n = 10;
  p.log_q = {40, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

// One key set of a Context, from a fixed seed.
struct KeySet {
  KeyGenerator keygen;
  SecretKey sk;
  PublicKey pk;
  RelinKey rk;
  GaloisKeys gk;
  KeySet(const ContextPtr& ctx, std::uint64_t seed)
      : keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed)),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, {1, 2}, true)) {}
};

// The message of the exception f throws, which must be a KeyMismatchError.
template <class F>
std::string mismatch_message(F&& f) {
  try {
    f();
  } catch (const KeyMismatchError& e) {
    return e.what();
  }
  FAIL("no KeyMismatchError");
  return "";
}

TEST_CASE("ckks/keygen: every key of a key set records the secret key's id") {
  auto ctx = Context::create(keyid_params());
  KeySet a(ctx, 1), a_again(ctx, 1), b(ctx, 2);
  CHECK(a.sk.key_id != 0);
  CHECK(a.sk.key_id == key_id_of(a.sk.s));
  CHECK(a.sk.key_id == a_again.sk.key_id);  // deterministic: the same s gives the same id
  CHECK(a.sk.key_id != b.sk.key_id);
  CHECK(a.pk.key_id == a.sk.key_id);
  CHECK(a.rk.key.key_id == a.sk.key_id);
  REQUIRE(a.gk.keys.size() == 3);
  for (const auto& [g, k] : a.gk.keys) CHECK(k.key_id == a.sk.key_id);
  CHECK(key_id_string(0) == "unknown");
  CHECK(key_id_string(0x1234) == "0000000000001234");
  // The id consumes no randomness: a key set made with ids has the same public key as ever
  // (the fixed-seed known-answer vectors of tests/vectors depend on this).
  CHECK(a.pk.b == a_again.pk.b);
}

TEST_CASE("ckks/keygen: ciphertexts carry their key set through encryption and evaluation") {
  auto ctx = Context::create(keyid_params());
  KeySet a(ctx, 1);
  Encoder enc(ctx);
  Evaluator ev(ctx);
  const cvec z = random_complex(ctx->max_slots(), 3);
  const Plaintext pt = enc.encode(z, ctx->max_level(), ctx->default_scale());
  const Ciphertext ct_pk = Encryptor(ctx, a.pk, math::Csprng::insecure_fixed_seed_for_testing(9)).encrypt(pt);
  const Ciphertext ct_sk = Encryptor(ctx, a.sk, math::Csprng::insecure_fixed_seed_for_testing(9)).encrypt(pt);
  CHECK(ct_pk.key_id == a.sk.key_id);
  CHECK(ct_sk.key_id == a.sk.key_id);
  const Ciphertext prod = ev.rescale(ev.multiply_relin(ct_pk, ct_sk, a.rk));
  CHECK(prod.key_id == a.sk.key_id);
  CHECK(ev.rotate(prod, 1, a.gk).key_id == a.sk.key_id);
  CHECK(ev.conjugate(prod, a.gk).key_id == a.sk.key_id);
  for (const auto& r : ev.rotate_hoisted(prod, {1, 2}, a.gk)) CHECK(r.key_id == a.sk.key_id);
  CHECK(ev.add(ct_pk, ct_sk).key_id == a.sk.key_id);
  // An unknown id (0) takes the other operand's.
  Ciphertext unknown = ct_sk;
  unknown.key_id = 0;
  CHECK(ev.add(unknown, ct_pk).key_id == a.sk.key_id);
  CHECK(ev.multiply(unknown, ct_pk).key_id == a.sk.key_id);
}

TEST_CASE("ckks/keygen: two key sets never meet unnoticed") {
  auto ctx = Context::create(keyid_params());
  KeySet a(ctx, 1), b(ctx, 2);
  Encoder enc(ctx);
  Evaluator ev(ctx);
  const cvec z = random_complex(ctx->max_slots(), 3);
  const Plaintext pt = enc.encode(z, ctx->max_level(), ctx->default_scale());
  const Ciphertext ca = Encryptor(ctx, a.pk, math::Csprng::insecure_fixed_seed_for_testing(7)).encrypt(pt);
  const Ciphertext cb = Encryptor(ctx, b.pk, math::Csprng::insecure_fixed_seed_for_testing(8)).encrypt(pt);
  const std::string ida = key_id_string(a.sk.key_id), idb = key_id_string(b.sk.key_id);

  const std::string dec = mismatch_message([&] { Decryptor(ctx, b.sk).decrypt(ca); });
  CHECK(dec.find("decrypt: the ciphertext belongs to key set " + ida) != std::string::npos);
  CHECK(dec.find("the secret key to key set " + idb) != std::string::npos);
  CHECK(mismatch_message([&] { ev.add(ca, cb); }).find("add: the first ciphertext belongs to key set " + ida) !=
        std::string::npos);
  CHECK(mismatch_message([&] { ev.multiply(ca, cb); }).find("multiply:") != std::string::npos);
  const Ciphertext sq = ev.multiply(ca, ca);
  CHECK(mismatch_message([&] { ev.relinearize(sq, b.rk); }).find("the relinearisation key to key set " + idb) !=
        std::string::npos);
  CHECK(mismatch_message([&] { ev.rotate(ca, 1, b.gk); }).find("the Galois key to key set " + idb) !=
        std::string::npos);
  CHECK(mismatch_message([&] { ev.conjugate(ca, b.gk); }).find("apply_galois") != std::string::npos);
  CHECK(mismatch_message([&] { ev.rotate_hoisted(ca, {1, 2}, b.gk); }).find("rotate_hoisted") != std::string::npos);

  // The right key decrypts; a ciphertext of unknown key set is decrypted unchecked.
  CHECK(precision_bits(enc.decode_complex(Decryptor(ctx, a.sk).decrypt(ca)), z) > 15);
  Ciphertext unknown = ca;
  unknown.key_id = 0;
  CHECK_NOTHROW(Decryptor(ctx, b.sk).decrypt(unknown));
}

TEST_CASE("ckks/keygen: key-set ids survive files; files without them still load") {
  auto ctx = Context::create(keyid_params());
  KeySet a(ctx, 1), b(ctx, 2);
  Encoder enc(ctx);
  const cvec z = random_complex(ctx->max_slots(), 3);
  const Ciphertext ct = Encryptor(ctx, a.pk, math::Csprng::insecure_fixed_seed_for_testing(7))
                            .encrypt(enc.encode(z, ctx->max_level(), ctx->default_scale()));

  const auto blob = serialize(ct);
  CHECK(inspect(blob).key_id == a.sk.key_id);
  CHECK(deserialize_ciphertext(ctx, blob).key_id == a.sk.key_id);
  CHECK(deserialize_public_key(ctx, serialize(a.pk)).key_id == a.sk.key_id);
  CHECK(deserialize_relin_key(ctx, serialize(a.rk)).key.key_id == a.sk.key_id);
  for (const auto& [g, k] : deserialize_galois_keys(ctx, serialize(a.gk)).keys) CHECK(k.key_id == a.sk.key_id);
  CHECK(deserialize_secret_key(ctx, serialize(a.sk)).key_id == a.sk.key_id);  // recomputed from s
  CHECK_THROWS_AS(Decryptor(ctx, b.sk).decrypt(deserialize_ciphertext(ctx, blob)), KeyMismatchError);

  // The same ciphertext as a file written before key-set ids: flag bit 1 clear, no 8-byte id.
  std::vector<std::uint8_t> old(blob.begin(), blob.begin() + 32);
  old.insert(old.end(), blob.begin() + 40, blob.end());
  old[24] &= static_cast<std::uint8_t>(~2u);
  const std::uint64_t payload = blob.size() - 40;
  for (int i = 0; i < 8; ++i) old[16 + i] = static_cast<std::uint8_t>(payload >> (8 * i));
  const Ciphertext legacy = deserialize_ciphertext(ctx, old);
  CHECK(legacy.key_id == 0);
  CHECK(legacy.c == ct.c);
  CHECK(precision_bits(enc.decode_complex(Decryptor(ctx, a.sk).decrypt(legacy)), z) > 15);

  // The flag on an object that has no key-set id, and an id of 0, are refused.
  auto pt_blob = serialize(enc.encode(z, ctx->max_level(), ctx->default_scale()));
  pt_blob[24] |= 2;
  CHECK_THROWS_WITH_AS(inspect(pt_blob), doctest::Contains("has no key-set id"), InputError);
  std::vector<std::uint8_t> zero_id = blob;
  for (int i = 32; i < 40; ++i) zero_id[i] = 0;
  CHECK_THROWS_WITH_AS(deserialize_ciphertext(ctx, zero_id), doctest::Contains("the id is 0"), InputError);
}

}  // namespace
}  // namespace ckks::test

namespace ckks::test {
namespace {

// N = 2^12, q {50, 30 × 6}, p {60, 60}, dnum 4 (digits of 2 primes): INSECURE, small; several digits so
// that a key for a lower level has fewer digits as well as fewer limbs.
Params level_key_params() {
  Params p;
  p.log_n = 12;
  p.log_q = {50, 30, 30, 30, 30, 30, 30};
  p.log_p = {60, 60};
  p.log_scale = 30;
  p.dnum = 4;
  p.allow_insecure = true;
  return p;
}

// (j + s) mod n for a step s of either sign.
std::size_t slot_plus(std::size_t j, int s, std::size_t n) {
  const long m = static_cast<long>(n);
  return static_cast<std::size_t>(((static_cast<long>(j) + s) % m + m) % m);
}

}  // namespace

TEST_CASE("ckks/keygen: Galois keys for a lower top level rotate like full keys, are smaller, and refuse higher levels") {
  Kit k(level_key_params(), 5);
  const int L = k.ctx->max_level();
  REQUIRE(L == 6);
  REQUIRE(k.ctx->alpha() == 2);
  const std::vector<int> steps = {1, -3, 7};
  const GaloisKeys full = k.keygen.galois_keys(k.sk, steps);
  const GaloisKeys low = k.keygen.galois_keys(k.sk, steps, false, 2);
  for (const auto& [g, key] : low.keys) {
    CHECK(key.max_level() == 2);
    CHECK(key.b.size() == 2);             // num_digits(2) = ⌈3/2⌉, against dnum = 4
    CHECK(key.b.front().limbs() == 3 + 2);  // q_0..q_2, p_0, p_1, against 7 + 2
    CHECK(key.a.size() == key.b.size());
    CHECK(full.keys.at(g).max_level() == L);
  }
  const cvec z = random_complex(k.ctx->max_slots(), 11);
  for (int level : {2, 1, 0}) {
    CAPTURE(level);
    const Ciphertext ct = k.encrypt(z, level);
    for (int s : steps) {
      CAPTURE(s);
      cvec want(z.size());
      for (std::size_t j = 0; j < z.size(); ++j) want[j] = z[slot_plus(j, s, z.size())];
      const double bits_low = precision_bits(k.decrypt(k.evaluator.rotate(ct, s, low)), want);
      const double bits_full = precision_bits(k.decrypt(k.evaluator.rotate(ct, s, full)), want);
      CHECK(bits_low >= 16.0);
      CHECK(bits_low >= bits_full - 1.0);
    }
    // the hoisted and summed forms read the same limbs
    const auto hoisted = k.evaluator.rotate_hoisted(ct, steps, low);
    CHECK(precision_bits(k.decrypt(hoisted[1]), k.decrypt(k.evaluator.rotate(ct, -3, full))) >= 16.0);
    const Ciphertext sum = k.evaluator.rotate_sum(ct, steps, low);
    cvec want_sum(z.size());
    for (std::size_t j = 0; j < z.size(); ++j)
      for (int s : steps) want_sum[j] += z[slot_plus(j, s, z.size())];
    CHECK(precision_bits(k.decrypt(sum), want_sum) >= 14.0);
  }
  // above the key's level: LevelError naming both levels
  const Ciphertext high = k.encrypt(z, 3);
  CHECK_THROWS_WITH_AS(k.evaluator.rotate(high, 1, low), doctest::Contains("up to level 2 but the ciphertext is at level 3"),
                       LevelError);
  CHECK_THROWS_AS(k.evaluator.rotate_hoisted(high, steps, low), LevelError);
  CHECK_THROWS_AS(k.evaluator.rotate_sum(high, steps, low), LevelError);
  // keys of several levels in one GaloisKeys: each rotation uses its own
  GaloisKeys mixed = k.keygen.galois_keys(k.sk, {1}, false, 4);
  GaloisKeys more = k.keygen.galois_keys(k.sk, {2}, false, 1);
  mixed.keys.merge(more.keys);
  const Ciphertext at1 = k.encrypt(z, 1);
  const Ciphertext sums[] = {k.evaluator.rotate(at1, 1, mixed), k.evaluator.rotate(at1, 2, mixed)};
  const Ciphertext* ptrs[] = {&sums[0], &sums[1]};
  const int two[] = {1, 2};
  const Ciphertext* at1s[] = {&at1, &at1};
  CHECK(precision_bits(k.decrypt(k.evaluator.sum_rotations(at1s, two, mixed)),
                       k.decrypt(k.evaluator.add(*ptrs[0], *ptrs[1]))) >= 14.0);
  // bad levels
  CHECK_THROWS_AS(k.keygen.galois_keys(k.sk, {1}, false, 7), ParameterError);
  CHECK_THROWS_AS(k.keygen.galois_keys(k.sk, {1}, false, -2), ParameterError);
  CHECK_THROWS_AS(k.keygen.galois_keys(k.sk, {}, false, 9), ParameterError);
}

TEST_CASE("ckks/keygen: Galois keys for a lower level survive files, seeded and not") {
  Kit k(level_key_params(), 6);
  GaloisKeys gk = k.keygen.galois_keys(k.sk, {1, 5}, true, 3);
  GaloisKeys full = k.keygen.galois_keys(k.sk, {2});
  gk.keys.merge(full.keys);
  const Ciphertext ct = k.encrypt(random_complex(k.ctx->max_slots(), 12), 3);
  for (const bool seeded : {true, false}) {
    CAPTURE(seeded);
    const auto blob = serialize(gk, seeded);
    const GaloisKeys back = deserialize_galois_keys(k.ctx, blob);
    REQUIRE(back.keys.size() == gk.keys.size());
    for (const auto& [g, key] : gk.keys) {
      const KeySwitchKey& b = back.keys.at(g);
      CHECK(b.max_level() == key.max_level());
      CHECK(b.b.size() == key.b.size());
      for (std::size_t j = 0; j < key.b.size(); ++j) {
        CHECK(b.b[j] == key.b[j]);
        CHECK(b.a[j] == key.a[j]);
      }
    }
    for (int s : {1, 5, 2}) {
      const Ciphertext x = k.evaluator.rotate(ct, s, gk), y = k.evaluator.rotate(ct, s, back);
      CHECK(x.c[0] == y.c[0]);
      CHECK(x.c[1] == y.c[1]);
    }
  }
  // a key whose digit count does not match its limb count is refused by name
  std::vector<std::uint8_t> blob = serialize(k.keygen.galois_keys(k.sk, {1}, false, 3), false);
  // the payload's first key: u32 count, u64 element, u32 dnum (2 for level 3) → 3
  const std::size_t dnum_at = 32 + 8 + 4 + 8;
  REQUIRE(blob.size() > dnum_at + 4);
  CHECK(blob[dnum_at] == 2);
  blob[dnum_at] = 3;
  CHECK_THROWS_WITH_AS(deserialize_galois_keys(k.ctx, blob), doctest::Contains("no level of these parameters has that shape"),
                       InputError);
}

}  // namespace ckks::test

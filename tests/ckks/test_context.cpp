// Params → Context: validation, security check, prime chain, presets.
#include <doctest/doctest.h>

#include <sstream>
#include <iostream>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/math/primes.h"
#include "ckks/serialize.h"
#include "fixtures.h"

using namespace ckks;

namespace {
std::string error_of(const Params& p) {
  try {
    Context::create(p);
  } catch (const ParameterError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("ckks/context: presets are 128-bit secure and build the chain they describe") {
  for (auto p : {Params::preset_n13(), Params::preset_n14(), Params::preset_n15()}) {
    auto ctx = Context::create(p);
    CHECK(ctx->security_bits() == 128);
    CHECK(ctx->n() == (std::size_t(1) << p.log_n));
    CHECK(ctx->max_level() == static_cast<int>(p.log_q.size()) - 1);
    CHECK(ctx->log_qp() <= max_log_qp_128(p.log_n));
    for (int i = 0; i <= ctx->max_level(); ++i) {
      const std::uint64_t q = ctx->q(i).value();
      CHECK(q % (2 * ctx->n()) == 1);
      CHECK(math::is_prime(q));
      CHECK(64 - __builtin_clzll(q) == p.log_q[i]);
    }
    for (std::size_t j = 0; j < ctx->num_special(); ++j) CHECK(ctx->p(j).value() % (2 * ctx->n()) == 1);
  }
}

TEST_CASE("ckks/context: the 128-bit table of the HomomorphicEncryption.org standard") {
  CHECK(max_log_qp_128(13) == 218);
  CHECK(max_log_qp_128(14) == 438);
  CHECK(max_log_qp_128(15) == 881);
  CHECK(max_log_qp_128(16) == 1747);
  CHECK(max_log_qp_128(9) == 0);
}

TEST_CASE("ckks/context: dnum and digits") {
  Params p = Params::preset_n15();  // 19 data primes, one special prime: one prime per digit
  auto ctx = Context::create(p);
  CHECK(ctx->alpha() == 1);
  CHECK(ctx->dnum() == 19);
  auto c2 = Context::create(test::precision_n14());  // 4 data primes, 2 special: digits of 2
  CHECK(c2->alpha() == 2);
  CHECK(c2->dnum() == 2);
  CHECK(c2->num_digits(0) == 1);
  CHECK(c2->num_digits(2) == 2);
}

TEST_CASE("ckks/context: insecure parameters are refused, and accepted only when asked") {
  Params p;
  p.log_n = 14;
  p.log_q = std::vector<int>(10, 50);  // 500 + 60 bits > 438
  p.log_p = {60};
  const std::string msg = error_of(p);
  CHECK(msg.find("not 128-bit secure") != std::string::npos);
  CHECK(msg.find("438") != std::string::npos);
  CHECK(msg.find("allow_insecure") != std::string::npos);

  p.allow_insecure = true;
  std::ostringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  auto ctx = Context::create(p);
  std::cerr.rdbuf(old);
  CHECK(ctx->security_bits() == 0);
  CHECK(captured.str().find("INSECURE") != std::string::npos);

  Params tiny = test::tiny_insecure();
  tiny.allow_insecure = false;
  CHECK(error_of(tiny).find("outside the 128-bit table") != std::string::npos);

  Params sparse = Params::preset_n13();
  sparse.secret = SecretDistribution::HammingWeight;
  sparse.hamming_weight = 64;
  CHECK(error_of(sparse).find("Hamming") != std::string::npos);
}

TEST_CASE("ckks/context: malformed parameters name the value and the fix") {
  Params p = Params::preset_n13();
  p.log_n = 0;
  CHECK(error_of(p).find("log_n = 0") != std::string::npos);
  p.log_n = 18;
  CHECK(error_of(p).find("log_n = 18") != std::string::npos);

  p = Params::preset_n13();
  p.log_q = {60, 70};
  CHECK(error_of(p).find("70 bits") != std::string::npos);
  p.log_q = {};
  CHECK(error_of(p).find("empty") != std::string::npos);

  p = Params::preset_n13();
  p.log_p = {};
  CHECK(error_of(p).find("special primes") != std::string::npos);

  p = Params::preset_n13();
  p.dnum = 7;
  CHECK(error_of(p).find("dnum = 7") != std::string::npos);

  p = Params::preset_n13();
  p.log_scale = 200;  // larger than Q_L = 2^140
  CHECK(error_of(p).find("scale") != std::string::npos);

  p = Params::preset_n13();
  p.log_p = {30};  // P = 2^30 smaller than the 60-bit digit q_0
  CHECK(error_of(p).find("special primes") != std::string::npos);

  p = Params::preset_n13();
  p.secret = SecretDistribution::HammingWeight;
  p.hamming_weight = 0;
  p.allow_insecure = true;
  CHECK(error_of(p).find("Hamming weight h = 0") != std::string::npos);
}

TEST_CASE("ckks/context: a prime that is not NTT-friendly is rejected") {
  // 2^40 − 87 is prime but not ≡ 1 mod 2N for N = 2^13.
  const std::uint64_t q = (std::uint64_t(1) << 40) - 87;
  REQUIRE(math::is_prime(q));
  REQUIRE(q % (1 << 14) != 1);
  CHECK_THROWS_AS(math::NttTables(1 << 13, math::Modulus(q)), ParameterError);
  CHECK_THROWS_AS(math::generate_ntt_primes(40, 1, 1000), ParameterError);  // N not a power of two
}

TEST_CASE("ckks/context: Galois elements") {
  auto ctx = Context::create(Params::preset_n13());
  const std::uint64_t two_n = 2 * ctx->n();
  CHECK(ctx->galois_element(0) == 1);
  CHECK(ctx->galois_element(1) == 5);
  CHECK(ctx->galois_element(2) == 25);
  CHECK((ctx->galois_element(-1) * 5) % two_n == 1);
  CHECK(ctx->galois_element(static_cast<int>(ctx->n() / 2)) == 1);  // order of 5 is N/2
  CHECK(ctx->conjugation_element() == two_n - 1);
}

TEST_CASE("ckks/context: explicit primes equal to the generated chain give identical keys and ciphertexts") {
  test::Kit by_size(Params::preset_n13(), 7);
  Params p = Params::preset_n13();
  p.log_q = {};  // not used once q_primes is given
  p.log_p = {};
  for (int i = 0; i <= by_size.ctx->max_level(); ++i) p.q_primes.push_back(by_size.ctx->q(i).value());
  p.p_primes.push_back(by_size.ctx->p(0).value());
  test::Kit by_value(p, 7);
  CHECK(by_value.ctx->params().log_q == Params::preset_n13().log_q);  // their bit sizes
  CHECK(by_value.ctx->params().log_p == Params::preset_n13().log_p);
  CHECK(by_value.ctx->security_bits() == 128);
  CHECK(fingerprint(*by_value.ctx) == fingerprint(*by_size.ctx));
  CHECK(by_value.sk.s.data() == by_size.sk.s.data());
  const test::cvec z = test::random_complex(by_size.ctx->max_slots(), 3);
  const Ciphertext a = by_size.encrypt(z), b = by_value.encrypt(z);
  REQUIRE(a.c.size() == b.c.size());
  for (std::size_t i = 0; i < a.c.size(); ++i) CHECK(a.c[i].data() == b.c[i].data());
  // A ciphertext written under one Context loads under the other (same fingerprint).
  const Ciphertext moved = deserialize_ciphertext(by_value.ctx, serialize(a));
  CHECK(moved.c[0].data() == b.c[0].data());
  CHECK(precision_bits(by_value.decrypt(moved), z) >= 20);
}

TEST_CASE("ckks/context: explicit primes are in the fingerprint and in serialized Params") {
  const auto ctx = Context::create(Params::preset_n13());
  Params p = Params::preset_n13();
  const auto forty = math::generate_ntt_primes(40, 3, ctx->n());
  p.q_primes = {ctx->q(0).value(), forty[2], forty[1]};  // same sizes as the preset, other primes
  const auto other = Context::create(p);
  CHECK(other->params().log_q == ctx->params().log_q);
  CHECK(other->p(0).value() == ctx->p(0).value());  // p still generated from log_p
  CHECK(fingerprint(*other) != fingerprint(*ctx));
  test::Kit k(Params::preset_n13(), 2);
  const auto blob = serialize(k.encrypt(test::random_complex(8, 4)));
  CHECK_THROWS_AS(deserialize_ciphertext(other, blob), ParameterError);  // fingerprint differs
  const Params back = deserialize_params(serialize(p));
  CHECK(back.q_primes == p.q_primes);
  CHECK(back.p_primes.empty());
  CHECK(fingerprint(*Context::create(back)) == fingerprint(*other));
  CHECK(p.describe() == "N=2^13 q=!{60,40,40} p={60} scale=2^40");
}

TEST_CASE("ckks/context: explicit primes that are unusable name the value and the fix") {
  const std::size_t N = std::size_t(1) << 13;
  const std::uint64_t two_n = 2 * N;
  const auto sixty = math::generate_ntt_primes(60, 2, N), forty = math::generate_ntt_primes(40, 2, N);
  auto with_q = [&](std::vector<std::uint64_t> q) {
    Params p = Params::preset_n13();
    p.q_primes = std::move(q);
    return error_of(p);
  };
  // A log_n far outside [1, 17] with explicit primes is named, not shifted by (found by fuzz_params).
  {
    Params p = Params::preset_n13();
    p.q_primes = {sixty[1], forty[0]};
    p.log_n = -2147483643;
    CHECK(error_of(p).find("log_n = -2147483643 is outside [1, 17]") != std::string::npos);
  }
  // 40961 = 5·2^13 + 1 is prime and ≡ 1 mod 2N, but only 16 bits.
  REQUIRE(math::is_prime(40961));
  std::string msg = with_q({sixty[1], 40961, forty[0]});
  CHECK(msg.find("q_primes[1] = 40961 has 16 bits") != std::string::npos);
  CHECK(msg.find("[20, 61]") != std::string::npos);
  // 62 bits: beyond what the arithmetic supports.
  const std::uint64_t big = math::generate_ntt_primes(61, 1, N)[0] + (std::uint64_t(1) << 61);
  msg = with_q({big, forty[0]});
  CHECK(msg.find("has 62 bits") != std::string::npos);
  // Prime but not NTT-friendly.
  const std::uint64_t not_friendly = (std::uint64_t(1) << 40) - 87;
  REQUIRE(math::is_prime(not_friendly));
  msg = with_q({sixty[1], not_friendly});
  CHECK(msg.find("q_primes[1] = " + std::to_string(not_friendly) + " is not ≡ 1 mod 2N = 16384") !=
        std::string::npos);
  CHECK(msg.find("k·2N + 1") != std::string::npos);
  // ≡ 1 mod 2N but composite.
  std::uint64_t composite = forty[0] - two_n;
  while (math::is_prime(composite)) composite -= two_n;
  msg = with_q({sixty[1], composite});
  CHECK(msg.find("q_primes[1] = " + std::to_string(composite) + " is not prime") != std::string::npos);
  // Repeated, within q and across q and p.
  msg = with_q({sixty[1], forty[0], forty[0]});
  CHECK(msg.find("q_primes[2] = " + std::to_string(forty[0]) + " is given twice") != std::string::npos);
  Params p = Params::preset_n13();
  p.q_primes = {sixty[1], forty[0], forty[1]};
  p.p_primes = {sixty[1]};
  msg = error_of(p);
  CHECK(msg.find("p_primes[0] = " + std::to_string(sixty[1]) + " is given twice") != std::string::npos);
  // The security check counts the primes' actual sizes: 4·60 + 60 = 300 bits > 218 for N = 2^13.
  const auto more = math::generate_ntt_primes(60, 5, N);
  p.q_primes = {more[0], more[1], more[2], more[3]};
  p.p_primes = {more[4]};
  msg = error_of(p);
  CHECK(msg.find("not 128-bit secure") != std::string::npos);
  CHECK(msg.find("300 bits exceeds the 128-bit bound 218") != std::string::npos);
  // Generated special primes avoid the explicit data primes.
  p = Params::preset_n13();
  p.q_primes = {sixty[0], forty[0], forty[1]};
  const auto ctx = Context::create(p);
  CHECK(ctx->p(0).value() == sixty[1]);
}

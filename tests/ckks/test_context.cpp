// Params → Context: validation, security check, prime chain, presets.
#include <doctest/doctest.h>

#include <sstream>
#include <iostream>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/math/primes.h"
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

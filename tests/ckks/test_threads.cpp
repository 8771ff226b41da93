// The library's thread count (ckks/threads.h): every scheme operation gives bit-identical results
// at 1, 2 and 3 threads (3 splits the limbs unevenly), and the setting's contract (errors, nesting).
#include <doctest/doctest.h>

#include <vector>

#include "ckks/fixtures.h"
#include "ckks/threads.h"

namespace ckks::test {
namespace {

// Restores the process-wide thread count when a test ends, whatever it set.
struct ThreadCountGuard {
  int saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

// The precision set with one more data prime at N = 2^12: q {60, 40, 40, 40, 40}, p {60, 60},
// dnum 3 (α = 2, the last digit shorter): several digits and special primes, so ModUp, the key inner
// product and ModDown all run over several limbs. INSECURE (log QP ≈ 340 bits at N = 2^12), for speed.
Params threads_params() {
  Params p = precision_n14();
  p.log_n = 12;
  p.log_q.push_back(40);
  p.allow_insecure = true;
  return p;
}

// Everything one run produces, compared exactly between thread counts.
struct Outputs {
  RelinKey rk;
  GaloisKeys gk;
  Plaintext encoded;
  std::vector<Ciphertext> cts;  // encrypt, multiply, relinearize, rescale, rotate, conjugate, hoisted
  std::vector<std::complex<double>> decoded;
  std::vector<long double> coefficients;
};

Outputs run_scheme(int threads) {
  set_num_threads(threads);
  Kit kit(threads_params(), 7);  // key generation too runs its NTTs on `threads` threads
  Outputs o{kit.keygen.relin_key(kit.sk), kit.keygen.galois_keys(kit.sk, {1, 5, -3}, true), {}, {}, {}, {}};
  const Context& ctx = *kit.ctx;
  o.encoded = kit.encoder.encode(random_complex(ctx.max_slots(), 11), ctx.max_level(), ctx.default_scale());
  const Ciphertext x = kit.encryptor.encrypt(o.encoded);
  const Ciphertext y = kit.encrypt(random_complex(ctx.max_slots(), 12));
  const Evaluator& ev = kit.evaluator;
  const Ciphertext prod = ev.multiply(x, y);
  const Ciphertext relin = ev.relinearize(prod, o.rk);
  const Ciphertext resc = ev.rescale(relin);
  o.cts = {x, prod, relin, resc, ev.rotate(resc, 1, o.gk), ev.rotate(resc, -3, o.gk), ev.conjugate(resc, o.gk)};
  for (auto& r : ev.rotate_hoisted(resc, {1, 5, -3}, o.gk)) o.cts.push_back(r);
  const Plaintext dec = kit.decryptor.decrypt(o.cts.back());
  o.decoded = kit.encoder.decode_complex(dec);
  o.coefficients = kit.encoder.coefficients(dec);
  return o;
}

TEST_CASE("ckks/threads: encode, encrypt, multiply, relinearize, rescale, rotate, hoisted rotations, "
          "decode are bit-identical at 1, 2 and 3 threads") {
  const ThreadCountGuard guard;
  const Outputs one = run_scheme(1);
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    const Outputs many = run_scheme(threads);
    CHECK(many.rk.key.b == one.rk.key.b);
    CHECK(many.rk.key.a == one.rk.key.a);
    REQUIRE(many.gk.keys.size() == one.gk.keys.size());
    for (const auto& [g, key] : one.gk.keys) {
      CAPTURE(g);
      CHECK(many.gk.keys.at(g).b == key.b);
      CHECK(many.gk.keys.at(g).a == key.a);
    }
    CHECK(many.encoded.poly == one.encoded.poly);
    REQUIRE(many.cts.size() == one.cts.size());
    for (std::size_t i = 0; i < one.cts.size(); ++i) {
      CAPTURE(i);
      CHECK(many.cts[i].c == one.cts[i].c);
      CHECK(many.cts[i].level == one.cts[i].level);
      CHECK(many.cts[i].scale == one.cts[i].scale);
    }
    CHECK(many.decoded == one.decoded);
    CHECK(many.coefficients == one.coefficients);
  }
  // The operations did change the data (the comparison is not between equal inputs).
  CHECK(one.cts[4].c != one.cts[3].c);
  CHECK(one.cts[2].c != one.cts[0].c);
}

TEST_CASE("ckks/threads: key switching's entry points are bit-identical at 1 and 2 threads") {
  const ThreadCountGuard guard;
  Kit kit(threads_params(), 3);
  const RelinKey rk = kit.keygen.relin_key(kit.sk);
  const Context& ctx = *kit.ctx;
  const Ciphertext x = kit.encrypt(random_complex(ctx.max_slots(), 5));
  for (int level : {ctx.max_level(), 2, 0}) {
    CAPTURE(level);
    math::RnsPoly d = x.c[1];
    d.truncate(static_cast<std::size_t>(level) + 1);
    set_num_threads(1);
    const auto ks1 = key_switch(ctx, d, level, rk.key);
    const DecomposedPoly dec1 = decompose(ctx, d, level);
    const auto ksd1 = key_switch_decomposed(ctx, dec1, rk.key, nullptr);
    set_num_threads(2);
    const auto ks2 = key_switch(ctx, d, level, rk.key);
    const DecomposedPoly dec2 = decompose(ctx, d, level);
    const auto ksd2 = key_switch_decomposed(ctx, dec2, rk.key, nullptr);
    CHECK(ks2 == ks1);
    REQUIRE(dec2.digits.size() == dec1.digits.size());
    for (std::size_t j = 0; j < dec1.digits.size(); ++j) CHECK(dec2.digits[j] == dec1.digits[j]);
    CHECK(ksd2 == ksd1);
    CHECK(ks1 == ksd1);  // the fused and the hoisted paths agree, whatever the thread count
  }
}

TEST_CASE("ckks/threads: the setting — default, errors, nesting") {
  const ThreadCountGuard guard;
  CHECK(num_threads() >= 1);
  CHECK_THROWS_AS(set_num_threads(0), ParameterError);
  CHECK_THROWS_AS(set_num_threads(-2), ParameterError);
  set_num_threads(2);
  CHECK(num_threads() == 2);
  CHECK(math::loop_threads(8, math::kMinParallelWork) == 2);
  CHECK(math::loop_threads(1, math::kMinParallelWork) == 1);  // one limb: no team
  {
    const SingleThreadedScope outer;
    CHECK(math::loop_threads(8, math::kMinParallelWork) == 1);
    {
      const SingleThreadedScope inner;
      CHECK(math::loop_threads(8, math::kMinParallelWork) == 1);
    }
    CHECK(math::loop_threads(8, math::kMinParallelWork) == 1);  // still inside `outer`
  }
  CHECK(math::loop_threads(8, math::kMinParallelWork) == 2);
  set_num_threads(5);
  CHECK(math::loop_threads(3, math::kMinParallelWork) == 3);  // never more threads than limbs
}

}  // namespace
}  // namespace ckks::test

// The library's thread count (ckks/threads.h): every scheme operation gives bit-identical results
// at 1, 2 and 3 threads (3 splits the limbs unevenly), with every limb loop forked (work threshold
// 0) and with the default threshold; the setting's contract (errors, nesting, threshold); and the
// fork-join itself (every index once, scratch per block, exceptions reach the caller).
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ckks/fixtures.h"
#include "ckks/threads.h"

namespace ckks::test {
namespace {

// Restores the process-wide thread count and work threshold when a test ends, whatever it set.
struct ThreadCountGuard {
  int saved = num_threads();
  std::size_t saved_work = math::min_parallel_work();
  ~ThreadCountGuard() {
    set_num_threads(saved);
    math::set_min_parallel_work(saved_work);
  }
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
  // encrypt, multiply, relinearize, rescale, rotate, conjugate, hoisted, then add, sub, negate,
  // multiply_plain, multiply_sum, multiply_const, multiply_relin, drop_level
  std::vector<Ciphertext> cts;
  std::vector<std::complex<double>> decoded;
  std::vector<long double> coefficients;
};

Outputs run_scheme(int threads, std::size_t min_work) {
  set_num_threads(threads);
  math::set_min_parallel_work(min_work);
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
  const Ciphertext* xs[] = {&x, &y};
  const Plaintext* ps[] = {&o.encoded, &o.encoded};
  for (auto& r : {ev.add(x, y), ev.sub(x, y), ev.negate(x), ev.multiply(x, o.encoded), ev.multiply_sum(xs, ps),
                  ev.multiply_const(x, {0.5, -1.25}), ev.multiply_relin(x, y, o.rk), ev.drop_level(x, 1)})
    o.cts.push_back(r);
  const Plaintext dec = kit.decryptor.decrypt(o.cts[o.cts.size() - 9]);  // the last hoisted rotation
  o.decoded = kit.encoder.decode_complex(dec);
  o.coefficients = kit.encoder.coefficients(dec);
  return o;
}

TEST_CASE("ckks/threads: key generation, encode, encrypt, every evaluator verb, hoisted rotations and "
          "decode are bit-identical at 1, 2 and 3 threads") {
  const ThreadCountGuard guard;
  const Outputs one = run_scheme(1, math::kMinParallelWork);
  // Threshold 0: every limb loop of ≥ 2 items forks (at N = 2^12 most loops are below the default
  // threshold); default threshold: the mix of serial and forked loops the library really runs.
  for (auto [threads, min_work] : {std::pair{2, std::size_t{0}}, std::pair{3, std::size_t{0}},
                                   std::pair{2, math::kMinParallelWork}}) {
    CAPTURE(threads);
    CAPTURE(min_work);
    const Outputs many = run_scheme(threads, min_work);
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
    math::set_min_parallel_work(0);
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

// Set B of bench_ckks (N = 2^14, q {60, 40 × 6}, one special prime, dnum 7) with the default work
// threshold: the loops that fork here are the ones the two-thread benchmark rows time (the split
// special FFT of encode, the per-limb reduction + NTT, key switching's four loops with relinearize's
// additions and rotate's permutations inside them), not the all-forking threshold-0 runs above.
TEST_CASE("ckks/threads: encode, relinearize and rotate at set B are bit-identical at 1 and 2 threads") {
  const ThreadCountGuard guard;
  math::set_min_parallel_work(math::kMinParallelWork);
  set_num_threads(1);
  Kit kit(seal_like_b(), 21);
  const Context& ctx = *kit.ctx;
  const RelinKey rk = kit.keygen.relin_key(kit.sk);
  const GaloisKeys gk = kit.keygen.galois_keys(kit.sk, {1, -5}, true);
  const auto z1 = random_complex(ctx.max_slots(), 22), z2 = random_complex(ctx.max_slots(), 23);
  const Ciphertext x = kit.encrypt(z1), y = kit.encrypt(z2);
  const Ciphertext prod = kit.evaluator.multiply(x, y);
  struct Run {
    // encodings at N/2 slots, 64 slots (gap 128), 4 slots (gap 2^11) and 1 slot (one value pair)
    Plaintext full, sparse, four, one_slot;
    std::vector<std::complex<double>> ifft;
    Ciphertext relin, rot1, rot_5, conj;
  };
  auto run = [&](int threads) {
    set_num_threads(threads);
    Run r;
    r.full = kit.encoder.encode(z1, ctx.max_level(), ctx.default_scale());
    r.sparse = kit.encoder.encode(std::span(z2).first(64), ctx.max_level(), ctx.default_scale(), 64);
    r.four = kit.encoder.encode(std::span(z2).first(4), ctx.max_level(), ctx.default_scale(), 4);
    r.one_slot = kit.encoder.encode(std::span(z1).first(1), ctx.max_level(), ctx.default_scale(), 1);
    r.ifft = z2;
    kit.encoder.special_ifft(r.ifft);
    r.relin = kit.evaluator.relinearize(prod, rk);
    r.rot1 = kit.evaluator.rotate(r.relin, 1, gk);
    r.rot_5 = kit.evaluator.rotate(x, -5, gk);
    r.conj = kit.evaluator.conjugate(x, gk);
    return r;
  };
  const Run one = run(1), two = run(2);
  CHECK(two.full.poly == one.full.poly);
  CHECK(two.sparse.poly == one.sparse.poly);
  CHECK(two.four.poly == one.four.poly);
  CHECK(two.one_slot.poly == one.one_slot.poly);
  CHECK(two.ifft == one.ifft);
  CHECK(two.relin.c == one.relin.c);
  CHECK(two.rot1.c == one.rot1.c);
  CHECK(two.rot_5.c == one.rot_5.c);
  CHECK(two.conj.c == one.conj.c);
  // And the results are right, so that the comparison is between working outputs: the slots of the
  // relinearised product (scale Δ², rescaled) and of the rotations.
  const auto prod_slots = kit.decrypt(kit.evaluator.rescale(two.relin));
  const auto rot_slots = kit.decrypt(two.rot_5);
  const std::size_t n = ctx.max_slots();
  double e_prod = 0, e_rot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    e_prod = std::max(e_prod, std::abs(prod_slots[i] - z1[i] * z2[i]));
    e_rot = std::max(e_rot, std::abs(rot_slots[i] - z1[(i + n - 5) % n]));
  }
  CHECK(e_prod < 1e-4);
  CHECK(e_rot < 1e-4);
}

TEST_CASE("ckks/threads: the setting — default, errors, threshold, nesting") {
  const ThreadCountGuard guard;
  CHECK(num_threads() >= 1);
  CHECK_THROWS_AS(set_num_threads(0), ParameterError);
  CHECK_THROWS_WITH_AS(set_num_threads(-2), doctest::Contains("thread count -2"), ParameterError);
  set_num_threads(2);
  CHECK(num_threads() == 2);
  CHECK(math::min_parallel_work() == math::kMinParallelWork);
  const std::size_t big = math::kMinParallelWork;
  CHECK(math::loop_threads(8, big) == 2);
  CHECK(math::loop_threads(8, big - 1) == 1);  // too little work to pay for a thread
  CHECK(math::loop_threads(1, big) == 1);      // one limb: nothing to split
  math::set_min_parallel_work(0);
  CHECK(math::loop_threads(8, 0) == 2);
  math::set_min_parallel_work(big);
  {
    const SingleThreadedScope outer;
    CHECK(math::loop_threads(8, big) == 1);
    {
      const SingleThreadedScope inner;
      CHECK(math::loop_threads(8, big) == 1);
    }
    CHECK(math::loop_threads(8, big) == 1);  // still inside `outer`
  }
  CHECK(math::loop_threads(8, big) == 2);
  set_num_threads(5);
  CHECK(math::loop_threads(3, big) == 3);  // never more threads than limbs
  CHECK(math::ntt_work(1 << 12) == (1 << 11) * 12);
}

TEST_CASE("ckks/threads: parallel_for_limbs calls every index once, in contiguous blocks, serially inside a block") {
  const ThreadCountGuard guard;
  math::set_min_parallel_work(0);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (std::size_t n : {0, 1, 2, 5, 7}) {
      CAPTURE(threads);
      CAPTURE(n);
      std::vector<int> calls(n, 0), nested(n, -1);
      std::vector<std::thread::id> who(n);
      math::parallel_for_limbs(n, 0, [&](std::size_t i) {
        ++calls[i];
        who[i] = std::this_thread::get_id();
        nested[i] = math::loop_threads(8, 0);  // a loop started inside a forked block runs serially
      });
      for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        CHECK(calls[i] == 1);
        // n = 1 does not fork: its one iteration runs on the caller, free to fork inside.
        CHECK(nested[i] == (n >= 2 ? 1 : threads));
      }
      // Contiguous blocks [t·n/T, (t+1)·n/T), each on one thread, the first on the caller. Which
      // thread runs the other blocks is the backend's choice: with oneTBB the caller runs a block
      // no worker has taken yet, so blocks may share a thread.
      const std::size_t blocks = std::min<std::size_t>(n, static_cast<std::size_t>(threads));
      if (n > 0) CHECK(who[0] == std::this_thread::get_id());
      for (std::size_t t = 0; t < blocks; ++t)
        for (std::size_t i = t * n / blocks; i < (t + 1) * n / blocks; ++i) CHECK(who[i] == who[t * n / blocks]);
      if (std::string(math::thread_backend()) == "std::jthread") {  // one new thread per block
        std::size_t changes = 0;
        for (std::size_t i = 1; i < n; ++i) changes += who[i] != who[i - 1];
        CHECK(changes + 1 == blocks + (n == 0));
      }
      // The scratch form: one make_scratch() per block, reused by the block's iterations.
      std::atomic<int> made{0};
      std::vector<int> sums(n, 0);
      math::parallel_for_limbs(n, 0, [&] { ++made; return std::vector<int>{0}; },
                               [&](std::size_t i, std::vector<int>& scratch) {
                                 scratch[0] += 1;
                                 sums[i] = scratch[0];
                               });
      CHECK(made.load() == static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(threads))));
      int total = 0;
      for (int v : sums) total += v == 1;
      CHECK(total == static_cast<int>(made.load()));  // each block's first iteration saw a fresh scratch
    }
  }
  CHECK(math::loop_threads(8, 0) == 3);  // outside the loops the setting applies again
}

TEST_CASE("ckks/threads: an exception thrown inside a parallel loop reaches the caller after the join") {
  const ThreadCountGuard guard;
  math::set_min_parallel_work(0);
  set_num_threads(2);
  std::atomic<int> done{0};
  // Index 5 is in the second block of [0, 6), run by the new thread.
  CHECK_THROWS_WITH_AS(math::parallel_for_limbs(6, 0,
                                                [&](std::size_t i) {
                                                  if (i == 5) throw std::runtime_error("limb 5 failed");
                                                  ++done;
                                                }),
                       "limb 5 failed", std::runtime_error);
  CHECK(done.load() == 5);  // joined before the rethrow: every other iteration has finished
  // Both blocks throw: the caller gets the lowest-numbered block's exception.
  set_num_threads(3);
  CHECK_THROWS_WITH_AS(math::parallel_for_limbs(6, 0,
                                                [&](std::size_t i) {
                                                  if (i == 1 || i == 4) throw ParameterError("limb " + std::to_string(i));
                                                }),
                       "limb 1", ParameterError);
  // The scratch form too, and the library is usable afterwards.
  CHECK_THROWS_AS(math::parallel_for_limbs(3, 0, [] { return 0; },
                                           [](std::size_t i, int&) {
                                             if (i == 2) throw std::out_of_range("limb 2");
                                           }),
                  std::out_of_range);
  std::vector<int> calls(4, 0);
  math::parallel_for_limbs(4, 0, [&](std::size_t i) { ++calls[i]; });
  CHECK(calls == std::vector<int>(4, 1));
}

TEST_CASE("ckks/threads: run_on_threads calls every t once, t = 0 on the caller, loops inside stay serial, lowest error first") {
  const ThreadCountGuard guard;
  set_num_threads(2);
  for (std::size_t threads : {0, 1, 2, 3}) {
    CAPTURE(threads);
    std::vector<int> calls(threads, 0), nested(threads, -1);
    std::vector<std::thread::id> who(threads);
    run_on_threads(threads, [&](std::size_t t) {
      ++calls[t];
      who[t] = std::this_thread::get_id();
      nested[t] = math::loop_threads(8, std::size_t{1} << 30);
    });
    for (std::size_t t = 0; t < threads; ++t) {
      CAPTURE(t);
      CHECK(calls[t] == 1);
      CHECK(nested[t] == (threads == 1 ? 2 : 1));  // one stripe runs on the caller without a scope
    }
    if (threads > 0) CHECK(who[0] == std::this_thread::get_id());
  }
  // Stripes 1 and 2 throw: the caller sees stripe 1's exception, after every stripe has run.
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH_AS(run_on_threads(3,
                                      [&](std::size_t t) {
                                        ++ran;
                                        if (t > 0) throw std::runtime_error("stripe " + std::to_string(t));
                                      }),
                       "stripe 1", std::runtime_error);
  CHECK(ran.load() == 3);
}

}  // namespace
}  // namespace ckks::test

// Thread safety as the headers state it (ckks/context.h): one Context, Encoder, Evaluator,
// Decryptor and one set of keys shared by several threads, each thread with its own Encryptor,
// give results bit-identical to the same work done on one thread. Run under ThreadSanitizer by
// .ci/run (CKKS_TSAN build), where a data race is a finding even when the results agree.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "ckks/fixtures.h"
#include "ckks/linear_transform.h"

namespace ckks::test {
namespace {

// N = 2^11, q {50, 40, 40}, p {50, 50}, dnum 2: INSECURE, small enough for a sanitizer build.
Params concurrency_params() {
  Params p;
  p.log_n = 11;
  p.log_q = {50, 40, 40};
  p.log_p = {50, 50};
  p.log_scale = 40;
  p.allow_insecure = true;
  return p;
}

struct Shared {
  ContextPtr ctx = Context::create(concurrency_params());
  KeyGenerator keygen{ctx, math::Csprng::insecure_fixed_seed_for_testing(1)};
  SecretKey sk = keygen.secret_key();
  PublicKey pk = keygen.public_key(sk);
  RelinKey rk = keygen.relin_key(sk);
  GaloisKeys gk = keygen.galois_keys(sk, {1, 2, 3, 4, 8}, true);
  Encoder encoder{ctx};
  Evaluator ev{ctx};
  Decryptor decryptor{ctx, sk};
};

// One thread's work, from its own seed: encode, encrypt, square, rescale, rotate (plain and
// hoisted), conjugate, a slot sum, decrypt. Returns the output ciphertext and the decoded values.
struct Result {
  Ciphertext ct;
  cvec decoded;
};
Result work(const Shared& s, std::uint64_t seed) {
  Encryptor enc(s.ctx, s.pk, math::Csprng::insecure_fixed_seed_for_testing(100 + seed));
  const cvec z = random_complex(s.ctx->max_slots(), seed);
  const Ciphertext x = enc.encrypt(s.encoder.encode(z, s.ctx->max_level(), s.ctx->default_scale()));
  Ciphertext y = s.ev.rescale(s.ev.multiply_relin(x, x, s.rk));
  y = s.ev.add(s.ev.rotate(y, 1, s.gk), s.ev.conjugate(y, s.gk));
  for (const auto& r : s.ev.rotate_hoisted(y, {2, 3}, s.gk)) y = s.ev.add(y, r);
  y = sum_slots(s.ev, y, s.gk, 4);
  return {y, s.encoder.decode_complex(s.decryptor.decrypt(y))};
}

TEST_CASE("ckks/concurrency: shared Context, Encoder, Evaluator, Decryptor and keys give the one-thread results") {
  const Shared s;
  constexpr int kThreads = 4;
  std::vector<Result> alone;
  for (int t = 0; t < kThreads; ++t) alone.push_back(work(s, static_cast<std::uint64_t>(t)));
  std::vector<Result> together(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([&, t] { together[t] = work(s, static_cast<std::uint64_t>(t)); });
  for (auto& th : pool) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    CHECK(together[t].ct.c == alone[t].ct.c);
    CHECK(together[t].decoded == alone[t].decoded);
  }
  // The threads did different work (distinct seeds), so agreement is not trivial.
  CHECK(alone[0].ct.c != alone[1].ct.c);
}

}  // namespace
}  // namespace ckks::test

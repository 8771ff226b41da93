// bench_vs_seal, this project's half: fixtures and timing loops through the public ckks/ API (and
// ckks::math for one limb's NTT), compiled with this project's flags (-O3 -march=native).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns.h"
#include "ckks/math/sampler.h"
#include "ckks/threads.h"
#include "vs_seal.h"

namespace vs_seal {
namespace {

using ckks::math::Csprng;

ckks::Params params_for(int set) {
  ckks::Params p;
  p.log_n = log_n(set);
  p.log_q = log_q(set);
  p.log_p = {kLogP};
  p.log_scale = kLogScale;
  return p;  // dnum = 0: L + 1 digits of one prime each
}

// Keys, plaintexts and ciphertexts of one set at level L, built once outside every timing loop.
struct Fixture {
  ckks::ContextPtr ctx;
  int L = 0;
  double scale = 0;
  std::unique_ptr<ckks::Encoder> encoder;
  ckks::SecretKey sk;
  ckks::PublicKey pk;
  ckks::RelinKey rk;
  ckks::GaloisKeys gk;  // rotation by one step
  std::unique_ptr<ckks::Encryptor> encryptor;
  std::unique_ptr<ckks::Decryptor> decryptor;
  std::unique_ptr<ckks::Evaluator> ev;
  std::vector<cplx> z1, z2;
  ckks::Plaintext pt1, pt2;
  ckks::Ciphertext ct1, ct2, ct_mul, ct_relin;

  Fixture(int set, std::uint64_t seed) {
    ctx = ckks::Context::create(params_for(set));
    L = ctx->max_level();
    scale = ctx->default_scale();
    encoder = std::make_unique<ckks::Encoder>(ctx);
    ckks::KeyGenerator kg(ctx, Csprng::insecure_fixed_seed_for_testing(seed));
    sk = kg.secret_key();
    pk = kg.public_key(sk);
    rk = kg.relin_key(sk);
    gk = kg.galois_keys(sk, {1});
    encryptor = std::make_unique<ckks::Encryptor>(ctx, pk, Csprng::insecure_fixed_seed_for_testing(seed + 1));
    decryptor = std::make_unique<ckks::Decryptor>(ctx, sk);
    ev = std::make_unique<ckks::Evaluator>(ctx);
  }

  void load(const std::vector<cplx>& a, const std::vector<cplx>& b) {
    z1 = a;
    z2 = b;
    pt1 = encoder->encode(std::span<const cplx>(z1), L, scale);
    pt2 = encoder->encode(std::span<const cplx>(z2), L, scale);
    ct1 = encryptor->encrypt(pt1);
    ct2 = encryptor->encrypt(pt2);
    ct_mul = ev->multiply(ct1, ct2);
    ct_relin = ev->relinearize(ct_mul, rk);
  }

  std::vector<cplx> decrypt(const ckks::Ciphertext& ct) const {
    return encoder->decode_complex(decryptor->decrypt(ct));
  }

  TrialBits measure() const {
    return {precision_bits(decrypt(ct1), z1), precision_bits(decrypt(ev->rescale(ct_relin)), expected_product(z1, z2)),
            precision_bits(decrypt(ev->rotate(ct1, 1, gk)), expected_rotation(z1))};
  }
};

Fixture& fixture(int set) {
  static std::array<std::unique_ptr<Fixture>, kSets> cache;
  if (!cache[set]) {
    ckks::set_num_threads(1);
    cache[set] = std::make_unique<Fixture>(set, 1);
    const std::size_t slots = cache[set]->ctx->max_slots();
    cache[set]->load(random_slots(slots, 42), random_slots(slots, 43));
    self_check_or_abort("this project", set, cache[set]->measure());
  }
  return *cache[set];
}

// One prime's tables, cached per (log_n, bits).
const ckks::math::Prime& ntt_tables(int log_n, int bits) {
  static std::unique_ptr<ckks::math::Prime> cache[18][62];
  auto& p = cache[log_n][bits];
  if (!p) p = std::make_unique<ckks::math::Prime>(ntt_prime(log_n, bits), std::uint64_t(1) << log_n);
  return *p;
}

template <class F>
void loop(benchmark::State& state, F&& f) {
  for (auto _ : state) {
    auto r = f();
    benchmark::DoNotOptimize(r);
  }
}

}  // namespace

std::vector<std::uint64_t> chain_primes(int set) {
  const auto ctx = ckks::Context::create(params_for(set));
  std::vector<std::uint64_t> primes;
  for (int i = 0; i <= ctx->max_level(); ++i) primes.push_back(ctx->q(i).value());
  for (std::size_t j = 0; j < ctx->num_special(); ++j) primes.push_back(ctx->p(static_cast<int>(j)).value());
  return primes;
}

std::uint64_t ntt_prime(int log_n, int bits) {
  return ckks::math::generate_ntt_primes(bits, 1, std::uint64_t(1) << log_n)[0];
}

void ours_init() { ckks::set_num_threads(1); }

void ours_time(Op op, int set, int threads, benchmark::State& state) {
  Fixture& fx = fixture(set);
  ckks::set_num_threads(threads);
  switch (op) {
    case Op::encode: loop(state, [&] { return fx.encoder->encode(std::span<const cplx>(fx.z1), fx.L, fx.scale); }); break;
    case Op::decode: loop(state, [&] { return fx.encoder->decode_complex(fx.pt1); }); break;
    case Op::encrypt_pk: loop(state, [&] { return fx.encryptor->encrypt(fx.pt1); }); break;
    case Op::decrypt: loop(state, [&] { return fx.decryptor->decrypt(fx.ct1); }); break;
    case Op::add: loop(state, [&] { return fx.ev->add(fx.ct1, fx.ct2); }); break;
    case Op::multiply_plain: loop(state, [&] { return fx.ev->multiply(fx.ct1, fx.pt2); }); break;
    case Op::multiply: loop(state, [&] { return fx.ev->multiply(fx.ct1, fx.ct2); }); break;
    case Op::relinearize: loop(state, [&] { return fx.ev->relinearize(fx.ct_mul, fx.rk); }); break;
    case Op::multiply_relin: loop(state, [&] { return fx.ev->multiply_relin(fx.ct1, fx.ct2, fx.rk); }); break;
    case Op::rescale: loop(state, [&] { return fx.ev->rescale(fx.ct_relin); }); break;
    case Op::rotate: loop(state, [&] { return fx.ev->rotate(fx.ct1, 1, fx.gk); }); break;
  }
  ckks::set_num_threads(1);
}

void ours_time_ntt(bool inverse, int log_n, int bits, benchmark::State& state) {
  const ckks::math::Prime& p = ntt_tables(log_n, bits);
  std::vector<std::uint64_t> a = random_limb(std::size_t(1) << log_n, p.value(), inverse ? 2 : 1);
  for (auto _ : state) {
    if (inverse) p.ntt.inverse(a.data()); else p.ntt.forward(a.data());  // output in [0, q)
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
}

TrialBits ours_precision(int set, const std::vector<cplx>& z1, const std::vector<cplx>& z2, std::uint64_t seed) {
  ckks::set_num_threads(1);
  Fixture fx(set, seed);
  fx.load(z1, z2);
  return fx.measure();
}

}  // namespace vs_seal

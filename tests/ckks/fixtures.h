// Named parameter sets and small helpers for the scheme tests. Fixed seeds everywhere.
#pragma once
#include <complex>
#include <memory>
#include <random>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/keyswitch.h"
#include "ckks/precision.h"

namespace ckks::test {

/// N = 2^13, q {60,40,40}, p {60}, Δ = 2^40 — 128-bit secure (200 ≤ 218 bits), fast.
inline Params small_secure() { return Params::preset_n13(); }

/// N = 2^14, q {60,40,40,40}, p {60,60}, Δ = 2^40: the precision set of the evaluator tests. Two special primes
/// and dnum = 2 make P (120 bits) exceed every digit (≤ 100 bits), so key switching adds almost
/// no noise [HK20]. 300 ≤ 438 bits: 128-bit secure.
inline Params precision_n14() {
  Params p;
  p.log_n = 14;
  p.log_q = {60, 40, 40, 40};
  p.log_p = {60, 60};
  p.log_scale = 40;
  return p;
}

/// Benchmark set B of bench/bench_ckks.cpp (SEAL's layout: one special prime, one prime per digit).
inline Params seal_like_b() {
  Params p;
  p.log_n = 14;
  p.log_q = {60, 40, 40, 40, 40, 40, 40};
  p.log_p = {60};
  p.log_scale = 40;
  return p;
}

/// N = 2^5: INSECURE, for exhaustive checks against naive formulas.
inline Params tiny_insecure() {
  Params p;
  p.log_n = 5;
  p.log_q = {40, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

using cvec = std::vector<std::complex<double>>;

inline cvec random_complex(std::size_t n, std::uint64_t seed, double bound = 1.0) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  cvec v(n);
  for (auto& x : v) x = {u(g), u(g)};
  return v;
}

inline std::vector<double> random_real(std::size_t n, std::uint64_t seed, double bound = 1.0) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  std::vector<double> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

/// Everything a test needs for one parameter set, built with fixed seeds.
struct Kit {
  ContextPtr ctx;
  Encoder encoder;
  KeyGenerator keygen;
  SecretKey sk;
  PublicKey pk;
  Encryptor encryptor;
  Decryptor decryptor;
  Evaluator evaluator;

  explicit Kit(const Params& p, std::uint64_t seed = 1)
      : ctx(Context::create(p)),
        encoder(ctx),
        keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed)),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        encryptor(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(seed + 1000)),
        decryptor(ctx, sk),
        evaluator(ctx) {}

  Ciphertext encrypt(const cvec& z, int level = -1, double scale = 0) {
    if (level < 0) level = ctx->max_level();
    if (scale == 0) scale = ctx->default_scale();
    return encryptor.encrypt(encoder.encode(z, level, scale));
  }
  cvec decrypt(const Ciphertext& ct) { return encoder.decode_complex(decryptor.decrypt(ct)); }
};

}  // namespace ckks::test

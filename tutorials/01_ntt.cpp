// Tutorial 01 — modular arithmetic and the negacyclic NTT
//
// Goal: multiply two polynomials in Z_q[X]/(X^N + 1), first by the schoolbook rule (N² products),
//       then by the number-theoretic transform (N log N), and see that they agree exactly.
// Read alongside: [LN16, Alg. 1] (forward NTT) and [LN16, Alg. 2] (inverse); [Harvey14, Alg. 4]
//       and [Harvey14, Alg. 3] for the lazy butterflies, [Harvey14, Alg. 2] for Shoup's
//       precomputed multiplication; [FHETB, §A-16] for the FFT/NTT from first principles.
//       In this project: ckks/math/modarith.h, ckks/math/ntt.h.
// What to observe:
//   1. q ≡ 1 (mod 2N), so Z_q has a primitive 2N-th root of unity ψ with ψ^N = −1: this −1 is
//      what makes the transform "negacyclic" (X^N wraps around to −1, as in X^N + 1 = 0).
//   2. Shoup's multiplication agrees with the Barrett one on every input.
//   3. The NTT product equals the schoolbook product, coefficient by coefficient.
//   4. The schoolbook time grows like N², the NTT time like N log N.
// Exercises:
//   a. Run with --log-n 4 and check by hand that ψ^16 ≡ −1 mod q for the printed ψ and q.
//   b. Replace X^N + 1 by X^N − 1 in the schoolbook loop (drop the minus sign): which check fails?
//   c. Time --log-n 10, 11, 12: how does the ratio schoolbook/NTT grow?
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ckks/math/modarith.h"
#include "ckks/math/ntt.h"
#include "ckks/math/primes.h"
#include "tutorials/tutorial_options.h"

using namespace ckks::math;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 01 — modular arithmetic and the negacyclic NTT");
  int log_n = 10;
  options.add("--log-n", log_n, "ring degree N = 2^L", 1, 16);
  if (const auto code = options.parse(argc, argv)) return *code;
  const std::uint64_t N = std::uint64_t(1) << log_n;

  // 1. An NTT-friendly prime and its root of unity.
  const std::uint64_t q = generate_ntt_primes(40, 1, N)[0];
  const Modulus m(q);
  const std::uint64_t psi = primitive_root_2n(q, N);
  std::printf("N = %llu, q = %llu (%d bits), q mod 2N = %llu\n", (unsigned long long)N,
              (unsigned long long)q, 64 - __builtin_clzll(q), (unsigned long long)(q % (2 * N)));
  std::printf("psi = %llu, psi^N mod q = %llu (= q - 1, i.e. -1: %s)\n", (unsigned long long)psi,
              (unsigned long long)pow_mod(psi, N, m), pow_mod(psi, N, m) == q - 1 ? "yes" : "NO");

  // 2. Barrett vs Shoup on random inputs.
  std::mt19937_64 rng(1);
  const std::uint64_t w = rng() % q, w_shoup = shoup_precompute(w, q);
  int agree = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t a = rng() % q;
    agree += mul_mod(a, w, m) == mul_shoup(a, w, w_shoup, q);
  }
  std::printf("Barrett and Shoup agree on %d of 1000 products\n", agree);

  // 3. Schoolbook negacyclic product vs NTT product.
  std::vector<std::uint64_t> a(N), b(N);
  for (auto& x : a) x = rng() % q;
  for (auto& x : b) x = rng() % q;
  auto t0 = Clock::now();
  std::vector<std::uint64_t> school(N, 0);
  for (std::uint64_t i = 0; i < N; ++i)
    for (std::uint64_t j = 0; j < N; ++j) {
      const std::uint64_t p = mul_mod(a[i], b[j], m);
      if (i + j < N) school[i + j] = add_mod(school[i + j], p, q);
      else school[i + j - N] = sub_mod(school[i + j - N], p, q);  // X^N = −1
    }
  const double t_school = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  const NttTables ntt(N, m);
  t0 = Clock::now();
  std::vector<std::uint64_t> fa = a, fb = b;
  ntt.forward(fa.data());
  ntt.forward(fb.data());
  for (std::uint64_t i = 0; i < N; ++i) fa[i] = mul_mod(fa[i], fb[i], m);  // pointwise
  ntt.inverse(fa.data());
  const double t_ntt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  std::uint64_t mismatches = 0;
  for (std::uint64_t i = 0; i < N; ++i) mismatches += fa[i] != school[i];
  std::printf("coefficients where NTT and schoolbook differ: %llu of %llu\n",
              (unsigned long long)mismatches, (unsigned long long)N);
  std::printf("time: schoolbook %.3f ms, NTT %.3f ms (ratio %.1f)\n", t_school, t_ntt, t_school / t_ntt);
  return mismatches == 0 && agree == 1000 ? 0 : 1;
}

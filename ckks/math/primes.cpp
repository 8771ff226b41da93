#include "ckks/math/primes.h"

#include <NTL/ZZ.h>

#include <algorithm>
#include <string>

#include "ckks/math/errors.h"
#include "ckks/math/modarith.h"

namespace ckks::math {

bool is_prime(std::uint64_t q) {
  return q >= 2 && NTL::ProbPrime(NTL::conv<NTL::ZZ>(static_cast<unsigned long>(q)), 40);
}

static bool is_power_of_two(std::uint64_t x) { return x && !(x & (x - 1)); }

std::vector<std::uint64_t> generate_ntt_primes(int bits, std::size_t count, std::uint64_t N,
                                               const std::vector<std::uint64_t>& exclude) {
  if (bits < 20 || bits > 61)
    throw ParameterError("generate_ntt_primes: prime size " + std::to_string(bits) +
                         " bits is outside [20, 61]; choose bit sizes in that range");
  if (!is_power_of_two(N))
    throw ParameterError("generate_ntt_primes: N = " + std::to_string(N) +
                         " is not a power of two; use N = 2^k");
  const std::uint64_t two_n = 2 * N;
  const std::uint64_t upper = std::uint64_t(1) << bits, lower = std::uint64_t(1) << (bits - 1);
  std::vector<std::uint64_t> out;
  if (two_n >= upper)  // no q ≡ 1 mod 2N below 2^bits other than 1 (and the subtraction would wrap)
    throw ParameterError("generate_ntt_primes: 2N = " + std::to_string(two_n) + " is not below 2^" +
                         std::to_string(bits) + ", so no " + std::to_string(bits) +
                         "-bit prime is ≡ 1 mod 2N; use larger primes or a smaller N");
  // Largest candidate below 2^bits that is ≡ 1 mod 2N, then step down by 2N.
  for (std::uint64_t q = upper - two_n + 1; q > lower && out.size() < count; q -= two_n) {
    if (std::find(exclude.begin(), exclude.end(), q) != exclude.end()) continue;
    if (is_prime(q)) out.push_back(q);
    if (q < lower + two_n) break;
  }
  if (out.size() < count)
    throw ParameterError("generate_ntt_primes: only " + std::to_string(out.size()) + " primes of " +
                         std::to_string(bits) + " bits are ≡ 1 mod 2N for N = " + std::to_string(N) +
                         ", " + std::to_string(count) + " requested; use larger bit sizes or fewer primes");
  return out;
}

std::uint64_t primitive_root_2n(std::uint64_t q, std::uint64_t N) {
  const std::uint64_t two_n = 2 * N;
  if (!is_power_of_two(N) || !is_prime(q) || (q - 1) % two_n != 0)
    throw ParameterError("primitive_root_2n: q = " + std::to_string(q) +
                         " is not a prime ≡ 1 mod 2N for N = " + std::to_string(N) +
                         "; generate q with generate_ntt_primes");
  const Modulus m(q);
  // ψ = g^((q-1)/2N) has order dividing 2N; it is primitive iff ψ^N = -1 (since 2N is a power of 2).
  for (std::uint64_t g = 2; g < q; ++g) {
    const std::uint64_t psi = pow_mod(g, (q - 1) / two_n, m);
    if (pow_mod(psi, N, m) == q - 1) return psi;
  }
  throw ParameterError("primitive_root_2n: no primitive 2N-th root found mod " + std::to_string(q));
}

}  // namespace ckks::math

// NTT-friendly primes q ≡ 1 (mod 2N), so that Z_q contains a primitive 2N-th root of unity ψ and the
// negacyclic NTT over Z_q[X]/(X^N+1) exists [CHKKS18; LN16].
// NTL serves as the number-theory toolbox here (ProbPrime); nothing here is on a hot path.
#pragma once
#include <cstdint>
#include <vector>

namespace ckks::math {

/// Find `count` distinct primes of exactly `bits` bits (2^(bits-1) < q < 2^bits) with q ≡ 1 mod 2N,
/// searching downward from 2^bits, skipping any prime listed in `exclude`.
/// Units: bits in [20, 61]; N = ring degree, a power of two.
/// Throws ParameterError if bits is out of range, N is not a power of two, or fewer than `count`
/// such primes exist.
/// Source: the usual search of SEAL's CoeffModulus::Create / Lattigo's ring.NewNTTFriendlyPrimesGenerator.
std::vector<std::uint64_t> generate_ntt_primes(int bits, std::size_t count, std::uint64_t N,
                                               const std::vector<std::uint64_t>& exclude = {});

/// True if q is prime (NTL::ProbPrime with 40 Miller–Rabin rounds: error < 2^-80).
bool is_prime(std::uint64_t q);

/// A primitive 2N-th root of unity ψ mod q (ψ^N ≡ -1), the smallest such in the search order used:
/// g^((q-1)/2N) for the smallest generator candidate g making it primitive.
/// Precondition: q prime, q ≡ 1 mod 2N. Throws ParameterError otherwise.
std::uint64_t primitive_root_2n(std::uint64_t q, std::uint64_t N);

}  // namespace ckks::math

// Shared helpers for the unit tests: NTL conversions (NTL is the independent oracle), CRT, and
// owned RNS bases. Kept deliberately small.
#pragma once
#include <NTL/ZZ.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "ckks/math/primes.h"
#include "ckks/math/rns.h"

namespace test_util {

using u64 = std::uint64_t;
__extension__ typedef unsigned __int128 u128;

inline NTL::ZZ zz(u64 x) { return NTL::conv<NTL::ZZ>(static_cast<unsigned long>(x)); }
inline NTL::ZZ zz_signed(std::int64_t x) { return NTL::conv<NTL::ZZ>(static_cast<long>(x)); }
inline NTL::ZZ zz128(u128 x) {
  return (zz(static_cast<u64>(x >> 64)) << 64) + zz(static_cast<u64>(x));
}
/// Precondition: 0 <= z < 2^64.
inline u64 to_u64(const NTL::ZZ& z) { return NTL::conv<unsigned long>(z); }

/// Uniform-enough random integer in [0, bound) from a test RNG (bias < 2^-64).
inline NTL::ZZ random_zz_below(std::mt19937_64& rng, const NTL::ZZ& bound) {
  NTL::ZZ x(0);
  const long words = NTL::NumBits(bound) / 64 + 2;
  for (long w = 0; w < words; ++w) x = (x << 64) + zz(rng());
  return x % bound;
}

/// Primes that own their NTT tables, and the non-owning basis that views them.
struct OwnedBasis {
  std::vector<std::unique_ptr<ckks::math::Prime>> primes;
  ckks::math::RnsBasis basis;

  OwnedBasis() = default;
  OwnedBasis(const std::vector<u64>& qs, u64 N) { add(qs, N); }
  void add(const std::vector<u64>& qs, u64 N) {
    for (u64 q : qs) {
      primes.push_back(std::make_unique<ckks::math::Prime>(q, N));
      basis.push_back(primes.back().get());
    }
  }
  NTL::ZZ product() const {
    NTL::ZZ Q(1);
    for (auto* p : basis) Q *= zz(p->value());
    return Q;
  }
};

/// The value in [0, Q) with the given residues (Chinese remainder theorem, computed with NTL).
inline NTL::ZZ crt(const std::vector<u64>& residues, const std::vector<u64>& moduli) {
  NTL::ZZ Q(1);
  for (u64 q : moduli) Q *= zz(q);
  NTL::ZZ x(0);
  for (std::size_t i = 0; i < moduli.size(); ++i) {
    const NTL::ZZ qi = zz(moduli[i]);
    const NTL::ZZ qhat = Q / qi;
    x += zz(residues[i]) * qhat * NTL::InvMod(qhat % qi, qi);
  }
  return x % Q;
}

inline std::vector<u64> moduli_of(const ckks::math::RnsBasis& basis) {
  std::vector<u64> qs;
  for (auto* p : basis) qs.push_back(p->value());
  return qs;
}

}  // namespace test_util

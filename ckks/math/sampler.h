// Randomness: a cryptographically secure generator and the samplers CKKS needs.
//
//  * Csprng: ChaCha20 (NTL::RandomStream, D. J. Bernstein's stream cipher) keyed with 32 bytes from
//    the operating system (getrandom(2)). A fixed seed is possible only through the explicitly named
//    Csprng::insecure_fixed_seed_for_testing, for tests and known-answer vectors.
//  * Samplers for the distributions of [CKKS17] / [CHKKS18]: uniform over Z_q (per RNS
//    limb, which is uniform over Z_Q by the CRT), ternary secrets (uniform over {-1,0,1}^N, or with
//    fixed Hamming weight h as HWT_h of [CKKS17]), and the centred discrete Gaussian with σ = 3.2
//    (the HomomorphicEncryption.org standard's error width), tail-cut at 6σ like SEAL.
// Departure: the samplers are not constant-time; a teaching library that runs on the data owner's
// own machine, not a hardened side-channel-resistant one.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "ckks/math/rns_poly.h"

namespace NTL { class RandomStream; }

namespace ckks::math {

class Csprng {
 public:
  /// Keyed with 32 bytes from getrandom(2). Throws Error if the OS cannot supply them.
  Csprng();
  /// Deterministic stream from a 64-bit seed. NOT SECURE: for tests and known-answer vectors only.
  static Csprng insecure_fixed_seed_for_testing(std::uint64_t seed);
  /// Deterministic stream from a 32-byte key (e.g. a seed stored beside a compressed ciphertext).
  static Csprng from_key(const std::array<std::uint8_t, 32>& key);

  ~Csprng();
  Csprng(Csprng&&) noexcept;
  Csprng& operator=(Csprng&&) noexcept;

  void fill(std::uint8_t* out, std::size_t bytes);
  std::uint64_t next_u64();
  /// Uniform in [0, bound) by rejection sampling (no modulo bias). Precondition: bound > 0.
  std::uint64_t uniform_below(std::uint64_t bound);
  /// 32 fresh bytes, e.g. to key a child stream.
  std::array<std::uint8_t, 32> new_key();

 private:
  explicit Csprng(const std::array<std::uint8_t, 32>& key);
  std::unique_ptr<NTL::RandomStream> stream_;
  std::array<std::uint8_t, 512> buf_{};
  std::size_t pos_ = 512;
};

/// Uniform polynomial: each limb i uniform over Z_{basis[i]} (interpreted in whatever form the
/// caller declares: a uniform element is uniform in both forms).
RnsPoly sample_uniform(Csprng& rng, std::size_t N, const RnsBasis& basis, bool ntt_form);
/// N coefficients uniform over {-1, 0, 1}.
std::vector<std::int64_t> sample_ternary(Csprng& rng, std::size_t N);
/// N coefficients in {-1, 0, 1} with exactly h non-zero (positions and signs uniform).
/// Throws ParameterError if h > N.
std::vector<std::int64_t> sample_ternary_hamming(Csprng& rng, std::size_t N, std::size_t h);
/// N coefficients from the centred discrete Gaussian of standard deviation sigma, |x| ≤ 6σ.
std::vector<std::int64_t> sample_gaussian(Csprng& rng, std::size_t N, double sigma = 3.2);

/// The RNS form (coefficient form) of a polynomial with small signed coefficients.
RnsPoly from_signed_coeffs(const std::vector<std::int64_t>& coeffs, const RnsBasis& basis);

}  // namespace ckks::math

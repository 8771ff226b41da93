// Encoder: slot vectors z ∈ C^n ↔ plaintext polynomials, through the canonical embedding
// [CKKS17, Ecd/Dcd; FHETB, §D-3.1].
//
// Decoding evaluates m(X) at the primitive 2N-th roots ζ^(5^j), j = 0..n−1 (ζ = e^{iπ/N}); ordering
// the slots by powers of 5 makes the Galois automorphism X ↦ X^(5^k) rotate the slots by k
// [CKKS17; FHETB, §D-3.9]. Encoding is the inverse map followed by scaling by Δ and rounding to
// integers. Both use an O(n log n) "special FFT" over the n points instead of the O(n²) Vandermonde
// product ([FHETB, § ]): log2(n) butterfly stages whose twiddle for index j in a stage of
// length m is ζ_{4m}^(5^j) = e^{2πi·5^j/(4m)} [CCS19, Alg. 1], the transform of the authors'
// library [HEAAN] (Ring::EMB, Ring::EMBInv) and of OpenFHE (DiscreteFourierTransform::FFTSpecial,
// FFTSpecialInv, whose documentation cites Algorithm 1 of [CCS19]); see docs/references.md.
//
// Sparse packing: with n < N/2 slots the plaintext lives in the subring Z[X^g]/(X^N+1), g = N/(2n):
// coefficient i·g holds Re(u_i)·Δ and (i+n)·g holds Im(u_i)·Δ, where u = special-FFT^{-1}(z).
#pragma once
#include <complex>
#include <span>
#include <vector>

#include "ckks/ciphertext.h"

namespace ckks {

/// Thread-safe: every verb is const; one Encoder may serve many threads (see ckks/context.h).
class Encoder {
 public:
  explicit Encoder(ContextPtr context);

  /// Encode z (complex, at most `slots` values, the rest zero) at level ℓ and scale Δ.
  /// slots = 0 means N/2. Result: Plaintext at level ℓ, scale Δ, evaluation form.
  /// Throws ParameterError if slots is not a power of two ≤ N/2 or z has more values than slots;
  /// LevelError if ℓ is outside [0, L]; InputError for a NaN or infinite value (naming its index);
  /// ScaleError if some |coefficient| = |value|·Δ reaches Q_ℓ/2 (naming both in bits).
  /// Repeated values cost less: if z fills the slots and z_j = z_{j+p} for a power of two p, the
  /// polynomial lies in Z[X^{N/(2p)}] and is computed as the encoding of z_0..z_{p−1} in p slots
  /// (a transform of p values, NTTs of 2p coefficients, NttTables::forward_subring), bit for bit
  /// the same plaintext (encoder.cpp; tests/ckks/test_encoder.cpp); its slot count is still `slots`.
  Plaintext encode(std::span<const std::complex<double>> z, int level, double scale,
                   std::size_t slots = 0) const;
  /// Real vector: the same with zero imaginary parts.
  Plaintext encode(std::span<const double> z, int level, double scale, std::size_t slots = 0) const;
  /// The real vector z encoded over Q_ℓ·P (ℓ+1+k limbs, Context::basis_qp(ℓ) order, evaluation form):
  /// the integer polynomial of encode(z, level, scale, slots) reduced modulo the special primes as well,
  /// for products with extended ciphertexts (Evaluator::multiply_sum, rotate_sum). Equal bit for bit
  /// to Evaluator::extend_plaintext(encode(z, level, scale, slots)), at the cost of k more limbs'
  /// reduction and NTT instead of extend_plaintext's ℓ+1 inverse NTTs, conversion and k NTTs. Same
  /// errors as encode (the headroom is still Q_ℓ/2: the products are reduced to Q_ℓ by mod_down).
  ExtendedPlaintext encode_extended(std::span<const double> z, int level, double scale, std::size_t slots = 0) const;
  /// Complex values: the same over Q_ℓ·P.
  ExtendedPlaintext encode_extended(std::span<const std::complex<double>> z, int level, double scale,
                                    std::size_t slots = 0) const;
  /// Every slot equal to c: the constant polynomial round(Re c·Δ) + round(Im c·Δ)·X^{N/2}, since
  /// (ζ^(5^j))^{N/2} = i for every j. Same errors as encode.
  Plaintext encode_constant(std::complex<double> c, int level, double scale,
                            std::size_t slots = 0) const;

  /// Decode to `pt.slots` complex values: m(ζ^(5^j)) / Δ for j < n, with m's coefficients lifted
  /// exactly from Q_ℓ to the centred integers (mixed-radix CRT) before division.
  std::vector<std::complex<double>> decode_complex(const Plaintext& pt) const;
  /// Real parts of decode_complex.
  std::vector<double> decode(const Plaintext& pt) const;

  /// Integer coefficients (centred mod Q_ℓ, as long double) of a plaintext: for tests and labs.
  /// A long double holds 64 significant bits, so coefficients above 2^64 in magnitude (e.g. after a
  /// product, at scale Δ² = 2^80) come back rounded; for exact values reconstruct the limbs with a
  /// big-integer CRT (tutorials/05_multiplication.cpp does it with NTL).
  std::vector<long double> coefficients(const Plaintext& pt) const;

  /// The special FFT and its inverse on n = v.size() values (power of two ≤ N/2), in place.
  /// fft: u (coefficients in the basis ξ^k) → z_j = Σ_k u_k ξ_j^k with ξ_j = ζ_{4n}^(5^j).
  /// special_ifft (and encode) runs the transform's two halves on two threads when
  /// math::loop_threads allows (ckks/math/threads.h; encoder.cpp, ifft_in_halves); the values do not
  /// depend on the thread count. special_fft is serial.
  void special_fft(std::vector<std::complex<double>>& v) const;
  void special_ifft(std::vector<std::complex<double>>& v) const;

 private:
  // encode of complex (T = std::complex<double>) or real (T = double) values, read in place.
  // extended: the limbs of Q_ℓ·P (a Plaintext used as the container of encode_extended's polynomial).
  template <class T>
  Plaintext encode_values(std::span<const T> z, int level, double scale, std::size_t slots, bool extended) const;

  ContextPtr ctx_;
  std::vector<std::complex<double>> roots_;  // e^{2πik/2N}, k = 0..2N
  std::vector<std::uint64_t> rot_group_;     // 5^j mod 2N, j < N/2
  // Twiddles of the special FFT stage of length `len`, contiguous: twiddles_[len/2 + j] =
  // ζ_{4·len}^(5^j), j < len/2 (they depend on the stage only, not on the slot count).
  std::vector<double> tw_re_, tw_im_;  // the same twiddles split into real and imaginary parts
};

}  // namespace ckks

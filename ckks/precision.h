// Precision in bits: the one measure of CKKS accuracy used by tests, benchmarks and labs.
#pragma once
#include <complex>
#include <span>

namespace ckks {

/// −log2(max_i |got_i − want_i|): the number of correct fractional bits in the worst slot
/// (as Lattigo's "min precision"; larger is better). Returns 64 if the vectors are equal.
/// Throws InputError if the sizes differ or are zero.
double precision_bits(std::span<const std::complex<double>> got, std::span<const std::complex<double>> want);
double precision_bits(std::span<const double> got, std::span<const double> want);

}  // namespace ckks

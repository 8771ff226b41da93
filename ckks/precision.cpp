#include "ckks/precision.h"

#include <cmath>
#include <string>

#include "ckks/math/errors.h"

namespace ckks {

namespace {
template <class T>
double bits(std::span<const T> got, std::span<const T> want) {
  if (got.size() != want.size() || got.empty())
    throw InputError("precision_bits: sizes " + std::to_string(got.size()) + " and " +
                     std::to_string(want.size()) + " must be equal and non-zero");
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(got[i] - want[i])));
  return worst == 0 ? 64.0 : -std::log2(worst);
}
}  // namespace

double precision_bits(std::span<const std::complex<double>> got, std::span<const std::complex<double>> want) {
  return bits(got, want);
}
double precision_bits(std::span<const double> got, std::span<const double> want) { return bits(got, want); }

}  // namespace ckks

// The parameters and key set of the fuzz targets and their seed corpus (tiny, INSECURE; see
// fuzz_loaders.cpp). Two presets, so the corpus holds every object type under two parameter sets
// (one special prime, one data prime per digit; two special primes and dnum 2), and one key seed shared by the
// corpus and the targets, so that corpus ciphertexts and keys belong to the targets' secret key and
// are used (decrypted, applied) rather than refused by the key-set check.
#pragma once
#include <cstdint>

#include "ckks/params.h"

namespace ckks::fuzz {

inline constexpr int kPresets = 2;
inline constexpr std::uint64_t kKeySeed = 3;

/// Preset 0: N = 2^5, q {40, 30, 30}, p {40}, dnum 3. Preset 1: N = 2^6, q {40, 30, 30, 30}, p {40, 40},
/// dnum 2. Both INSECURE (allow_insecure).
inline Params params(int preset = 0) {
  Params p;
  p.log_n = preset == 0 ? 5 : 6;
  p.log_q = preset == 0 ? std::vector<int>{40, 30, 30} : std::vector<int>{40, 30, 30, 30};
  p.log_p = preset == 0 ? std::vector<int>{40} : std::vector<int>{40, 40};
  p.dnum = preset == 0 ? 0 : 2;  // preset 0: one prime per digit (the default)
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

}  // namespace ckks::fuzz

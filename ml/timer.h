// Wall-clock timing of the jobs' phases (key generation, encryption, training, …).
#pragma once
#include <chrono>

namespace ckks::ml {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since `start` (steady clock, so never negative). No errors.
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace ckks::ml

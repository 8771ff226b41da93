// Replication inside blocks with negative rotation steps, the mirror of ckks::sum_slots.
#pragma once
#include <cstddef>

#include "ckks/ciphertext.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ckks/linear_transform.h"

namespace ckks::ml {

/// Every slot i receives Σ_{k<n} x[i − k·stride] (indices mod S), by log2(n) steps
/// y ← y + rot(y, −stride·2^t), t = 0 … log2(n) − 1 (the steps of ckks::sum_slots, negated). On a
/// vector that is zero except at one slot i per window of n·stride slots, this copies x[i] to the
/// slots i, i + stride, …, i + (n − 1)·stride after it: replication inside a block, cf. [HS14, §4.2].
/// The models use it to spread a value kept at the start of a block (by a mask) over the block.
/// Cost: log2(n) rotations, 0 levels; level, scale and slot count unchanged.
/// Throws InputError if n is not a power of two or stride is 0 (ckks::sum_slots_steps);
/// MissingKeyError if the Galois key of a step −stride·2^t is missing.
inline Ciphertext spread_slots(const Evaluator& ev, const Ciphertext& ct, const GaloisKeys& gk, std::size_t n,
                               std::size_t stride = 1) {
  Ciphertext y = ct;
  for (int step : sum_slots_steps(n, stride)) y = ev.add(y, ev.rotate(y, -step, gk));
  return y;
}

}  // namespace ckks::ml

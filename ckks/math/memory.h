// Process-wide allocator tuning for programs that create many multi-megabyte polynomials.
#pragma once

namespace ckks::math {

/// Ask glibc's malloc to keep freed memory for reuse instead of returning it to the operating
/// system: mmap threshold raised to 1 GiB and trim threshold to 2 GiB (mallopt).
/// Why: every Evaluator verb returns a new ciphertext of several MB; with glibc's defaults such
/// blocks are mmap'ed and unmapped (or trimmed) on every call, so each operation pays page
/// faults for memory it just gave back (perf showed ~45% of a ciphertext product at N = 2^15).
/// SEAL avoids the same cost with its memory pool. This is a program-level choice, so the library
/// never calls it itself; ckks-ml and the benchmarks call it at start-up. Harmless elsewhere (a
/// no-op on non-glibc systems). Returns true if the settings were applied.
bool keep_freed_memory_for_reuse();

}  // namespace ckks::math

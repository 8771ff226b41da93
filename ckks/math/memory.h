// Process-wide allocator tuning for programs that create many multi-megabyte polynomials.
#pragma once

namespace ckks::math {

/// Ask glibc's malloc to keep freed memory for reuse instead of returning it to the operating
/// system: mmap threshold raised to 1 GiB, trim threshold to 2 GiB, and one arena for all threads
/// (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_ARENA_MAX = 1).
/// Why: every Evaluator verb returns a new ciphertext of several MB; with glibc's defaults such
/// blocks are mmap'ed and unmapped (or trimmed) on every call, so each operation pays page
/// faults for memory it just gave back (perf showed ~45% of a ciphertext product at N = 2^15).
/// The thresholds govern only the main arena: a worker thread (the limb loops' oneTBB workers,
/// ckks/math/threads.h) allocates from an arena of its own, made of 64 MiB heaps that glibc unmaps
/// as soon as one is entirely free — a worker's 19 MiB plaintexts and ciphertexts (N = 2^16, 38
/// limbs) then page-fault on every call whatever the thresholds. One arena keeps them on the main
/// heap: a ResNet-20 stage-1 convolution (bench_ml Resnet/conv/stage1, alternated three times with
/// the build before, one of the two cores busy) took 7.9–9.3 s instead of 10.3–11.2 s, with 270 000
/// fewer page faults per run (bench/README.md). The price is one lock for all threads' allocations,
/// which are few and large here.
/// SEAL avoids the same cost with its memory pool. This is a program-level choice, so the library
/// never calls it itself; ckks-ml and the benchmarks call it at start-up, before any worker thread
/// allocates (an arena a thread already has stays its own). Harmless elsewhere (a no-op on non-glibc
/// systems). Returns true if the settings were applied.
bool keep_freed_memory_for_reuse();

}  // namespace ckks::math

// The library's thread count: one process-wide setting for the loops over RNS limbs inside
// ckks/ (NTTs, ModUp/ModDown, key switching, rescaling, encode/decode). Results are bit-identical
// whatever the count; see ckks/math/threads.h for what runs in parallel and how nesting is avoided.
// Each loop runs its blocks on oneTBB's worker threads and waits for them before it returns
// (std::jthreads in builds without oneTBB: ckks::thread_backend()); loops too small to pay for a
// thread (below 2^17 coefficient operations, e.g. most loops at N = 2^12) stay on the calling thread.
//
//   ckks::set_num_threads(1);   // single-threaded
//   ckks::set_num_threads(4);   // up to 4 threads per limb loop
//   int t = ckks::num_threads(); // default: std::thread::hardware_concurrency()
//
// ml::parallel_for (ml/parallel.h) uses the same count for its own workers and makes the library
// single-threaded inside them (ckks::SingleThreadedScope), so the two never oversubscribe.
#pragma once
#include "ckks/math/errors.h"  // ParameterError, thrown by set_num_threads
#include "ckks/math/threads.h"

namespace ckks {
using math::num_threads;
using math::run_on_threads;
using math::set_num_threads;
using math::SingleThreadedScope;
using math::thread_backend;
}  // namespace ckks

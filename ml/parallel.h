// A parallel loop for independent work items whose results the caller combines afterwards in a
// fixed order (index order), so a sum of the results is bit-identical whatever the thread count.
// It shares the library's thread count (ckks/threads.h): with T threads here, the ckks/ operations
// inside each item run single-threaded, so the process uses at most T threads, not T × T.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "ckks/threads.h"

namespace ckks::ml {

/// Calls fn(i) once for every i in [0, n), in T = min(n, ckks::num_threads()) stripes run
/// concurrently by ckks::run_on_threads (as many at once as threads are free; fn must not wait for
/// another item): stripe w takes i = w, w + T, w + 2T, … (stripe 0 on the calling thread). With
/// T > 1 every stripe holds a ckks::SingleThreadedScope while it runs its items, so the library's
/// own limb loops do not start more threads; with T = 1 the items run on the calling thread and the
/// library may use its threads inside them. Returns when every call has finished. fn must only write
/// results owned by its index i (e.g. out[i]); combining them (in index order) is the caller's step,
/// which makes the outcome independent of T.
/// Errors: rethrows the exception of the lowest-numbered stripe that threw (stripe 0: the calling
/// thread's), after all stripes have stopped (the other items may or may not have run).
template <class Fn>
void parallel_for(std::size_t n, Fn&& fn) {
  const std::size_t threads = std::min<std::size_t>(n, static_cast<std::size_t>(ckks::num_threads()));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // The stripes run on the library's threads (ckks::run_on_threads: oneTBB's workers in the default
  // build), so the limb loops and these items share one set of threads instead of two.
  ckks::run_on_threads(threads, [&](std::size_t w) {
    for (std::size_t i = w; i < n; i += threads) fn(i);
  });
}

}  // namespace ckks::ml

// A parallel loop for independent work items whose results the caller combines afterwards in a
// fixed order (index order), so a sum of the results is bit-identical whatever the thread count.
// It shares the library's thread count (ckks/threads.h): with T threads here, the ckks/ operations
// inside each item run single-threaded, so the process uses at most T threads, not T × T.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <future>
#include <vector>

#include "ckks/threads.h"

namespace ckks::ml {

/// Calls fn(i) once for every i in [0, n), on T = min(n, ckks::num_threads()) threads: thread w
/// takes i = w, w + T, w + 2T, … (thread 0 is the calling thread). With T > 1 every thread holds a
/// ckks::SingleThreadedScope while it runs its items, so the library's own limb loops do not start
/// more threads; with T = 1 the items run on the calling thread and the library may use its threads
/// inside them. Returns when every call has finished. fn must only write results owned by its
/// index i (e.g. out[i]); combining them (in index order) is the caller's step, which makes the
/// outcome independent of T.
/// Errors: rethrows the first exception of the calling thread, else of the lowest-numbered worker
/// that threw, after all threads have stopped (the other items may or may not have run).
template <class Fn>
void parallel_for(std::size_t n, Fn&& fn) {
  const std::size_t threads = std::min<std::size_t>(n, static_cast<std::size_t>(ckks::num_threads()));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto stripe = [&](std::size_t w) {
    const ckks::SingleThreadedScope one_level;  // the items are the parallelism: no nested teams
    for (std::size_t i = w; i < n; i += threads) fn(i);
  };
  std::vector<std::future<void>> workers;
  for (std::size_t w = 1; w < threads; ++w) workers.push_back(std::async(std::launch::async, stripe, w));
  std::exception_ptr first_error;
  try {
    stripe(0);
  } catch (...) {
    first_error = std::current_exception();
  }
  for (auto& worker : workers) {  // wait for every worker before anything they use goes out of scope
    try {
      worker.get();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ckks::ml

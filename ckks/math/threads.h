// The thread count of the library's loops over independent RNS limbs (and over the dnum digits of
// key switching): NTTs of multi-limb polynomials, base conversion (ModUp, ModDown), the key inner
// product, rescaling, the tensor product, encoding's per-limb reduction and decoding's CRT.
//
// One process-wide setting, read by every such loop. The loops use OpenMP (the compiler's
// `#pragma omp parallel for`, GCC's libgomp) with a static schedule: iteration i writes only limb
// (or digit, or coefficient block) i, and no loop sums across iterations, so every result is
// bit-identical whatever the thread count (tests/ckks/test_threads.cpp compares 1 and 2 threads).
//
// Waiting: between loops, libgomp's idle threads spin for a while before they sleep (its default
// wait policy), which on a machine shared with other jobs burns CPU time and delays everyone. Set
// OMP_WAIT_POLICY=passive in the environment (libgomp reads it at start-up) to make them sleep at
// once; results are the same either way.
//
// No nesting: a loop started inside another parallel region (an OpenMP team, or a
// SingleThreadedScope such as the workers of ml/parallel.h hold) runs on the calling thread alone,
// so callers that already run several ciphertext operations at once do not multiply the threads.
#pragma once
#include <cstddef>

namespace ckks::math {

/// Sets the number of threads the library's limb loops may use, process-wide (all Contexts).
/// n ≥ 1; n = 1 makes the library single-threaded. The default is the hardware's
/// (std::thread::hardware_concurrency(), 1 if unknown). Safe to call from any thread; loops already
/// running keep the count they started with. Results do not depend on n.
/// Errors: ParameterError if n < 1.
void set_num_threads(int n);

/// The current setting of set_num_threads (the hardware's thread count until it is first called).
int num_threads();

/// While an object of this type is alive on a thread, the library's loops started on that thread
/// run on it alone (count 1). For callers that run several library operations at once on their own
/// threads (ml::parallel_for), so that the two levels of parallelism do not oversubscribe the
/// cores. Nests; not movable.
class SingleThreadedScope {
 public:
  SingleThreadedScope();
  ~SingleThreadedScope();
  SingleThreadedScope(const SingleThreadedScope&) = delete;
  SingleThreadedScope& operator=(const SingleThreadedScope&) = delete;
};

/// Threads for a loop of `items` independent iterations started on the calling thread:
/// 1 inside an OpenMP parallel region or a SingleThreadedScope, else min(items, num_threads()).
int loop_threads(std::size_t items);

#ifdef _OPENMP
#define CKKS_OMP_PRAGMA(x) _Pragma(#x)
#else
#define CKKS_OMP_PRAGMA(x)
#endif

/// Calls fn(i) for every i in [0, n) on loop_threads(n) threads, static schedule (thread t takes a
/// contiguous block of indices). fn(i) must write only what iteration i owns and must not throw
/// (an exception leaving an OpenMP region ends the program); check inputs before the loop.
template <class Fn>
void parallel_for_limbs(std::size_t n, Fn&& fn) {
  [[maybe_unused]] const int threads = loop_threads(n);
  CKKS_OMP_PRAGMA(omp parallel for schedule(static) num_threads(threads) if (threads > 1))
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) fn(static_cast<std::size_t>(i));
}

/// The same, with per-thread scratch: every thread calls make_scratch() once and passes the result
/// to fn(i, scratch) for each of its iterations (buffers reused across limbs instead of allocated
/// per limb). The scratch's contents must not carry results between iterations.
template <class MakeScratch, class Fn>
void parallel_for_limbs(std::size_t n, MakeScratch&& make_scratch, Fn&& fn) {
  [[maybe_unused]] const int threads = loop_threads(n);
  CKKS_OMP_PRAGMA(omp parallel num_threads(threads) if (threads > 1))
  {
    auto scratch = make_scratch();
    CKKS_OMP_PRAGMA(omp for schedule(static))
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i)
      fn(static_cast<std::size_t>(i), scratch);
  }
}

}  // namespace ckks::math

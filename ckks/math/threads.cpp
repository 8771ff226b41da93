#include "ckks/math/threads.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ckks/math/errors.h"

namespace ckks::math {

namespace {
int hardware_threads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::atomic<int> g_threads{hardware_threads()};
thread_local int t_single_threaded_depth = 0;
}  // namespace

void set_num_threads(int n) {
  if (n < 1)
    throw ParameterError("set_num_threads: thread count " + std::to_string(n) +
                         " must be at least 1 (1 = single-threaded; the default is the hardware's, " +
                         std::to_string(hardware_threads()) + ")");
  g_threads.store(n, std::memory_order_relaxed);
}

int num_threads() { return g_threads.load(std::memory_order_relaxed); }

SingleThreadedScope::SingleThreadedScope() { ++t_single_threaded_depth; }
SingleThreadedScope::~SingleThreadedScope() { --t_single_threaded_depth; }

int loop_threads(std::size_t items) {
  if (items <= 1 || t_single_threaded_depth > 0) return 1;
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return static_cast<int>(std::min<std::size_t>(items, static_cast<std::size_t>(num_threads())));
}

}  // namespace ckks::math

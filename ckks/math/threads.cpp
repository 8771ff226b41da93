#include "ckks/math/threads.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ckks/math/errors.h"

#if CKKS_USE_TBB
#include <oneapi/tbb/task_group.h>
#endif

namespace ckks::math {

namespace {
int hardware_threads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::atomic<int> g_threads{hardware_threads()};
std::atomic<std::size_t> g_min_work{kMinParallelWork};
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

const char* thread_backend() {
#if CKKS_USE_TBB
  return "oneTBB";
#else
  return "std::jthread";
#endif
}

void set_min_parallel_work(std::size_t work) { g_min_work.store(work, std::memory_order_relaxed); }

std::size_t min_parallel_work() { return g_min_work.load(std::memory_order_relaxed); }

SingleThreadedScope::SingleThreadedScope() { ++t_single_threaded_depth; }
SingleThreadedScope::~SingleThreadedScope() { --t_single_threaded_depth; }

int loop_threads(std::size_t items, std::size_t work) {
  if (items <= 1 || work < min_parallel_work() || t_single_threaded_depth > 0) return 1;
  return static_cast<int>(std::min<std::size_t>(items, static_cast<std::size_t>(num_threads())));
}

namespace detail {

void fork_join(std::size_t n, int threads, BlockFn block, void* ctx) {
  const std::size_t T = static_cast<std::size_t>(threads);
  auto begin = [n, T](std::size_t t) { return t * n / T; };
  std::vector<std::exception_ptr> errors(T);
  auto run = [&](std::size_t t) {
    const SingleThreadedScope serial;  // loops inside a block do not fork again
    try {
      block(ctx, begin(t), begin(t + 1));
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
#if CKKS_USE_TBB
  // oneTBB's task group: blocks 1..T−1 are tasks for the library-wide worker threads, block 0 runs
  // here, and wait() runs any block no worker has taken yet on this thread, so a loop never waits
  // for a worker that has not been scheduled. Idle workers spin briefly, then sleep.
  tbb::task_group group;
  for (std::size_t t = 1; t < T; ++t) group.run([&run, t] { run(t); });
  run(0);
  group.wait();
#else
  std::vector<std::size_t> on_caller{0};
  {
    std::vector<std::jthread> workers;
    workers.reserve(T - 1);
    for (std::size_t t = 1; t < T; ++t) {
      try {
        workers.emplace_back(run, t);
      } catch (const std::system_error&) {
        on_caller.push_back(t);  // no thread available: the caller runs this block too
      }
    }
    for (std::size_t t : on_caller) run(t);
  }  // ~jthread joins every worker here
#endif
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace detail
}  // namespace ckks::math

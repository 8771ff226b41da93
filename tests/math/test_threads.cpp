// ckks/math/threads.cpp's workers: a calling thread's loops reuse the same parked workers, several
// calling threads fork at once without sharing one, and a child process made by fork() runs its
// loops on workers of its own. (The thread-count setting and bit-identity of the scheme's results
// are in tests/ckks/test_threads.cpp; this file is outside the ThreadSanitizer subset because of
// fork().)
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ckks/math/threads.h"

namespace ckks::math {
namespace {

struct Setting {
  int threads = num_threads();
  std::size_t work = min_parallel_work();
  Setting(int t) {
    set_num_threads(t);
    set_min_parallel_work(0);
  }
  ~Setting() {
    set_num_threads(threads);
    set_min_parallel_work(work);
  }
};

// The thread that ran the last index of a 2-item loop at 2 threads (block 1: a worker).
std::thread::id worker_of_block_1() {
  std::vector<std::thread::id> ids(2);
  parallel_for_limbs(2, 1, [&](std::size_t i) { ids[i] = std::this_thread::get_id(); });
  CHECK(ids[0] == std::this_thread::get_id());
  return ids[1];
}

}  // namespace

TEST_CASE("math/threads: a thread's loops reuse its parked worker; other callers have their own") {
  const Setting s(2);
  const std::thread::id w1 = worker_of_block_1();
  CHECK(w1 != std::this_thread::get_id());
  CHECK(worker_of_block_1() == w1);  // the same worker, parked between the two loops
  std::thread::id other;
  std::thread t([&] {
    const Setting inner(2);
    other = worker_of_block_1();
  });
  t.join();
  CHECK(other != w1);
  CHECK(other != std::thread::id{});
  // Two callers at once, each summing its own loop: every index runs once.
  std::atomic<int> sum{0};
  auto caller = [&] {
    for (int r = 0; r < 50; ++r) parallel_for_limbs(8, 1, [&](std::size_t i) { sum += static_cast<int>(i); });
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  CHECK(sum == 2 * 50 * 28);
}

TEST_CASE("math/threads: after fork(), the child's loops run on workers of its own") {
  const Setting s(2);
  const std::thread::id parent_worker = worker_of_block_1();  // the parent has a parked worker now
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: a loop at 2 threads must finish (its parent's worker does not exist here) and run
    // both blocks. Exit code 0 = right, 1 = wrong; a hang would fail the parent's wait below.
    std::vector<int> hit(4, 0);
    parallel_for_limbs(4, 1, [&](std::size_t i) { hit[i] += 1; });
    _exit(hit == std::vector<int>(4, 1) ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(worker_of_block_1() == parent_worker);  // the parent's worker is untouched
}

}  // namespace ckks::math

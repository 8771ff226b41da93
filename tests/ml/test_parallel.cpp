// ml::parallel_for (ml/parallel.h): every index once, the library's thread count shared, and the
// library single-threaded inside its workers (no nested teams).
#include <doctest/doctest.h>

#include <vector>

#include "ckks/threads.h"
#include "ml/parallel.h"

namespace ckks::ml {
namespace {

struct ThreadCountGuard {
  int saved = ckks::num_threads();
  ~ThreadCountGuard() { ckks::set_num_threads(saved); }
};

TEST_CASE("ml/parallel: parallel_for calls every index once and runs the library single-threaded inside") {
  const ThreadCountGuard guard;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    ckks::set_num_threads(threads);
    constexpr std::size_t n = 7;
    std::vector<int> calls(n, 0), inner(n, 0);
    parallel_for(n, [&](std::size_t i) {
      ++calls[i];
      inner[i] = ckks::math::loop_threads(16, ckks::math::kMinParallelWork);  // what a limb loop of the library would use here
    });
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(calls[i] == 1);
      // threads > 1: the workers hold a SingleThreadedScope, so 1 and not `threads`; threads = 1:
      // the setting itself is 1.
      CHECK(inner[i] == 1);
    }
  }
  // One item: it runs on the calling thread, and the library may use all its threads inside.
  ckks::set_num_threads(2);
  int inner_one = 0;
  parallel_for(1, [&](std::size_t) { inner_one = ckks::math::loop_threads(16, ckks::math::kMinParallelWork); });
  CHECK(inner_one == 2);
  // Outside any parallel_for the setting applies again.
  CHECK(ckks::math::loop_threads(16, ckks::math::kMinParallelWork) == 2);
}

}  // namespace
}  // namespace ckks::ml

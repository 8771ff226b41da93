// The thread count of the library's loops over independent RNS limbs (and over the dnum digits of
// key switching): NTTs of multi-limb polynomials, base conversion (ModUp, ModDown), the key inner
// product, rescaling, the tensor product, Galois permutations, encoding's per-limb reduction and
// decoding's CRT.
//
// One process-wide setting, read by every such loop. A loop splits its iterations into T
// contiguous blocks and runs them on oneTBB's worker threads (Debian libtbb-dev; a task group per
// loop): the calling thread runs the first block, blocks 1..T−1 are tasks, and the caller, once its
// own block is done, runs any block no worker has started yet, so a loop never waits for a worker
// the scheduler has not given a core (bench/README.md, Threads: with the machine loaded by other
// jobs, relinearize at N = 2^14 took 0.5–0.7× the one-thread time with oneTBB against 1.2–1.3× with
// one std::jthread per block). oneTBB's idle workers spin for a short while, then sleep. Builds
// without oneTBB (CKKS_TBB=OFF, ThreadSanitizer, fuzzing) create one std::jthread per block
// instead; thread_backend() says which. Iteration i writes only limb (or digit, or coefficient
// block) i and no loop sums across iterations, so every result is bit-identical whatever the
// thread count and whichever thread runs a block (tests/ckks/test_threads.cpp compares 1, 2 and 3
// threads).
//
// When to fork: a loop states its work in "coefficient operations" (one modular operation on one
// 64-bit coefficient; an NTT of N coefficients counts its N·log2(N)/2 butterflies, see ntt_work)
// and runs serially below a threshold, kMinParallelWork = 2^17 by default. Measured on the
// project's 2-core machine (Release, GCC 12, 2026-12-06, a small program timing 2-thread
// parallel_for_limbs with the threshold at 0 against 1 thread, medians of 301–4001 runs, nice −5,
// std::jthread backend): a fork-join of two empty blocks (one std::jthread created and joined)
// takes 19.6 µs of wall time; a butterfly of a 50-bit NTT costs 0.63 ns per coefficient operation
// (4 limbs, N = 2^10 .. 2^14), a limb product (mul_inplace) 2.3 ns. Splitting W operations in two saves W·c/2, which
// pays for the fork only above W = 2·19.6 µs / c ≈ 6.2·10^4 butterflies (1.7·10^4 products); the
// threshold is twice the NTT's break-even, so a loop that forks saves at least as much as the fork
// costs. (With two other CPU-bound jobs on the machine the same program saw no 2-thread gain at
// any of these sizes, only the fork's cost: mul_inplace at 4 × 2^12 took 60 µs against 38 µs; the
// threshold rests on the fork cost and per-operation costs, not on those ratios.) On a machine
// whose other core is busy with another process, a new thread may wait a scheduler slice
// (milliseconds) before it runs, and the join waits for it: bench/README.md, Threads, measured
// encode at N = 2^14 at 4.1 ms with two threads against 0.89 ms with one under such load.
//
// No nesting: a loop started inside a block of another loop, or while a SingleThreadedScope is
// alive on the thread (the workers of ml/parallel.h hold one), runs on the calling thread alone,
// so callers that already run several ciphertext operations at once do not multiply the threads.
// A loop that does not fork (one item, or too little work) runs its iterations on the caller as
// plain calls, which may fork inside.
#pragma once
#include <bit>
#include <cstddef>

namespace ckks::math {

/// Sets the number of threads the library's limb loops may use, process-wide (all Contexts).
/// n ≥ 1; n = 1 makes the library single-threaded. The default is the hardware's
/// (std::thread::hardware_concurrency(), 1 if unknown). Safe to call from any thread; loops already
/// running keep the count they started with. Results do not depend on n.
/// Errors: ParameterError naming n if n < 1.
void set_num_threads(int n);

/// The current setting of set_num_threads (the hardware's thread count until it is first called).
int num_threads();

/// The mechanism the limb loops run their blocks on, fixed when the library is built: "oneTBB" (a
/// oneTBB task group; the default build) or "std::jthread" (one thread created per block and loop;
/// builds with CKKS_TBB=OFF, ThreadSanitizer and fuzzing builds). Results do not depend on it.
const char* thread_backend();

/// While an object of this type is alive on a thread, the library's loops started on that thread
/// run on it alone (count 1). For callers that run several library operations at once on their own
/// threads (ml::parallel_for), so that the two levels of parallelism do not oversubscribe the
/// cores; the limb loops hold one in each of their blocks too. Nests; not movable.
class SingleThreadedScope {
 public:
  SingleThreadedScope();
  ~SingleThreadedScope();
  SingleThreadedScope(const SingleThreadedScope&) = delete;
  SingleThreadedScope& operator=(const SingleThreadedScope&) = delete;
};

/// The default work (in coefficient operations) below which a limb loop runs serially: forking
/// and joining a thread costs more than the split would save. Measured as stated in the header
/// comment.
inline constexpr std::size_t kMinParallelWork = std::size_t{1} << 17;

/// Sets the work threshold of loop_threads, process-wide (default kMinParallelWork). 0 makes every
/// loop of at least two items fork: the tests use it to run every limb loop on several threads at
/// small N. Results do not depend on it.
void set_min_parallel_work(std::size_t work);

/// The current threshold of set_min_parallel_work.
std::size_t min_parallel_work();

/// Coefficient operations of one NTT (forward or inverse) of n coefficients: n·log2(n)/2
/// butterflies. n a power of two.
constexpr std::size_t ntt_work(std::size_t n) { return n * static_cast<std::size_t>(std::bit_width(n) - 1) / 2; }

/// Threads for a loop of `items` independent iterations and `work` coefficient operations in all,
/// started on the calling thread: 1 if work < min_parallel_work(), inside another loop's block or a
/// SingleThreadedScope; else min(items, num_threads()).
int loop_threads(std::size_t items, std::size_t work);

namespace detail {
/// Runs block(ctx, begin, end) for the `threads` contiguous blocks [t·n/T, (t+1)·n/T) of [0, n):
/// block 0 on the calling thread, the others as oneTBB tasks (the caller runs those no worker has
/// taken) or, without oneTBB, on new std::jthreads (a block whose thread cannot be started runs on
/// the caller); each block inside a SingleThreadedScope; waits for them all, then rethrows the
/// exception of the lowest-numbered block that threw, if any.
using BlockFn = void (*)(void* ctx, std::size_t begin, std::size_t end);
void fork_join(std::size_t n, int threads, BlockFn block, void* ctx);
}  // namespace detail

/// Runs fn(t) for every t in [0, threads) concurrently on the library's loop threads (oneTBB's
/// workers, or one std::jthread per t; the caller runs t = 0, and with oneTBB also any t no worker
/// has started, so fn(t) must not wait for another t), each inside a SingleThreadedScope so the
/// library's own loops inside fn stay on their thread; returns when every call has finished. For callers that split their own
/// work into `threads` stripes (ml::parallel_for) without starting threads of their own. threads ≥ 1
/// (1: fn(0) on the caller, no scope). Errors: rethrows the exception of the lowest t that threw,
/// after every call has stopped.
template <class Fn>
void run_on_threads(std::size_t threads, Fn&& fn) {
  if (threads <= 1) {
    if (threads == 1) fn(std::size_t{0});
    return;
  }
  detail::fork_join(threads, static_cast<int>(threads),
                    [](void* c, std::size_t b, std::size_t e) {
                      for (std::size_t t = b; t < e; ++t) (*static_cast<Fn*>(c))(t);
                    },
                    &fn);
}

/// Calls fn(i, scratch) for every i in [0, n), on loop_threads(n, work) threads, each taking a
/// contiguous block of indices; every block calls make_scratch() once (on its own thread) and passes
/// the result to its iterations, so buffers are reused across limbs instead of allocated per limb.
/// fn(i, ·) must write only what iteration i owns, and the scratch's contents must not carry
/// results between iterations. `work`: the loop's coefficient operations (e.g. n·N for a pass over
/// n limbs of N coefficients, n·ntt_work(N) for n NTTs).
/// Errors: an exception thrown by make_scratch or fn reaches the caller after every block has
/// stopped (the lowest-numbered block's, if several threw); iterations of the other blocks may or
/// may not have run.
template <class MakeScratch, class Fn>
void parallel_for_limbs(std::size_t n, std::size_t work, MakeScratch&& make_scratch, Fn&& fn) {
  auto run = [&make_scratch, &fn](std::size_t begin, std::size_t end) {
    if (begin == end) return;
    auto scratch = make_scratch();
    for (std::size_t i = begin; i < end; ++i) fn(i, scratch);
  };
  const int threads = loop_threads(n, work);
  if (threads <= 1) {
    run(0, n);
    return;
  }
  detail::fork_join(n, threads,
                    [](void* c, std::size_t b, std::size_t e) { (*static_cast<decltype(run)*>(c))(b, e); }, &run);
}

/// The same without scratch: fn(i) for every i in [0, n), same blocks, work and errors.
template <class Fn>
void parallel_for_limbs(std::size_t n, std::size_t work, Fn&& fn) {
  parallel_for_limbs(n, work, [] { return 0; }, [&fn](std::size_t i, int&) { fn(i); });
}

}  // namespace ckks::math

// ckks/math/memory.h: the allocator setting the programs ask for is really applied on glibc.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ckks/math/memory.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CKKS_TEST_SANITIZED_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CKKS_TEST_SANITIZED_MALLOC 1
#endif

TEST_CASE("math/memory: keep_freed_memory_for_reuse applies mallopt on glibc") {
#if defined(__GLIBC__) && !defined(CKKS_TEST_SANITIZED_MALLOC)
  // Until this test existed the function compiled to `return false` (no libc header defined
  // __GLIBC__ before its #if), and every program calling it ran with glibc's defaults.
  CHECK(ckks::math::keep_freed_memory_for_reuse());
#else
  // Sanitizer runtimes and other C libraries replace malloc: the call must only be harmless, and
  // large blocks must still be allocated and freed afterwards.
  CHECK_NOTHROW(ckks::math::keep_freed_memory_for_reuse());
  std::vector<std::uint64_t> big(std::size_t{1} << 23, 7);  // 64 MiB
  CHECK(big[(std::size_t{1} << 23) - 1] == 7);
#endif
}

#include "ckks/math/memory.h"

// Any C library header defines __GLIBC__ (through <features.h>); without one before the test below
// the mallopt calls were compiled out and the function did nothing.
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ckks::math {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  const bool a = mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
  const bool b = mallopt(M_TRIM_THRESHOLD, static_cast<int>(2147483647)) == 1;
  const bool c = mallopt(M_ARENA_MAX, 1) == 1;  // every thread in the main arena (memory.h says why)
  return a && b && c;
#else
  return false;
#endif
}

}  // namespace ckks::math

// Zeroing memory that held secrets, in a way the compiler may not remove as a dead store.
#pragma once
#include <vector>

namespace ckks::math {

/// Overwrite every element with zero through a volatile pointer (a plain fill before the memory
/// is freed may be optimised away).
template <class T, class Alloc>
void secure_wipe(std::vector<T, Alloc>& v) {
  volatile T* p = v.data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = T{};
}

}  // namespace ckks::math

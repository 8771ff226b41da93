// Numbers in error messages.
#pragma once
#include <sstream>
#include <string>

namespace ckks::ml {

/// v as std::ostream writes it by default (%g style, 6 significant digits), for error messages.
/// No errors.
inline std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace ckks::ml

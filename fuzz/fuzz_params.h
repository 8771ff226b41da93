// The parameters of the fuzz targets and their seed corpus (tiny, INSECURE; see fuzz_loaders.cpp).
#pragma once
#include "ckks/params.h"

namespace ckks::fuzz {

inline Params params() {
  Params p;
  p.log_n = 5;
  p.log_q = {40, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

}  // namespace ckks::fuzz

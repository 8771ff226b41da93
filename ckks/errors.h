// The library's exceptions, the public header: include this one (not ckks/math/errors.h) in code
// that uses the ckks/ API. Every error the library throws on bad input derives from ckks::Error:
//   ParameterError   malformed or insecure parameters (N, prime sizes, security bound, …)
//   LevelError       operands at the wrong level ℓ, or the modulus chain q_0..q_L exhausted
//   ScaleError       operands at different scales Δ, or a scale too large for the remaining modulus
//   MissingKeyError  a relinearisation or Galois key that was not generated
//   InputError       bad user data: wrong sizes, NaN or infinite values, malformed files
// and InvariantError (a std::logic_error) reports a bug in the library itself.
// The definitions live in the bottom layer, ckks/math/errors.h, so that ckks::math (which may not
// include from ckks/) and ckks throw the same types.
#pragma once
#include "ckks/math/errors.h"

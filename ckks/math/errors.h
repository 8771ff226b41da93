// The project's one exception hierarchy. Every message names the operation, the offending values
// and the fix, e.g. "add: scales differ (2^40 vs 2^80); rescale the second operand first".
// It lives in the bottom layer so that ckks::math and ckks throw the same types.
#pragma once
#include <stdexcept>
#include <string>

namespace ckks {

/// Base class of every error this library throws on bad input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Malformed or insecure parameters (N not a power of two, prime sizes, security bound, ...).
class ParameterError : public Error { using Error::Error; };
/// Operands at the wrong level (mismatch, or modulus chain exhausted).
class LevelError : public Error { using Error::Error; };
/// Operands at mismatched scales, or a scale too large for the remaining modulus.
class ScaleError : public Error { using Error::Error; };
/// An operation needs an evaluation key (relinearisation or Galois key) that was not generated.
class MissingKeyError : public Error { using Error::Error; };
/// Objects of two different key sets meet: a ciphertext decrypted, relinearised or rotated with a
/// key of another key set, or two ciphertexts of different key sets combined (KeyId, ckks/keys.h).
class KeyMismatchError : public Error { using Error::Error; };
/// Bad user data: wrong sizes, NaN or infinite values, malformed files.
class InputError : public Error { using Error::Error; };

/// Internal invariant (a bug in this library, never the caller's input). Checked when
/// CKKS_CHECK_INVARIANTS is defined (Debug and sanitizer builds), compiled out in Release.
class InvariantError : public std::logic_error { using std::logic_error::logic_error; };

}  // namespace ckks

#ifdef CKKS_CHECK_INVARIANTS
#define CKKS_INVARIANT(cond, msg) \
  do { if (!(cond)) throw ::ckks::InvariantError(std::string(__FILE__) + ": " + (msg)); } while (0)
#else
#define CKKS_INVARIANT(cond, msg) do { } while (0)
#endif

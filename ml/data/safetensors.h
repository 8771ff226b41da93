// Reading tensors stored in the safetensors format.
//
// safetensors is Hugging Face's file format for model weights; its specification is the format
// section of https://huggingface.co/docs/safetensors/index (the README of
// github.com/huggingface/safetensors). A file is
//
//     8 bytes       N, the header length, an unsigned 64-bit little-endian integer
//     N bytes       the header: a UTF-8 JSON object (may be padded at the end with spaces)
//                     { "__metadata__": { "key": "value", ... },          (optional, strings only)
//                       "<tensor name>": { "dtype": "F32",
//                                          "shape": [64, 784],
//                                          "data_offsets": [begin, end] },
//                       ... }
//     the rest      the byte buffer: each tensor's elements, row-major (C order), little-endian,
//                   at bytes [begin, end) counted from the start of this buffer (NOT of the
//                   file). The tensors tile the buffer: no overlaps and no holes.
//
// This reader supports the two floating-point dtypes the project writes, "F32" (IEEE binary32)
// and "F64" (binary64), and returns every value widened to double. A shape of [] is a scalar
// (one element). It validates every field before reading, as the format's reference
// implementation does, so a malformed or hostile file is an error, never an out-of-bounds read.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ckks::ml {

/// One tensor: `shape` (outermost dimension first; empty for a scalar) and its
/// product(shape) elements in row-major order (the last index varies fastest), e.g. a [64, 784]
/// weight has data[r·784 + c] = W[r][c].
struct Tensor {
  std::vector<std::size_t> shape;
  std::vector<double> data;

  /// The number of elements, product(shape) (1 for a scalar).
  std::size_t numel() const;
};

/// A shape as error messages print it: "[64, 784]" ("[]" for a scalar). No errors.
std::string shape_string(const std::vector<std::size_t>& shape);

/// Reads every tensor of a safetensors file, keyed by name (the "__metadata__" entry is skipped;
/// see read_safetensors_metadata).
/// Throws ckks::InputError naming the file (and the tensor) when: the file is missing or
/// unreadable; it is shorter than 8 bytes; the header length is 0, over 100 MiB, or runs past the
/// end of the file; the header is not valid JSON or not an object; "__metadata__" is not an object
/// of strings; an entry is not an object with "dtype", "shape" and "data_offsets" (other keys
/// are ignored); a dtype is not "F32" or "F64" (the message names the dtype and asks to save
/// as float32/float64); a shape is not a list of non-negative integers; data_offsets is not
/// [begin, end] of non-negative integers with begin ≤ end; end lies beyond the byte buffer; end − begin ≠ product(shape) · element size;
/// tensors overlap or leave a gap, or bytes are left after the last tensor; a value is NaN or
/// infinite (weights must be finite).
std::map<std::string, Tensor> read_safetensors(const std::string& path);

/// The "__metadata__" object of a safetensors file (empty if it has none), with the same header
/// validation as read_safetensors (tensor data is not read).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

}  // namespace ckks::ml

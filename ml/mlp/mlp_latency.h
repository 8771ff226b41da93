// Latency-mode encrypted MLP inference: one image per CIPHERTEXT. The 784 pixels of one image sit
// in the slots of a single ciphertext and every dense layer is a plaintext matrix × encrypted vector
// product, so one image is answered in a fraction of a second instead of waiting for a batch of
// N/2 images (the batched, one-image-per-slot layout of ml/mlp/mlp_encrypted.h). Uses only the public
// ckks/ API (ckks/linear_transform.h for the products).
//
// Layout (all periods are powers of two; S = slot count of the ciphertexts, sparse packing):
//
//   input        slot s holds x[s mod D_1] (0 for in_1 ≤ s mod D_1), D_1 = next_pow2(in_1):
//                the 784 pixels padded with zeros to 1024; S = the largest period any layer
//                uses (1024 for the Fashion-MNIST model, so with sparse packing S = D_1 and the
//                input is just the padded image).
//   dense layer  input with period D_in (its in values first, anything after them is ignored:
//   i            the padded matrix has zero columns there), output with period R = next_pow2(out):
//                slot s holds y[s mod R] (0 for out ≤ s mod R). So the output of a layer is the
//                input of the next (D_in of layer i+1 = R of layer i), with no masking and no
//                repacking.
//   activation   slot-wise, so it keeps the layout (a padded 0 stays 0).
//   logits       slot c holds logit c for c < out_K (and again every R_K slots).
//
// Dense layer, for a rectangular out × in matrix W with R ≤ D_in ("hybrid" diagonal method of
// GAZELLE [JVC18]; the diagonal method [HS14, §4.3] with baby-step giant-step and hoisted baby
// steps [HS18] underneath): take D = D_in and the R "extended diagonals" of length D,
//     e_k[i] = W[i mod R][(i + k) mod D]        (k < R, i < D; W padded with zeros to R × D),
// then  w = Σ_{k<R} e_k ⊙ rot(x, k)  holds in slot i the partial dot product of row i mod R with
// the columns i … i+R−1, and the rotate-and-sum  y = Σ_{j<D/R} rot(w, j·R)  (log2(D/R) rotations,
// ckks::sum_slots with stride R) adds the D/R partial products of each row:
//     y[r] = Σ_{j<D/R} Σ_{k<R} W[r][(r + jR + k) mod D]·x[(r + jR + k) mod D] = (W x)[r].
// The first sum is exactly ckks::MatrixVector applied to the D × D banded matrix
//     B[i][j] = W[i mod R][j]  if (j − i) mod D < R,  else 0,
// whose only non-zero diagonals are the R extended diagonals (MatrixVector skips zero diagonals
// and their rotations), with baby steps n1 = next_pow2(⌈√R⌉). So a 64 × 784 layer costs 64
// plaintext products and (n1 − 1) + (R/n1 − 1) + log2(D/R) = 7 + 7 + 4 = 18 rotations, instead of
// the 847 non-zero diagonals and 57 rotations of MatrixVector on the square 1024 × 1024 padding
// (whose output, with period 1024, would also not feed a 32 × 64 layer built with period 64).
// When R ≥ D_in (a widening layer) D = R, every diagonal is kept and no sum is needed (the plain
// BSGS diagonal method).
// Departure: GAZELLE's hybrid method (see docs/references.md) multiplies each extended
// diagonal with its own rotation of the input (R − 1 rotations); here the R products are grouped baby-step giant-step with hoisted baby steps, which
// needs (n1 − 1) + (R/n1 − 1) rotations (14 instead of 63 for the first layer) at the price of
// encoding each diagonal pre-rotated by its giant step (done once, when the server is built).
// LoLa [BEG19] makes the same point, that the choice of representation between layers decides the
// latency of one-image inference; its "stacked" and "interleaved" representations are not used.
//
// Levels, as MlpBatchServer::levels_needed: a dense layer 1 (the MatrixVector rescale; the
// rotate-and-sum and the bias add are free), a square 1, a general quadratic a·t² + b·t 2. The
// Fashion-MNIST model (dense, square, dense, square, dense) needs 5; mlp_latency_params() gives a
// 128-bit-secure chain with exactly that many levels in the smallest ring that holds the slots.
#pragma once
#include <cstddef>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ckks/linear_transform.h"
#include "ckks/params.h"
#include "ml/mlp/mlp_plain.h"

namespace ckks::ml {

/// The slot layout of latency mode, a pure function of the model's layer sizes (public to the
/// client, who needs it to pack the image and to generate the rotation keys; no weights involved).
class MlpLatencyLayout {
 public:
  /// One dense layer's plan (see the file comment for the formulas); all sizes in slots.
  struct Layer {
    std::size_t in = 0, out = 0;  ///< W is out × in
    std::size_t in_period = 0;    ///< D_in: input slot s holds x[s mod D_in]
    std::size_t out_period = 0;   ///< R = next_pow2(out): output slot s holds y[s mod R]
    std::size_t period = 0;       ///< D = max(D_in, R), the MatrixVector period
    std::size_t fold = 0;         ///< D / R blocks added by the rotate-and-sum (1: none)
    std::size_t baby_steps = 0;   ///< n1 = next_pow2(⌈√R⌉) (capped at D)
    /// The rotations this layer may use: baby steps 1 … n1−1, giant steps g·n1 (1 ≤ g < ⌈R/n1⌉),
    /// and R·2^t for 2^t < fold. A superset of what MatrixVector keeps when some extended diagonal
    /// is entirely zero.
    std::vector<int> rotation_steps() const;
  };

  /// Plan the layout for `model`'s sizes (in_1 → out_1 → … → out_K).
  /// Throws InputError if the model has no layer or a layer has a zero dimension.
  explicit MlpLatencyLayout(const Mlp& model);

  /// S: the largest period any layer uses (1024 for 784-64-32-10). Ciphertexts use exactly S slots
  /// (sparse packing when S < N/2), so that every rotation is cyclic modulo each period.
  std::size_t slots() const { return slots_; }
  /// The plan of every dense layer, in model order.
  const std::vector<Layer>& layers() const { return layers_; }
  /// in_1 (784 pixels) and out_K (10 classes).
  std::size_t input_size() const { return layers_.front().in; }
  std::size_t output_size() const { return layers_.back().out; }
  /// Levels the forward pass consumes: Σ over layers of 1 (dense) + 1 (square) or 2 (general
  /// quadratic), as MlpBatchServer::levels_needed (5 for the Fashion-MNIST model).
  int levels_needed() const { return levels_; }
  /// Union of the layers' rotation steps, sorted: give it to KeyGenerator::galois_keys. For the
  /// Fashion-MNIST model: {1 … 8, 12, 16, 24, 32, 40, 48, 56, 64, 128, 256, 512}.
  std::vector<int> rotation_steps() const;

  /// The S slot values of an input vector: slot s = x[s mod D_1] if s mod D_1 < in_1, else 0.
  /// Throws InputError unless x has input_size() values, all finite (naming the first bad index).
  std::vector<double> pack_input(const std::vector<double>& x) const;
  /// The same for pixels in float (as ImageSet stores them).
  std::vector<double> pack_input(const std::vector<float>& x) const;
  /// The output_size() logits from the decoded S slots of the output (slots 0 … out_K − 1).
  /// Throws InputError if fewer than output_size() values are given.
  std::vector<double> unpack_output(const std::vector<double>& slots) const;

 private:
  std::vector<Layer> layers_;
  std::size_t slots_ = 0;
  int levels_ = 0;
};

/// A 128-bit-secure parameter set for latency mode with exactly `levels` levels (levels_needed()
/// of the server) and at least `slots` slots: the smallest ring N = 2^13, 2^14 or 2^15 with
/// N/2 ≥ slots in which the chain below fits under the [HES18] bound max_log_qp_128(log N):
///     q_1 … q_levels of s bits (the scale Δ = 2^s), q_0 and the special prime p of s + 13 bits,
///     with s = min(40, ⌊(bound − 26) / (levels + 2)⌋), and s ≥ 25 required.
/// q_0 = Δ·2^13 leaves room for outputs of magnitude up to about 2^11 (the committed model's logits
/// reach 885, its largest intermediate value 1351, see ml/models/README.md); p ≥ every data prime
/// keeps the key-switching noise of each digit (one prime per digit) below the fresh noise. For the
/// Fashion-MNIST model (5 levels, 1024 slots): N = 2^13, q = {40, 27×5}, p = {40}, Δ = 2^27,
/// log QP = 215 ≤ 218.
/// Throws ParameterError if no ring up to 2^15 fits (slots > 2^14 or too many levels), naming
/// both numbers.
Params mlp_latency_params(int levels, std::size_t slots);

/// The server of latency mode. Holds the model's diagonals encoded for the levels each layer runs
/// at, the relinearisation key and the Galois keys; never the secret key.
class MlpLatencyServer {
 public:
  /// Prepare the layers for input ciphertexts at `input_level` (−1: ctx->max_level()).
  /// Throws InputError for an empty model; ParameterError if the layout needs more than N/2 slots
  /// or a key belongs to another Context; LevelError if input_level is above L or below
  /// levels_needed() (naming both numbers and the fix: more levels, e.g. mlp_latency_params);
  /// MissingKeyError naming every rotation step of MlpLatencyLayout::rotation_steps() that `gk`
  /// lacks.
  MlpLatencyServer(ContextPtr ctx, Mlp model, RelinKey rk, GaloisKeys gk, int input_level = -1);

  /// Levels the forward pass consumes (= layout().levels_needed()).
  int levels_needed() const { return layout_.levels_needed(); }
  const MlpLatencyLayout& layout() const { return layout_; }
  /// The level the input must be at (see the constructor); the logits come out at
  /// input_level() − levels_needed().
  int input_level() const { return input_level_; }

  /// The whole network on one encrypted image: input as from encrypt_latency_image (layout().slots()
  /// slots, 2 components, any scale; a level above input_level() is dropped to it), output one
  /// ciphertext whose slot c holds logit c (c < output_size()), at input_level() − levels_needed().
  /// Adds the rotations and levels spent to *cost when given.
  /// Throws ParameterError for a ciphertext of another Context; InputError for a wrong slot count
  /// or 3 components; LevelError if the ciphertext is below input_level() (naming both levels).
  Ciphertext forward(const Ciphertext& x, TransformCost* cost = nullptr) const;

  /// Dense layer i alone: y = W_i x + b_i in the layout above. Input at the level layer i runs at
  /// (dense_level(i)), output one level lower, same scale. Throws as forward, and InputError for
  /// i ≥ number of layers.
  Ciphertext dense(std::size_t i, const Ciphertext& x, TransformCost* cost = nullptr) const;
  /// Activation of layer i alone (the identity when the layer has none): t², or a·t² + b·t.
  /// Costs 0, 1 or 2 levels. Throws InputError for i out of range or a 3-component input,
  /// LevelError if too few levels are left.
  Ciphertext activation(std::size_t i, const Ciphertext& x) const;
  /// The level at which dense layer i expects its input.
  int dense_level(std::size_t i) const;

 private:
  void check_input(const Ciphertext& x, const char* op) const;
  ContextPtr ctx_;
  Mlp model_;
  MlpLatencyLayout layout_;
  RelinKey rk_;
  GaloisKeys gk_;
  Evaluator ev_;
  Encoder enc_;
  int input_level_ = 0;
  std::vector<int> dense_levels_;
  std::vector<MatrixVector> products_;  // one per layer, the banded matrix of the file comment
};

/// Client side: encrypt one image (input_size() values) in the latency layout at `level` and
/// `scale`, with layout.slots() slots. Throws InputError for a wrong size or a non-finite pixel;
/// the Encoder's errors (ParameterError if the slots exceed N/2, LevelError for a bad level).
Ciphertext encrypt_latency_image(const MlpLatencyLayout& layout, const Encoder& encoder, Encryptor& encryptor,
                                 const std::vector<float>& image, int level, double scale);

/// Client side: the output_size() logits of a decrypted forward() output.
std::vector<double> decode_latency_logits(const MlpLatencyLayout& layout, const Encoder& encoder,
                                          const Plaintext& output);

}  // namespace ckks::ml

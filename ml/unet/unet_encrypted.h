// Encrypted U-Net inference, leveled (no bootstrapping): the HE-friendly U-Net of
// ml/unet/unet_plain.h on one encrypted 32 × 32 scene, with the public ckks/ API only, built on the
// ResNet's packed convolutions (ml/resnet/resnet_encrypted.h: the packing into gapped channel
// blocks, conv_packed, conv_projection_packed, square_packed, the lazy affine form σ·slot + κ).
// Architecture: [RFB15]'s U shape with [Chiang25UNet]'s layers (square-type activations, mean
// pooling, ConvTranspose2d k = 2, s = 2); the data layout below is ours, not [Chiang25UNet]'s
// Double Volley Revolver (only its abstract was read: docs/references.md).
//
// ---------------------------------------------------------------------------------------------
// Layers (H × W grid, B = H·W slots per channel block, a map at gap g has its value (c, y, x) at
// grid position (g·y, g·x) of channel c's block; ResNetPacking):
//
// 2 × 2 mean pooling (mean_pool_packed), 0 levels. Two rotate-and-add passes (ckks::sum_slots):
//   s ← s + rot(s, g), then s ← s + rot(s, g·W),
// leave at grid position (2g·y, 2g·x) the sum of the window's four values; the output is the map
// at gap 2g. The ¼ is not multiplied in: it joins the lazy sign (σ/4; the next convolution's
// weights absorb it, as conv_packed folds any sign), and the mean of σ·s + κ is (σ/4)·Σs + κ, so
// κ is unchanged. The other grid positions hold partial sums: the output is "dirty", which the
// next convolution never reads (conv_packed reads only valid input positions).
//
// Transposed convolution k = 2, s = 2 (conv_transpose_packed), 1 level: the inverse of the gap
// trick. Input at gap g (even), output at gap g/2: input pixel (y, x) sits at grid position
// (g·y, g·x) and its output pixel (2y + ky, 2x + kx) at (g·y + (g/2)·ky, g·x + (g/2)·kx), i.e.
// off_t = (g/2)·(ky·W + kx) slots further. So
//   1. the lazy offset κ is made explicit (κ/σ added at the valid input positions, 0 levels);
//   2. the input is rotated right by off_t for the four taps t = (ky, kx) (one hoisted
//      decomposition [HS18]): y_t holds input pixel (y, x) at output position (2y + ky, 2x + kx)
//      and 0 at the other output positions of the gap-g/2 grid, because the input is 0 at every
//      grid position that is not a multiple of g (precondition: a "clean" map, as conv_packed and
//      square_packed produce; a pooled map is not) and off_t is smaller than g in each direction;
//   3. out = Σ_t T_t(y_t), T_t the 1 × 1 convolution with weights w[i][o][ky][kx] (PyTorch's
//      [in, out, kh, kw]) read at gap g/2: each output position gets the one tap whose y_t is
//      nonzero there. When C_in is a multiple of the nb blocks per ciphertext, the four copies
//      are one map of 4·C_in channels (copy t's ciphertext k holds channels t·C_in + k·nb + β,
//      ResNetPacking's layout) and one 1 × 1 conv_packed with weight[o][t·C_in + i] sums them on
//      nb − 1 block rotations per output ciphertext. Otherwise (a replicated map, C_in < nb) the
//      four 1 × 1 convolutions run as two conv_projection_packed passes (two sources share one
//      set of channel rotations), the bias in T_0 only, and an add: 2·(C_in − 1) block rotations.
//
// Concatenation + convolution (concat_conv_packed), 1 level: no data moves. conv([a, b]) =
// conv_a(a) + conv_b(b) with the weight split by input channel (conv_a the first a.channels input
// channels and the bias, conv_b the rest). conv_projection_packed evaluates both on the same
// channel rotations: the higher-level branch (the skip, which waited while the lower part of the U
// was evaluated) is dropped to the other's level and its products are encoded at Δ·q_ℓ/scale so
// both land on the same scale Δ·q_ℓ (the level and scale alignment of the two branches), and each
// branch's lazy σ, κ are folded into its own weights and bias slots.
//
// The 1 × 1 head: conv_packed with the K labels padded to a power of two (zero rows).
//
// Levels, counted on the critical path before any work (UNetServer::level_plan): 2 per
// convolution + activation (conv_packed + square_packed, the activation folded by weight
// redistribution [Chielle25] as in the ResNet), 0 per pooling, 1 per transposed convolution, 1
// for the head: 13 for the two-level U-Net. The skips are not on the critical path: enc1's output
// waits 8 levels above its use, enc2's 3.
// ---------------------------------------------------------------------------------------------
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ml/resnet/resnet_encrypted.h"
#include "ml/unet/unet_plain.h"

namespace ckks::ml {

/// The rotation steps mean_pool_packed uses on a map at `gap` (sum_slots_steps along x and y).
/// Throws InputError unless window is a power of two ≥ 2 and gap·window divides the grid's height
/// and width.
std::vector<int> mean_pool_rotation_steps(const ResNetPacking& pk, std::size_t gap, std::size_t window);

/// window × window mean pooling (file comment; PyTorch's avg_pool2d(x, window)): the output map has
/// gap in.gap·window, sign in.sign / window², offset in.offset, the input's level and scale, and
/// partial sums at its invalid grid positions. Cost: 2·log2(window) rotations per ciphertext, 0
/// levels. Throws InputError as mean_pool_rotation_steps, or if the map has no ciphertexts or they
/// differ in level; MissingKeyError if a key of mean_pool_rotation_steps is missing.
/// Source: sum_slots [HS14, §4.1]; mean pooling as in [Chiang25UNet] (its abstract).
PackedFeatureMap mean_pool_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, std::size_t window,
                                  ResNetCost* cost = nullptr);

/// The rotation steps conv_transpose_packed uses for an input of in_channels channels at in_gap:
/// the three tap shifts −(in_gap/2)·(ky·W + kx) and the block steps of the 1 × 1 convolutions.
/// Throws as conv_transpose_packed's shape checks.
std::vector<int> conv_transpose_rotation_steps(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap,
                                               const ConvTranspose2d& t);

/// PyTorch's ConvTranspose2d with kernel 2 and stride 2 (conv_transpose2d in ml/unet/unet_plain.h)
/// on a packed map (file comment): input C_in channels at gap g (lazy σ ≠ 0 and κ allowed, zero at
/// every grid position that is not a multiple of g), output t.out_channels channels at gap g/2
/// (twice the height and width), sign 1, offset 0, level ℓ − 1, scale exactly e.scale, zero at its
/// invalid positions. Cost: 3 hoisted rotations per input ciphertext; per output ciphertext
/// 4·(input ciphertexts)·nr plaintext products, nr = min(C_in, nb), and nb − 1 block rotations
/// when C_in is a multiple of nb, else 2·(C_in − 1); 1 level.
/// Throws InputError if in.channels ≠ t.in_channels, kernel or stride is not 2, the gap is odd,
/// the weight or bias has the wrong size, σ = 0, or the ciphertext count does not match the
/// channels; LevelError at level 0; MissingKeyError if a key of conv_transpose_rotation_steps is
/// missing. Source: the inverse of the gap idea of [Lee22MPC] (abstract); the layer of [Chiang25UNet].
PackedFeatureMap conv_transpose_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const ConvTranspose2d& t,
                                       ResNetCost* cost = nullptr);

/// The rotation steps concat_conv_packed uses (the union of conv_rotation_steps of both halves).
/// Throws as concat_conv_packed's shape checks.
std::vector<int> concat_conv_rotation_steps(const ResNetPacking& pk, std::size_t a_channels, std::size_t b_channels,
                                            std::size_t gap, const Conv2d& conv);

/// mult·conv([a, b]) + shift, [a, b] the channels of a followed by those of b (concat_channels in
/// ml/unet/unet_plain.h), without building the concatenation (file comment). a and b: same gap,
/// any levels ≥ 1 and scales, lazy σ/κ allowed; output as conv_packed's at the lower of the two
/// levels minus 1, scale exactly e.scale. Throws InputError if the gaps differ or conv.in_channels
/// ≠ a.channels + b.channels (the message names the three numbers), or as conv_packed for either
/// half; LevelError at level 0; MissingKeyError for a missing key.
PackedFeatureMap concat_conv_packed(const ResNetEvalContext& e, const PackedFeatureMap& a, const PackedFeatureMap& b,
                                    const Conv2d& conv, double mult, double shift, ResNetCost* cost = nullptr);

/// One line of the level plan: a layer (ml/unet/unet_plain.h names), its levels, how they are spent.
struct UNetLevelStep {
  std::string layer;
  int levels = 0;
  std::string how;
};

/// The encrypted U-Net: plans the levels and the Galois keys from the model's sizes, and evaluates
/// the network on one encrypted scene. Holds no secret key.
class UNetServer {
 public:
  /// `packing` must have the scenes' grid (32 × 32 for the committed model). Throws InputError for
  /// an empty model, a grid whose height or width is not a multiple of 4 (two poolings), widths
  /// the packing cannot hold (ResNetPacking::ciphertexts), or an activation with a = 0.
  UNetServer(UNet model, ResNetPacking packing);

  const UNet& model() const { return model_; }
  const ResNetPacking& packing() const { return packing_; }
  /// The head's outputs padded to a power of two (8 for K = 6): the channels of infer's output.
  std::size_t logit_channels() const { return head_.out_channels; }

  /// The levels of every layer, in evaluation order (file comment). No errors.
  std::vector<UNetLevelStep> level_plan() const;
  /// Σ levels of level_plan(): 13. No errors.
  int levels_needed() const;
  /// Every Galois rotation step infer uses, sorted, 0 excluded (for KeyGenerator::galois_keys).
  std::vector<int> rotation_steps() const;

  /// The slot vectors of a scene image (H·W values, row-major, as Scene::image): one channel at gap
  /// 1. Throws InputError if the size is not H·W of the packing.
  std::vector<std::vector<double>> pack_input(const std::vector<float>& image) const;
  /// The K × H × W logits from the decoded slot vectors of infer's output (one per ciphertext).
  /// Throws InputError as ResNetPacking::unpack.
  FeatureMap unpack_logits(const std::vector<std::vector<double>>& slots) const;

  /// Called after each layer with its UNet::trace name ("enc1.act", "pool1", …, "up2", "dec2.act",
  /// …, "head") and the map (the key owner compares layer by layer: tests, tutorial 17).
  using Observer = std::function<void(const std::string& name, const PackedFeatureMap& map)>;

  /// The whole network on one encrypted scene (the ciphertexts of pack_input, level ≥
  /// levels_needed(), any scale). Returns the logits map: logit_channels() channels at gap 1,
  /// level input − levels_needed(), scale e.scale; decrypt with decrypt_packed or unpack_logits.
  /// `timings` (may be null) gets wall and CPU seconds, rotations, products and levels per kind:
  /// "conv" (enc1, enc2, mid, head), "activation", "pool", "transposed_conv", "concat_conv".
  /// Throws LevelError if the input has too few levels (naming both numbers); MissingKeyError
  /// naming the missing steps; InputError if the number of input ciphertexts is wrong; the layers'
  /// errors otherwise.
  PackedFeatureMap infer(const ResNetEvalContext& e, const std::vector<Ciphertext>& input,
                         ResNetTimings* timings = nullptr, const Observer& observe = {}) const;

 private:
  UNet model_;
  ResNetPacking packing_;
  Conv2d head_;  // model_.head with its outputs padded to a power of two
};

}  // namespace ckks::ml

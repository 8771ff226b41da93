// Plaintext reference for the encrypted U-Net: the HE-friendly U-Net of [Chiang25UNet] (two levels
// down and up, trained quadratic activations, 2 × 2 mean pooling, transposed convolutions with
// kernel 2 and stride 2, concatenated skip connections) on the 32 × 32 scenes of
// ml/unet/scenes.h, evaluated in double precision, layer by layer.
//
// Architecture ([RFB15]'s U-Net shape with [Chiang25UNet]'s layers; widths c1, c2, c3 read from the
// file, 8, 16, 32 in the committed model; every 3 × 3 convolution has stride 1, padding 1 and its
// batch normalisation folded in, as in ml/resnet/resnet_plain.h):
//
//     input   1 × 32 × 32
//     enc1    act(conv3x3 1 → c1)            c1 × 32 × 32   skip 1
//     pool1   2 × 2 mean                     c1 × 16 × 16
//     enc2    act(conv3x3 c1 → c2)           c2 × 16 × 16   skip 2
//     pool2   2 × 2 mean                     c2 × 8 × 8
//     mid     act(conv3x3 c2 → c3)           c3 × 8 × 8
//     up2     ConvTranspose2d(c3 → c2, 2, 2) c2 × 16 × 16
//     cat2    [up2, enc2]                    2c2 × 16 × 16  (up-sampled channels first)
//     dec2    act(conv3x3 2c2 → c2)          c2 × 16 × 16
//     up1     ConvTranspose2d(c2 → c1, 2, 2) c1 × 32 × 32
//     cat1    [up1, enc1]                    2c1 × 32 × 32
//     dec1    act(conv3x3 2c1 → c1)          c1 × 32 × 32
//     head    conv1x1 c1 → K                 K × 32 × 32 logits (K = 6); label = argmax per pixel
//
// Departures from [RFB15]: one convolution per level instead of two (fewer multiplicative levels
// for the encrypted version), quadratic activations, mean pooling, padding so that the output has
// the input's size (no cropping of the skips). [Chiang25UNet]'s abstract names the square activation,
// mean pooling and ConvTranspose2d(k = 2, s = 2); its channel counts could not be read.
//
// Weight file (written by scripts/train_unet.py; ml/models/README.md), safetensors, F32:
//   {enc1,enc2,mid,dec2,dec1}.conv.weight [out, in, 3, 3], .conv.bias [out], .act [3] (a, b, c)
//   {up2,up1}.weight [in, out, 2, 2] (PyTorch's ConvTranspose2d layout), .bias [out]
//   head.weight [K, c1, 1, 1], head.bias [K]
// Reused from ml/resnet/resnet_plain.h: FeatureMap, Conv2d/conv2d, QuadraticActivation/activate,
// LayerOutput/find_layer. New here: mean pooling (the ResNet has only global pooling), the
// transposed convolution and the channel concatenation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ml/resnet/resnet_plain.h"

namespace ckks::ml {

/// A 2-D transposed convolution with bias, as PyTorch's nn.ConvTranspose2d computes it (padding 0,
/// dilation 1, no output padding): every input value scatters a weighted kernel into the output,
///   out(o, y·stride + ky, x·stride + kx) += weight[i][o][ky][kx] · in(i, y, x)
/// summed over i, y, x, ky, kx, plus bias[o] everywhere. Output size (H − 1)·stride + kernel;
/// kernel = stride = 2 doubles the map and each output pixel receives exactly one input pixel
/// per input channel (the inverse of a 2 × 2 stride-2 convolution's footprint).
struct ConvTranspose2d {
  std::size_t in_channels = 0, out_channels = 0, kernel = 2, stride = 2;
  /// in_channels·out_channels·kernel·kernel values, PyTorch layout [in, out, kh, kw]:
  /// weight[((i·out_channels + o)·kernel + ky)·kernel + kx].
  std::vector<double> weight;
  std::vector<double> bias;  // out_channels values
};

/// Applies `t` to `x` (formula at ConvTranspose2d). Returns out_channels × ((H − 1)·stride +
/// kernel) × ((W − 1)·stride + kernel). Throws ckks::InputError if x.channels ≠ t.in_channels,
/// kernel or stride is 0, the map is empty, or the weight or bias has the wrong number of values.
FeatureMap conv_transpose2d(const FeatureMap& x, const ConvTranspose2d& t);

/// The channels of a followed by those of b (torch.cat([a, b], dim = 1)): an (a.channels +
/// b.channels) × H × W map. Throws ckks::InputError if the heights or widths differ (the
/// message gives both shapes: a skip connection must meet an up-sampled map of its own size).
FeatureMap concat_channels(const FeatureMap& a, const FeatureMap& b);

/// Mean pooling over non-overlapping window × window blocks (PyTorch's avg_pool2d(x, window)):
/// out(c, y, x) = (1 / window²)·Σ_{dy, dx < window} in(c, y·window + dy, x·window + dx),
/// a C × H/window × W/window map. Throws ckks::InputError if window is 0 or does not divide the
/// height and the width.
FeatureMap mean_pool(const FeatureMap& x, std::size_t window);

/// The U-Net (architecture and file layout at the top of this header).
struct UNet {
  /// A convolution (3 × 3, padding 1, batch norm folded) followed by its quadratic activation.
  struct ConvAct {
    Conv2d conv;
    QuadraticActivation act;
  };
  ConvAct enc1, enc2, mid, dec2, dec1;
  ConvTranspose2d up2, up1;
  Conv2d head;
  std::map<std::string, std::string> metadata;  // the file's "__metadata__" (may be empty)

  /// Loads the network from a safetensors file in the layout above; the widths are read from
  /// enc1, enc2 and mid and every other shape is checked against them.
  /// Throws ckks::InputError naming the file and the tensor if the file cannot be read (see
  /// read_safetensors), a tensor is missing or has another shape than the chain requires (the
  /// message gives both shapes; head.weight must be [K, c1, 1, 1] with K ≥ 2 labels), a width
  /// exceeds 32 (one 32 × 32 map per channel must fit the 2^15 slots of N = 2^16 for the
  /// encrypted version), or the file holds any other tensor.
  static UNet load(const std::string& path);

  /// Number of labels K (rows of head.weight); 0 for an empty model.
  std::size_t num_classes() const { return head.out_channels; }

  /// Every intermediate map of the forward pass on `input` (1 × H × W, H and W divisible by 4;
  /// the committed model expects 32 × 32), in evaluation order, named "input", "enc1.conv",
  /// "enc1.act", "pool1", "enc2.conv", "enc2.act", "pool2", "mid.conv", "mid.act", "up2", "cat2",
  /// "dec2.conv", "dec2.act", "up1", "cat1", "dec1.conv", "dec1.act", "head" (the logits).
  /// Throws ckks::InputError if the model is empty, the input does not have 1 channel, H or W
  /// is not a multiple of 4, or an input value is NaN or infinite.
  std::vector<LayerOutput> trace(const FeatureMap& input) const;

  /// The K × H × W logits (the "head" entry of trace). Throws as trace does.
  FeatureMap forward(const FeatureMap& input) const;

  /// The label of every pixel of a scene image (kSceneSize² values, row-major, as Scene::image):
  /// the index of the largest logit (the lowest on a tie). Throws ckks::InputError if
  /// image.size() ≠ 1024, or as trace does.
  std::vector<int> predict(const std::vector<float>& image) const;
};

/// Per-pixel labels of one map of logits: argmax over the channels (lowest index on a tie),
/// row-major, H·W values. Throws ckks::InputError if the map is empty.
std::vector<int> argmax_channels(const FeatureMap& logits);

/// Segmentation scores over a whole set of images: a K × K confusion matrix of pixel counts
/// summed over every image added, so IoU(c) = TP / (TP + FP + FN) counts the pixels of label c
/// over the whole set (the dataset-level measure, not a mean of per-image IoUs).
class SegmentationScore {
 public:
  /// Scores for labels 0 … classes − 1. Throws ckks::InputError if classes is 0.
  explicit SegmentationScore(std::size_t classes);

  /// Adds one image's predicted and true labels (same length, each in [0, classes)).
  /// Throws ckks::InputError if the lengths differ (both given) or a label is out of range.
  void add(const std::vector<int>& predicted, const std::vector<int>& truth);

  /// Pixels with truth t and prediction p. Precondition (unchecked): t, p < classes.
  std::uint64_t count(std::size_t truth, std::size_t predicted) const {
    return confusion_[truth * classes_ + predicted];
  }
  /// IoU of label c: TP / (TP + FP + FN), or NaN when the label occurs in neither prediction nor
  /// truth. Throws ckks::InputError if c ≥ classes.
  double iou(std::size_t c) const;
  /// The mean of iou(c) over the labels whose IoU is defined (not NaN).
  /// Throws ckks::InputError if no pixel has been added.
  double mean_iou() const;
  /// Correct pixels / all pixels. Throws ckks::InputError if no pixel has been added.
  double pixel_accuracy() const;
  /// Pixels added so far.
  std::uint64_t pixels() const { return pixels_; }

 private:
  std::size_t classes_;
  std::vector<std::uint64_t> confusion_;  // [truth · classes + predicted]
  std::uint64_t pixels_ = 0;
};

}  // namespace ckks::ml

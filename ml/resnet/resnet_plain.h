// Plaintext reference for the encrypted ResNet: a CIFAR-style residual network with polynomial
// (quadratic) activations and batch normalisation folded into the convolutions, evaluated in
// double precision, layer by layer.
//
// Architecture ([HZRS16], the CIFAR-10 networks; docs/references.md says what was read):
// a 3×3 "stem" convolution, then three stages of n residual blocks each with 16, 32 and 64
// channels on 32×32, 16×16 and 8×8 feature maps (the first block of stages 2 and 3 halves the
// map with stride 2), global average pooling and one dense layer: 6n + 2 weighted layers, so
// n = 1 is ResNet-8 and n = 3 is ResNet-20. One block is
//
//     y = act2( conv2( act1( conv1(x) ) ) + shortcut(x) )
//
// where shortcut is the identity, or — where the block changes the map size and channel count —
// a 1×1 convolution with stride 2 ("projection shortcut", option B of [HZRS16]).
// Departures from [HZRS16], both made so that CKKS can evaluate the network with additions and
// multiplications only:
//   * Departure: ReLU is replaced by a trained quadratic act(t) = a·t² + b·t + c, one (a, b, c)
//     per activation layer shared by all channels (the square of CryptoNets, Gilad-Bachrach et
//     al., ICML 2016, generalised as in ml/mlp/mlp_plain.h). Each costs one multiplicative level.
//   * Departure: batch normalisation is not a separate layer; in eval mode it is an affine map per
//     channel, so the training script folds it into the preceding convolution
//     (w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β per output channel) and this file sees only
//     convolutions with bias.
//
// Weight file (the format agreed with scripts that train these models; ml/models/README.md):
// safetensors (ml/data/safetensors.h), every tensor F32 (F64 accepted), PyTorch layouts:
//
//   stem.conv.weight [C1, C_in, 3, 3]  stem.conv.bias [C1]      3×3, stride 1, padding 1
//   stem.act [3]                                                (a, b, c)
//   s{S}.b{B}.conv1.weight [W_S, C_prev, 3, 3], .bias [W_S]     stride 2 if B = 1 and S ∈ {2, 3}
//   s{S}.b{B}.act1 [3]
//   s{S}.b{B}.conv2.weight [W_S, W_S, 3, 3], .bias [W_S]        stride 1, padding 1
//   s{S}.b{B}.shortcut.weight [W_S, C_prev, 1, 1], .bias [W_S]  only for B = 1, S ∈ {2, 3}
//   s{S}.b{B}.act2 [3]                                          after conv2 + shortcut
//   fc.weight [K, W_3], fc.bias [K]                             after global average pooling
//
// with S = 1, 2, 3, B = 1 … n, C_prev the channels entering the block (C1 for s1.b1). The
// committed Fashion-MNIST models have C_in = 1, C1 = W_1 = 16, W_2 = 32, W_3 = 64, K = 10 and take
// the 28×28 image (byte/255) zero-padded to 1×32×32 (ml/data/image.h). The loader reads the
// sizes from the file and checks that they chain, so a CIFAR-10 model (C_in = 3, images from
// ml/data/cifar.h) loads the same way.
//
// Why layer by layer: the encrypted network will evaluate the same layers on packed ciphertexts.
// ResNet::trace returns every intermediate feature map under the tensor-prefix names above
// ("s2.b1.conv1", "s2.b1.add", …), so an encrypted layer can be checked in isolation against
// its plaintext counterpart.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ckks::ml {

/// A stack of 2-D feature maps: channels × height × width doubles, channel-major ("CHW", as
/// PyTorch stores one image): value (c, y, x) is data[(c·height + y)·width + x].
struct FeatureMap {
  std::size_t channels = 0, height = 0, width = 0;
  std::vector<double> data;

  FeatureMap() = default;
  /// A channels × height × width map of zeros.
  FeatureMap(std::size_t channels, std::size_t height, std::size_t width);

  /// Wraps channel-major values (e.g. an image of ImageSet or ChannelImageSet, widened to double).
  /// Throws ckks::InputError if values.size() ≠ channels·height·width, a dimension is 0, or a
  /// value is NaN or infinite.
  static FeatureMap from_values(const std::vector<float>& values, std::size_t channels,
                                std::size_t height, std::size_t width);

  /// Value (c, y, x): channel c, row y, column x. Preconditions (unchecked): c < channels,
  /// y < height, x < width.
  double& at(std::size_t c, std::size_t y, std::size_t x) { return data[(c * height + y) * width + x]; }
  double at(std::size_t c, std::size_t y, std::size_t x) const {
    return data[(c * height + y) * width + x];
  }
};

/// A 2-D convolution with bias, as PyTorch's nn.Conv2d computes it (a cross-correlation):
///   out(o, y, x) = bias[o] + Σ_{i, ky, kx} weight[o][i][ky][kx] · in(i, y·stride + ky − padding,
///                                                                      x·stride + kx − padding)
/// where input positions outside the map count as 0 (zero padding).
struct Conv2d {
  std::size_t out_channels = 0, in_channels = 0, kernel = 0, stride = 1, padding = 0;
  /// out_channels·in_channels·kernel·kernel values, PyTorch layout [out, in, kh, kw]:
  /// weight[((o·in_channels + i)·kernel + ky)·kernel + kx].
  std::vector<double> weight;
  std::vector<double> bias;  // out_channels values
};

/// The output length of a convolution along one axis: ⌊(in + 2·padding − kernel) / stride⌋ + 1
/// (PyTorch's formula with dilation 1), e.g. 32 → 32 for 3×3/stride 1/padding 1, 32 → 16 for
/// 3×3/stride 2/padding 1 and for 1×1/stride 2/padding 0.
/// Throws ckks::InputError if kernel or stride is 0 or in + 2·padding < kernel.
std::size_t conv_output_size(std::size_t in, std::size_t kernel, std::size_t stride,
                             std::size_t padding);

/// Applies `conv` to `x` (formula at Conv2d). Returns out_channels × H' × W' with H', W' from
/// conv_output_size. Throws ckks::InputError if x.channels ≠ conv.in_channels, the weight or bias
/// has the wrong number of values, or the map is smaller than the kernel after padding.
FeatureMap conv2d(const FeatureMap& x, const Conv2d& conv);

/// The residual addition a + b, elementwise. Throws ckks::InputError if the shapes differ (the
/// message gives both).
FeatureMap add(const FeatureMap& a, const FeatureMap& b);

/// The polynomial activation act(t) = a·t² + b·t + c (one triple per layer, shared by every
/// channel and position). a = 1, b = c = 0 is CryptoNets' square.
struct QuadraticActivation {
  double a = 1.0, b = 0.0, c = 0.0;
  double operator()(double t) const { return (a * t + b) * t + c; }
};

/// act applied to every value of x (same shape).
FeatureMap activate(const FeatureMap& x, const QuadraticActivation& act);

/// Global average pooling: the mean of each channel over its height·width positions, returned as
/// a channels × 1 × 1 map (64 × 1 × 1 after an 8×8 last stage). Throws ckks::InputError if the
/// map is empty.
FeatureMap global_average_pool(const FeatureMap& x);

/// A dense (fully connected) layer y = W x + b, PyTorch nn.Linear layout.
struct Dense {
  std::size_t in = 0, out = 0;
  std::vector<double> weight;  // out·in values, row-major: weight[j·in + k] = W[j][k]
  std::vector<double> bias;    // out values
};

/// Applies `d` to the values of x taken in channel-major order (so a C × 1 × 1 pooled map is the
/// C-vector). Returns out × 1 × 1. Throws ckks::InputError if x has ≠ d.in values or the weight
/// or bias has the wrong number of values.
FeatureMap dense(const FeatureMap& x, const Dense& d);

/// One named intermediate result of ResNet::trace.
struct LayerOutput {
  std::string name;
  FeatureMap value;
};

/// The residual network (file layout and arithmetic at the top of this header).
struct ResNet {
  /// One residual block: y = act2(conv2(act1(conv1(x))) + shortcut(x)), with shortcut the
  /// identity when `shortcut` is empty.
  struct Block {
    Conv2d conv1;
    QuadraticActivation act1;
    Conv2d conv2;
    std::optional<Conv2d> shortcut;
    QuadraticActivation act2;
  };

  Conv2d stem;
  QuadraticActivation stem_act;
  std::vector<std::vector<Block>> stages;  // 3 stages of blocks_per_stage() blocks, s1 first
  Dense fc;
  std::map<std::string, std::string> metadata;  // the file's "__metadata__" (may be empty)

  /// Loads a network from a safetensors file in the layout above. The number of blocks per stage
  /// n is detected from the tensors (s1.b1, s1.b2, … while present) and must be the same in all
  /// three stages; all sizes are read from the weights.
  /// Throws ckks::InputError naming the file and the tensor when: the file cannot be read (see
  /// read_safetensors); a tensor is missing (stem.*, any s{S}.b{B}.* for B ≤ n, a shortcut of a
  /// downsampling block, fc.*); a tensor has the wrong shape (the message gives the shape found,
  /// the shape expected and why: e.g. conv1's input channels must equal the previous block's
  /// output channels, an activation must be [3], an identity shortcut needs equal channel counts);
  /// a tensor has any other name (a fourth stage, an extra block in one stage only, a shortcut on
  /// a non-downsampling block, a typo); or the metadata contradicts the detected depth
  /// ("blocks_per_stage" ≠ n, or "arch" ≠ "resnet<6n+2>").
  static ResNet load(const std::string& path);

  /// n, the residual blocks per stage (1 for ResNet-8, 3 for ResNet-20). 0 for an empty model.
  std::size_t blocks_per_stage() const;
  /// The number of weighted layers, 6n + 2 (8 or 20).
  std::size_t depth() const;
  /// Input channels C_in (1 for Fashion-MNIST, 3 for CIFAR-10).
  std::size_t input_channels() const { return stem.in_channels; }
  /// Number of classes K (rows of fc.weight).
  std::size_t num_classes() const { return fc.out; }

  /// Every intermediate result of the forward pass on `input` (C_in × H × W; the committed models
  /// expect 32 × 32), in evaluation order, named:
  ///   "input", "stem.conv", "stem.act", then per block s{S}.b{B}: ".conv1", ".act1", ".conv2",
  ///   ".shortcut" (only for a projection shortcut; otherwise the identity adds the block input),
  ///   ".add" (conv2 + shortcut), ".act2"; then "pool" (W_3 × 1 × 1) and "fc" (K × 1 × 1, the
  ///   logits).
  /// Throws ckks::InputError if the model is empty (not loaded), input.channels ≠ C_in, or a value
  /// of the input is NaN or infinite.
  std::vector<LayerOutput> trace(const FeatureMap& input) const;

  /// The K logits of `input` (the "fc" entry of trace, computed without keeping the other maps).
  /// Throws as trace does.
  std::vector<double> forward(const FeatureMap& input) const;
  /// The same for an image as the loaders store it: C_in × 32 × 32 values, channel-major, in
  /// [0, 1] (for Fashion-MNIST, the output of pad_fashion_mnist_to_32 in ml/data/image.h).
  /// Throws ckks::InputError if image.size() ≠ C_in·32·32 (the message reminds to pad 28×28
  /// Fashion-MNIST images) or as trace does.
  std::vector<double> forward(const std::vector<float>& image) const;

  /// The predicted class: the index of the largest logit (the lowest index on a tie).
  /// Throws as forward does.
  int predict(const std::vector<float>& image) const;
};

/// "s{stage}.b{block}" (both counted from 1, e.g. "s2.b1"): the tensor-name prefix of a residual
/// block in the weight file and of its maps in ResNet::trace. No errors.
std::string resnet_block_name(std::size_t stage, std::size_t block);

/// The map named `name` in the result of ResNet::trace.
/// Throws ckks::InputError if there is none (the message lists the available names).
const FeatureMap& find_layer(const std::vector<LayerOutput>& trace, const std::string& name);

}  // namespace ckks::ml

// Small image helpers shared by the data loaders and the convolutional models: zero padding and
// the 2×2-mean downsampling of Fashion-MNIST to 16 × 16.
//
// Why pad Fashion-MNIST: the CIFAR-style ResNets ([HZRS16]; ml/resnet/resnet_plain.h) are built
// for 32 × 32 inputs, which halve cleanly to 16 × 16 and 8 × 8 in their strided stages. A 28 × 28
// Fashion-MNIST image is brought to 32 × 32 by adding 2 rows/columns of zeros (the background
// value) on every side, so the garment stays centred and no pixel is resampled.
//
// Why downsample to 16 × 16: the encrypted ResNet's tests run at ring degree N = 2^13 (4096
// slots), where a 16 × 16 map with a few channels fits one ciphertext; the small model
// ml/models/resnet8_tiny_fmnist16.safetensors takes the 2 × 2 means (14 × 14) padded by 1.
// Header-only: the functions are a few lines each.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/idx.h"

namespace ckks::ml {

/// Zero-pads one channel-major image of `channels` × rows × cols values (index (ch·rows + r)·cols
/// + c) by `pad` zeros on each of the four sides of every channel. Returns channels × (rows +
/// 2·pad) × (cols + 2·pad) values, channel-major; pixel (r, c) of channel ch lands at
/// (r + pad, c + pad). pad = 0 returns a copy.
/// Throws ckks::InputError if image.size() ≠ channels·rows·cols or any of channels, rows, cols
/// is 0.
inline std::vector<float> zero_pad_image(const std::vector<float>& image, std::size_t channels,
                                         std::size_t rows, std::size_t cols, std::size_t pad) {
  if (channels == 0 || rows == 0 || cols == 0) {
    throw InputError("zero_pad_image: channels, rows and cols must all be at least 1 (got " +
                     std::to_string(channels) + " x " + std::to_string(rows) + " x " +
                     std::to_string(cols) + ")");
  }
  if (image.size() != channels * rows * cols) {
    throw InputError("zero_pad_image: the image has " + std::to_string(image.size()) +
                     " values but channels x rows x cols = " + std::to_string(channels) + " x " +
                     std::to_string(rows) + " x " + std::to_string(cols) + " = " +
                     std::to_string(channels * rows * cols) + "; pass the image's own shape");
  }
  const std::size_t R = rows + 2 * pad, C = cols + 2 * pad;
  std::vector<float> out(channels * R * C, 0.0f);
  for (std::size_t ch = 0; ch < channels; ++ch) {
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) {
        out[(ch * R + r + pad) * C + c + pad] = image[(ch * rows + r) * cols + c];
      }
    }
  }
  return out;
}

/// The ResNet input size (32 × 32) and the padding that brings 28 × 28 Fashion-MNIST to it.
inline constexpr std::size_t kResNetImageSize = 32;
inline constexpr std::size_t kFashionMnistPad = 2;

/// Pads every image of a 28 × 28 grey-scale set (as load_fashion_mnist returns) to 32 × 32 with
/// kFashionMnistPad = 2 zero rows/columns on each side (zero_pad_image with one channel).
/// Labels are kept; rows and cols become 32. The result is the input the Fashion-MNIST ResNets
/// in ml/models/ were trained on ("1x32x32, fashion-mnist byte/255 zero-padded by 2").
/// Throws ckks::InputError if the set is not 28 × 28 (the message gives its size) or an image
/// does not have 784 values.
inline ImageSet pad_fashion_mnist_to_32(const ImageSet& set) {
  if (set.rows != 28 || set.cols != 28) {
    throw InputError("pad_fashion_mnist_to_32: the images are " + std::to_string(set.rows) +
                     " x " + std::to_string(set.cols) + "; Fashion-MNIST images are 28 x 28 "
                     "(use zero_pad_image for other sizes)");
  }
  ImageSet out;
  out.rows = out.cols = kResNetImageSize;
  out.labels = set.labels;
  out.images.reserve(set.images.size());
  for (const auto& img : set.images) out.images.push_back(zero_pad_image(img, 1, 28, 28, kFashionMnistPad));
  return out;
}

/// The input size of the small Fashion-MNIST ResNets (16 × 16; ml/models/resnet8_tiny_fmnist16).
inline constexpr std::size_t kSmallResNetImageSize = 16;

/// Brings one 28 × 28 Fashion-MNIST image (784 values, row-major, each byte / 255 in [0, 1], as
/// load_fashion_mnist returns) to the 16 × 16 input of the small ResNets: the mean of every 2 × 2
/// block gives 14 × 14 values, which are then zero-padded by 1 on every side. Returns 256 values,
/// row-major (one channel): value (r, c) for 1 ≤ r, c ≤ 14 is the mean of pixels (2r − 2, 2c − 2),
/// (2r − 2, 2c − 1), (2r − 1, 2c − 2), (2r − 1, 2c − 1); the border row/column is 0.
/// Arithmetic: in float, m = (((top-left + top-right) + bottom-left) + bottom-right) · 0.25f, every
/// operation rounded to float — the order of scripts/train_resnet.py --input-size 16 (numpy
/// float32), so the result equals the training input bit for bit.
/// Throws ckks::InputError if image28.size() ≠ 784 (the message gives the size).
inline std::vector<float> downsample_fashion_mnist_to_16(const std::vector<float>& image28) {
  constexpr std::size_t kIn = 28, kHalf = kIn / 2, kOut = kSmallResNetImageSize;
  if (image28.size() != kIn * kIn) {
    throw InputError("downsample_fashion_mnist_to_16: the image has " +
                     std::to_string(image28.size()) +
                     " values; a 28 x 28 Fashion-MNIST image has 784");
  }
  std::vector<float> half(kHalf * kHalf);
  for (std::size_t r = 0; r < kHalf; ++r) {
    for (std::size_t c = 0; c < kHalf; ++c) {
      const float* top = image28.data() + (2 * r) * kIn + 2 * c;
      const float* bottom = top + kIn;
      float s = top[0] + top[1];
      s = s + bottom[0];
      s = s + bottom[1];
      half[r * kHalf + c] = s * 0.25f;
    }
  }
  static_assert(kHalf + 2 == kOut, "14 x 14 means plus a 1-pixel border make 16 x 16");
  return zero_pad_image(half, 1, kHalf, kHalf, 1);
}

}  // namespace ckks::ml

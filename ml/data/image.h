// Small image helpers shared by the data loaders and the convolutional models: zero padding.
//
// Why pad Fashion-MNIST: the CIFAR-style ResNets ([HZRS16, §4.2]; ml/resnet_plain.h) are built
// for 32 × 32 inputs, which halve cleanly to 16 × 16 and 8 × 8 in their strided stages. A 28 × 28
// Fashion-MNIST image is brought to 32 × 32 by adding 2 rows/columns of zeros (the background
// value) on every side, so the garment stays centred and no pixel is resampled.
// Header-only: the functions are a few lines each.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "ckks/math/errors.h"
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

}  // namespace ckks::ml

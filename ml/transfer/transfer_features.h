// The client's half of CNN training by transfer learning [Chiang23]: a frozen pre-trained
// convolutional network, run in plaintext on the client's own images, turns every image into a
// short feature vector; only these vectors are encrypted and sent, and the server trains a small
// classifier on them (ml/transfer/transfer_job.h).
//
// Here the frozen network is the committed ResNet-20 trained on Fashion-MNIST
// (ml/models/resnet20_fmnist.safetensors, ml/resnet/resnet_plain.h), which never saw a digit, and
// the target task is scikit-learn's handwritten digits (8 × 8 pixels, counts 0 … 16,
// ml/data/sklearn.h). [Chiang23] (abstract) uses REGNET_X_400MF pre-trained on ImageNet and MNIST.
//
// From a digit to the network's input (digit_to_resnet_input):
//   1. pixels / 16: counts in [0, 16] → [0, 1], the range of Fashion-MNIST's byte / 255;
//   2. bilinear upsampling 8 × 8 → 28 × 28 (bilinear_resize, half-pixel centres), the size of a
//      Fashion-MNIST image;
//   3. zero padding by 2 on every side → 1 × 32 × 32, exactly as the network's training images
//      were padded (ml/data/image.h, kFashionMnistPad).
// Features (extract_features): the global-average-pool output of the network, W_3 = 64 values
// (the input of its fc layer, the "pool" map of ResNet::trace), i.e. the network minus its
// 10-class head. The fc head is Fashion-MNIST's and is dropped; the server learns a new head.
// Normalisation (FeatureScaler): z-scores fitted on the training images only, as ckks-ml mlr does
// for CSV data, so every feature enters the quadratic-gradient preconditioner on the same scale
// and σ̃'s inputs stay inside [−8, 8].
#pragma once
#include <cstddef>
#include <vector>

#include "ml/mlr/mlr_plain.h"  // DenseMatrix
#include "ml/resnet/resnet_plain.h"

namespace ckks::ml {

/// Bilinear resampling of one single-channel image (row-major, rows × cols) to out_rows × out_cols
/// with half-pixel centres (the convention of OpenCV's INTER_LINEAR and of PyTorch's
/// interpolate(mode="bilinear", align_corners=False)): output pixel (i, j) samples the input at
///   y = (i + ½)·rows/out_rows − ½,  x = (j + ½)·cols/out_cols − ½,
/// each clamped to [0, rows − 1] resp. [0, cols − 1], as
///   (1 − b)·((1 − a)·I[y0][x0] + a·I[y0][x1]) + b·((1 − a)·I[y1][x0] + a·I[y1][x1])
/// with y0 = ⌊y⌋, y1 = min(y0 + 1, rows − 1), b = y − y0 (x likewise with a), computed in double and
/// rounded to float once. Same size in and out returns the image unchanged.
/// Throws ckks::InputError if a dimension is 0 or image.size() ≠ rows·cols (naming both numbers).
std::vector<float> bilinear_resize(const std::vector<float>& image, std::size_t rows, std::size_t cols,
                                   std::size_t out_rows, std::size_t out_cols);

/// The side of a scikit-learn digit (8) and of the image it is upsampled to (28, Fashion-MNIST's).
inline constexpr std::size_t kDigitSide = 8;
inline constexpr std::size_t kUpsampledDigitSide = 28;

/// One scikit-learn digit (64 pixel counts in [0, 16], row-major 8 × 8, as read_sklearn_digits
/// returns a row of X) brought to the 1 × 32 × 32 input of the Fashion-MNIST ResNets: steps 1–3 of
/// the file comment. Returns 1024 values in [0, 1], row-major.
/// Throws ckks::InputError if pixels.size() ≠ 64 or a pixel is outside [0, 16] or not finite
/// (naming the index and the value).
std::vector<float> digit_to_resnet_input(const std::vector<double>& pixels);

/// The dimension of the features of `model`: its last stage's channel count W_3 (64 for the
/// committed ResNets), the length of the global-average-pool output. 0 for an empty model.
std::size_t feature_dimension(const ResNet& model);

/// The global-average-pool output ("pool" of ResNet::trace, W_3 values) of `model` on every image
/// (each C_in × 32 × 32 values, channel-major, e.g. from digit_to_resnet_input). Row i of the
/// result belongs to images[i]. Images are spread over the library's threads (ml/parallel.h); the
/// result does not depend on the thread count.
/// Throws ckks::InputError if the model is empty or an image has the wrong size or a non-finite
/// value (ResNet::trace's errors, naming the image index).
DenseMatrix extract_features(const ResNet& model, const std::vector<std::vector<float>>& images);

/// Per-feature z-scores x' = (x − mean_j)/sd_j with the mean and population standard deviation of
/// the TRAINING rows (fit); a constant feature (sd_j = 0) is centred and left unscaled (sd_j
/// taken as 1), so a network channel that never fires on the training images adds nothing.
struct FeatureScaler {
  std::vector<double> mean, stddev;
  /// Fits on the rows of X. Throws ckks::InputError if X has no rows, rows of different lengths
  /// or a non-finite value.
  static FeatureScaler fit(const DenseMatrix& X);
  /// X with every row scaled. Throws ckks::InputError if a row's length differs from the fitted
  /// dimension.
  DenseMatrix apply(const DenseMatrix& X) const;
};

}  // namespace ckks::ml

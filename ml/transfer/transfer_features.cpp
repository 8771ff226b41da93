#include "ml/transfer/transfer_features.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ml/data/image.h"
#include "ml/data/sklearn.h"
#include "ml/parallel.h"

namespace ckks::ml {

namespace {

/// The source coordinate of output index i under half-pixel centres, clamped to [0, in − 1],
/// split into the lower neighbour, the upper neighbour and the weight of the upper one.
struct Tap {
  std::size_t lo = 0, hi = 0;
  double w = 0;
};

Tap source_tap(std::size_t i, std::size_t in, std::size_t out) {
  double s = (static_cast<double>(i) + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
  s = std::clamp(s, 0.0, static_cast<double>(in - 1));
  Tap t;
  t.lo = static_cast<std::size_t>(std::floor(s));
  t.hi = std::min(t.lo + 1, in - 1);
  t.w = s - static_cast<double>(t.lo);
  return t;
}

}  // namespace

std::vector<float> bilinear_resize(const std::vector<float>& image, std::size_t rows, std::size_t cols,
                                   std::size_t out_rows, std::size_t out_cols) {
  if (rows == 0 || cols == 0 || out_rows == 0 || out_cols == 0)
    throw InputError("bilinear_resize: every size must be at least 1 (got " + std::to_string(rows) + " x " +
                     std::to_string(cols) + " -> " + std::to_string(out_rows) + " x " + std::to_string(out_cols) + ")");
  if (image.size() != rows * cols)
    throw InputError("bilinear_resize: the image has " + std::to_string(image.size()) + " values but rows x cols = " +
                     std::to_string(rows) + " x " + std::to_string(cols) + "; pass the image's own shape");
  std::vector<float> out(out_rows * out_cols);
  for (std::size_t i = 0; i < out_rows; ++i) {
    const Tap ty = source_tap(i, rows, out_rows);
    for (std::size_t j = 0; j < out_cols; ++j) {
      const Tap tx = source_tap(j, cols, out_cols);
      const double top = (1 - tx.w) * image[ty.lo * cols + tx.lo] + tx.w * image[ty.lo * cols + tx.hi];
      const double bottom = (1 - tx.w) * image[ty.hi * cols + tx.lo] + tx.w * image[ty.hi * cols + tx.hi];
      out[i * out_cols + j] = static_cast<float>((1 - ty.w) * top + ty.w * bottom);
    }
  }
  return out;
}

std::vector<float> digit_to_resnet_input(const std::vector<double>& pixels) {
  if (pixels.size() != kDigitSide * kDigitSide)
    throw InputError("digit_to_resnet_input: the digit has " + std::to_string(pixels.size()) +
                     " pixels; a scikit-learn digit has 8 x 8 = 64");
  std::vector<float> unit(pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    if (!std::isfinite(pixels[i]) || pixels[i] < 0 || pixels[i] > kDigitsMaxPixel)
      throw InputError("digit_to_resnet_input: pixel " + std::to_string(i) + " is " + std::to_string(pixels[i]) +
                       "; scikit-learn digits hold counts in [0, 16]");
    unit[i] = static_cast<float>(pixels[i] / kDigitsMaxPixel);
  }
  const std::vector<float> up = bilinear_resize(unit, kDigitSide, kDigitSide, kUpsampledDigitSide, kUpsampledDigitSide);
  return zero_pad_image(up, 1, kUpsampledDigitSide, kUpsampledDigitSide, kFashionMnistPad);
}

std::size_t feature_dimension(const ResNet& model) { return model.stages.empty() ? 0 : model.fc.in; }

DenseMatrix extract_features(const ResNet& model, const std::vector<std::vector<float>>& images) {
  if (feature_dimension(model) == 0)
    throw InputError("extract_features: the model is empty; load it with ResNet::load first");
  DenseMatrix features(images.size());
  parallel_for(images.size(), [&](std::size_t i) {
    const std::vector<float>& img = images[i];
    const std::size_t c = model.input_channels();
    if (img.size() != c * kResNetImageSize * kResNetImageSize)
      throw InputError("extract_features: image " + std::to_string(i) + " has " + std::to_string(img.size()) +
                       " values; the network takes " + std::to_string(c) + " x 32 x 32 (digit_to_resnet_input)");
    try {
      const FeatureMap input = FeatureMap::from_values(img, c, kResNetImageSize, kResNetImageSize);
      features[i] = find_layer(model.trace(input), "pool").data;
    } catch (const InputError& e) {
      throw InputError("extract_features: image " + std::to_string(i) + ": " + e.what());
    }
  });
  return features;
}

FeatureScaler FeatureScaler::fit(const DenseMatrix& X) {
  if (X.empty() || X[0].empty()) throw InputError("FeatureScaler::fit: no training rows (or rows without features)");
  const std::size_t d = X[0].size();
  FeatureScaler s;
  s.mean.assign(d, 0.0);
  s.stddev.assign(d, 0.0);
  for (std::size_t r = 0; r < X.size(); ++r) {
    if (X[r].size() != d)
      throw InputError("FeatureScaler::fit: row " + std::to_string(r) + " has " + std::to_string(X[r].size()) +
                       " features, row 0 has " + std::to_string(d));
    for (std::size_t j = 0; j < d; ++j) {
      if (!std::isfinite(X[r][j]))
        throw InputError("FeatureScaler::fit: feature " + std::to_string(j) + " of row " + std::to_string(r) +
                         " is not finite");
      s.mean[j] += X[r][j];
    }
  }
  const double n = static_cast<double>(X.size());
  for (double& m : s.mean) m /= n;
  for (const auto& row : X)
    for (std::size_t j = 0; j < d; ++j) s.stddev[j] += (row[j] - s.mean[j]) * (row[j] - s.mean[j]);
  for (double& v : s.stddev) {
    v = std::sqrt(v / n);
    if (v == 0) v = 1;  // a constant feature: centred, not scaled
  }
  return s;
}

DenseMatrix FeatureScaler::apply(const DenseMatrix& X) const {
  DenseMatrix out = X;
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (out[r].size() != mean.size())
      throw InputError("FeatureScaler::apply: row " + std::to_string(r) + " has " + std::to_string(out[r].size()) +
                       " features but the scaler was fitted on " + std::to_string(mean.size()));
    for (std::size_t j = 0; j < mean.size(); ++j) out[r][j] = (out[r][j] - mean[j]) / stddev[j];
  }
  return out;
}

}  // namespace ckks::ml

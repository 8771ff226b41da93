// U-Net: mean pooling, transposed convolution, channel concatenation, the loader with its shape
// checks, the forward pass and the segmentation scores.
#include "ml/unet/unet_plain.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ckks/errors.h"
#include "ml/data/safetensors.h"
#include "ml/unet/scenes.h"

namespace ckks::ml {
namespace {

std::string dims(const FeatureMap& x) {
  return std::to_string(x.channels) + " x " + std::to_string(x.height) + " x " +
         std::to_string(x.width);
}

}  // namespace

FeatureMap conv_transpose2d(const FeatureMap& x, const ConvTranspose2d& t) {
  if (t.kernel == 0 || t.stride == 0) {
    throw InputError("conv_transpose2d: kernel = " + std::to_string(t.kernel) + " and stride = " +
                     std::to_string(t.stride) + " must both be at least 1 (the U-Net uses 2 and 2)");
  }
  if (x.channels != t.in_channels) {
    throw InputError("conv_transpose2d: the input has " + std::to_string(x.channels) +
                     " channels (" + dims(x) + ") but the layer expects " +
                     std::to_string(t.in_channels));
  }
  if (x.height == 0 || x.width == 0) {
    throw InputError("conv_transpose2d: the input map " + dims(x) + " is empty");
  }
  const std::size_t K = t.kernel, O = t.out_channels;
  if (t.weight.size() != t.in_channels * O * K * K || t.bias.size() != O) {
    throw InputError("conv_transpose2d: the layer has " + std::to_string(t.weight.size()) +
                     " weights and " + std::to_string(t.bias.size()) + " biases; [in, out, k, k] = [" +
                     std::to_string(t.in_channels) + ", " + std::to_string(O) + ", " +
                     std::to_string(K) + ", " + std::to_string(K) + "] needs " +
                     std::to_string(t.in_channels * O * K * K) + " and " + std::to_string(O));
  }
  const std::size_t H = (x.height - 1) * t.stride + K, W = (x.width - 1) * t.stride + K;
  FeatureMap y(O, H, W);
  for (std::size_t o = 0; o < O; ++o) {
    for (std::size_t k = 0; k < H * W; ++k) y.data[o * H * W + k] = t.bias[o];
  }
  for (std::size_t i = 0; i < t.in_channels; ++i) {
    for (std::size_t o = 0; o < O; ++o) {
      const double* w = t.weight.data() + (i * O + o) * K * K;
      for (std::size_t r = 0; r < x.height; ++r) {
        for (std::size_t c = 0; c < x.width; ++c) {
          const double v = x.at(i, r, c);
          for (std::size_t ky = 0; ky < K; ++ky) {
            for (std::size_t kx = 0; kx < K; ++kx) {
              y.at(o, r * t.stride + ky, c * t.stride + kx) += w[ky * K + kx] * v;
            }
          }
        }
      }
    }
  }
  return y;
}

FeatureMap concat_channels(const FeatureMap& a, const FeatureMap& b) {
  if (a.height != b.height || a.width != b.width) {
    throw InputError("concat_channels: the maps are " + dims(a) + " and " + dims(b) +
                     "; a skip connection must have the height and width of the up-sampled map");
  }
  FeatureMap y(a.channels + b.channels, a.height, a.width);
  std::copy(a.data.begin(), a.data.end(), y.data.begin());
  std::copy(b.data.begin(), b.data.end(), y.data.begin() + static_cast<std::ptrdiff_t>(a.data.size()));
  return y;
}

FeatureMap mean_pool(const FeatureMap& x, std::size_t window) {
  if (window == 0 || x.height % window != 0 || x.width % window != 0 || x.height == 0 ||
      x.width == 0) {
    throw InputError("mean_pool: a window of " + std::to_string(window) + " must be at least 1 "
                     "and divide the height and width of the " + dims(x) + " map");
  }
  const std::size_t H = x.height / window, W = x.width / window;
  const double inv = 1.0 / static_cast<double>(window * window);
  FeatureMap y(x.channels, H, W);
  for (std::size_t ch = 0; ch < x.channels; ++ch) {
    for (std::size_t r = 0; r < H; ++r) {
      for (std::size_t c = 0; c < W; ++c) {
        double s = 0.0;
        for (std::size_t dy = 0; dy < window; ++dy) {
          for (std::size_t dx = 0; dx < window; ++dx) s += x.at(ch, r * window + dy, c * window + dx);
        }
        y.at(ch, r, c) = s * inv;
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Loading.

namespace {

// The maximum width of a level: 32 channels × 32 × 32 pixels = 2^15 slots of N = 2^16.
constexpr std::size_t kMaxUNetWidth = 32;

// Every tensor name of a U-Net file (ml/unet/unet_plain.h), in network order.
std::vector<std::string> unet_tensor_names() {
  std::vector<std::string> names;
  for (const char* layer : {"enc1", "enc2", "mid", "up2", "dec2", "up1", "dec1", "head"}) {
    const std::string p = layer;
    if (p == "up2" || p == "up1" || p == "head") {
      names.insert(names.end(), {p + ".weight", p + ".bias"});
    } else {
      names.insert(names.end(), {p + ".conv.weight", p + ".conv.bias", p + ".act"});
    }
  }
  return names;
}

// The tensors of one file after the name check, handed out by their required shape.
struct UNetFile {
  std::string where;
  std::map<std::string, Tensor> tensors;

  const std::vector<double>& shaped(const std::string& name, const std::vector<std::size_t>& shape,
                                    const std::string& why) const {
    const Tensor& t = tensors.at(name);
    if (t.shape != shape) {
      throw InputError(where + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) +
                       " but " + shape_string(shape) + " is expected (" + why + ")");
    }
    return t.data;
  }

  // The output channels of the 3 × 3 convolution "<layer>.conv.weight", checked to be 1..32.
  std::size_t width(const std::string& layer) const {
    const std::string name = layer + ".conv.weight";
    const Tensor& t = tensors.at(name);
    if (t.shape.size() != 4 || t.shape[0] == 0 || t.shape[0] > kMaxUNetWidth) {
      throw InputError(where + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) +
                       "; it must be [out, in, 3, 3] with 1 <= out <= 32 (32 channels of "
                       "32 x 32 fill the 2^15 slots of N = 2^16)");
    }
    return t.shape[0];
  }

  UNet::ConvAct conv_act(const std::string& layer, std::size_t out, std::size_t in,
                         const std::string& why) const {
    const auto& a = shaped(layer + ".act", {3}, "the coefficients (a, b, c) of a*t^2 + b*t + c");
    return {Conv2d{out, in, 3, 1, 1, shaped(layer + ".conv.weight", {out, in, 3, 3}, why),
                   shaped(layer + ".conv.bias", {out}, "one bias per output channel")},
            QuadraticActivation{a[0], a[1], a[2]}};
  }

  ConvTranspose2d up(const std::string& layer, std::size_t in, std::size_t out) const {
    return {in, out, 2, 2,
            shaped(layer + ".weight", {in, out, 2, 2},
                   layer + " maps " + std::to_string(in) + " channels to " + std::to_string(out) +
                       ", PyTorch's ConvTranspose2d layout [in, out, 2, 2]"),
            shaped(layer + ".bias", {out}, "one bias per output channel")};
  }
};

}  // namespace

UNet UNet::load(const std::string& path) {
  const UNetFile f{"UNet::load: " + path, read_safetensors(path)};
  const std::vector<std::string> names = unet_tensor_names();
  for (const std::string& name : names) {
    if (!f.tensors.count(name)) {
      throw InputError(f.where + " has no tensor \"" + name + "\"; a U-Net file needs "
                       "{enc1,enc2,mid,dec2,dec1}.conv.{weight,bias} and .act, {up2,up1}.{weight,bias} "
                       "and head.{weight,bias} (ml/unet/unet_plain.h)");
    }
  }
  for (const auto& entry : f.tensors) {
    if (std::find(names.begin(), names.end(), entry.first) == names.end()) {
      throw InputError(f.where + ": unexpected tensor \"" + entry.first + "\"; a U-Net file holds "
                       "only the " + std::to_string(names.size()) + " tensors listed in ml/unet/unet_plain.h");
    }
  }
  UNet net;
  net.metadata = read_safetensors_metadata(path);
  const std::size_t c1 = f.width("enc1"), c2 = f.width("enc2"), c3 = f.width("mid");
  net.enc1 = f.conv_act("enc1", c1, 1, "the input is one grey-scale channel");
  net.enc2 = f.conv_act("enc2", c2, c1, "enc2 reads the c1 channels of enc1");
  net.mid = f.conv_act("mid", c3, c2, "mid reads the c2 channels of enc2");
  net.up2 = f.up("up2", c3, c2);
  net.dec2 = f.conv_act("dec2", c2, 2 * c2, "dec2 reads [up2, enc2], 2*c2 channels");
  net.up1 = f.up("up1", c2, c1);
  net.dec1 = f.conv_act("dec1", c1, 2 * c1, "dec1 reads [up1, enc1], 2*c1 channels");
  const Tensor& hw = f.tensors.at("head.weight");
  if (hw.shape.size() != 4 || hw.shape[0] < 2 || hw.shape[1] != c1 || hw.shape[2] != 1 ||
      hw.shape[3] != 1) {
    throw InputError(f.where + ": tensor \"head.weight\" has shape " + shape_string(hw.shape) +
                     " but [K, " + std::to_string(c1) + ", 1, 1] with K >= 2 labels is expected "
                     "(a 1x1 convolution of dec1's channels)");
  }
  const std::size_t K = hw.shape[0];
  net.head = {K, c1, 1, 1, 0, hw.data, f.shaped("head.bias", {K}, "one bias per label")};
  return net;
}

std::vector<LayerOutput> UNet::trace(const FeatureMap& input) const {
  if (num_classes() == 0) {
    throw InputError("UNet::trace: the model is empty; load one with UNet::load");
  }
  if (input.channels != 1 || input.height == 0 || input.width == 0 || input.height % 4 != 0 ||
      input.width % 4 != 0) {
    throw InputError("UNet::trace: the input is " + dims(input) + "; the U-Net takes 1 x H x W "
                     "with H and W multiples of 4 (two 2 x 2 poolings), 1 x 32 x 32 for the scenes");
  }
  for (std::size_t k = 0; k < input.data.size(); ++k) {
    if (!std::isfinite(input.data[k])) {
      throw InputError("UNet::trace: input value " + std::to_string(k) + " is not finite");
    }
  }
  std::vector<LayerOutput> out;
  out.push_back({"input", input});
  const auto block = [&](const std::string& name, const ConvAct& ca, const FeatureMap& x) {
    out.push_back({name + ".conv", conv2d(x, ca.conv)});
    out.push_back({name + ".act", activate(out.back().value, ca.act)});
    return out.size() - 1;
  };
  const std::size_t e1 = block("enc1", enc1, input);
  out.push_back({"pool1", mean_pool(out[e1].value, 2)});
  const std::size_t e2 = block("enc2", enc2, out.back().value);
  out.push_back({"pool2", mean_pool(out[e2].value, 2)});
  block("mid", mid, out.back().value);
  out.push_back({"up2", conv_transpose2d(out.back().value, up2)});
  out.push_back({"cat2", concat_channels(out.back().value, out[e2].value)});
  block("dec2", dec2, out.back().value);
  out.push_back({"up1", conv_transpose2d(out.back().value, up1)});
  out.push_back({"cat1", concat_channels(out.back().value, out[e1].value)});
  block("dec1", dec1, out.back().value);
  out.push_back({"head", conv2d(out.back().value, head)});
  return out;
}

FeatureMap UNet::forward(const FeatureMap& input) const { return trace(input).back().value; }

std::vector<int> UNet::predict(const std::vector<float>& image) const {
  if (image.size() != kSceneSize * kSceneSize) {
    throw InputError("UNet::predict: the image has " + std::to_string(image.size()) +
                     " values; a scene (ml/unet/scenes.h) has 32 x 32 = 1024");
  }
  return argmax_channels(forward(FeatureMap::from_values(image, 1, kSceneSize, kSceneSize)));
}

std::vector<int> argmax_channels(const FeatureMap& logits) {
  if (logits.channels == 0 || logits.height == 0 || logits.width == 0) {
    throw InputError("argmax_channels: the map " + dims(logits) + " is empty");
  }
  const std::size_t P = logits.height * logits.width;
  std::vector<int> labels(P, 0);
  for (std::size_t p = 0; p < P; ++p) {
    double best = logits.data[p];
    for (std::size_t c = 1; c < logits.channels; ++c) {
      if (logits.data[c * P + p] > best) {
        best = logits.data[c * P + p];
        labels[p] = static_cast<int>(c);
      }
    }
  }
  return labels;
}

SegmentationScore::SegmentationScore(std::size_t classes)
    : classes_(classes), confusion_(classes * classes, 0) {
  if (classes == 0) throw InputError("SegmentationScore: the number of labels must be at least 1");
}

void SegmentationScore::add(const std::vector<int>& predicted, const std::vector<int>& truth) {
  if (predicted.size() != truth.size()) {
    throw InputError("SegmentationScore::add: " + std::to_string(predicted.size()) +
                     " predicted labels but " + std::to_string(truth.size()) +
                     " true labels; pass the same image's prediction and truth");
  }
  for (std::size_t p = 0; p < truth.size(); ++p) {
    for (const int v : {predicted[p], truth[p]}) {
      if (v < 0 || static_cast<std::size_t>(v) >= classes_) {
        throw InputError("SegmentationScore::add: label " + std::to_string(v) + " at pixel " +
                         std::to_string(p) + " is not in 0.." + std::to_string(classes_ - 1));
      }
    }
  }
  for (std::size_t p = 0; p < truth.size(); ++p) {
    ++confusion_[static_cast<std::size_t>(truth[p]) * classes_ + static_cast<std::size_t>(predicted[p])];
  }
  pixels_ += truth.size();
}

double SegmentationScore::iou(std::size_t c) const {
  if (c >= classes_) {
    throw InputError("SegmentationScore::iou: label " + std::to_string(c) + " is not in 0.." +
                     std::to_string(classes_ - 1));
  }
  std::uint64_t row = 0, col = 0;
  for (std::size_t k = 0; k < classes_; ++k) {
    row += count(c, k);
    col += count(k, c);
  }
  const std::uint64_t tp = count(c, c), uni = row + col - tp;
  if (uni == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(tp) / static_cast<double>(uni);
}

double SegmentationScore::mean_iou() const {
  if (pixels_ == 0) throw InputError("SegmentationScore::mean_iou: no pixel has been added");
  double sum = 0.0;
  std::size_t n = 0;
  for (std::size_t c = 0; c < classes_; ++c) {
    const double v = iou(c);
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  }
  return sum / static_cast<double>(n);
}

double SegmentationScore::pixel_accuracy() const {
  if (pixels_ == 0) throw InputError("SegmentationScore::pixel_accuracy: no pixel has been added");
  std::uint64_t tp = 0;
  for (std::size_t c = 0; c < classes_; ++c) tp += count(c, c);
  return static_cast<double>(tp) / static_cast<double>(pixels_);
}

}  // namespace ckks::ml

// ResNet: the plaintext layers, the safetensors loader with its shape checks, and the forward pass.
#include "ml/resnet/resnet_plain.h"

#include <cmath>
#include <set>

#include "ckks/errors.h"
#include "ml/data/image.h"
#include "ml/data/safetensors.h"

namespace ckks::ml {
namespace {

std::string dims(const FeatureMap& x) {
  return std::to_string(x.channels) + " x " + std::to_string(x.height) + " x " +
         std::to_string(x.width);
}

void check_finite(const FeatureMap& x, const std::string& fn) {
  for (std::size_t k = 0; k < x.data.size(); ++k) {
    if (!std::isfinite(x.data[k])) {
      throw InputError(fn + ": input value " + std::to_string(k) + " is not finite; pixels must "
                       "be numbers (byte/255 in [0, 1])");
    }
  }
}

}  // namespace

FeatureMap::FeatureMap(std::size_t c, std::size_t h, std::size_t w)
    : channels(c), height(h), width(w), data(c * h * w, 0.0) {}

FeatureMap FeatureMap::from_values(const std::vector<float>& values, std::size_t c,
                                   std::size_t h, std::size_t w) {
  if (c == 0 || h == 0 || w == 0) {
    throw InputError("FeatureMap::from_values: channels, height and width must all be at least 1 "
                     "(got " + std::to_string(c) + " x " + std::to_string(h) + " x " +
                     std::to_string(w) + ")");
  }
  if (values.size() != c * h * w) {
    throw InputError("FeatureMap::from_values: " + std::to_string(values.size()) +
                     " values for a " + std::to_string(c) + " x " + std::to_string(h) + " x " +
                     std::to_string(w) + " map, which needs " + std::to_string(c * h * w));
  }
  FeatureMap m(c, h, w);
  for (std::size_t k = 0; k < values.size(); ++k) m.data[k] = values[k];
  check_finite(m, "FeatureMap::from_values");
  return m;
}

std::size_t conv_output_size(std::size_t in, std::size_t kernel, std::size_t stride,
                             std::size_t padding) {
  if (kernel == 0 || stride == 0) {
    throw InputError("conv_output_size: kernel = " + std::to_string(kernel) + ", stride = " +
                     std::to_string(stride) + "; both must be at least 1");
  }
  if (in + 2 * padding < kernel) {
    throw InputError("conv_output_size: an input of " + std::to_string(in) + " with padding " +
                     std::to_string(padding) + " is smaller than the " + std::to_string(kernel) +
                     "-wide kernel; use a larger input or more padding");
  }
  return (in + 2 * padding - kernel) / stride + 1;
}

FeatureMap conv2d(const FeatureMap& x, const Conv2d& cv) {
  if (x.channels != cv.in_channels) {
    throw InputError("conv2d: the input has " + std::to_string(x.channels) + " channels (" +
                     dims(x) + ") but the convolution takes " + std::to_string(cv.in_channels));
  }
  const std::size_t K = cv.kernel;
  if (cv.weight.size() != cv.out_channels * cv.in_channels * K * K ||
      cv.bias.size() != cv.out_channels) {
    throw InputError("conv2d: the convolution has " + std::to_string(cv.weight.size()) +
                     " weights and " + std::to_string(cv.bias.size()) + " biases; a [" +
                     std::to_string(cv.out_channels) + ", " + std::to_string(cv.in_channels) +
                     ", " + std::to_string(K) + ", " + std::to_string(K) + "] kernel needs " +
                     std::to_string(cv.out_channels * cv.in_channels * K * K) + " and " +
                     std::to_string(cv.out_channels));
  }
  const std::size_t Ho = conv_output_size(x.height, K, cv.stride, cv.padding);
  const std::size_t Wo = conv_output_size(x.width, K, cv.stride, cv.padding);
  FeatureMap y(cv.out_channels, Ho, Wo);
  // Signed coordinates: input row of output row oy and kernel row ky is oy·stride + ky − padding.
  const long H = static_cast<long>(x.height), W = static_cast<long>(x.width);
  const long s = static_cast<long>(cv.stride), p = static_cast<long>(cv.padding);
  for (std::size_t o = 0; o < cv.out_channels; ++o) {
    double* out = y.data.data() + o * Ho * Wo;
    for (std::size_t k = 0; k < Ho * Wo; ++k) out[k] = cv.bias[o];
    for (std::size_t i = 0; i < cv.in_channels; ++i) {
      const double* in = x.data.data() + i * x.height * x.width;
      for (std::size_t ky = 0; ky < K; ++ky) {
        for (std::size_t kx = 0; kx < K; ++kx) {
          const double w = cv.weight[((o * cv.in_channels + i) * K + ky) * K + kx];
          for (std::size_t oy = 0; oy < Ho; ++oy) {
            const long iy = static_cast<long>(oy) * s + static_cast<long>(ky) - p;
            if (iy < 0 || iy >= H) continue;  // a zero-padding row
            const double* row = in + iy * W;
            double* orow = out + oy * Wo;
            for (std::size_t ox = 0; ox < Wo; ++ox) {
              const long ix = static_cast<long>(ox) * s + static_cast<long>(kx) - p;
              if (ix >= 0 && ix < W) orow[ox] += w * row[ix];
            }
          }
        }
      }
    }
  }
  return y;
}

FeatureMap add(const FeatureMap& a, const FeatureMap& b) {
  if (a.channels != b.channels || a.height != b.height || a.width != b.width ||
      a.data.size() != b.data.size()) {
    throw InputError("add: the maps have different shapes, " + dims(a) + " and " + dims(b) +
                     "; a residual addition needs a projection shortcut where the shape changes");
  }
  FeatureMap r = a;
  for (std::size_t k = 0; k < r.data.size(); ++k) r.data[k] += b.data[k];
  return r;
}

FeatureMap activate(const FeatureMap& x, const QuadraticActivation& act) {
  FeatureMap r = x;
  for (double& v : r.data) v = act(v);
  return r;
}

FeatureMap global_average_pool(const FeatureMap& x) {
  const std::size_t hw = x.height * x.width;
  if (x.channels == 0 || hw == 0 || x.data.size() != x.channels * hw) {
    throw InputError("global_average_pool: the map is " + dims(x) + " with " +
                     std::to_string(x.data.size()) + " values; it must be non-empty and hold "
                     "channels x height x width values");
  }
  FeatureMap r(x.channels, 1, 1);
  for (std::size_t c = 0; c < x.channels; ++c) {
    double s = 0.0;
    for (std::size_t k = 0; k < hw; ++k) s += x.data[c * hw + k];
    r.data[c] = s / static_cast<double>(hw);
  }
  return r;
}

FeatureMap dense(const FeatureMap& x, const Dense& d) {
  if (x.data.size() != d.in) {
    throw InputError("dense: the input has " + std::to_string(x.data.size()) + " values (" +
                     dims(x) + ") but the layer takes " + std::to_string(d.in));
  }
  if (d.weight.size() != d.in * d.out || d.bias.size() != d.out) {
    throw InputError("dense: the layer has " + std::to_string(d.weight.size()) + " weights and " +
                     std::to_string(d.bias.size()) + " biases; [" + std::to_string(d.out) + ", " +
                     std::to_string(d.in) + "] needs " + std::to_string(d.in * d.out) + " and " +
                     std::to_string(d.out));
  }
  FeatureMap y(d.out, 1, 1);
  for (std::size_t j = 0; j < d.out; ++j) {
    double s = 0.0;
    for (std::size_t k = 0; k < d.in; ++k) s += d.weight[j * d.in + k] * x.data[k];
    y.data[j] = s + d.bias[j];
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Loading.

namespace {

class Loader {
 public:
  explicit Loader(const std::string& path)
      : where_("ResNet::load: " + path), t_(read_safetensors(path)) {}

  bool has(const std::string& name) const { return t_.count(name) != 0; }

  // The tensor `name`, which must have exactly `shape`; `why` explains the expected shape.
  const Tensor& get(const std::string& name, const std::vector<std::size_t>& shape,
                    const std::string& why) {
    const Tensor& t = find(name);
    if (t.shape != shape) {
      throw InputError(where_ + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) +
                       " but " + shape_string(shape) + " is expected (" + why + ")");
    }
    return t;
  }

  const Tensor& find(const std::string& name) {
    auto it = t_.find(name);
    if (it == t_.end()) {
      throw InputError(where_ + " has no tensor \"" + name + "\"; a ResNet file needs stem.*, "
                       "s{1,2,3}.b{1..n}.{conv1,act1,conv2,act2}, the shortcut of each "
                       "downsampling block and fc.* (see ml/resnet/resnet_plain.h)");
    }
    used_.insert(name);
    return it->second;
  }

  // A convolution "<prefix>.weight" [out, in, k, k] with "<prefix>.bias" [out]. out = 0 means
  // "read it from the file" (a stage's first convolution sets the stage width).
  Conv2d conv(const std::string& prefix, std::size_t out, std::size_t in, std::size_t k,
              std::size_t stride, std::size_t padding, const std::string& why) {
    const std::string wn = prefix + ".weight";
    if (out == 0) {
      const Tensor& w = find(wn);
      if (w.shape.size() != 4 || w.shape[0] == 0) {
        throw InputError(where_ + ": tensor \"" + wn + "\" has shape " + shape_string(w.shape) +
                         "; a convolution weight must be [out, in, " + std::to_string(k) + ", " +
                         std::to_string(k) + "] with out >= 1");
      }
      out = w.shape[0];
    }
    Conv2d c;
    c.out_channels = out;
    c.in_channels = in;
    c.kernel = k;
    c.stride = stride;
    c.padding = padding;
    c.weight = get(wn, {out, in, k, k}, why).data;
    c.bias = get(prefix + ".bias", {out}, "one bias per output channel of \"" + wn + "\"").data;
    return c;
  }

  QuadraticActivation act(const std::string& name) {
    const Tensor& t = get(name, {3}, "the coefficients (a, b, c) of a*t^2 + b*t + c");
    return {t.data[0], t.data[1], t.data[2]};
  }

  // Every tensor of the file must have been used.
  void check_all_used(std::size_t n) const {
    for (const auto& [name, tensor] : t_) {
      (void)tensor;
      if (!used_.count(name)) {
        throw InputError(where_ + ": unexpected tensor \"" + name + "\" (the file has " +
                         std::to_string(n) + " block(s) in stage 1, so s1..s3 each need b1..b" +
                         std::to_string(n) + "; shortcuts exist only on s2.b1 and s3.b1; no "
                         "other names are allowed)");
      }
    }
  }

  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::map<std::string, Tensor> t_;
  std::set<std::string> used_;
};

}  // namespace

ResNet ResNet::load(const std::string& path) {
  Loader L(path);
  ResNet net;
  net.metadata = read_safetensors_metadata(path);

  // Stem: [C1, C_in, 3, 3], both read from the file.
  const Tensor& sw = L.find("stem.conv.weight");
  if (sw.shape.size() != 4 || sw.shape[0] == 0 || sw.shape[1] == 0) {
    throw InputError(L.where() + ": tensor \"stem.conv.weight\" has shape " + shape_string(sw.shape) +
                     "; it must be [C1, C_in, 3, 3] (16 and 1 for Fashion-MNIST)");
  }
  net.stem = L.conv("stem.conv", sw.shape[0], sw.shape[1], 3, 1, 1,
                    "a 3x3 convolution [C1, C_in, 3, 3]");
  net.stem_act = L.act("stem.act");

  // Depth: count s1.b1, s1.b2, ... .
  std::size_t n = 0;
  while (L.has("s1.b" + std::to_string(n + 1) + ".conv1.weight")) ++n;
  if (n == 0) {
    (void)L.find("s1.b1.conv1.weight");  // throws, naming the missing tensor
  }

  std::size_t prev = net.stem.out_channels;
  for (std::size_t S = 1; S <= 3; ++S) {
    std::vector<Block> stage;
    std::size_t width = 0;
    for (std::size_t B = 1; B <= n; ++B) {
      const std::string p = resnet_block_name(S, B);
      const bool down = B == 1 && S > 1;
      const std::size_t stride = down ? 2 : 1;
      Block blk;
      const std::string in_why =
          "its input channels must equal the " + std::to_string(prev) + " output channels of " +
          (B > 1 ? "the previous block" : S > 1 ? "the previous stage" : "the stem");
      blk.conv1 = L.conv(p + ".conv1", width, prev, 3, stride, 1,
                         width == 0 ? "a 3x3 convolution; " + in_why
                                    : "stage " + std::to_string(S) + " has " +
                                          std::to_string(width) + " channels; " + in_why);
      if (width == 0) width = blk.conv1.out_channels;
      blk.act1 = L.act(p + ".act1");
      blk.conv2 = L.conv(p + ".conv2", width, width, 3, 1, 1,
                         "a 3x3 convolution from and to the stage's " + std::to_string(width) +
                             " channels");
      if (down) {
        blk.shortcut = L.conv(p + ".shortcut", width, prev, 1, 2, 0,
                              "the 1x1 stride-2 projection from the " + std::to_string(prev) +
                                  " input channels to the stage's " + std::to_string(width));
      } else if (prev != width) {
        throw InputError(L.where() + ": block " + p + " has an identity shortcut but its input has " +
                         std::to_string(prev) + " channels and \"" + p + ".conv1.weight\" " +
                         std::to_string(width) + "; only s2.b1 and s3.b1 change the channel "
                         "count (stage 1 must have as many channels as the stem)");
      }
      blk.act2 = L.act(p + ".act2");
      stage.push_back(std::move(blk));
      prev = width;
    }
    net.stages.push_back(std::move(stage));
  }

  const Tensor& fw = L.find("fc.weight");
  if (fw.shape.size() != 2 || fw.shape[0] == 0) {
    throw InputError(L.where() + ": tensor \"fc.weight\" has shape " + shape_string(fw.shape) +
                     "; it must be [classes, " + std::to_string(prev) + "]");
  }
  net.fc.out = fw.shape[0];
  net.fc.in = prev;
  net.fc.weight = L.get("fc.weight", {net.fc.out, prev},
                        "[classes, " + std::to_string(prev) + "]: it reads the " +
                            std::to_string(prev) + " pooled channels of stage 3").data;
  net.fc.bias = L.get("fc.bias", {net.fc.out}, "one bias per class").data;
  L.check_all_used(n);

  // The metadata, where present, must agree with what the tensors say.
  if (auto it = net.metadata.find("blocks_per_stage"); it != net.metadata.end()) {
    if (it->second != std::to_string(n)) {
      throw InputError(L.where() + ": __metadata__ says blocks_per_stage = \"" + it->second +
                       "\" but the tensors have " + std::to_string(n) + " block(s) per stage");
    }
  }
  if (auto it = net.metadata.find("arch"); it != net.metadata.end()) {
    const std::string want = "resnet" + std::to_string(6 * n + 2);
    if (it->second != want) {
      throw InputError(L.where() + ": __metadata__ says arch = \"" + it->second + "\" but the " +
                       "tensors describe " + want + " (" + std::to_string(n) +
                       " block(s) per stage, 6n + 2 layers)");
    }
  }
  return net;
}

std::size_t ResNet::blocks_per_stage() const { return stages.empty() ? 0 : stages.front().size(); }

std::size_t ResNet::depth() const { return 6 * blocks_per_stage() + 2; }

// ---------------------------------------------------------------------------------------------
// Forward pass.

namespace {

// Runs the network; calls keep(name, map) for every intermediate result if keep is non-null.
template <class Keep>
FeatureMap run(const ResNet& net, const FeatureMap& input, Keep&& keep) {
  if (net.stages.empty() || net.stem.out_channels == 0) {
    throw InputError("ResNet: the model has no layers; load it with ResNet::load");
  }
  if (input.channels != net.stem.in_channels ||
      input.data.size() != input.channels * input.height * input.width) {
    throw InputError("ResNet: the input is " + dims(input) + " but the model takes " +
                     std::to_string(net.stem.in_channels) + " channel(s) (" +
                     std::to_string(net.stem.in_channels) + " x 32 x 32 for the committed models)");
  }
  check_finite(input, "ResNet");
  keep("input", input);
  FeatureMap x = conv2d(input, net.stem);
  keep("stem.conv", x);
  x = activate(x, net.stem_act);
  keep("stem.act", x);
  for (std::size_t S = 0; S < net.stages.size(); ++S) {
    for (std::size_t B = 0; B < net.stages[S].size(); ++B) {
      const ResNet::Block& blk = net.stages[S][B];
      const std::string p = resnet_block_name(S + 1, B + 1);
      FeatureMap h = conv2d(x, blk.conv1);
      keep(p + ".conv1", h);
      h = activate(h, blk.act1);
      keep(p + ".act1", h);
      h = conv2d(h, blk.conv2);
      keep(p + ".conv2", h);
      if (blk.shortcut) {
        const FeatureMap sc = conv2d(x, *blk.shortcut);
        keep(p + ".shortcut", sc);
        h = add(h, sc);
      } else {
        h = add(h, x);
      }
      keep(p + ".add", h);
      x = activate(h, blk.act2);
      keep(p + ".act2", x);
    }
  }
  x = global_average_pool(x);
  keep("pool", x);
  x = dense(x, net.fc);
  keep("fc", x);
  return x;
}

}  // namespace

std::vector<LayerOutput> ResNet::trace(const FeatureMap& input) const {
  std::vector<LayerOutput> out;
  run(*this, input, [&](const std::string& name, const FeatureMap& m) { out.push_back({name, m}); });
  return out;
}

std::vector<double> ResNet::forward(const FeatureMap& input) const {
  return run(*this, input, [](const std::string&, const FeatureMap&) {}).data;
}

std::vector<double> ResNet::forward(const std::vector<float>& image) const {
  if (stages.empty() || stem.out_channels == 0) {
    throw InputError("ResNet::forward: the model has no layers; load it with ResNet::load");
  }
  const std::size_t c = stem.in_channels, s = kResNetImageSize;
  if (image.size() != c * s * s) {
    throw InputError("ResNet::forward: the image has " + std::to_string(image.size()) +
                     " values but the model takes " + std::to_string(c) + " x 32 x 32 = " +
                     std::to_string(c * s * s) + (image.size() == 784
                                                      ? "; pad 28x28 Fashion-MNIST images to "
                                                        "32x32 first (pad_fashion_mnist_to_32 in "
                                                        "ml/data/image.h)"
                                                      : ""));
  }
  return forward(FeatureMap::from_values(image, c, s, s));
}

int ResNet::predict(const std::vector<float>& image) const {
  const std::vector<double> z = forward(image);
  std::size_t best = 0;
  for (std::size_t j = 1; j < z.size(); ++j) {
    if (z[j] > z[best]) best = j;
  }
  return static_cast<int>(best);
}

std::string resnet_block_name(std::size_t stage, std::size_t block) {
  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::to_string chains
  std::string p = "s";
  p += std::to_string(stage);
  p += ".b";
  p += std::to_string(block);
  return p;
}

const FeatureMap& find_layer(const std::vector<LayerOutput>& trace, const std::string& name) {
  for (const LayerOutput& l : trace) {
    if (l.name == name) return l.value;
  }
  std::string names;
  for (const LayerOutput& l : trace) names += (names.empty() ? "" : ", ") + l.name;
  throw InputError("find_layer: no layer named \"" + name + "\" in the trace; it has " +
                   (names.empty() ? std::string("none") : names));
}

}  // namespace ckks::ml

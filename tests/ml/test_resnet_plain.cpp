// Tests for ml/resnet/resnet_plain.cpp and ml/data/image.h: each layer against hand-computed values and
// a naive reference, synthetic ResNet-8/-20 files (random weights, the agreed tensor names)
// against an independent re-implementation of the forward pass, the loader's rejections, the
// committed Fashion-MNIST models (when present) against PyTorch's logits, and the 2x2-mean
// downsampling to 16x16 with the tiny ResNet-8 trained on it.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/cifar.h"
#include "ml/data/idx.h"
#include "ml/data/image.h"
#include "ml/data/safetensors.h"
#include "ml/resnet/resnet_plain.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::Conv2d;
using ckks::ml::FeatureMap;
using ckks::ml::ResNet;
using test_util::TempDir;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

FeatureMap map_of(std::size_t c, std::size_t h, std::size_t w, std::vector<double> v) {
  FeatureMap m(c, h, w);
  REQUIRE(v.size() == m.data.size());
  m.data = std::move(v);
  return m;
}

FeatureMap random_map(std::size_t c, std::size_t h, std::size_t w, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  FeatureMap m(c, h, w);
  for (double& v : m.data) v = u(rng);
  return m;
}

Conv2d random_conv(std::size_t out, std::size_t in, std::size_t k, std::size_t stride,
                   std::size_t pad, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Conv2d c{out, in, k, stride, pad, std::vector<double>(out * in * k * k), std::vector<double>(out)};
  for (double& v : c.weight) v = u(rng);
  for (double& v : c.bias) v = u(rng);
  return c;
}

// Naive reference convolution, written differently from conv2d: copy the input into an explicitly
// zero-padded array, then sum over every (input channel, kernel row, kernel column) per output.
// Weights are given as W(o, i, ky, kx) through a callable.
template <class W>
FeatureMap naive_conv(const FeatureMap& x, std::size_t out, std::size_t k, std::size_t stride,
                      std::size_t pad, W weight, const std::vector<double>& bias) {
  const std::size_t Hp = x.height + 2 * pad, Wp = x.width + 2 * pad;
  std::vector<double> padded(x.channels * Hp * Wp, 0.0);
  for (std::size_t c = 0; c < x.channels; ++c)
    for (std::size_t y = 0; y < x.height; ++y)
      for (std::size_t z = 0; z < x.width; ++z) padded[(c * Hp + y + pad) * Wp + z + pad] = x.at(c, y, z);
  const std::size_t Ho = (Hp - k) / stride + 1, Wo = (Wp - k) / stride + 1;
  FeatureMap r(out, Ho, Wo);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t y = 0; y < Ho; ++y)
      for (std::size_t z = 0; z < Wo; ++z) {
        double s = bias[o];
        for (std::size_t i = 0; i < x.channels; ++i)
          for (std::size_t a = 0; a < k; ++a)
            for (std::size_t b = 0; b < k; ++b)
              s += weight(o, i, a, b) * padded[(i * Hp + y * stride + a) * Wp + z * stride + b];
        r.at(o, y, z) = s;
      }
  return r;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, std::abs(a[k] - b[k]));
  return m;
}

// ---- writing safetensors files -----------------------------------------------------------

struct Named {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

// Writes `tensors` as F32 (back to back in the given order) with string metadata.
std::string write_f32(const TempDir& tmp, const std::string& file, const std::vector<Named>& tensors,
                      const std::map<std::string, std::string>& meta = {}) {
  std::string header = "{";
  if (!meta.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : meta) {
      header += (first ? "\"" : ",\"") + k + "\":\"" + v + "\"";
      first = false;
    }
    header += "}";
  }
  std::vector<unsigned char> data;
  for (const auto& t : tensors) {
    const std::size_t begin = data.size();
    for (float v : t.values) {
      const auto bits = std::bit_cast<std::uint32_t>(v);
      for (int i = 0; i < 4; ++i) data.push_back(static_cast<unsigned char>(bits >> (8 * i)));
    }
    if (header.size() > 1) header += ',';
    header += "\"" + t.name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) header += ',';
      header += std::to_string(t.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  const std::string p = (tmp.dir / file).string();
  std::ofstream out(p, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return p;
}

// The tensors of a random network in the agreed layout: n blocks per stage, widths w[0..2], stem
// width w[0], c_in input channels, 10 classes. Weights ~ U(-1, 1)·sqrt(3/fan_in) (unit variance
// per output for unit-variance inputs); activations a ∈ [0.05, 0.15], b ∈ [0.5, 1], c ∈ [-0.1, 0.1]
// keep the values bounded through 20 layers.
std::vector<Named> random_resnet(std::size_t n, std::size_t c_in, const std::size_t w[3],
                                 std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<Named> t;
  auto conv = [&](const std::string& p, std::size_t out, std::size_t in, std::size_t k) {
    const float s = std::sqrt(3.0f / static_cast<float>(in * k * k));
    Named wt{p + ".weight", {out, in, k, k}, std::vector<float>(out * in * k * k)};
    for (float& v : wt.values) v = u(rng) * s;
    Named b{p + ".bias", {out}, std::vector<float>(out)};
    for (float& v : b.values) v = 0.1f * u(rng);
    t.push_back(std::move(wt));
    t.push_back(std::move(b));
  };
  auto act = [&](const std::string& name) {
    t.push_back({name, {3}, {0.1f + 0.05f * u(rng), 0.75f + 0.25f * u(rng), 0.1f * u(rng)}});
  };
  conv("stem.conv", w[0], c_in, 3);
  act("stem.act");
  std::size_t prev = w[0];
  for (std::size_t S = 1; S <= 3; ++S) {
    for (std::size_t B = 1; B <= n; ++B) {
      const std::string p = ckks::ml::resnet_block_name(S, B);
      conv(p + ".conv1", w[S - 1], prev, 3);
      act(p + ".act1");
      conv(p + ".conv2", w[S - 1], w[S - 1], 3);
      if (B == 1 && S > 1) conv(p + ".shortcut", w[S - 1], prev, 1);
      act(p + ".act2");
      prev = w[S - 1];
    }
  }
  Named fw{"fc.weight", {10, prev}, std::vector<float>(10 * prev)};
  for (float& v : fw.values) v = u(rng) * std::sqrt(3.0f / static_cast<float>(prev));
  t.push_back(std::move(fw));
  Named fb{"fc.bias", {10}, std::vector<float>(10)};
  for (float& v : fb.values) v = 0.1f * u(rng);
  t.push_back(std::move(fb));
  return t;
}

// An independent forward pass straight from the named tensors (naive_conv, explicit loops), with
// the agreed strides: 2 for s2.b1 / s3.b1 (conv1 and the 1x1 shortcut), 1 elsewhere.
std::vector<double> reference_forward(const std::vector<Named>& tensors, std::size_t n,
                                      const FeatureMap& input) {
  std::map<std::string, const Named*> T;
  for (const auto& t : tensors) T[t.name] = &t;
  auto conv = [&](const FeatureMap& x, const std::string& p, std::size_t stride) {
    const Named& w = *T.at(p + ".weight");
    const std::size_t out = w.shape[0], in = w.shape[1], k = w.shape[2];
    const std::vector<double> bias(T.at(p + ".bias")->values.begin(), T.at(p + ".bias")->values.end());
    return naive_conv(x, out, k, stride, k == 3 ? 1 : 0,
                      [&](std::size_t o, std::size_t i, std::size_t a, std::size_t b) {
                        return static_cast<double>(w.values[((o * in + i) * k + a) * k + b]);
                      }, bias);
  };
  auto act = [&](FeatureMap x, const std::string& name) {
    const auto& c = T.at(name)->values;
    for (double& v : x.data) v = c[0] * v * v + c[1] * v + c[2];
    return x;
  };
  FeatureMap x = act(conv(input, "stem.conv", 1), "stem.act");
  for (std::size_t S = 1; S <= 3; ++S)
    for (std::size_t B = 1; B <= n; ++B) {
      const std::string p = ckks::ml::resnet_block_name(S, B);
      const bool down = B == 1 && S > 1;
      FeatureMap h = conv(act(conv(x, p + ".conv1", down ? 2 : 1), p + ".act1"), p + ".conv2", 1);
      const FeatureMap sc = down ? conv(x, p + ".shortcut", 2) : x;
      for (std::size_t k = 0; k < h.data.size(); ++k) h.data[k] += sc.data[k];
      x = act(h, p + ".act2");
    }
  const Named& fw = *T.at("fc.weight");
  const std::size_t C = x.channels, HW = x.height * x.width;
  std::vector<double> logits(10);
  for (std::size_t j = 0; j < 10; ++j) {
    double s = T.at("fc.bias")->values[j];
    for (std::size_t c = 0; c < C; ++c) {
      double mean = 0;
      for (std::size_t k = 0; k < HW; ++k) mean += x.data[c * HW + k];
      s += fw.values[j * C + c] * (mean / static_cast<double>(HW));
    }
    logits[j] = s;
  }
  return logits;
}

std::string load_error(const TempDir& tmp, const std::vector<Named>& tensors,
                       const std::map<std::string, std::string>& meta = {}) {
  const std::string p = write_f32(tmp, "bad.safetensors", tensors, meta);
  try {
    (void)ResNet::load(p);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("ResNet::load did not throw");
  return {};
}

std::vector<Named> without(std::vector<Named> v, const std::string& name) {
  const auto it = std::find_if(v.begin(), v.end(), [&](const Named& t) { return t.name == name; });
  REQUIRE(it != v.end());
  v.erase(it);
  return v;
}

std::vector<Named> replaced(std::vector<Named> v, Named t) {
  const auto it = std::find_if(v.begin(), v.end(), [&](const Named& x) { return x.name == t.name; });
  REQUIRE(it != v.end());
  *it = std::move(t);
  return v;
}

const std::size_t kWidths[3] = {16, 32, 64};

}  // namespace

// ---- layers ---------------------------------------------------------------------------------

TEST_CASE("ml/resnet_plain: conv2d by hand (padding, stride 2, no padding)") {
  // Input 1x3x3 = [[1,2,3],[4,5,6],[7,8,9]]; kernel [[1,0,0],[0,0,0],[0,0,2]], bias 0.5, so
  // out(y,x) = in(y-1,x-1) + 2·in(y+1,x+1) + 0.5 with padding 1 (an asymmetric kernel: a flipped,
  // "true" convolution would give different numbers).
  const FeatureMap x = map_of(1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Conv2d c{1, 1, 3, 1, 1, {1, 0, 0, 0, 0, 0, 0, 0, 2}, {0.5}};
  const FeatureMap y = ckks::ml::conv2d(x, c);
  REQUIRE(y.height == 3);
  REQUIRE(y.width == 3);
  // (0,0): 0 + 2·5   (0,1): 0 + 2·6   (0,2): 0 + 0
  // (1,0): 0 + 2·8   (1,1): 1 + 2·9   (1,2): 2 + 0
  // (2,0): 0 + 0     (2,1): 4 + 0     (2,2): 5 + 0
  CHECK(y.data == std::vector<double>{10.5, 12.5, 0.5, 16.5, 19.5, 2.5, 0.5, 4.5, 5.5});

  c.stride = 2;  // outputs at input positions (0,0), (0,2), (2,0), (2,2)
  const FeatureMap y2 = ckks::ml::conv2d(x, c);
  CHECK(y2.height == 2);
  CHECK(y2.width == 2);
  CHECK(y2.data == std::vector<double>{10.5, 0.5, 0.5, 5.5});

  c.stride = 1;
  c.padding = 0;  // one output: 1 + 2·9 + 0.5
  const FeatureMap y3 = ckks::ml::conv2d(x, c);
  CHECK(y3.height == 1);
  CHECK(y3.data == std::vector<double>{19.5});

  // Two input channels are summed; a second output channel has its own kernel and bias.
  const FeatureMap x2 = map_of(2, 2, 2, {1, 2, 3, 4, 10, 20, 30, 40});
  Conv2d p{2, 2, 1, 1, 0, {1, 0.5, -1, 0}, {0, 1}};  // 1x1: [1, 0.5] and [-1, 0]
  CHECK(ckks::ml::conv2d(x2, p).data == std::vector<double>{6, 12, 18, 24, 0, -1, -2, -3});

  CHECK(ckks::ml::conv_output_size(32, 3, 1, 1) == 32);
  CHECK(ckks::ml::conv_output_size(32, 3, 2, 1) == 16);
  CHECK(ckks::ml::conv_output_size(32, 1, 2, 0) == 16);
  CHECK(ckks::ml::conv_output_size(16, 3, 2, 1) == 8);
  CHECK_THROWS_AS(ckks::ml::conv_output_size(2, 5, 1, 1), InputError);
  CHECK_THROWS_AS(ckks::ml::conv_output_size(2, 3, 0, 1), InputError);
  CHECK_THROWS_AS(ckks::ml::conv2d(x2, c), InputError);  // 2 channels into a 1-channel conv
  Conv2d short_w = c;
  short_w.weight.pop_back();
  CHECK_THROWS_AS(ckks::ml::conv2d(x, short_w), InputError);
}

TEST_CASE("ml/resnet_plain: conv2d against a naive reference (3x3 stride 1 and 2, 1x1 shortcut)") {
  std::mt19937_64 rng(20240601);
  struct Case {
    std::size_t in, out, h, w, k, stride, pad;
  };
  // Odd and non-square maps catch row/column mix-ups and the floor in the output size.
  const Case cases[] = {{3, 4, 7, 6, 3, 1, 1}, {3, 4, 7, 6, 3, 2, 1}, {2, 5, 8, 8, 3, 2, 1},
                        {4, 2, 5, 9, 3, 1, 0}, {16, 32, 8, 8, 1, 2, 0}, {3, 6, 7, 5, 1, 2, 0}};
  for (const Case& cs : cases) {
    CAPTURE(cs.in);
    CAPTURE(cs.k);
    CAPTURE(cs.stride);
    CAPTURE(cs.pad);
    const FeatureMap x = random_map(cs.in, cs.h, cs.w, rng);
    const Conv2d c = random_conv(cs.out, cs.in, cs.k, cs.stride, cs.pad, rng);
    const FeatureMap got = ckks::ml::conv2d(x, c);
    const FeatureMap want = naive_conv(
        x, cs.out, cs.k, cs.stride, cs.pad,
        [&](std::size_t o, std::size_t i, std::size_t a, std::size_t b) {
          return c.weight[((o * cs.in + i) * cs.k + a) * cs.k + b];
        },
        c.bias);
    REQUIRE(got.channels == want.channels);
    REQUIRE(got.height == want.height);
    REQUIRE(got.width == want.width);
    CHECK(max_diff(got.data, want.data) < 1e-12);
  }
}

TEST_CASE("ml/resnet_plain: add, quadratic activation, global average pooling, dense by hand") {
  const FeatureMap a = map_of(2, 1, 2, {1, 2, 3, 4});
  const FeatureMap b = map_of(2, 1, 2, {0.5, -2, 10, 0});
  CHECK(ckks::ml::add(a, b).data == std::vector<double>{1.5, 0, 13, 4});
  std::string msg;
  try {
    (void)ckks::ml::add(a, map_of(1, 2, 2, {1, 2, 3, 4}));
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "2 x 1 x 2 and 1 x 2 x 2"));

  // act(t) = 0.5 t² − t + 2: act(1) = 1.5, act(2) = 2, act(3) = 3.5, act(4) = 6.
  const ckks::ml::QuadraticActivation act{0.5, -1.0, 2.0};
  CHECK(ckks::ml::activate(a, act).data == std::vector<double>{1.5, 2, 3.5, 6});

  // Means of each channel over its 2x2 positions: (1+2+3+6)/4 = 3 and (−1+0+5+0)/4 = 1.
  const FeatureMap m = map_of(2, 2, 2, {1, 2, 3, 6, -1, 0, 5, 0});
  const FeatureMap pooled = ckks::ml::global_average_pool(m);
  CHECK(pooled.channels == 2);
  CHECK(pooled.height == 1);
  CHECK(pooled.data == std::vector<double>{3, 1});
  CHECK_THROWS_AS(ckks::ml::global_average_pool(FeatureMap{}), InputError);

  // Dense [3, 2]: rows (1, 2), (−1, 0), (0.5, 0.5), bias (0, 1, −1) on (3, 1) → (5, −2, 1).
  const ckks::ml::Dense d{2, 3, {1, 2, -1, 0, 0.5, 0.5}, {0, 1, -1}};
  const FeatureMap z = ckks::ml::dense(pooled, d);
  CHECK(z.channels == 3);
  CHECK(z.data == std::vector<double>{5, -2, 1});
  CHECK_THROWS_AS(ckks::ml::dense(m, d), InputError);  // 8 values into a 2-input layer
}

TEST_CASE("ml/resnet_plain: zero padding 28x28 Fashion-MNIST to 32x32") {
  // Hand-made 2-channel 2x3 image padded by 1: 4x5 per channel, values at (r+1, c+1).
  const std::vector<float> img = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<float> p = ckks::ml::zero_pad_image(img, 2, 2, 3, 1);
  REQUIRE(p.size() == 2 * 4 * 5);
  const std::vector<float> ch0 = {0, 0, 0, 0, 0,  0, 1, 2, 3, 0,  0, 4, 5, 6, 0,  0, 0, 0, 0, 0};
  CHECK(std::vector<float>(p.begin(), p.begin() + 20) == ch0);
  CHECK(p[20 + 1 * 5 + 1] == 7);
  CHECK(p[20 + 2 * 5 + 3] == 12);
  CHECK(ckks::ml::zero_pad_image(img, 2, 2, 3, 0) == img);
  CHECK_THROWS_AS(ckks::ml::zero_pad_image(img, 1, 2, 3, 1), InputError);  // 12 values, not 6

  ckks::ml::ImageSet wrong;
  wrong.rows = wrong.cols = 32;
  CHECK_THROWS_AS(ckks::ml::pad_fashion_mnist_to_32(wrong), InputError);

  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");
  const auto raw = ckks::ml::load_fashion_mnist(dir, /*train=*/false, 3);
  const auto padded = ckks::ml::pad_fashion_mnist_to_32(raw);
  CHECK(padded.rows == 32);
  CHECK(padded.cols == 32);
  CHECK(padded.labels == raw.labels);
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(padded.images[i].size() == 1024);
    double border = 0, inner = 0, orig = 0;
    for (std::size_t r = 0; r < 32; ++r)
      for (std::size_t c = 0; c < 32; ++c) {
        const float v = padded.images[i][r * 32 + c];
        if (r < 2 || r >= 30 || c < 2 || c >= 30) {
          border += std::abs(v);
        } else {
          CHECK(v == raw.images[i][(r - 2) * 28 + (c - 2)]);
          inner += v;
        }
      }
    for (float v : raw.images[i]) orig += v;
    CHECK(border == 0.0);
    CHECK(inner == doctest::Approx(orig));
    CHECK(orig > 10.0);  // a real garment, not an empty image
  }
}

TEST_CASE("ml/resnet_plain: downsampling 28x28 Fashion-MNIST to 16x16 (2x2 means, padded by 1)") {
  // Block (r, c) of the 14x14 means covers pixels (2r..2r+1, 2c..2c+1) and lands at (r+1, c+1).
  std::vector<float> img(784, 0.0f);
  img[0] = 1.0f;                          // block (0, 0): mean 0.25 -> (1, 1)
  img[27] = 0.5f;                         // block (0, 13): pixels (0, 27) and (1, 27),
  img[55] = 0.5f;                         //   mean 0.25 -> (1, 14)
  img[26 * 28 + 0] = 0.75f;               // block (13, 0) -> (14, 1)
  for (std::size_t k : {27u * 28 + 26, 27u * 28 + 27, 26u * 28 + 26, 26u * 28 + 27}) img[k] = 1.0f;
  const std::vector<float> d = ckks::ml::downsample_fashion_mnist_to_16(img);
  REQUIRE(d.size() == 256);
  CHECK(d[1 * 16 + 1] == 0.25f);
  CHECK(d[1 * 16 + 14] == 0.25f);
  CHECK(d[14 * 16 + 1] == 0.1875f);
  CHECK(d[14 * 16 + 14] == 1.0f);
  double total = 0, border = 0;
  for (std::size_t r = 0; r < 16; ++r)
    for (std::size_t c = 0; c < 16; ++c) {
      total += d[r * 16 + c];
      if (r == 0 || r == 15 || c == 0 || c == 15) border += std::abs(d[r * 16 + c]);
    }
  CHECK(border == 0.0);
  CHECK(total == 0.25 + 0.25 + 0.1875 + 1.0);

  // The float order of scripts/train_resnet.py (((tl + tr) + bl) + br) * 0.25, each step rounded
  // to float: for the bytes 135, 154 / 178, 149 (test image 0, block (5, 11)) it gives
  // 0x1.353538p-1, one ulp above the correctly rounded mean 616/1020 = 0x1.353536p-1.
  std::vector<float> b(784, 0.0f);
  b[10 * 28 + 22] = 135.0f / 255.0f;
  b[10 * 28 + 23] = 154.0f / 255.0f;
  b[11 * 28 + 22] = 178.0f / 255.0f;
  b[11 * 28 + 23] = 149.0f / 255.0f;
  const float m = ckks::ml::downsample_fashion_mnist_to_16(b)[6 * 16 + 12];
  CHECK(m == 0x1.353538p-1f);
  CHECK(m != static_cast<float>(616.0 / 1020.0));

  for (std::size_t bad : {0u, 783u, 1024u}) {
    try {
      (void)ckks::ml::downsample_fashion_mnist_to_16(std::vector<float>(bad, 0.0f));
      FAIL("no exception for " << bad << " values");
    } catch (const InputError& e) {
      CHECK_MESSAGE(contains(e.what(), "has " + std::to_string(bad) + " values"), e.what());
    }
  }
}

// ---- the network ----------------------------------------------------------------------------

TEST_CASE("ml/resnet_plain: synthetic ResNet-8 and ResNet-20 files load and match a naive forward pass") {
  TempDir tmp("ckks_resnet");
  std::mt19937_64 rng(7);
  for (std::size_t n : {1u, 3u}) {
    CAPTURE(n);
    const auto tensors = random_resnet(n, 1, kWidths, 1000 + n);
    const std::string arch = "resnet" + std::to_string(6 * n + 2);
    const std::string path = write_f32(tmp, arch + ".safetensors", tensors,
                                       {{"arch", arch}, {"blocks_per_stage", std::to_string(n)}});
    const ResNet net = ResNet::load(path);
    CHECK(net.blocks_per_stage() == n);
    CHECK(net.depth() == 6 * n + 2);
    CHECK(net.input_channels() == 1);
    CHECK(net.num_classes() == 10);
    CHECK(net.metadata.at("arch") == arch);
    REQUIRE(net.stages.size() == 3);
    CHECK(net.stages[1][0].shortcut.has_value());
    CHECK(net.stages[1][0].conv1.stride == 2);
    CHECK(!net.stages[0][0].shortcut.has_value());
    CHECK(net.stages[2].back().conv2.out_channels == 64);

    for (int img = 0; img < 2; ++img) {
      std::uniform_real_distribution<float> u(0.0f, 1.0f);
      std::vector<float> pixels(1024);
      for (float& v : pixels) v = u(rng);
      const FeatureMap x = FeatureMap::from_values(pixels, 1, 32, 32);
      const std::vector<double> got = net.forward(pixels);
      const std::vector<double> want = reference_forward(tensors, n, x);
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::abs(v));
      MESSAGE(arch << " image " << img << ": max |logit| " << scale << ", max |C++ - naive| "
                   << max_diff(got, want));
      CHECK(scale > 1e-3);  // the random network does not collapse to zero
      CHECK(max_diff(got, want) <= 1e-10 * std::max(1.0, scale));
      CHECK(net.predict(pixels) ==
            static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin()));

      // The trace: names in evaluation order with the expected shapes; its logits are forward's.
      const auto tr = net.trace(x);
      CHECK(tr.size() == 3 + 15 * n + 2 + 2);  // input, stem ×2, 5 per block, 2 shortcuts, pool, fc
      CHECK(tr.front().name == "input");
      CHECK(tr[1].name == "stem.conv");
      CHECK(tr[3].name == "s1.b1.conv1");
      CHECK(tr.back().name == "fc");
      CHECK(tr.back().value.data == got);
      const FeatureMap& s2 = ckks::ml::find_layer(tr, "s2.b1.conv1");
      CHECK((s2.channels == 32 && s2.height == 16 && s2.width == 16));
      const FeatureMap& sc = ckks::ml::find_layer(tr, "s3.b1.shortcut");
      CHECK((sc.channels == 64 && sc.height == 8 && sc.width == 8));
      const FeatureMap& pool = ckks::ml::find_layer(tr, "pool");
      CHECK((pool.channels == 64 && pool.height == 1 && pool.width == 1));
      // Layer-by-layer consistency: each named map follows from the previous ones by one layer.
      const std::string last = "s3.b" + std::to_string(n);
      const auto& blk = net.stages[2].back();
      const FeatureMap h = ckks::ml::conv2d(ckks::ml::find_layer(tr, last + ".act1"), blk.conv2);
      CHECK(h.data == ckks::ml::find_layer(tr, last + ".conv2").data);
      CHECK(ckks::ml::activate(ckks::ml::find_layer(tr, last + ".add"), blk.act2).data ==
            ckks::ml::find_layer(tr, last + ".act2").data);
      CHECK_THROWS_WITH_AS(ckks::ml::find_layer(tr, "s4.b1.conv1"),
                           doctest::Contains("no layer named \"s4.b1.conv1\""), InputError);
    }
    CHECK_THROWS_WITH_AS(net.forward(std::vector<float>(784, 0.5f)),
                         doctest::Contains("pad 28x28 Fashion-MNIST"), InputError);
    CHECK_THROWS_AS(net.forward(FeatureMap(3, 32, 32)), InputError);
    std::vector<float> nan_img(1024, 0.0f);
    nan_img[5] = NAN;
    CHECK_THROWS_AS(net.forward(nan_img), InputError);
  }
  CHECK_THROWS_AS(ResNet{}.forward(std::vector<float>(1024)), InputError);
}

TEST_CASE("ml/resnet_plain: a 3-channel network runs on CIFAR-10 records") {
  // A narrow (4/8/16) ResNet-8 with C_in = 3 on images read back from a CIFAR-10 batch file, so
  // the loader's channel-major layout feeds the network as PyTorch's CHW tensors would.
  TempDir tmp("ckks_resnet");
  std::vector<unsigned char> bytes;
  std::mt19937 rng(5);
  for (int i = 0; i < 3; ++i) {
    bytes.push_back(static_cast<unsigned char>(i));
    for (int k = 0; k < 3072; ++k) bytes.push_back(static_cast<unsigned char>(rng() & 0xFF));
  }
  const auto set = ckks::ml::read_cifar10_batch(tmp.write("test_batch.bin", bytes));
  const std::size_t widths[3] = {4, 8, 16};
  const auto tensors = random_resnet(1, 3, widths, 99);
  const ResNet net = ResNet::load(write_f32(tmp, "cifar.safetensors", tensors));
  CHECK(net.input_channels() == 3);
  CHECK(net.fc.in == 16);
  for (const auto& img : set.images) {
    const auto got = net.forward(img);
    const auto want = reference_forward(tensors, 1, FeatureMap::from_values(img, 3, 32, 32));
    CHECK(max_diff(got, want) <= 1e-10);
  }
}

TEST_CASE("ml/resnet_plain: the loader names the missing or misshapen tensor") {
  TempDir tmp("ckks_resnet");
  const auto r8 = random_resnet(1, 1, kWidths, 3);
  const auto r20 = random_resnet(3, 1, kWidths, 4);
  auto check = [&](const std::vector<Named>& t, const std::string& needle,
                   const std::map<std::string, std::string>& meta = {}) {
    const std::string msg = load_error(tmp, t, meta);
    CHECK_MESSAGE(contains(msg, needle), msg);
  };

  // Missing tensors.
  check(without(r8, "s2.b1.shortcut.weight"), "has no tensor \"s2.b1.shortcut.weight\"");
  check(without(r8, "stem.act"), "has no tensor \"stem.act\"");
  check(without(r8, "fc.bias"), "has no tensor \"fc.bias\"");
  check(without(r20, "s3.b3.conv1.weight"), "has no tensor \"s3.b3.conv1.weight\"");
  // Removing all of s1.b1 leaves no first block.
  {
    auto t = r8;
    t.erase(std::remove_if(t.begin(), t.end(),
                           [](const Named& x) { return x.name.rfind("s1.b1.", 0) == 0; }),
            t.end());
    check(t, "has no tensor \"s1.b1.conv1.weight\"");
  }

  // Wrong shapes.
  check(replaced(r8, {"s1.b1.conv2.weight", {16, 16, 3, 1}, std::vector<float>(16 * 16 * 3)}),
        "\"s1.b1.conv2.weight\" has shape [16, 16, 3, 1] but [16, 16, 3, 3] is expected");
  check(replaced(r8, {"s2.b1.conv1.weight", {32, 8, 3, 3}, std::vector<float>(32 * 8 * 9)}),
        "its input channels must equal the 16 output channels of the previous stage");
  check(replaced(r8, {"s1.b1.act1", {2}, {1, 0}}), "\"s1.b1.act1\" has shape [2] but [3] is expected");
  check(replaced(r8, {"fc.weight", {10, 32}, std::vector<float>(320)}),
        "\"fc.weight\" has shape [10, 32] but [10, 64] is expected");
  check(replaced(r8, {"s3.b1.shortcut.bias", {32}, std::vector<float>(32)}),
        "\"s3.b1.shortcut.bias\" has shape [32] but [64] is expected");
  check(replaced(r8, {"stem.conv.weight", {16, 9}, std::vector<float>(144)}),
        "\"stem.conv.weight\" has shape [16, 9]");
  // Stage 1 wider than the stem: its identity shortcut cannot add them.
  {
    auto t = replaced(r8, {"s1.b1.conv1.weight", {8, 16, 3, 3}, std::vector<float>(8 * 16 * 9)});
    t = replaced(t, {"s1.b1.conv1.bias", {8}, std::vector<float>(8)});
    t = replaced(t, {"s1.b1.conv2.weight", {8, 8, 3, 3}, std::vector<float>(8 * 8 * 9)});
    t = replaced(t, {"s1.b1.conv2.bias", {8}, std::vector<float>(8)});
    check(t, "block s1.b1 has an identity shortcut but its input has 16 channels");
  }

  // Names outside the layout.
  {
    auto t = r8;
    t.push_back({"s1.b1.shortcut.weight", {16, 16, 1, 1}, std::vector<float>(256)});
    check(t, "unexpected tensor \"s1.b1.shortcut.weight\"");
    t = r8;
    t.push_back({"s2.b2.conv1.weight", {32, 32, 3, 3}, std::vector<float>(32 * 32 * 9)});
    check(t, "unexpected tensor \"s2.b2.conv1.weight\"");
    t = r8;
    t.push_back({"s4.b1.act1", {3}, {1, 0, 0}});
    check(t, "unexpected tensor \"s4.b1.act1\"");
  }

  // Metadata that contradicts the tensors.
  check(r8, "arch = \"resnet20\" but the tensors describe resnet8", {{"arch", "resnet20"}});
  check(r20, "blocks_per_stage = \"1\" but the tensors have 3", {{"blocks_per_stage", "1"}});

  // Not a file at all.
  CHECK_THROWS_AS(ResNet::load((tmp.dir / "absent.safetensors").string()), InputError);
}

TEST_CASE("ml/resnet_plain: the committed Fashion-MNIST ResNets match PyTorch's logits") {
  const fs::path models = CKKS_MODELS_DIR_FOR_TESTS;
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");
  int checked = 0;
  // resnet20w: the wide ResNet-20 (64/128/256 channels; 0.75 s of CPU per image here), on its
  // first 10 reference images only, and without the accuracy checks (10 images say little).
  for (const std::string arch : {"resnet8", "resnet20", "resnet20w"}) {
    const fs::path model = models / (arch + "_fmnist.safetensors");
    const fs::path ref = models / (arch + "_fmnist_logits.safetensors");
    if (!fs::exists(model)) {
      // Not trained/committed (yet): then there must be no orphaned reference file either.
      MESSAGE(arch << ": " << model.string() << " is not there; nothing to compare");
      CHECK_MESSAGE(!fs::exists(ref), ref.string() << " exists without its model");
      continue;
    }
    CAPTURE(arch);
    REQUIRE_MESSAGE(fs::exists(ref), ref.string() << " is missing but the model exists");
    const ResNet net = ResNet::load(model.string());
    CHECK(net.depth() == (arch == "resnet8" ? 8u : 20u));
    CHECK(net.input_channels() == 1);
    CHECK(net.num_classes() == 10);

    const auto t = ckks::ml::read_safetensors(ref.string());
    const auto& logits = t.at("logits");
    REQUIRE(logits.shape.size() == 2);
    REQUIRE(logits.shape[1] == 10);
    const std::size_t rows = logits.shape[0];  // the reference images (K of them are run)
    const std::size_t K = arch == "resnet20w" ? std::min<std::size_t>(10, rows) : rows;
    REQUIRE(K >= 1);
    if (t.count("indices")) {  // the reference images are test images 0..rows-1
      const auto& idx = t.at("indices").data;
      REQUIRE(idx.size() == rows);
      for (std::size_t i = 0; i < rows; ++i) REQUIRE(idx[i] == static_cast<double>(i));
    }
    const auto test = ckks::ml::pad_fashion_mnist_to_32(ckks::ml::load_fashion_mnist(dir, false, rows));
    REQUIRE(test.images.size() == rows);
    // The training script also records the labels ("3,1,..."); they must be these images'.
    const auto meta = ckks::ml::read_safetensors_metadata(ref.string());
    if (auto it = meta.find("labels"); it != meta.end()) {
      std::string want;
      for (std::size_t i = 0; i < rows; ++i) {
        if (i > 0) want += ',';
        want += std::to_string(test.labels[i]);
      }
      CHECK(it->second == want);
    }

    const auto t0 = std::chrono::steady_clock::now();
    double worst = 0, largest = 0;
    int agree = 0, correct = 0;
    for (std::size_t i = 0; i < K; ++i) {
      const auto z = net.forward(test.images[i]);
      const double* r = logits.data.data() + i * 10;
      double d = 0;
      for (std::size_t j = 0; j < 10; ++j) {
        d = std::max(d, std::abs(z[j] - r[j]));
        largest = std::max(largest, std::abs(r[j]));
      }
      CHECK_MESSAGE(d <= 1e-4, "image " << i << ": max |C++ - PyTorch| = " << d);
      worst = std::max(worst, d);
      const int cpp = static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin());
      const int torch = static_cast<int>(std::max_element(r, r + 10) - r);
      agree += cpp == torch;
      correct += cpp == test.labels[i];
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(arch << ": " << K << " images, max |C++ - PyTorch| = " << worst << " (largest |logit| "
                 << largest << "), predictions agree on " << agree << "/" << K << ", accuracy "
                 << correct << "/" << K << ", " << secs << " s");
    CHECK(agree == static_cast<int>(K));
    if (arch == "resnet20w") {
      ++checked;
      continue;
    }
    CHECK(correct >= static_cast<int>(0.7 * static_cast<double>(K)));
    // The accuracy the training script measured on all 10 000 test images: the first K should be
    // near it (0.15 is about 5 standard deviations of a 100-image sample at 90 %).
    const auto info = ckks::ml::read_safetensors_metadata(model.string());
    if (auto it = info.find("test_accuracy"); it != info.end()) {
      const double full = std::stod(it->second);
      MESSAGE(arch << ": recorded test accuracy (10 000 images) " << full);
      CHECK(std::abs(correct / static_cast<double>(K) - full) <= 0.15);
    }
    ++checked;
  }
  MESSAGE("committed ResNet models compared with PyTorch: " << checked);
}

TEST_CASE("ml/resnet_plain: the tiny ResNet-8 (4/8/16 channels, 16x16 input) matches PyTorch") {
  // ml/models/resnet8_tiny_fmnist16: the small trained network of the encrypted ResNet's tests,
  // on 2x2-mean-downsampled Fashion-MNIST (downsample_fashion_mnist_to_16 = the script's input).
  const fs::path models = CKKS_MODELS_DIR_FOR_TESTS;
  const fs::path model = models / "resnet8_tiny_fmnist16.safetensors";
  const fs::path ref = models / "resnet8_tiny_fmnist16_logits.safetensors";
  REQUIRE_MESSAGE(fs::exists(model), model.string() << " is missing");
  REQUIRE_MESSAGE(fs::exists(ref), ref.string() << " is missing");
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");

  const ResNet net = ResNet::load(model.string());
  CHECK(net.depth() == 8);
  CHECK(net.input_channels() == 1);
  CHECK(net.num_classes() == 10);
  REQUIRE(net.stages.size() == 3);
  CHECK(net.stem.out_channels == 4);
  CHECK(net.stages[0][0].conv1.out_channels == 4);
  CHECK(net.stages[1][0].conv1.out_channels == 8);
  CHECK(net.stages[2][0].conv1.out_channels == 16);
  CHECK(net.metadata.at("arch") == "resnet8");
  CHECK(contains(net.metadata.at("input"), "1x16x16"));

  const auto t = ckks::ml::read_safetensors(ref.string());
  const auto& logits = t.at("logits");
  REQUIRE(logits.shape == std::vector<std::size_t>{100, 10});
  const auto& idx = t.at("indices").data;
  REQUIRE(idx.size() == 100);
  for (std::size_t i = 0; i < 100; ++i) REQUIRE(idx[i] == static_cast<double>(i));

  constexpr std::size_t kImages = 1000;
  const auto test = ckks::ml::load_fashion_mnist(dir, /*train=*/false, kImages);
  REQUIRE(test.images.size() == kImages);
  std::string labels;
  for (std::size_t i = 0; i < 100; ++i) {
    if (i > 0) labels += ',';
    labels += std::to_string(test.labels[i]);
  }
  CHECK(ckks::ml::read_safetensors_metadata(ref.string()).at("labels") == labels);

  const auto t0 = std::chrono::steady_clock::now();
  double worst = 0;
  int correct100 = 0, correct = 0;
  for (std::size_t i = 0; i < kImages; ++i) {
    const auto x = FeatureMap::from_values(ckks::ml::downsample_fashion_mnist_to_16(test.images[i]),
                                           1, 16, 16);
    const auto z = net.forward(x);
    const int cls = static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin());
    correct += cls == test.labels[i];
    if (i >= 100) continue;
    correct100 += cls == test.labels[i];
    const double* r = logits.data.data() + i * 10;
    double d = 0;
    for (std::size_t j = 0; j < 10; ++j) d = std::max(d, std::abs(z[j] - r[j]));
    CHECK_MESSAGE(d <= 1e-4, "image " << i << ": max |C++ - PyTorch| = " << d);
    worst = std::max(worst, d);
    CHECK(cls == static_cast<int>(std::max_element(r, r + 10) - r));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("resnet8_tiny_fmnist16: max |C++ - PyTorch| over images 0..99 = " << worst
          << ", accuracy " << correct100 << "/100 and " << correct << "/" << kImages << ", " << secs
          << " s");
  // Both sides compute in double from the same F32 weights and the same float inputs, so they
  // agree to rounding (~1e-14). Inputs averaged in double instead of the script's float order
  // would move the logits by up to ~6e-7, so this bound also checks the downsampling bit for bit.
  CHECK(worst <= 1e-9);
  // The script's figures for the folded network: the first 1000 images exactly, all 10 000 close.
  const auto info = ckks::ml::read_safetensors_metadata(model.string());
  CHECK(correct == static_cast<int>(std::lround(std::stod(info.at("test_accuracy_first_1000")) *
                                                static_cast<double>(kImages))));
  CHECK(std::abs(correct / static_cast<double>(kImages) - std::stod(info.at("test_accuracy"))) <= 0.02);
}

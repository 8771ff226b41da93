// Tests for ml/unet/unet_plain.cpp and ml/unet/scenes.cpp: the transposed convolution, the
// concatenation and the mean pooling against small examples worked by hand, the scene generator
// (determinism, the label rules, agreement with scripts/make_scenes.py), the committed U-Net
// against PyTorch's logits, the IoU on a hand-made case, and the errors for mismatched shapes;
// run_unet_job's refusal of a model with another label count (it needs this file's tensor writer).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/idx.h"
#include "ml/data/safetensors.h"
#include "ml/unet/scenes.h"
#include "ml/unet/unet_job.h"
#include "ml/unet/unet_plain.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::FeatureMap;
using ckks::ml::UNet;

namespace {

FeatureMap filled(std::size_t c, std::size_t h, std::size_t w, const std::vector<double>& v) {
  FeatureMap m(c, h, w);
  REQUIRE(m.data.size() == v.size());
  m.data = v;
  return m;
}

const fs::path kModels = CKKS_MODELS_DIR_FOR_TESTS;
const fs::path kModel = kModels / "unet_fmnist_scenes.safetensors";
const fs::path kLogits = kModels / "unet_fmnist_scenes_logits.safetensors";

// A safetensors file of F32 tensors, in the order given (the U-Net loader's error paths).
struct F32Tensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> values;
};
std::string save_f32(const test_util::TempDir& tmp, const std::vector<F32Tensor>& tensors) {
  std::ostringstream header;
  std::string body;
  header << '{';
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    header << (t ? "," : "") << '"' << tensors[t].name << "\":{\"dtype\":\"F32\",\"shape\":[";
    for (std::size_t d = 0; d < tensors[t].shape.size(); ++d) header << (d ? "," : "") << tensors[t].shape[d];
    const std::size_t begin = body.size();
    for (const double v : tensors[t].values) {
      const float f = static_cast<float>(v);
      char bytes[4];
      std::memcpy(bytes, &f, 4);  // little-endian host (x86-64, the project's platform)
      body.append(bytes, 4);
    }
    header << "],\"data_offsets\":[" << begin << ',' << body.size() << "]}";
  }
  header << '}';
  const std::string h = header.str();
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  return tmp.write("unet.safetensors", file + h + body);
}

// Every tensor of a U-Net with widths c1, c2, c3 and K labels, all values v (shapes only matter).
std::vector<F32Tensor> unet_tensors(std::size_t c1, std::size_t c2, std::size_t c3, std::size_t K) {
  std::vector<F32Tensor> t;
  const auto conv = [&](const std::string& p, std::size_t out, std::size_t in) {
    t.push_back({p + ".conv.weight", {out, in, 3, 3}, std::vector<double>(out * in * 9, 0.01)});
    t.push_back({p + ".conv.bias", {out}, std::vector<double>(out, 0.0)});
    t.push_back({p + ".act", {3}, {0.1, 1.0, 0.0}});
  };
  const auto up = [&](const std::string& p, std::size_t in, std::size_t out) {
    t.push_back({p + ".weight", {in, out, 2, 2}, std::vector<double>(in * out * 4, 0.02)});
    t.push_back({p + ".bias", {out}, std::vector<double>(out, 0.0)});
  };
  conv("enc1", c1, 1);
  conv("enc2", c2, c1);
  conv("mid", c3, c2);
  up("up2", c3, c2);
  conv("dec2", c2, 2 * c2);
  up("up1", c2, c1);
  conv("dec1", c1, 2 * c1);
  t.push_back({"head.weight", {K, c1, 1, 1}, std::vector<double>(K * c1, 0.5)});
  t.push_back({"head.bias", {K}, std::vector<double>(K, 0.0)});
  return t;
}

}  // namespace

TEST_CASE("ml/unet_plain: transposed convolution by hand (k = s = 2; k = 3, s = 2 overlapping)") {
  // 1 x 2 x 2 input, one output channel, kernel 2, stride 2: each input pixel v at (r, c) writes
  // w[ky][kx]·v at (2r + ky, 2c + kx); the bias 0.5 is added everywhere.
  const FeatureMap x = filled(1, 2, 2, {1, 2, 3, 4});
  const ckks::ml::ConvTranspose2d t{1, 1, 2, 2, {1, 10, 100, 1000}, {0.5}};
  const FeatureMap y = ckks::ml::conv_transpose2d(x, t);
  REQUIRE(y.channels == 1);
  REQUIRE(y.height == 4);
  REQUIRE(y.width == 4);
  const std::vector<double> want = {1.5,   10.5,   2.5,   20.5,   //
                                    100.5, 1000.5, 200.5, 2000.5,  //
                                    3.5,   30.5,   4.5,   40.5,    //
                                    300.5, 3000.5, 400.5, 4000.5};
  CHECK(y.data == want);

  // Two input channels into two output channels, 1 x 1 map: out(o, ky, kx) = Σ_i w[i][o][ky][kx]·x_i.
  const FeatureMap x2 = filled(2, 1, 1, {2, -1});
  ckks::ml::ConvTranspose2d t2{2, 2, 2, 2, {}, {0, 1}};
  t2.weight = {1, 2, 3, 4, /* i0 o1 */ 5, 6, 7, 8, /* i1 o0 */ 10, 20, 30, 40, /* i1 o1 */ 50, 60, 70, 80};
  const FeatureMap y2 = ckks::ml::conv_transpose2d(x2, t2);
  CHECK(y2.data == std::vector<double>{2 - 10, 4 - 20, 6 - 30, 8 - 40,  //
                                       10 - 50 + 1, 12 - 60 + 1, 14 - 70 + 1, 16 - 80 + 1});

  // Kernel 3, stride 2 on a 1 x 1 x 2 row: the output is 3 x 5 and column 2 receives both pixels.
  const FeatureMap x3 = filled(1, 1, 2, {1, 2});
  const ckks::ml::ConvTranspose2d t3{1, 1, 3, 2, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {0}};
  const FeatureMap y3 = ckks::ml::conv_transpose2d(x3, t3);
  REQUIRE(y3.height == 3);
  REQUIRE(y3.width == 5);
  CHECK(y3.data == std::vector<double>{1, 2, 3 + 2, 4, 6,  //
                                       4, 5, 6 + 8, 10, 12,  //
                                       7, 8, 9 + 14, 16, 18});
}

TEST_CASE("ml/unet_plain: concatenation and 2x2 mean pooling by hand") {
  const FeatureMap a = filled(1, 1, 2, {1, 2});
  const FeatureMap b = filled(2, 1, 2, {3, 4, 5, 6});
  const FeatureMap ab = ckks::ml::concat_channels(a, b);
  CHECK(ab.channels == 3);
  CHECK(ab.data == std::vector<double>{1, 2, 3, 4, 5, 6});
  const FeatureMap ba = ckks::ml::concat_channels(b, a);
  CHECK(ba.data == std::vector<double>{3, 4, 5, 6, 1, 2});

  const FeatureMap p = ckks::ml::mean_pool(filled(2, 2, 4, {1, 2, 3, 4, 5, 6, 7, 8,  //
                                                            0, 0, 4, 4, 8, 8, -4, 0}),
                                           2);
  CHECK(p.channels == 2);
  CHECK(p.height == 1);
  CHECK(p.width == 2);
  CHECK(p.data == std::vector<double>{(1 + 2 + 5 + 6) / 4.0, (3 + 4 + 7 + 8) / 4.0, 4, 1});
}

TEST_CASE("ml/unet_plain: mismatched shapes give named errors") {
  const FeatureMap a(1, 4, 4), b(1, 2, 2);
  CHECK_THROWS_WITH_AS(ckks::ml::concat_channels(a, b), doctest::Contains("1 x 4 x 4 and 1 x 2 x 2"), InputError);
  CHECK_THROWS_WITH_AS(ckks::ml::mean_pool(filled(1, 1, 3, {1, 2, 3}), 2), doctest::Contains("divide"), InputError);
  CHECK_THROWS_WITH_AS(ckks::ml::mean_pool(a, 0), doctest::Contains("window of 0"), InputError);
  const ckks::ml::ConvTranspose2d t{2, 1, 2, 2, std::vector<double>(8, 1.0), {0}};
  CHECK_THROWS_WITH_AS(ckks::ml::conv_transpose2d(a, t), doctest::Contains("has 1 channels"), InputError);
  const ckks::ml::ConvTranspose2d short_w{1, 1, 2, 2, {1, 2, 3}, {0}};
  CHECK_THROWS_WITH_AS(ckks::ml::conv_transpose2d(a, short_w), doctest::Contains("needs 4 and 1"), InputError);

  test_util::TempDir tmp("unet_load");
  const UNet net = UNet::load(save_f32(tmp, unet_tensors(2, 3, 4, 6)));
  CHECK(net.num_classes() == 6);
  CHECK_THROWS_WITH_AS(net.trace(FeatureMap(2, 8, 8)), doctest::Contains("takes 1 x H x W"), InputError);
  CHECK_THROWS_WITH_AS(net.trace(FeatureMap(1, 6, 8)), doctest::Contains("multiples of 4"), InputError);
  CHECK_THROWS_WITH_AS(net.predict(std::vector<float>(100, 0.0f)), doctest::Contains("1024"), InputError);
  CHECK_THROWS_WITH_AS(UNet{}.trace(FeatureMap(1, 8, 8)), doctest::Contains("empty"), InputError);
  // A 16 x 16 input runs: the output has the input's size and K channels.
  const FeatureMap out = net.forward(FeatureMap(1, 16, 16));
  CHECK(out.channels == 6);
  CHECK(out.height == 16);
  CHECK(out.width == 16);

  // The loader: a missing tensor, a shape that breaks the chain, a width over 32, an extra tensor.
  auto tensors = unet_tensors(2, 3, 4, 6);
  auto missing = tensors;
  missing.erase(std::find_if(missing.begin(), missing.end(), [](const F32Tensor& x) { return x.name == "up1.bias"; }));
  CHECK_THROWS_WITH_AS(UNet::load(save_f32(tmp, missing)), doctest::Contains("no tensor \"up1.bias\""), InputError);
  auto bad_dec2 = tensors;
  for (auto& x : bad_dec2) {
    if (x.name == "dec2.conv.weight") x = {x.name, {3, 3, 3, 3}, std::vector<double>(81, 0.0)};
  }
  CHECK_THROWS_WITH_AS(UNet::load(save_f32(tmp, bad_dec2)),
                       doctest::Contains("\"dec2.conv.weight\" has shape [3, 3, 3, 3] but [3, 6, 3, 3]"), InputError);
  CHECK_THROWS_WITH_AS(UNet::load(save_f32(tmp, unet_tensors(33, 3, 4, 6))), doctest::Contains("1 <= out <= 32"), InputError);
  auto extra = tensors;
  extra.push_back({"dec3.act", {3}, {0, 1, 0}});
  CHECK_THROWS_WITH_AS(UNet::load(save_f32(tmp, extra)), doctest::Contains("unexpected tensor \"dec3.act\""), InputError);
}

TEST_CASE("ml/unet_job: a --model whose label count is not the scenes' 6 is refused by name") {
  // The job scores masks against the scenes' labels and ckks-ml unet --png colours them with one
  // colour per scene label: a U-Net with K ≠ 6 labels is refused before the data is read.
  test_util::TempDir tmp("unet_job_labels");
  for (std::size_t k : {4u, 8u}) {
    ckks::ml::UNetJobOptions o;
    o.model = save_f32(tmp, unet_tensors(2, 3, 4, k));
    o.images = 0;
    o.plain_images = 1;
    CHECK_THROWS_WITH_AS(ckks::ml::run_unet_job(o), doctest::Contains("--model"), InputError);
  }
}

TEST_CASE("ml/unet_plain: IoU and pixel accuracy on a hand-made case") {
  ckks::ml::SegmentationScore s(3);
  // truth 0 0 1 1 2 2, predicted 0 1 1 1 2 0:
  //   label 0: TP 1, FP 1 (last pixel), FN 1 -> 1/3; label 1: TP 2, FP 1, FN 0 -> 2/3;
  //   label 2: TP 1, FP 0, FN 1 -> 1/2.
  s.add({0, 1, 1, 1, 2, 0}, {0, 0, 1, 1, 2, 2});
  CHECK(s.iou(0) == doctest::Approx(1.0 / 3));
  CHECK(s.iou(1) == doctest::Approx(2.0 / 3));
  CHECK(s.iou(2) == doctest::Approx(0.5));
  CHECK(s.mean_iou() == doctest::Approx((1.0 / 3 + 2.0 / 3 + 0.5) / 3));
  CHECK(s.pixel_accuracy() == doctest::Approx(4.0 / 6));
  // A second image is summed into the same counts (dataset-level IoU): label 2 everywhere right.
  s.add({2, 2}, {2, 2});
  CHECK(s.iou(2) == doctest::Approx(3.0 / 4));
  CHECK(s.pixels() == 8);
  // A label absent from truth and prediction does not count in the mean.
  ckks::ml::SegmentationScore t(4);
  t.add({0, 1}, {0, 1});
  CHECK(std::isnan(t.iou(3)));
  CHECK(t.mean_iou() == 1.0);

  CHECK_THROWS_WITH_AS(s.add({0, 1}, {0}), doctest::Contains("2 predicted labels but 1 true"), InputError);
  CHECK_THROWS_WITH_AS(s.add({3}, {0}), doctest::Contains("label 3 at pixel 0"), InputError);
  CHECK_THROWS_WITH_AS(ckks::ml::SegmentationScore(4).mean_iou(), doctest::Contains("no pixel"), InputError);
  CHECK_THROWS_WITH_AS(s.iou(3), doctest::Contains("label 3"), InputError);
  CHECK(ckks::ml::argmax_channels(filled(3, 1, 2, {0, 5, 1, 5, -1, 2})) == std::vector<int>{1, 0});
}

TEST_CASE("ml/unet_plain: the scene generator (determinism, label rules, agreement with make_scenes.py)") {
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");
  CHECK(ckks::ml::scene_label_of_class(0) == 1);
  CHECK(ckks::ml::scene_label_of_class(1) == 2);
  CHECK(ckks::ml::scene_label_of_class(3) == 3);
  CHECK(ckks::ml::scene_label_of_class(9) == 4);
  CHECK(ckks::ml::scene_label_of_class(8) == 5);
  CHECK(ckks::ml::scene_label_name(4) == "footwear");
  CHECK_THROWS_WITH_AS(ckks::ml::scene_label_of_class(10), doctest::Contains("class 10"), InputError);

  const auto source = ckks::ml::scene_source(ckks::ml::load_fashion_mnist(dir, false));
  REQUIRE(source.garments.size() == 10000);
  const auto scenes = ckks::ml::make_scenes(source, ckks::ml::SceneSplit::test, 500);
  // Determinism: the same index gives the same scene; another split or seed another scene.
  const auto again = ckks::ml::make_scene(source, ckks::ml::SceneSplit::test, 7);
  CHECK(again.image == scenes[7].image);
  CHECK(again.labels == scenes[7].labels);
  CHECK(ckks::ml::make_scene(source, ckks::ml::SceneSplit::train, 7).image != scenes[7].image);
  CHECK(ckks::ml::make_scene(source, ckks::ml::SceneSplit::test, 7, 21).image != scenes[7].image);

  std::vector<std::uint64_t> counts(ckks::ml::kSceneClasses, 0);
  for (const auto& s : scenes) {
    REQUIRE(s.image.size() == 1024);
    int garment_labels = 0;
    std::vector<bool> seen(ckks::ml::kSceneClasses, false);
    for (std::size_t p = 0; p < 1024; ++p) {
      // Background exactly where nothing was painted; painted values exceed the threshold.
      CHECK((s.labels[p] == 0) == (s.image[p] == 0.0f));
      if (s.labels[p] != 0) CHECK(s.image[p] > ckks::ml::kSceneForeground);
      ++counts[static_cast<std::size_t>(s.labels[p])];
      seen[static_cast<std::size_t>(s.labels[p])] = true;
    }
    for (std::size_t c = 1; c < seen.size(); ++c) garment_labels += seen[c];
    CHECK(garment_labels >= 1);  // 2-4 garments, possibly of one group, possibly overlapping
    CHECK(garment_labels <= 4);
  }
  // The label counts of test scenes 0..499 printed by
  //   /usr/bin/python3 scripts/make_scenes.py --train 2000 --test 500
  // (background 389563, tops 62218, trousers 9420, dress 11095, footwear 25844, bag 13860).
  CHECK(counts == std::vector<std::uint64_t>{389563, 62218, 9420, 11095, 25844, 13860});

  // Bit-for-bit agreement with the scenes stored by scripts/train_unet.py.
  REQUIRE_MESSAGE(fs::exists(kLogits), kLogits.string() << " is missing (scripts/train_unet.py writes it)");
  const auto ref = ckks::ml::read_safetensors(kLogits.string());
  const auto& images = ref.at("images");
  const auto& labels = ref.at("labels");
  REQUIRE(images.shape.size() == 3);
  const std::size_t K = images.shape[0];
  REQUIRE(K >= 1);
  for (std::size_t i = 0; i < K; ++i) {
    for (std::size_t p = 0; p < 1024; ++p) {
      REQUIRE(static_cast<double>(scenes[i].image[p]) == images.data[i * 1024 + p]);
      REQUIRE(static_cast<double>(scenes[i].labels[p]) == labels.data[i * 1024 + p]);
    }
  }
  MESSAGE(K << " stored scenes equal the C++ scenes bit for bit");

  CHECK_THROWS_WITH_AS(ckks::ml::make_scene(source, ckks::ml::SceneSplit::test, 0, 1U << 24), doctest::Contains("2^24"), InputError);
  CHECK_THROWS_WITH_AS(ckks::ml::make_scene({}, ckks::ml::SceneSplit::test, 0), doctest::Contains("0 garments"), InputError);
  CHECK_THROWS_WITH_AS(ckks::ml::scene_source({}), doctest::Contains("empty"), InputError);
}

TEST_CASE("ml/unet_plain: the committed U-Net matches PyTorch's logits and its recorded IoU") {
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(kModel), kModel.string() << " is missing (scripts/train_unet.py)");
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");
  const UNet net = UNet::load(kModel.string());
  REQUIRE(net.num_classes() == ckks::ml::kSceneClasses);

  const auto ref = ckks::ml::read_safetensors(kLogits.string());
  const auto& logits = ref.at("logits");
  const auto& images = ref.at("images");
  REQUIRE(logits.shape == std::vector<std::size_t>{images.shape[0], 6, 32, 32});
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < images.shape[0]; ++i) {
    std::vector<float> img(1024);
    for (std::size_t p = 0; p < 1024; ++p) img[p] = static_cast<float>(images.data[i * 1024 + p]);
    const auto trace = net.trace(FeatureMap::from_values(img, 1, 32, 32));
    CHECK(trace.size() == 18);
    CHECK(ckks::ml::find_layer(trace, "cat1").channels == 2 * net.enc1.conv.out_channels);
    const FeatureMap& z = trace.back().value;
    REQUIRE(z.data.size() == 6 * 1024);
    for (std::size_t k = 0; k < z.data.size(); ++k) {
      const double r = logits.data[i * 6 * 1024 + k];
      worst = std::max(worst, std::abs(z.data[k] - r));
      largest = std::max(largest, std::abs(r));
    }
    std::vector<double> torch_map(logits.data.begin() + static_cast<std::ptrdiff_t>(i * 6 * 1024),
                                  logits.data.begin() + static_cast<std::ptrdiff_t>((i + 1) * 6 * 1024));
    CHECK(ckks::ml::argmax_channels(z) == ckks::ml::argmax_channels(filled(6, 32, 32, torch_map)));
  }
  MESSAGE(images.shape[0] << " scenes: max |C++ - PyTorch| = " << worst << " (largest |logit| " << largest << ")");
  CHECK(worst <= 1e-9 * std::max(1.0, largest));

  // Mean IoU on the first 1000 test scenes, against the whole-test-set figure of the metadata.
  const auto source = ckks::ml::scene_source(ckks::ml::load_fashion_mnist(dir, false));
  ckks::ml::SegmentationScore score(ckks::ml::kSceneClasses);
  for (const auto& s : ckks::ml::make_scenes(source, ckks::ml::SceneSplit::test, 1000)) score.add(net.predict(s.image), s.labels);
  const double recorded = std::stod(net.metadata.at("test_mean_iou"));
  MESSAGE("first 1000 test scenes: mean IoU " << score.mean_iou() << ", pixel accuracy " << score.pixel_accuracy()
                                              << "; recorded on all test scenes: " << recorded);
  CHECK(score.mean_iou() >= 0.70);
  CHECK(std::abs(score.mean_iou() - recorded) <= 0.03);
}

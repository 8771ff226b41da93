// Tests for ml/mlp/mlp_plain.cpp: the generic loader and forward pass on a tiny hand-made model, the
// loader's rejections, and the committed Fashion-MNIST model against PyTorch's own logits.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ckks/errors.h"
#include "ml/data/idx.h"
#include "ml/data/safetensors.h"
#include "ml/mlp/mlp_plain.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using ckks::InputError;
using ckks::ml::Mlp;

namespace {

const fs::path kModels = fs::path(__FILE__).parent_path().parent_path().parent_path() / "ml" / "models";

using test_util::TempDir;

struct Named {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

// Writes `tensors` as an F64 safetensors file (tensors back to back in the given order).
std::string write_model(const TempDir& tmp, const std::vector<Named>& tensors) {
  std::string header = "{";
  std::vector<unsigned char> data;
  for (const auto& t : tensors) {
    const std::size_t begin = data.size();
    for (double v : t.values) {
      const auto bits = std::bit_cast<std::uint64_t>(v);
      for (int i = 0; i < 8; ++i) data.push_back(static_cast<unsigned char>(bits >> (8 * i)));
    }
    if (header.size() > 1) header += ',';
    header.append("\"").append(t.name).append("\":{\"dtype\":\"F64\",\"shape\":[");
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) header += ',';
      header += std::to_string(t.shape[i]);
    }
    header.append("],\"data_offsets\":[").append(std::to_string(begin)).append(",");
    header.append(std::to_string(data.size())).append("]}");
  }
  header += "}";
  const std::string p = (tmp.dir / "m.safetensors").string();
  std::ofstream out(p, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return p;
}

// A 2 -> 2 -> 1 model: fc1 = [[1, 2], [-1, 0.5]] x + [0.5, -1], act1(t) = 0.5 t² + 2 t,
// fc2 = [3, -1] h + 0.25 (no activation).
std::vector<Named> tiny() {
  return {{"fc1.weight", {2, 2}, {1, 2, -1, 0.5}},
          {"fc1.bias", {2}, {0.5, -1}},
          {"act1.a", {}, {0.5}},
          {"act1.b", {1}, {2}},
          {"fc2.weight", {1, 2}, {3, -1}},
          {"fc2.bias", {1}, {0.25}}};
}

std::string load_error(const TempDir& tmp, const std::vector<Named>& tensors) {
  const std::string p = write_model(tmp, tensors);
  try {
    (void)Mlp::load(p);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("Mlp::load did not throw");
  return {};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ml/mlp_plain: a tiny hand-made model, evaluated by hand") {
  TempDir tmp;
  const Mlp m = Mlp::load(write_model(tmp, tiny()));
  REQUIRE(m.layers.size() == 2);
  CHECK(m.input_size() == 2);
  CHECK(m.output_size() == 1);
  CHECK(m.layers[0].act.has_value());
  CHECK(!m.layers[1].act.has_value());

  // x = (1, 2): t = (1+4+0.5, -1+1-1) = (5.5, -1); h = (0.5·30.25 + 11, 0.5 - 2) = (26.125, -1.5);
  // y = 3·26.125 + 1.5 + 0.25 = 80.125.
  const auto y = m.logits(std::vector<double>{1.0, 2.0});
  REQUIRE(y.size() == 1);
  CHECK(y[0] == 80.125);
  CHECK(m.logits(std::vector<float>{1.0f, 2.0f}) == y);
  CHECK(m.predict(std::vector<float>{1.0f, 2.0f}) == 0);

  CHECK_THROWS_AS(m.logits(std::vector<double>{1.0}), InputError);
  CHECK_THROWS_AS(m.logits(std::vector<double>{1.0, NAN}), InputError);
  CHECK_THROWS_AS(Mlp{}.logits(std::vector<double>{}), InputError);
}

TEST_CASE("ml/mlp_plain: the loader rejects inconsistent layer lists") {
  TempDir tmp;
  auto without = [](std::vector<Named> v, const std::string& name) {
    v.erase(std::remove_if(v.begin(), v.end(), [&](const Named& t) { return t.name == name; }), v.end());
    return v;
  };
  CHECK(contains(load_error(tmp, without(tiny(), "fc1.weight")), "no tensor \"fc1.weight\""));
  CHECK(contains(load_error(tmp, without(tiny(), "fc2.bias")), "no \"fc2.bias\""));
  CHECK(contains(load_error(tmp, without(tiny(), "act1.b")), "has \"act1.a\" but not \"act1.b\""));
  auto v = tiny();
  v[4] = {"fc2.weight", {1, 3}, {3, -1, 0}};
  CHECK(contains(load_error(tmp, v), "takes 3 inputs but the previous layer has 2 outputs"));
  v = tiny();
  v[1] = {"fc1.bias", {3}, {0.5, -1, 0}};
  CHECK(contains(load_error(tmp, v), "the bias must be [2]"));
  v = tiny();
  v[2] = {"act1.a", {2}, {0.5, 0.5}};
  CHECK(contains(load_error(tmp, v), "must be a scalar"));
  v = tiny();
  v[0] = {"fc1.weight", {4}, {1, 2, -1, 0.5}};
  CHECK(contains(load_error(tmp, v), "must be [out, in]"));
  v = tiny();
  v.push_back({"fc4.weight", {1, 1}, {1}});  // a gap in the numbering (no fc3)
  CHECK(contains(load_error(tmp, v), "unexpected tensor \"fc4.weight\""));
}

TEST_CASE("ml/mlp_plain: the committed Fashion-MNIST model matches PyTorch") {
  const std::string model_path = (kModels / "mlp_fmnist.safetensors").string();
  const std::string ref_path = (kModels / "mlp_fmnist_logits100.safetensors").string();
  REQUIRE_MESSAGE(fs::exists(model_path), model_path << " is missing; run scripts/train_mlp.py");
  const Mlp m = Mlp::load(model_path);
  REQUIRE(m.layers.size() == 3);
  CHECK(m.input_size() == 784);
  CHECK(m.layers[0].dense.out == 64);
  CHECK(m.layers[1].dense.out == 32);
  CHECK(m.output_size() == 10);
  CHECK(m.layers[0].act.has_value());
  CHECK(m.layers[1].act.has_value());
  CHECK(!m.layers[2].act.has_value());

  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  if (!fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped the data checks: " << dir << " missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto test = ckks::ml::load_fashion_mnist(dir, /*train=*/false, 1000);
  REQUIRE(test.images.size() == 1000);

  // Logits of the first 100 test images: C++ (double) vs PyTorch (float64, same F32 weights).
  const auto ref = ckks::ml::read_safetensors(ref_path);
  const auto& logits = ref.at("logits");
  const auto& labels = ref.at("labels");
  REQUIRE(logits.shape == std::vector<std::size_t>{100, 10});
  double max_diff = 0.0, max_abs = 0.0;
  for (std::size_t i = 0; i < 100; ++i) {
    REQUIRE(labels.data[i] == test.labels[i]);  // the same images, in the same order
    const auto z = m.logits(test.images[i]);
    for (std::size_t j = 0; j < 10; ++j) {
      max_diff = std::max(max_diff, std::abs(z[j] - logits.data[i * 10 + j]));
      max_abs = std::max(max_abs, std::abs(z[j]));
    }
  }
  MESSAGE("max |C++ - PyTorch| logit difference over 100 images: " << max_diff
          << " (largest |logit| " << max_abs << ")");
  CHECK(max_diff <= 1e-4);

  // Plaintext accuracy on the first 1000 test images.
  int correct = 0;
  for (std::size_t i = 0; i < test.images.size(); ++i) correct += m.predict(test.images[i]) == test.labels[i];
  const double acc = correct / 1000.0;
  MESSAGE("plaintext accuracy on the first 1000 test images: " << acc);
  CHECK(acc >= 0.8);
}

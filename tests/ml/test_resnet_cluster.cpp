// Slice-wise weight clustering (issue 19, part 5; scripts/cluster_resnet.py, docs/ml.md "Slice-wise
// weight clustering"): the committed clustered tiny ResNet-8 keeps at most K distinct weights per
// slice (checked exactly), the C++ plaintext forward pass reproduces PyTorch's logits of the
// clustered model, and its accuracy stays within the stated bound of the unclustered model's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ml/data/idx.h"
#include "ml/data/image.h"
#include "ml/data/safetensors.h"
#include "ml/resnet/resnet_plain.h"

namespace fs = std::filesystem;
using ckks::ml::Conv2d;
using ckks::ml::FeatureMap;
using ckks::ml::ResNet;

namespace {

/// The largest number of distinct values among the slices (one output channel's filter) of conv.
std::size_t max_distinct_per_slice(const Conv2d& conv) {
  const std::size_t per = conv.in_channels * conv.kernel * conv.kernel;
  std::size_t most = 0;
  for (std::size_t o = 0; o < conv.out_channels; ++o) {
    const std::set<double> values(conv.weight.begin() + static_cast<long>(o * per),
                                  conv.weight.begin() + static_cast<long>((o + 1) * per));
    most = std::max(most, values.size());
  }
  return most;
}

/// Every convolution of the network (stem, conv1, conv2, projection shortcuts).
std::vector<const Conv2d*> convolutions(const ResNet& net) {
  std::vector<const Conv2d*> out{&net.stem};
  for (const auto& stage : net.stages)
    for (const auto& block : stage) {
      out.push_back(&block.conv1);
      out.push_back(&block.conv2);
      if (block.shortcut) out.push_back(&*block.shortcut);
    }
  return out;
}

/// Correct predictions on the first `images` test images (16×16 inputs) and the logits of 0..99.
int correct_on(const ResNet& net, const ckks::ml::ImageSet& test, std::size_t images,
               std::vector<std::vector<double>>& logits100) {
  int correct = 0;
  for (std::size_t i = 0; i < images; ++i) {
    const auto x = FeatureMap::from_values(ckks::ml::downsample_fashion_mnist_to_16(test.images[i]), 1, 16, 16);
    const auto z = net.forward(x);
    correct += static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin()) == test.labels[i];
    if (i < 100) logits100.push_back(z);
  }
  return correct;
}

}  // namespace

TEST_CASE("ml/resnet_cluster: the clustered tiny ResNet-8 (K = 4 per slice) against PyTorch and the unclustered model") {
  const fs::path models = CKKS_MODELS_DIR_FOR_TESTS;
  const fs::path clustered = models / "resnet8_tiny_fmnist16_k4.safetensors";
  const fs::path ref = models / "resnet8_tiny_fmnist16_k4_logits.safetensors";
  const fs::path original = models / "resnet8_tiny_fmnist16.safetensors";
  for (const auto& p : {clustered, ref, original}) REQUIRE_MESSAGE(fs::exists(p), p.string() << " is missing");
  const std::string dir = ckks::ml::kDebianFashionMnistDir;
  REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz"),
                  dir << " is missing (apt-get install dataset-fashion-mnist)");

  const ResNet net = ResNet::load(clustered.string());
  const ResNet base = ResNet::load(original.string());
  const std::size_t k = std::stoul(net.metadata.at("clusters"));
  CHECK(k == 4);

  // Exact: no slice holds more than K distinct weights; every convolution whose unclustered slices
  // hold more than K values (all but the 1×1 shortcut of stage 2, 4 weights per slice) now holds K;
  // a slice of at most K values keeps its assignment (its values are fine-tuned like the others).
  const auto convs = convolutions(net), base_convs = convolutions(base);
  REQUIRE(convs.size() == base_convs.size());
  int clustered_convs = 0;
  for (std::size_t c = 0; c < convs.size(); ++c) {
    REQUIRE(convs[c]->weight.size() == base_convs[c]->weight.size());
    const std::size_t before = max_distinct_per_slice(*base_convs[c]);
    CHECK(max_distinct_per_slice(*convs[c]) == std::min(before, k));
    clustered_convs += before > k;
  }
  CHECK(clustered_convs == static_cast<int>(convs.size()) - 1);

  constexpr std::size_t kImages = 1000;
  const auto test = ckks::ml::load_fashion_mnist(dir, /*train=*/false, kImages);
  std::vector<std::vector<double>> z, z_base;
  const int correct = correct_on(net, test, kImages, z);
  const int correct_base = correct_on(base, test, kImages, z_base);

  // The C++ forward pass reproduces the script's float64 logits of the clustered model (same F32
  // weights, same float inputs, both in double: agreement to rounding, as for the unclustered file).
  const auto logits = ckks::ml::read_safetensors(ref.string()).at("logits");
  REQUIRE(logits.shape == std::vector<std::size_t>{100, 10});
  double worst = 0, moved = 0;
  for (std::size_t i = 0; i < 100; ++i)
    for (std::size_t j = 0; j < 10; ++j) {
      worst = std::max(worst, std::abs(z[i][j] - logits.data[i * 10 + j]));
      moved = std::max(moved, std::abs(z[i][j] - z_base[i][j]));
    }
  MESSAGE("clustered tiny ResNet-8: max |C++ - PyTorch| " << worst << ", max |clustered - unclustered logit| "
          << moved << " (images 0..99), accuracy " << correct << " vs " << correct_base << " of " << kImages);
  CHECK(worst <= 1e-9);
  CHECK(correct == static_cast<int>(std::lround(std::stod(net.metadata.at("test_accuracy_first_1000")) *
                                                static_cast<double>(kImages))));
  // The stated bound (docs/ml.md): clustering with fine-tuning costs at most 2 points of accuracy
  // on the first 1000 test images against the unclustered network.
  CHECK(correct >= correct_base - 20);
  // Not a copy of the unclustered network: the logits move.
  CHECK(moved > 1e-3);
}

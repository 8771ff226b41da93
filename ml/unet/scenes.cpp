// The Fashion-MNIST scenes of the U-Net (construction in scenes.h; twin of scripts/make_scenes.py).
#include "ml/unet/scenes.h"

#include <array>

#include "ckks/errors.h"
#include "ml/data/image.h"

namespace ckks::ml {

int scene_label_of_class(int fashion_class) {
  static constexpr std::array<int, 10> kGroup = {1, 2, 1, 3, 1, 4, 1, 4, 5, 4};
  if (fashion_class < 0 || fashion_class > 9) {
    throw InputError("scene_label_of_class: class " + std::to_string(fashion_class) +
                     " is not a Fashion-MNIST class (0..9)");
  }
  return kGroup[static_cast<std::size_t>(fashion_class)];
}

std::string scene_label_name(int label) {
  static constexpr std::array<const char*, kSceneClasses> kNames = {
      "background", "tops", "trousers", "dress", "footwear", "bag"};
  if (label < 0 || static_cast<std::size_t>(label) >= kSceneClasses) {
    throw InputError("scene_label_name: label " + std::to_string(label) + " is not in 0.." +
                     std::to_string(kSceneClasses - 1));
  }
  return kNames[static_cast<std::size_t>(label)];
}

SceneSource scene_source(const ImageSet& fashion_mnist) {
  if (fashion_mnist.images.empty()) {
    throw InputError("scene_source: the image set is empty; load Fashion-MNIST with "
                     "load_fashion_mnist(kDebianFashionMnistDir, train)");
  }
  if (fashion_mnist.rows != 28 || fashion_mnist.cols != 28 ||
      fashion_mnist.labels.size() != fashion_mnist.images.size()) {
    throw InputError("scene_source: the set has " + std::to_string(fashion_mnist.images.size()) +
                     " images of " + std::to_string(fashion_mnist.rows) + " x " +
                     std::to_string(fashion_mnist.cols) + " and " +
                     std::to_string(fashion_mnist.labels.size()) +
                     " labels; scenes are built from 28 x 28 Fashion-MNIST with one label each");
  }
  constexpr std::size_t G = kSceneGarmentSize, P = kSmallResNetImageSize;
  SceneSource src;
  src.garments.reserve(fashion_mnist.images.size());
  for (std::size_t i = 0; i < fashion_mnist.images.size(); ++i) {
    scene_label_of_class(fashion_mnist.labels[i]);  // validates the class
    // The 16 × 16 image is the 14 × 14 means with a zero border of 1: keep the interior.
    const std::vector<float> padded = downsample_fashion_mnist_to_16(fashion_mnist.images[i]);
    std::vector<float> g(G * G);
    for (std::size_t r = 0; r < G; ++r) {
      for (std::size_t c = 0; c < G; ++c) g[r * G + c] = padded[(r + 1) * P + c + 1];
    }
    src.garments.push_back(std::move(g));
  }
  src.classes = fashion_mnist.labels;
  return src;
}

Scene make_scene(const SceneSource& source, SceneSplit split, std::uint32_t index,
                 std::uint32_t seed) {
  if (source.garments.empty() || source.classes.size() != source.garments.size()) {
    throw InputError("make_scene: the source has " + std::to_string(source.garments.size()) +
                     " garments and " + std::to_string(source.classes.size()) +
                     " classes; build it with scene_source from a non-empty Fashion-MNIST set");
  }
  if (seed >= (1U << 24)) {
    throw InputError("make_scene: seed " + std::to_string(seed) +
                     " must be below 2^24 = 16777216 (scripts/make_scenes.py --seed has the same range)");
  }
  constexpr std::size_t S = kSceneSize, G = kSceneGarmentSize, kPositions = S - G + 1;
  SplitMix64 rng((static_cast<std::uint64_t>(seed) << 40) |
                 (static_cast<std::uint64_t>(split) << 32) | index);
  Scene scene{std::vector<float>(S * S, 0.0f), std::vector<int>(S * S, 0)};
  const std::uint64_t k = 2 + rng.next() % 3;
  for (std::uint64_t j = 0; j < k; ++j) {
    const std::size_t src = static_cast<std::size_t>(rng.next() % source.garments.size());
    const std::size_t y = static_cast<std::size_t>(rng.next() % kPositions);
    const std::size_t x = static_cast<std::size_t>(rng.next() % kPositions);
    const std::vector<float>& g = source.garments[src];
    if (g.size() != G * G) {
      throw InputError("make_scene: garment " + std::to_string(src) + " has " +
                       std::to_string(g.size()) + " values; scene_source makes 14 x 14 = 196");
    }
    const int label = scene_label_of_class(source.classes[src]);
    for (std::size_t u = 0; u < G; ++u) {
      for (std::size_t v = 0; v < G; ++v) {
        const float p = g[u * G + v];
        if (p > kSceneForeground) {
          scene.image[(y + u) * S + x + v] = p;
          scene.labels[(y + u) * S + x + v] = label;
        }
      }
    }
  }
  return scene;
}

std::vector<Scene> make_scenes(const SceneSource& source, SceneSplit split, std::size_t count,
                               std::uint32_t seed) {
  if (count > (std::size_t{1} << 32)) {
    throw InputError("make_scenes: count " + std::to_string(count) +
                     " exceeds 2^32, the number of scene indices of one split");
  }
  std::vector<Scene> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(make_scene(source, split, static_cast<std::uint32_t>(i), seed));
  }
  return out;
}

}  // namespace ckks::ml

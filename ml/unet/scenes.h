// The U-Net's segmentation task: M2NIST-style scenes of 2–4 Fashion-MNIST garments on a 32 × 32
// canvas, each pixel labelled with its garment's group or background, built deterministically.
//
// This is the C++ twin of scripts/make_scenes.py (the training script's data); both follow the
// construction below, and tests/ml/test_unet_plain.cpp checks that they give the same floats and
// labels bit for bit on the scenes stored in ml/models/unet_fmnist_scenes_logits.safetensors.
//
// Scene i of split s (s = 0: drawn from the 60 000 training images; s = 1: from the 10 000 test
// images) with seed S:
//   1. Random numbers: SplitMix64 [SLF14] started from the state (S << 40) | (s << 32) | i; each
//      draw r is its next 64-bit output, and "r mod m" reduces it (the bias is below 2^-59).
//   2. k = 2 + (r mod 3) garments; for each, in order: source image index = r mod n_source,
//      row y = r mod 19, column x = r mod 19 (19 = 32 − 14 + 1: the garment lies on the canvas).
//   3. Each garment is its 28 × 28 image (byte/255, float) reduced to 14 × 14 by 2 × 2 means in
//      float, the arithmetic of downsample_fashion_mnist_to_16 (ml/data/image.h). 2 × 2 means
//      rather than a crop: a 14 × 14 crop would cut away most of a garment, whereas the reduced
//      garment stays whole and four of them fit the canvas with moderate overlap.
//   4. Painter's algorithm: garment pixel (u, v) with value > 0.1f is foreground; canvas pixel
//      (y + u, x + v) takes its value and label. Fainter pixels are transparent. On an overlap
//      the later garment wins, and a pixel is background (label 0) exactly when its value is 0.
//   5. Labels: 0 background and five garment groups (kSceneClasses = 6), the ten classes grouped
//      so that a U-Net of at most 32 channels can separate them at 14 × 14, where the tops look
//      alike: 1 tops (T-shirt/top 0, Pullover 2, Coat 4, Shirt 6), 2 trousers (1), 3 dress (3),
//      4 footwear (Sandal 5, Sneaker 7, Ankle boot 9), 5 bag (8).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ml/data/idx.h"

namespace ckks::ml {

/// Canvas side (32), garment side after the 2 × 2 means (14), and label count (background + 5).
inline constexpr std::size_t kSceneSize = 32;
inline constexpr std::size_t kSceneGarmentSize = 14;
inline constexpr std::size_t kSceneClasses = 6;
/// The seed of the committed model's scenes (scripts/make_scenes.py --seed).
inline constexpr std::uint32_t kSceneDefaultSeed = 20;
/// Garment pixels above this value are painted (step 4).
inline constexpr float kSceneForeground = 0.1f;

/// Which Fashion-MNIST split a scene draws its garments from.
enum class SceneSplit : std::uint32_t { train = 0, test = 1 };

/// SplitMix64 [SLF14]: state += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds and a
/// final xor-shift of a copy. Small, fast, and easy to reproduce in Python bit for bit.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t state) : state_(state) {}
  /// The next 64-bit output. No errors.
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

/// One scene: kSceneSize² pixel values (row-major, pixel (r, c) at r·32 + c, in [0, 1]) and as
/// many labels in [0, kSceneClasses).
struct Scene {
  std::vector<float> image;
  std::vector<int> labels;
};

/// The garments a split's scenes are drawn from: 14 × 14 images (196 values, row-major) and
/// their Fashion-MNIST classes 0..9.
struct SceneSource {
  std::vector<std::vector<float>> garments;
  std::vector<int> classes;
};

/// The scene label (1..5) of Fashion-MNIST class c (0..9), step 5 above.
/// Throws ckks::InputError if c is not in 0..9.
int scene_label_of_class(int fashion_class);

/// The name of scene label `label` ("background", "tops", "trousers", "dress", "footwear",
/// "bag"). Throws ckks::InputError if label ≥ kSceneClasses or negative.
std::string scene_label_name(int label);

/// Reduces a 28 × 28 Fashion-MNIST set (load_fashion_mnist) to the garments of step 3.
/// Throws ckks::InputError if the set is empty, not 28 × 28, or a label is not in 0..9.
SceneSource scene_source(const ImageSet& fashion_mnist);

/// Scene `index` of `split` (steps 1–5). `split` only enters the random state; pass the source
/// of the matching Fashion-MNIST split (load_fashion_mnist(dir, split == SceneSplit::train)) to
/// obtain the scenes of scripts/make_scenes.py.
/// Throws ckks::InputError if the source is empty, a garment does not have 196 values, or
/// seed ≥ 2^24 (it would overlap the split bits of the state).
Scene make_scene(const SceneSource& source, SceneSplit split, std::uint32_t index,
                 std::uint32_t seed = kSceneDefaultSeed);

/// Scenes 0 … count − 1 of `split` (make_scene for each). Throws as make_scene does, and if
/// count > 2^32.
std::vector<Scene> make_scenes(const SceneSource& source, SceneSplit split, std::size_t count,
                               std::uint32_t seed = kSceneDefaultSeed);

}  // namespace ckks::ml

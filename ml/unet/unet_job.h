// The `ckks-ml unet` job: loads the U-Net (ml/unet/unet_plain.h) and builds the test scenes from
// Debian's Fashion-MNIST (ml/unet/scenes.h), scores the plaintext masks on the test scenes, then
// plays client and server for K scenes one at a time at 128-bit parameters (resnet_params for the
// U-Net's levels, checked by the Context's security estimate): the client generates the keys and
// encrypts a scene, the server evaluates the network without the secret key
// (ml/unet/unet_encrypted.h), the client decrypts the logits and takes the argmax per pixel. The
// job compares the decrypted masks with the plaintext ones and with the labels, and measures time
// per layer type, keys and memory.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/data/idx.h"
#include "ml/unet/scenes.h"
#include "ml/unet/unet_encrypted.h"

namespace ckks::ml {

struct UNetJobOptions {
  std::size_t images = 10;           ///< test scenes to encrypt and segment (0: plaintext only)
  std::size_t plain_images = 5000;   ///< test scenes for the plaintext scores (5000: all of them)
  std::string model;                 ///< safetensors weights of the U-Net (required)
  std::string data = kDebianFashionMnistDir;  ///< directory of the Fashion-MNIST IDX files
};

/// One encrypted scene: the scene, its plaintext mask and the decrypted mask (1024 labels each).
struct UNetSceneResult {
  Scene scene;
  std::vector<int> plain_mask, encrypted_mask;
  double seconds_infer = 0;
};

/// What run_unet_job measured. The encrypted fields are set only when encrypted_images > 0; sums
/// (timings, seconds_encrypt/infer/decrypt) are over all encrypted scenes.
struct UNetReport {
  std::size_t plain_images = 0, encrypted_images = 0;
  double plain_mean_iou = 0, plain_pixel_accuracy = 0;  ///< plaintext, the first plain_images test scenes
  double seconds_plain = 0;
  /// Plaintext and encrypted scores on the encrypted scenes only (the same K scenes).
  double plain_k_mean_iou = 0, plain_k_pixel_accuracy = 0;
  double encrypted_mean_iou = 0, encrypted_pixel_accuracy = 0;
  double agreement = 0;        ///< fraction of pixels whose decrypted label equals the plaintext label
  double max_logit_error = 0;  ///< max |decrypted logit − plaintext logit| over the K scenes
  double max_abs_logit = 0;    ///< max |plaintext logit|
  std::vector<UNetLevelStep> plan;  ///< the level plan, printed before the first scene
  int levels_needed = 0, levels_used = 0;
  Params params;
  int dnum = 0, security_bits = 0;
  double log_qp = 0;
  std::size_t galois_keys = 0;
  double galois_bytes = 0, relin_bytes = 0;  ///< key sizes in memory (limbs × N × 8 bytes)
  ResNetTimings timings;                     ///< per layer kind, summed over the encrypted scenes
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_infer = 0, seconds_decrypt = 0;
  double cpu_seconds_infer = 0;  ///< CPU seconds of the process (all threads) during infer, summed
  double peak_memory_bytes = 0;  ///< peak resident memory of the process (getrusage)
  double seconds_total = 0;
  std::vector<UNetSceneResult> scenes;  ///< the encrypted scenes, in order
};

/// Runs the job. `log` receives one progress line at a time (the plan, keys, every layer of every
/// scene); may be empty. Throws InputError if both counts are 0 or a count exceeds the 5000 test
/// scenes (naming --images / --plain-images) or the model's label count is not kSceneClasses
/// (naming --model, before the data is read); the loaders' errors for bad files; ParameterError
/// if the U-Net's levels do not fit a 128-bit chain (resnet_params).
UNetReport run_unet_job(const UNetJobOptions& options, const std::function<void(const std::string&)>& log = {});

/// The number of test scenes of the committed model's data (scripts/make_scenes.py): 5000.
inline constexpr std::size_t kUNetTestScenes = 5000;

}  // namespace ckks::ml

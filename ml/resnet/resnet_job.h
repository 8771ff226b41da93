// The `ckks-ml resnet` job: loads a quadratic-activation ResNet-8 / ResNet-20 and the
// Fashion-MNIST test set (28×28 zero-padded to 32×32, ml/data/image.h), measures the plaintext
// accuracy with the C++ forward pass (ml/resnet/resnet_plain.h), then plays client and server for
// K test images one at a time at 128-bit parameters (resnet_params): the client generates the keys
// and encrypts an image, the server evaluates the network without the secret key
// (ml/resnet/resnet_encrypted.h), the client decrypts the logits; the job compares them with the
// plaintext logits and predictions and measures time, keys and memory.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/data/idx.h"
#include "ml/resnet/resnet_encrypted.h"

namespace ckks::ml {

struct ResNetJobOptions {
  int depth = 8;                    ///< 8 or 20
  std::size_t images = 1;           ///< test images to encrypt and classify (0: plaintext only)
  std::size_t plain_images = 10000; ///< test images for the plaintext accuracy
  std::string model;                ///< safetensors weights of a ResNet-`depth` (required)
  /// The stage widths the model must have: "standard" (16/32/64 channels), "wide" (64/128/256,
  /// ResNet-20 only) or empty (any widths the packing holds; not checked).
  std::string width;
  std::string data = kDebianFashionMnistDir;  ///< directory of the Fashion-MNIST IDX files
  /// GiB of weight plaintexts the server encodes once, before the images
  /// (ResNetServer::prepare_plaintexts; 0: none, every product encodes its plaintext; ∞: all).
  double plaintext_cache_gib = 0;
  /// How much larger than the smallest the switching keys may be for cheaper rotations
  /// (resnet_params(levels, key_growth)); 2: ResNet-8 gets dnum 2, k = 6 (keys 1.57× the smallest,
  /// rotations about a third cheaper); ResNet-20's chain is the same for every value ≥ 1.
  double key_growth = 2.0;
  /// Taps packed into the gap of clean inputs (ResNetEvalContext::pack_taps): conv2 of every block
  /// of stages 2 and 3 takes 1 (gap 4) or 3 (gap 2) products per channel rotation instead of 9. False: the earlier
  /// one product per tap (for comparison; same levels, more products).
  bool pack_taps = true;
  /// n1 > 0: the block rotations of every convolution whose taps are not packed hoisted on the input
  /// (ResNetEvalContext::input_baby_steps); 0: off (the default: no faster on whole ResNet-20 images,
  /// docs/ml.md). With a plaintext cache it is refused (that path does not read the cache).
  std::size_t input_baby_steps = 0;
  /// ResNetEvalContext::input_baby_steps_min_level; < 0: 5k − 1 for k special primes (the path only where
  /// ℓ + 1 ≥ 5k, i.e. where its products over Q_ℓ·P cost at most a fifth more: docs/ml.md, issue 19 part 8).
  int input_baby_steps_min_level = -1;
};

/// What run_resnet_job measured. The encrypted fields are set only when encrypted_images > 0;
/// sums (timings, seconds_encrypt/infer/decrypt) are over all encrypted images.
struct ResNetReport {
  int depth = 0;
  std::vector<std::size_t> widths;  ///< output channels of the stem and of stages 1, 2, 3 (from the model)
  std::size_t plain_images = 0, encrypted_images = 0;
  double plain_accuracy = 0;  ///< on the first plain_images test images
  double seconds_plain = 0;   ///< plaintext forward passes
  Params params;
  double key_growth = 0;  ///< what resnet_params was given (ResNetJobOptions::key_growth)
  bool pack_taps = false; ///< ResNetJobOptions::pack_taps as run
  std::size_t input_baby_steps = 0;  ///< ResNetJobOptions::input_baby_steps as run
  int input_baby_steps_min_level = 0;  ///< the level it applied from, as run
  int dnum = 0, security_bits = 0, levels_used = 0;
  double log_qp = 0;
  double encrypted_accuracy = 0;  ///< on the first encrypted_images test images
  double agreement = 0;           ///< fraction of encrypted predictions equal to the plaintext ones
  double max_logit_error = 0;     ///< max |decrypted logit − plaintext logit|
  double max_abs_logit = 0;       ///< max |plaintext logit|
  std::size_t galois_keys = 0;
  double galois_bytes = 0, relin_bytes = 0;  ///< key sizes in memory (limbs × N × 8 bytes)
  /// What the same Galois keys would take if each were made for the whole chain (as the
  /// relinearisation key is); galois_bytes is smaller because each is made for its highest level.
  double galois_bytes_whole_chain = 0;
  ResNetTimings timings;                     ///< per layer kind, summed over the encrypted images
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_infer = 0, seconds_decrypt = 0;
  /// CPU seconds of the process (all threads) during infer, summed over the images: the figure to
  /// compare runs by when the machine is shared (wall time then depends on the load).
  double cpu_seconds_infer = 0;
  std::size_t cached_plaintexts = 0;  ///< weight plaintexts encoded before the images
  double cached_plaintext_bytes = 0;  ///< their memory
  double seconds_prepare = 0;         ///< wall seconds of prepare_plaintexts (once, not per image)
  std::size_t cache_hits = 0;         ///< products served from the cache, summed over the images
  double peak_memory_bytes = 0;  ///< peak resident memory of the process (getrusage)
  double seconds_total = 0;
};

/// The stage widths (channels of stages 1, 2, 3) a --width name stands for: "standard" 16/32/64,
/// "wide" 64/128/256 (four times the channels, 16 times the multiply-adds: 4.3 M parameters in
/// ResNet-20 against 0.27 M; the stem has the width of stage 1). Source: [HZRS16] (the standard
/// widths, as restated in docs/references.md; no section read); the wide ones are issue 19's.
/// Throws InputError for any other name (naming --width and the two accepted values).
std::vector<std::size_t> resnet_widths(const std::string& width);

/// Runs the job. `log` receives one progress line at a time (phases, every activation layer of
/// every image); may be empty. Throws InputError for a depth other than 8 or 20, a width other than
/// empty, "standard" or "wide", "wide" with a depth other than 20, a model whose depth differs from
/// `depth` or whose stage widths differ from those of a non-empty `width` (resnet_widths), or
/// nothing to do (both image counts 0); the loaders' errors for bad files.
ResNetReport run_resnet_job(const ResNetJobOptions& options, const std::function<void(const std::string&)>& log = {});

}  // namespace ckks::ml

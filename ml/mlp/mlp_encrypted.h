// Batched encrypted MLP inference: one image per SLOT (CryptoNets' layout, Gilad-Bachrach et al.,
// ICML 2016): input pixel k of every image in the batch forms ciphertext k, so a batch holds
// N/2 images and every layer is a plaintext-weighted sum of whole ciphertexts. Uses only the
// public ckks/ API.
//
// Levels: a dense layer costs 1 (each term multiplied by its weight encoded at scale q_ℓ, summed,
// rescaled once: the output scale equals the input scale); a square activation costs 1; a general
// quadratic a·t² + b·t costs 2 (t·(a·t + b)). The Fashion-MNIST model (dense, square, dense,
// square, dense) needs 5, so Params::preset_n14() (7 levels, 8192 images per batch) suffices.
#pragma once
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ml/mlp/mlp_plain.h"

namespace ckks::ml {

class MlpBatchServer {
 public:
  MlpBatchServer(ContextPtr ctx, Mlp model, RelinKey rk);
  /// Levels the forward pass consumes (sum over layers: 1 per dense layer, 1 per square, 2 per
  /// general quadratic).
  int levels_needed() const;
  /// inputs: input_size() ciphertexts (ciphertext k holds pixel k of every image in its slots),
  /// all at one level and scale. Returns output_size() ciphertexts of logits.
  /// Throws InputError for a wrong count, LevelError if fewer than levels_needed() levels are
  /// left (naming both numbers).
  std::vector<Ciphertext> forward(const std::vector<Ciphertext>& inputs) const;

 private:
  ContextPtr ctx_;
  Mlp model_;
  RelinKey rk_;
  Evaluator ev_;
};

/// Client side: pack a batch of images (at most N/2) into input_size() ciphertexts at the top
/// level, and read the logits back. Throws InputError for an empty or oversized batch or images
/// of the wrong size.
std::vector<Ciphertext> encrypt_image_batch(const Encoder& encoder, Encryptor& encryptor,
                                            const std::vector<std::vector<float>>& images,
                                            std::size_t input_size, int level, double scale);
/// logits[b][c] for the first `count` images from output_size() decrypted plaintexts.
std::vector<std::vector<double>> decode_logits(const Encoder& encoder, const std::vector<Plaintext>& outputs,
                                               std::size_t count);

}  // namespace ckks::ml

// Plaintext reference for the encrypted MLP: a multilayer perceptron whose activations are
// quadratic polynomials, evaluated in double precision.
//
// Why quadratic: CKKS evaluates only additions and multiplications, so a network that should run
// on encrypted inputs must be a polynomial. CryptoNets (Gilad-Bachrach, Dowlin, Laine, Lauter,
// Naehrig & Wernsing, "CryptoNets: Applying Neural Networks to Encrypted Data with High
// Throughput and Accuracy", ICML 2016) replaced the ReLU/sigmoid by the square x ↦ x²; here each
// activation is the slightly more general act(t) = a·t² + b·t with two trained scalars (a = 1,
// b = 0 is CryptoNets' square). Each activation costs one ciphertext multiplication level.
//
// The model is read from a safetensors file (ml/data/safetensors.h) written by
// scripts/train_mlp.py; ml/models/README.md describes the committed Fashion-MNIST model
// (784 → 64 → 32 → 10). The arithmetic is exactly PyTorch's forward pass of that script,
// done in double on the stored weights (F32 weights are widened exactly), so its logits match the
// float64 PyTorch logits in ml/models/mlp_fmnist_logits100.safetensors up to summation order.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ckks::ml {

/// A feed-forward network: x ↦ L_K(… L_2(L_1(x))), each layer L_i(x) = act_i(W_i x + b_i), where
/// act_i is optional (absent = identity; the last layer normally has none, its outputs are the
/// logits).
struct Mlp {
  /// Dense (fully connected) layer t = W x + b with W of shape [out, in] (PyTorch nn.Linear).
  struct Dense {
    std::size_t in = 0, out = 0;
    std::vector<double> weight;  // out·in values, row-major: weight[j·in + k] = W[j][k]
    std::vector<double> bias;    // out values
  };
  /// Elementwise activation act(t) = a·t² + b·t (a = 1, b = 0: CryptoNets' square).
  struct Quadratic {
    double a = 1.0, b = 0.0;
    double operator()(double t) const { return a * t * t + b * t; }
  };
  struct Layer {
    Dense dense;
    std::optional<Quadratic> act;
  };

  std::vector<Layer> layers;  // applied in order, layers[0] first

  /// Loads a model from a safetensors file holding, for i = 1, 2, …, K (consecutive, K ≥ 1):
  ///   "fc<i>.weight"  [out_i, in_i]   and   "fc<i>.bias"  [out_i]
  ///   optionally "act<i>.a" and "act<i>.b", scalars (shape [] or [1]): an activation after fc<i>
  /// with in_{i+1} = out_i. Dtypes F32 or F64. The number of layers and their sizes come from the
  /// file; nothing is hard-wired to Fashion-MNIST.
  /// Throws ckks::InputError (naming the file and tensor) if the file cannot be read (see
  /// read_safetensors), "fc1.weight" is missing, a weight is not 2-D, a bias does not have
  /// out_i entries, consecutive sizes do not chain (in_{i+1} ≠ out_i), only one of act<i>.a /
  /// act<i>.b is present or one is not a scalar, or a tensor has any other name (e.g. a typo or a
  /// layer after a gap in the numbering).
  static Mlp load(const std::string& safetensors_path);

  /// Input length in_1 (784 for 28 × 28 images). Requires a non-empty model.
  std::size_t input_size() const;
  /// Output length out_K (the number of classes, 10 for Fashion-MNIST). Requires a non-empty model.
  std::size_t output_size() const;

  /// The forward pass in double: the output_size() logits (unnormalised class scores; softmax
  /// would turn them into probabilities, argmax is the prediction) of one input, e.g. an image's
  /// pixels in [0, 1] as ImageSet stores them (row-major, input_size() values).
  /// Throws ckks::InputError if the model has no layer, the input does not have input_size()
  /// values, or an input value is NaN or infinite.
  std::vector<double> logits(const std::vector<float>& image) const;
  /// The same for an input given in double.
  std::vector<double> logits(const std::vector<double>& input) const;

  /// The predicted class: the index of the largest logit (the lowest index on a tie).
  /// Throws as logits() does.
  int predict(const std::vector<float>& image) const;
};

}  // namespace ckks::ml

// LFFR (regression through the logistic function, lffr_plain.h) trained on encrypted data, one or
// several outputs against ONE encrypted data set [Chiang24; Chiang24b]. Public ckks/ API only.
//
// Layout (SfhLayout of ml/linreg with no target columns: B = bit_ceil(D) slots per sample, R =
// bit_ceil(n) blocks). The data owner sends, at level L:
//   * P_k, k = 0 … B−1: the data with its columns rotated by k inside each block,
//     Â_k[r·B + j] = A[r][(j + k) mod B] (0 past column D − 1 and past row n − 1), then rotated as a
//     whole by −g·b_s (g = ⌊k / b_s⌋, b_s = layout.baby()) — the baby-step giant-step pre-rotation,
//     done in the clear before encryption so that the server needs no extra Galois keys;
//   * H: slot r·B + j = b_j·A[r][j] / R (b = lffr_preconditioner, R = the sigmoid radius);
//   * Y_o for each output o: slot r·B + j = y_o[r] (normalised into (0, 1)) for every j, 0 past row n − 1.
// The server keeps u = w/R (replicated in every block) instead of w, so that z/R = A u is already
// the argument of the sigmoid polynomial on [−1, 1] and the interval map costs no level.
// One iteration, per output (levels in brackets):
//   1. t = A u: Σ_k Â_k ⊙ rot(u, k) (slot r·B + j gets Σ_k A[r][(j+k) mod B]·u[(j+k) mod B] = (A u)_r,
//      replicated over block r), by bsgs_sum over the P_k with hoisted baby steps   [1]
//   2. e = Y_o − p(t), p ≈ σ(R·t) (LffrSigmoid), Y_o brought to e's scale with one product by 1  [depth(p)]
//   3. Δu = Σ_r e ⊙ H: one product, then sum_slots over the R blocks (rotations by B·2^i)   [1]
//   4. u ← u + Δu (u brought to Δu's scale by a product by 1, off the critical path)
// The first iteration needs no steps 1–2: u_0 = 0 gives σ(0) = ½ in the clear, e = Y_o − ½.
// Levels: 1 + (K − 1)·(2 + PolynomialEvaluator::levels_needed(degree)) for K iterations.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/evaluator.h"
#include "ml/client_keys.h"
#include "ml/lffr/lffr_plain.h"
#include "ml/linreg/linreg_encrypted.h"

namespace ckks::ml {

/// What the data owner sends for LFFR: ciphertexts and the public layout.
struct EncryptedLffrSet {
  SfhLayout layout;                    ///< outputs = 0 in the SfhLayout sense (no target columns)
  std::vector<Ciphertext> data;        ///< P_k, k = 0 … B−1
  Ciphertext step;                     ///< H = b ⊙ A / R
  std::vector<Ciphertext> targets;     ///< Y_o, one per output
};

/// The data owner for LFFR: holds the secret key.
class LffrDataOwner {
 public:
  /// Generates all keys; `test_seed` makes them deterministic and INSECURE (tests only).
  explicit LffrDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  /// Encrypts A = [X | 1] (n × D, bias last) and the m ≥ 1 normalised targets Y[o] (each n values in
  /// (0, 1)) for the sigmoid radius R = sigmoid.radius.
  /// Throws InputError on ragged or non-finite input, no target or a target of the wrong length, a zero
  /// column of A; ParameterError if the layout needs more than N/2 slots.
  EncryptedLffrSet encrypt(const std::vector<std::vector<double>>& A, const std::vector<std::vector<double>>& Y,
                           const LffrSigmoid& sigmoid);
  RelinKey relin_key();
  /// Exactly the Galois keys of layout.rotation_steps().
  GaloisKeys galois_keys(const SfhLayout& layout);
  /// w (length D) of one output: R × the average over the R blocks of the decrypted u.
  std::vector<double> decrypt_weights(const Ciphertext& u, const SfhLayout& layout, const LffrSigmoid& sigmoid);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// The server for LFFR: ciphertexts and evaluation keys only.
class LffrServer {
 public:
  LffrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk);
  /// Levels one iteration after the first costs: 2 + PolynomialEvaluator::levels_needed(degree).
  static int levels_per_iteration(int degree);
  /// Levels K iterations consume: 1 + (K − 1)·levels_per_iteration(degree).
  static int levels_needed(int iterations, int degree);
  /// The largest K with levels_needed(K, degree) ≤ max_level (0 if max_level < 1).
  static int max_iterations(int max_level, int degree);
  /// K = iterations steps for every output; element o is the encrypted u_K = w_K / R of output o.
  /// Throws InputError if iterations < 1 or the set is malformed; LevelError if the data's level is
  /// below levels_needed(iterations, sigmoid degree), naming both numbers.
  std::vector<Ciphertext> train(const EncryptedLffrSet& data, int iterations, const LffrSigmoid& sigmoid,
                                const Progress& progress = {}) const;

 private:
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  Evaluator ev_;
};

}  // namespace ckks::ml

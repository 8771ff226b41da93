// Linear regression trained on encrypted data with the simplified fixed Hessian (SFH)
// [BV18; Chiang24], built only from the public ckks/ API.
//
// The algorithm is exactly that of linreg_plain.h: with A = [X | 1] (n × D, D = d + 1) and the
// diagonal preconditioner b_j = 1/B̃_jj, B̃_jj = Σ_r |A_rj|·Σ_j' |A_rj'| (so B̃ ⪰ AᵀA),
//     w_0 = 0,   w_{t+1} = w_t + diag(b)·Aᵀ(y − A w_t).
// It is an affine map, so we run it as a LINEAR map on the augmented vector w̃ = (w, 1):
//     w̃_{t+1} = M̃ w̃_t,   M̃ = [ I − diag(b)AᵀA   diag(b)Aᵀy ]
//                                [       0              1      ]
// which costs ONE level per iteration (one ciphertext–ciphertext matrix–vector product) and needs
// no scale alignment. M̃ itself is built on the server from the encrypted data:
//   * the data owner encrypts Â = [X | 1 | −y | 0…] (n × B, B a power of two ≥ D + 1), row-major
//     with one B-slot block per sample, once per column rotation k = 0..B−1 (Â_k holds
//     Â[r][(j + k) mod B] in slot r·B + j; a choice of layout, no extra information), and the
//     preconditioner b (zero past index d) replicated in every block;
//   * the server computes diag_k(ÂᵀÂ)[j] = Σ_r Â_0[r·B+j]·Â_k[r·B+j] with one product and log2(R)
//     rotations by multiples of B (R blocks), then diag_k(M̃) = [k = 0]·(1 for j ≤ D) − b ⊙ diag_k(ÂᵀÂ).
//     The −y column makes the last column of M̃ come out as +diag(b)Aᵀy, and b's zero at index D
//     leaves row D as e_D. (2 levels.)
//   * each iteration is the diagonal method [HS14, §4.3] with
//     baby-step giant-step, the baby-step rotations hoisted (one shared ModUp): w̃ is replicated
//     with period B over all slots, so a global rotation by k is a cyclic rotation by k inside
//     every block.
// Levels: 2 for M̃ + 1 per iteration; at most L − 2 iterations on a chain of depth L.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ml/client_keys.h"

namespace ckks::ml {

/// Slot layout shared by the data owner and the server (all public information).
struct SfhLayout {
  std::size_t n = 0;      ///< training samples
  std::size_t d = 0;      ///< features (without the bias)
  std::size_t block = 0;  ///< B: power of two ≥ d + 2 (features, bias, the constant 1)
  std::size_t blocks = 0; ///< R: power of two ≥ n
  std::size_t slots() const { return block * blocks; }
  std::size_t baby() const;  ///< baby-step count b_s ≈ √B (power of two)
  /// Rotation steps the server needs: 1..b_s−1, multiples of b_s below B, and B·2^t < slots.
  std::vector<int> rotation_steps() const;

  /// Throws InputError if n or d is zero; ParameterError if the layout needs more than max_slots.
  static SfhLayout make(std::size_t n, std::size_t d, std::size_t max_slots);
};

/// What the data owner sends: ciphertexts only.
struct EncryptedTrainingSet {
  SfhLayout layout;
  std::vector<Ciphertext> columns_rotated;  ///< Â_k, k = 0..B−1, level L
  Ciphertext preconditioner;                ///< b replicated, level L
};

/// The data owner: holds the secret key; encrypts the training data, decrypts the trained weights.
class SfhDataOwner {
 public:
  /// Generates all keys. Randomness from the OS unless `test_seed` is set (then INSECURE and
  /// deterministic, for tests only).
  explicit SfhDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  /// With keys made earlier (the client/server workflow of `ckks-ml keygen/encrypt/decrypt`).
  SfhDataOwner(ContextPtr ctx, ClientKeys keys);

  /// Encrypt A = [X | 1] (n rows of D = d + 1 values, bias last) and y (n values, standardised).
  /// Throws InputError on ragged or non-finite input, ParameterError if it does not fit the slots.
  EncryptedTrainingSet encrypt(const std::vector<std::vector<double>>& A, const std::vector<double>& y);
  /// Evaluation keys for the server: relinearisation and exactly the Galois keys of `layout`.
  RelinKey relin_key();
  GaloisKeys galois_keys(const SfhLayout& layout);
  /// Decrypt the weights w (length D) from the server's result; also returns in `constant` the
  /// decrypted augmented coordinate, which should be 1 (a built-in sanity check).
  std::vector<double> decrypt_weights(const Ciphertext& w, const SfhLayout& layout, double* constant = nullptr);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// Progress callback: (phase, done, total).
using Progress = std::function<void(const std::string&, std::size_t, std::size_t)>;

/// The server: sees ciphertexts and evaluation keys only.
class SfhServer {
 public:
  SfhServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk);
  /// Levels consumed by `iterations` iterations (2 + iterations).
  static int levels_needed(int iterations) { return 2 + iterations; }
  /// Run `iterations` SFH iterations; returns the encrypted augmented weight vector w̃_K.
  /// Throws LevelError if the chain has fewer than levels_needed(iterations) levels, naming both
  /// numbers; InputError if iterations < 1.
  Ciphertext train(const EncryptedTrainingSet& data, int iterations, const Progress& progress = {}) const;

 private:
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  Encoder encoder_;
  Evaluator ev_;
};

}  // namespace ckks::ml

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
//
// Ridge [Chiang24]: with the ridge parameter λ (public, carried in EncryptedTrainingSet) the block
// I − diag(b)AᵀA becomes I − diag(b)(AᵀA + λP), P = diag(1, …, 1, 0) (the bias is not penalised),
// and b = sfh_preconditioner(A, λ): the server adds the plaintext λ·P to diag_0(ÂᵀÂ) before the
// product by b (no extra level). λ = 0 adds nothing: the linear-regression circuit exactly.
//
// Several outputs [Chiang24b]: with m targets y_1 … y_m the data owner encrypts Â = [A | −Y | 0…]
// (Y = [y_1 … y_m], so B ≥ D + m) and the augmented map becomes the (D + m)-square
//     M̃ = [ I − diag(b)AᵀA   diag(b)AᵀY ]
//          [       0              I_m   ]
// built ONCE from the one encrypted data set; output k is the augmented vector (w_k, e_k), started
// at e_{D+k} and iterated in its own ciphertext against the shared diagonals of M̃. Since b depends
// on A only, w_k is exactly the single-output iterate for y_k.
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
  std::size_t outputs = 1;  ///< columns after the bias: m targets for linreg (−y_k), 0 for LFFR (ml/lffr)
  std::size_t block = 0;  ///< B: power of two ≥ d + 1 + outputs (features, bias, one −y / constant per output)
  std::size_t blocks = 0; ///< R: power of two ≥ n
  std::size_t slots() const { return block * blocks; }
  std::size_t baby() const;  ///< baby-step count b_s ≈ √B (power of two)
  /// Rotation steps the server needs: 1..b_s−1, multiples of b_s below B, and B·2^t < slots.
  std::vector<int> rotation_steps() const;

  /// Throws InputError if n or d is zero; ParameterError if the layout needs more than max_slots.
  static SfhLayout make(std::size_t n, std::size_t d, std::size_t max_slots, std::size_t outputs = 1);
};

/// What the data owner sends: ciphertexts only.
struct EncryptedTrainingSet {
  SfhLayout layout;
  std::vector<Ciphertext> columns_rotated;  ///< Â_k, k = 0..B−1, level L
  Ciphertext preconditioner;                ///< b replicated, level L
  double lambda = 0.0;                      ///< ridge parameter λ ≥ 0 (public; 0: least squares)
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
  /// Several outputs and ridge: encrypt A and the m ≥ 1 targets Y[k] (each n values, standardised)
  /// as Â = [A | −Y | 0…] with layout outputs = m, and b = sfh_preconditioner(A, λ); the set carries
  /// λ for the server. encrypt(A, y) is encrypt(A, {y}, 0).
  /// Throws InputError on ragged or non-finite input, no target, a target of the wrong length, or
  /// λ negative or not finite; ParameterError if it does not fit the slots.
  EncryptedTrainingSet encrypt(const std::vector<std::vector<double>>& A, const std::vector<std::vector<double>>& Y,
                               double lambda);
  /// Evaluation keys for the server: relinearisation and exactly the Galois keys of `layout`.
  RelinKey relin_key();
  GaloisKeys galois_keys(const SfhLayout& layout);
  /// Decrypt the weights w (length D) from the server's result; also returns in `constant` the
  /// decrypted augmented coordinate, which should be 1 (a built-in sanity check).
  /// For several outputs, `output` = k names the ciphertext's output (its constant sits at D + k).
  /// Throws InputError if output ≥ layout.outputs.
  std::vector<double> decrypt_weights(const Ciphertext& w, const SfhLayout& layout, double* constant = nullptr,
                                      std::size_t output = 0);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// Progress callback: (phase, done, total).
using Progress = std::function<void(const std::string&, std::size_t, std::size_t)>;

/// One product of a block-periodic layout by the diagonal method with baby-step giant-step
/// [HS14, §4.3]: returns Σ_{g<B/b_s} rot( Σ_{j<b_s} term(g·b_s + j, j), g·b_s ) with b_s = baby, each
/// inner sum relinearised (if it has 3 components) and rescaled once. term(k, j) must return the
/// product (not rescaled) of the diagonal k, pre-rotated by −g·b_s, with rot(v, j).
/// Level: one below the terms'. Throws MissingKeyError if a giant-step key g·b_s is missing, and what
/// the Evaluator throws for mismatched terms.
Ciphertext bsgs_sum(const Evaluator& ev, const RelinKey& rk, const GaloisKeys& gk, std::size_t block,
                    std::size_t baby, const std::function<Ciphertext(std::size_t, std::size_t)>& term);

/// The server: sees ciphertexts and evaluation keys only.
class SfhServer {
 public:
  SfhServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk);
  /// Levels consumed by `iterations` iterations (2 + iterations).
  static int levels_needed(int iterations) { return 2 + iterations; }
  /// Run `iterations` SFH iterations; returns the encrypted augmented weight vector w̃_K.
  /// Throws LevelError if the chain has fewer than levels_needed(iterations) levels, naming both
  /// numbers; InputError if iterations < 1.
  /// Single output only (layout.outputs = 1; InputError otherwise): train_outputs(…)[0].
  Ciphertext train(const EncryptedTrainingSet& data, int iterations, const Progress& progress = {}) const;
  /// All outputs: element k is the encrypted (w_k, e_k) of output k after `iterations`
  /// iterations, every one against the same M̃ (built once), ridge included when data.lambda > 0.
  /// Levels: levels_needed(iterations), whatever the number of outputs; cost per iteration m times
  /// that of one output. Throws as train.
  std::vector<Ciphertext> train_outputs(const EncryptedTrainingSet& data, int iterations,
                                        const Progress& progress = {}) const;

 private:
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  Encoder encoder_;
  Evaluator ev_;
};

}  // namespace ckks::ml

// Multiclass logistic regression trained on encrypted data [Chiang23]: the algorithm of
// ml/mlr/mlr_plain.h (sigmoid per class, NAG with the quadratic gradient, polynomial sigmoid) run on
// CKKS ciphertexts through the public ckks/ API. Data owner (client) / server split as in
// ml/logreg/logreg_encrypted.h.
//
// Notation: n samples, D = d + 1 columns of A = [X | 1] (bias last), C classes, W (C × D).
//
// Layout (public: MlrLayout). The D columns are cut into G = ⌈D/F⌉ groups of F features
// (F a power of two, at most 8). A sample occupies one block of B slots, B = the smallest power of
// two ≥ C·F; inside the block, slot C·f + c is the pair (feature f of the group, class c). A
// ciphertext of S slots holds R = S/B consecutive samples; K = ⌈n/R⌉ ciphertexts hold all of them
// (S = N/2, or less for small n: S = min(N/2, B·2^⌈log2 n⌉)). The data owner sends, for every
// ciphertext k and group g,
//   X[k][g]:  slot r·B + C·f + c = A[kR + r][gF + f] for every c < C (the row replicated per class),
//   XB[k][g]: the same times 1/B̄_{gF+f} — the quadratic-gradient preconditioner folded into the
//             data (as ml/logreg/logreg_encrypted.h does; it saves a level per iteration),
//   Y[k]:     slot r·B + C·f + c = Y_{kR+r, c} (one-hot labels, replicated over f),
// zero in every other slot (padding features, padding samples, slots C·F … B−1 of a block).
// Weights W[g] (g < G): slot b·B + C·f + c = W[c][gF + f] in EVERY block b.
//
// Departure from the matrix-product encoding: [Chiang23] computes A·Wᵀ and Eᵀ·A with the Volley
// Revolver encoding (ckks/linear_transform.h, VolleyRevolver); one such product costs 3 levels and
// p·(log2 n' + log2 p') rotations on each ciphertext. Here both products are slot-wise products of
// the owner's replicated data with the replicated weights, followed by short rotate-and-add trees,
// which keeps an iteration at 5 levels (the same as the binary model) and about
// K·2·log2 F + G·log2 R rotations (135 for digits at N = 2^15), with 2·log2 F + log2 R Galois keys.
// It is still Volley Revolver's idea — one operand encoded row by row, the other transposed and
// replicated so that a slot-wise product lines up row i with column j — specialised to a weight
// matrix small enough to be replicated in every block.
//
// One iteration t ≥ 1 (W_t at level ℓ, scale exactly Δ), with c_t = nag_step(t), γ = nag_gamma(t−1):
//   1. P[k] = Σ_g X[k][g] ⊙ W_t[g], one relinearisation, rescale                          1 level
//   2. sum over f: P ← P + rot(P, C·2^i), 2^i < F: slot r·B + c holds Z_rc = (A W_tᵀ)_rc
//   3. u[k] = mask ⊙ ((1 − γ)/8·S_t[k] + γ/8·S_{t−1}[k]), rescale                         1 level
//      (mask keeps slots r·B + c, c < C; A V_tᵀ = (1 − γ)·A W_tᵀ + γ·A W_{t−1}ᵀ with S_{t−1}
//      kept from the previous iteration; /8 maps σ̃'s [−8, 8] to [−1, 1])
//   4. replicate over f: u ← u + rot(u, −C·2^i), 2^i < F
//   5. E[k] = c_t·Y[k] − c_t·σ̃(8u) (PolynomialEvaluator, 2 levels for degree 3)           2 levels
//   6. G[g] = Σ_k E[k] ⊙ XB[k][g], one relinearisation, rescale, then the sum over the R blocks
//      G ← G + rot(G, B·2^i), 2^i < R: every block holds c_t·(∇ℓ(V_t)·diag(B̄)⁻¹) for group g  1 level
//   7. W_{t+1}[g] = V_t[g] + G[g], V_t = (1 − γ)·W_t + γ·W_{t−1} (constant products, off the
//      critical path).
// Iteration 0 has V_0 = 0, so E = c_0·(Y − σ̃(0)) needs one constant product: 2 levels.
// levels_needed(K) = 2 + (K − 1)·levels_per_iteration, levels_per_iteration = 3 + levels of σ̃
// (5 for degree 3). Scales are managed as in ml/logreg/logreg_encrypted.h so that W_t and G have exactly
// the default scale Δ.
//
// Training past one chain (MlrServer's refreshing constructor, ml/refresh.h). The state one
// iteration hands to the next is W_t, W_{t−1} (G ciphertexts each) and S_{t−1} (K ciphertexts).
// Only the weights are bootstrapped: they are B-periodic, so the 2G of them pack into ONE
// ciphertext of n = bit_ceil(2G·B) slots (4096 for digits: 2·9·128 = 2304 values), one bootstrap per
// refresh instead of 2G. S_{t−1} = A·W_{t−1}ᵀ is recomputed from the refreshed W_{t−1} when the
// kept one sits below the level step 3 needs (once, after the first refresh; afterwards every
// iteration starts at the same level and the kept S_{t−1} is one level above what it needs).
// Level budget with a bootstrap that outputs level 9 (bootstrap_preset_n16_sparse_secret): unpack 1,
// iteration 5, pack 1 = 7 ≤ 9, so the server refreshes before every iteration after the first
// chain segment (two levels stay unused: a second iteration would need 5 more). The data is
// encrypted at the bootstrap's output level (the 40-bit user primes; the bootstrapping primes
// above are 60 bits, where a ciphertext product at Δ = 2^40 would not rescale back to Δ).
// Iteration 0 and 1 run from the data's level (9 → 7 → 2), then a refresh precedes each iteration.
// Weights must satisfy |W| ≤ M (RefreshConfig::bound) at every refresh. Measured for digits at
// bootstrap_preset_n16_sparse_secret (128-bit), 30 iterations: 28 refreshes of 38.4 s each (29.1 s
// of it the bootstrap), 10.6 s per iteration, accuracy 0.9304 = plaintext, peak 12.5 GiB (docs/ml.md).
//
// Cost for digits (1438 training rows, C = 10, D = 65) at Params::preset_n15() (N = 2^15, L = 18,
// 4 iterations = 17 levels): K = 12, G = 9, B = 128, R = 128; 2·12·9 + 12 = 228 ciphertexts
// uploaded, 13 Galois keys (±10, ±20, ±40, 128·2^i for i < 7), 135 rotations and 216 ciphertext
// products per full iteration. Measured peak memory of `ckks-ml mlr`: about 5.5 GB (keys ~2.8 GB,
// data ~2.3 GB).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ckks/params.h"
#include "ml/client_keys.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/mlr/mlr_plain.h"
#include "ml/refresh.h"

namespace ckks::ml {

struct MlrLayout {
  std::size_t n = 0, d = 0, classes = 0;  ///< samples, features (without the bias), C
  std::size_t group = 0;     ///< F: features per group (power of two ≤ 8)
  std::size_t groups = 0;    ///< G = ⌈(d + 1)/F⌉
  std::size_t block = 0;     ///< B: power of two ≥ C·F
  std::size_t slots = 0;     ///< S: slots per ciphertext (power of two ≤ N/2)
  std::size_t ciphertexts = 0;  ///< K = ⌈n/R⌉
  std::size_t blocks() const { return slots / block; }  ///< R: samples per ciphertext
  /// Slot of (local sample r, feature f of a group, class c): r·B + C·f + c.
  std::size_t slot(std::size_t r, std::size_t f, std::size_t c) const { return r * block + classes * f + c; }
  /// The Galois keys train() needs: C·2^i and −C·2^i for 2^i < F, and B·2^i for 2^i < R.
  std::vector<int> rotation_steps() const;
  /// Throws InputError if n, d are 0 or classes < 2; ParameterError if one block (B slots) does
  /// not fit in max_slots = N/2 (too many classes for the ring), naming both numbers.
  static MlrLayout make(std::size_t n, std::size_t d, std::size_t classes, std::size_t max_slots);
};

struct EncryptedMlrData {
  MlrLayout layout;
  std::vector<std::vector<Ciphertext>> x, xb;  ///< [k][g], see the file comment; level L, scale Δ
  std::vector<Ciphertext> y;                   ///< [k]
};

class MlrDataOwner {
 public:
  /// Keys from the OS CSPRNG unless `test_seed` is set (INSECURE, deterministic: tests only).
  explicit MlrDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  /// A = [X | 1] (n × D, bias last), y integer labels 0 … classes−1 (every class present).
  /// Encrypts K·(2G + 1) ciphertexts at level L. Throws InputError on bad shapes, non-finite
  /// values or bad labels; ParameterError if a block does not fit the slots.
  /// `level` (−1: the top level L) is the level of the data: for a training run with refreshes,
  /// MlrServer::refresh_plan(…).output_level (the bootstrap's output level), see the file comment.
  EncryptedMlrData encrypt(const DenseMatrix& A, const std::vector<double>& y, std::size_t classes,
                           double epsilon = 1e-8, int level = -1);
  /// The relinearisation key for the server.
  RelinKey relin_key();
  /// The Galois keys for layout.rotation_steps() (2·log2 F + log2 R keys; 13 for digits at N = 2^15).
  GaloisKeys galois_keys(const MlrLayout& layout);
  /// The same keys plus the bootstrap's (plan.rotation_steps and the conjugation key), for a server
  /// that refreshes its weights: plan = MlrServer::refresh_plan(ctx, refresh, layout).
  GaloisKeys galois_keys(const MlrLayout& layout, const BootstrapPlan& plan) {
    return galois_keys_with_bootstrap(keys_, layout.rotation_steps(), plan);
  }
  /// The sparse-secret encapsulation keys of weight h' (KeyGenerator::encapsulation_keys) for a
  /// refreshing server whose RefreshConfig has ephemeral_secret_weight = h' > 0.
  EncapsulationKeys encapsulation_keys(int hamming_weight) { return keys_.keygen.encapsulation_keys(keys_.sk, hamming_weight); }
  /// W (C × D) from the G weight ciphertexts, averaged over the R replicated blocks.
  /// Throws InputError unless w has layout.groups ciphertexts.
  DenseMatrix decrypt_weights(const std::vector<Ciphertext>& w, const MlrLayout& layout);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

class MlrServer {
 public:
  /// The server holds only public material: the Context, the relinearisation key and the Galois
  /// keys of MlrDataOwner::galois_keys for the data's layout.
  MlrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk);
  /// A server that trains past one chain: it refreshes W_t, W_{t−1} with one bootstrap when the
  /// levels run out (see the file comment). gk = MlrDataOwner::galois_keys(layout, refresh_plan(…));
  /// ek from MlrDataOwner::encapsulation_keys when refresh.bootstrap.ephemeral_secret_weight > 0
  /// (else an empty EncapsulationKeys). Throws what PeriodicRefresher's constructor throws
  /// (MissingKeyError for a missing key, ParameterError if 2G·B exceeds the layout's slots) and
  /// PeriodicRefresher::check_budget's ParameterError.
  MlrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const RefreshConfig& refresh, EncapsulationKeys ek,
            const MlrLayout& layout, int sigmoid_degree = 3);
  MlrServer(const MlrServer&) = delete;  // the refresher refers to the keys held here
  MlrServer& operator=(const MlrServer&) = delete;
  /// The bootstrap plan of a refresh for `layout` (2G weight ciphertexts of period B), before any key
  /// exists; the data owner encrypts the data at its output_level. Throws as Bootstrapper::plan.
  static BootstrapPlan refresh_plan(const Context& ctx, const RefreshConfig& refresh, const MlrLayout& layout);
  /// Refreshes done by the last train() call and their seconds (zero without refreshing).
  RefreshStats refresh_stats() const;
  /// Levels per iteration after the first: 3 + the levels of σ̃ on [−1, 1] (5 for degree 3).
  /// Throws InputError for a degree other than 3, 5, 7.
  static int levels_per_iteration(int sigmoid_degree);
  /// 2 + (K − 1)·levels_per_iteration (K ≥ 1).
  static int levels_needed(int iterations, int sigmoid_degree);
  /// The largest K with levels_needed(K) ≤ max_level (0 if not even one iteration fits).
  static int max_iterations(int max_level, int sigmoid_degree);
  /// Runs options.iterations iterations (options.epsilon is the owner's business and ignored);
  /// returns the G encrypted weight ciphertexts of W_K at scale Δ (at level L − levels_needed
  /// without refreshing). A refreshing server runs any number of iterations, refreshing before an
  /// iteration whose levels (and the next packing) do not fit (PeriodicRefresher::needed_before).
  /// Throws InputError if iterations < 1, the degree is not 3/5/7 (or differs from the refreshing
  /// server's) or the data is malformed; LevelError if the data's level is below levels_needed
  /// (3 with refreshing), naming both numbers and the fix; MissingKeyError if a Galois key of
  /// layout.rotation_steps() is missing.
  std::vector<Ciphertext> train(const EncryptedMlrData& data, const MlrOptions& options,
                                const Progress& progress = {}) const;

 private:
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  Encoder encoder_;
  Evaluator ev_;
  TrainingRefresh refresh_;
};

}  // namespace ckks::ml

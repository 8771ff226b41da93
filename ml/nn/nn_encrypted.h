// A network with one or two hidden layers trained on encrypted data [Chiang23NN; Chiang25NN]: the algorithm
// of ml/nn/nn_plain.h (polynomial sigmoids, binary cross-entropy, mini-batch gradient descent with
// Nesterov's look-ahead) run on CKKS ciphertexts through the public ckks/ API. The data owner
// encrypts the data, the labels and the initial weights; the server holds only public keys, never
// decrypts, and refreshes what runs out of levels by bootstrapping; the owner decrypts only the
// final weights.
//
// Layout (NnLayout; our own, inspired by the Double Volley Revolver of [Chiang25NN], whose exact
// encoding we did not use: departure). One sample r of the batch owns a block of B = Hp·Ap slots
// (Hp = bit_ceil(H + 1) ≥ hidden units + the bias unit, Ap = bit_ceil(max(C, 4)) ≥ classes); inside
// the block slot a·Hp + h is the pair (axis position a, hidden unit h), and the axis position a is
// read as a FEATURE f of a group of Ap features in layer 1 and as a CLASS c in layer 2. An S-slot
// ciphertext (S = N/2) holds R = S/B samples; a batch has b ≤ R samples (one ciphertext row).
//   X[g]  slot r·B + f·Hp + h = A[r][g·Ap + f] for every h   (G = ⌈D/Ap⌉ ciphertexts; D = d + 1)
//   Y     slot r·B + c·Hp     = Y[r][c]
//   W1[g] slot r·B + f·Hp + h = W1[h][g·Ap + f] for every r  (h < H; zero elsewhere)
//   W2    slot r·B + c·Hp + h = W2[c][h] for every r         (h ≤ H, c < C; zero elsewhere)
// The weights are B-periodic, so all of them refresh in one bootstrap (ml/refresh.h). Both matrix
// products of the forward pass and the two of the backward pass are slot-wise products of a
// replicated operand with the other followed by a rotate-and-sum over one axis of the block — the
// Volley Revolver idea (one factor replicated so that a slot-wise product lines up rows with
// columns) applied to both layers with one shared block geometry.
//
// One iteration t (weights W at level ℓ_w = the refresh's output level, scale Δ; γ the momentum;
// s = −2η_t/b the step, η_t = η/(1 + ρ·t); λ the weight decay):
//   0. V = (1 + γ)·W − γ·W_prev (exact-scale constant products)                    1 level (γ > 0)
//   1. Z1 = Σ_f (Σ_g X[g] ⊙ V1[g]) (one relinearisation, rescale; sum over the axis:
//      rotations Hp·2^i): slot r·B + h holds Z1[r][h]                              1 level
//   2. A1 = p1(Z1) masked to h < H, with 1 at h = H (the bias unit), D1 = p1'(Z1) masked to h < H,
//      both by slot-wise cubic (per-slot coefficient plaintexts carry the masks)      2 levels
//   3. A1 spread over the axis (rotations −Hp·2^i): slot r·B + c·Hp + h holds A1[r][h]
//   4. Z2 = Σ_h A1 ⊙ V2 (rescale; rotations 2^i): slot r·B + c·Hp holds Z2[r][c]    1 level
//   5. E = (p2(Z2) − Y)/2 masked to c < C, r < b (slot-wise cubic; quintic p2:
//      t⁴ = (t²)² and one level more, E at level ℓ_w − 8 = 0, --output-degree 5)      2 levels (3)
//   6. E is bootstrapped (full slots): level 0 → the bootstrap's output level L_b
//   7. E spread over h (rotations −2^i); ∇2 = Σ_r E ⊙ A1 (rotations B·2^i), times s   2 levels
//   8. δ = (Σ_c E ⊙ V2) ⊙ D1 (rotations Hp·2^i), spread over the axis (−Hp·2^i)    2 levels
//   9. ∇1[g] = Σ_r δ ⊙ X[g] (rotations B·2^i), times s                             2 levels
//  10. W_new = (1 − η_t·λ)·V + ∇ (the factor is an exact-scale constant product on V, whose
//      level ℓ_w − 1 (ℓ_w without momentum) is far above ∇'s: no level); {W_new, W} are refreshed together (one
//      bootstrap, ml/refresh.h)
// Level schedule: V at ℓ_w − 1, Z1 ℓ_w − 2, A1/D1 ℓ_w − 4, Z2 ℓ_w − 5, E ℓ_w − 7 (ℓ_w − 8 with a
// quintic p2; ≥ 0); after the bootstrap δ reaches ℓ_w − 5 (D1's level − 1), ∇1 ℓ_w − 7 ≥ 1 for the packing: ℓ_w ≥ 8
// (ℓ_w ≥ 7 without momentum, which drops step 0). bootstrap_preset_n16_sparse_secret: L_b = 9,
// ℓ_w = 8: the iteration uses every level, two bootstraps per iteration (E and the weights). A
// quintic p2 takes E's spare level (E at ℓ_w − 8 ≥ 0, bootstrapped from level 0 as before), so ℓ_w
// and the bootstraps are unchanged; a quintic p1 would lower A1, D1 and ∇1 by one level (∇1 at
// ℓ_w − 8 = 0, below the packing's 1) and is not offered by the encrypted run.
// Counts per iteration: ct×ct products 2G + 8 (2G + 10 with a quintic p2: t⁴ and a⁵·t⁵); rotations
//   4·log2 Ap + 2·log2 Hp + (G + 1)·log2 R, plus (G + 1)·(1 + [γ > 0])·log2 R to unpack the refresh.
//
// The four-layer network (NnLayout::hidden2 = H2 > 0; ml/nn/nn_plain.h: input → H1 → H2 → C). The
// same block geometry, the roles of the two block axes alternating from layer to layer so that no
// product needs a transpose (each layer reads its input along one axis and leaves its output along
// the other): Hp = bit_ceil(max(H1 + 1, C)), Ap = bit_ceil(max(H2 + 1, 4)), B = Hp·Ap (digits with
// H1 = H2 = 15: B = 256 as for three layers).
//   X[g], W1[g] as above (features along the axis, H1 units along h)
//   W1b   slot r·B + k·Hp + h = W1b[k][h] (k < H2 along the axis, h ≤ H1)
//   W2    slot r·B + k·Hp + c = W2[c][k]  (k ≤ H2 along the axis, c < C along h: W2 transposed)
//   Y     slot r·B + c        = Y[r][c]   (E, Z2 at h = c)
// Layer 1: Z1 = Σ_axis X ⊙ V1 at h; A1, D1 masked cubics; A1 spread over the axis. Layer 1b:
// Z1b = Σ_h A1 ⊙ V1b at slot k·Hp (the axis); t = Z1b/a1b masked to k < H2 (|t| ≤ 1) and
// BOOTSTRAPPED (the one added refresh: without it E would land two levels below 0); A1b = p1b(a1b·t)
// (bias 1 at k = H2) and D1b from t (the coefficients carry a1b^j), A1b spread over h. Layer 2:
// Z2 = Σ_axis A1b ⊙ V2 at h = c; E = (p2(Z2) − Y)/2 masked, bootstrapped. Backward: E spread over
// the axis; ∇2 = s·Σ_r E ⊙ A1b; δ1b = (Σ_h E ⊙ V2) ⊙ D1b at slot k·Hp, spread over h;
// ∇1b = s·Σ_r δ1b ⊙ A1; δ1 = (Σ_axis δ1b ⊙ V1b) ⊙ D1 at h, spread over the axis; ∇1[g] as above.
// Level schedule (ℓ_w = 8, L_b = 9, γ > 0, cubic p2; level_schedule(…, true) prints it): V 7, Z1 6,
// A1/D1 4, Z1b 3, t 2 → bootstrapped 9, A1b/D1b 7, Z2 6, E 4 (3 quintic) → bootstrapped 9,
// ∇2 5, δ1b 5, ∇1b 2, δ1 3, ∇1 1 ≥ 1 for the packing: ℓ_w ≥ 8 (7 without momentum) as for three
// layers, three bootstraps per iteration (t, E, the packed weights: 2(G + 2) ciphertexts).
// Counts per iteration: ct×ct products 2G + 14 (2G + 16 with a quintic p2); rotations
// 6·log2 Ap + 4·log2 Hp + (G + 2)·log2 R, plus (G + 2)·(1 + [γ > 0])·log2 R to unpack the refresh.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckks/bootstrapping.h"
#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ml/client_keys.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/nn/nn_plain.h"
#include "ml/refresh.h"

namespace ckks::ml {

struct NnLayout {
  std::size_t d = 0, classes = 0, hidden = 0;  ///< features (without the bias), C, H (H1 for four layers)
  std::size_t hidden2 = 0; ///< H2 of the four-layer network; 0: three layers
  std::size_t hp = 0;      ///< Hp = bit_ceil(H + 1) (four layers: bit_ceil(max(H1 + 1, C)))
  /// Ap = bit_ceil(max(C, 4)): features per group (layer 1), classes (layer 2); four layers:
  /// bit_ceil(max(H2 + 1, 4)), features (layer 1), second hidden units (layers 1b and 2).
  std::size_t axis = 0;
  std::size_t block = 0;   ///< B = Hp·Ap
  std::size_t slots = 0;   ///< S = N/2
  std::size_t groups = 0;  ///< G = ⌈(d + 1)/Ap⌉
  std::size_t batch = 0;   ///< b ≤ R
  std::size_t samples() const { return slots / block; }  ///< R
  bool four_layer() const { return hidden2 > 0; }
  /// Weight ciphertexts: W1[0 … G−1], W2, and W1b for four layers (G + 1 or G + 2).
  std::size_t weight_ciphertexts() const { return groups + (four_layer() ? 2 : 1); }
  /// r·B + a·Hp + h.
  std::size_t slot(std::size_t r, std::size_t a, std::size_t h) const { return r * block + a * hp + h; }
  /// The Galois keys of an iteration: ±Hp·2^i (2^i < Ap), ±2^i (2^i < Hp), B·2^i (2^i < R).
  std::vector<int> rotation_steps() const;
  /// ct×ct products and rotations of one iteration (file comment), refreshes excluded; p2 of degree
  /// `output_degree` (3 or 5).
  std::size_t products_per_iteration(int output_degree = 3) const {
    return 2 * groups + (four_layer() ? 14 : 8) + (output_degree == 5 ? 2 : 0);
  }
  /// Bootstraps of one iteration: E and the packed weights, and t = Z1b/a1b for four layers.
  int bootstraps_per_iteration() const { return four_layer() ? 3 : 2; }
  std::size_t rotations_per_iteration() const;
  /// Throws InputError if d, H or b is 0, or classes < 2; ParameterError if a block does not fit the
  /// slots or b > R ("a batch larger than the slots"), naming the numbers and the fix (--batch,
  /// --hidden). hidden2 > 0: the four-layer layout (file comment).
  static NnLayout make(std::size_t d, std::size_t classes, std::size_t hidden, std::size_t batch,
                       std::size_t max_slots, std::size_t hidden2 = 0);
};

struct EncryptedNnBatch {
  std::vector<Ciphertext> x;  ///< [g]
  Ciphertext y;
};

struct EncryptedNnWeights {
  std::vector<Ciphertext> w1;  ///< [g], B-periodic
  Ciphertext w2;
  Ciphertext w1b;              ///< the four-layer network's W1b (unused for three layers)
};

/// Packing without encryption (the layout's pack/unpack, tested as a round trip).
/// Slot vectors of W1[g] (g < G), W2 and (four layers) W1b, each S values. Throws InputError if the
/// shapes do not match the layout (W1 H × D, W2 C × (H + 1); four layers W1b H2 × (H1 + 1), W2
/// C × (H2 + 1)).
std::vector<std::vector<double>> nn_pack_weights(const NnWeights& w, const NnLayout& lay);
/// The weights from lay.weight_ciphertexts() slot vectors, averaged over the R blocks. Throws
/// InputError on a wrong count.
NnWeights nn_unpack_weights(const std::vector<std::vector<double>>& v, const NnLayout& lay);
/// Slot vectors of X[g] (G) and Y (last) for the batch `rows` of A, y. Throws InputError for a row
/// count other than the layout's batch, a row of the wrong width, or a label outside 0 … C−1.
std::vector<std::vector<double>> nn_pack_batch(const DenseMatrix& A, const std::vector<double>& y,
                                               const std::vector<std::size_t>& rows, const NnLayout& lay);

class NnDataOwner {
 public:
  /// Keys from the OS CSPRNG unless `test_seed` is set (INSECURE, deterministic: tests only).
  explicit NnDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  /// The owner of a saved run (`ckks-ml nn-train --resume`, ml/nn/nn_state.h): the secret key read
  /// back, a fresh public key from it; encryptions and the evaluation keys made later (relin_key,
  /// galois_keys, encapsulation_keys) use the operating system's randomness. Throws ParameterError if
  /// `sk` belongs to another Context.
  NnDataOwner(ContextPtr ctx, SecretKey sk);
  /// The batch's G + 1 ciphertexts at `level` (the bootstrap's output level). Throws as nn_pack_batch.
  EncryptedNnBatch encrypt_batch(const DenseMatrix& A, const std::vector<double>& y,
                                 const std::vector<std::size_t>& rows, const NnLayout& lay, int level);
  /// The initial weights at `level` (NnServer::weight_level). Throws as nn_pack_weights.
  EncryptedNnWeights encrypt_weights(const NnWeights& w, const NnLayout& lay, int level);
  /// Only the final weights are decrypted. Throws InputError if w.w1 has not G ciphertexts.
  NnWeights decrypt_weights(const EncryptedNnWeights& w, const NnLayout& lay);
  /// The S slot values of any ciphertext of the layout (the key owner's view, used by the tutorial to
  /// inspect the stages; the server never decrypts).
  std::vector<double> decrypt_slots(const Ciphertext& ct);
  RelinKey relin_key();
  /// The iteration's rotations plus the bootstrap's (plan from NnServer::refresh_plan): the
  /// bootstrap's keys for the whole chain, the iteration's own for levels ≤ plan.output_level, where
  /// every ciphertext of an iteration lives (galois_keys_with_bootstrap; at the 128-bit preset 2 digits
  /// of 15 limbs instead of 6 of 32).
  GaloisKeys galois_keys(const NnLayout& lay, const BootstrapPlan& plan);
  EncapsulationKeys encapsulation_keys(int hamming_weight);
  /// The secret key, for the owner's half of a saved run (nn_save_client_state); it never goes to
  /// the server.
  const SecretKey& secret_key() const { return keys_.sk; }

 private:
  std::pair<std::vector<Ciphertext>, Ciphertext> encrypt_vectors(const std::vector<std::vector<double>>& v, int level);
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// The forward pass of one iteration (NnServer::forward), every stage kept for the backward pass
/// and for inspection (tutorials/16_nn_training.cpp): slots as in the file comment.
struct NnForward {
  EncryptedNnWeights v;  ///< step 0: the look-ahead V (level ℓ_w − 1; W itself without momentum)
  Ciphertext z1;         ///< step 1: slot r·B + h holds Z1[r][h] (other slots: partial sums)
  Ciphertext a1;         ///< steps 2–3: A1[r][h] (h ≤ H, 1 at h = H) spread over the axis
  Ciphertext d1;         ///< step 2: p1'(Z1[r][h]) at slot r·B + h, h < H; zero elsewhere
  Ciphertext z2;         ///< step 4: slot r·B + c·Hp holds Z2[r][c]
  Ciphertext e;          ///< step 5: (p2(Z2) − Y)/2 at slot r·B + c·Hp (four layers: r·B + c), zero elsewhere
  /// Four layers only: Z1b (slot r·B + k·Hp), t = Z1b/a1b bootstrapped, A1b (k ≤ H2, 1 at k = H2)
  /// spread over h, D1b = p1b'(Z1b) at slot r·B + k·Hp (k < H2).
  Ciphertext z1b, t1b, a1b, d1b;
};

/// What the server's iterations cost.
struct NnRunStats {
  int iterations = 0;
  int bootstraps = 0;                 ///< E and weight refreshes
  double seconds_iterations = 0;      ///< all iterations, bootstraps included
  double seconds_bootstrap = 0;       ///< Bootstrapper::bootstrap alone (both kinds)
};

class NnServer {
 public:
  /// rk, gk (NnDataOwner::galois_keys(lay, refresh_plan(…))) and ek (when
  /// refresh.bootstrap.ephemeral_secret_weight > 0) are public. Throws what PeriodicRefresher's
  /// constructor throws; LevelError ("too few levels") if the refresh leaves fewer than
  /// levels_needed(momentum) levels, naming both and the fix; ParameterError if 2(G + 1) weight
  /// ciphertexts do not fit the R blocks of one packed bootstrap.
  /// `weight_decay` λ ≥ 0 and `eta_decay` ρ ≥ 0 (NnOptions): iteration t updates
  /// W ← (1 − η_t·λ)·V + s_t·∇ with η_t = η/(1 + ρ·t), s_t = −2η_t/b — plaintext constants, no level
  /// beyond the schedule's (the factor 1 − η_t·λ rides on V, which has levels to spare). InputError
  /// for a negative λ or ρ, η·λ ≥ 1, or act1 not cubic or act2 neither cubic nor quintic (the degrees
  /// the level schedule has room for). A four-layer layout needs `act1b` (p1b, cubic): InputError
  /// without it or for another degree.
  NnServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, EncapsulationKeys ek, const RefreshConfig& refresh,
           const NnLayout& lay, SigmoidPoly act1, SigmoidPoly act2, double eta, double momentum,
           double weight_decay = 0, double eta_decay = 0, std::optional<SigmoidPoly> act1b = std::nullopt);
  NnServer(const NnServer&) = delete;
  NnServer& operator=(const NnServer&) = delete;
  /// The full-slot bootstrap plan (count R of period B packs to n = S slots).
  static BootstrapPlan refresh_plan(const Context& ctx, const RefreshConfig& refresh, const NnLayout& lay);
  /// ℓ_w the weights need at the start of an iteration: 8 with momentum, 7 without.
  static int levels_needed(double momentum) { return momentum > 0 ? 8 : 7; }
  /// The level of every stage of an iteration for weights at ℓ_w, a bootstrap output L_b and p2 of
  /// degree `output_degree` (3 or 5: E one level lower), one line per stage (printed by the job
  /// before it runs); `four_layer`: the four-layer iteration's stages (file comment).
  static std::vector<std::string> level_schedule(int weight_level, int boot_level, double momentum,
                                                 int output_degree = 3, bool four_layer = false);
  /// ℓ_w: the refresh's output level (the level of the owner's initial weights).
  int weight_level() const { return refresher_->output_level(); }
  /// L_b: the level of the data and of the bootstrapped E.
  int data_level() const { return refresher_->bootstrapper().plan().output_level; }
  /// One iteration on `batch` from (w, w_prev) (pass w_prev = w at the first): returns W_new, and
  /// w_prev becomes the refreshed w. Both outputs are at weight_level(). Throws InputError for
  /// malformed ciphertexts (counts, levels below weight_level()/data_level()).
  EncryptedNnWeights step(const EncryptedNnWeights& w, EncryptedNnWeights& w_prev, const EncryptedNnBatch& batch);
  /// The stages step() runs, public so that a reader can stop after each (all throw as step()):
  /// steps 0–5 (E at level ℓ_w − 7, ℓ_w − 8 with a quintic p2, scale Δ); four layers: the stages
  /// of the file comment up to E (level ℓ_w − 4, one lower with a quintic p2), t = Z1b/a1b
  /// bootstrapped on the way (counted in stats()).
  NnForward forward(const EncryptedNnWeights& w, const EncryptedNnWeights& w_prev, const EncryptedNnBatch& batch);
  /// step 6: E dropped to level 0 and bootstrapped (full slots), level data_level(), scale Δ;
  Ciphertext bootstrap_error(const Ciphertext& e);
  /// steps 7–10 from the forward pass and the bootstrapped E: W_new = (1 − η_t·λ)·V + ∇ (levels
  /// ℓ_w − 7, ℓ_w − 6), t = iteration();
  EncryptedNnWeights backward(const NnForward& f, const Ciphertext& e, const EncryptedNnBatch& batch) const;
  /// the packed refresh of {W_new, W} (W_new alone without momentum): returns W_new at ℓ_w and sets
  /// w_prev to the refreshed W.
  EncryptedNnWeights refresh_weights(const EncryptedNnWeights& w_new, const EncryptedNnWeights& w,
                                     EncryptedNnWeights& w_prev);
  const NnRunStats& stats() const { return stats_; }
  /// t: the iterations completed so far (refresh_weights calls, by step() or by hand); the next
  /// backward() steps with η_t.
  int iteration() const { return t_; }
  /// Continues a saved run (ml/nn/nn_state.h): the next iteration is t (its step η_t), as if t
  /// iterations had run in this object; stats() still counts this object's work only. Throws
  /// InputError if t < 0.
  void resume_at(int t);

 private:
  Ciphertext mul(const Ciphertext& a, const Ciphertext& b) const;  // relinearised, rescaled, at the lower level
  Ciphertext bootstrap_full(const Ciphertext& x);  // x dropped to level 0, bootstrapped (full slots), counted
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  EncapsulationKeys ek_;
  NnLayout lay_;
  Encoder encoder_;
  Evaluator ev_;
  std::unique_ptr<PeriodicRefresher> refresher_;
  std::vector<double> a1_[6], d1_[6], e_[6];  // per-slot coefficients (masks included), step 2 and 5
  std::vector<double> zb_mask_, a1b_[6], d1b_[6];  // four layers: 1/a1b on the H2 units; p1b, p1b' in t
  int output_degree_ = 3;                      // p2's degree: 3 or 5
  double eta_, momentum_, weight_decay_, eta_decay_;
  int t_ = 0;
  NnRunStats stats_;
};

}  // namespace ckks::ml

// Logistic regression trained on encrypted data: Nesterov's accelerated gradient with the
// quadratic gradient [Chiang22QG] and a polynomial sigmoid, exactly the algorithm of
// ml/logreg/logreg_plain.h (logreg_nag_train) run on CKKS ciphertexts with the public ckks/ API.
//
// Layout (public): one B-slot block per sample, B = next power of two ≥ D = d + 1 (32 for the 30
// breast-cancer features + bias), R = next power of two ≥ n blocks, S = B·R slots (sparse packing).
// The data owner sends three ciphertexts:
//   x   A[r][j] in slot r·B + j (bias column included, zero padding),
//   xb  A[r][j]/B̄_jj in slot r·B + j — the quadratic-gradient preconditioner folded into the data
//       (the owner computes 1/B̄ anyway; folding it saves the level a separate ciphertext product
//       would cost on every iteration),
//   y   y_r in every slot of block r.
// Weights w are replicated: w_j in slot r·B + j of every block.
//
// One iteration t ≥ 1 (w_t at level ℓ), with v_t = (1 − γ_{t−1})w_t + γ_{t−1}w_{t−1}, c_t = 1 + η_t:
//   1. P = x ⊙ w_t                                       1 level (ciphertext product)
//   2. S_t = Σ_{k<B} rot(P, k)  (rotations 1, 2, …, B/2)  slot r·B holds (A w_t)_r
//   3. u = mask ⊙ ((1−γ)/8 · S_t + γ/8 · S_{t−1})         1 level: the mask keeps slot r·B, and the
//      NAG combination A v_t = (1−γ)A w_t + γ A w_{t−1} (S_{t−1} kept from the previous iteration)
//      and σ̃'s interval map x/8 are folded into the two mask plaintexts.
//   4. replicate u over its block (rotations −1, −2, …, −B/2)
//   5. e = c_t·y − c_t·σ̃(8u): the polynomial is evaluated on [−1, 1] with σ̃'s Chebyshev
//      coefficients times −c_t (PolynomialEvaluator; 2 levels for degree 3), c_t·y is computed
//      from the fresh y off the critical path
//   6. G' = Σ_r e ⊙ xb (rotations B·2^i)                  1 level; every block holds c_t·B̄⁻¹g(v_t)
//   7. w_{t+1} = v_t + G', with v_t computed off the critical path (constant products on w_t, w_{t−1}).
// Levels: 5 per iteration for degree 3 (3 + the sigmoid's levels), and 2 for the first iteration
// (w_0 = v_0 = 0, so σ̃(A v_0) = σ̃(0) is a constant): levels_needed(K) = 2 + 5(K − 1).
// Scales are managed so that w_t and G' always have exactly the default scale Δ: every constant or
// plaintext product is encoded at the scale that makes the following rescale land on the target.
//
// Training past one chain (LogregServer's refreshing constructor, ml/refresh.h): w_t and w_{t−1}
// are B-periodic, so they pack into one ciphertext of bit_ceil(2B) slots (64 for breast cancer),
// one bootstrap per refresh; S_{t−1} is recomputed from the refreshed w_{t−1} when the kept one
// sits below the level step 3 needs. The level budget is mlr's (ml/mlr/mlr_encrypted.h): with a
// bootstrap that outputs level 9, unpack 1 + iteration 5 + pack 1, one refresh per iteration after
// the first chain segment, the data encrypted at the bootstrap's output level; |w| ≤ M
// (RefreshConfig::bound) at every refresh.
#pragma once
#include <cstdint>
#include <memory>
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
#include "ckks/params.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/logreg/logreg_plain.h"
#include "ml/refresh.h"

namespace ckks::ml {

struct LogregLayout {
  std::size_t n = 0, d = 0;   ///< samples, features (without the bias)
  std::size_t block = 0;      ///< B: power of two ≥ d + 1
  std::size_t blocks = 0;     ///< R: power of two ≥ n
  std::size_t slots() const { return block * blocks; }
  /// ±2^i for 2^i < B (sums and replication inside a block), B·2^i < S (sum over samples).
  std::vector<int> rotation_steps() const;
  /// Throws InputError if n or d is 0; ParameterError if B·R > max_slots.
  static LogregLayout make(std::size_t n, std::size_t d, std::size_t max_slots);
};

struct EncryptedLogregData {
  LogregLayout layout;
  Ciphertext x, xb, y;  ///< see the file comment; level L, scale Δ
};

class LogregDataOwner {
 public:
  /// Keys from the OS CSPRNG unless `test_seed` is set (INSECURE, deterministic: tests only).
  explicit LogregDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  /// A = [X | 1] (n × D, bias last), y ∈ {0,1}^n. Throws InputError on bad shapes, non-finite
  /// values or labels other than 0/1; ParameterError if the layout does not fit the slots.
  /// `level` (−1: the top level L): the level of the data; for a refreshing server
  /// LogregServer::refresh_plan(…).output_level. Throws InputError for a level outside −1 … L.
  EncryptedLogregData encrypt(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                              double epsilon = 1e-8, int level = -1);
  RelinKey relin_key();
  GaloisKeys galois_keys(const LogregLayout& layout);
  /// The same plus the bootstrap's keys (plan.rotation_steps, the conjugation key):
  /// plan = LogregServer::refresh_plan(ctx, refresh, layout).
  GaloisKeys galois_keys(const LogregLayout& layout, const BootstrapPlan& plan) {
    return galois_keys_with_bootstrap(keys_, layout.rotation_steps(), plan);
  }
  /// KeyGenerator::encapsulation_keys(sk, h') for a refreshing server with h' > 0.
  EncapsulationKeys encapsulation_keys(int hamming_weight) { return keys_.keygen.encapsulation_keys(keys_.sk, hamming_weight); }
  /// Weights (length D), averaged over the R replicated copies.
  std::vector<double> decrypt_weights(const Ciphertext& w, const LogregLayout& layout);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// Step 7 of an iteration: w_{t+1} = v_t + G' with v_t = (1 − γ)·w_t + γ·w_{t−1} (w_prev null while
/// w_{t−1} = 0), the constant products landing exactly on the default scale Δ at w's level − 1;
/// v_t is dropped to G''s level. Shared with multiclass regression (ml/mlr/mlr_encrypted.h).
/// Precondition: w (and *w_prev) at scale Δ, G' at scale Δ and a level below w's.
/// Throws what Evaluator::multiply_const, rescale and add throw (LevelError at level 0).
Ciphertext nag_next_weights(const Evaluator& ev, const Context& ctx, const Ciphertext& w, const Ciphertext* w_prev,
                            const Ciphertext& g, double gamma);

class LogregServer {
 public:
  LogregServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk);
  /// A server that trains past one chain, refreshing w_t, w_{t−1} with one bootstrap when the
  /// levels run out (file comment). gk = LogregDataOwner::galois_keys(layout, refresh_plan(…)); ek
  /// from LogregDataOwner::encapsulation_keys when refresh.bootstrap.ephemeral_secret_weight > 0
  /// (else empty). Throws what PeriodicRefresher's constructor and check_budget throw.
  LogregServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const RefreshConfig& refresh, EncapsulationKeys ek,
               const LogregLayout& layout, int sigmoid_degree = 3);
  LogregServer(const LogregServer&) = delete;  // the refresher refers to the keys held here
  LogregServer& operator=(const LogregServer&) = delete;
  /// The bootstrap plan of a refresh for `layout` (2 ciphertexts of period B); the data owner encrypts
  /// the data at its output_level. Throws as Bootstrapper::plan.
  static BootstrapPlan refresh_plan(const Context& ctx, const RefreshConfig& refresh, const LogregLayout& layout);
  /// Refreshes done by the last train() call and their seconds (zero without refreshing).
  RefreshStats refresh_stats() const { return refresh_.last; }
  /// Levels per iteration after the first: 3 + the levels of σ̃ on [−1, 1] (5 for degree 3).
  static int levels_per_iteration(int sigmoid_degree);
  /// 2 + (K − 1)·levels_per_iteration.
  static int levels_needed(int iterations, int sigmoid_degree);
  /// The largest K with levels_needed(K) ≤ max_level (0 if not even one iteration fits).
  static int max_iterations(int max_level, int sigmoid_degree);
  /// Runs options.iterations iterations (options.epsilon is the owner's business and ignored
  /// here); returns the encrypted w_K at scale Δ. A refreshing server runs any number, refreshing
  /// before an iteration that does not fit (PeriodicRefresher::needed_before). Throws InputError if
  /// iterations < 1 or the degree is not 3/5/7 (or differs from the refreshing server's); LevelError
  /// if the data's level is below levels_needed (3 with refreshing), naming both numbers and the fix.
  Ciphertext train(const EncryptedLogregData& data, const LogregOptions& options,
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

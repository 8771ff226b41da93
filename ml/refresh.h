// Refreshing the encrypted state of a model trained past one modulus chain: the few ciphertexts an
// iteration hands to the next (the weights W_t and W_{t−1} of NAG) are packed into ONE sparse-slot
// ciphertext, bootstrapped once [BMTH21; BTH22] and unpacked. Public ckks/ API only; the server
// holds the Bootstrapper (relinearisation, Galois and encapsulation keys), never the secret key.
//
// Periodic ciphertexts. The models keep their weights replicated: a weight ciphertext of S slots
// holds the same B values (one block) in every block, so it is B-periodic. A B-periodic vector is
// unchanged by a rotation by any multiple of B, and an n-periodic S-slot vector is exactly an
// n-slot (sparse) message read with S slots: its plaintext polynomial lies in Z[X^{N/(2n)}]
// (encoder.h). So, for m ciphertexts a_0 … a_{m−1} of period B and n = bit_ceil(m·B):
//   pack:    p = Σ_j (1/M)·mask_j ⊙ a_j, mask_j = 1 on the slots i with ⌊(i mod n)/B⌋ = j
//            (one plaintext product and one rescale, no rotation; p is n-periodic),
//   refresh: p is dropped to level 0, read as an n-slot ciphertext and bootstrapped,
//   unpack:  a_j = sum_slots(M·mask_j ⊙ p, n/B, B): the mask keeps block j of every period, the
//            log2(n/B) rotations by B·2^i copy it to every block (one level, log2(n/B) rotations).
// Cost: 1 level before the bootstrap, 1 after, one bootstrap of n slots and m·log2(n/B) rotations,
// in place of m bootstraps of S slots. M (the bound) maps the weights into the bootstrap's
// documented input range |z| ≤ 1 (ckks/bootstrapping.h: the sine's curvature and the cosine's
// interval); the bootstrap's absolute error is multiplied by M on the way back.
//
// The Galois keys the unpacking needs, B·2^i for 2^i < n/B, are a subset of the ones the models
// already use to sum over their samples (B·2^i for 2^i < S/B) whenever n ≤ S.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "ckks/bootstrapping.h"
#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ml/client_keys.h"

namespace ckks::ml {

/// How a model refreshes its state: the bootstrap configuration (its `slots` is set by the model
/// to packed_slots(count, B)) and the bound M of the packed values.
struct RefreshConfig {
  BootstrapConfig bootstrap;
  /// M: the packed values are divided by M before the bootstrap and multiplied by M after; every
  /// refreshed value must satisfy |value| ≤ M (not checkable under encryption).
  double bound = 16;
};

/// What the refreshes of one training run cost.
struct RefreshStats {
  int bootstraps = 0;         ///< refreshes done (one bootstrap each)
  double seconds = 0;         ///< wall-clock seconds of pack + bootstrap + unpack, all refreshes
  double seconds_bootstrap = 0;  ///< of which Bootstrapper::bootstrap alone
};

/// Iterations a job with refreshing (ckks-ml mlr/logreg --bootstrap) runs when none are asked for.
inline constexpr int kBootstrapIterations = 8;

/// What a job reports about its refreshes (all zero when it trained within one chain).
struct RefreshReport {
  bool enabled = false;
  std::size_t slots = 0;      ///< n: slots of the packed ciphertext
  int output_level = 0;       ///< the bootstrap's output level (the data's level)
  double bound = 0;           ///< M
  double max_abs_weight = 0;  ///< max |weight| over the plaintext run's iterations (must be ≤ M)
  RefreshStats stats;         ///< bootstraps and seconds of the encrypted run
};

/// Throws InputError naming the numbers and the fix unless max_abs_weight ≤ bound: the job's check,
/// on the plaintext run of the same algorithm, that the refreshed weights stay in the bootstrap's
/// input range. `op` prefixes the message.
void check_refresh_bound(double max_abs_weight, double bound, int iterations, const char* op);

/// The Galois keys of a model that refreshes (client side: needs the secret key): its own rotation
/// `steps` and the bootstrap's (plan.rotation_steps, and the conjugation key when plan.conjugation),
/// each distinct step once. The bootstrap's keys switch at every level (its CoeffsToSlots runs at the
/// top of the chain); a step only the model uses gets a key for levels ≤ steps_max_level (−1: the
/// whole chain; KeyGenerator::galois_keys with max_level), the highest level the model rotates at —
/// for a model whose ciphertexts all live at or below plan.output_level, that level, and such a key
/// holds about (output_level + 1 + k)/(L + 1 + k) of the limbs in fewer digits. A rotation above it
/// throws LevelError naming both levels. Throws what KeyGenerator::galois_keys throws (ParameterError
/// unless −1 ≤ steps_max_level ≤ L).
GaloisKeys galois_keys_with_bootstrap(ClientKeys& keys, std::vector<int> steps, const BootstrapPlan& plan,
                                      int steps_max_level = -1);

/// a − b field by field: the refreshes of one run from a refresher's running totals.
inline RefreshStats operator-(const RefreshStats& a, const RefreshStats& b) {
  return {a.bootstraps - b.bootstraps, a.seconds - b.seconds, a.seconds_bootstrap - b.seconds_bootstrap};
}

/// n = bit_ceil(count·period), at least 2: the slots of the packed ciphertext.
/// Throws InputError if count or period is 0.
std::size_t packed_slots(std::size_t count, std::size_t period);

/// Packs, bootstraps and unpacks B-periodic ciphertexts (see the file comment).
class PeriodicRefresher {
 public:
  /// Levels spent by packing (before the bootstrap) and by unpacking (after it).
  static constexpr int kPackLevels = 1;
  static constexpr int kUnpackLevels = 1;

  /// `count` ciphertexts of `slots` slots (S), each `period`-periodic (B), refreshed together with
  /// cfg.bootstrap (its slots replaced by packed_slots(count, period)). rk, gk (which must hold
  /// Bootstrapper::plan's rotation steps, the conjugation key and B·2^i for 2^i < n/B) and ek (used
  /// when cfg.bootstrap.ephemeral_secret_weight > 0) are held by reference and must outlive this.
  /// Throws ParameterError if n > S (name both) or bound ≤ 0; what the Bootstrapper constructor
  /// throws (MissingKeyError for a missing Galois or encapsulation key, ParameterError for a chain
  /// that leaves no level).
  PeriodicRefresher(ContextPtr ctx, const RefreshConfig& cfg, const RelinKey& rk, const GaloisKeys& gk,
                    const EncapsulationKeys& ek, std::size_t count, std::size_t period, std::size_t slots);

  /// The bootstrap plan for `count` ciphertexts of period `period` (before any key exists): the
  /// data owner makes its Galois keys from plan.rotation_steps. Throws as Bootstrapper::plan.
  static BootstrapPlan plan(const Context& ctx, const RefreshConfig& cfg, std::size_t count, std::size_t period);

  /// The refreshed ciphertexts, in order: same slots S and period, level output_level(), scale
  /// exactly Δ (the default scale). Inputs: `count` ciphertexts (fewer are allowed: the missing ones
  /// are zero), S slots, scale Δ, level ≥ 1 (they are dropped to the lowest level among them).
  /// Throws InputError for more than `count` inputs, a wrong slot count or a level-0 input
  /// (naming the index); what Bootstrapper::bootstrap throws.
  std::vector<Ciphertext> refresh(const std::vector<const Ciphertext*>& cts) const;

  /// Whether a training loop must refresh its state (at `level`) before the next iteration, which
  /// costs `iteration_levels`: an iteration must fit, and unless it is the last one its output must
  /// keep the kPackLevels the next refresh spends. No errors.
  static bool needed_before(int level, int iteration_levels, bool last) {
    return level - iteration_levels < (last ? 0 : kPackLevels);
  }
  /// Throws ParameterError, naming `op` and the numbers, unless an iteration of `iteration_levels`
  /// and the next packing fit between two refreshes (output_level() − iteration_levels ≥ kPackLevels).
  void check_budget(int iteration_levels, const char* op) const;

  /// The level of refresh()'s outputs: the bootstrap's output level − kUnpackLevels.
  int output_level() const { return boot_->plan().output_level - kUnpackLevels; }
  std::size_t packed() const { return n_; }
  const Bootstrapper& bootstrapper() const { return *boot_; }
  const RefreshStats& stats() const { return stats_; }

 private:
  ContextPtr ctx_;
  RefreshConfig cfg_;
  const GaloisKeys* gk_;
  Encoder encoder_;
  Evaluator ev_;
  std::size_t count_, period_, slots_, n_;
  std::unique_ptr<Bootstrapper> boot_;
  mutable RefreshStats stats_;
};

/// The refreshing part of a training server (MlrServer, LogregServer): the encapsulation keys the
/// refresher refers to, the refresher, the sigmoid degree its level budget was checked for, and the
/// statistics of the server's last train() call.
struct TrainingRefresh {
  EncapsulationKeys ek;
  int sigmoid_degree = 0;
  std::unique_ptr<PeriodicRefresher> refresher;  ///< null: training within one chain
  mutable RefreshStats last;

  /// The levels a train() call must find in its data: `need` (levels_needed for the whole run)
  /// without refreshing; with it, iteration 0 (2 levels) and the packing before the first refresh
  /// (at most `need`). Throws InputError, prefixed by `op`, if a refreshing server gets a sigmoid
  /// degree other than the one its level budget was checked for.
  int levels_to_start(int need, int degree, const char* op) const;
};

}  // namespace ckks::ml

// The `ckks-ml nn-train` job: loads the data, runs the plaintext twin (which also fixes the
// activation intervals), makes the keys, encrypts the batches and the initial weights, trains on the
// server, decrypts the final weights and evaluates (ml/nn/nn_encrypted.h, ml/nn/nn_plain.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/bootstrapping.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/nn/nn_encrypted.h"
#include "ml/nn/nn_plain.h"

namespace ckks::ml {

struct NnJobOptions;

/// The recipe `ckks-ml nn-train` runs for the options its flags leave unset, per dataset (chosen in
/// the twin, docs/ml.md "The recipe"; momentum γ = 0.8, H = 15, b = 128 for both).
struct NnRecipe {
  std::string features;         ///< NnJobOptions::features
  double feature_scale = 0;     ///< f
  double eta = 0;               ///< η
  double weight_decay = 0;      ///< λ
  int epochs = 0;               ///< passes over the fixed batches
  std::size_t train_rows = 0;   ///< fashion-mnist-14: the first N training images (digits: all, 0 here)
  double eta_decay = 0;         ///< ρ of the 1/t schedule (NnOptions::eta_decay)
  int output_degree = 3;        ///< p2's degree (NnOptions::act2, refitted on the measured interval)
};

/// The default recipe of `--data` `data`: digits → ZCA-whitened features, f = 1, η = 1.5, λ = 0.01,
/// 4 epochs (44 iterations of b = 128 over the 1438 training rows), cubic p1 and p2; fashion-mnist-14
/// → whitened, f = 0.5, η = 1, λ = 0, ρ = 0.01, a quintic p2, 3 epochs over the first 16384 training
/// images (384 iterations). Throws InputError naming --data for any other name.
NnRecipe nn_default_recipe(const std::string& data);

/// Sets o.features, o.feature_scale, o.nn.eta, o.nn.weight_decay, o.nn.eta_decay, o.nn.epochs, the
/// degree of o.nn.act2 (a fit on its current interval) and (when r.train_rows > 0) o.train_rows to
/// `r`; the CLI then overrides each with the flag the user gave.
void apply_nn_recipe(NnJobOptions& o, const NnRecipe& r);

/// The most bytes of encrypted training batches the job keeps for a whole run: when the batches its
/// iterations use would take more (Fashion-MNIST's default: 128 batches × 14 ciphertexts × 10 MiB =
/// 17.5 GiB at the 128-bit parameters, beside ≈ 13 GiB of keys and work), the data owner encrypts
/// each batch in its own iteration and the server drops it after the step (NnReport::streamed_batches;
/// the same values, fresh encryption noise each epoch). 4 GiB: digits' 11 batches take 0.65 GiB.
inline constexpr std::size_t kStoredBatchBytes = std::size_t{4} << 30;

struct NnJobOptions {
  std::string data = "digits";  ///< digits | fashion-mnist-14
  std::string fashion_dir;       ///< empty: kDebianFashionMnistDir
  std::size_t train_rows = 16384; ///< fashion-mnist-14: the first N training images (digits: all)
  /// The data owner's preprocessing before encryption, on features x ∈ [0, 1] (pixels/16, block
  /// means/255): "centre" f·(x − μ), μ the training mean (nn_centre_features); "whiten" the ZCA
  /// whitening f·Σ_ε^{−1/2}(x − μ) of the training covariance Σ (nn_whiten_features); "raw" x as is.
  /// The member defaults are digits' recipe (nn_default_recipe("digits")); apply_nn_recipe sets
  /// another dataset's.
  std::string features = "whiten";
  double feature_scale = 1;        ///< f of "centre" and "whiten"
  double whiten_epsilon = 1e-3;    ///< ε of "whiten": Σ_ε = Σ + ε·I (in the units of x², x ∈ [0, 1])
  NnOptions nn;                  ///< hidden, batch, epochs, eta, momentum, seed (act1/act2 are measured)
  int max_iterations = 0;        ///< > 0: stop the encrypted run (and the twin) after this many
  BootstrapPreset boot = bootstrap_preset_n16_sparse_secret();
  double bound = 16;             ///< RefreshConfig::bound M
  std::optional<std::uint64_t> test_seed;  ///< INSECURE deterministic keys (tests only; a resume reads sk instead)
  std::string export_path;       ///< write data, init, batches for scripts/train_nn_torch.py (JSON)
  /// The key owner decrypts the weights every K iterations (and after the last) and reports the test
  /// accuracy beside the twin's on stderr through `checkpoint` (0: after every epoch, < 0: never).
  /// Only the owner decrypts; the server's iterations are unchanged.
  int checkpoint_every = 0;
  /// Bytes of encrypted batches kept for the whole run (above: each batch encrypted in its own
  /// iteration); kStoredBatchBytes unless a test forces the streamed path with 0.
  std::size_t stored_batch_bytes = kStoredBatchBytes;
  /// > 0: a wall-clock deadline (seconds since the Unix epoch): the server stops before an iteration
  /// that would end past it (by the mean iteration time so far) and every figure, the twin's
  /// included, is taken at the last iteration done (NnReport::stopped_early).
  double deadline = 0;
  bool plaintext_only = false;   ///< stop after the twin (and the export): no keys, no encryption
  /// Non-empty: save the run into this directory (ml/nn/nn_state.h) at the end of every epoch and
  /// when the run stops before the plan's end (the deadline or max_iterations). A fresh run refuses
  /// a directory that already holds a saved server state (InputError naming --resume).
  std::string state_dir;
  /// Non-empty: continue the run saved there (ml/nn/nn_state.h) from its iteration t; the options
  /// of nn_run_options must equal the saved ones. max_iterations then counts from iteration 0 (the
  /// total to reach, ≥ t). Saves go to state_dir, or back into resume_dir when state_dir is empty.
  std::string resume_dir;
};

struct NnReport {
  std::string dataset, scaling;
  std::size_t train_rows = 0, test_rows = 0, features = 0, classes = 0;
  NnLayout layout;
  SigmoidPoly act1, act2;
  SigmoidPoly act1b;          ///< p1b of the four-layer network (NnOptions::hidden2 > 0; unset otherwise)
  double visited_z1 = 0, visited_z2 = 0, max_abs_weight = 0;
  double visited_z1b = 0;     ///< four layers: max |Z1b| the twin visited
  int iterations = 0, weight_level = 0, data_level = 0;
  int planned_iterations = 0;  ///< epochs × batches (or --iterations)
  bool stopped_early = false;  ///< the deadline cut the run at `iterations`
  int resumed_from = 0;        ///< the saved iteration t a --resume run started at (0: a fresh run)
  int saved_iteration = -1;    ///< the iteration of the last state this run saved (−1: none)
  std::string state_dir;       ///< where it saved (empty: no --state / --resume)
  std::uintmax_t state_bytes_client = 0, state_bytes_server = 0;  ///< the saved files' sizes
  std::vector<std::string> schedule;
  Params params;
  double log_qp = 0;
  int security_bits = 0;
  std::size_t galois_keys = 0, uploaded_ciphertexts = 0;
  /// Key sizes in memory (limbs × N × 8 bytes): the Galois keys as made (the bootstrap's for the whole
  /// chain, the iteration's for its levels, NnDataOwner::galois_keys), the same keys if all were made for
  /// the whole chain, and the relinearisation key.
  double galois_bytes = 0, galois_bytes_whole_chain = 0, relin_bytes = 0;
  std::size_t batch_bytes = 0;    ///< one encrypted batch (G + 1 ciphertexts at the data level), bytes
  bool streamed_batches = false;  ///< true: each batch encrypted in its iteration (they exceed kStoredBatchBytes)
  double accuracy_encrypted = 0, accuracy_plaintext = 0, agreement = 0, max_weight_error = 0;
  NnRunStats stats;
  double seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_total = 0;
  double seconds_save = 0;    ///< writing the state (all saves of this process)
  double seconds_resume = 0;  ///< reading the state (secret key, weights), keygen from it excluded
  NnWeights weights_encrypted;  ///< the key owner's decryption of the final weights
};

/// Replaces every feature column j < d of A and A_test (the last column, the bias, is kept) by
/// factor·(x − μ_j), μ_j the mean of column j over A (the training rows). Throws InputError if A is
/// empty, its rows have no feature before the bias column, or a row of either matrix has another
/// width than A's first row.
void nn_centre_features(DenseMatrix& A, DenseMatrix& A_test, double factor);

/// ZCA whitening, the ZCA-Mahalanobis whitening W = Σ^{−1/2} of [Kessy18]: with μ the mean and
/// Σ = (1/n)·Σ_r (x_r − μ)(x_r − μ)ᵀ the covariance of the d feature columns of the training rows A
/// (the last column, the bias, is kept), Σ = U·diag(λ)·Uᵀ (Eigen 3's SelfAdjointEigenSolver: Householder
/// tridiagonalisation, then implicit symmetric QR steps with Wilkinson shift, as its header documents), every row x of
/// A and A_test becomes factor·U·diag(1/√(λ_i + ε))·Uᵀ·(x − μ). On A the features then have mean 0
/// and covariance factor²·U·diag(λ/(λ + ε))·Uᵀ (factor²·I for ε = 0), so gradient descent on W1 sees
/// a nearly round loss and the pre-activations Z1 = A·W1ᵀ stay small; among the whitenings ZCA keeps
/// each feature most similar to its pixel [Kessy18] (nothing is dropped or reordered: d features in, d out).
/// A data-owner step before encryption; the server's circuit is unchanged.
/// Throws InputError if A is empty, a row of either matrix has another width than A's first row,
/// factor is not finite and > 0, ε is not finite and ≥ 0, ε = 0 with a singular Σ (an eigenvalue
/// ≤ 10^−12·λ_max), naming the value and the flag (--feature-scale, --whiten-epsilon), or the eigensolver
/// does not converge (a non-finite feature).
void nn_whiten_features(DenseMatrix& A, DenseMatrix& A_test, double factor, double epsilon);

/// The rows a job trains and evaluates on: A = [features | 1] (bias last), labels 0 … classes − 1.
struct NnMatrices {
  DenseMatrix A, A_test;
  std::vector<double> y, y_test;
  std::size_t classes = 10;
};

/// The job on given matrices (no loading, no centring: the caller prepared them; o.data,
/// fashion_dir, train_rows, features, feature_scale and whiten_epsilon are not read): the twin with measured intervals, then (unless
/// o.plaintext_only) keys, encryption, the server's iterations, the owner's decryption and the
/// evaluation on A_test. `rep` carries the caller's dataset and scaling lines into the report
/// (before_encrypted prints them); its seconds_total counts this call only. Throws InputError for
/// empty matrices, training labels outside 0 … classes − 1 (or missing a class), a bound M ≤ 0
/// (--bound) or a quintic p1 (o.nn.act1.degree 5) without o.plaintext_only (--hidden-degree), all
/// before the twin runs, and what run_nn_job throws. With o.resume_dir: InputError for a missing or
/// corrupt state, options or fitted intervals other than the saved run's, --plaintext-only, or
/// max_iterations below the saved iteration; ParameterError for a state of other parameters. The
/// four-layer network (o.nn.hidden2 > 0) saves and resumes as well (W1b in the server's file, p1b's
/// interval in run.json and compared on resume); a state of the other depth is an InputError.
NnReport run_nn_on_matrices(const NnMatrices& d, const NnJobOptions& o, NnReport rep, const Progress& progress,
                            const std::function<void(const NnReport&)>& before_encrypted = {},
                            const std::function<void(int, double, double, double)>& checkpoint = {});

/// Runs the job: loads --data (digits or fashion-mnist-14), transforms it (o.features) and calls
/// run_nn_on_matrices. `before_encrypted` (if set) is called with the report, level schedule
/// included, before the encrypted run.
/// With o.resume_dir the saved run's options are checked (nn_check_run_options) before the data are
/// loaded. Throws InputError for a bad --data, missing data files, bad options; what the layout, the twin
/// and the server throw (batch larger than the slots, too few levels, weights above the bound M).
/// `checkpoint` (if set) receives (iteration, encrypted accuracy, plaintext accuracy, max weight error).
NnReport run_nn_job(const NnJobOptions& o, const Progress& progress,
                    const std::function<void(const NnReport&)>& before_encrypted = {},
                    const std::function<void(int, double, double, double)>& checkpoint = {});

}  // namespace ckks::ml

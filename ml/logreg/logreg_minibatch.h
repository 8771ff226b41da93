// Mini-batch logistic regression trained on encrypted data streamed from disk [Chiang24MB]: the
// recurrence of ml/logreg/logreg_minibatch_plain.h (quadratic gradient + NAG, polynomial sigmoid)
// on CKKS ciphertexts, with the public ckks/ API. The data owner encrypts the training set one
// chunk at a time and writes it with ckks/serialize.h (seeded secret-key ciphertexts: half the
// bytes); the server reads it back one chunk at a time, so neither side holds the encrypted data
// set in memory.
//
// Layout (public). D = d + 1 columns (bias last) are cut into G = ⌈D/k⌉ groups of k columns
// (k a power of two, MinibatchLayout::block); a ciphertext of S slots holds m = S/k samples of one
// group, feature g·k + f of sample i in slot i·k + f (zero where g·k + f ≥ D). A mini-batch of b
// rows is ⌈b/m⌉ chunks (zero rows pad the last), each chunk G ciphertexts of A and G of A·B̄⁻¹
// (the batch's quadratic-gradient preconditioner folded into the data, as ml/logreg/logreg_encrypted.h
// does), plus per batch G ciphertexts of B̄⁻¹Aᵀy replicated over the m samples. The weights are G
// ciphertexts with w_{g·k+f} in slot i·k + f of every sample i. A data matrix packed row by row
// into several ciphertexts is the idea of the "new encoding method" of [KSKLC18] (abstract; its
// exact packing was not read here); ours cuts the columns into groups and a batch into chunks, so
// that a batch is not bounded by the slots (a chunk is: m = S/k rows). The group width k trades
// the rotations inside a block (2·log k + log k per chunk) against those over the samples
// (G·log m per batch): k = 16 for 197 columns (G = 13).
//
// One iteration t ≥ 1 on batch j (w_t at level ℓ; γ = γ_{t−1}, c = 1 + η_t; cf. logreg_encrypted.h):
//   per chunk:
//   1. P = Σ_g x_g ⊙ w_{t,g}, one relinearisation and rescale     1 level
//      S_t = Σ_{f<k} rot(P, f) (rotations 1, …, k/2): slot i·k holds (A w_t)_i; the same for w_{t−1}
//      (the full-batch algorithm keeps S_{t−1} from the previous iteration; here the previous
//      iteration saw another batch, so A_j w_{t−1} is computed again: the rotations of step 1 twice)
//   2. u = mask ⊙ ((1−γ)/8·S_t + γ/8·S_{t−1}), rescale              1 level: slot i·k holds (A v_t)_i/8
//   3. replicate u over its block (rotations −1, …, −k/2)
//   4. e = −c·σ̃(8u) (PolynomialEvaluator on [−1, 1])              2 levels for degree 3
//   5. acc_g += e ⊙ xb_g (tensor products, no relinearisation)
//   per batch:
//   6. G'_g = Σ_{i<m} rot(relin(acc_g), i·k) rescaled + c·yb_g    1 level: c·B̄⁻¹Aᵀ(y − σ̃(A v_t))
//   7. w_{t+1} = v_t + G' with v_t = (1 − γ)w_t + γw_{t−1}          (nag_next_weights)
// Iteration 0 (v_0 = 0, σ̃(A v_0) = σ̃(0)): w_1 = c_0·yb − c_0·σ̃(0)·Σ_i xb_i, 1 level.
// Levels: 1 + 5(K − 1) for K iterations of degree 3 (MinibatchServer::levels_needed). The owner
// encrypts each batch's x and xb at the highest level an iteration reads them at (x: ℓ_t, xb and
// yb: ℓ_t − 4; iteration 0 reads xb and yb at L), so the files are no larger than needed.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ml/client_keys.h"
#include "ml/linreg/linreg_encrypted.h"  // Progress
#include "ml/logreg/logreg_minibatch_plain.h"

namespace ckks::ml {

struct MinibatchLayout {
  std::size_t d = 0;       ///< features without the bias (D = d + 1 columns)
  std::size_t block = 0;   ///< k: columns per group, a power of two
  std::size_t groups = 0;  ///< G = ⌈D/k⌉
  std::size_t slots = 0;   ///< S: slots of every ciphertext
  std::size_t samples() const { return slots / block; }  ///< m = S/k samples per chunk
  /// Chunks of a batch of b rows: ⌈b/m⌉.
  std::size_t chunks(std::size_t b) const { return (b + samples() - 1) / samples(); }
  /// ±2^i for 2^i < k (sums and replication inside a block), k·2^i < S (sums over the samples).
  std::vector<int> rotation_steps() const;
  /// Throws InputError if d = 0 or k is not a power of two; ParameterError if k ≥ slots (a block
  /// must leave room for two samples) or slots is not a power of two.
  static MinibatchLayout make(std::size_t d, std::size_t block, std::size_t slots);
};

/// The levels of a run (top level L of the chain, K iterations, degree-3 sigmoid: 5 per iteration).
struct MinibatchLevels {
  /// Level of w_t (t ≥ 1): L − 1 − per·(t − 1).
  static int weights(int top, int t, int per_iteration) { return top - 1 - per_iteration * (t - 1); }
  /// Level iteration t reads x at (t ≥ 1): that of w_t; −1 for t = 0 (x is not read).
  static int x(int top, int t, int per_iteration) { return t == 0 ? -1 : weights(top, t, per_iteration); }
  /// Level iteration t reads xb and yb at: L for t = 0, else ℓ_t − (per − 1).
  static int xb(int top, int t, int per_iteration) {
    return t == 0 ? top : weights(top, t, per_iteration) - (per_iteration - 1);
  }
};

/// A directory of encrypted mini-batches: batch j's chunk c in "b<j>_c<c>.x" and "b<j>_c<c>.xb"
/// (G ciphertexts each, one ckks/serialize.h bundle), B̄⁻¹Aᵀy in "b<j>.yb".
class MinibatchCache {
 public:
  /// Uses `dir` (created if missing) or, when empty, a new directory under the system temp
  /// directory that the destructor removes. `flag` names the option the directory came from in
  /// messages (e.g. "--cache"). Throws InputError naming `flag` and the directory if it cannot be
  /// created or a file cannot be written in it.
  explicit MinibatchCache(const std::string& dir, const std::string& flag = "cache directory");
  ~MinibatchCache();
  MinibatchCache(const MinibatchCache&) = delete;
  MinibatchCache& operator=(const MinibatchCache&) = delete;
  /// The directory the files are written to.
  const std::string& dir() const { return dir_; }
  /// "<dir>/b<batch>_c<chunk>.<kind>", kind "x" or "xb". No errors.
  std::string path(std::size_t batch, std::size_t chunk, const char* kind) const;
  /// "<dir>/b<batch>.yb". No errors.
  std::string yb_path(std::size_t batch) const;
  /// Writes the ciphertexts as one bundle (seeded where a seed is valid); returns the bytes written.
  /// Throws InputError (from write_file) if the file cannot be written.
  std::uint64_t write(const std::string& path, const std::vector<Ciphertext>& cts) const;
  /// Reads a bundle written by write. Throws InputError / ParameterError as deserialize_ciphertext.
  static std::vector<Ciphertext> read(const ContextPtr& ctx, const std::string& path);

 private:
  std::string dir_;
  bool owned_ = false;
};

/// One mini-batch as the server reads it: ⌈b/m⌉ chunks of G ciphertexts of x and of xb, and G
/// ciphertexts of yb (file comment). Implementations read from a MinibatchCache (CachedBatch) or
/// hold the ciphertexts in memory (tests, benchmarks).
class EncryptedBatch {
 public:
  virtual ~EncryptedBatch() = default;
  /// ⌈b/m⌉.
  virtual std::size_t chunks() const = 0;
  /// The G ciphertexts of A for chunk c (c < chunks()); throws InputError if they are missing.
  virtual std::vector<Ciphertext> x(std::size_t chunk) const = 0;
  /// The G ciphertexts of A·B̄⁻¹ for chunk c; throws InputError if they are missing.
  virtual std::vector<Ciphertext> xb(std::size_t chunk) const = 0;
  /// The G ciphertexts of B̄⁻¹Aᵀy replicated over the m rows.
  virtual std::vector<Ciphertext> yb() const = 0;
};

/// Batch `batch` of a MinibatchCache, read from disk on every call (nothing is kept). The cache must
/// outlive it. Reads throw what MinibatchCache::read throws (a missing file: InputError).
class CachedBatch : public EncryptedBatch {
 public:
  CachedBatch(ContextPtr ctx, const MinibatchCache& cache, std::size_t batch, std::size_t chunks)
      : ctx_(std::move(ctx)), cache_(cache), batch_(batch), chunks_(chunks) {}
  std::size_t chunks() const override { return chunks_; }
  std::vector<Ciphertext> x(std::size_t c) const override { return MinibatchCache::read(ctx_, cache_.path(batch_, c, "x")); }
  std::vector<Ciphertext> xb(std::size_t c) const override { return MinibatchCache::read(ctx_, cache_.path(batch_, c, "xb")); }
  std::vector<Ciphertext> yb() const override { return MinibatchCache::read(ctx_, cache_.yb_path(batch_)); }

 private:
  ContextPtr ctx_;
  const MinibatchCache& cache_;
  std::size_t batch_, chunks_;
};

/// A batch held in memory (MinibatchDataOwner::encrypt_batch). x and xb throw std::out_of_range
/// for a chunk it does not hold (x: none when the batch was encrypted without x).
struct InMemoryBatch : EncryptedBatch {
  std::vector<std::vector<Ciphertext>> xs, xbs;
  std::vector<Ciphertext> ybs;
  std::size_t chunks() const override { return xbs.size(); }
  std::vector<Ciphertext> x(std::size_t c) const override { return xs.at(c); }
  std::vector<Ciphertext> xb(std::size_t c) const override { return xbs.at(c); }
  std::vector<Ciphertext> yb() const override { return ybs; }
};

class MinibatchDataOwner {
 public:
  /// Keys from the OS CSPRNG unless `test_seed` is set (INSECURE, deterministic: tests only). The
  /// data are encrypted with the secret key, so every ciphertext is stored as one polynomial and
  /// the 32-byte seed of the other (ckks/serialize.h).
  MinibatchDataOwner(ContextPtr ctx, const MinibatchLayout& layout,
                     std::optional<std::uint64_t> test_seed = std::nullopt);
  /// The relinearisation key.
  RelinKey relin_key() { return keys_.keygen.relin_key(keys_.sk); }
  /// The Galois keys of MinibatchLayout::rotation_steps (18 for k = 16, m = 1024).
  GaloisKeys galois_keys() { return keys_.keygen.galois_keys(keys_.sk, layout_.rotation_steps()); }
  /// The G ciphertexts of rows [begin, end) of A (at most m rows), each column c multiplied by
  /// scale[c] when `scale` is given (A·B̄⁻¹ for xb), at `level` and scale Δ.
  /// Throws InputError if the range is empty, longer than m, outside A, or a row has not D values.
  std::vector<Ciphertext> encrypt_rows(const std::vector<std::vector<double>>& A, std::size_t begin, std::size_t end,
                                       const std::vector<double>* scale, int level);
  /// The G ciphertexts of a length-D vector v replicated over the m samples, at `level`, scale Δ.
  /// Throws InputError if v does not have D values.
  std::vector<Ciphertext> encrypt_replicated(const std::vector<double>& v, int level);
  /// B̄⁻¹Aᵀy over rows [begin, end) (length D) and B̄⁻¹ of those rows, as the file comment uses them.
  /// Throws InputError for an empty or out-of-range row range, labels not one per row, or what
  /// quadratic_gradient_preconditioner throws.
  static std::pair<std::vector<double>, std::vector<double>> batch_vectors(const std::vector<std::vector<double>>& A,
                                                                         const std::vector<double>& y,
                                                                         std::size_t begin, std::size_t end,
                                                                         double epsilon);
  /// Batch rows [begin, end) in memory (tests, benchmarks): x at x_level (none when −1), xb and yb
  /// at xb_level. Throws as batch_vectors and encrypt_rows.
  InMemoryBatch encrypt_batch(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                              std::size_t begin, std::size_t end, int x_level, int xb_level, double epsilon = 1e-8);
  /// The same written to `cache` as batch `batch`, one chunk at a time; returns the bytes written.
  /// Throws as encrypt_batch, and InputError if a file cannot be written.
  std::uint64_t write_batch(const MinibatchCache& cache, std::size_t batch, const std::vector<std::vector<double>>& A,
                            const std::vector<double>& y, std::size_t begin, std::size_t end, int x_level, int xb_level,
                            double epsilon = 1e-8);
  /// The weights (length D), each averaged over its m replicated copies. Throws InputError unless
  /// w holds G ciphertexts; what Decryptor::decrypt throws.
  std::vector<double> decrypt_weights(const std::vector<Ciphertext>& w);

 private:
  ContextPtr ctx_;
  MinibatchLayout layout_;
  ClientKeys keys_;
  Encryptor sk_encryptor_;
};

/// The server's state between iterations: w_t and w_{t−1} (G ciphertexts each; empty while 0).
struct MinibatchWeights {
  int t = 0;
  std::vector<Ciphertext> w, w_prev;
};

class MinibatchServer {
 public:
  /// The server holds only public material: rk, the Galois keys of layout.rotation_steps().
  MinibatchServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const MinibatchLayout& layout);
  /// 3 + the levels of σ̃ on [−1, 1] (5 for degree 3).
  static int levels_per_iteration(int sigmoid_degree);
  /// 1 + (K − 1)·levels_per_iteration.
  static int levels_needed(int iterations, int sigmoid_degree);
  /// The largest K with levels_needed(K) ≤ max_level (0 if none fits).
  static int max_iterations(int max_level, int sigmoid_degree);
  /// One iteration (file comment) on `batch`: state.t → state.t + 1. The batch's ciphertexts must
  /// sit at or above the levels MinibatchLevels gives for state.t with top = the Context's L, at
  /// scale Δ. Throws InputError for a degree other than 3/5/7, a batch with no chunks or the wrong
  /// number of ciphertexts per chunk; LevelError if w_t is too low for one more iteration or a
  /// ciphertext of the batch is below the level it is read at (naming both levels); ScaleError if
  /// the data are not at scale Δ.
  void step(MinibatchWeights& state, const EncryptedBatch& batch, const LogregOptions& options) const;
  /// Runs plan.iterations() steps, batch j(t) read from `cache` (written for `plan`); returns w_K.
  /// Throws LevelError naming K and levels_needed(K) when the chain is too short, else what step throws.
  std::vector<Ciphertext> train(const MinibatchCache& cache, const MinibatchPlan& plan, const LogregOptions& options,
                                const Progress& progress = {}) const;

 private:
  ContextPtr ctx_;
  RelinKey rk_;
  GaloisKeys gk_;
  MinibatchLayout layout_;
  Encoder encoder_;
  Evaluator ev_;
};

}  // namespace ckks::ml

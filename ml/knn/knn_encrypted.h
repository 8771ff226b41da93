// Encrypted k-nearest neighbours with squared distances computed homomorphically, in two modes,
// built only from the public ckks/ API. Plaintext reference: ml/knn/knn_plain.h.
//
// Setting. The server holds the labelled reference set in the clear (it is the "model"); the client
// holds the queries and the secret key. Both agree on a public feature unit u (the server's choice,
// e.g. the largest |x| of its references) so that the circuit works with x/u and q/u; distances
// come back in the units of the data (multiplied by u² on the client). The reference set is NOT
// encrypted in either mode.
//
// ---- Mode 1: decrypted distances (the key owner picks the neighbours, as [Boston-CKKS] does)
// Layout: one query per SLOT (CryptoNets' batching, as ml/mlp/mlp_encrypted.h): the client sends d + 1
// ciphertexts, ciphertext f holding feature f of query b in slot b, the last one ||q_b||² (the
// client appends the squared norm of its own query, so that the server's work is linear):
//     D_r = ||q||² − 2⟨x_r, q⟩ + ||x_r||²
// is, for every reference r, one plaintext-scalar weighted sum of the d + 1 ciphertexts (weights
// −2x_rf, encoded at scale q_ℓ, zero weights skipped), ONE rescale, and a constant. Output: one
// ciphertext per reference holding D_r(q_b) in slot b, at level ℓ − 1. Cost: d + 1 scalar
// products and additions per reference, no rotation, no relinearisation, 1 level.
// The client decrypts, and when every coordinate is an integer (e.g. Fashion-MNIST pixels in 0..255)
// rounds each distance to the nearest integer, which is exact when the CKKS error is below 1/2.
//
// ---- Mode 2: fully encrypted ranking (the server returns only an encrypted prediction)
// After Zuber & Sirdey [ZS21] (a matrix of all pairwise comparisons, row sums give each reference's
// rank, a second comparison keeps ranks < k), with the comparisons done by CKKS polynomials
// ([CKK20] composite sign). n references (a power of two, 4 ≤ n ≤ 64) against each query; the
// slots are cut into segments of T = n² slots, one query per segment, S/T queries per ciphertext;
// inside a segment slot i·n + j is "row i, column j". The client encrypts q/u in slots 0 … d−1 of its
// segment (d ≤ T). Steps (levels in brackets; all plaintext factors encoded at scale q_ℓ):
//  1. δ_i = (||x_i||² − 2⟨x_i, q⟩)/β in slot (0, i) of every segment, zero elsewhere: a
//     non-cyclic diagonal product (below) with the n × d matrix −2x/β, plus a constant.     [1]
//     β (public, the server's) bounds |D_i − D_j|, so δ_i − δ_j ∈ [−1, 1].
//  2. B(i, j) = δ_j: replicate row 0 down the rows (rotations −n·2^t, n·2^t < T).              [0]
//  3. U(i, j) = B(j, i) − B(i, j) = (D_i − D_j)/β: the diagonal product with (transpose − I),
//     diagonals t(n − 1), t ∈ (−n, n).                                                       [1]
//  4. C(i, j) = (1 + sign U)/2 ≈ [D_j < D_i]: sign ≈ f_3∘…∘f_3∘p_a, p_a the degree-D₁ Chebyshev
//     interpolant of tanh(a·x)/tanh(a) (a steep first step, log2(D₁+1) levels, D₁ = 255 by default)
//     followed by c₁ copies of [CKK20]'s f_3 (3 levels each); the affine map to the rank input is
//     folded into the last polynomial's coefficients.                              [8 + 3c₁]
//  5. Row sums (rotations 1, 2, …, n/2): slot (i, 0) holds rank_i = Σ_{j≠i} C(i, j) (C(i, i) = ½
//     is removed through the constant), mapped to v_i = (k − ½ − rank_i)/n ∈ (−1, 1).           [0]
//     Classifier only: keep column 0 (mask) and copy it to column 1 with the threshold 1 instead of k
//     (so the client can break vote ties by the nearest neighbour, as knn_vote does);
//     the other columns get −1.                                                            [1]
//  6. S = (1 + sign v)/2 ≈ [rank_i < k] with the same kind of polynomial (D₂ = 127, c₂ copies
//     of f_3).                                                                           [7 + 3c₂]
//  7. Regressor: S ⊙ ((y_i − ȳ)/k in slot (i, 0)), summed over the rows (rotations −n·2^t), plus ȳ
//     (the mean target of the n references): slot (n−1, 0) holds ȳ + Σ_i s_i·(y_i − ȳ)/k, which is
//     the mean of the selected targets when Σ s_i = k; centring makes a selection error e_i cost
//     e_i·|y_i − ȳ|/k instead of e_i·|y_i|/k.                                                   [1]
//     Classifier: spread columns 0/1 to every even/odd column (rotations −2, −4, …), multiply by
//     [y_i = c] in columns 2c and 2c + 1, sum over the rows: slot (n−1, 2c) holds the encrypted vote
//     count of class c, slot (n−1, 2c + 1) says whether the nearest neighbour is of class c.     [1]
// Levels: 2 + (8 + 3c₁) + (7 + 3c₂) + 1, plus 1 for the classifier (levels_needed()); with the
// defaults c₁ = 4, c₂ = 2: 36 (regressor) or 37 (classifier), which knn_ranking_params() holds.
//
// Non-cyclic diagonal product (steps 1 and 3). For a matrix M acting inside each segment, output
// slot s receives Σ_k diag_k[s]·x[s + k] with diag_k[s] = M[s][s + k] and 0 wherever s + k falls
// outside the matrix, so a GLOBAL rotation never mixes two segments (the entries that would read the
// neighbouring segment are zero). This is the diagonal method of [HS14, §4.3] without the
// cyclic wrap (Departure: MatrixVector in ckks/linear_transform.h needs a period-D replicated input,
// i.e. one query per ciphertext). Baby-step giant-step [HS18] with k = base + stride·(g·n₁ + b):
// the babies are computed one after the other with ONE key (stride), the giants by Horner's rule
// with ONE key (stride·n₁) — Departure from hoisting: at N = 2^16 a Galois key is hundreds of MB, so
// this trades the shared ModUp for three keys instead of ≈ 2√(#diagonals).
//
// Sources: [ZS21] M. Zuber, R. Sirdey, "Efficient homomorphic evaluation of k-NN classifiers",
// PoPETs 2021(2):111–129 (abstract checked: quadratic in the number of references, non-interactive;
// the row-sum / compare-with-k structure as this project lays it out (only their abstract was read);
// they use TFHE, we use CKKS polynomials). [CKK20] (f_n), [HS14], [HS18]: docs/references.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "ckks/approx.h"
#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ckks/params.h"
#include "ml/client_keys.h"
#include "ml/knn/knn_plain.h"

namespace ckks::ml {

// ------------------------------------------------------------------------------- mode 1

/// What the client sends in mode 1: one ciphertext per feature (slot b = q_b[f]/u) and one with
/// ||q_b/u||², all at the same level and scale Δ; `count` queries (≤ S).
struct EncryptedQueries {
  std::vector<Ciphertext> features;
  Ciphertext norm2;
  std::size_t count = 0;
};

/// Mode 1 server: squared distances from every query of a batch to every reference.
class KnnDistanceServer {
 public:
  /// `refs` (R × d, finite) in data units, `unit` u > 0 the public feature unit.
  /// Throws InputError for an empty or ragged reference set, a non-finite value or a bad unit.
  KnnDistanceServer(ContextPtr ctx, KnnMatrix refs, double unit);
  /// 1: one rescale after the weighted sums.
  static int levels_needed() { return 1; }
  /// One ciphertext per reference r: D_r(q_b)/u² in slot b, level ℓ − 1, scale Δ (exactly the input
  /// scale). Cost: (nonzero weights of r) + 1 scalar products per reference; no rotation.
  /// Throws InputError if the batch has a feature count ≠ d or ciphertexts at different levels;
  /// LevelError at level 0 (nothing to rescale by) naming the fix; ScaleError from the Evaluator if
  /// |partial sums|·Δ·q_ℓ reaches Q_ℓ (choose a larger unit).
  std::vector<Ciphertext> distances(const EncryptedQueries& q) const;
  std::size_t references() const { return refs_.size(); }
  std::size_t features() const { return d_; }

 private:
  ContextPtr ctx_;
  KnnMatrix refs_;  // divided by the unit
  std::vector<double> norms_;
  std::size_t d_ = 0;
  Evaluator ev_;
};

// ------------------------------------------------------------------------------- mode 2

/// Slot layout of mode 2 (see the file comment).
struct KnnRankLayout {
  std::size_t n = 0;      ///< references per query (power of two, 4..64)
  std::size_t d = 0;      ///< features (≤ n²)
  std::size_t slots = 0;  ///< S
  std::size_t segment() const { return n * n; }            ///< T = n²
  std::size_t queries_per_ciphertext() const { return slots / segment(); }
  /// Throws InputError unless n is a power of two in [4, 64] and 1 ≤ d ≤ n² (the message suggests
  /// --references ≥ √d); ParameterError if n² > slots.
  static KnnRankLayout make(std::size_t n, std::size_t d, std::size_t slots);
};

/// The comparison polynomials of mode 2.
/// The steep first step of each comparison is the degree-D interpolant of tanh(a·x)/tanh(a) with
/// a = D/4.5: the poles of tanh(a·x) at ±iπ/(2a) make the Chebyshev coefficients decay like
/// e^{−kπ/(2a)} [ATAP, ch. 8], so the interpolation error stays near e^{−4.5π/2} ≈ 10^{-3} for every D,
/// and each doubling of D (one more level) doubles the slope at 0 — a better rate than one more
/// f_3 (3 levels for a factor 35/16).
struct KnnRankOptions {
  std::size_t k = 5;
  KnnTask task = KnnTask::Regress;
  int steep_degree_distance = 255;  ///< degree of the steep step, distance comparisons (8 levels)
  int steep_degree_rank = 127;      ///< degree of the steep step, rank threshold (7 levels)
  int compositions_distance = 4;    ///< c₁: f_3 copies after the steep step, distance comparisons
  int compositions_rank = 2;        ///< c₂: f_3 copies after the steep step, rank threshold
};

/// The sign approximation used by mode 2: [p_a, f_3, …, f_3] (c copies of f_3), as Chebyshev
/// series on [−1, 1] to be evaluated one after the other. p_a interpolates tanh(a·x)/tanh(a),
/// a = degree/4.5, in degree+1 Chebyshev points (p_a(±1) = ±1); inputs must lie in [−1, 1]
/// (outside, the degree-`degree` interpolant grows without bound). Throws InputError for
/// degree < 3 or c < 0.
std::vector<ChebyshevSeries> knn_sign_stages(int degree, int compositions);

/// The parameters mode 2 uses by default: N = 2^16, q = {50, 36 × 37}, p = {60 × 6}, dnum = 5,
/// Δ = 2^36: 37 levels, log QP = 1742 ≤ 1747 (128-bit, [HESG24] row for 2^16). Five digits keep a
/// Galois key near 220 MB (the n16 preset's 20 digits make it ≈ 860 MB), and mode 2 needs ≈ 15–20
/// keys. 36-bit primes are enough: the comparisons are self-correcting and the linear steps need
/// ≈ 2^-15 relative precision.
Params knn_ranking_params();

/// Mode 2 server. Holds the n references (plaintext), their targets, the public unit u and the
/// public distance bound β.
class KnnRankServer {
 public:
  /// refs: exactly layout.n rows of layout.d features (data units); targets one per row (for
  /// Classify, integer labels 0 … C−1 with 2·next_pow2(C) ≤ n, so that every class gets two columns).
  /// beta: the public bound on |D_i − D_j| in data units (inputs of the steep step must stay in
  /// [−1, 1]; the job takes 1.25 × the largest spread max_i D_i − min_i D_i over its training rows).
  /// Throws InputError for bad shapes/values, k outside [1, n], a bad unit or beta, too many classes;
  /// the polynomial options' errors (knn_sign_stages).
  KnnRankServer(ContextPtr ctx, const KnnRankLayout& layout, KnnMatrix refs, std::vector<double> targets,
                double unit, double beta, KnnRankOptions options);
  /// Levels predict() consumes (file comment).
  int levels_needed() const;
  /// Every rotation step predict() uses (give them to KeyGenerator::galois_keys).
  std::vector<int> rotation_steps() const;
  /// Number of classes the vote vector holds (Classify), 0 for Regress.
  std::size_t classes() const { return classes_; }
  /// The encrypted prediction for every query of the ciphertext (layout above). Output level
  /// ct.level − levels_needed(). Throws LevelError if ct.level < levels_needed() (naming both),
  /// InputError if ct.slots ≠ layout.slots; MissingKeyError from the Evaluator if a key is missing.
  Ciphertext predict(const Ciphertext& queries, const RelinKey& rk, const GaloisKeys& gk) const;
  const KnnRankLayout& layout() const { return lay_; }

 private:
  struct DiagProduct;
  Ciphertext diag_product(const DiagProduct& dp, const Ciphertext& x, const GaloisKeys& gk) const;
  DiagProduct make_distance_product() const;
  DiagProduct make_transpose_product() const;
  ContextPtr ctx_;
  KnnRankLayout lay_;
  KnnMatrix refs_;  // divided by the unit
  std::vector<double> targets_;  // centred by offset_ for Regress
  double offset_ = 0;
  double beta_;
  KnnRankOptions opt_;
  std::size_t classes_ = 0;
  std::vector<ChebyshevSeries> cmp1_, cmp2_;
  Encoder enc_;
  Evaluator ev_;
};

/// The data owner / querier: keys and the client-side encoding and decoding of both modes.
class KnnClient {
 public:
  /// Keys from the OS CSPRNG unless `test_seed` is set (INSECURE, deterministic: tests only).
  explicit KnnClient(ContextPtr ctx, std::optional<std::uint64_t> test_seed = std::nullopt);
  RelinKey relin_key();
  GaloisKeys galois_keys(const std::vector<int>& steps);

  /// Mode 1: encrypt up to S queries (q/u per feature, and ||q/u||²) at `level`.
  /// Throws InputError for no queries, more than S, ragged or non-finite queries, a bad unit;
  /// LevelError if level is outside [1, L].
  EncryptedQueries encrypt_queries(const KnnMatrix& queries, double unit, int level);
  /// Mode 1: distances[b][r] = D_r(q_b) in data units (× u²), rounded to integers when
  /// `integer_data` (exact if the CKKS error is < ½). Throws InputError if count exceeds the slots.
  KnnMatrix decrypt_distances(const std::vector<Ciphertext>& d, std::size_t count, double unit, bool integer_data);

  /// Mode 2: encrypt up to queries_per_ciphertext() queries, q/u in slots 0..d−1 of segment b.
  /// Throws InputError for a wrong count or feature number, non-finite values; LevelError if level
  /// is outside [1, L].
  Ciphertext encrypt_segments(const KnnMatrix& queries, const KnnRankLayout& layout, double unit, int level);
  /// Mode 2, regressor: the prediction of each of the first `count` segments.
  std::vector<double> decode_regression(const Ciphertext& out, const KnnRankLayout& layout, std::size_t count);
  /// Mode 2, classifier: votes[b][c] (≈ vote counts) and nearest[b][c] (≈ 1 for the nearest
  /// neighbour's class) for the first `count` segments.
  void decode_votes(const Ciphertext& out, const KnnRankLayout& layout, std::size_t count, std::size_t classes,
                    KnnMatrix& votes, KnnMatrix& nearest);

 private:
  ContextPtr ctx_;
  ClientKeys keys_;
};

/// The class the client reads from an encrypted vote vector: the largest vote, and among classes
/// whose vote is within 0.5 of it (a tie, as the counts are integers) the one with the largest
/// `nearest` value — the same rule as knn_vote. Throws InputError for empty or mismatched vectors.
int decide_vote(const std::vector<double>& votes, const std::vector<double>& nearest);

}  // namespace ckks::ml

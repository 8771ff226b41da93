// Linear algebra on the slots: sums of slots in log steps, replication, matrix–vector products by
// the diagonal method with baby-step giant-step and hoisted rotations, and the Volley Revolver
// encoding for matrix products. Each function reports the rotations, key switches and levels it
// used (TransformCost), and each lists the rotation steps it needs so that callers generate exactly
// those Galois keys.
//
// Conventions shared by every function here:
//  * S is the slot count of the ciphertext (ct.slots, a power of two ≤ N/2). Rotations act
//    cyclically on those S slots; with sparse packing (S < N/2) that is the native behaviour.
//  * A rotation "by k" is Evaluator::rotate(ct, k): slot i receives slot i + k (mod S). Every step
//    listed by a *_steps() or rotation_steps() function is a left rotation in [1, S); give the list to
//    KeyGenerator::galois_keys. A missing key is reported before any work starts, as a
//    MissingKeyError naming every missing step.
//  * Plaintext factors (diagonals, masks) are encoded at scale q_ℓ, the prime the following rescale
//    divides by, so that rescaling returns exactly to the input scale (as Evaluator::multiply_const).
//
// Sources (see docs/references.md):
//  [HS14] Halevi, Shoup, "Algorithms in HElib", CRYPTO 2014, eprint 2014/106: §4.1 "Running- and
//         Total Sums", §4.2 "Replication", §4.3 "Matrix/Vector Multiplication" (the diagonal method).
//  [HS18] Halevi, Shoup, "Faster Homomorphic Linear Transformations in HElib", CRYPTO 2018, eprint
//         2018/244: baby-step giant-step evaluation of the diagonal method; hoisted rotations.
//  [Chiang22] J. Chiang, "Volley Revolver: A Novel Matrix-Encoding Method for Privacy-Preserving
//         Neural Networks (Inference)", arXiv 2201.12577.
//  [Chiang23] J. Chiang, "Privacy-Preserving CNN Training with Transfer Learning: Multiclass Logistic
//         Regression", arXiv 2304.03807, §3.4 "Double Volley Revolver" and Figure 2 (numbers as in the
//         anonymised version of the text that was read; other versions may differ).
//  The [HS14] section titles were read from a copy of its table of contents (not the sections' text);
//  [HS18] and [Chiang22] section numbers were not checked (see docs/references.md).
#pragma once
#include <complex>
#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"

namespace ckks {

/// What a transform spent. Every function adds its own counts to the TransformCost it is given
/// (so one struct can total a pipeline); pass nullptr to ignore them.
struct TransformCost {
  int rotations = 0;     ///< Galois automorphisms with key switching (hoisted ones included)
  int key_switches = 0;  ///< rotations + relinearisations
  int levels = 0;        ///< levels consumed: input level − output level
  TransformCost& operator+=(const TransformCost& o) {
    rotations += o.rotations;
    key_switches += o.key_switches;
    levels += o.levels;
    return *this;
  }
};

using ComplexMatrix = std::vector<std::vector<std::complex<double>>>;
using RealMatrix = std::vector<std::vector<double>>;

// ---------------------------------------------------------------------------------------------
// Sums and replication
// ---------------------------------------------------------------------------------------------

/// The rotation steps sum_slots(…, n, stride) uses: stride·2^t for t = 0 … log2(n) − 1.
/// Throws InputError if n is not a power of two (n ≥ 1) or stride is 0.
std::vector<int> sum_slots_steps(std::size_t n, std::size_t stride = 1);

/// Every slot i receives Σ_{k<n} x[i + k·stride] (indices mod S), by log2(n) rotate-and-add steps
/// y ← y + rot(y, stride·2^t) [HS14, §4.1, "total sums"]. With stride = 1 and n = S every slot holds
/// the total; with stride = b and n = S/b every slot holds the sum of its column when the slots are
/// read as S/b rows of b (the "sum of strided blocks"); with stride = 1, n = b < S slot i holds the
/// sum of the window x[i … i+b−1].
/// Cost: log2(n) rotations, 0 levels; level, scale and slot count unchanged.
/// Throws InputError if n is not a power of two, stride is 0, or n·stride > S; MissingKeyError if a
/// key for sum_slots_steps(n, stride) is missing; the Evaluator's errors for a bad ciphertext.
Ciphertext sum_slots(const Evaluator& ev, const Ciphertext& ct, const GaloisKeys& gk, std::size_t n,
                     std::size_t stride = 1, TransformCost* cost = nullptr);

/// The rotation steps replicate(…, block) uses on S slots: block·2^t for block·2^t < S.
/// Throws InputError unless block and S are powers of two with block ≤ S.
std::vector<int> replicate_steps(std::size_t block, std::size_t slots);

/// Fill all S slots with copies of the first `block` slots: slot i receives x[i mod block].
/// Precondition: slots block … S−1 hold zero (if they may not, call keep_first first). Then the
/// result is exactly sum_slots(ct, S/block, block): the zero-padded copies shifted by every multiple
/// of `block` add up to the periodic vector (cf. replication in [HS14, §4.2], which copies one slot).
/// Cost: log2(S/block) rotations, 0 levels.
/// Throws InputError unless block is a power of two ≤ S; MissingKeyError as sum_slots.
Ciphertext replicate(const Evaluator& ev, const Ciphertext& ct, const GaloisKeys& gk, std::size_t block,
                     TransformCost* cost = nullptr);

/// Keep slots 0 … count−1 and zero the others: multiply by the 0/1 mask encoded at scale q_ℓ, then
/// rescale. Cost: 1 level (output level ℓ − 1, scale exactly the input scale), 0 rotations.
/// Throws InputError unless 1 ≤ count ≤ S; LevelError at level 0 (nothing left to rescale by);
/// ParameterError if the Encoder belongs to another Context.
Ciphertext keep_first(const Evaluator& ev, const Encoder& enc, const Ciphertext& ct, std::size_t count,
                      TransformCost* cost = nullptr);

// ---------------------------------------------------------------------------------------------
// Matrix–vector product: diagonal method, baby-step giant-step, hoisted baby steps
// ---------------------------------------------------------------------------------------------

/// A plaintext matrix M (rows × cols) prepared for products M·v with an encrypted vector v.
///
/// Layout. Let D be the smallest power of two ≥ max(rows, cols) (the "period"; D ≤ S). M is padded
/// with zeros to D × D. The input ciphertext must hold v with period D: slot s holds v[s mod D],
/// where v is padded with zeros from cols to D (pack() builds that vector; a ciphertext with v in its
/// first D slots and zeros after can be brought to this form by replicate(ct, D)). Because the
/// data repeat every D slots, a rotation of the S slots is a rotation mod D of v. The output has the
/// same layout: slot s holds (M·v)[s mod D] (zero for rows ≤ s mod D < D), so products chain.
/// With sparse packing S = D no replication is needed at all.
///
/// Method [HS14, §4.3]: M·v = Σ_{k<D} diag_k ⊙ rot(v, k) with diag_k[i] = M[i][(i + k) mod D].
/// Baby-step giant-step [HS18]: with k = g·n1 + b (b < n1, g < n2 = ⌈D/n1⌉),
///   M·v = Σ_g rot( Σ_b rot(diag_{g·n1+b}, −g·n1) ⊙ rot(v, b), g·n1 ),
/// the diagonals being rotated in the clear when they are encoded. The n1 − 1 baby-step rotations
/// of v share one digit decomposition and ModUp (Evaluator::rotate_hoisted). The products and giant
/// steps stay at the input level and are added up before a single rescale.
/// Diagonals that are entirely zero are skipped (with their rotations, when no other diagonal uses
/// them); diagonal 0 is always kept.
class MatrixVector {
 public:
  /// Encode the diagonals of M for ciphertexts at `level` with `slots` slots (0 = N/2), at scale
  /// q_level. baby_steps = n1 (0: the smallest power of two ≥ √D).
  /// Throws InputError if M is empty or ragged, has a NaN or infinite entry (naming it), D > S, or
  /// baby_steps > D; LevelError if level is 0 (the product needs one rescale) or above L;
  /// ParameterError for a bad slot count (from the Encoder).
  MatrixVector(const Encoder& enc, const ComplexMatrix& m, int level, std::size_t slots = 0,
               std::size_t baby_steps = 0);
  MatrixVector(const Encoder& enc, const RealMatrix& m, int level, std::size_t slots = 0,
               std::size_t baby_steps = 0);

  /// M·v, laid out as described above. Input: level() and slots() as given at construction, any
  /// scale Δ, 2 components. Output: level − 1, scale exactly Δ.
  /// Cost: (n1 − 1) + (n2 − 1) rotations when every diagonal is non-zero (rotations() gives the
  /// exact count), 1 level, 0 relinearisations.
  /// Throws LevelError if ct.level ≠ level(); InputError if ct.slots ≠ slots() or ct has 3
  /// components; MissingKeyError (listing the steps) if a key for rotation_steps() is missing;
  /// the Evaluator's errors otherwise.
  Ciphertext apply(const Evaluator& ev, const Ciphertext& v, const GaloisKeys& gk,
                   TransformCost* cost = nullptr) const;

  /// The Galois keys apply() needs: baby steps b (1 ≤ b < n1) and giant steps g·n1 (g ≥ 1) that
  /// some non-zero diagonal uses.
  std::vector<int> rotation_steps() const;
  /// Rotations one apply() performs (= rotation_steps().size()).
  int rotations() const { return static_cast<int>(rotation_steps().size()); }

  /// The S-slot input vector for v (at most cols values): slot s = v[s mod D], 0 past v's end.
  /// Throws InputError if v has more than cols values.
  std::vector<std::complex<double>> pack(std::span<const std::complex<double>> v) const;
  std::vector<double> pack(std::span<const double> v) const;

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t period() const { return d_; }       ///< D
  std::size_t slots() const { return slots_; }    ///< S
  int level() const { return level_; }
  std::size_t baby_steps() const { return n1_; }  ///< n1
  std::size_t giant_steps() const { return n2_; } ///< n2
  std::size_t diagonals() const { return diags_.size(); }  ///< encoded (non-zero) diagonals

 private:
  struct Diagonal {
    std::size_t giant, baby;  // k = giant·n1 + baby
    Plaintext pt;             // rot(diag_k, −giant·n1), period D over S slots
  };
  ContextPtr ctx_;
  std::size_t rows_ = 0, cols_ = 0, d_ = 0, slots_ = 0, n1_ = 1, n2_ = 1;
  int level_ = 0;
  std::vector<Diagonal> diags_;  // sorted by (giant, baby)
};

// ---------------------------------------------------------------------------------------------
// Matrix product: Volley Revolver
// ---------------------------------------------------------------------------------------------

/// C = A·B for A (m × n), encrypted, and B (n × p), encrypted or plaintext, with the Volley Revolver
/// encoding [Chiang22; Chiang23, §3.4]: A is encoded row by row and B is transposed, so that row i
/// of A and column j of B lie in the same kind of slot row and one slot-wise product followed by a
/// sum along the row gives C[i][j]; rotating ("revolving") the transposed B by whole rows brings
/// every column of B past every row of A.
///
/// Layout. The S slots are read as R = S/D slot-rows of D slots (D = row_stride(), a power of two
/// ≥ max(n, p)).
///   A:  slot i·D + j holds A[i][j] (i < m, j < n); every other slot 0.            (encode_a)
///   B̄:  slot k·D + j holds B[j][k mod p] for every slot-row k < R and j < n: the rows of Bᵀ,
///       repeated down all R slot-rows; other slots 0.                            (encode_b)
///   C:  slot i·D + j holds C[i][j] (i < m, j < p); every other slot ≈ 0, i.e. the same layout as A
///       with p columns, so a product can feed the next one built with the same row stride.
///
/// Algorithm, for r = 0 … p−1:
///   1. B_r = rot(B̄, r·D): slot-row i now holds column (i + r) mod p of B (hoisted rotations when B
///      is encrypted; computed in the clear when B is a plaintext).
///   2. T = A ⊙ B_r, rescale.                                                        (1 level)
///   3. Row sums: T ← T + rot(T, 2^t) for 2^t < n' = 2^⌈log2 n⌉; slot i·D now holds C[i][(i+r) mod p].
///   4. Keep slot i·D of each row (mask), rescale.                                   (1 level)
///   5. Spread it along the row: T ← T + rot(T, −2^t) for 2^t < p' = 2^⌈log2 p⌉.
///   6. Keep slot i·D + (i + r) mod p of each row (mask) and add to the result; one rescale after
///      the last r.                                                                  (1 level)
/// Cost: p·(log2 n' + log2 p') rotations, plus p − 1 hoisted rotations of B̄ when B is encrypted;
/// p relinearisations when B is encrypted; 3 levels.
/// Requirements: m ≤ R, and either m + p − 1 ≤ R (the rotated rows never wrap around) or p divides R
/// (the wrap lands on the right column because B̄ repeats with period p).
///
/// Provenance. The encodings (A row-wise; B transposed and padded) come from [Chiang22] and
/// [Chiang23, §3.4], which states that the second matrix is transposed before encryption and draws
/// the 4×2 · 2×2 case in its Figure 2. The step sequence 1–6 follows the author's own code for a
/// dense layer (VolleyRevolverEncoding::MyDense in github.com/petitioner/HE.CNNinfer), which rotates
/// the weight ciphertext by whole rows, multiplies, sums each row in ⌈log2⌉ rotations, masks the first
/// slot, spreads it over the row and masks the target column. Two choices here differ: that code pads
/// Bᵀ with zero rows and revolves through all R slot-rows, whereas B̄ here repeats the rows of Bᵀ with
/// period p (the index map b_{k mod n, ⌊k/n⌋ mod p} attributed to Chiang's follow-up, arXiv
/// 2512.18646, by a third-party summary), so p revolutions suffice; and step 5 spreads over p'
/// columns instead of the whole row of D. The paper texts' own algorithm listings were not read.
class VolleyRevolver {
 public:
  /// Prepare the masks for ciphertexts at `level` with `slots` slots (0 = N/2); row_stride = D
  /// (0: the smallest power of two ≥ max(n, p)).
  /// Throws InputError if a dimension is 0, row_stride is not a power of two ≥ max(n, p), D > S,
  /// m > R, or neither m + p − 1 ≤ R nor p | R; LevelError if level < 3 (the product, the row mask
  /// and the column mask each rescale once) or level > L; ParameterError for a bad slot count.
  VolleyRevolver(const Encoder& enc, std::size_t m, std::size_t n, std::size_t p, int level,
                 std::size_t slots = 0, std::size_t row_stride = 0);

  /// The slot vectors of A (m × n) and B̄ (from B, n × p), to encode and encrypt at level() with
  /// slots() slots. Throw InputError for a wrong shape (naming it), a ragged matrix, or a NaN or
  /// infinite entry.
  std::vector<std::complex<double>> encode_a(const ComplexMatrix& a) const;
  std::vector<std::complex<double>> encode_a(const RealMatrix& a) const;
  std::vector<std::complex<double>> encode_b(const ComplexMatrix& b) const;
  std::vector<std::complex<double>> encode_b(const RealMatrix& b) const;
  /// Read C (m × p) from decrypted slots. Throws InputError unless z has slots() values.
  ComplexMatrix decode_c(std::span<const std::complex<double>> z) const;

  /// Encrypted × encrypted: a = Enc(encode_a(A)), b_bar = Enc(encode_b(B)), both at level() with
  /// slots() slots and 2 components. Output at level() − 3, scale Δ_a·Δ_b / q_level.
  /// Throws LevelError if a level differs from level(); InputError for a wrong slot count;
  /// MissingKeyError (listing the steps) if a key for rotation_steps(true) is missing; the
  /// Evaluator's errors (e.g. ScaleError if Δ_a·Δ_b does not fit below Q_level).
  Ciphertext multiply(const Evaluator& ev, const Ciphertext& a, const Ciphertext& b_bar, const RelinKey& rk,
                      const GaloisKeys& gk, TransformCost* cost = nullptr) const;

  /// The p rotations B_r = rot(B̄, r·D) of a plaintext B, encoded at level() and scale q_level.
  /// Throws as encode_b.
  std::vector<Plaintext> encode_b_plain(const Encoder& enc, const ComplexMatrix& b) const;
  std::vector<Plaintext> encode_b_plain(const Encoder& enc, const RealMatrix& b) const;
  /// Encrypted × plaintext: b_rot from encode_b_plain. Output at level() − 3, scale exactly Δ_a.
  /// Throws as multiply, and InputError unless b_rot has p plaintexts from this layout.
  Ciphertext multiply_plain(const Evaluator& ev, const Ciphertext& a, const std::vector<Plaintext>& b_rot,
                            const GaloisKeys& gk, TransformCost* cost = nullptr) const;

  /// The Galois keys multiply (encrypted_b = true) or multiply_plain (false) needs:
  /// 2^t for 2^t < n', S − 2^t for 2^t < p' (right rotations), and r·D for 1 ≤ r < p if encrypted_b.
  std::vector<int> rotation_steps(bool encrypted_b = true) const;

  std::size_t m() const { return m_; }
  std::size_t n() const { return n_; }
  std::size_t p() const { return p_; }
  std::size_t row_stride() const { return d_; }         ///< D
  std::size_t slot_rows() const { return slots_ / d_; } ///< R
  std::size_t slots() const { return slots_; }          ///< S
  int level() const { return level_; }

 private:
  // Steps 2–6 for every r; product_r(r) returns A ⊙ B_r at level(), before rescaling.
  Ciphertext revolve(const Evaluator& ev, const GaloisKeys& gk, const std::function<Ciphertext(std::size_t)>& product_r,
                     TransformCost* cost) const;
  void check_input(const Ciphertext& ct, const char* op, const char* what) const;
  ContextPtr ctx_;
  std::size_t m_ = 0, n_ = 0, p_ = 0, d_ = 0, slots_ = 0;
  int level_ = 0;
  Plaintext row_mask_;                  // slot i·D, i < m; level − 1, scale q_{level−1}
  std::vector<Plaintext> place_masks_;  // slot i·D + (i + r) mod p; level − 2, scale q_{level−2}
};

// ---------------------------------------------------------------------------------------------
// Matrices given by their diagonals: sparse transforms such as the factors of an FFT
// ---------------------------------------------------------------------------------------------

/// An S × S complex matrix stored by its non-zero generalised diagonals: diags[k][i] = M[i][(i+k) mod S]
/// for offsets k ∈ [0, S). Sparse structured matrices (a radix-2 FFT stage has 3 diagonals) are
/// built and multiplied in this form without ever forming the S² entries [HS14, §4.3].
struct DiagonalMatrix {
  std::size_t size = 0;  ///< S
  std::map<std::size_t, std::vector<std::complex<double>>> diags;  ///< offset k → S values

  /// The S × S identity.
  static DiagonalMatrix identity(std::size_t size);
  /// M·v in the clear (the reference the encrypted product is tested against).
  /// Throws InputError unless v has S values.
  std::vector<std::complex<double>> apply(std::span<const std::complex<double>> v) const;
  /// The product this·other (apply other first): (AB)_k[i] = Σ_{k1+k2 ≡ k} A_{k1}[i]·B_{k2}[i+k1].
  /// Throws InputError if the sizes differ.
  DiagonalMatrix operator*(const DiagonalMatrix& other) const;
  /// Row i multiplied by d[i] (left product with diag(d)). Throws InputError unless d has S values.
  void scale_rows(std::span<const std::complex<double>> d);
  /// Every entry multiplied by c.
  void scale(std::complex<double> c);
};

/// M·v for a DiagonalMatrix M on all S slots of the ciphertext, by baby-step giant-step over the
/// offsets, written in signed form k ∈ [−S/2, S/2) as k = g·n1 + b with 0 ≤ b < n1 (g may be
/// negative):  M·v = Σ_g rot( Σ_b rot(diag_k, −g·n1) ⊙ rot(v, b), g·n1 )  [HS14, §4.3; HS18].
/// The baby-step rotations of v are hoisted (Evaluator::rotate_hoisted); the sum is rescaled once.
/// Unlike MatrixVector, only the offsets present are touched, so a matrix with d diagonals costs
/// about 2·√d rotations whatever S is: the tool for the sparse factors of the homomorphic DFT of
/// bootstrapping [BMTH21, §4.1] (key and section: see ckks/bootstrapping.h).
class DiagonalTransform {
 public:
  /// Encode the diagonals for ciphertexts at `level` with S = m.size slots, at scale
  /// `pt_scale` (0: q_level, so that the product keeps the ciphertext's scale). baby_steps = n1, a
  /// power of two (0: the n1 that minimises the number of distinct rotations).
  /// Throws InputError if m has no diagonal, a diagonal of the wrong length, a NaN or infinite value,
  /// or baby_steps is not a power of two ≤ S; LevelError if level is 0 or above L; ParameterError for
  /// a bad slot count (from the Encoder); ScaleError if pt_scale is not positive and finite.
  DiagonalTransform(const Encoder& enc, const DiagonalMatrix& m, int level, double pt_scale = 0,
                    std::size_t baby_steps = 0);

  /// M·v. Input at level() with slots() slots and 2 components, scale Δ. Output: level() − 1, scale
  /// Δ·pt_scale/q_level (exactly Δ for the default pt_scale).
  /// Throws LevelError if ct.level ≠ level(); InputError if ct.slots ≠ slots() or ct has 3
  /// components; MissingKeyError (listing the steps) if a key for rotation_steps() is missing.
  Ciphertext apply(const Evaluator& ev, const Ciphertext& v, const GaloisKeys& gk,
                   TransformCost* cost = nullptr) const;

  /// The signed rotation steps apply() needs: the non-zero baby steps b, then the non-zero giant
  /// steps g·n1 (negative ones are right rotations).
  std::vector<int> rotation_steps() const { return steps_for(offsets_, slots_, n1_); }
  int rotations() const { return static_cast<int>(rotation_steps().size()); }

  /// The steps for a matrix with these offsets (each in [0, S)) on S slots with baby step n1; and the
  /// n1 (a power of two) with the fewest distinct steps, ties to the larger n1 (more of them hoisted).
  static std::vector<int> steps_for(const std::vector<std::size_t>& offsets, std::size_t slots, std::size_t n1);
  static std::size_t best_baby_steps(const std::vector<std::size_t>& offsets, std::size_t slots);

  std::size_t slots() const { return slots_; }
  int level() const { return level_; }
  std::size_t baby_steps() const { return n1_; }
  std::size_t diagonals() const { return diags_.size(); }
  double pt_scale() const { return pt_scale_; }

 private:
  struct Diagonal {
    long giant, baby;  // signed offset = giant·n1 + baby
    Plaintext pt;      // rot(diag_k, −giant·n1)
  };
  ContextPtr ctx_;
  std::size_t slots_ = 0, n1_ = 1;
  int level_ = 0;
  double pt_scale_ = 0;
  std::vector<std::size_t> offsets_;
  std::vector<Diagonal> diags_;  // sorted by (giant, baby)
};

}  // namespace ckks

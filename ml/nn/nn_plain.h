// Plaintext twin of the network trained on encrypted data (ml/nn/nn_encrypted.h): a network with one
// hidden layer, input → hidden (polynomial sigmoid) → output (polynomial sigmoid), or two (the
// four-layer network below), trained with the
// binary cross-entropy loss by mini-batch gradient descent, computed in double precision with the
// SAME polynomials, initialisation, batches and step as the encrypted run, so that the two can be
// compared weight by weight [Chiang23NN; Chiang25NN].
//
// Notation: A = [X | 1] (n × D, D = d + 1, bias last), labels y_r ∈ {0 … C−1}, one-hot Y (n × C).
// Weights: W1 (H × D), W2 (C × (H + 1), the last column is the output bias).
// Forward on a batch of b rows:
//   Z1 = A W1ᵀ (b × H),  A1 = [p1(Z1) | 1] (b × (H + 1)),  Z2 = A1 W2ᵀ (b × C),  O = p2(Z2).
// Loss: the binary cross-entropy of C independent sigmoid outputs [Chiang23NN, Sigmoid in place of
// Softmax], ℓ = −Σ_r Σ_c (Y_rc·log σ(Z2_rc) + (1 − Y_rc)·log(1 − σ(Z2_rc))), whose gradient with
// respect to Z2 is σ(Z2) − Y (bce_sigmoid_gradient; with σ replaced by p2 this is the step below).
// Backward and update (η the step, b the batch size):
//   E  = (O − Y)/2                        (halved: the encrypted run bootstraps E, input |E| ≤ 1)
//   δ1 = (E · W2[:, 0:H]) ⊙ p1'(Z1)       (b × H)
//   W2 ← (1 − ηλ)·W2 − (2η/b)·Eᵀ A1,   W1 ← (1 − ηλ)·W1 − (2η/b)·δ1ᵀ A
// (λ the L2 weight decay; η may follow the 1/t schedule η_t = η/(1 + ρ·t)).
// Polynomial activations: p_k is the degree-3 (or 5, --hidden-degree/--output-degree) least-squares fit of σ on [−a_k, a_k]
// (ckks::least_squares_fit, 2001 points), with a_k chosen from the interval the training visits
// (nn_choose_intervals: a plaintext run measures max |Z_k| and the fit is widened to cover it).
// Departure from [Chiang23NN]: Nesterov's look-ahead without the quadratic gradient; the encrypted
// iteration carries W and W_prev through one packed refresh (ml/nn/nn_encrypted.h).
//
// The four-layer network (issue 18's second hidden layer, [Chiang23NN] trains three- and four-layer
// networks): input → H1 → H2 → C, a middle weight matrix W1b (H2 × (H1 + 1), the last column the
// bias of the second hidden layer) between W1 (H1 × D) and the output W2 (C × (H2 + 1)):
//   Z1 = A W1ᵀ,  A1 = [p1(Z1) | 1],  Z1b = A1 W1bᵀ (b × H2),  A1b = [p1b(Z1b) | 1],  Z2 = A1b W2ᵀ,
//   O = p2(Z2),  E = (O − Y)/2,
//   δ1b = (E · W2[:, 0:H2]) ⊙ p1b'(Z1b),   δ1 = (δ1b · W1b[:, 0:H1]) ⊙ p1'(Z1),
//   W2 ← (1 − ηλ)·W2 − (2η/b)·Eᵀ A1b,  W1b ← (1 − ηλ)·W1b − (2η/b)·δ1bᵀ A1,  W1 ← … − (2η/b)·δ1ᵀ A.
// p1b is a fit of the same degree as p1 on the interval Z1b visits (nn_choose_intervals). An empty
// W1b (NnOptions::hidden2 = 0) is the three-layer network above, computed exactly as before.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ml/mlr/mlr_plain.h"  // DenseMatrix, check_class_labels, one_hot

namespace ckks::ml {

/// A polynomial p(z) = c[0] + c[1]·z + … + c[degree]·z^degree (degree 3 or 5) fitted to σ on [−a, a].
struct SigmoidPoly {
  double a = 8;                     ///< half-width of the fitting interval
  int degree = 3;                   ///< 3 or 5
  std::array<double, 6> c{};        ///< power-basis coefficients in z (c[k] = 0 for k > degree)
  double operator()(double z) const {
    double v = 0;
    for (int k = degree; k >= 0; --k) v = v * z + c[static_cast<std::size_t>(k)];
    return v;
  }
  double derivative(double z) const {
    double v = 0;
    for (int k = degree; k >= 1; --k) v = v * z + k * c[static_cast<std::size_t>(k)];
    return v;
  }
  /// max |p − σ| on [−a, a] (2001 equally spaced points).
  double max_error() const;
};

/// The degree-`degree` least-squares fit of σ on [−a, a] [ckks::least_squares_fit, 2001 points],
/// converted to the power basis. Throws InputError unless a > 0 is finite (naming a) and degree is 3
/// or 5 (naming --hidden-degree/--output-degree).
SigmoidPoly fit_sigmoid(double a, int degree = 3);

struct NnWeights {
  DenseMatrix w1;  ///< H × D (H1 × D in the four-layer network)
  DenseMatrix w2;  ///< C × (H + 1): the output layer (C × (H2 + 1) in the four-layer network)
  DenseMatrix w1b; ///< the four-layer network's second hidden layer H2 × (H1 + 1); empty: three layers
  bool four_layer() const { return !w1b.empty(); }
};

/// max |a − b| over the entries of W1, W1b and W2 (the shapes must match; no check beyond the row
/// counts of a).
double max_weight_difference(const NnWeights& a, const NnWeights& b);

struct NnOptions {
  std::size_t hidden = 15;   ///< H (H1 of the four-layer network)
  std::size_t hidden2 = 0;   ///< H2 of the four-layer network's second hidden layer; 0: three layers
  std::size_t batch = 128;   ///< b (rows per batch; the encrypted run needs b ≤ samples per ciphertext)
  int epochs = 4;            ///< passes over the fixed batches
  double eta = 1.5;          ///< η
  double momentum = 0.8;     ///< γ of Nesterov's look-ahead (0: plain gradient descent)
  /// λ of the L2 penalty (λ/2)·|W|² added to the batch-mean loss: W ← (1 − η_t·λ)·V − step·∇.
  /// Keeps |W| and the pre-activations |Z_k| (hence the fitted intervals) small.
  double weight_decay = 0.01;
  double eta_decay = 0;      ///< ρ of the 1/t schedule η_t = η/(1 + ρ·t), t = 0, 1, … (0: constant η)
  /// η_t of iteration t (0-based): η/(1 + ρ·t).
  double eta_at(int t) const { return eta / (1 + eta_decay * t); }
  std::uint64_t seed = 1;    ///< initialisation and batch partition
  SigmoidPoly act1 = fit_sigmoid(8), act2 = fit_sigmoid(8);
  SigmoidPoly act1b = fit_sigmoid(8);  ///< p1b of the second hidden layer (hidden2 > 0 only; act1's degree)
};

/// Initial weights from a fixed seed: Glorot-uniform entries, uniform in ±√(6/(D + H)) (W1) and
/// ±√(6/(H + 1 + C)) (W2), the output biases W2[c][H] = log(1/(C − 1)) (every output starts at
/// σ = 1/C). With H2 > 0 (four layers) W1b (H2 × (H1 + 1)) is drawn after W1 from the same
/// generator, uniform in ±√(6/(H1 + 1 + H2)), and W2 is C × (H2 + 1); H2 = 0 draws exactly the
/// three-layer weights. Throws InputError if D, H or C is 0.
NnWeights nn_init(std::size_t D, std::size_t H, std::size_t C, std::uint64_t seed, std::size_t H2 = 0);

/// The fixed partition of rows 0 … n−1 into ⌊n/b⌋ batches of b rows (a seeded shuffle; the n mod b
/// left-over rows are not used). The same batches serve every epoch. Throws InputError if b = 0 or
/// b > n, naming both.
std::vector<std::vector<std::size_t>> nn_batches(std::size_t n, std::size_t b, std::uint64_t seed);

/// What one iteration saw.
struct NnStepInfo {
  double max_abs_z1 = 0, max_abs_z2 = 0;  ///< max |Z1|, |Z2| over the batch (+∞ if one is NaN)
  double max_abs_z1b = 0;                 ///< max |Z1b| (four layers; 0 for three)
};

/// One iteration (forward, backward, update; see the file comment) on rows `rows` of A, y, with
/// step η and weight decay λ (W ← (1 − η·λ)·W − (2η/b)·∇). `act1b` is p1b of a four-layer w (non-empty
/// w.w1b) and is not read for three layers. Throws InputError on shape mismatches, labels outside
/// 0 … C−1 (C = w.w2.size()), or a four-layer w without act1b.
NnStepInfo nn_step(NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                   const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly& act2,
                   double eta, double weight_decay = 0, const SigmoidPoly* act1b = nullptr);

/// ∂ℓ/∂W1, ∂ℓ/∂W2 (and ∂ℓ/∂W1b for four layers) of the binary cross-entropy ℓ of the file comment
/// summed over `rows`, with the hidden activations act1 (and act1b) and the EXACT sigmoid at the
/// output (the pair whose gradient is σ − Y). Used to check the backward pass against finite
/// differences. Throws as nn_step.
NnWeights nn_bce_gradient(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                          const std::vector<std::size_t>& rows, const SigmoidPoly& act1,
                          const SigmoidPoly* act1b = nullptr);
/// ℓ itself (same setting as nn_bce_gradient).
double nn_bce_loss(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                   const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly* act1b = nullptr);

/// argmax_c Z2_rc for every row of A (hidden activation act1, and act1b for a four-layer w; the
/// output activation is monotone and does not change the argmax). Throws InputError for a row of
/// another width than W1's or a four-layer w without act1b.
std::vector<int> nn_predict(const NnWeights& w, const DenseMatrix& A, const SigmoidPoly& act1,
                            const SigmoidPoly* act1b = nullptr);

struct NnTrace {
  NnWeights initial;
  std::vector<NnWeights> w;        ///< after every iteration
  double max_abs_z1 = 0, max_abs_z2 = 0;  ///< over all iterations (+∞ if one is NaN)
  double max_abs_z1b = 0;          ///< four layers: max |Z1b| over all iterations (0 for three)
  double max_abs_weight = 0;       ///< over all iterations (+∞ if one is NaN)
  int iterations = 0;
};

/// The update's constants as nn_train and NnServer accept them: throws InputError (naming
/// --weight-decay and --eta-decay, prefixed by `op`) unless λ ≥ 0, ρ ≥ 0 and η·λ < 1, so that the
/// decay factor 1 − η_t·λ stays in (0, 1] for every t.
void check_nn_decay(double eta, double weight_decay, double eta_decay, const char* op);

/// epochs × ⌊n/b⌋ iterations of nn_step from nn_init(D, H, C, seed, H2) over nn_batches(n, b, seed),
/// iteration t with η_t = o.eta_at(t) and λ = o.weight_decay (four layers when o.hidden2 > 0, with
/// o.act1b). Throws InputError for bad shapes, labels, or options (hidden = 0, epochs < 1, eta ≤ 0,
/// λ < 0, ρ < 0, η·λ ≥ 1, act1b of another degree than act1 with hidden2 > 0).
NnTrace nn_train(const DenseMatrix& A, const std::vector<double>& y, std::size_t C, const NnOptions& o);

/// Rounds of nn_choose_intervals before it gives up.
inline constexpr int kNnIntervalRounds = 8;

/// The activation intervals the training visits: runs nn_train with o.act1, o.act2 (default [−8, 8]
/// fits), then refits (of the same degrees) on [−a_k, a_k], a_k = max(1, max |Z_k|) rounded up to a multiple of 0.5 (never
/// narrower than an interval the previous run left; all doubled after a run that overflowed), and
/// repeats until the run with the refitted polynomials stays inside them: the returned options' run
/// has max |Z_k| ≤ a_k for every layer. Four layers (o.hidden2 > 0): p1b (o.act1b) is refitted on
/// Z1b's interval by the same rule in the same rounds.
/// Returns the options with act1, act2 (and act1b) replaced. Throws InputError if no run stays inside within
/// kNnIntervalRounds runs: "overflows" if the last run's Z became ±∞ or NaN, else "leaves its
/// fitted activation intervals"; both messages name the maxima, the intervals and --eta,
/// --feature-scale, --weight-decay. Throws as nn_train.
NnOptions nn_choose_intervals(const DenseMatrix& A, const std::vector<double>& y, std::size_t C, NnOptions o);

}  // namespace ckks::ml

// Tutorial 16 — a small neural network trained on encrypted data, step by step
//
// Goal: train input → hidden → output (cubic sigmoids, binary cross-entropy) on encrypted data with
//       the server of ml/nn/nn_encrypted.h, stopping after every stage of the first iteration —
//       forward (Z1, A1, Z2), the loss gradient E = (O − Y)/2, its bootstrap, the backward pass and
//       update, the weight refresh — to decrypt (this lab holds the secret key; the server never
//       does) and compare with the same stage computed in double precision: level, scale and
//       precision in bits. Then run more iterations and watch the encrypted weights follow the
//       double-precision ones (ml/nn/nn_plain.h). scikit-learn's wine (13 features, 3 classes) at
//       N = 2^10 with the 128-bit preset's chain and bootstrap: INSECURE, a lab only.
// Read alongside: [Chiang25NN] (Sigmoid with BCE in place of Softmax; its gradient O − Y) and
//       [Chiang23NN] (3-layer networks trained with HE alone); [Chiang22] (Volley Revolver, the
//       replicate-one-operand idea the layout follows); ml/refresh.h and tutorial 15 for the
//       bootstrap. In this project: the header of ml/nn/nn_encrypted.h (layout, level schedule,
//       counts), docs/ml.md ("A neural network trained on encrypted data"), tests/ml/test_nn_train.cpp.
// What to observe (default run; the output is pasted in docs/labs/16_nn_training.md):
//   1. The layout: a sample owns a block of Hp·Ap = 4·4 = 16 slots; 32 samples per ciphertext; the
//      13 features + bias travel in G = 4 ciphertexts of 4 features each; 16 ct×ct products and
//      37 rotations per iteration before the refresh.
//   2. The forward pass spends 7 levels (8 → 1): the look-ahead 1, Z1 1, the cubic 2, Z2 1, the
//      cubic 2; every stage agrees with double precision to 31.9–34.8 bits at scale 2^44.
//   3. E is bootstrapped from level 0 to 9 (33.7 bits); the backward pass ends at level 1 (W1) and
//      2 (W2), the packed weight refresh brings the weights back to level 8 (30.4 bits: the
//      refresh multiplies the bootstrap's error by the bound M = 16).
//   4. Over the iterations the encrypted weights stay within 2^−28.6 of the double-precision ones:
//      each iteration adds the error of two bootstraps, and the errors do not compound.
// Exercises (expected observations in docs/labs/16_nn_training.md):
//   a. Run with --momentum 0: which level is freed, and where does the schedule show it?
//   b. Run with --batch 33: read the error. Why is 32 the limit at N = 2^10?
//   c. Run with --interval 2: the cubic fits better on [−2, 2], but what happens to the visited
//      |Z1|, |Z2| and to the agreement with double precision?
//   d. Run with --weight-decay 0.1: does the schedule change? How far do the weights move now?
//
// Usage: tutorial_16_nn_training [--log-n L] [--hidden H] [--batch b] [--iterations K] [--eta η]
//        [--momentum γ] [--interval a] [--weight-decay λ]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "ckks/bootstrapping.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/nn/nn_encrypted.h"
#include "tutorial_options.h"

using namespace ckks;

namespace {

double bits(double err) { return err > 0 ? -std::log2(err) : 99.0; }

// The decrypted slot values at slot(r, a, h) for r < b, a < na, h < nh, against `want(r, a, h)`.
template <class F>
double stage_error(const std::vector<double>& got, const ml::NnLayout& l, std::size_t na, std::size_t nh, F want) {
  double m = 0;
  for (std::size_t r = 0; r < l.batch; ++r)
    for (std::size_t a = 0; a < na; ++a)
      for (std::size_t h = 0; h < nh; ++h) m = std::max(m, std::fabs(got[l.slot(r, a, h)] - want(r, a, h)));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 16 — a small network trained on encrypted data, step by step");
  int log_n = 10, iterations = 4;
  std::size_t hidden = 3, batch = 32;
  double eta = 0.5, momentum = 0.5, interval = 6.0, weight_decay = 0.0;
  options.add("--log-n", log_n, "ring degree N = 2^L (INSECURE below 16)", 10, 13);
  options.add("--hidden", hidden, "hidden units H", std::size_t{1}, std::size_t{15});
  options.add("--batch", batch, "samples per batch (at most the samples one ciphertext holds)", std::size_t{1},
              std::size_t{4096});
  options.add("--iterations", iterations, "iterations in all", 1, 20);
  options.add("--eta", eta, "step η", 0.01, 10.0);
  options.add("--momentum", momentum, "Nesterov look-ahead γ (0: plain gradient descent)", 0.0, 0.95);
  options.add("--interval", interval, "half-width a of both cubic fits [−a, a]", 0.5, 64.0);
  options.add("--weight-decay", weight_decay, "L2 weight decay λ: W ← (1 − ηλ)V + ∇ (ckks-ml nn-train: 0.01 on digits)", 0.0,
              0.5);
  if (const auto code = options.parse(argc, argv)) return *code;
  try {
    // Data: wine's training split, z-scores, bias column last.
    const ml::Split split = ml::train_test_split(ml::read_sklearn_csv(ml::sklearn_data("wine_data.csv")).data, 0.2, 1);
    const ml::DenseMatrix A = ml::with_bias_column(ml::Standardizer::fit(split.train).apply(split.train).X);
    const std::vector<double>& y = split.train.y;
    const std::size_t C = 3, D = A[0].size();

    BootstrapPreset boot = bootstrap_preset_n16_sparse_secret();
    boot.params.log_n = log_n;
    boot.params.allow_insecure = true;
    auto ctx = Context::create(boot.params);
    const ml::NnLayout l = ml::NnLayout::make(D - 1, C, hidden, batch, ctx->max_slots());
    std::printf("1. Layout: N = 2^%d (%zu slots), H = %zu hidden units, C = %zu classes, batch b = %zu\n", log_n,
                l.slots, hidden, C, batch);
    std::printf("   a sample owns a block of Hp·Ap = %zu·%zu = %zu slots; %zu samples per ciphertext; %zu feature "
                "groups of %zu\n",
                l.hp, l.axis, l.block, l.samples(), l.groups, l.axis);
    std::printf("   per iteration: %zu ct×ct products, %zu rotations (+ the refresh), %zu Galois keys of the model\n",
                l.products_per_iteration(), l.rotations_per_iteration(), l.rotation_steps().size());

    ml::NnOptions o;
    o.hidden = hidden;
    o.batch = batch;
    o.eta = eta;
    o.momentum = momentum;
    o.weight_decay = weight_decay;
    o.epochs = (iterations + static_cast<int>(A.size() / batch) - 1) / static_cast<int>(A.size() / batch);
    o.act1 = ml::fit_sigmoid(interval);
    o.act2 = ml::fit_sigmoid(interval);
    const ml::NnTrace t = ml::nn_train(A, y, C, o);
    const auto batches = ml::nn_batches(A.size(), batch, o.seed);
    std::printf("   cubic sigmoids on [−%.1f, %.1f]: max error %.4f; the run visits max |Z1| = %.3f, |Z2| = %.3f\n",
                interval, interval, o.act1.max_error(), t.max_abs_z1, t.max_abs_z2);

    const ml::RefreshConfig rc{boot.config, 16.0};
    const BootstrapPlan plan = ml::NnServer::refresh_plan(*ctx, rc, l);
    ml::NnDataOwner owner(ctx, 16);  // INSECURE fixed-seed keys: a lab
    ml::NnServer server(ctx, owner.relin_key(), owner.galois_keys(l, plan),
                        owner.encapsulation_keys(boot.config.ephemeral_secret_weight), rc, l, o.act1, o.act2, eta,
                        momentum, weight_decay);
    std::printf("   level schedule (weights at %d, data and bootstrapped E at %d):\n", server.weight_level(),
                server.data_level());
    for (const auto& s : ml::NnServer::level_schedule(server.weight_level(), server.data_level(), momentum))
      std::printf("     %s\n", s.c_str());

    // The data owner uploads the first batch and the initial weights.
    ml::EncryptedNnWeights w = owner.encrypt_weights(t.initial, l, server.weight_level());
    ml::EncryptedNnWeights w_prev = w;
    const ml::EncryptedNnBatch b0 = owner.encrypt_batch(A, y, batches[0], l, server.data_level());

    // The same stages in double precision (iteration 0: V = W).
    const ml::NnWeights& W = t.initial;
    auto z1 = [&](std::size_t r, std::size_t h) {
      double s = 0;
      for (std::size_t j = 0; j < D; ++j) s += W.w1[h][j] * A[batches[0][r]][j];
      return s;
    };
    auto a1 = [&](std::size_t r, std::size_t h) { return h == hidden ? 1.0 : o.act1(z1(r, h)); };
    auto z2 = [&](std::size_t r, std::size_t c) {
      double s = 0;
      for (std::size_t h = 0; h <= hidden; ++h) s += W.w2[c][h] * a1(r, h);
      return s;
    };
    auto e = [&](std::size_t r, std::size_t c) {
      return 0.5 * (o.act2(z2(r, c)) - (static_cast<std::size_t>(y[batches[0][r]]) == c ? 1.0 : 0.0));
    };
    auto show = [&](const char* what, const Ciphertext& ct, double err) {
      std::printf("   %-44s level %d, scale 2^%.2f, precision %.1f bits\n", what, ct.level, std::log2(ct.scale), bits(err));
    };
    auto dec = [&](const Ciphertext& ct) { return owner.decrypt_slots(ct); };

    std::printf("2. Forward pass of iteration 0 (decrypted by this lab only)\n");
    const ml::NnForward f = server.forward(w, w_prev, b0);
    show("Z1 = A·W1ᵀ (slot r·B + h)", f.z1, stage_error(dec(f.z1), l, 1, hidden, [&](auto r, auto, auto h) { return z1(r, h); }));
    show("A1 = p1(Z1) with the bias unit, spread", f.a1,
         stage_error(dec(f.a1), l, l.axis, hidden + 1, [&](auto r, auto, auto h) { return a1(r, h); }));
    show("D1 = p1'(Z1)", f.d1,
         stage_error(dec(f.d1), l, 1, hidden, [&](auto r, auto, auto h) { return o.act1.derivative(z1(r, h)); }));
    show("Z2 = A1·W2ᵀ (slot r·B + c·Hp)", f.z2, stage_error(dec(f.z2), l, C, 1, [&](auto r, auto c, auto) { return z2(r, c); }));
    show("E = (p2(Z2) − Y)/2, the loss gradient", f.e, stage_error(dec(f.e), l, C, 1, [&](auto r, auto c, auto) { return e(r, c); }));
    std::printf("3. Bootstrap, backward, update, refresh\n");
    const Ciphertext eb = server.bootstrap_error(f.e);
    show("E bootstrapped", eb, stage_error(dec(eb), l, C, 1, [&](auto r, auto c, auto) { return e(r, c); }));
    const ml::EncryptedNnWeights w_new = server.backward(f, eb, b0);
    const double err_new = ml::max_weight_difference(owner.decrypt_weights(w_new, l), t.w[0]);
    show("W_new = (1 − ηλ)W + ∇ (W2 shown)", w_new.w2, err_new);
    w = server.refresh_weights(w_new, w, w_prev);
    const double err_ref = ml::max_weight_difference(owner.decrypt_weights(w, l), t.w[0]);
    show("weights refreshed", w.w2, err_ref);
    std::printf("   the iteration moved the weights by %.4f (max entry)\n", ml::max_weight_difference(t.w[0], t.initial));

    std::printf("4. Iterations 1 … %d with NnServer::step\n", iterations - 1);
    double worst = err_ref;
    for (int it = 1; it < iterations; ++it) {
      const ml::EncryptedNnBatch bt = owner.encrypt_batch(A, y, batches[static_cast<std::size_t>(it) % batches.size()], l,
                                                          server.data_level());
      w = server.step(w, w_prev, bt);
      const double err = ml::max_weight_difference(owner.decrypt_weights(w, l), t.w[static_cast<std::size_t>(it)]);
      worst = std::max(worst, err);
      std::printf("   iteration %d: max |W_enc − W_plain| = 2^%.1f, BCE loss of the batch %.3f (exact σ at the output)\n",
                  it, std::log2(err), ml::nn_bce_loss(t.w[static_cast<std::size_t>(it)], A, y, batches[0], o.act1));
    }
    std::printf("   %d bootstraps in %.2f s, %.2f s per bootstrap\n", server.stats().bootstraps,
                server.stats().seconds_bootstrap, server.stats().seconds_bootstrap / server.stats().bootstraps);
    std::printf("   every iteration within 2^-20 of double precision: %s\n", worst < std::ldexp(1.0, -20) ? "yes" : "NO");
  } catch (const Error& err) {
    std::fprintf(stderr, "tutorial 16: %s\n", err.what());
    return 2;
  }
  return 0;
}

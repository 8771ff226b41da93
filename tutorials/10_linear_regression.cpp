// Tutorial 10 — linear regression trained on encrypted data (simplified fixed Hessian), with ridge,
// several outputs and LFFR
//
// Goal: train least-squares linear regression on encrypted Boston Housing rows. Newton's method
//       would need the inverse of the Hessian AᵀA, which nobody can compute under encryption; the
//       simplified fixed Hessian (SFH) replaces it by one diagonal bound B̃ ⪰ AᵀA computed once, so
//       every iteration w ← w + diag(b)·Aᵀ(y − A w), b = 1/diag(B̃), only adds and multiplies.
//       Written as a linear map on (w, 1), an iteration is ONE encrypted matrix–vector product:
//       one level. Follow the encrypted iterates against the plaintext ones, the levels they use,
//       and the accuracy against the closed-form least-squares solution.
// Read alongside: [BV18] Bonte–Vercauteren, "Privacy-preserving logistic regression training",
//       BMC Medical Genomics 11:86 (2018) — the simplified fixed Hessian (the idea as the abstract
//       states it; the diagonal used here is derived in ml/linreg/linreg_plain.h); [Chiang24] (abstract)
//       for SFH applied to
//       linear regression with standardised targets; [HS14] §4.3 (matrix–vector products by
//       diagonals, section title only). In this project: the header of ml/linreg/linreg_encrypted.h
//       (the augmented linear map M̃, the layout, the level count), ml/linreg/linreg_plain.h
//       (sfh_preconditioner, sfh_train, least_squares_closed_form, ridge_closed_form); [Chiang24]
//       and [Chiang24b] (abstracts) for ridge, LFFR and several outputs; ml/lffr/lffr_plain.h and
//       ml/lffr/lffr_encrypted.h (the LFFR loss, its constant Hessian bound and circuit).
// What to observe:
//   1. The layout: one B-slot block per training row (B = 16 ≥ d + 2 = 15), R = 128 blocks,
//      B·R = 2048 slots = N/2; the data owner sends B + 1 ciphertexts (A rotated B times, and b).
//   2. Levels: building M̃ costs 2, each iteration 1: levels_needed(K) = 2 + K, and the chain is
//      built with exactly that many levels above q_0.
//   3. Every encrypted iterate equals the plaintext iterate to ~1e-8 (about 26 bits at Δ = 2^40 —
//      the CKKS noise); the decrypted augmented coordinate stays 1 to the same accuracy.
//   4. The plaintext SFH loss falls at every iteration but slowly: after 6 iterations the test R²
//      is still below the closed form's, because B̃ is a crude bound when features are correlated.
//   5. Asking for one iteration more than the chain holds: LevelError before any work.
//   6. (section 8) Ridge (λ = --ridge): the same circuit with λ added to the diagonal of M̃ on the server (no
//      extra level); encrypted = plaintext again, and the closed-form ridge weights are shorter than
//      the least-squares ones.
//   7. (section 9) Several outputs (linnerud: 3 exercise features, 3 physiological targets): ONE encrypted data
//      set Â = [A | −Y], M̃ built once, one weight ciphertext per target; each output equals its own
//      single-output plaintext run.
//   8. (section 10) LFFR (ŷ = σ(A w), targets normalised into (0.1, 0.9)): the interval σ is evaluated on, the
//      radius R and the degree-3 polynomial chosen from it, and the levels per iteration (2 + 2).
// Exercises (expected observations in docs/labs/10_linear_regression.md):
//   a. Run with --iterations 2, 16 and 24 (the chain grows with K): how do the training loss and
//      the test R² approach the closed form, and what does the weight difference do?
//   b. Run with --log-scale 30 (30-bit data primes, Δ = 2^30): how many bits do the weights keep,
//      and does it change the test R²?
//   c. Run with --train-rows 16 and --train-rows 256 (--log-n 13): what happens to the layout,
//      and to the gap between training on 16 rows and the closed form?
//   d. Run with --ridge 0, 10 and 1000: how do the closed-form weights' norm and the test R² move,
//      and how far is the K-step SFH iterate from the closed form at each λ?
//   e. Run with --iterations 10: how many LFFR iterations fit the chain now, how wide is the interval
//      σ visits, and how does the LFFR test R² compare with linear regression's?
//
// Usage: tutorial_10_linear_regression [--log-n L] [--train-rows n] [--iterations K]
//                                      [--log-scale S] [--ridge λ] [--seed K]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/precision.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/lffr/lffr_encrypted.h"
#include "ml/lffr/lffr_plain.h"
#include "ml/linreg/linreg_encrypted.h"
#include "ml/linreg/linreg_job.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;

namespace {

const std::string kBoston = ckks::ml::sklearn_data("boston_house_prices.csv");

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 10 — linear regression trained on encrypted data (simplified fixed Hessian)");
  int log_n = 12, rows = 128, K = 6, log_scale = 40;
  double lambda = 10.0;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 10, 16);
  options.add("--train-rows", rows, "training rows used (the first n of the shuffled split)", 16, 405);
  options.add("--iterations", K, "SFH iterations K", 1, 40);
  options.add("--log-scale", log_scale, "log2 of the scale and bits of the data primes", 25, 50);
  options.add("--ridge", lambda, "ridge parameter λ of section 8", 0.0, 1e6);
  options.add("--seed", seed, "seed of the split and of the (insecure, deterministic) keys");
  if (const auto code = options.parse(argc, argv)) return *code;
  bool ok = true;
  try {
    // 1. Data (the data owner's side, in the clear): split, keep a subset, standardise on it.
    const ml::Dataset all = ml::select_target(ml::read_csv(kBoston), "MEDV");
    ml::Split split = ml::train_test_split(all, 0.2, seed);
    const std::size_t full_train = split.train.X.size();
    split.train.X.resize(std::min<std::size_t>(rows, full_train));
    split.train.y.resize(split.train.X.size());
    const ml::Standardizer z = ml::Standardizer::fit(split.train);
    const ml::Dataset train = z.apply(split.train), test = z.apply(split.test);
    const auto A = ml::with_bias_column(train.X), A_test = ml::with_bias_column(test.X);
    const std::vector<double>& y = train.y;
    const std::size_t n = A.size(), D = A[0].size();
    std::printf("1. Boston Housing (python3-sklearn boston_house_prices.csv): %zu rows, %zu features, target MEDV\n",
                all.X.size(), all.feature_names.size());
    std::printf("   split 80/20 (seed %llu): %zu train / %zu test; training on the first %zu training rows\n",
                static_cast<unsigned long long>(seed), full_train, split.test.X.size(), n);
    std::printf("   features and target standardised on those rows; A = [X | 1] is %zu x %zu (bias last)\n", n, D);

    // 2. The plaintext references: closed form and the same SFH iteration in double precision.
    const std::vector<double> b = ml::sfh_preconditioner(A);
    const auto [bmin, bmax] = std::minmax_element(b.begin(), b.end());
    const std::vector<double> w_closed = ml::least_squares_closed_form(A, y);
    const std::vector<std::vector<double>> w_plain = ml::sfh_train(A, y, K);
    std::printf("2. SFH preconditioner b_j = 1/B~_jj: min %.3e, max %.3e (B~ = diag of row sums of |A|^T|A|)\n",
                *bmin, *bmax);
    std::printf("   closed-form training loss ||y - A w||^2 = %.4f\n", ml::residual_sum_of_squares(A, y, w_closed));

    // 3. Parameters: exactly levels_needed(K) levels above q_0.
    const int need = ml::SfhServer::levels_needed(K);
    Params params;
    params.log_n = log_n;
    params.log_q.assign(1, 60);
    params.log_q.insert(params.log_q.end(), need, log_scale);
    params.log_p = {60};
    params.log_scale = log_scale;
    const int log_qp = 60 + log_scale * need + 60;
    params.allow_insecure = log_qp > max_log_qp_128(log_n);
    const ContextPtr ctx = Context::create(params);
    std::printf("3. %s, log QP = %.0f bits\n", params.describe().c_str(), ctx->log_qp());
    if (ctx->security_bits())
      std::printf("   128-bit secure [HES18]\n");
    else
      std::printf("   INSECURE: log QP = %d > %d bits, the [HES18] 128-bit bound for N = 2^%d; the small ring keeps this "
                  "lab to seconds (%s): a lab only\n", log_qp, max_log_qp_128(log_n), log_n, tutorial::secure_ring(log_qp).c_str());
    std::printf("   levels_needed(K) = 2 + K = %d for K = %d iterations; chain depth L = %d: %s\n", need, K,
                ctx->max_level(), ctx->max_level() == need ? "yes" : "NO");
    ok &= ctx->max_level() == need;

    // 4. Layout and keys.
    ml::SfhDataOwner owner(ctx, seed);  // fixed seed: deterministic and INSECURE, a lab only
    const auto t0 = std::chrono::steady_clock::now();
    const ml::EncryptedTrainingSet enc = owner.encrypt(A, y);
    const ml::SfhLayout& lay = enc.layout;
    const std::vector<int> steps = lay.rotation_steps();
    std::string steps_text;
    for (int s : steps) {
      if (!steps_text.empty()) steps_text += ' ';
      steps_text += std::to_string(s);
    }
    std::printf("4. layout: block B = %zu (>= d + 2 = %zu: features, bias, -y), blocks R = %zu (>= n = %zu), "
                "slots B*R = %zu of N/2 = %zu\n", lay.block, lay.d + 2, lay.blocks, lay.n, lay.slots(), ctx->max_slots());
    std::printf("   the data owner sends %zu ciphertexts: A^ rotated k = 0..%zu inside each block, and b\n",
                enc.columns_rotated.size() + 1, lay.block - 1);
    std::printf("   baby steps b_s = %zu, giant steps B/b_s = %zu; %zu Galois keys, rotations: %s\n", lay.baby(),
                lay.block / lay.baby(), steps.size(), steps_text.c_str());
    const ml::SfhServer server(ctx, owner.relin_key(), owner.galois_keys(lay));
    const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("   encryption + evaluation keys: %.2f s\n", setup_s);

    // 5. Iterations. SfhServer::train returns only w~_K, so iterate t is obtained by training for
    //    t iterations on the same ciphertexts: the server's computation is deterministic, so this is
    //    exactly the t-th iterate of a longer run.
    std::printf("5. per iteration (encrypted = decrypted w~_t, plain = sfh_train in double):\n");
    std::printf("    t | level | log2 scale | max|w_enc - w_plain| | bits | constant | loss enc | loss plain\n");
    std::vector<double> w_enc;
    double worst = 0, worst_one = 0, last_seconds = 0;
    bool monotone = true;
    double prev_loss = ml::residual_sum_of_squares(A, y, std::vector<double>(D, 0.0));
    for (int t = 1; t <= K; ++t) {
      const auto ts = std::chrono::steady_clock::now();
      const Ciphertext c = server.train(enc, t);
      last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
      double one = 0;
      w_enc = owner.decrypt_weights(c, lay, &one);
      const std::vector<double>& wp = w_plain[static_cast<std::size_t>(t - 1)];
      const double diff = tutorial::max_abs_diff(w_enc, wp);
      const double loss_p = ml::residual_sum_of_squares(A, y, wp);
      std::printf("   %2d | %5d | %10.4f | %20.2e | %4.1f | %8.6f | %8.4f | %8.4f\n", t, c.level, std::log2(c.scale),
                  diff, precision_bits(w_enc, wp), one, ml::residual_sum_of_squares(A, y, w_enc), loss_p);
      worst = std::max(worst, diff);
      worst_one = std::max(worst_one, std::fabs(one - 1));
      monotone &= loss_p <= prev_loss * (1 + 1e-12);
      prev_loss = loss_p;
      if (t == K) ok &= c.level == ctx->max_level() - need;
    }
    std::printf("training for K = %d iterations on the server: %.2f s\n", K, last_seconds);
    std::printf("max |w_enc - w_plain| over all iterations: %.2e, below 1e-3: %s\n", worst, worst < 1e-3 ? "yes" : "NO");
    std::printf("decrypted constant coordinate within 1e-3 of 1 at every iteration: %s\n", worst_one < 1e-3 ? "yes" : "NO");
    std::printf("plaintext SFH loss non-increasing: %s\n", monotone ? "yes" : "NO");
    ok &= worst < 1e-3 && worst_one < 1e-3 && monotone;

    // 6. Accuracy on the held-out rows, in the target's units ($1000s).
    auto metrics = [&](const std::vector<double>& w) {
      std::vector<double> pred = ml::predict(A_test, w);
      for (auto& p : pred) p = z.unscale_y(p);
      return std::pair<double, double>{ml::rmse(pred, split.test.y), ml::r2(pred, split.test.y)};
    };
    const auto [rmse_e, r2_e] = metrics(w_enc);
    const auto [rmse_p, r2_p] = metrics(w_plain.back());
    const auto [rmse_c, r2_c] = metrics(w_closed);
    std::printf("6. test set (%zu rows), MEDV in $1000s:\n", split.test.X.size());
    std::printf("   encrypted SFH, K = %2d: RMSE %.4f, R^2 %.4f\n", K, rmse_e, r2_e);
    std::printf("   plaintext SFH, K = %2d: RMSE %.4f, R^2 %.4f\n", K, rmse_p, r2_p);
    std::printf("   closed form          : RMSE %.4f, R^2 %.4f\n", rmse_c, r2_c);
    std::printf("encrypted and plaintext R^2 agree within 1e-3: %s\n", std::fabs(r2_e - r2_p) < 1e-3 ? "yes" : "NO");
    ok &= std::fabs(r2_e - r2_p) < 1e-3;

    // 7. One iteration more than the chain holds.
    bool level_error = false;
    try {
      (void)server.train(enc, K + 1);
    } catch (const LevelError& e) {
      level_error = true;
      std::printf("7. train with K + 1 = %d iterations: LevelError: %s\n", K + 1, e.what());
    }
    ok &= level_error;

    // 8. Ridge: the same chain, λ·P added to diag_0(ÂᵀÂ) by the server, b = 1/(B~_jj + λ).
    {
      const ml::EncryptedTrainingSet enc_r = owner.encrypt(A, {y}, lambda);
      const std::vector<double> w_r = owner.decrypt_weights(server.train(enc_r, K), lay);
      const std::vector<double> w_rp = ml::sfh_train(A, y, K, lambda).back();
      const std::vector<double> w_rc = ml::ridge_closed_form(A, y, lambda);
      auto norm = [&](const std::vector<double>& w) {
        double s2 = 0;
        for (std::size_t j = 0; j + 1 < w.size(); ++j) s2 += w[j] * w[j];
        return std::sqrt(s2);
      };
      const double diff = tutorial::max_abs_diff(w_r, w_rp);
      std::printf("8. ridge, lambda = %g (bias not penalised), K = %d:\n", lambda, K);
      std::printf("   ||w|| (features): closed-form least squares %.4f, closed-form ridge %.4f\n", norm(w_closed),
                  norm(w_rc));
      std::printf("   max |w_enc - w_plain| = %.2e, below 1e-3: %s; |w_K - w_ridge*| = %.3e\n", diff,
                  diff < 1e-3 ? "yes" : "NO", tutorial::max_abs_diff(w_rp, w_rc));
      const auto [rmse_re, r2_re] = metrics(w_r);
      const auto [rmse_rc, r2_rc] = metrics(w_rc);
      std::printf("   test: encrypted ridge RMSE %.4f, R^2 %.4f; closed-form ridge RMSE %.4f, R^2 %.4f\n", rmse_re, r2_re,
                  rmse_rc, r2_rc);
      ok &= diff < 1e-3 && (lambda == 0 || norm(w_rc) < norm(w_closed));
    }

    // 9. Several outputs: linnerud, one encrypted data set for the three targets.
    {
      const ml::RegressionSplit rs =
          ml::load_regression_split(ml::kLinnerudKeyword, "Weight,Waist,Pulse", 0.2, seed, "tutorial");
      std::vector<std::vector<double>> Y;
      std::vector<std::vector<double>> A_l;
      for (const ml::Split& sp : rs.splits) {
        const ml::Standardizer zl = ml::Standardizer::fit(sp.train);
        const ml::Dataset tr = zl.apply(sp.train);
        if (A_l.empty()) A_l = ml::with_bias_column(tr.X);
        Y.push_back(tr.y);
      }
      ml::SfhDataOwner owner_l(ctx, seed + 1);
      const ml::EncryptedTrainingSet enc_l = owner_l.encrypt(A_l, Y, 0.0);
      const ml::SfhServer server_l(ctx, owner_l.relin_key(), owner_l.galois_keys(enc_l.layout));
      const std::vector<Ciphertext> ws = server_l.train_outputs(enc_l, K);
      std::printf("9. several outputs, linnerud (%zu train rows, 3 features, targets Weight, Waist, Pulse):\n",
                  A_l.size());
      std::printf("   block B = %zu (>= d + 1 + m = %zu), %zu data ciphertexts for all %zu outputs, %zu weight "
                  "ciphertexts\n", enc_l.layout.block, enc_l.layout.d + 1 + Y.size(), enc_l.columns_rotated.size(),
                  Y.size(), ws.size());
      double worst_l = 0;
      for (std::size_t k = 0; k < Y.size(); ++k) {
        const double d = tutorial::max_abs_diff(owner_l.decrypt_weights(ws[k], enc_l.layout, nullptr, k),
                                                ml::sfh_train(A_l, Y[k], K).back());
        std::printf("   %-6s max |w_enc - w_plain (single output)| = %.2e\n", rs.targets[k].c_str(), d);
        worst_l = std::max(worst_l, d);
      }
      std::printf("   every output equals its single-output plaintext run within 1e-3: %s\n", worst_l < 1e-3 ? "yes" : "NO");
      ok &= worst_l < 1e-3;
    }

    // 10. LFFR on the Boston subset: as many iterations as the chain holds with a degree-3 sigmoid.
    {
      constexpr int kDegree = 3;
      const int K_l = ml::LffrServer::max_iterations(ctx->max_level(), kDegree);
      const ml::TargetScaling sc = ml::TargetScaling::fit(split.train.y, "MEDV");
      std::vector<double> u;
      for (double v : split.train.y) u.push_back(sc.to_unit(v));
      const ml::LffrTrace exact = ml::lffr_train(A, u, K_l, ml::sigmoid);
      const ml::LffrSigmoid sig =
          ml::LffrSigmoid::make(ml::lffr_radius_for(std::max(-exact.z_min, exact.z_max)), kDegree);
      ml::LffrDataOwner owner_f(ctx, seed + 2);
      const ml::EncryptedLffrSet enc_f = owner_f.encrypt(A, {u}, sig);
      const ml::LffrServer server_f(ctx, owner_f.relin_key(), owner_f.galois_keys(enc_f.layout));
      const Ciphertext uf = server_f.train(enc_f, K_l, sig)[0];
      const std::vector<double> w_f = owner_f.decrypt_weights(uf, enc_f.layout, sig);
      const ml::LffrTrace twin = ml::lffr_train(A, u, K_l, sig);
      const double diff = tutorial::max_abs_diff(w_f, twin.iterates.back());
      std::printf("10. LFFR, MEDV normalised into (0.1, 0.9), degree-%d sigmoid: %d levels per iteration, "
                  "levels_needed(%d) = %d of L = %d\n", kDegree, ml::LffrServer::levels_per_iteration(kDegree), K_l,
                  ml::LffrServer::levels_needed(K_l, kDegree), ctx->max_level());
      std::printf("   sigma visited z in [%.3f, %.3f]; interpolant on [-%g, %g], max error %.2e\n", exact.z_min,
                  exact.z_max, sig.radius, sig.radius, sig.max_error);
      auto lffr_r2 = [&](const std::vector<double>& w) {
        std::vector<double> pred = ml::lffr_predict(A_test, w);
        for (double& p : pred) p = sc.from_unit(p);
        return ml::r2(pred, split.test.y);
      };
      std::printf("   max |w_enc - w_plain| = %.2e, below 1e-3: %s; test R^2 encrypted %.4f, plaintext %.4f\n", diff,
                  diff < 1e-3 ? "yes" : "NO", lffr_r2(w_f), lffr_r2(twin.iterates.back()));
      ok &= diff < 1e-3 && uf.level == ctx->max_level() - ml::LffrServer::levels_needed(K_l, kDegree);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return ok ? 0 : 1;
}

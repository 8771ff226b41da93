#include "ml/nn/nn_job.h"

#include <Eigen/Eigenvalues>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>

#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/data/sklearn.h"
#include "ml/format.h"
#include "ml/linreg/linreg_plain.h"  // with_bias_column
#include "ml/logreg/logreg_minibatch_job.h"  // fashion_block_means
#include "ml/nn/nn_state.h"
#include "ml/timer.h"

namespace ckks::ml {

namespace {

using Data = NnMatrices;

Data load(const NnJobOptions& o, NnReport& rep) {
  Data d;
  if (o.data == "digits") {
    const Dataset ds = read_sklearn_digits(sklearn_data("digits.csv.gz"));
    const Split split = train_test_split(ds, 0.2, o.nn.seed);
    auto scaled = [](DenseMatrix X) {
      for (auto& row : X)
        for (auto& v : row) v /= kDigitsMaxPixel;
      return with_bias_column(X);
    };
    d.A = scaled(split.train.X);
    d.A_test = scaled(split.test.X);
    d.y = split.train.y;
    d.y_test = split.test.y;
    rep.dataset = "digits (python3-sklearn), 80/20 split";
    rep.scaling = "pixels / 16";
  } else if (o.data == "fashion-mnist-14") {
    const std::string dir = o.fashion_dir.empty() ? kDebianFashionMnistDir : o.fashion_dir;
    const ImageSet train = load_fashion_mnist(dir, true, o.train_rows), test = load_fashion_mnist(dir, false);
    d.A = with_bias_column(fashion_block_means(train));
    d.A_test = with_bias_column(fashion_block_means(test));
    d.y.assign(train.labels.begin(), train.labels.end());
    d.y_test.assign(test.labels.begin(), test.labels.end());
    rep.dataset = "fashion-mnist (" + dir + "), first " + std::to_string(d.A.size()) + " training images, all " +
                  std::to_string(d.A_test.size()) + " test images";
    rep.scaling = "2×2 block means of pixels / 255 (14×14 = 196 features)";
  } else {
    throw InputError("nn-train: --data \"" + o.data + "\" is not digits or fashion-mnist-14");
  }
  const std::string f = format_number(o.feature_scale);
  if (o.features == "centre") {
    nn_centre_features(d.A, d.A_test, o.feature_scale);
    rep.scaling += ", centred: " + f + "·(x − training mean)";
  } else if (o.features == "whiten") {
    nn_whiten_features(d.A, d.A_test, o.feature_scale, o.whiten_epsilon);
    rep.scaling += ", ZCA-whitened: " + f + "·(Σ + " + format_number(o.whiten_epsilon) + "·I)^(−1/2)·(x − training mean)";
  } else if (o.features != "raw") {
    throw InputError("nn-train: --features \"" + o.features + "\" is not centre, whiten or raw");
  }
  return d;
}

void export_for_torch(const std::string& path, const Data& d, const NnOptions& nn, const NnWeights& init,
                      const std::vector<std::vector<std::size_t>>& batches, int iterations, std::size_t C) {
  nlohmann::json j;
  j["train"] = {{"A", d.A}, {"y", d.y}};
  j["test"] = {{"A", d.A_test}, {"y", d.y_test}};
  j["init"] = {{"w1", init.w1}, {"w2", init.w2}};
  if (init.four_layer()) j["init"]["w1b"] = init.w1b;  // four layers: input → H1 → H2 → C
  j["batches"] = batches;
  j["classes"] = C;
  j["eta"] = nn.eta;
  j["momentum"] = nn.momentum;
  j["weight_decay"] = nn.weight_decay;
  j["eta_decay"] = nn.eta_decay;
  j["iterations"] = iterations;
  std::ofstream f(path);
  if (!f) throw InputError("nn-train: cannot write --export " + path);
  f << j.dump();
}

// Width of A's first row after checking that every row of A and A_test has it (`who` names the caller).
std::size_t checked_width(const DenseMatrix& A, const DenseMatrix& A_test, const char* who) {
  if (A.empty() || A[0].size() < 2)
    throw InputError(std::string(who) + ": no training rows, or rows without a feature before the bias column");
  const std::size_t D = A[0].size();
  for (const DenseMatrix* m : {&A, &A_test})
    for (const auto& row : *m)
      if (row.size() != D)
        throw InputError(std::string(who) + ": a row has " + std::to_string(row.size()) + " columns but the first has " +
                         std::to_string(D));
  return D;
}

}  // namespace

void nn_centre_features(DenseMatrix& A, DenseMatrix& A_test, double factor) {
  const std::size_t D = checked_width(A, A_test, "nn_centre_features");
  std::vector<double> mu(D - 1, 0.0);
  for (const auto& row : A)
    for (std::size_t j = 0; j + 1 < D; ++j) mu[j] += row[j] / static_cast<double>(A.size());
  for (DenseMatrix* m : {&A, &A_test})
    for (auto& row : *m)
      for (std::size_t j = 0; j + 1 < D; ++j) row[j] = factor * (row[j] - mu[j]);
}

void nn_whiten_features(DenseMatrix& A, DenseMatrix& A_test, double factor, double epsilon) {
  const std::size_t D = checked_width(A, A_test, "nn_whiten_features"), d = D - 1;
  if (!(factor > 0) || !std::isfinite(factor))
    throw InputError("nn_whiten_features: factor " + std::to_string(factor) + " is not finite and > 0 (--feature-scale)");
  if (!(epsilon >= 0) || !std::isfinite(epsilon))
    throw InputError("nn_whiten_features: epsilon " + std::to_string(epsilon) + " is not finite and ≥ 0 (--whiten-epsilon)");
  const double n = static_cast<double>(A.size());
  std::vector<double> mu(d, 0.0);
  for (const auto& row : A)
    for (std::size_t j = 0; j < d; ++j) mu[j] += row[j] / n;
  const auto di = static_cast<Eigen::Index>(d);
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(di, di);
  Eigen::VectorXd xc(di);
  for (const auto& row : A) {
    for (std::size_t j = 0; j < d; ++j) xc(static_cast<Eigen::Index>(j)) = row[j] - mu[j];
    S.selfadjointView<Eigen::Lower>().rankUpdate(xc, 1 / n);
  }
  // Σ = U·diag(λ)·Uᵀ: Eigen's SelfAdjointEigenSolver (Householder tridiagonalisation, then implicit
  // symmetric QR; Debian libeigen3-dev), reading the lower triangle that rankUpdate filled.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(S.selfadjointView<Eigen::Lower>());
  if (eig.info() != Eigen::Success)
    throw InputError("nn_whiten_features: the eigen-decomposition of the training covariance did not converge "
                     "(a feature is NaN or infinite); check the input data");
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  const Eigen::MatrixXd& U = eig.eigenvectors();
  const double lambda_max = std::max(0.0, lambda.maxCoeff());
  Eigen::VectorXd inv_sqrt(di);
  for (Eigen::Index i = 0; i < di; ++i) {
    // Σ is positive semi-definite; an eigenvalue below 10^−12·λ_max is a zero one up to rounding.
    const double l = (lambda(i) > 1e-12 * lambda_max ? lambda(i) : 0.0) + epsilon;
    if (!(l > 0))
      throw InputError("nn_whiten_features: the training covariance is singular (eigenvalue " +
                       std::to_string(lambda(i)) + ") and epsilon = 0; set --whiten-epsilon > 0");
    inv_sqrt(i) = factor / std::sqrt(l);
  }
  // T = U·diag(factor/√(λ + ε))·Uᵀ, applied to every row.
  const Eigen::MatrixXd T = U * inv_sqrt.asDiagonal() * U.transpose();
  Eigen::VectorXd out(di);
  for (DenseMatrix* m : {&A, &A_test})
    for (auto& row : *m) {
      for (std::size_t j = 0; j < d; ++j) xc(static_cast<Eigen::Index>(j)) = row[j] - mu[j];
      out.noalias() = T * xc;
      for (std::size_t i = 0; i < d; ++i) row[i] = out(static_cast<Eigen::Index>(i));
    }
}

NnRecipe nn_default_recipe(const std::string& data) {
  if (data == "digits") return {.features = "whiten", .feature_scale = 1, .eta = 1.5, .weight_decay = 0.01, .epochs = 4};
  if (data == "fashion-mnist-14")
    return {.features = "whiten", .feature_scale = 0.5, .eta = 1, .weight_decay = 0, .epochs = 3, .train_rows = 16384,
            .eta_decay = 0.01, .output_degree = 5};
  throw InputError("nn-train: --data \"" + data + "\" is not digits or fashion-mnist-14");
}

void apply_nn_recipe(NnJobOptions& o, const NnRecipe& r) {
  o.features = r.features;
  o.feature_scale = r.feature_scale;
  o.nn.eta = r.eta;
  o.nn.weight_decay = r.weight_decay;
  o.nn.epochs = r.epochs;
  o.nn.eta_decay = r.eta_decay;
  o.nn.act2 = fit_sigmoid(o.nn.act2.a, r.output_degree);
  if (r.train_rows > 0) o.train_rows = r.train_rows;
}

NnReport run_nn_job(const NnJobOptions& o, const Progress& progress,
                    const std::function<void(const NnReport&)>& before_encrypted,
                    const std::function<void(int, double, double, double)>& checkpoint) {
  const auto t_total = Clock::now();
  if (!o.resume_dir.empty())  // before loading the data: a wrong directory or option fails at once
    nn_check_run_options(nn_load_client_state(o.resume_dir).options, nn_run_options(o), o.resume_dir);
  NnReport rep;
  const Data d = load(o, rep);
  rep = run_nn_on_matrices(d, o, std::move(rep), progress, before_encrypted, checkpoint);
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

NnReport run_nn_on_matrices(const NnMatrices& d, const NnJobOptions& o, NnReport rep, const Progress& progress,
                            const std::function<void(const NnReport&)>& before_encrypted,
                            const std::function<void(int, double, double, double)>& checkpoint) {
  const auto t_total = Clock::now();
  if (d.A.empty() || d.A_test.empty() || d.A[0].size() < 2)
    throw InputError("nn: no training or test rows, or rows without a feature before the bias column");
  if (!(o.bound > 0))
    throw InputError("nn-train: --bound M = " + format_number(o.bound) +
                     "; the weights are divided by M before each refresh, so M must be positive (default 16)");
  if (!o.plaintext_only && o.nn.act1.degree != 3)
    throw InputError("nn-train: --hidden-degree " + std::to_string(o.nn.act1.degree) +
                     " is for the twin only (--plaintext-only): the encrypted iteration has no level for a quintic p1 "
                     "(ml/nn/nn_encrypted.h); use --hidden-degree 3");
  const bool resuming = !o.resume_dir.empty();
  if (resuming && o.plaintext_only)
    throw InputError("nn-train: --resume continues the encrypted run; --plaintext-only has nothing to resume (drop one)");
  std::optional<NnClientState> saved;
  if (resuming) {
    saved = nn_load_client_state(o.resume_dir);
    nn_check_run_options(saved->options, nn_run_options(o), o.resume_dir);
  }
  if (!o.state_dir.empty() && o.state_dir != o.resume_dir && !o.plaintext_only && nn_saved_iteration(o.state_dir) >= 0) {
    throw InputError("nn-train --state: \"" + o.state_dir + "\" already holds a saved run (iteration " +
                     std::to_string(nn_saved_iteration(o.state_dir)) + "); continue it with --resume " + o.state_dir +
                     ", or pass another --state directory");
  }
  const std::size_t C = d.classes;
  check_class_labels(d.y, C, "nn-train");
  rep.train_rows = d.A.size();
  rep.test_rows = d.A_test.size();
  rep.features = d.A[0].size() - 1;
  rep.classes = C;

  // The plaintext twin: intervals, then the run the encrypted one is compared with.
  const NnOptions nn = nn_choose_intervals(d.A, d.y, C, o.nn);
  if (saved && (nn.act1.a != saved->interval1 || nn.act2.a != saved->interval2))
    throw InputError("nn-train --resume: the twin fitted p1 on [−" + format_number(nn.act1.a) + ", " +
                     format_number(nn.act1.a) + "] and p2 on [−" + format_number(nn.act2.a) + ", " +
                     format_number(nn.act2.a) + "] but the saved run on [−" + format_number(saved->interval1) + ", " +
                     format_number(saved->interval1) + "] and [−" + format_number(saved->interval2) + ", " +
                     format_number(saved->interval2) + "]: the training data differ from the saved run's; resume "
                     "with the same data files");
  if (saved && nn.hidden2 > 0 && nn.act1b.a != saved->interval1b)
    throw InputError("nn-train --resume: the twin fitted p1b on [−" + format_number(nn.act1b.a) + ", " +
                     format_number(nn.act1b.a) + "] but the saved run on [−" + format_number(saved->interval1b) + ", " +
                     format_number(saved->interval1b) + "]: the training data differ from the saved run's; resume "
                     "with the same data files");
  const NnTrace tr = nn_train(d.A, d.y, C, nn);
  const auto batches = nn_batches(d.A.size(), nn.batch, nn.seed);
  rep.iterations = o.max_iterations > 0 ? std::min(o.max_iterations, tr.iterations) : tr.iterations;
  // Before the keys are made: a saved t past this command's end is refused at once (checked again on loading).
  const auto past_end = [&](int saved_t) {
    return InputError("nn-train --resume: the run saved in \"" + o.resume_dir + "\" is at iteration " +
                      std::to_string(saved_t) + " but this command stops at " + std::to_string(rep.iterations) +
                      " (--iterations counts from iteration 0); pass --iterations " + std::to_string(saved_t) +
                      " or more, or omit it");
  };
  if (resuming && nn_saved_iteration(o.resume_dir) > rep.iterations) throw past_end(nn_saved_iteration(o.resume_dir));
  rep.act1 = nn.act1;
  rep.act2 = nn.act2;
  if (nn.hidden2 > 0) {
    rep.act1b = nn.act1b;
    rep.visited_z1b = tr.max_abs_z1b;
  }
  const SigmoidPoly* act1b = nn.hidden2 > 0 ? &nn.act1b : nullptr;
  rep.visited_z1 = tr.max_abs_z1;
  rep.visited_z2 = tr.max_abs_z2;
  rep.max_abs_weight = tr.max_abs_weight;
  check_refresh_bound(tr.max_abs_weight, o.bound, rep.iterations, "nn-train");
  const NnWeights& w_plain = tr.w[static_cast<std::size_t>(rep.iterations - 1)];
  rep.accuracy_plaintext = class_accuracy(nn_predict(w_plain, d.A_test, nn.act1, act1b), d.y_test);
  if (!o.export_path.empty()) export_for_torch(o.export_path, d, nn, tr.initial, batches, rep.iterations, C);
  if (o.plaintext_only) {
    rep.seconds_total = seconds_since(t_total);
    return rep;
  }

  auto ctx = Context::create(o.boot.params);
  rep.params = o.boot.params;
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  rep.layout = NnLayout::make(rep.features, C, nn.hidden, nn.batch, ctx->max_slots(), nn.hidden2);
  const RefreshConfig rc{o.boot.config, o.bound};
  const BootstrapPlan plan = NnServer::refresh_plan(*ctx, rc, rep.layout);
  rep.data_level = plan.output_level;
  rep.weight_level = plan.output_level - PeriodicRefresher::kUnpackLevels;
  rep.schedule = NnServer::level_schedule(rep.weight_level, rep.data_level, nn.momentum, nn.act2.degree, nn.hidden2 > 0);
  if (before_encrypted) before_encrypted(rep);

  // A resumed run: the owner's secret key read back, every evaluation key regenerated from it.
  std::optional<NnDataOwner> owner_slot;
  auto t = Clock::now();
  if (resuming) {
    owner_slot.emplace(ctx, nn_load_secret_key(o.resume_dir, ctx));
    rep.seconds_resume = seconds_since(t);
    t = Clock::now();
  } else {
    owner_slot.emplace(ctx, o.test_seed);
  }
  NnDataOwner& owner = *owner_slot;
  RelinKey rk = owner.relin_key();
  GaloisKeys gk = owner.galois_keys(rep.layout, plan);
  rep.galois_keys = gk.keys.size();
  rep.relin_bytes = key_bytes(rk.key, ctx->n());
  rep.galois_bytes = galois_key_bytes(gk, ctx->n());
  rep.galois_bytes_whole_chain = static_cast<double>(gk.keys.size()) * rep.relin_bytes;
  EncapsulationKeys ek;
  if (rc.bootstrap.ephemeral_secret_weight > 0) ek = owner.encapsulation_keys(rc.bootstrap.ephemeral_secret_weight);
  rep.seconds_keygen = seconds_since(t);
  NnServer server(ctx, std::move(rk), std::move(gk), std::move(ek), rc, rep.layout, nn.act1, nn.act2, nn.eta,
                  nn.momentum, nn.weight_decay, nn.eta_decay,
                  nn.hidden2 > 0 ? std::optional<SigmoidPoly>(nn.act1b) : std::nullopt);

  // The weights: the owner's initial ones, or the server's saved state at iteration t.
  EncryptedNnWeights w, w_prev;
  int start = 0;
  if (resuming) {
    t = Clock::now();
    NnServerState st = nn_load_server_state(o.resume_dir, ctx, rep.layout, server.weight_level(),
                                            owner.secret_key().key_id);
    rep.seconds_resume += seconds_since(t);
    start = st.iteration;
    if (start > rep.iterations) throw past_end(start);
    w = std::move(st.w);
    w_prev = std::move(st.w_prev);
    server.resume_at(start);
    rep.resumed_from = start;
  }
  t = Clock::now();
  // The owner uploads every batch the iterations start … end − 1 use, once (the same batches serve
  // every epoch: iteration i uses batch i mod #batches), if the server can hold them all within
  // o.stored_batch_bytes (kStoredBatchBytes); otherwise each batch is encrypted in its own iteration and dropped after it
  // (Fashion-MNIST's default: 128 batches × 14 ciphertexts × 10 MiB = 17.5 GiB would not fit beside
  // the keys in 24 GiB). And (a fresh run) the initial weights.
  const std::size_t remaining = static_cast<std::size_t>(rep.iterations - start);  // iterations this process runs
  const std::size_t distinct = std::min(batches.size(), remaining);
  const std::size_t ct_bytes = 2 * static_cast<std::size_t>(server.data_level() + 1) * ctx->n() * sizeof(std::uint64_t);
  rep.batch_bytes = (rep.layout.groups + 1) * ct_bytes;
  rep.streamed_batches = distinct * rep.batch_bytes > o.stored_batch_bytes;
  std::vector<std::optional<EncryptedNnBatch>> enc(batches.size());
  std::size_t uploaded = 0;
  auto encrypt = [&](int it) {
    ++uploaded;
    return owner.encrypt_batch(d.A, d.y, batches[static_cast<std::size_t>(it) % batches.size()], rep.layout,
                               server.data_level());
  };
  for (int it = start; !rep.streamed_batches && it < rep.iterations && uploaded < batches.size(); ++it) {
    auto& slot = enc[static_cast<std::size_t>(it) % batches.size()];
    if (!slot) slot = encrypt(it);
  }
  if (!resuming) {
    w = owner.encrypt_weights(tr.initial, rep.layout, server.weight_level());
    w_prev = w;
  }
  rep.seconds_encrypt = seconds_since(t);

  // Saving: the owner's half (key, options, intervals), then the server's (weights at iteration `at`).
  const std::string save_dir = !o.state_dir.empty() ? o.state_dir : o.resume_dir;
  auto save = [&](int at) {
    if (save_dir.empty() || rep.saved_iteration == at) return;
    const auto t_save = Clock::now();
    nn_save_client_state(save_dir, {nn_run_options(o), nn.act1.a, nn.act2.a, nn.hidden2 > 0 ? nn.act1b.a : 0.0},
                         owner.secret_key());
    nn_save_server_state(save_dir, {w, w_prev, at});
    rep.seconds_save += seconds_since(t_save);
    rep.saved_iteration = at;
    rep.state_dir = save_dir;
  };

  t = Clock::now();
  double seconds_streamed = 0;  // encrypting streamed batches inside the loop: encryption, not training
  rep.planned_iterations = rep.iterations;
  const int plan_end = tr.iterations;
  int done = start;
  for (int it = start; it < rep.planned_iterations; ++it) {
    if (o.deadline > 0 && it > start) {
      const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      if (now + seconds_since(t) / (it - start) > o.deadline) {
        rep.stopped_early = true;
        break;
      }
    }
    if (progress) progress("iterations", static_cast<std::size_t>(it), static_cast<std::size_t>(rep.planned_iterations));
    if (rep.streamed_batches) {
      const auto t_enc = Clock::now();
      const EncryptedNnBatch batch = encrypt(it);
      seconds_streamed += seconds_since(t_enc);
      w = server.step(w, w_prev, batch);
    } else {
      w = server.step(w, w_prev, *enc[static_cast<std::size_t>(it) % batches.size()]);
    }
    done = it + 1;
    if (done % static_cast<int>(batches.size()) == 0) save(done);  // the end of an epoch
    const int every = o.checkpoint_every == 0 ? static_cast<int>(batches.size()) : o.checkpoint_every;
    if (checkpoint && every > 0 && ((it + 1) % every == 0 || it + 1 == rep.planned_iterations)) {
      const NnWeights we = owner.decrypt_weights(w, rep.layout);
      const NnWeights& wp = tr.w[static_cast<std::size_t>(it)];
      checkpoint(it + 1, class_accuracy(nn_predict(we, d.A_test, nn.act1, act1b), d.y_test),
                 class_accuracy(nn_predict(wp, d.A_test, nn.act1, act1b), d.y_test), max_weight_difference(we, wp));
    }
  }
  if (done < plan_end && done > start) save(done);  // stopped before the plan's end: --stop-by or --iterations
  if (!rep.state_dir.empty()) {
    const NnStateBytes b = nn_state_bytes(rep.state_dir);
    rep.state_bytes_client = b.client;
    rep.state_bytes_server = b.server;
  }
  rep.iterations = done;
  if (progress) progress("iterations", static_cast<std::size_t>(done), static_cast<std::size_t>(rep.planned_iterations));
  rep.seconds_train = seconds_since(t) - seconds_streamed;
  rep.seconds_encrypt += seconds_streamed;
  rep.uploaded_ciphertexts = uploaded * (rep.layout.groups + 1) + (resuming ? 0 : rep.layout.weight_ciphertexts());
  rep.stats = server.stats();
  const NnWeights& w_plain_done = done > 0 ? tr.w[static_cast<std::size_t>(done - 1)] : tr.initial;
  rep.accuracy_plaintext = class_accuracy(nn_predict(w_plain_done, d.A_test, nn.act1, act1b), d.y_test);

  rep.weights_encrypted = owner.decrypt_weights(w, rep.layout);
  const NnWeights& w_enc = rep.weights_encrypted;
  const std::vector<int> p_enc = nn_predict(w_enc, d.A_test, nn.act1, act1b),
                         p_plain = nn_predict(w_plain_done, d.A_test, nn.act1, act1b);
  rep.accuracy_encrypted = class_accuracy(p_enc, d.y_test);
  rep.agreement = agreement(p_enc, p_plain);
  rep.max_weight_error = max_weight_difference(w_enc, w_plain_done);
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

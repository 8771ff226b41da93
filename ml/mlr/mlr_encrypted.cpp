#include "ml/mlr/mlr_encrypted.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <string>

#include "ckks/approx.h"
#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ckks/polynomial.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/exact_scale.h"
#include "ml/linreg/linreg_plain.h"  // with_bias_column
#include "ml/logreg/logreg_encrypted.h"  // LogregServer: the same level count per iteration
#include "ml/logreg/logreg_plain.h"  // quadratic_gradient_preconditioner, nag_gamma, nag_step
#include "ml/spread_slots.h"

namespace ckks::ml {

namespace {

constexpr std::size_t kMaxGroup = 8;  // F ≤ 8 (see the file comment of mlr_encrypted.h)
}  // namespace

std::vector<int> MlrLayout::rotation_steps() const {
  std::vector<int> steps;
  for (int s : sum_slots_steps(group, classes)) {  // sum_slots and spread_slots over the F features
    steps.push_back(s);
    steps.push_back(-s);
  }
  for (int s : sum_slots_steps(slots / block, block)) steps.push_back(s);  // sum over the samples
  return steps;
}

MlrLayout MlrLayout::make(std::size_t n, std::size_t d, std::size_t classes, std::size_t max_slots) {
  if (n == 0 || d == 0)
    throw InputError("mlr: need at least one training sample and one feature (got n = " + std::to_string(n) +
                     ", d = " + std::to_string(d) + ")");
  if (classes < 2) throw InputError("mlr: " + std::to_string(classes) + " class(es); need at least 2");
  MlrLayout l;
  l.n = n;
  l.d = d;
  l.classes = classes;
  l.group = std::min(kMaxGroup, std::bit_ceil(d + 1));
  l.groups = (d + 1 + l.group - 1) / l.group;
  l.block = std::bit_ceil(classes * l.group);
  if (l.block > max_slots)
    throw ParameterError("mlr: " + std::to_string(classes) + " classes × " + std::to_string(l.group) +
                         " features per group need " + std::to_string(l.block) + "-slot blocks but N/2 = " +
                         std::to_string(max_slots) + "; use a larger ring (e.g. --params n15) or fewer classes");
  l.slots = std::min(max_slots, l.block * std::bit_ceil(n));
  l.ciphertexts = (n + l.blocks() - 1) / l.blocks();
  return l;
}

// ---------------------------------------------------------------- data owner

MlrDataOwner::MlrDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed) : ctx_(ctx), keys_(ctx, test_seed) {}

EncryptedMlrData MlrDataOwner::encrypt(const DenseMatrix& A, const std::vector<double>& y, std::size_t classes,
                                       double epsilon, int level) {
  if (A.empty() || A.size() != y.size())
    throw InputError("mlr encrypt: A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels; they must match and be non-empty");
  const std::vector<double> binv = quadratic_gradient_preconditioner(A, epsilon);  // validates A
  check_class_labels(y, classes, "mlr encrypt");
  const std::size_t D = A[0].size();
  if (D < 2) throw InputError("mlr encrypt: A needs at least one feature column and the bias column");
  const MlrLayout lay = MlrLayout::make(A.size(), D - 1, classes, ctx_->max_slots());
  const std::size_t S = lay.slots, R = lay.blocks(), F = lay.group, C = classes;
  if (level < -1 || level > ctx_->max_level())
    throw InputError("mlr encrypt: level " + std::to_string(level) + " is outside the chain's 0 … " +
                     std::to_string(ctx_->max_level()) + " (−1 = the top)");
  const int L = level < 0 ? ctx_->max_level() : level;
  const double scale = ctx_->default_scale();
  EncryptedMlrData out;
  out.layout = lay;
  out.x.resize(lay.ciphertexts);
  out.xb.resize(lay.ciphertexts);
  auto enc = [&](const std::vector<double>& v) { return keys_.encryptor.encrypt(keys_.encoder.encode(v, L, scale, S)); };
  for (std::size_t k = 0; k < lay.ciphertexts; ++k) {
    const std::size_t r_end = std::min(R, lay.n - k * R);
    for (std::size_t g = 0; g < lay.groups; ++g) {
      std::vector<double> vx(S, 0.0), vxb(S, 0.0);
      for (std::size_t r = 0; r < r_end; ++r)
        for (std::size_t f = 0; f < F && g * F + f < D; ++f) {
          const std::size_t j = g * F + f;
          const double a = A[k * R + r][j];
          for (std::size_t c = 0; c < C; ++c) {
            vx[lay.slot(r, f, c)] = a;
            vxb[lay.slot(r, f, c)] = a * binv[j];
          }
        }
      out.x[k].push_back(enc(vx));
      out.xb[k].push_back(enc(vxb));
    }
    std::vector<double> vy(S, 0.0);
    for (std::size_t r = 0; r < r_end; ++r)
      for (std::size_t f = 0; f < F; ++f) vy[lay.slot(r, f, static_cast<std::size_t>(y[k * R + r]))] = 1.0;
    out.y.push_back(enc(vy));
  }
  return out;
}

RelinKey MlrDataOwner::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys MlrDataOwner::galois_keys(const MlrLayout& layout) {
  return keys_.keygen.galois_keys(keys_.sk, layout.rotation_steps());
}

DenseMatrix MlrDataOwner::decrypt_weights(const std::vector<Ciphertext>& w, const MlrLayout& lay) {
  if (w.size() != lay.groups)
    throw InputError("mlr decrypt_weights: " + std::to_string(w.size()) + " ciphertexts but the layout has " +
                     std::to_string(lay.groups) + " feature groups; pass the output of MlrServer::train");
  const std::size_t D = lay.d + 1, R = lay.blocks();
  DenseMatrix W(lay.classes, std::vector<double>(D, 0.0));
  for (std::size_t g = 0; g < lay.groups; ++g) {
    const std::vector<double> z = keys_.encoder.decode(keys_.decryptor.decrypt(w[g]));
    for (std::size_t f = 0; f < lay.group && g * lay.group + f < D; ++f)
      for (std::size_t c = 0; c < lay.classes; ++c) {
        double s = 0;
        for (std::size_t r = 0; r < R; ++r) s += z[lay.slot(r, f, c)];
        W[c][g * lay.group + f] = s / static_cast<double>(R);
      }
  }
  return W;
}

// ---------------------------------------------------------------- server

MlrServer::MlrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), encoder_(ctx), ev_(ctx) {}

MlrServer::MlrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const RefreshConfig& refresh, EncapsulationKeys ek,
                     const MlrLayout& layout, int sigmoid_degree)
    : MlrServer(ctx, std::move(rk), std::move(gk)) {
  refresh_.ek = std::move(ek);
  refresh_.refresher = std::make_unique<PeriodicRefresher>(ctx, refresh, rk_, gk_, refresh_.ek, 2 * layout.groups,
                                                           layout.block, layout.slots);
  refresh_.refresher->check_budget(levels_per_iteration(sigmoid_degree), "mlr");
  refresh_.sigmoid_degree = sigmoid_degree;
}

BootstrapPlan MlrServer::refresh_plan(const Context& ctx, const RefreshConfig& refresh, const MlrLayout& layout) {
  return PeriodicRefresher::plan(ctx, refresh, 2 * layout.groups, layout.block);
}

RefreshStats MlrServer::refresh_stats() const { return refresh_.last; }

// One iteration has the steps and the level count of logistic regression's (ml/logreg/logreg_encrypted.h).
int MlrServer::levels_per_iteration(int sigmoid_degree) { return LogregServer::levels_per_iteration(sigmoid_degree); }

int MlrServer::levels_needed(int iterations, int sigmoid_degree) {
  return LogregServer::levels_needed(iterations, sigmoid_degree);
}

int MlrServer::max_iterations(int max_level, int sigmoid_degree) {
  return LogregServer::max_iterations(max_level, sigmoid_degree);
}

std::vector<Ciphertext> MlrServer::train(const EncryptedMlrData& data, const MlrOptions& o,
                                         const Progress& progress) const {
  if (o.iterations < 1)
    throw InputError("mlr train: iterations = " + std::to_string(o.iterations) + "; need at least 1");
  const int poly_levels = PolynomialEvaluator::levels_needed(unit_sigmoid(o.sigmoid_degree, 1.0));
  const MlrLayout& lay = data.layout;
  const std::size_t K = lay.ciphertexts, G = lay.groups, B = lay.block, S = lay.slots, C = lay.classes;
  if (K == 0 || data.x.size() != K || data.xb.size() != K || data.y.size() != K)
    throw InputError("mlr train: the data holds " + std::to_string(data.x.size()) + "/" +
                     std::to_string(data.xb.size()) + "/" + std::to_string(data.y.size()) +
                     " ciphertext rows for x/xb/y but the layout has " + std::to_string(K) +
                     "; pass the output of MlrDataOwner::encrypt");
  for (std::size_t k = 0; k < K; ++k)
    if (data.x[k].size() != G || data.xb[k].size() != G)
      throw InputError("mlr train: ciphertext row " + std::to_string(k) + " has " + std::to_string(data.x[k].size()) +
                       " feature groups but the layout has " + std::to_string(G));
  const int per_iteration = levels_per_iteration(o.sigmoid_degree);
  const int need =
      refresh_.levels_to_start(levels_needed(o.iterations, o.sigmoid_degree), o.sigmoid_degree, "mlr train");
  const int top = data.x[0][0].level;
  if (top < need)
    throw LevelError("mlr train: " + std::to_string(o.iterations) + " iterations need " + std::to_string(need) +
                     " levels but the data is at level " + std::to_string(top) +
                     (refresh_.refresher ? std::string("; encrypt the data at MlrServer::refresh_plan(…).output_level")
                                 : std::string("; use fewer iterations, a longer chain (e.g. Params::preset_n16()) or a "
                                               "refreshing MlrServer (bootstrapping)")));
  const double delta = ctx_->default_scale();
  const double xb_scale = data.xb[0][0].scale;
  auto prime = [&](int level) { return static_cast<double>(ctx_->q(level).value()); };
  auto report = [&](std::size_t done) {
    if (progress) progress("iterations", done, static_cast<std::size_t>(o.iterations));
  };
  // Steps 1–2 for data row k: slot r·B + c holds (A Wᵀ)_rc.
  auto margins = [&](const std::vector<Ciphertext>& wv, std::size_t k) {
    const int l = wv[0].level;
    Ciphertext p = ev_.multiply(ev_.drop_level(data.x[k][0], l), wv[0]);
    for (std::size_t g = 1; g < G; ++g) p = ev_.add(p, ev_.multiply(ev_.drop_level(data.x[k][g], l), wv[g]));
    return sum_slots(ev_, ev_.rescale(ev_.relinearize(p, rk_)), gk_, lay.group, C);
  };
  // Step 6: G[g] = Σ_k E[k] ⊙ XB[k][g], relinearised and rescaled once, summed over the R blocks.
  auto gradient = [&](const std::vector<Ciphertext>& e) {
    std::vector<Ciphertext> out;
    out.reserve(G);
    for (std::size_t g = 0; g < G; ++g) {
      Ciphertext acc = ev_.multiply(e[0], ev_.drop_level(data.xb[0][g], e[0].level));
      for (std::size_t k = 1; k < K; ++k) acc = ev_.add(acc, ev_.multiply(e[k], ev_.drop_level(data.xb[k][g], e[k].level)));
      acc = ev_.rescale(ev_.relinearize(acc, rk_));
      acc = sum_slots(ev_, acc, gk_, S / B, B);
      out.push_back(std::move(acc));
    }
    return out;
  };
  PolynomialEvaluator pe(ev_, rk_);
  std::vector<double> mask(S, 0.0);
  for (std::size_t r = 0; r < lay.blocks(); ++r)
    for (std::size_t c = 0; c < C; ++c) mask[lay.slot(r, 0, c)] = 1.0;

  // Iteration 0: V_0 = 0, so σ̃(A V_0ᵀ) = σ̃(0) everywhere: E = c_0·(Y − σ̃(0)); W_1 = G (level L − 2).
  report(0);
  const double c0 = nag_step(0, o.eta0);
  const double sig0 = sigmoid_approx(o.sigmoid_degree)(0.0);
  std::vector<Ciphertext> e(K);
  for (std::size_t k = 0; k < K; ++k)
    e[k] = ev_.add_const(mul_const_to(ev_, *ctx_, data.y[k], c0, delta * prime(top - 1) / xb_scale), -c0 * sig0);
  std::vector<Ciphertext> w = gradient(e);
  std::vector<Ciphertext> w_prev, s_prev;  // W_{t−1} and S_{t−1} (empty while they are 0)

  const RefreshStats stats_before = refresh_.refresher ? refresh_.refresher->stats() : RefreshStats{};
  for (int t = 1; t < o.iterations; ++t) {
    report(static_cast<std::size_t>(t));
    if (refresh_.refresher && PeriodicRefresher::needed_before(w[0].level, per_iteration, t + 1 == o.iterations)) {
      // Refresh W_t and W_{t−1} with one bootstrap (ml/refresh.h).
      std::vector<const Ciphertext*> state;
      for (const auto* v : {&w, &w_prev})
        for (const Ciphertext& c : *v) state.push_back(&c);
      std::vector<Ciphertext> fresh = refresh_.refresher->refresh(state);
      w.assign(std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.begin() + static_cast<long>(G)));
      if (!w_prev.empty())
        w_prev.assign(std::make_move_iterator(fresh.begin() + static_cast<long>(G)), std::make_move_iterator(fresh.end()));
    }
    const int l = w[0].level;
    const double gamma = nag_gamma(t - 1), ct = nag_step(t, o.eta0);
    const int l_res = l - 2 - poly_levels;  // level of the residual E
    const double s_u = delta * prime(l_res) / xb_scale;
    std::vector<Ciphertext> s_t(K);
    for (std::size_t k = 0; k < K; ++k) {
      // 1–2. S_t[k]: slot r·B + c holds (A W_tᵀ)_rc.
      Ciphertext p = margins(w, k);
      // After a refresh the kept S_{t−1} may sit below p's level: recompute it from W_{t−1}.
      if (!s_prev.empty() && s_prev[k].level < p.level) s_prev[k] = margins(w_prev, k);
      // 3. u = mask ⊙ (A V_tᵀ)/8 with A V_tᵀ = (1 − γ)·S_t + γ·S_{t−1}.
      Ciphertext u = mul_plain_to(ev_, encoder_, *ctx_, p, mask, (1 - gamma) / 8.0, s_u);
      if (!s_prev.empty()) u = ev_.add(u, mul_plain_to(ev_, encoder_, *ctx_, ev_.drop_level(s_prev[k], p.level), mask, gamma / 8.0, s_u));
      u = ev_.rescale(u);
      // 4. replicate slot r·B + c over the F feature positions of its block.
      u = spread_slots(ev_, u, gk_, lay.group, C);
      // 5. E = c_t·Y − c_t·σ̃(A V_tᵀ).
      e[k] = pe.evaluate(u, unit_sigmoid(o.sigmoid_degree, -ct));
      e[k] = ev_.add(e[k], mul_const_to(ev_, *ctx_, ev_.drop_level(data.y[k], l_res + 1), ct, e[k].scale));
      s_t[k] = std::move(p);
    }
    // 6. G = c_t·∇ℓ(V_t)·diag(B̄)⁻¹, group by group.
    std::vector<Ciphertext> g = gradient(e);
    // 7. W_{t+1} = V_t + G, V_t = (1 − γ)·W_t + γ·W_{t−1}.
    std::vector<Ciphertext> w_next(G);
    for (std::size_t j = 0; j < G; ++j) {
      w_next[j] = nag_next_weights(ev_, *ctx_, w[j], w_prev.empty() ? nullptr : &w_prev[j], g[j], gamma);
    }
    w_prev = std::move(w);
    s_prev = std::move(s_t);
    w = std::move(w_next);
  }
  report(static_cast<std::size_t>(o.iterations));
  if (refresh_.refresher) refresh_.last = refresh_.refresher->stats() - stats_before;
  return w;
}

}  // namespace ckks::ml

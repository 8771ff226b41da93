#include "ml/logreg/logreg_encrypted.h"

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
#include "ml/linreg/linreg_plain.h"
#include "ml/spread_slots.h"

namespace ckks::ml {

std::vector<int> LogregLayout::rotation_steps() const {
  std::vector<int> steps;
  for (int k : sum_slots_steps(block)) {  // sum_slots and spread_slots inside a block
    steps.push_back(k);
    steps.push_back(-k);
  }
  for (int s : sum_slots_steps(blocks, block)) steps.push_back(s);  // sum over the samples
  return steps;
}

LogregLayout LogregLayout::make(std::size_t n, std::size_t d, std::size_t max_slots) {
  if (n == 0 || d == 0)
    throw InputError("logreg: need at least one training sample and one feature (got n = " + std::to_string(n) +
                     ", d = " + std::to_string(d) + ")");
  LogregLayout l;
  l.n = n;
  l.d = d;
  l.block = std::bit_ceil(d + 1);
  l.blocks = std::bit_ceil(n);
  if (l.slots() > max_slots)
    throw ParameterError("logreg: " + std::to_string(n) + " samples × " + std::to_string(l.block) +
                         "-slot blocks need " + std::to_string(l.slots()) + " slots but N/2 = " +
                         std::to_string(max_slots) + "; use a larger ring (e.g. Params::preset_n15()) or fewer samples");
  return l;
}

// ---------------------------------------------------------------- data owner

LogregDataOwner::LogregDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed)
    : ctx_(ctx), keys_(ctx, test_seed) {}

EncryptedLogregData LogregDataOwner::encrypt(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                             double epsilon, int level) {
  if (A.empty() || A.size() != y.size())
    throw InputError("logreg encrypt: A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels; they must match and be non-empty");
  const std::vector<double> binv = quadratic_gradient_preconditioner(A, epsilon);  // validates A
  check_binary_labels(y, "logreg encrypt");
  const std::size_t D = A[0].size();
  if (D < 2) throw InputError("logreg encrypt: A needs at least one feature column and the bias column");
  const LogregLayout lay = LogregLayout::make(A.size(), D - 1, ctx_->max_slots());
  const std::size_t B = lay.block, S = lay.slots();
  if (level < -1 || level > ctx_->max_level())
    throw InputError("logreg encrypt: level " + std::to_string(level) + " is outside the chain's 0 … " +
                     std::to_string(ctx_->max_level()) + " (−1 = the top)");
  const int L = level < 0 ? ctx_->max_level() : level;
  const double scale = ctx_->default_scale();
  std::vector<double> vx(S, 0.0), vxb(S, 0.0), vy(S, 0.0);
  for (std::size_t r = 0; r < lay.n; ++r) {
    for (std::size_t j = 0; j < D; ++j) {
      vx[r * B + j] = A[r][j];
      vxb[r * B + j] = A[r][j] * binv[j];
    }
    for (std::size_t j = 0; j < B; ++j) vy[r * B + j] = y[r];
  }
  EncryptedLogregData out;
  out.layout = lay;
  out.x = keys_.encryptor.encrypt(keys_.encoder.encode(vx, L, scale, S));
  out.xb = keys_.encryptor.encrypt(keys_.encoder.encode(vxb, L, scale, S));
  out.y = keys_.encryptor.encrypt(keys_.encoder.encode(vy, L, scale, S));
  return out;
}

RelinKey LogregDataOwner::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys LogregDataOwner::galois_keys(const LogregLayout& layout) {
  return keys_.keygen.galois_keys(keys_.sk, layout.rotation_steps());
}

std::vector<double> LogregDataOwner::decrypt_weights(const Ciphertext& w, const LogregLayout& layout) {
  const auto z = keys_.encoder.decode(keys_.decryptor.decrypt(w));
  const std::size_t D = layout.d + 1;
  std::vector<double> weights(D, 0.0);
  for (std::size_t r = 0; r < layout.blocks; ++r)
    for (std::size_t j = 0; j < D; ++j) weights[j] += z[r * layout.block + j];
  for (auto& x : weights) x /= static_cast<double>(layout.blocks);
  return weights;
}

// ---------------------------------------------------------------- server

LogregServer::LogregServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), encoder_(ctx), ev_(ctx) {}

LogregServer::LogregServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const RefreshConfig& refresh,
                           EncapsulationKeys ek, const LogregLayout& layout, int sigmoid_degree)
    : LogregServer(ctx, std::move(rk), std::move(gk)) {
  refresh_.ek = std::move(ek);
  refresh_.refresher =
      std::make_unique<PeriodicRefresher>(ctx, refresh, rk_, gk_, refresh_.ek, 2, layout.block, layout.slots());
  refresh_.refresher->check_budget(levels_per_iteration(sigmoid_degree), "logreg");
  refresh_.sigmoid_degree = sigmoid_degree;
}

BootstrapPlan LogregServer::refresh_plan(const Context& ctx, const RefreshConfig& refresh, const LogregLayout& layout) {
  return PeriodicRefresher::plan(ctx, refresh, 2, layout.block);
}

int LogregServer::levels_per_iteration(int sigmoid_degree) {
  return 3 + PolynomialEvaluator::levels_needed(unit_sigmoid(sigmoid_degree, 1.0));
}

int LogregServer::levels_needed(int iterations, int sigmoid_degree) {
  return 2 + (iterations - 1) * levels_per_iteration(sigmoid_degree);
}

Ciphertext nag_next_weights(const Evaluator& ev, const Context& ctx, const Ciphertext& w, const Ciphertext* w_prev,
                            const Ciphertext& g, double gamma) {
  const double delta = ctx.default_scale();
  Ciphertext v = mul_const_to(ev, ctx, w, 1 - gamma, delta);
  if (w_prev) v = ev.add(v, mul_const_to(ev, ctx, ev.drop_level(*w_prev, w.level), gamma, delta));
  return ev.add(ev.drop_level(v, g.level), g);
}

int LogregServer::max_iterations(int max_level, int sigmoid_degree) {
  return max_level >= 2 ? 1 + (max_level - 2) / levels_per_iteration(sigmoid_degree) : 0;
}

Ciphertext LogregServer::train(const EncryptedLogregData& data, const LogregOptions& o,
                               const Progress& progress) const {
  if (o.iterations < 1)
    throw InputError("logreg train: iterations = " + std::to_string(o.iterations) + "; need at least 1");
  const int poly_levels = PolynomialEvaluator::levels_needed(unit_sigmoid(o.sigmoid_degree, 1.0));
  const int per_iteration = levels_per_iteration(o.sigmoid_degree);
  const int need =
      refresh_.levels_to_start(levels_needed(o.iterations, o.sigmoid_degree), o.sigmoid_degree, "logreg train");
  const int top = data.x.level;
  if (top < need)
    throw LevelError("logreg train: " + std::to_string(o.iterations) + " iterations need " + std::to_string(need) +
                     " levels but the data is at level " + std::to_string(top) +
                     (refresh_.refresher ? std::string("; encrypt the data at LogregServer::refresh_plan(…).output_level")
                                 : std::string("; use fewer iterations, a longer chain (e.g. Params::preset_n16()) or a "
                                               "refreshing LogregServer (bootstrapping)")));
  const LogregLayout& lay = data.layout;
  const std::size_t B = lay.block, S = lay.slots();
  const double delta = ctx_->default_scale();
  auto prime = [&](int level) { return static_cast<double>(ctx_->q(level).value()); };
  auto report = [&](std::size_t done) {
    if (progress) progress("iterations", done, static_cast<std::size_t>(o.iterations));
  };
  // residual ⊙ xb, rescaled, summed over the samples: c_t·B̄⁻¹Aᵀ(y − σ̃) replicated, scale Δ when
  // the residual's scale is Δ·q_ℓ/Δ_xb.
  auto gradient = [&](const Ciphertext& e) {
    const Ciphertext xb = ev_.drop_level(data.xb, e.level);
    return sum_slots(ev_, ev_.rescale(ev_.multiply_relin(e, xb, rk_)), gk_, S / B, B);
  };
  // Steps 1–2: slot r·B holds (A w)_r.
  auto margins = [&](const Ciphertext& wv) {
    return sum_slots(ev_, ev_.rescale(ev_.multiply_relin(ev_.drop_level(data.x, wv.level), wv, rk_)), gk_, B);
  };
  PolynomialEvaluator pe(ev_, rk_);
  std::vector<double> mask(S, 0.0);
  for (std::size_t r = 0; r < lay.blocks; ++r) mask[r * B] = 1.0;

  // Iteration 0: v_0 = 0, so σ̃(A v_0) = σ̃(0) in every slot: e = c_0·(y − σ̃(0)).
  report(0);
  const double c0 = nag_step(0, o.eta0);
  const double sig0 = sigmoid_approx(o.sigmoid_degree)(0.0);
  Ciphertext e0 = mul_const_to(ev_, *ctx_, data.y, c0, delta * prime(top - 1) / data.xb.scale);
  e0 = ev_.add_const(e0, -c0 * sig0);
  Ciphertext w = gradient(e0);  // w_1 = v_0 + c_0·G(v_0), level L − 2, scale Δ
  std::optional<Ciphertext> w_prev, s_prev;  // w_{t−1} and S_{t−1} (absent while they are 0)

  const RefreshStats stats_before = refresh_.refresher ? refresh_.refresher->stats() : RefreshStats{};
  for (int t = 1; t < o.iterations; ++t) {
    report(static_cast<std::size_t>(t));
    if (refresh_.refresher && PeriodicRefresher::needed_before(w.level, per_iteration, t + 1 == o.iterations)) {
      // Refresh w_t and w_{t−1} with one bootstrap (ml/refresh.h).
      std::vector<Ciphertext> fresh = refresh_.refresher->refresh(w_prev ? std::vector<const Ciphertext*>{&w, &*w_prev}
                                                                 : std::vector<const Ciphertext*>{&w});
      w = std::move(fresh[0]);
      if (w_prev) w_prev = std::move(fresh[1]);
    }
    const int l = w.level;
    const double gamma = nag_gamma(t - 1), ct = nag_step(t, o.eta0);
    const int l_res = l - 2 - poly_levels;  // level of the residual
    const double s_u = delta * prime(l_res) / data.xb.scale;
    // 1–2. S_t: slot r·B holds (A w_t)_r.
    Ciphertext s_t = margins(w);
    // After a refresh the kept S_{t−1} may sit below s_t's level: recompute it from w_{t−1}.
    if (s_prev && s_prev->level < s_t.level) s_prev = margins(*w_prev);
    // 3. u = mask ⊙ (A v_t)/8 with A v_t = (1 − γ)·S_t + γ·S_{t−1}.
    Ciphertext u = mul_plain_to(ev_, encoder_, *ctx_, s_t, mask, (1 - gamma) / 8.0, s_u);
    if (s_prev) u = ev_.add(u, mul_plain_to(ev_, encoder_, *ctx_, ev_.drop_level(*s_prev, s_t.level), mask, gamma / 8.0, s_u));
    u = ev_.rescale(u);
    // 4. replicate slot r·B over its block.
    u = spread_slots(ev_, u, gk_, B);
    // 5. e = c_t·y − c_t·σ̃(A v_t).
    Ciphertext e = pe.evaluate(u, unit_sigmoid(o.sigmoid_degree, -ct));
    e = ev_.add(e, mul_const_to(ev_, *ctx_, ev_.drop_level(data.y, l_res + 1), ct, e.scale));
    // 6. G' = c_t·B̄⁻¹ g(v_t).
    Ciphertext g = gradient(e);
    // 7. w_{t+1} = v_t + G', v_t = (1 − γ)·w_t + γ·w_{t−1} (off the critical path).
    Ciphertext w_next = nag_next_weights(ev_, *ctx_, w, w_prev ? &*w_prev : nullptr, g, gamma);
    w_prev = std::move(w);
    s_prev = std::move(s_t);
    w = std::move(w_next);
  }
  report(static_cast<std::size_t>(o.iterations));
  if (refresh_.refresher) refresh_.last = refresh_.refresher->stats() - stats_before;
  return w;
}

}  // namespace ckks::ml

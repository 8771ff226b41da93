#include "ml/refresh.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <string>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/exact_scale.h"
#include "ml/format.h"
#include "ml/timer.h"

namespace ckks::ml {

std::size_t packed_slots(std::size_t count, std::size_t period) {
  if (count == 0 || period == 0)
    throw InputError("packed_slots: count = " + std::to_string(count) + ", period = " + std::to_string(period) +
                     "; both must be at least 1");
  return std::max<std::size_t>(2, std::bit_ceil(count * period));
}

void check_refresh_bound(double max_abs_weight, double bound, int iterations, const char* op) {
  if (!(max_abs_weight <= bound))  // NaN too
    throw InputError(std::string(op) + ": after " + std::to_string(iterations) + " iterations the weights reach |w| = " +
                     format_number(max_abs_weight) + " (plaintext run) but bootstrapping refreshes values up to M = " +
                     format_number(bound) + "; use fewer --iterations");
}

GaloisKeys galois_keys_with_bootstrap(ClientKeys& keys, std::vector<int> steps, const BootstrapPlan& plan,
                                      int steps_max_level) {
  std::vector<int> boot = plan.rotation_steps;
  std::sort(boot.begin(), boot.end());
  std::sort(steps.begin(), steps.end());
  std::vector<int> own;  // the model's steps the bootstrap does not use
  std::set_difference(steps.begin(), steps.end(), boot.begin(), boot.end(), std::back_inserter(own));
  own.erase(std::unique(own.begin(), own.end()), own.end());
  GaloisKeys gk = keys.keygen.galois_keys(keys.sk, boot, plan.conjugation);
  GaloisKeys low = keys.keygen.galois_keys(keys.sk, own, false, steps_max_level);
  gk.keys.merge(low.keys);  // a step the bootstrap also uses (another step, same Galois element) keeps its whole-chain key
  return gk;
}

BootstrapPlan PeriodicRefresher::plan(const Context& ctx, const RefreshConfig& cfg, std::size_t count,
                                      std::size_t period) {
  BootstrapConfig bc = cfg.bootstrap;
  bc.slots = packed_slots(count, period);
  return Bootstrapper::plan(ctx, bc);
}

namespace {

BootstrapConfig with_slots(BootstrapConfig bc, std::size_t n) {
  bc.slots = n;
  return bc;
}

}  // namespace

PeriodicRefresher::PeriodicRefresher(ContextPtr ctx, const RefreshConfig& cfg, const RelinKey& rk,
                                     const GaloisKeys& gk, const EncapsulationKeys& ek, std::size_t count,
                                     std::size_t period, std::size_t slots)
    : ctx_(ctx), cfg_(cfg), gk_(&gk), encoder_(ctx), ev_(ctx), count_(count), period_(period), slots_(slots),
      n_(packed_slots(count, period)) {
  if (n_ > slots)
    throw ParameterError("refresh: " + std::to_string(count) + " ciphertexts of period " + std::to_string(period) +
                         " pack into " + std::to_string(n_) + " slots but the ciphertexts have only " +
                         std::to_string(slots) + "; use more samples or a larger ring");
  if (!(cfg.bound > 0))
    throw ParameterError("refresh: bound M = " + format_number(cfg.bound) + "; it must be positive");
  const BootstrapConfig bc = with_slots(cfg.bootstrap, n_);
  cfg_.bootstrap = bc;
  boot_ = bc.ephemeral_secret_weight > 0 ? std::make_unique<Bootstrapper>(ctx, bc, rk, gk, ek)
                                         : std::make_unique<Bootstrapper>(ctx, bc, rk, gk);
}

void PeriodicRefresher::check_budget(int iteration_levels, const char* op) const {
  if (output_level() - iteration_levels < kPackLevels)
    throw ParameterError(std::string(op) + ": a refresh leaves " + std::to_string(output_level()) +
                         " levels (bootstrap output level " + std::to_string(boot_->plan().output_level) +
                         " − 1 to unpack) but an iteration needs " + std::to_string(iteration_levels) + " + " +
                         std::to_string(kPackLevels) + " to pack for the next refresh; use bootstrapping parameters "
                         "with more user levels or a lower sigmoid degree");
}

std::vector<Ciphertext> PeriodicRefresher::refresh(const std::vector<const Ciphertext*>& cts) const {
  if (cts.empty() || cts.size() > count_)
    throw InputError("refresh: " + std::to_string(cts.size()) + " ciphertexts; this refresher packs 1 to " +
                     std::to_string(count_));
  int level = cts[0]->level;
  for (std::size_t j = 0; j < cts.size(); ++j) {
    if (cts[j]->slots != slots_ || cts[j]->level < 1)
      throw InputError("refresh: ciphertext " + std::to_string(j) + " has " + std::to_string(cts[j]->slots) +
                       " slots at level " + std::to_string(cts[j]->level) + "; need " + std::to_string(slots_) +
                       " slots at level ≥ 1 (packing costs one level)");
    level = std::min(level, cts[j]->level);
  }
  const auto t0 = Clock::now();
  const double delta = ctx_->default_scale();
  auto mask = [&](std::size_t j) {  // 1 on block j of every period of n slots
    std::vector<double> m(slots_, 0.0);
    for (std::size_t i = 0; i < slots_; ++i)
      if ((i % n_) / period_ == j) m[i] = 1.0;
    return m;
  };
  // Pack: p = Σ_j (1/M)·mask_j ⊙ a_j, rescaled once to exactly Δ.
  Ciphertext p;
  for (std::size_t j = 0; j < cts.size(); ++j) {
    Ciphertext term = mul_plain_to(ev_, encoder_, *ctx_, ev_.drop_level(*cts[j], level), mask(j), 1.0 / cfg_.bound, delta);
    p = j == 0 ? std::move(term) : ev_.add(p, term);
  }
  p = ev_.drop_level(ev_.rescale(p), 0);
  p.slots = n_;  // n-periodic: the same message read as an n-slot ciphertext
  const auto tb = Clock::now();
  Ciphertext fresh = boot_->bootstrap(p);
  stats_.seconds_bootstrap += seconds_since(tb);
  fresh.slots = slots_;
  // Unpack: a_j = sum over the n/B blocks of a period of M·mask_j ⊙ p.
  std::vector<Ciphertext> out;
  out.reserve(cts.size());
  for (std::size_t j = 0; j < cts.size(); ++j) {
    Ciphertext a = ev_.rescale(mul_plain_to(ev_, encoder_, *ctx_, fresh, mask(j), cfg_.bound, delta));
    out.push_back(sum_slots(ev_, a, *gk_, n_ / period_, period_));
  }
  ++stats_.bootstraps;
  stats_.seconds += seconds_since(t0);
  return out;
}

int TrainingRefresh::levels_to_start(int need, int degree, const char* op) const {
  if (!refresher) return need;
  if (degree != sigmoid_degree)
    throw InputError(std::string(op) + ": sigmoid degree " + std::to_string(degree) +
                     " but the refreshing server was built for degree " + std::to_string(sigmoid_degree));
  return std::min(need, 2 + PeriodicRefresher::kPackLevels);
}

}  // namespace ckks::ml

#include "ckks/bootstrapping.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <sstream>
#include <string>

#include "ckks/keyswitch.h"
#include "ckks/math/errors.h"
#include "ckks/math/modarith.h"
#include "ckks/polynomial.h"

namespace ckks {

using cplx = std::complex<double>;

namespace {

bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

int log2_exact(std::size_t x) {
  int l = 0;
  while ((std::size_t(1) << l) < x) ++l;
  return l;
}

std::string str(std::size_t x) { return std::to_string(x); }

double prime(const Context& ctx, int level) { return static_cast<double>(ctx.q(level).value()); }

// The diagonal k of m, created as zeros when absent.
std::vector<cplx>& diagonal(DiagonalMatrix& m, std::size_t k) {
  auto& d = m.diags[k];
  if (d.empty()) d.assign(m.size, cplx(0));
  return d;
}

// The factors of both transforms, before any scalar: the scalars go into the diagonals' scales.
//  CoeffsToSlots: the inverse butterflies (len = n … 2) in c groups; the last group's rows times
//    1/2 (full slots: y = U·w/2) or times (1/2 ‖ −i/2) (sparse: y = (u/2 ‖ −i·u/2)).
//  SlotsToCoeffs: the forward butterflies (len = 2 … n) in s groups; for sparse slots the first
//    group starts with the combination (a ‖ b) ↦ (a + i·b ‖ a + i·b).
struct Factors {
  std::size_t size = 0;  // slots the transforms act on: n (full) or 2n (sparse)
  std::vector<DiagonalMatrix> cts, stc;
};

Factors build_factors(std::size_t n, bool sparse, int c, int s) {
  Factors f;
  f.size = sparse ? 2 * n : n;
  f.cts = merge_stages(special_fft_stages(n, f.size, true), c);
  std::vector<cplx> rows(f.size, cplx(0.5));
  if (sparse)
    for (std::size_t i = n; i < 2 * n; ++i) rows[i] = cplx(0, -0.5);
  f.cts.back().scale_rows(rows);

  std::vector<DiagonalMatrix> stages = special_fft_stages(n, f.size, false);
  if (sparse) {
    DiagonalMatrix comb;
    comb.size = f.size;
    auto& d0 = diagonal(comb, 0);
    auto& dn = diagonal(comb, n);
    for (std::size_t i = 0; i < n; ++i) {
      d0[i] = 1;               // out_i = a_i + i·b_i        (b_i = slot i + n)
      dn[i] = cplx(0, 1);
      d0[i + n] = cplx(0, 1);  // out_{i+n} = a_i + i·b_i    (a_i = slot i + n − n, offset n ≡ −n)
      dn[i + n] = 1;
    }
    stages.front() = stages.front() * comb;
  }
  f.stc = merge_stages(stages, s);
  return f;
}

std::vector<std::size_t> offsets(const DiagonalMatrix& m) {
  std::vector<std::size_t> o;
  for (const auto& [k, d] : m.diags) o.push_back(k);
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Preset

BootstrapPreset bootstrap_preset_n16(std::size_t slots) {
  if (slots != 0 && (!is_pow2(slots) || slots < 2 || slots > 32768))
    throw ParameterError("bootstrap_preset_n16: slots = " + str(slots) +
                         " must be 0 (N/2 = 32768) or a power of two in [2, 32768]");
  BootstrapPreset b;
  Params& p = b.params;
  p.log_n = 16;
  p.log_q = {60};
  p.log_q.insert(p.log_q.end(), 9, 40);   // user levels 1..9
  p.log_q.insert(p.log_q.end(), 3, 40);   // SlotsToCoeffs
  p.log_q.insert(p.log_q.end(), 12, 60);  // EvalMod
  p.log_q.insert(p.log_q.end(), 3, 60);   // CoeffsToSlots
  p.log_p = {61, 61, 61, 61, 61};
  p.dnum = 6;
  p.log_scale = 40;
  BootstrapConfig& c = b.config;
  c.slots = slots;
  c.cts_levels = 3;
  c.stc_levels = 3;
  c.k = 384;
  c.cos_degree = 127;
  c.double_angle = 5;
  // Full slots: best measured at N = 2^16 (docs/bootstrapping.md, "Where the last bits go"); fewer
  // slots: 2^8, measured at 1024 slots.
  c.log_message_ratio = slots == 0 || slots == 32768 ? 4.25 : 8;
  return b;
}

BootstrapPreset bootstrap_preset_n16_sparse_secret(std::size_t slots) {
  BootstrapPreset b = bootstrap_preset_n16(slots);
  Params& p = b.params;
  // Δ = 2^44 and 61-bit EvalMod primes: the bootstrap's floor is the rounding error of rescaling
  // under the dense secret, about √(N·h/12) per slot, against the output scale Δ and EvalMod's σ;
  // 45-bit SlotsToCoeffs primes encode its diagonals precisely enough that their rounding (the
  // same at every bootstrap) does not add up over bootstraps in a row (docs/bootstrapping.md,
  // "Where the last bits go").
  p.log_q = {60};
  p.log_q.insert(p.log_q.end(), 9, 44);  // user levels 1..9
  p.log_q.insert(p.log_q.end(), 3, 45);  // SlotsToCoeffs
  p.log_q.insert(p.log_q.end(), 11, 61);  // EvalMod
  p.log_q.insert(p.log_q.end(), 3, 60);  // CoeffsToSlots
  p.log_scale = 44;
  BootstrapConfig& c = b.config;
  c.ephemeral_secret_weight = 32;
  c.k = 16;
  c.cos_degree = 31;
  c.double_angle = 4;
  c.arcsine_degree = 3;
  c.log_message_ratio = 3;  // full slots; n slots: 3 + log2(N/(2n))/2
  c.ratio_grows_with_sparse_slots = true;
  return b;
}

// ---------------------------------------------------------------------------------------------
// The special FFT as sparse factors

std::vector<DiagonalMatrix> special_fft_stages(std::size_t n, std::size_t size, bool inverse) {
  if (!is_pow2(n) || n < 2 || (size != n && size != 2 * n))
    throw InputError("special_fft_stages: n = " + str(n) + " must be a power of two ≥ 2 and size = " + str(size) +
                     " either n or 2n");
  std::vector<DiagonalMatrix> stages;
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len / 2, m = 4 * len;
    DiagonalMatrix st;
    st.size = size;
    auto& d0 = diagonal(st, 0);
    auto& up = diagonal(st, half);          // row r reads slot r + half
    auto& down = diagonal(st, size - half);  // row r reads slot r − half
    std::uint64_t p5 = 1;                    // 5^j mod 4·len
    for (std::size_t j = 0; j < half; ++j, p5 = (p5 * 5) % m) {
      // ζ_{4·len}^(5^j), the twiddle of the encoder's stage of length len.
      const double angle = 2 * std::numbers::pi * static_cast<double>(p5) / static_cast<double>(m);
      const cplx w(std::cos(angle), std::sin(angle));
      for (std::size_t i = 0; i < size; i += len) {
        const std::size_t r = i + j, r2 = i + j + half;
        if (!inverse) {  // (a, b) ↦ (a + w·b, a − w·b)
          d0[r] = 1;
          up[r] = w;
          down[r2] = 1;
          d0[r2] = -w;
        } else {  // (a, b) ↦ (a + b, conj(w)·(a − b))
          d0[r] = 1;
          up[r] = 1;
          down[r2] = std::conj(w);
          d0[r2] = -std::conj(w);
        }
      }
    }
    stages.push_back(std::move(st));
  }
  if (inverse) std::reverse(stages.begin(), stages.end());
  return stages;
}

std::vector<DiagonalMatrix> merge_stages(const std::vector<DiagonalMatrix>& stages, int groups) {
  const int count = static_cast<int>(stages.size());
  if (groups < 1 || groups > count)
    throw InputError("merge_stages: " + std::to_string(groups) + " groups for " + std::to_string(count) +
                     " stages; use between 1 and " + std::to_string(count));
  std::vector<DiagonalMatrix> out;
  std::size_t next = 0;
  for (int g = 0; g < groups; ++g) {
    const int take = count / groups + (g < count % groups ? 1 : 0);
    DiagonalMatrix m = stages[next++];
    for (int t = 1; t < take; ++t) m = stages[next++] * m;
    out.push_back(std::move(m));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plan

std::string BootstrapPlan::describe() const {
  std::ostringstream s;
  s << "bootstrapping plan, n = " << slots << " slots\n"
    << "  stage            levels   level after\n"
    << "  ModRaise              0   " << top_level << "\n";
  if (trace_rotations) s << "  trace (sparse)        0   " << top_level << "   (" << trace_rotations << " rotations)\n";
  s << "  CoeffsToSlots        " << (cts_levels < 10 ? " " : "") << cts_levels << "   " << top_level - cts_levels << "\n"
    << "  EvalMod              " << (eval_mod_levels < 10 ? " " : "") << eval_mod_levels << "   "
    << top_level - cts_levels - eval_mod_levels << "\n"
    << "  SlotsToCoeffs        " << (stc_levels < 10 ? " " : "") << stc_levels << "   " << output_level << "\n"
    << "  levels left to the user: " << output_level << "\n"
    << "  Galois keys: " << galois_keys() << " (" << rotation_steps.size() << " rotations"
    << (conjugation ? " + conjugation" : "") << "), " << galois_key_bytes / 1048576.0 << " MiB each, "
    << galois_keys() * galois_key_bytes / 1073741824.0 << " GiB in all\n";
  if (ephemeral_secret_weight)
    s << "  sparse-secret encapsulation, h' = " << ephemeral_secret_weight
      << ": keys s -> s' (level 0, modulo q_0·p_0) and s' -> s (" << galois_key_bytes / 1048576.0 << " MiB)\n";
  if (error_reduction_bits)
    s << "  error reduction, k = " << error_reduction_bits
      << " bits: a second bootstrap of 2^k·(output − input), no extra level\n";
  s << "  rotation steps:";
  for (int r : rotation_steps) s << ' ' << r;
  s << '\n';
  return s.str();
}

BootstrapPlan Bootstrapper::plan(const Context& ctx, const BootstrapConfig& cfg) {
  const std::size_t N = ctx.n();
  const std::size_t n = cfg.slots ? cfg.slots : N / 2;
  if (!is_pow2(n) || n < 2 || n > N / 2)
    throw ParameterError("bootstrapping: slots = " + str(n) + " must be a power of two in [2, N/2 = " + str(N / 2) +
                         "]; set BootstrapConfig::slots");
  const int log_n = log2_exact(n);
  for (auto [v, name] : {std::pair{cfg.cts_levels, "cts_levels"}, std::pair{cfg.stc_levels, "stc_levels"}})
    if (v < 1 || v > log_n)
      throw ParameterError(std::string("bootstrapping: ") + name + " = " + std::to_string(v) +
                           " must be in [1, log2(slots) = " + std::to_string(log_n) +
                           "] (each level merges FFT stages; there are log2(slots) of them)");
  if (!(cfg.k > 0) || !std::isfinite(cfg.k))
    throw ParameterError("bootstrapping: K = " + std::to_string(cfg.k) + " must be positive (a bound on |I|)");
  if (cfg.cos_degree < 1)
    throw ParameterError("bootstrapping: cos_degree = " + std::to_string(cfg.cos_degree) + " must be at least 1");
  if (!(cfg.log_message_ratio >= 0) || !std::isfinite(cfg.log_message_ratio))
    throw ParameterError("bootstrapping: log_message_ratio = " + std::to_string(cfg.log_message_ratio) +
                         " must be ≥ 0");
  if (cfg.double_angle < 0)
    throw ParameterError("bootstrapping: double_angle = " + std::to_string(cfg.double_angle) +
                         " must be ≥ 0");
  if (cfg.ephemeral_secret_weight < 0 || static_cast<std::size_t>(cfg.ephemeral_secret_weight) > N)
    throw ParameterError("bootstrapping: ephemeral_secret_weight = " + std::to_string(cfg.ephemeral_secret_weight) +
                         " must be 0 (no encapsulation) or a Hamming weight in [1, N = " + str(N) + "]");
  if (cfg.arcsine_degree != 0 && (cfg.arcsine_degree < 3 || cfg.arcsine_degree % 2 == 0))
    throw ParameterError("bootstrapping: arcsine_degree = " + std::to_string(cfg.arcsine_degree) +
                         " must be 0 (no correction) or an odd degree ≥ 3");
  if (cfg.error_reduction_bits < 0 || cfg.error_reduction_bits > 40)
    throw ParameterError("bootstrapping: error_reduction_bits = " + std::to_string(cfg.error_reduction_bits) +
                         " must be 0 (off) or k in [1, 40], a few bits below the worst-slot precision of one "
                         "bootstrap (2^k·ε must stay in |z| ≤ 1)");
  BootstrapPlan p;
  p.slots = n;
  p.top_level = ctx.max_level();
  p.trace_rotations = log2_exact(N / (2 * n));
  p.cts_levels = cfg.cts_levels;
  p.stc_levels = cfg.stc_levels;
  p.eval_mod_levels = PolynomialEvaluator::levels_needed(cfg.cos_degree) + cfg.double_angle +
                      PolynomialEvaluator::levels_needed(cfg.arcsine_degree);
  p.output_level = p.top_level - p.cts_levels - p.eval_mod_levels - p.stc_levels;
  if (p.output_level < 1)
    throw ParameterError("bootstrapping: the chain has L = " + std::to_string(p.top_level) +
                         " levels but CoeffsToSlots takes " + std::to_string(p.cts_levels) + ", EvalMod " +
                         std::to_string(p.eval_mod_levels) + " (cosine of degree " + std::to_string(cfg.cos_degree) +
                         " + " + std::to_string(cfg.double_angle) + " double angles) and SlotsToCoeffs " +
                         std::to_string(p.stc_levels) + ", leaving " + std::to_string(p.output_level) +
                         " levels; add primes to Params::log_q or lower cts_levels, stc_levels, cos_degree or "
                         "double_angle");
  // Keys: one per distinct Galois element (two steps can give the same element).
  std::map<std::uint64_t, int> by_element;
  auto add = [&](int step) {
    const std::uint64_t g = ctx.galois_element(step);
    if (g != 1) by_element.emplace(g, step);
  };
  for (int j = 0; j < p.trace_rotations; ++j) add(static_cast<int>(n << j));
  const Factors f = build_factors(n, n < N / 2, cfg.cts_levels, cfg.stc_levels);
  for (const auto* list : {&f.cts, &f.stc})
    for (const auto& m : *list) {
      const auto o = offsets(m);
      for (int step : DiagonalTransform::steps_for(o, f.size, DiagonalTransform::best_baby_steps(o, f.size)))
        add(step);
    }
  for (const auto& [g, step] : by_element) p.rotation_steps.push_back(step);
  std::sort(p.rotation_steps.begin(), p.rotation_steps.end());
  p.conjugation = true;
  p.ephemeral_secret_weight = cfg.ephemeral_secret_weight;
  p.error_reduction_bits = cfg.error_reduction_bits;
  const int L = ctx.max_level();
  p.galois_key_bytes = ctx.num_digits(L) * 2 * (static_cast<std::size_t>(L) + 1 + ctx.num_special()) * N * 8;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Bootstrapper

Bootstrapper::Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk)
    : Bootstrapper(std::move(ctx), cfg, rk, gk, nullptr) {}

Bootstrapper::Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk,
                           const EncapsulationKeys& ek)
    : Bootstrapper(std::move(ctx), cfg, rk, gk, &ek) {}

Bootstrapper::Bootstrapper(ContextPtr ctx, const BootstrapConfig& cfg, const RelinKey& rk, const GaloisKeys& gk,
                           const EncapsulationKeys* ek)
    : ctx_(std::move(ctx)), cfg_(cfg), plan_(plan(*ctx_, cfg)), enc_(ctx_), ev_(ctx_), rk_(&rk), gk_(&gk), ek_(ek) {
  if (cfg_.ephemeral_secret_weight > 0 && !ek_)
    throw MissingKeyError("Bootstrapper: ephemeral_secret_weight = " + std::to_string(cfg_.ephemeral_secret_weight) +
                          " asks for sparse-secret encapsulation; pass KeyGenerator::encapsulation_keys(sk, " +
                          std::to_string(cfg_.ephemeral_secret_weight) + ") to the constructor");
  if (ek_ && ek_->hamming_weight != cfg_.ephemeral_secret_weight)
    throw ParameterError("Bootstrapper: the encapsulation keys are for h' = " + std::to_string(ek_->hamming_weight) +
                         " but ephemeral_secret_weight = " + std::to_string(cfg_.ephemeral_secret_weight) +
                         "; make them with KeyGenerator::encapsulation_keys(sk, " +
                         std::to_string(cfg_.ephemeral_secret_weight) + ")");
  if (ek_ && (ek_->dense_to_sparse.context != ctx_ || ek_->sparse_to_dense.context != ctx_))
    throw ParameterError("Bootstrapper: the encapsulation keys belong to another Context");
  if (rk.key.context != ctx_ || gk.context != ctx_)
    throw ParameterError("Bootstrapper: the relinearisation or Galois keys belong to another Context");
  std::string missing;
  for (int s : plan_.rotation_steps)
    if (!gk.has(ctx_->galois_element(s))) missing += (missing.empty() ? "" : ", ") + std::to_string(s);
  if (!gk.has(ctx_->conjugation_element())) missing += std::string(missing.empty() ? "" : ", ") + "conjugation";
  if (!missing.empty())
    throw MissingKeyError("Bootstrapper: no Galois key for {" + missing + "}; make them with "
                          "KeyGenerator::galois_keys(sk, Bootstrapper::plan(ctx, cfg).rotation_steps, true) "
                          "for this slot count (" + str(plan_.slots) + ")");
  const Context& c = *ctx_;
  const std::size_t N = c.n(), n = plan_.slots;
  if (cfg_.input_scale == 0) cfg_.input_scale = c.default_scale();
  if (cfg_.output_scale == 0) cfg_.output_scale = c.default_scale();
  if (cfg_.eval_mod_scale == 0) cfg_.eval_mod_scale = prime(c, 0);
  const int L = plan_.top_level, cl = plan_.cts_levels, sl = plan_.stc_levels, r = cfg_.double_angle;

  // Scales of EvalMod, backwards from σ_r: squaring at level ℓ rescales by q_ℓ, so the input of that
  // step needs σ = √(σ_next·q_ℓ). The first squaring happens at the level the cosine ends on.
  const int poly_end = L - cl - PolynomialEvaluator::levels_needed(cfg_.cos_degree);
  // The arcsine polynomial keeps its input's scale (polynomial.h), so it does not enter the chain.
  double sigma = cfg_.eval_mod_scale;
  for (int k = r; k >= 1; --k) sigma = std::sqrt(sigma * prime(c, poly_end - k + 1));
  sigma0_ = sigma;
  for (int k = 1; k <= r; ++k) sigma = sigma * sigma / prime(c, poly_end - k + 1);
  sigma_r_ = sigma;

  // Scale-up before ModRaise: the message becomes k·m ≈ q_0/2^ratio.
  ratio_ = cfg_.log_message_ratio;
  if (cfg_.ratio_grows_with_sparse_slots) ratio_ += 0.5 * std::log2(static_cast<double>(N / 2) / static_cast<double>(n));
  const double k_real = std::round(prime(c, 0) / (std::exp2(ratio_) * cfg_.input_scale));
  scale_up_ = k_real < 1 ? 1 : static_cast<std::int64_t>(k_real);

  // EvalMod's polynomial: cos(2π(K·x − 1/4)/2^r) on [−1, 1].
  const double K = cfg_.k, two_r = std::ldexp(1.0, r);
  cos_ = chebyshev_interpolate(
      [&](double x) { return std::cos(2 * std::numbers::pi * (K * x - 0.25) / two_r); }, -1, 1, cfg_.cos_degree);

  // Arcsine correction: Taylor coefficients of arcsin, (2j)!/(4^j·(j!)²·(2j+1)) for y^(2j+1).
  if (cfg_.arcsine_degree > 0) {
    std::vector<double> power(static_cast<std::size_t>(cfg_.arcsine_degree) + 1, 0.0);
    double coef = 1;  // j = 0
    for (int j = 0; 2 * j + 1 <= cfg_.arcsine_degree; ++j) {
      power[static_cast<std::size_t>(2 * j + 1)] = coef / (2 * j + 1);
      coef *= static_cast<double>((2 * j + 1) * (2 * j + 2)) / (4.0 * (j + 1) * (j + 1));
    }
    arcsin_ = chebyshev_from_power(power, -1, 1);
  }

  // CoeffsToSlots: the raised ciphertext is read at scale ρ = (N/2)·q_0·K. Its slots are then
  // (1/ρ)·FFT(u_t) (times g after the trace), so the inverse butterflies (which compute n·FFT^{-1})
  // give n·g·u_t/ρ = u_t/(q_0·K). The groups bring the scale from ρ to σ_0 in equal factors.
  const Factors f = build_factors(n, n < N / 2, cl, sl);
  rho_ = static_cast<double>(N / 2) * prime(c, 0) * K;
  const double step_cts = std::pow(sigma0_ / rho_, 1.0 / cl);
  for (int i = 0; i < cl; ++i) cts_.emplace_back(enc_, f.cts[i], L - i, prime(c, L - i) * step_cts);
  // SlotsToCoeffs: the values must be multiplied by q_0/(2π·Δ_in) (sin(2πm/q_0) ≈ 2πm/q_0) and land
  // at scale Δ_out: the polynomial is multiplied by Δ_out·q_0/(2π·Δ_in·σ_r), in equal factors.
  const double c_stc =
      prime(c, 0) / (2 * std::numbers::pi * cfg_.input_scale * static_cast<double>(scale_up_));
  const double step_stc = std::pow(cfg_.output_scale * c_stc / sigma_r_, 1.0 / sl);
  const int stc_top = L - cl - plan_.eval_mod_levels;
  for (int i = 0; i < sl; ++i) stc_.emplace_back(enc_, f.stc[i], stc_top - i, prime(c, stc_top - i) * step_stc);
  // Error reduction: the same last factor with its scale divided by 2^k, so the output (declared at
  // Δ_out) is 2^-k times the normal one. Only the encoding's rounding differs: its integers are
  // 2^k times smaller, so their relative rounding is 2^k times larger, on a term that is itself ε.
  if (cfg_.error_reduction_bits > 0) {
    if (std::fabs(cfg_.input_scale - cfg_.output_scale) > 1e-9 * cfg_.input_scale)
      throw ParameterError("Bootstrapper: error_reduction_bits needs input_scale = output_scale (the output is "
                           "subtracted from the input at level 0), got Δ_in = " + pow2_string(cfg_.input_scale) +
                           " and Δ_out = " + pow2_string(cfg_.output_scale) +
                           "; set both to the same scale or error_reduction_bits = 0");
    const int last = sl - 1;
    stc_reduced_.emplace(enc_, f.stc[static_cast<std::size_t>(last)], stc_top - last,
                              prime(c, stc_top - last) * step_stc * std::ldexp(1.0, -cfg_.error_reduction_bits));
  }
}

void Bootstrapper::check_input(const Ciphertext& ct, const char* op) const {
  if (ct.context != ctx_)
    throw ParameterError(std::string(op) + ": the ciphertext belongs to another Context than the Bootstrapper");
  if (ct.level != 0)
    throw LevelError(std::string(op) + ": the ciphertext is at level " + std::to_string(ct.level) +
                     "; bootstrapping starts at level 0: call Evaluator::drop_level(ct, 0) first");
  if (ct.slots != plan_.slots)
    throw InputError(std::string(op) + ": the ciphertext has " + str(ct.slots) + " slots but this Bootstrapper "
                     "and its Galois keys were made for " + str(plan_.slots) +
                     "; make a Bootstrapper (and keys) with BootstrapConfig::slots = " + str(ct.slots));
  if (ct.size() != 2) throw InputError(std::string(op) + ": relinearize the 3-component ciphertext first");
  if (std::fabs(ct.scale - cfg_.input_scale) > 1e-9 * cfg_.input_scale)
    throw ScaleError(std::string(op) + ": the ciphertext's scale is " + pow2_string(ct.scale) +
                     " but the Bootstrapper was made for Δ_in = " + pow2_string(cfg_.input_scale) +
                     "; set BootstrapConfig::input_scale to the ciphertext's scale");
}

Ciphertext Bootstrapper::times_i(const Ciphertext& ct, double sign) const {
  // ±i in every slot is the monomial ±X^{N/2}, encoded at scale 1: exact, no level.
  return ev_.multiply(ct, enc_.encode_constant(cplx(0, sign), ct.level, 1.0, ct.slots));
}

Ciphertext Bootstrapper::switch_key(const Ciphertext& ct, const KeySwitchKey& key) const {
  // (c_0, c_1) under the key's source secret ↦ (c_0 + u_0, u_1) under its target [HK20, KS_swk].
  auto [u0, u1] = key_switch(*ctx_, ct.c[1], ct.level, key);
  Ciphertext out = ct;
  math::add_inplace(out.c[0], u0, ctx_->basis_q(ct.level));
  out.c[1] = std::move(u1);
  out.seed.reset();
  cost_.key_switches += 1;
  return out;
}

Ciphertext Bootstrapper::to_ephemeral_secret(const Ciphertext& ct) const {
  // Key switching at level 0 with the key modulo q_0·p_0 [BTH22]: d = c_1 (centred mod q_0) is
  // exact modulo p_0 as well (ModUp of one digit of one prime); (u_0, u_1) = d·(b, a) modulo q_0·p_0;
  // ModDown: (u − [u]_{p_0})/p_0 modulo q_0, [u]_{p_0} centred (rounding to the nearest integer).
  const Context& c = *ctx_;
  const Level0SwitchKey& key = ek_->dense_to_sparse;
  const std::size_t N = c.n();
  const math::Prime &q0 = c.q(0), &p0 = c.p(0);
  math::RnsPoly d = ct.c[1];
  math::from_ntt(d, c.basis_q(0));
  std::vector<std::uint64_t> dp(N);
  for (std::size_t j = 0; j < N; ++j) dp[j] = math::from_signed(math::centre(d.limb(0)[j], q0.value()), p0.mod);
  p0.ntt.forward(dp.data());
  const std::uint64_t p0_inv = math::inv_mod(p0.value() % q0.value(), q0.mod);
  Ciphertext out = ct;
  out.seed.reset();
  for (int half = 0; half < 2; ++half) {
    const math::RnsPoly& k = half == 0 ? key.b : key.a;
    std::vector<std::uint64_t> uq(N), up(N);
    for (std::size_t j = 0; j < N; ++j) {
      uq[j] = math::mul_mod(ct.c[1].limb(0)[j], k.limb(0)[j], q0.mod);
      up[j] = math::mul_mod(dp[j], k.limb(1)[j], p0.mod);
    }
    q0.ntt.inverse(uq.data());
    p0.ntt.inverse(up.data());
    math::RnsPoly r(N, 1, false);
    for (std::size_t j = 0; j < N; ++j) {
      const std::uint64_t rem = math::from_signed(math::centre(up[j], p0.value()), q0.mod);
      r.limb(0)[j] = math::mul_mod(math::sub_mod(uq[j], rem, q0.value()), p0_inv, q0.mod);
    }
    math::to_ntt(r, c.basis_q(0));
    if (half == 0) math::add_inplace(out.c[0], r, c.basis_q(0));
    else out.c[1] = std::move(r);
  }
  cost_.key_switches += 1;
  return out;
}

Ciphertext Bootstrapper::mod_raise(const Ciphertext& ct) const {
  check_input(ct, "mod_raise");
  const Context& c = *ctx_;
  const std::size_t N = c.n();
  const int L = c.max_level();
  const std::uint64_t q0 = c.q(0).value();
  const auto& top = c.basis_q(L);
  // Encapsulation: s → s' at level 0 (the key lives modulo q_0·p_0) [BTH22], after the scale-up:
  // the switch adds an error of fixed size (c_1·e/p_0 and the rounding: tens per coefficient at
  // N = 2^16),
  // which is then small against k·m ≈ q_0/2^ratio rather than against m ≈ Δ_in.
  Ciphertext out = ev_.multiply_integer(ct, scale_up_);
  if (ek_) out = to_ephemeral_secret(out);
  out.scale = ct.scale * static_cast<double>(scale_up_);
  out.level = L;
  out.seed.reset();
  for (auto& poly : out.c) {
    math::RnsPoly low = poly;
    math::from_ntt(low, c.basis_q(0));
    math::RnsPoly raised(N, static_cast<std::size_t>(L) + 1, false);
    for (std::size_t j = 0; j < N; ++j) {
      const std::uint64_t x = low.limb(0)[j];
      const bool negative = x > q0 / 2;  // centred representative x − q0
      const std::uint64_t mag = negative ? q0 - x : x;
      for (int l = 0; l <= L; ++l) {
        const std::uint64_t ql = c.q(l).value();
        const std::uint64_t v = mag % ql;
        raised.limb(static_cast<std::size_t>(l))[j] = negative && v ? ql - v : v;
      }
    }
    math::to_ntt(raised, top);
    poly = std::move(raised);
  }
  // Encapsulation: back from s' to s at level L, before CoeffsToSlots [BTH22].
  return ek_ ? switch_key(out, ek_->sparse_to_dense) : out;
}

std::vector<Ciphertext> Bootstrapper::coeffs_to_slots(const Ciphertext& raised) const {
  const Context& c = *ctx_;
  const std::size_t N = c.n(), n = plan_.slots;
  if (raised.context != ctx_)
    throw ParameterError("coeffs_to_slots: the ciphertext belongs to another Context than the Bootstrapper");
  if (raised.level != plan_.top_level)
    throw LevelError("coeffs_to_slots: the ciphertext is at level " + std::to_string(raised.level) +
                     " but CoeffsToSlots starts at L = " + std::to_string(plan_.top_level) + "; pass mod_raise's output");
  if (raised.slots != n)
    throw InputError("coeffs_to_slots: the ciphertext has " + str(raised.slots) + " slots, the Bootstrapper " +
                     str(n));
  Ciphertext x = raised;
  x.scale = rho_;
  if (n < N / 2) {
    // Trace onto Z[X^g]: x ← x + σ_{5^{n·2^j}}(x), j < log2(g); the message becomes g·proj(t).
    for (int j = 0; j < plan_.trace_rotations; ++j)
      x = ev_.add(x, ev_.apply_galois(x, c.galois_element(static_cast<int>(n << j)), *gk_));
    cost_.rotations += plan_.trace_rotations;
    cost_.key_switches += plan_.trace_rotations;
    x.slots = 2 * n;  // the same polynomial read with 2n slots: (w ‖ w)
  }
  for (const auto& t : cts_) x = t.apply(ev_, x, *gk_, &cost_);
  if (std::fabs(x.scale / sigma0_ - 1) > 1e-9)
    throw InvariantError("coeffs_to_slots: scale drifted from σ_0");
  x.scale = sigma0_;
  const Ciphertext conj = ev_.conjugate(x, *gk_);
  cost_.rotations += 1;
  cost_.key_switches += 1;
  if (n < N / 2) return {ev_.add(x, conj)};
  return {ev_.add(x, conj), times_i(ev_.sub(x, conj), -1)};
}

Ciphertext Bootstrapper::eval_mod(const Ciphertext& x) const {
  const int expected = plan_.top_level - plan_.cts_levels;
  if (x.level != expected)
    throw LevelError("eval_mod: the ciphertext is at level " + std::to_string(x.level) + " but EvalMod starts at " +
                     std::to_string(expected) + " (L − CoeffsToSlots levels); pass a coeffs_to_slots output");
  const PolynomialEvaluator pe(ev_, *rk_);
  Ciphertext y = pe.evaluate(x, cos_);  // cos(2π(K·x − 1/4)/2^r), scale σ_0
  for (int k = 0; k < cfg_.double_angle; ++k) {
    // cos 2θ = 2·cos²θ − 1: the angle doubles, 2π(K·x − 1/4)/2^(r−k−1).
    y = ev_.rescale(ev_.relinearize(ev_.multiply(y, y), *rk_));
    y = ev_.sub_const(ev_.multiply_integer(y, 2), 1.0);
    cost_.key_switches += 1;
  }
  // Now cos(2π·K·x − π/2) = sin(2π·K·x), scale σ_r; optionally arcsin of it (same scale).
  if (cfg_.arcsine_degree > 0) y = pe.evaluate(y, arcsin_);
  cost_.levels += plan_.eval_mod_levels;
  return y;
}

Ciphertext Bootstrapper::slots_to_coeffs(const std::vector<Ciphertext>& parts) const {
  return slots_to_coeffs(parts, false);
}

Ciphertext Bootstrapper::slots_to_coeffs(const std::vector<Ciphertext>& parts, bool reduced) const {
  const std::size_t N = ctx_->n(), n = plan_.slots;
  const bool sparse = n < N / 2;
  const std::size_t want = sparse ? 1 : 2;
  if (parts.size() != want)
    throw InputError("slots_to_coeffs: " + str(parts.size()) + " ciphertexts given; " + str(want) +
                     " expected (" + (sparse ? "sparse slots: one of 2n slots" : "full slots: real and imaginary") + ")");
  const int level = plan_.top_level - plan_.cts_levels - plan_.eval_mod_levels;
  for (const auto& p : parts) {
    if (p.level != level)
      throw LevelError("slots_to_coeffs: a ciphertext is at level " + std::to_string(p.level) +
                       " but SlotsToCoeffs starts at " + std::to_string(level) + "; pass eval_mod's outputs");
    if (p.slots != (sparse ? 2 * n : n))
      throw InputError("slots_to_coeffs: a ciphertext has " + str(p.slots) + " slots; " +
                       str(sparse ? 2 * n : n) + " expected");
  }
  Ciphertext v = sparse ? parts[0] : ev_.add(parts[0], times_i(parts[1], 1));
  for (std::size_t i = 0; i < stc_.size(); ++i)
    v = (reduced && i + 1 == stc_.size() ? *stc_reduced_ : stc_[i]).apply(ev_, v, *gk_, &cost_);
  v.slots = n;  // sparse: (z ‖ z) on 2n slots is z on n slots
  v.scale = cfg_.output_scale;  // the diagonals' scales put the value q_0/(2π·Δ_in)·FFT(·) at Δ_out
  return v;
}

Ciphertext Bootstrapper::four_stages(const Ciphertext& ct, bool reduced) const {
  std::vector<Ciphertext> parts = coeffs_to_slots(mod_raise(ct));
  for (auto& p : parts) p = eval_mod(p);
  return slots_to_coeffs(parts, reduced);
}

Ciphertext Bootstrapper::bootstrap(const Ciphertext& ct) const {
  check_input(ct, "bootstrap");
  const Ciphertext out = four_stages(ct, false);
  return cfg_.error_reduction_bits > 0 ? reduce_error(ct, out) : out;
}

Ciphertext Bootstrapper::reduce_error(const Ciphertext& ct, const Ciphertext& out) const {
  if (cfg_.error_reduction_bits == 0)
    throw ParameterError("reduce_error: this Bootstrapper was made with error_reduction_bits = 0; set "
                         "BootstrapConfig::error_reduction_bits (e.g. a few bits below one bootstrap's worst-slot "
                         "precision)");
  check_input(ct, "reduce_error");
  if (out.context != ctx_ || out.level != plan_.output_level || out.slots != plan_.slots || out.size() != 2 ||
      std::fabs(out.scale - cfg_.output_scale) > 1e-9 * cfg_.output_scale)
    throw InputError("reduce_error: `out` must be this Bootstrapper's output for `ct` (level " +
                     std::to_string(plan_.output_level) + ", " + str(plan_.slots) + " slots, scale Δ_out = " +
                     pow2_string(cfg_.output_scale) + "); got level " + std::to_string(out.level) + ", " +
                     str(out.slots) + " slots, scale " + pow2_string(out.scale));
  // ε = out − ct at level 0 (dropping levels is exact), scaled up by the integer 2^k (exact mod q_0).
  Ciphertext err = ev_.sub(ev_.drop_level(out, 0), ct);
  err = ev_.multiply_integer(err, std::int64_t{1} << cfg_.error_reduction_bits);
  // The reduced pipeline returns (2^k·ε + e_2)/2^k = ε + e_2/2^k at scale Δ_out.
  return ev_.sub(out, four_stages(err, true));
}

}  // namespace ckks

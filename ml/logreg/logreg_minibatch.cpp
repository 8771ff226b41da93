#include "ml/logreg/logreg_minibatch.h"

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "ckks/approx.h"
#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ckks/polynomial.h"
#include "ckks/serialize.h"
#include "ml/exact_scale.h"
#include "ml/logreg/logreg_encrypted.h"  // nag_next_weights
#include "ml/spread_slots.h"

namespace ckks::ml {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- layout

std::vector<int> MinibatchLayout::rotation_steps() const {
  std::vector<int> steps;
  for (int s : sum_slots_steps(block)) {  // sums and replication inside a block
    steps.push_back(s);
    steps.push_back(-s);
  }
  for (int s : sum_slots_steps(samples(), block)) steps.push_back(s);  // sums over the samples
  return steps;
}

MinibatchLayout MinibatchLayout::make(std::size_t d, std::size_t block, std::size_t slots) {
  if (d == 0) throw InputError("logreg mini-batch layout: no features (d = 0); pass at least one column");
  if (block == 0 || !std::has_single_bit(block))
    throw InputError("logreg mini-batch layout: block k = " + std::to_string(block) +
                     " is not a power of two; use 8, 16, 32, …");
  if (!std::has_single_bit(slots))
    throw ParameterError("logreg mini-batch layout: " + std::to_string(slots) + " slots is not a power of two");
  if (block >= slots)
    throw ParameterError("logreg mini-batch layout: a block of k = " + std::to_string(block) + " columns needs at least " +
                         std::to_string(2 * block) + " slots but the ring has " + std::to_string(slots) +
                         "; use a smaller block or a larger ring");
  MinibatchLayout l;
  l.d = d;
  l.block = block;
  l.groups = (d + 1 + block - 1) / block;
  l.slots = slots;
  return l;
}

// ---------------------------------------------------------------- cache

MinibatchCache::MinibatchCache(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path(ec) / "ckks_minibatch_XXXXXX").string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr)
      throw InputError("logreg mini-batch: cannot create a temporary directory for the encrypted batches under " +
                       fs::temp_directory_path(ec).string() + "; pass a writable directory with " + flag);
    dir_ = pattern;
    owned_ = true;
  } else {
    dir_ = dir;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_))
      throw InputError("logreg mini-batch: " + flag + " " + dir + " cannot be created as a directory (" +
                       (ec ? ec.message() : std::string("a file of that name exists")) +
                       "); pass a writable directory");
  }
  // Probe: the encrypted batches are written here, so a directory we cannot write is an error now,
  // before keys and encryption.
  const std::string probe = (fs::path(dir_) / ".write_probe").string();
  try {
    write_file(probe, std::vector<std::uint8_t>{0});
  } catch (const InputError&) {
    throw InputError("logreg mini-batch: " + flag + " " + dir_ +
                     " is not writable (the encrypted batches are written there); pass a writable directory");
  }
  fs::remove(probe, ec);
}

MinibatchCache::~MinibatchCache() {
  if (owned_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);  // best effort: a destructor does not throw
  }
}

std::string MinibatchCache::path(std::size_t batch, std::size_t chunk, const char* kind) const {
  return (fs::path(dir_) / ("b" + std::to_string(batch) + "_c" + std::to_string(chunk) + "." + kind)).string();
}

std::string MinibatchCache::yb_path(std::size_t batch) const {
  return (fs::path(dir_) / ("b" + std::to_string(batch) + ".yb")).string();
}

std::uint64_t MinibatchCache::write(const std::string& path, const std::vector<Ciphertext>& cts) const {
  std::vector<std::uint8_t> bundle;
  for (const Ciphertext& ct : cts) {
    const std::vector<std::uint8_t> blob = serialize(ct);
    bundle.insert(bundle.end(), blob.begin(), blob.end());
  }
  write_file(path, bundle);
  return bundle.size();
}

std::vector<Ciphertext> MinibatchCache::read(const ContextPtr& ctx, const std::string& path) {
  const std::vector<std::uint8_t> bundle = read_file(path);
  std::vector<Ciphertext> out;
  for (const auto& blob : split_blobs(bundle)) out.push_back(deserialize_ciphertext(ctx, blob));
  return out;
}

// ---------------------------------------------------------------- data owner

MinibatchDataOwner::MinibatchDataOwner(ContextPtr ctx, const MinibatchLayout& layout,
                                       std::optional<std::uint64_t> test_seed)
    : ctx_(ctx),
      layout_(layout),
      keys_(ctx, test_seed),
      sk_encryptor_(test_seed ? Encryptor(ctx, keys_.sk, math::Csprng::insecure_fixed_seed_for_testing(*test_seed + 2))
                              : Encryptor(ctx, keys_.sk)) {
  if (layout.slots != ctx->max_slots())
    throw ParameterError("logreg mini-batch: the layout has " + std::to_string(layout.slots) + " slots but N/2 = " +
                         std::to_string(ctx->max_slots()) + "; make it with MinibatchLayout::make(d, k, ctx->max_slots())");
}

std::vector<Ciphertext> MinibatchDataOwner::encrypt_rows(const std::vector<std::vector<double>>& A, std::size_t begin,
                                                         std::size_t end, const std::vector<double>* scale, int level) {
  const std::size_t k = layout_.block, m = layout_.samples(), D = layout_.d + 1, S = layout_.slots;
  if (begin >= end || end > A.size() || end - begin > m)
    throw InputError("logreg mini-batch encrypt: rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") of " + std::to_string(A.size()) + "; a chunk holds 1 … " + std::to_string(m) + " rows of A");
  std::vector<Ciphertext> out;
  for (std::size_t g = 0; g < layout_.groups; ++g) {
    std::vector<double> v(S, 0.0);
    for (std::size_t r = begin; r < end; ++r) {
      if (A[r].size() != D)
        throw InputError("logreg mini-batch encrypt: row " + std::to_string(r) + " has " + std::to_string(A[r].size()) +
                         " values but the layout has D = " + std::to_string(D) + " columns (bias included)");
      for (std::size_t f = 0; f < k && g * k + f < D; ++f) {
        const std::size_t c = g * k + f;
        v[(r - begin) * k + f] = A[r][c] * (scale ? (*scale)[c] : 1.0);
      }
    }
    out.push_back(sk_encryptor_.encrypt(keys_.encoder.encode(v, level, ctx_->default_scale(), S)));
  }
  return out;
}

std::vector<Ciphertext> MinibatchDataOwner::encrypt_replicated(const std::vector<double>& v, int level) {
  const std::size_t k = layout_.block, m = layout_.samples(), D = layout_.d + 1;
  if (v.size() != D)
    throw InputError("logreg mini-batch encrypt: a vector of " + std::to_string(v.size()) + " values but D = " +
                     std::to_string(D));
  std::vector<Ciphertext> out;
  for (std::size_t g = 0; g < layout_.groups; ++g) {
    std::vector<double> s(layout_.slots, 0.0);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t f = 0; f < k && g * k + f < D; ++f) s[i * k + f] = v[g * k + f];
    out.push_back(sk_encryptor_.encrypt(keys_.encoder.encode(s, level, ctx_->default_scale(), layout_.slots)));
  }
  return out;
}

std::pair<std::vector<double>, std::vector<double>> MinibatchDataOwner::batch_vectors(
    const std::vector<std::vector<double>>& A, const std::vector<double>& y, std::size_t begin, std::size_t end,
    double epsilon) {
  if (begin >= end || end > A.size() || y.size() != A.size())
    throw InputError("logreg mini-batch: rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                     std::to_string(A.size()) + " (with " + std::to_string(y.size()) +
                     " labels); the range must be non-empty and inside A, with one label per row");
  const std::vector<std::vector<double>> rows(A.begin() + static_cast<std::ptrdiff_t>(begin),
                                              A.begin() + static_cast<std::ptrdiff_t>(end));
  const std::vector<double> binv = quadratic_gradient_preconditioner(rows, epsilon);
  std::vector<double> yb(binv.size(), 0.0);
  for (std::size_t r = begin; r < end; ++r)
    for (std::size_t c = 0; c < yb.size(); ++c) yb[c] += A[r][c] * y[r];
  for (std::size_t c = 0; c < yb.size(); ++c) yb[c] *= binv[c];
  return {yb, binv};
}

InMemoryBatch MinibatchDataOwner::encrypt_batch(const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                                std::size_t begin, std::size_t end, int x_level, int xb_level,
                                                double epsilon) {
  const auto [yb, binv] = batch_vectors(A, y, begin, end, epsilon);
  InMemoryBatch b;
  const std::size_t m = layout_.samples();
  for (std::size_t r = begin; r < end; r += m) {
    const std::size_t e = std::min(end, r + m);
    if (x_level >= 0) b.xs.push_back(encrypt_rows(A, r, e, nullptr, x_level));
    b.xbs.push_back(encrypt_rows(A, r, e, &binv, xb_level));
  }
  b.ybs = encrypt_replicated(yb, xb_level);
  return b;
}

std::uint64_t MinibatchDataOwner::write_batch(const MinibatchCache& cache, std::size_t batch,
                                              const std::vector<std::vector<double>>& A, const std::vector<double>& y,
                                              std::size_t begin, std::size_t end, int x_level, int xb_level,
                                              double epsilon) {
  const auto [yb, binv] = batch_vectors(A, y, begin, end, epsilon);
  std::uint64_t bytes = cache.write(cache.yb_path(batch), encrypt_replicated(yb, xb_level));
  const std::size_t m = layout_.samples();
  for (std::size_t r = begin, c = 0; r < end; r += m, ++c) {  // one chunk in memory at a time
    const std::size_t e = std::min(end, r + m);
    if (x_level >= 0) bytes += cache.write(cache.path(batch, c, "x"), encrypt_rows(A, r, e, nullptr, x_level));
    bytes += cache.write(cache.path(batch, c, "xb"), encrypt_rows(A, r, e, &binv, xb_level));
  }
  return bytes;
}

std::vector<double> MinibatchDataOwner::decrypt_weights(const std::vector<Ciphertext>& w) {
  const std::size_t k = layout_.block, m = layout_.samples(), D = layout_.d + 1;
  if (w.size() != layout_.groups)
    throw InputError("logreg mini-batch decrypt: " + std::to_string(w.size()) + " ciphertexts but the layout has G = " +
                     std::to_string(layout_.groups) + " groups");
  std::vector<double> out(D, 0.0);
  for (std::size_t g = 0; g < layout_.groups; ++g) {
    const auto z = keys_.encoder.decode(keys_.decryptor.decrypt(w[g]));
    for (std::size_t f = 0; f < k && g * k + f < D; ++f) {
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += z[i * k + f];
      out[g * k + f] = s / static_cast<double>(m);
    }
  }
  return out;
}

// ---------------------------------------------------------------- server

MinibatchServer::MinibatchServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, const MinibatchLayout& layout)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), layout_(layout), encoder_(ctx), ev_(ctx) {}

int MinibatchServer::levels_per_iteration(int sigmoid_degree) {
  return 3 + PolynomialEvaluator::levels_needed(unit_sigmoid(sigmoid_degree, 1.0));
}

int MinibatchServer::levels_needed(int iterations, int sigmoid_degree) {
  return 1 + (iterations - 1) * levels_per_iteration(sigmoid_degree);
}

int MinibatchServer::max_iterations(int max_level, int sigmoid_degree) {
  return max_level >= 1 ? 1 + (max_level - 1) / levels_per_iteration(sigmoid_degree) : 0;
}

namespace {

// The ciphertexts of a batch read at `level`: checked (count, level ≥ `level`, scale Δ) and dropped.
std::vector<Ciphertext> at_level(const Evaluator& ev, const Context& ctx, std::vector<Ciphertext> cts,
                                 std::size_t groups, int level, const char* what) {
  if (cts.size() != groups)
    throw InputError(std::string("logreg mini-batch: ") + what + " holds " + std::to_string(cts.size()) +
                     " ciphertexts but the layout has G = " + std::to_string(groups) + " groups");
  for (Ciphertext& ct : cts) {
    if (ct.level < level)
      throw LevelError(std::string("logreg mini-batch: ") + what + " is at level " + std::to_string(ct.level) +
                       " but this iteration reads it at level " + std::to_string(level) +
                       "; encrypt the batch at the levels of its iterations (MinibatchLevels)");
    if (ct.scale != ctx.default_scale())
      throw ScaleError(std::string("logreg mini-batch: ") + what + " has scale " + std::to_string(ct.scale) +
                       " but the data must be encrypted at the default scale Δ = " + std::to_string(ctx.default_scale()));
    ct = ev.drop_level(ct, level);
  }
  return cts;
}

}  // namespace

void MinibatchServer::step(MinibatchWeights& s, const EncryptedBatch& batch, const LogregOptions& o) const {
  const int per = levels_per_iteration(o.sigmoid_degree);  // throws for a bad degree
  const int poly_levels = per - 3;
  const std::size_t G = layout_.groups, k = layout_.block, m = layout_.samples(), S = layout_.slots;
  if (batch.chunks() == 0) throw InputError("logreg mini-batch: a batch with no chunks");
  const double delta = ctx_->default_scale();
  const int t = s.t;

  if (t == 0) {
    // Iteration 0: v_0 = 0, so e = c_0·(y − σ̃(0)) and w_1 = c_0·yb − c_0·σ̃(0)·Σ_i xb_i.
    const int top = ctx_->max_level();
    std::vector<Ciphertext> xsum;
    for (std::size_t c = 0; c < batch.chunks(); ++c) {
      std::vector<Ciphertext> xb = at_level(ev_, *ctx_, batch.xb(c), G, top, "xb");
      if (xsum.empty()) xsum = std::move(xb);
      else
        for (std::size_t g = 0; g < G; ++g) xsum[g] = ev_.add(xsum[g], xb[g]);
    }
    const std::vector<Ciphertext> yb = at_level(ev_, *ctx_, batch.yb(), G, top, "yb");
    const double c0 = nag_step(0, o.eta0), sig0 = sigmoid_approx(o.sigmoid_degree)(0.0);
    const double q = static_cast<double>(ctx_->q(top).value());
    std::vector<Ciphertext> w;
    for (std::size_t g = 0; g < G; ++g) {
      const Ciphertext total = sum_slots(ev_, xsum[g], gk_, m, k);
      const Ciphertext* terms[] = {&yb[g], &total};
      const double coeffs[] = {c0, -c0 * sig0};
      w.push_back(ev_.rescale(ev_.linear_combination(terms, coeffs, top, delta * q)));
    }
    s.w = std::move(w);
    s.t = 1;
    return;
  }

  const int l = s.w.at(0).level;
  if (l < per)
    throw LevelError("logreg mini-batch: iteration " + std::to_string(t) + " needs " + std::to_string(per) +
                     " levels but w_" + std::to_string(t) + " is at level " + std::to_string(l) +
                     "; use fewer iterations (--epochs, --batch) or a longer chain");
  const double gamma = nag_gamma(t - 1), ct = nag_step(t, o.eta0);
  const int l_res = l - 2 - poly_levels;  // level of e, xb and yb
  // The scale of u (and of e): e ⊙ xb, xb at scale Δ, then rescales to exactly Δ.
  const double s_u = delta * static_cast<double>(ctx_->q(l_res).value()) / delta;
  std::vector<Ciphertext> w_prev;
  for (const Ciphertext& w : s.w_prev) w_prev.push_back(ev_.drop_level(w, l));
  std::vector<double> mask(S, 0.0);
  for (std::size_t i = 0; i < m; ++i) mask[i * k] = 1.0;
  const ChebyshevSeries sigmoid = unit_sigmoid(o.sigmoid_degree, -ct);
  PolynomialEvaluator pe(ev_, rk_);

  // Σ_g x_g ⊙ w_g, relinearised and rescaled, summed inside each block: slot i·k holds (A w)_i.
  auto margins = [&](const std::vector<Ciphertext>& x, const std::vector<Ciphertext>& w) {
    Ciphertext p = ev_.multiply(x[0], w[0]);
    for (std::size_t g = 1; g < G; ++g) p = ev_.add(p, ev_.multiply(x[g], w[g]));
    return sum_slots(ev_, ev_.rescale(ev_.relinearize(p, rk_)), gk_, k);
  };
  std::vector<Ciphertext> acc;  // Σ_chunks e ⊙ xb_g, 3 components, scale Δ·q_{l_res}
  for (std::size_t c = 0; c < batch.chunks(); ++c) {
    Ciphertext u;
    {
      const std::vector<Ciphertext> x = at_level(ev_, *ctx_, batch.x(c), G, l, "x");
      // 1–2. u = mask ⊙ ((1 − γ)/8·A w_t + γ/8·A w_{t−1}), rescaled to s_u.
      u = mul_plain_to(ev_, encoder_, *ctx_, margins(x, s.w), mask, (1 - gamma) / 8.0, s_u);
      if (!w_prev.empty()) u = ev_.add(u, mul_plain_to(ev_, encoder_, *ctx_, margins(x, w_prev), mask, gamma / 8.0, s_u));
    }
    u = ev_.rescale(u);
    // 3–4. replicate over the block; e = −c·σ̃(A v_t).
    const Ciphertext e = pe.evaluate(spread_slots(ev_, u, gk_, k), sigmoid);
    // 5. acc_g += e ⊙ xb_g.
    const std::vector<Ciphertext> xb = at_level(ev_, *ctx_, batch.xb(c), G, l_res, "xb");
    for (std::size_t g = 0; g < G; ++g) {
      Ciphertext p = ev_.multiply(e, xb[g]);
      if (acc.size() < G) acc.push_back(std::move(p));
      else acc[g] = ev_.add(acc[g], p);
    }
  }
  // 6–7. G'_g = (sum over the samples of acc_g) + c·yb_g; w_{t+1} = v_t + G'.
  const std::vector<Ciphertext> yb = at_level(ev_, *ctx_, batch.yb(), G, l_res, "yb");
  std::vector<Ciphertext> w_next;
  for (std::size_t g = 0; g < G; ++g) {
    Ciphertext grad = sum_slots(ev_, ev_.rescale(ev_.relinearize(acc[g], rk_)), gk_, m, k);
    grad = ev_.add(grad, mul_const_to(ev_, *ctx_, yb[g], ct, grad.scale));
    w_next.push_back(nag_next_weights(ev_, *ctx_, s.w[g], s.w_prev.empty() ? nullptr : &s.w_prev[g], grad, gamma));
  }
  s.w_prev = std::move(s.w);
  s.w = std::move(w_next);
  s.t = t + 1;
}

std::vector<Ciphertext> MinibatchServer::train(const MinibatchCache& cache, const MinibatchPlan& plan,
                                               const LogregOptions& o, const Progress& progress) const {
  const int K = plan.iterations();
  if (K < 1) throw InputError("logreg mini-batch train: the plan has no iterations; make it with MinibatchPlan::make");
  const int need = levels_needed(K, o.sigmoid_degree);
  if (need > ctx_->max_level())
    throw LevelError("logreg mini-batch train: " + std::to_string(K) + " iterations need " + std::to_string(need) +
                     " levels but the chain has L = " + std::to_string(ctx_->max_level()) + "; at most " +
                     std::to_string(max_iterations(ctx_->max_level(), o.sigmoid_degree)) +
                     " iterations fit: fewer epochs or larger batches");
  MinibatchWeights state;
  for (int t = 0; t < K; ++t) {
    if (progress) progress("iterations", static_cast<std::size_t>(t), static_cast<std::size_t>(K));
    const std::size_t j = plan.batch_of(t);
    const auto [begin, end] = plan.ranges[j];
    step(state, CachedBatch(ctx_, cache, j, layout_.chunks(end - begin)), o);
  }
  if (progress) progress("iterations", static_cast<std::size_t>(K), static_cast<std::size_t>(K));
  return state.w;
}

}  // namespace ckks::ml

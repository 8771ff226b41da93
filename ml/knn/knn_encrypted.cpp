#include "ml/knn/knn_encrypted.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "ckks/errors.h"
#include "ml/format.h"
#include "ckks/polynomial.h"

namespace ckks::ml {

namespace {

void check_unit(double unit, const char* op) {
  if (!(unit > 0) || !std::isfinite(unit))
    throw InputError(std::string(op) + ": feature unit " + format_number(unit) + " must be a finite number > 0");
}

void check_queries(const KnnMatrix& q, std::size_t d, const char* op) {
  if (q.empty()) throw InputError(std::string(op) + ": no queries; give at least one");
  for (std::size_t b = 0; b < q.size(); ++b) {
    if (q[b].size() != d)
      throw InputError(std::string(op) + ": query " + std::to_string(b) + " has " + std::to_string(q[b].size()) +
                       " features but the references have " + std::to_string(d) +
                       "; queries and references need the same features");
    for (double v : q[b])
      if (!std::isfinite(v))
        throw InputError(std::string(op) + ": query " + std::to_string(b) + " holds " + format_number(v) +
                         "; queries must be finite");
  }
}

void check_level(const ContextPtr& ctx, int level, int need, const char* op) {
  if (level < need || level > ctx->max_level())
    throw LevelError(std::string(op) + ": level " + std::to_string(level) + " is outside [" + std::to_string(need) +
                     ", L = " + std::to_string(ctx->max_level()) + "]; the circuit needs " + std::to_string(need) +
                     " levels, so encrypt at a level in that range or use a longer chain");
}

// Rotation by `steps` of a length-S vector: out[j] = v[(j + steps) mod S] (Evaluator::rotate's
// convention, applied in the clear).
std::vector<double> rotate_clear(const std::vector<double>& v, long steps) {
  const long S = static_cast<long>(v.size());
  std::vector<double> out(v.size());
  for (long j = 0; j < S; ++j) out[static_cast<std::size_t>(j)] = v[static_cast<std::size_t>((((j + steps) % S) + S) % S)];
  return out;
}

// Scale a Chebyshev series by c and add e (free: folded into the coefficients).
ChebyshevSeries affine(ChebyshevSeries p, double c, double e) {
  for (auto& x : p.coeffs) x *= c;
  p.coeffs[0] += e;
  return p;
}

}  // namespace

// =============================================================================== mode 1

KnnDistanceServer::KnnDistanceServer(ContextPtr ctx, KnnMatrix refs, double unit) : ctx_(ctx), ev_(ctx) {
  check_unit(unit, "knn distances");
  check_knn_model(refs, std::vector<double>(refs.size(), 0.0), 1, KnnTask::Regress, "knn distances");
  d_ = refs[0].size();
  for (auto& row : refs) {
    double s = 0;
    for (auto& v : row) {
      v /= unit;
      s += v * v;
    }
    norms_.push_back(s);
  }
  refs_ = std::move(refs);
}

std::vector<Ciphertext> KnnDistanceServer::distances(const EncryptedQueries& q) const {
  if (q.features.size() != d_)
    throw InputError("knn distances: " + std::to_string(q.features.size()) + " feature ciphertexts but the references have " +
                     std::to_string(d_) + " features; encrypt one ciphertext per feature");
  const int level = q.norm2.level;
  for (const auto& c : q.features)
    if (c.level != level)
      throw InputError("knn distances: the query ciphertexts are at different levels; encrypt them together");
  if (level < levels_needed())
    throw LevelError("knn distances: the queries are at level 0 but the weighted sum needs 1 level to rescale; "
                     "encrypt at level ≥ 1");
  const double qp = static_cast<double>(ctx_->q(level).value());
  const Ciphertext norm2 = ev_.drop_level(q.norm2, level - 1);
  std::vector<Ciphertext> out;
  out.reserve(refs_.size());
  for (std::size_t r = 0; r < refs_.size(); ++r) {
    std::optional<Ciphertext> acc;
    for (std::size_t f = 0; f < d_; ++f) {
      const double w = -2.0 * refs_[r][f];
      if (w == 0.0) continue;  // zero pixels cost nothing
      Ciphertext t = ev_.multiply_const(q.features[f], w, qp);
      acc = acc ? ev_.add(*acc, t) : std::move(t);
    }
    if (!acc) acc = ev_.multiply_const(q.features[0], 0.0, qp);  // an all-zero reference
    Ciphertext dist = ev_.add(ev_.rescale(*acc), norm2);
    out.push_back(ev_.add_const(dist, norms_[r]));
  }
  return out;
}

// =============================================================================== mode 2

KnnRankLayout KnnRankLayout::make(std::size_t n, std::size_t d, std::size_t slots) {
  if (!std::has_single_bit(n) || n < 4 || n > 64)
    throw InputError("knn ranking: " + std::to_string(n) +
                     " references per query; the fully encrypted mode needs a power of two in [4, 64] (e.g. 32)");
  if (d == 0 || d > n * n)
    throw InputError("knn ranking: " + std::to_string(d) + " features do not fit a segment of n² = " +
                     std::to_string(n * n) + " slots; use at least " +
                     std::to_string(std::bit_ceil(static_cast<std::size_t>(std::ceil(std::sqrt(double(d)))))) +
                     " references per query");
  if (n * n > slots)
    throw ParameterError("knn ranking: a segment of n² = " + std::to_string(n * n) + " slots exceeds N/2 = " +
                         std::to_string(slots) + "; use fewer references or a larger ring");
  KnnRankLayout l;
  l.n = n;
  l.d = d;
  l.slots = slots;
  return l;
}

std::vector<ChebyshevSeries> knn_sign_stages(int degree, int compositions) {
  if (degree < 3) throw InputError("knn_sign_stages: degree " + std::to_string(degree) + " is below 3");
  if (compositions < 0)
    throw InputError("knn_sign_stages: " + std::to_string(compositions) + " compositions; need ≥ 0");
  const double slope = degree / 4.5, norm = std::tanh(slope);
  std::vector<ChebyshevSeries> out{
      chebyshev_interpolate([&](double x) { return std::tanh(slope * x) / norm; }, -1, 1, degree)};
  for (int i = 0; i < compositions; ++i) out.push_back(sign_f(3));
  return out;
}

Params knn_ranking_params() {
  Params p;
  p.log_n = 16;
  p.log_q.assign(38, 36);
  p.log_q[0] = 50;
  p.log_p.assign(6, 60);
  p.dnum = 5;
  p.log_scale = 36;
  return p;
}

struct KnnRankServer::DiagProduct {
  long base = 0;             // pre-rotation
  long stride = 1;           // rotation between babies
  std::size_t n1 = 1, giants = 1;
  // [g][b]: the T-slot pattern of diagonal base + stride·(g·n1 + b), already rotated by −g·n1·stride
  // (mod T: the S-slot diagonal repeats every T slots). Encoded only when used, so that at most one
  // plaintext (≈ 20 MB at N = 2^16) is alive at a time.
  std::vector<std::vector<std::optional<std::vector<double>>>> pt;
  std::vector<int> steps() const {
    std::vector<int> s;
    if (base != 0) s.push_back(static_cast<int>(base));
    if (n1 > 1) s.push_back(static_cast<int>(stride));
    if (giants > 1) s.push_back(static_cast<int>(stride * static_cast<long>(n1)));
    return s;
  }
};

namespace {
// Shape of a diagonal product with diagonals base + stride·t, t ∈ [0, range): n1 a power of two
// near √range, at most 16 (the babies are kept in memory: 16 ciphertexts).
std::pair<std::size_t, std::size_t> bsgs_shape(std::size_t range) {
  std::size_t n1 = 1;
  while (n1 * n1 < range && n1 < 16) n1 <<= 1;
  return {n1, (range + n1 - 1) / n1};
}
}  // namespace

KnnRankServer::KnnRankServer(ContextPtr ctx, const KnnRankLayout& layout, KnnMatrix refs, std::vector<double> targets,
                             double unit, double beta, KnnRankOptions options)
    : ctx_(ctx), lay_(layout), targets_(std::move(targets)), opt_(options), enc_(ctx), ev_(ctx) {
  check_unit(unit, "knn ranking");
  check_knn_model(refs, targets_, opt_.k, opt_.task, "knn ranking");
  if (refs.size() != lay_.n || refs[0].size() != lay_.d)
    throw InputError("knn ranking: the layout is for " + std::to_string(lay_.n) + " references of " +
                     std::to_string(lay_.d) + " features but " + std::to_string(refs.size()) + " × " +
                     std::to_string(refs[0].size()) + " were given");
  if (lay_.slots != ctx_->max_slots())
    throw InputError("knn ranking: the layout has " + std::to_string(lay_.slots) + " slots, the context N/2 = " +
                     std::to_string(ctx_->max_slots()));
  if (!(beta > 0) || !std::isfinite(beta))
    throw InputError("knn ranking: distance bound β = " + format_number(beta) + " must be a finite number > 0");
  beta_ = beta / (unit * unit);
  for (auto& row : refs)
    for (auto& v : row) v /= unit;
  refs_ = std::move(refs);
  if (opt_.task == KnnTask::Classify) {
    for (double t : targets_) classes_ = std::max(classes_, static_cast<std::size_t>(t) + 1);
    if (2 * std::bit_ceil(classes_) > lay_.n)
      throw InputError("knn ranking: " + std::to_string(classes_) + " classes need 2·std::bit_ceil(classes) = " +
                       std::to_string(2 * std::bit_ceil(classes_)) + " columns but a row has n = " + std::to_string(lay_.n) +
                       "; use more references per query");
  }
  if (opt_.compositions_distance < 0 || opt_.compositions_rank < 0)
    throw InputError("knn ranking: negative number of compositions");
  if (opt_.task == KnnTask::Regress) {  // centred targets: selection errors weigh |y − ȳ|, not |y|
    for (double t : targets_) offset_ += t;
    offset_ /= static_cast<double>(targets_.size());
    for (double& t : targets_) t -= offset_;
  }
  const double n = static_cast<double>(lay_.n);
  // Comparison 1 output folded to −s/(2n) (step 5); comparison 2 to (1 + s)/2 (step 6).
  cmp1_ = knn_sign_stages(opt_.steep_degree_distance, opt_.compositions_distance);
  cmp1_.back() = affine(cmp1_.back(), -1.0 / (2 * n), 0.0);
  cmp2_ = knn_sign_stages(opt_.steep_degree_rank, opt_.compositions_rank);
  cmp2_.back() = affine(cmp2_.back(), 0.5, 0.5);
}

int KnnRankServer::levels_needed() const {
  int l = 2 + 1;  // distances, transpose − identity, output product
  for (const auto& p : cmp1_) l += PolynomialEvaluator::levels_needed(p);
  for (const auto& p : cmp2_) l += PolynomialEvaluator::levels_needed(p);
  if (opt_.task == KnnTask::Classify) l += 1;  // the column mask
  return l;
}

KnnRankServer::DiagProduct KnnRankServer::make_distance_product() const {
  // Step 1: output slot s < n of each segment reads input slot s + k, k = f − s ∈ [−(n−1), d−1].
  const std::size_t n = lay_.n, d = lay_.d, T = lay_.segment();
  DiagProduct dp;
  dp.base = -static_cast<long>(n - 1);
  dp.stride = 1;
  const std::size_t range = n + d - 1;
  std::tie(dp.n1, dp.giants) = bsgs_shape(range);
  dp.pt.assign(dp.giants, std::vector<std::optional<std::vector<double>>>(dp.n1));
  for (std::size_t t = 0; t < range; ++t) {
    const long k = dp.base + static_cast<long>(t);
    std::vector<double> diag(T, 0.0);
    bool any = false;
    for (std::size_t s = 0; s < n; ++s) {
      const long f = static_cast<long>(s) + k;
      if (f < 0 || f >= static_cast<long>(d)) continue;
      const double w = -2.0 * refs_[s][static_cast<std::size_t>(f)] / beta_;
      if (w == 0.0) continue;
      any = true;
      diag[s] = w;
    }
    if (!any) continue;
    const std::size_t g = t / dp.n1, bb = t % dp.n1;
    dp.pt[g][bb] = rotate_clear(diag, -static_cast<long>(g * dp.n1) * dp.stride);
  }
  return dp;
}

KnnRankServer::DiagProduct KnnRankServer::make_transpose_product() const {
  // Step 3: U(i, j) = B(j, i) − B(i, j); B(j, i) sits at s + (j − i)(n − 1) for s = i·n + j.
  const std::size_t n = lay_.n, T = lay_.segment();
  DiagProduct dp;
  dp.stride = static_cast<long>(n - 1);
  dp.base = -static_cast<long>(n - 1) * dp.stride;
  const std::size_t range = 2 * n - 1;  // t = (j − i) + n − 1
  std::tie(dp.n1, dp.giants) = bsgs_shape(range);
  dp.pt.assign(dp.giants, std::vector<std::optional<std::vector<double>>>(dp.n1));
  for (std::size_t t = 0; t < range; ++t) {
    const long diff = static_cast<long>(t) - static_cast<long>(n - 1);  // j − i
    std::vector<double> diag(T, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double v = 0;
        if (diff == 0) v = (i == j) ? 0.0 : -1.0;
        else if (static_cast<long>(j) - static_cast<long>(i) == diff) v = 1.0;
        if (v == 0.0) continue;
        diag[i * n + j] = v;
      }
    const std::size_t g = t / dp.n1, bb = t % dp.n1;
    dp.pt[g][bb] = rotate_clear(diag, -static_cast<long>(g * dp.n1) * dp.stride);
  }
  return dp;
}

Ciphertext KnnRankServer::diag_product(const DiagProduct& dp, const Ciphertext& x, const GaloisKeys& gk) const {
  std::size_t babies = 0;  // how many baby rotations some diagonal uses
  for (const auto& row : dp.pt)
    for (std::size_t b = 0; b < row.size(); ++b)
      if (row[b]) babies = std::max(babies, b + 1);
  std::vector<Ciphertext> bab;
  bab.push_back(dp.base ? ev_.rotate(x, static_cast<int>(dp.base), gk) : x);
  for (std::size_t b = 1; b < babies; ++b) bab.push_back(ev_.rotate(bab.back(), static_cast<int>(dp.stride), gk));
  std::optional<Ciphertext> acc;
  const int giant_step = static_cast<int>(dp.stride * static_cast<long>(dp.n1));
  const double q = static_cast<double>(ctx_->q(x.level).value());  // plaintexts at scale q_ℓ
  for (std::size_t g = dp.giants; g-- > 0;) {
    if (acc) acc = ev_.rotate(*acc, giant_step, gk);  // Horner: acc ← rot(acc, n1·stride) + inner_g
    for (std::size_t b = 0; b < dp.pt[g].size(); ++b) {
      if (!dp.pt[g][b]) continue;
      const auto& pattern = *dp.pt[g][b];
      std::vector<double> full(lay_.slots);
      for (std::size_t s = 0; s < full.size(); ++s) full[s] = pattern[s % pattern.size()];
      Ciphertext t = ev_.multiply(bab[b], enc_.encode(full, x.level, q));
      acc = acc ? ev_.add(*acc, t) : std::move(t);
    }
  }
  if (!acc) throw InvariantError("knn ranking: a diagonal product without any diagonal");
  return ev_.rescale(*acc);
}

std::vector<int> KnnRankServer::rotation_steps() const {
  std::set<int> s;
  const std::size_t n = lay_.n;
  // Shapes only (the plaintexts are not needed for the steps).
  auto add_shape = [&](long base, long stride, std::size_t range) {
    const auto [n1, giants] = bsgs_shape(range);
    if (base) s.insert(static_cast<int>(base));
    if (n1 > 1) s.insert(static_cast<int>(stride));
    if (giants > 1) s.insert(static_cast<int>(stride * static_cast<long>(n1)));
  };
  add_shape(-static_cast<long>(n - 1), 1, n + lay_.d - 1);
  add_shape(-static_cast<long>(n - 1) * static_cast<long>(n - 1), static_cast<long>(n - 1), 2 * n - 1);
  for (std::size_t m = 1; m < n; m <<= 1) {
    s.insert(-static_cast<int>(m * n));  // replicate down / sum over rows
    s.insert(static_cast<int>(m));       // row sums
  }
  if (opt_.task == KnnTask::Classify) {
    s.insert(-1);
    const std::size_t P = std::bit_ceil(classes_);
    for (std::size_t m = 2; m <= 2 * P - 2 && m < n; m <<= 1) s.insert(-static_cast<int>(m));
  }
  const long S = static_cast<long>(lay_.slots);
  std::set<int> norm;  // rotations are cyclic in S: normalise to (0, S)
  for (int v : s) norm.insert(static_cast<int>(((v % S) + S) % S));
  norm.erase(0);
  return {norm.begin(), norm.end()};
}

Ciphertext KnnRankServer::predict(const Ciphertext& x, const RelinKey& rk, const GaloisKeys& gk) const {
  if (x.slots != lay_.slots)
    throw InputError("knn ranking: the query ciphertext has " + std::to_string(x.slots) + " slots, the layout " +
                     std::to_string(lay_.slots));
  if (x.level < levels_needed())
    throw LevelError("knn ranking: the circuit needs " + std::to_string(levels_needed()) +
                     " levels but the queries are at level " + std::to_string(x.level) +
                     "; encrypt at a higher level, use a longer chain (knn_ranking_params()) or fewer compositions");
  const std::size_t n = lay_.n, T = lay_.segment(), S = lay_.slots, Q = S / T;
  auto rot = [&](const Ciphertext& c, long steps) {
    const long s = ((steps % static_cast<long>(S)) + static_cast<long>(S)) % static_cast<long>(S);
    return ev_.rotate(c, static_cast<int>(s), gk);
  };
  auto per_segment = [&](auto fill) {  // an S-slot vector repeating one T-slot pattern
    std::vector<double> v(S, 0.0);
    for (std::size_t s = 0; s < T; ++s) {
      const double e = fill(s / n, s % n);
      for (std::size_t b = 0; b < Q; ++b) v[b * T + s] = e;
    }
    return v;
  };
  auto mul_plain_rescale = [&](const Ciphertext& c, const std::vector<double>& v) {
    const double q = static_cast<double>(ctx_->q(c.level).value());
    return ev_.rescale(ev_.multiply(c, enc_.encode(v, c.level, q)));
  };
  PolynomialEvaluator pe(ev_, rk);

  // 1. δ_i in row 0.
  Ciphertext delta = diag_product(make_distance_product(), x, gk);
  delta = ev_.add(delta, enc_.encode(per_segment([&](std::size_t i, std::size_t j) {
                                       if (i != 0) return 0.0;
                                       double s = 0;
                                       for (double v : refs_[j]) s += v * v;
                                       return s / beta_;
                                     }),
                                     delta.level, delta.scale));
  // 2. B(i, j) = δ_j: replicate row 0 down the rows.
  for (std::size_t m = 1; m < n; m <<= 1) delta = ev_.add(delta, rot(delta, -static_cast<long>(m * n)));
  // 3. U(i, j) = (D_i − D_j)/β.
  Ciphertext u = diag_product(make_transpose_product(), delta, gk);
  // 4. −sign(U)/(2n).
  for (const auto& p : cmp1_) u = pe.evaluate(u, p);
  // 5. Row sums: slot (i, 0) holds −Σ_j s_ij/(2n).
  for (std::size_t m = 1; m < n; m <<= 1) u = ev_.add(u, rot(u, static_cast<long>(m)));
  const double dn = static_cast<double>(n), k = static_cast<double>(opt_.k);
  if (opt_.task == KnnTask::Regress) {
    u = ev_.add_const(u, (k - dn / 2) / dn);
  } else {
    u = mul_plain_rescale(u, per_segment([](std::size_t, std::size_t j) { return j == 0 ? 1.0 : 0.0; }));
    u = ev_.add(u, rot(u, -1));
    u = ev_.add(u, enc_.encode(per_segment([&](std::size_t, std::size_t j) {
                                 return j == 0 ? (k - dn / 2) / dn : j == 1 ? (1 - dn / 2) / dn : -1.0;
                               }),
                               u.level, u.scale));
  }
  // 6. s = (1 + sign v)/2.
  for (const auto& p : cmp2_) u = pe.evaluate(u, p);
  // 7. Output.
  if (opt_.task == KnnTask::Regress) {
    u = mul_plain_rescale(u, per_segment([&](std::size_t i, std::size_t j) { return j == 0 ? targets_[i] / k : 0.0; }));
  } else {
    const std::size_t P = std::bit_ceil(classes_);
    for (std::size_t m = 2; m <= 2 * P - 2 && m < n; m <<= 1) u = ev_.add(u, rot(u, -static_cast<long>(m)));
    u = mul_plain_rescale(u, per_segment([&](std::size_t i, std::size_t j) {
      return j / 2 < classes_ && static_cast<std::size_t>(targets_[i]) == j / 2 ? 1.0 : 0.0;
    }));
  }
  for (std::size_t m = 1; m < n; m <<= 1) u = ev_.add(u, rot(u, -static_cast<long>(m * n)));
  if (opt_.task == KnnTask::Regress) u = ev_.add_const(u, offset_);  // Σ s_i(y_i − ȳ)/k + ȳ
  return u;
}

// =============================================================================== client

KnnClient::KnnClient(ContextPtr ctx, std::optional<std::uint64_t> test_seed) : ctx_(ctx), keys_(ctx, test_seed) {}

RelinKey KnnClient::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys KnnClient::galois_keys(const std::vector<int>& steps) { return keys_.keygen.galois_keys(keys_.sk, steps); }

EncryptedQueries KnnClient::encrypt_queries(const KnnMatrix& queries, double unit, int level) {
  check_unit(unit, "knn encrypt_queries");
  check_queries(queries, queries.empty() ? 0 : queries[0].size(), "knn encrypt_queries");
  if (queries.size() > ctx_->max_slots())
    throw InputError("knn encrypt_queries: " + std::to_string(queries.size()) + " queries exceed the " +
                     std::to_string(ctx_->max_slots()) + " slots; split them into batches");
  check_level(ctx_, level, KnnDistanceServer::levels_needed(), "knn encrypt_queries");
  const std::size_t d = queries[0].size(), B = queries.size();
  const double scale = ctx_->default_scale();
  EncryptedQueries out;
  out.count = B;
  std::vector<double> col(B), norm(B, 0.0);
  for (std::size_t f = 0; f < d; ++f) {
    for (std::size_t b = 0; b < B; ++b) {
      col[b] = queries[b][f] / unit;
      norm[b] += col[b] * col[b];
    }
    out.features.push_back(keys_.encryptor.encrypt(keys_.encoder.encode(col, level, scale)));
  }
  out.norm2 = keys_.encryptor.encrypt(keys_.encoder.encode(norm, level, scale));
  return out;
}

KnnMatrix KnnClient::decrypt_distances(const std::vector<Ciphertext>& d, std::size_t count, double unit,
                                       bool integer_data) {
  check_unit(unit, "knn decrypt_distances");
  if (count > ctx_->max_slots())
    throw InputError("knn decrypt_distances: " + std::to_string(count) + " queries exceed the slots");
  KnnMatrix out(count, std::vector<double>(d.size()));
  for (std::size_t r = 0; r < d.size(); ++r) {
    const auto v = keys_.encoder.decode(keys_.decryptor.decrypt(d[r]));
    for (std::size_t b = 0; b < count; ++b) {
      const double x = v[b] * unit * unit;
      out[b][r] = integer_data ? std::round(x) : x;
    }
  }
  return out;
}

Ciphertext KnnClient::encrypt_segments(const KnnMatrix& queries, const KnnRankLayout& lay, double unit, int level) {
  check_unit(unit, "knn encrypt_segments");
  check_queries(queries, lay.d, "knn encrypt_segments");
  if (queries.size() > lay.queries_per_ciphertext())
    throw InputError("knn encrypt_segments: " + std::to_string(queries.size()) + " queries but a ciphertext holds " +
                     std::to_string(lay.queries_per_ciphertext()) + " segments of n² slots; split them into batches");
  if (lay.slots != ctx_->max_slots())
    throw InputError("knn encrypt_segments: the layout has " + std::to_string(lay.slots) + " slots, the context N/2 = " +
                     std::to_string(ctx_->max_slots()));
  check_level(ctx_, level, 1, "knn encrypt_segments");
  std::vector<double> v(lay.slots, 0.0);
  for (std::size_t b = 0; b < queries.size(); ++b)
    for (std::size_t f = 0; f < lay.d; ++f) v[b * lay.segment() + f] = queries[b][f] / unit;
  return keys_.encryptor.encrypt(keys_.encoder.encode(v, level, ctx_->default_scale()));
}

std::vector<double> KnnClient::decode_regression(const Ciphertext& out, const KnnRankLayout& lay, std::size_t count) {
  const auto v = keys_.encoder.decode(keys_.decryptor.decrypt(out));
  if (count > lay.queries_per_ciphertext()) throw InputError("knn decode_regression: more queries than segments");
  std::vector<double> pred(count);
  for (std::size_t b = 0; b < count; ++b) pred[b] = v[b * lay.segment() + (lay.n - 1) * lay.n];
  return pred;
}

void KnnClient::decode_votes(const Ciphertext& out, const KnnRankLayout& lay, std::size_t count, std::size_t classes,
                             KnnMatrix& votes, KnnMatrix& nearest) {
  const auto v = keys_.encoder.decode(keys_.decryptor.decrypt(out));
  if (count > lay.queries_per_ciphertext()) throw InputError("knn decode_votes: more queries than segments");
  votes.assign(count, std::vector<double>(classes));
  nearest.assign(count, std::vector<double>(classes));
  for (std::size_t b = 0; b < count; ++b)
    for (std::size_t c = 0; c < classes; ++c) {
      const std::size_t base = b * lay.segment() + (lay.n - 1) * lay.n + 2 * c;
      votes[b][c] = v[base];
      nearest[b][c] = v[base + 1];
    }
}

int decide_vote(const std::vector<double>& votes, const std::vector<double>& nearest) {
  if (votes.empty() || votes.size() != nearest.size())
    throw InputError("decide_vote: " + std::to_string(votes.size()) + " votes and " + std::to_string(nearest.size()) +
                     " nearest-class values; they must match and be non-empty");
  const double top = *std::max_element(votes.begin(), votes.end());
  int best = -1;
  for (std::size_t c = 0; c < votes.size(); ++c)
    if (votes[c] > top - 0.5 && (best < 0 || nearest[c] > nearest[static_cast<std::size_t>(best)]))
      best = static_cast<int>(c);
  return best;
}

}  // namespace ckks::ml

#include "ml/nn/nn_plain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include "ckks/approx.h"
#include "ckks/errors.h"

namespace ckks::ml {

namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Shapes of w, A, y and the rows against each other; labels in 0 … C−1; p1b given for four layers.
void check_shapes(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                  const std::vector<std::size_t>& rows, const char* op, const SigmoidPoly* act1b) {
  if (w.w1.empty() || w.w2.empty())
    throw InputError(std::string(op) + ": empty weights; start from nn_init(D, H, C, seed)");
  const std::size_t H = w.w1.size(), D = w.w1[0].size();
  const std::size_t Hout = w.four_layer() ? w.w1b.size() : H;  // the units the output layer reads
  if (w.four_layer()) {
    if (!act1b)
      throw InputError(std::string(op) + ": a four-layer network (W1b has " + std::to_string(w.w1b.size()) +
                       " rows) needs p1b; pass act1b (NnOptions::act1b)");
    for (const auto& r : w.w1b)
      if (r.size() != H + 1)
        throw InputError(std::string(op) + ": W1b rows have " + std::to_string(r.size()) + " columns but H1 + 1 = " +
                         std::to_string(H + 1));
  }
  for (const auto& r : w.w2)
    if (r.size() != Hout + 1)
      throw InputError(std::string(op) + ": W2 rows have " + std::to_string(r.size()) + " columns but " +
                       (w.four_layer() ? "H2" : "H") + " + 1 = " + std::to_string(Hout + 1));
  if (A.size() != y.size())
    throw InputError(std::string(op) + ": A has " + std::to_string(A.size()) + " rows but y has " +
                     std::to_string(y.size()) + " labels");
  for (std::size_t r : rows) {
    if (r >= A.size())
      throw InputError(std::string(op) + ": batch row " + std::to_string(r) + " is outside the " +
                       std::to_string(A.size()) + " rows of A");
    if (A[r].size() != D)
      throw InputError(std::string(op) + ": row " + std::to_string(r) + " of A has " + std::to_string(A[r].size()) +
                       " columns but W1 has D = " + std::to_string(D));
  }
  check_class_labels(y, w.w2.size(), op);
}

// z = M·a (M's rows dotted with a).
void mat_vec(const DenseMatrix& M, const std::vector<double>& a, std::vector<double>& z) {
  z.assign(M.size(), 0.0);
  for (std::size_t i = 0; i < M.size(); ++i) {
    double s = 0;
    for (std::size_t j = 0; j < a.size(); ++j) s += M[i][j] * a[j];
    z[i] = s;
  }
}

// Forward on one row: z1 (H1), a1 (H1 + 1, bias last), for four layers z1b (H2) and a1b (H2 + 1),
// z2 (C).
struct Forward {
  std::vector<double> z1, a1, z1b, a1b, z2;
  const std::vector<double>& out_in() const { return a1b.empty() ? a1 : a1b; }  // what W2 reads
};
Forward forward(const NnWeights& w, const std::vector<double>& x, const SigmoidPoly& act1, const SigmoidPoly* act1b) {
  Forward f;
  mat_vec(w.w1, x, f.z1);
  f.a1.assign(f.z1.size() + 1, 1.0);
  for (std::size_t h = 0; h < f.z1.size(); ++h) f.a1[h] = act1(f.z1[h]);
  if (w.four_layer()) {
    mat_vec(w.w1b, f.a1, f.z1b);
    f.a1b.assign(f.z1b.size() + 1, 1.0);
    for (std::size_t k = 0; k < f.z1b.size(); ++k) f.a1b[k] = (*act1b)(f.z1b[k]);
  }
  mat_vec(w.w2, f.out_in(), f.z2);
  return f;
}

// max(m, |v|) with a NaN |v| counted as +∞: a run that overflowed to NaN reports an infinite
// maximum instead of skipping it (std::max(m, NaN) returns m).
double max_abs(double m, double v) {
  const double a = std::fabs(v);
  return std::isnan(a) ? std::numeric_limits<double>::infinity() : std::max(m, a);
}

// δ_k = (Σ_c e_c·M[c][k])·act'(z_k) for k < z.size(): the error carried back through M (rows c,
// column k) and the activation whose pre-activations are z.
void carry_back(const DenseMatrix& M, const std::vector<double>& e, const std::vector<double>& z, const SigmoidPoly& act,
                std::vector<double>& delta) {
  delta.assign(z.size(), 0.0);
  for (std::size_t k = 0; k < z.size(); ++k) {
    double s = 0;
    for (std::size_t c = 0; c < e.size(); ++c) s += e[c] * M[c][k];
    delta[k] = s * act.derivative(z[k]);
  }
}

// g += δ ⊗ a.
void add_outer(DenseMatrix& g, const std::vector<double>& delta, const std::vector<double>& a) {
  for (std::size_t i = 0; i < delta.size(); ++i)
    for (std::size_t j = 0; j < a.size(); ++j) g[i][j] += delta[i] * a[j];
}

DenseMatrix zeros_like(const DenseMatrix& m) {
  DenseMatrix z(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) z[i].assign(m[i].size(), 0.0);
  return z;
}

// Σ over rows of the gradient pieces, with the output error e_c = out(z2_c) − Y_c scaled by `e_scale`.
template <class Out>
NnWeights backward_sum(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                       const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly* act1b, Out out,
                       double e_scale, NnStepInfo* info) {
  const std::size_t C = w.w2.size();
  NnWeights g{zeros_like(w.w1), zeros_like(w.w2), zeros_like(w.w1b)};
  std::vector<double> e(C), delta_b, delta;
  for (std::size_t r : rows) {
    const Forward f = forward(w, A[r], act1, act1b);
    for (std::size_t c = 0; c < C; ++c) {
      e[c] = e_scale * (out(f.z2[c]) - (static_cast<std::size_t>(y[r]) == c ? 1.0 : 0.0));
      if (info) info->max_abs_z2 = max_abs(info->max_abs_z2, f.z2[c]);
    }
    add_outer(g.w2, e, f.out_in());
    if (w.four_layer()) {
      carry_back(w.w2, e, f.z1b, *act1b, delta_b);
      add_outer(g.w1b, delta_b, f.a1);
      carry_back(w.w1b, delta_b, f.z1, act1, delta);
      if (info)
        for (double z : f.z1b) info->max_abs_z1b = max_abs(info->max_abs_z1b, z);
    } else {
      carry_back(w.w2, e, f.z1, act1, delta);
    }
    if (info)
      for (double z : f.z1) info->max_abs_z1 = max_abs(info->max_abs_z1, z);
    add_outer(g.w1, delta, A[r]);
  }
  return g;
}

// Every weight matrix of w with its counterpart in v (W1, W2, and W1b when w has four layers).
template <class W, class V>
auto matrix_pairs(W& w, V& v) {
  std::vector<std::pair<decltype(&w.w1), decltype(&v.w1)>> p{{&w.w1, &v.w1}, {&w.w2, &v.w2}};
  if (w.four_layer()) p.emplace_back(&w.w1b, &v.w1b);
  return p;
}

}  // namespace

double SigmoidPoly::max_error() const {
  double m = 0;
  for (int i = 0; i <= 2000; ++i) {
    const double z = -a + 2 * a * i / 2000.0;
    m = std::max(m, std::fabs((*this)(z) - sigmoid(z)));
  }
  return m;
}

SigmoidPoly fit_sigmoid(double a, int degree) {
  if (!(a > 0) || !std::isfinite(a))
    throw InputError("nn: sigmoid interval half-width a = " + std::to_string(a) + "; need a finite a > 0");
  if (degree != 3 && degree != 5)
    throw InputError("nn: sigmoid fit degree " + std::to_string(degree) +
                     " is not 3 or 5 (--hidden-degree, --output-degree)");
  const ChebyshevSeries s = least_squares_fit(sigmoid, -a, a, degree, 2001);
  // Σ_k s_k·T_k(t), t = z/a, in powers of t (T_{k+1} = 2t·T_k − T_{k−1}), then t^k = z^k/a^k.
  std::array<double, 6> tk{1, 0, 0, 0, 0, 0}, tk1{0, 1, 0, 0, 0, 0}, power{};
  for (int k = 0; k <= degree; ++k) {
    for (std::size_t i = 0; i < 6; ++i) power[i] += s.coeffs[static_cast<std::size_t>(k)] * tk[i];
    std::array<double, 6> next{};
    for (std::size_t i = 0; i < 6; ++i) next[i] = (i > 0 ? 2 * tk1[i - 1] : 0.0) - tk[i];
    tk = tk1;
    tk1 = next;
  }
  SigmoidPoly p;
  p.a = a;
  p.degree = degree;
  for (int k = 0; k <= degree; ++k) p.c[static_cast<std::size_t>(k)] = power[static_cast<std::size_t>(k)] / std::pow(a, k);
  return p;
}

double max_weight_difference(const NnWeights& a, const NnWeights& b) {
  double m = 0;
  for (auto [x, y] : matrix_pairs(a, b))
    for (std::size_t i = 0; i < x->size(); ++i)
      for (std::size_t j = 0; j < (*x)[i].size(); ++j) m = std::max(m, std::fabs((*x)[i][j] - (*y)[i][j]));
  return m;
}

NnWeights nn_init(std::size_t D, std::size_t H, std::size_t C, std::uint64_t seed, std::size_t H2) {
  if (D == 0 || H == 0 || C == 0)
    throw InputError("nn_init: D = " + std::to_string(D) + ", H = " + std::to_string(H) + ", C = " +
                     std::to_string(C) + "; every dimension must be at least 1");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::size_t Hout = H2 > 0 ? H2 : H;  // the units the output layer reads
  NnWeights w{DenseMatrix(H, std::vector<double>(D)), DenseMatrix(C, std::vector<double>(Hout + 1)), {}};
  // Glorot-uniform ranges; the output biases start at log(1/(C − 1)) so that every output starts
  // at σ = 1/C, the class frequency of balanced labels, instead of 1/2.
  const double r1 = std::sqrt(6.0 / static_cast<double>(D + H)), r2 = std::sqrt(6.0 / static_cast<double>(Hout + 1 + C));
  for (auto& row : w.w1)
    for (auto& v : row) v = r1 * u(rng);
  if (H2 > 0) {
    w.w1b.assign(H2, std::vector<double>(H + 1));
    const double rb = std::sqrt(6.0 / static_cast<double>(H + 1 + H2));
    for (auto& row : w.w1b)
      for (auto& v : row) v = rb * u(rng);
  }
  for (auto& row : w.w2) {
    for (auto& v : row) v = r2 * u(rng);
    row[Hout] = C > 1 ? std::log(1.0 / static_cast<double>(C - 1)) : 0.0;
  }
  return w;
}

std::vector<std::vector<std::size_t>> nn_batches(std::size_t n, std::size_t b, std::uint64_t seed) {
  if (b == 0 || b > n)
    throw InputError("nn: batch size " + std::to_string(b) + " with " + std::to_string(n) +
                     " training rows; need 1 ≤ batch ≤ rows (--batch)");
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed ^ 0x9E3779B97F4A7C15ULL);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[rng() % (i + 1)]);  // Fisher–Yates
  std::vector<std::vector<std::size_t>> out(n / b);
  for (std::size_t k = 0; k < out.size(); ++k) out[k].assign(idx.begin() + k * b, idx.begin() + (k + 1) * b);
  return out;
}

NnStepInfo nn_step(NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                   const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly& act2,
                   double eta, double weight_decay, const SigmoidPoly* act1b) {
  check_shapes(w, A, y, rows, "nn_step", act1b);
  NnStepInfo info;
  const NnWeights g = backward_sum(w, A, y, rows, act1, act1b, act2, 0.5, &info);
  const double step = 2 * eta / static_cast<double>(rows.size()), shrink = 1 - eta * weight_decay;
  for (auto [m, gm] : matrix_pairs(w, g))
    for (std::size_t i = 0; i < m->size(); ++i)
      for (std::size_t j = 0; j < (*m)[i].size(); ++j) (*m)[i][j] = shrink * (*m)[i][j] - step * (*gm)[i][j];
  return info;
}

NnWeights nn_bce_gradient(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                          const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly* act1b) {
  check_shapes(w, A, y, rows, "nn_bce_gradient", act1b);
  return backward_sum(w, A, y, rows, act1, act1b, sigmoid, 1.0, nullptr);
}

double nn_bce_loss(const NnWeights& w, const DenseMatrix& A, const std::vector<double>& y,
                   const std::vector<std::size_t>& rows, const SigmoidPoly& act1, const SigmoidPoly* act1b) {
  check_shapes(w, A, y, rows, "nn_bce_loss", act1b);
  double loss = 0;
  for (std::size_t r : rows) {
    const Forward f = forward(w, A[r], act1, act1b);
    for (std::size_t c = 0; c < f.z2.size(); ++c) {
      // −log σ(z) = log(1 + e^{−z}), −log(1 − σ(z)) = log(1 + e^{z}), computed stably.
      const double z = static_cast<std::size_t>(y[r]) == c ? -f.z2[c] : f.z2[c];
      loss += z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    }
  }
  return loss;
}

std::vector<int> nn_predict(const NnWeights& w, const DenseMatrix& A, const SigmoidPoly& act1,
                            const SigmoidPoly* act1b) {
  if (w.four_layer() && !act1b)
    throw InputError("nn_predict: a four-layer network (W1b has " + std::to_string(w.w1b.size()) +
                     " rows) needs p1b; pass act1b (NnOptions::act1b)");
  std::vector<int> out;
  out.reserve(A.size());
  for (const auto& x : A) {
    if (w.w1.empty() || x.size() != w.w1[0].size())
      throw InputError("nn_predict: a row has " + std::to_string(x.size()) + " columns but W1 has D = " +
                       std::to_string(w.w1.empty() ? 0 : w.w1[0].size()));
    const Forward f = forward(w, x, act1, act1b);
    out.push_back(static_cast<int>(std::max_element(f.z2.begin(), f.z2.end()) - f.z2.begin()));
  }
  return out;
}

void check_nn_decay(double eta, double weight_decay, double eta_decay, const char* op) {
  if (!(weight_decay >= 0) || !(eta_decay >= 0) || eta * weight_decay >= 1)
    throw InputError(std::string(op) + ": weight decay λ = " + std::to_string(weight_decay) + ", eta decay ρ = " +
                     std::to_string(eta_decay) + " with eta = " + std::to_string(eta) +
                     "; need λ ≥ 0 (--weight-decay) with η·λ < 1 and ρ ≥ 0 (--eta-decay)");
}

NnTrace nn_train(const DenseMatrix& A, const std::vector<double>& y, std::size_t C, const NnOptions& o) {
  if (A.empty()) throw InputError("nn_train: no training rows");
  if (o.hidden == 0 || o.epochs < 1 || !(o.eta > 0))
    throw InputError("nn_train: hidden = " + std::to_string(o.hidden) + ", epochs = " + std::to_string(o.epochs) +
                     ", eta = " + std::to_string(o.eta) + "; need hidden ≥ 1 (--hidden), epochs ≥ 1 (--epochs), eta > 0");
  check_nn_decay(o.eta, o.weight_decay, o.eta_decay, "nn_train");
  check_class_labels(y, C, "nn_train");
  if (o.hidden2 > 0 && o.act1b.degree != o.act1.degree)
    throw InputError("nn_train: p1b has degree " + std::to_string(o.act1b.degree) + " but p1 " +
                     std::to_string(o.act1.degree) + "; both hidden layers take --hidden-degree");
  const SigmoidPoly* act1b = o.hidden2 > 0 ? &o.act1b : nullptr;
  NnTrace t;
  t.initial = nn_init(A[0].size(), o.hidden, C, o.seed, o.hidden2);
  NnWeights w = t.initial, w_prev = t.initial;
  const auto batches = nn_batches(A.size(), o.batch, o.seed);
  for (int e = 0; e < o.epochs; ++e)
    for (const auto& rows : batches) {
      // Look-ahead V_t = W_t + γ·(W_t − W_{t−1}); W_{t+1} = V_t − step·∇(V_t).
      NnWeights v = w;
      for (auto [m, mp] : matrix_pairs(v, w_prev))
        for (std::size_t i = 0; i < m->size(); ++i)
          for (std::size_t j = 0; j < (*m)[i].size(); ++j) (*m)[i][j] += o.momentum * ((*m)[i][j] - (*mp)[i][j]);
      w_prev = w;
      w = v;
      const NnStepInfo s = nn_step(w, A, y, rows, o.act1, o.act2, o.eta_at(t.iterations), o.weight_decay, act1b);
      t.max_abs_z1 = std::max(t.max_abs_z1, s.max_abs_z1);
      t.max_abs_z2 = std::max(t.max_abs_z2, s.max_abs_z2);
      t.max_abs_z1b = std::max(t.max_abs_z1b, s.max_abs_z1b);
      for (const auto& pr : matrix_pairs(w, w))
        for (const auto& row : *pr.first)
          for (double v : row) t.max_abs_weight = max_abs(t.max_abs_weight, v);
      t.w.push_back(w);
      ++t.iterations;
    }
  return t;
}

NnOptions nn_choose_intervals(const DenseMatrix& A, const std::vector<double>& y, std::size_t C, NnOptions o) {
  auto widen = [](double m) { return std::max(1.0, std::ceil(2 * m) / 2); };
  // The fitted activations and the maxima the last run visited: p1, p2, then p1b (four layers).
  const bool four = o.hidden2 > 0;
  std::vector<SigmoidPoly*> act{&o.act1, &o.act2};
  if (four) act.push_back(&o.act1b);
  NnTrace t;
  auto visited = [&t, four] {
    std::vector<double> v{t.max_abs_z1, t.max_abs_z2};
    if (four) v.push_back(t.max_abs_z1b);
    return v;
  };
  int runs = 0;
  for (int round = 0; round < kNnIntervalRounds; ++round) {
    t = nn_train(A, y, C, o);
    ++runs;
    const std::vector<double> m = visited();
    bool inside = true, finite = true;
    for (std::size_t k = 0; k < act.size(); ++k) {
      inside = inside && m[k] <= act[k]->a;
      finite = finite && std::isfinite(m[k]);
    }
    if (round > 0 && inside) return o;
    if (round + 1 == kNnIntervalRounds) break;
    for (std::size_t k = 0; k < act.size(); ++k) {
      SigmoidPoly& p = *act[k];
      // The polynomials grow as z³ (z⁵) outside their interval: an overflowed run says only "wider"; double all.
      // Otherwise never narrow an interval the previous round left: refits that shrink and widen in turn do not settle.
      const double a = !finite ? 2 * p.a : round > 0 && !inside ? std::max(p.a, widen(m[k])) : widen(m[k]);
      p = fit_sigmoid(a, p.degree);
    }
  }
  const std::vector<double> m = visited();
  bool finite = true;
  for (double v : m) finite = finite && std::isfinite(v);
  char b1b[160] = "";
  if (four) std::snprintf(b1b, sizeof b1b, ", max |Z1b| = %.4g for p1b on [-%.4g, %.4g]", m[2], o.act1b.a, o.act1b.a);
  char msg[768];
  if (!finite)
    std::snprintf(msg, sizeof msg,
                  "nn_choose_intervals: the twin still overflows in run %d (p1 on [-%.4g, %.4g], p2 on [-%.4g, %.4g]: max "
                  "|Z1| = %.4g, max |Z2| = %.4g%s): lower --eta or --feature-scale, or raise --weight-decay",
                  runs, o.act1.a, o.act1.a, o.act2.a, o.act2.a, m[0], m[1], b1b);
  else
    std::snprintf(msg, sizeof msg,
                  "nn_choose_intervals: the twin leaves its fitted activation intervals in each of %d runs (the last: "
                  "max |Z1| = %.4g for p1 on [-%.4g, %.4g], max |Z2| = %.4g for p2 on [-%.4g, %.4g]%s); every refit lets "
                  "the pre-activations grow past it: lower --eta or --feature-scale, or raise --weight-decay",
                  runs, m[0], o.act1.a, o.act1.a, m[1], o.act2.a, o.act2.a, b1b);
  throw InputError(msg);
}

}  // namespace ckks::ml

#include "ckks/polynomial.h"

#include <cmath>
#include <map>
#include <set>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ckks/math/errors.h"

namespace ckks {

namespace {

// Smallest m with 2^m ≥ v (v ≥ 1).
int ceil_log2(long long v) {
  int m = 0;
  while ((1LL << m) < v) ++m;
  return m;
}

// α = 2/(b − a) when it is an integer small enough for multiply_integer, else nullopt.
std::optional<std::int64_t> integer_slope(const ChebyshevSeries& p) {
  const double alpha = 2.0 / (p.b - p.a);
  if (std::isfinite(alpha) && alpha == std::nearbyint(alpha) && std::fabs(alpha) <= 1048576.0)
    return static_cast<std::int64_t>(alpha);
  return std::nullopt;
}

std::vector<double> trimmed(std::vector<double> c) {
  while (c.size() > 1 && c.back() == 0) c.pop_back();
  return c;
}

[[maybe_unused]] std::string num(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// Counts what Run does: T_i built on demand (T_{2k} from T_k, T_{2k+1} from T_k and T_{k+1}, one
// product each) and one product per q·T_G with deg q ≥ 1; leaves are linear combinations.
class ProductCount {
 public:
  explicit ProductCount(int degree) : baby_(1 << std::max(1, ceil_log2(degree + 1) / 2)) { T_.insert(1); }

  void eval(std::vector<double> c, int D) {
    c = trimmed(std::move(c));
    const int k = static_cast<int>(c.size()) - 1;
    if (is_leaf(k, D)) return leaf(c);
    const int G = 1 << (ceil_log2(k + 1) - 1);
    auto [q, r] = chebyshev_divide(c, G);
    r = trimmed(std::move(r));
    const int kr = static_cast<int>(r.size()) - 1;
    if (q.size() == 1) {
      cheb(G);
      if (is_leaf(kr, D)) {
        leaf(r);
        return;
      }
    } else {
      cheb(G);
      eval(q, D - 1);
      ++products;
    }
    if (r.size() > 1) eval(std::move(r), D);
  }

  int products = 0;

 private:
  bool is_leaf(int k, int D) const { return k == 0 || (k < baby_ && k <= (1 << (D - 1))); }
  void leaf(const std::vector<double>& c) {
    bool any = false;
    for (std::size_t i = 1; i < c.size(); ++i)
      if (c[i] != 0) {
        cheb(static_cast<int>(i));
        any = true;
      }
    if (!any) cheb(1);
  }
  void cheb(int i) {
    if (T_.count(i)) return;
    if (i % 2 == 0) {
      cheb(i / 2);
    } else {
      cheb(i / 2);
      cheb(i / 2 + 1);
    }
    T_.insert(i);
    ++products;
  }
  int baby_;
  std::set<int> T_;
};

// One evaluation: the Chebyshev ciphertexts T_i of t, computed on demand, and the recursion.
class Run {
 public:
  Run(const Evaluator& ev, const RelinKey& rk, Ciphertext t, int degree)
      : ev_(ev), rk_(rk), ctx_(*ev.context()), top_(t.level) {
    const int m = ceil_log2(degree + 1);
    baby_ = 1 << std::max(1, m / 2);
    T_.emplace(1, std::move(t));
  }

  // p (Chebyshev coefficients in t) for the target (level top − D, scale σ). Requires
  // deg p < 2^D; the result has exactly that level and scale σ (up to double rounding).
  Ciphertext eval(std::vector<double> c, int D, double sigma) {
    c = trimmed(std::move(c));
    const int k = static_cast<int>(c.size()) - 1;
    CKKS_INVARIANT(k < (1LL << D), "polynomial: piece of degree " + std::to_string(k) +
                                        " does not fit in " + std::to_string(D) + " levels");
    const int lam = top_ - D;
    if (is_leaf(k, D)) return leaf(terms_of(c), c[0], lam, sigma);

    // Chebyshev division by T_G: for G ≤ i ≤ k < 2G, T_i = 2·T_G·T_{i−G} − T_{2G−i} (i > G),
    // T_G = T_G·T_0. So q_{i−G} gets 2c_i (c_G for i = G) and r_{2G−i} gets −c_i.
    const int G = 1 << (ceil_log2(k + 1) - 1);
    // Named members, not a structured binding: the lambda below captures them (clang 14, which
    // builds the fuzz targets, cannot capture structured bindings).
    ChebyshevDivision division = chebyshev_divide(c, G);
    const std::vector<double>& q = division.q;
    std::vector<double> r = trimmed(std::move(division.r));
    const int kr = static_cast<int>(r.size()) - 1;

    Ciphertext res = [&] {
      if (q.size() == 1) {
        // q·T_G is a scalar multiple of T_G: a linear-combination term, no ciphertext product.
        auto terms = std::vector<std::pair<int, double>>{{G, q[0]}};
        if (is_leaf(kr, D)) {  // fold r into the same linear combination
          auto tr = terms_of(r);
          terms.insert(terms.end(), tr.begin(), tr.end());
          auto out = leaf(terms, r[0], lam, sigma);
          r.assign(1, 0.0);  // consumed
          return out;
        }
        return leaf(terms, 0.0, lam, sigma);
      }
      const Ciphertext& TG = cheb(G);
      const double q_next = static_cast<double>(ctx_.q(lam + 1).value());
      Ciphertext qc = eval(q, D - 1, sigma * q_next / TG.scale);
      return ev_.rescale(ev_.multiply_relin(qc, ev_.drop_level(TG, lam + 1), rk_));
    }();

    if (r.size() == 1) {
      if (r[0] != 0) res = ev_.add_const(res, r[0]);
      return res;
    }
    return ev_.add(res, eval(std::move(r), D, sigma));
  }

 private:
  // A piece is a plain linear combination when it is small (degree < 2^l) and every T_i it uses
  // (i ≤ k, ready after ceil(log2 i) levels) is at least one level above its target.
  bool is_leaf(int k, int D) const { return k == 0 || (k < baby_ && k <= (1 << (D - 1))); }

  static std::vector<std::pair<int, double>> terms_of(const std::vector<double>& c) {
    std::vector<std::pair<int, double>> t;
    for (std::size_t i = 1; i < c.size(); ++i)
      if (c[i] != 0) t.emplace_back(static_cast<int>(i), c[i]);
    return t;
  }

  // Σ c_i·T_i + c0 at (lam, σ): each term at level lam + 1 with scale σ·q_{lam+1}, one rescale,
  // then the constant (added after the rescale, at the smaller scale σ).
  Ciphertext leaf(const std::vector<std::pair<int, double>>& terms, double c0, int lam, double sigma) {
    const int lvl = lam + 1;
    const double target = sigma * static_cast<double>(ctx_.q(lvl).value());
    std::vector<const Ciphertext*> ts;
    std::vector<double> cs;
    for (const auto& [i, ci] : terms) {
      ts.push_back(&cheb(i));
      cs.push_back(ci);
    }
    if (ts.empty()) {  // a constant piece: 0·T_1 gives a ciphertext of the right shape
      ts.push_back(&cheb(1));
      cs.push_back(0.0);
    }
    // Σ c_i·T_i, every term read at lvl with its constant at target/Δ_i: one pass (Evaluator).
    Ciphertext out = ev_.rescale(ev_.linear_combination(ts, cs, lvl, target));
    if (c0 != 0) out = ev_.add_const(out, c0);
    return out;
  }

  // T_i of t, computed once: T_{2k} = 2T_k² − 1, T_{2k+1} = 2T_k·T_{k+1} − T_1.
  const Ciphertext& cheb(int i) {
    if (auto it = T_.find(i); it != T_.end()) return it->second;
    CKKS_INVARIANT(i >= 2, "polynomial: T_0 is never needed as a ciphertext");
    const int k = i / 2;
    Ciphertext out;
    if (i % 2 == 0) {
      const Ciphertext& h = cheb(k);
      Ciphertext sq = ev_.multiply_integer(ev_.multiply_relin(h, h, rk_), 2);
      out = ev_.add_const(ev_.rescale(sq), -1.0);
    } else {
      const Ciphertext& lo = cheb(k);
      const Ciphertext& hi = cheb(k + 1);
      const int lvl = std::min(lo.level, hi.level);
      Ciphertext pr = ev_.multiply_integer(
          ev_.multiply_relin(ev_.drop_level(lo, lvl), ev_.drop_level(hi, lvl), rk_), 2);
      // T_1 brought to the product's level and scale before the rescale (no level spent on it).
      const Ciphertext& t1 = T_.at(1);
      pr = ev_.sub(pr, ev_.multiply_const(ev_.drop_level(t1, lvl), 1.0, pr.scale / t1.scale));
      out = ev_.rescale(pr);
    }
    return T_.emplace(i, std::move(out)).first->second;
  }

  const Evaluator& ev_;
  const RelinKey& rk_;
  const Context& ctx_;
  int top_;   // level of T_1
  int baby_;  // 2^l: pieces of degree below this may be linear combinations
  std::map<int, Ciphertext> T_;
};

}  // namespace

PolynomialEvaluator::PolynomialEvaluator(const Evaluator& ev, const RelinKey& rk) : ev_(ev), rk_(&rk) {
  if (rk.key.context != ev.context())
    throw ParameterError("PolynomialEvaluator: the relinearisation key belongs to another Context "
                         "than the Evaluator; use the key generated for this Context");
}

int PolynomialEvaluator::levels_needed(int degree) { return degree <= 0 ? 0 : ceil_log2(degree + 1LL); }

int PolynomialEvaluator::products_needed(const ChebyshevSeries& p) {
  ProductCount count(p.degree());
  count.eval(p.coeffs, levels_needed(p.degree()));
  return count.products;
}

int PolynomialEvaluator::levels_needed(const ChebyshevSeries& p) {
  return levels_needed(p.degree()) + (integer_slope(p) ? 0 : 1);
}

Ciphertext PolynomialEvaluator::evaluate(const Ciphertext& x, const ChebyshevSeries& p) const {
  const char* op = "PolynomialEvaluator::evaluate";
  p.validate(op);
  if (x.context != ev_.context())
    throw ParameterError(std::string(op) + ": the ciphertext was made under another Context than "
                         "the Evaluator; use an Evaluator of that Context");
  if (x.size() != 2)
    throw InputError(std::string(op) + ": the ciphertext has " + std::to_string(x.size()) +
                     " components; relinearize it first");
  const int d = p.degree();
  const auto slope = integer_slope(p);
  const int need = levels_needed(p);
  if (x.level < need) {
    std::ostringstream why;
    why << "polynomial evaluation of degree " << d;
    if (slope) {
      why << " needs " << need << " levels";
    } else {
      why << " on [" << p.a << ", " << p.b << "] needs " << need << " levels (" << levels_needed(d)
          << " for the degree, 1 to map [" << p.a << ", " << p.b << "] onto [-1, 1])";
    }
    why << " but the ciphertext has " << x.level
        << " left; encrypt at a higher level, add data primes to log_q, or use a lower degree";
    throw LevelError(why.str());
  }

  // t = α·x + β: free for an integer α, otherwise one rescale (constant encoded at scale q_ℓ, so
  // the scale comes back to x.scale).
  const double alpha = 2.0 / (p.b - p.a), beta = -(p.a + p.b) / (p.b - p.a);
  Ciphertext t = slope ? (*slope == 1 ? x : ev_.multiply_integer(x, *slope))
                       : ev_.rescale(ev_.multiply_const(x, alpha));
  if (beta != 0) t = ev_.add_const(t, beta);

  Run run(ev_, *rk_, std::move(t), d);
  Ciphertext out = run.eval(p.coeffs, levels_needed(d), x.scale);
  CKKS_INVARIANT(out.level == x.level - need, "polynomial: result at level " + std::to_string(out.level) +
                                                  ", expected " + std::to_string(x.level - need));
  CKKS_INVARIANT(std::fabs(out.scale - x.scale) <= 1e-12 * x.scale,
                 "polynomial: result scale drifted to " + num(out.scale));
  out.scale = x.scale;  // remove the last-ulp drift of the double bookkeeping
  return out;
}

}  // namespace ckks

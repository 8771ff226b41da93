#include "ckks/approx_select.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "ckks/math/errors.h"

namespace ckks {

namespace {

constexpr int kSearchGrid = 16385;   // bisection on the degree
constexpr int kConfirmGrid = 65537;  // the reported max_error
constexpr int kLeastSquaresMaxDegree = 127;
constexpr int kMaxCubics = 2;
constexpr double kFoldEnds[] = {6, 8, 10, 12, 14};
constexpr int kReportDepth = 12;  // how far the "no candidate" message looks for the depth needed

std::string num(double x, int precision = 6) {
  std::ostringstream os;
  os.precision(precision);
  os << x;
  return os.str();
}

void check_interval(double a, double b, const char* op) {
  if (!std::isfinite(a) || !std::isfinite(b) || !(a < b))
    throw InputError(std::string(op) + ": the interval [" + num(a, 17) + ", " + num(b, 17) +
                     "] is empty or not finite; give finite ends with a < b");
}

void check_degree(int degree, int max_degree, const char* op) {
  if (degree < 1 || degree > max_degree)
    throw InputError(std::string(op) + ": degree " + std::to_string(degree) + " is outside 1.." +
                     std::to_string(max_degree) + "; choose a degree in that range");
}

// ---- building candidates

// σ − 1/2 is odd: on a symmetric interval keep c_0 = 1/2 and drop the other even coefficients.
void keep_odd_part(ChebyshevSeries& p, ApproxFunction f) {
  if (f != ApproxFunction::Sigmoid || p.a != -p.b) return;
  p.coeffs[0] = 0.5;
  for (std::size_t k = 2; k < p.coeffs.size(); k += 2) p.coeffs[k] = 0;
}

void finish(ApproxCandidate& c, int grid) {
  c.depth = 0;
  c.products = 0;
  for (const ChebyshevSeries& s : c.stages) {
    c.depth += PolynomialEvaluator::levels_needed(s);
    c.products += polynomial_products(s);
  }
  c.max_error = approx_max_error(c, grid);
}

ApproxCandidate one_stage(ApproxFunction f, ApproxMethod m, double a, double b, ChebyshevSeries p,
                          int grid) {
  keep_odd_part(p, f);
  ApproxCandidate c;
  c.function = f;
  c.method = m;
  c.a = a;
  c.b = b;
  c.stages.push_back(std::move(p));
  finish(c, grid);
  return c;
}

// One folding cubic y ↦ y − k·y³ on [−R, R] with ends at ±s.
struct Fold {
  double k, turn, M;  // coefficient, y* (end of the increasing branch, ≤ R), max |h| = h(y*)
};

Fold make_fold(double R, double s) {
  const double k = (R - s) / (R * R * R);
  const double turn = std::min(R, 1 / std::sqrt(3 * k));
  return {k, turn, turn - k * turn * turn * turn};
}

// h₁⁻¹(z): the y ∈ [−y*, y*] with y − k·y³ = z (bisection: h is increasing there), z ∈ [−M, M].
double unfold(const Fold& f, double z) {
  double lo = -f.turn, hi = f.turn;
  for (int it = 0; it < 200 && hi - lo > 1e-15 * f.turn; ++it) {
    const double mid = 0.5 * (lo + hi);
    (mid - f.k * mid * mid * mid < z ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

ApproxCandidate compressed(ApproxFunction fn, double a, double b, int cubics, double s, int degree,
                           int grid) {
  const char* op = "approx_compressed";
  check_interval(a, b, op);
  check_degree(degree, 1 << 16, op);
  if (cubics < 1 || cubics > kMaxCubics)
    throw InputError(std::string(op) + ": cubics = " + std::to_string(cubics) +
                     " is outside 1..2; fold with one or two cubics");
  ApproxCandidate c;
  c.function = fn;
  c.method = ApproxMethod::CompressedComposite;
  c.a = a;
  c.b = b;
  c.fold_end = s;
  std::vector<Fold> folds;
  double R = std::max(std::fabs(a), std::fabs(b)), in_scale = 1;  // stage input = in_scale·t
  for (int i = 0; i < cubics; ++i) {
    if (!(s > 0 && s < R))
      throw InputError(std::string(op) + ": fold_end s = " + num(s) + " is not in (0, " + num(R) +
                       ") at cubic " + std::to_string(i + 1) +
                       ", so the cubic would not compress; choose a smaller s or fewer cubics");
    const Fold f = make_fold(R, s);
    folds.push_back(f);
    // Output h(y)/M in the input variable: stage 0 takes y = x on [−L, L]; later ones y = in_scale·t.
    const double u = (i == 0) ? 1.0 : in_scale;
    ChebyshevSeries stage = chebyshev_from_power({0, u / f.M, 0, -f.k * u * u * u / f.M},
                                                 i == 0 ? -R : -1.0, i == 0 ? R : 1.0);
    stage.coeffs[0] = stage.coeffs[2] = 0;  // odd (the conversion leaves rounding residue only)
    c.stages.push_back(std::move(stage));
    R = f.M;
    in_scale = f.M;
  }
  ChebyshevSeries last = chebyshev_interpolate(
      [&](double t) {
        double y = in_scale * t;
        for (auto it = folds.rbegin(); it != folds.rend(); ++it) y = unfold(*it, y);
        return approx_reference(fn, y);
      },
      -1, 1, degree);
  keep_odd_part(last, fn);
  c.stages.push_back(std::move(last));
  finish(c, grid);
  return c;
}

// ---- the search

struct Variant {
  ApproxMethod method;
  int cubics = 0;
  double s = 0;
};

ApproxCandidate build(const ApproxRequest& r, const Variant& v, int degree, int grid) {
  switch (v.method) {
    case ApproxMethod::ChebyshevInterpolant:
      return one_stage(r.function, v.method, r.a, r.b,
                       chebyshev_interpolate([&](double x) { return approx_reference(r.function, x); },
                                             r.a, r.b, degree),
                       grid);
    case ApproxMethod::LeastSquares:
      return one_stage(r.function, v.method, r.a, r.b,
                       least_squares_fit([&](double x) { return approx_reference(r.function, x); }, r.a,
                                         r.b, degree, std::max(2001, 16 * (degree + 1))),
                       grid);
    case ApproxMethod::CompressedComposite:
      return compressed(r.function, r.a, r.b, v.cubics, v.s, degree, grid);
  }
  throw InvariantError("approx_choose: unknown method");
}

std::vector<Variant> variants(const ApproxRequest& r) {
  std::vector<Variant> out{{ApproxMethod::ChebyshevInterpolant}, {ApproxMethod::LeastSquares}};
  for (int n = 1; n <= kMaxCubics; ++n)
    for (double s : kFoldEnds) {
      // Every fold must compress (s < R at each stage).
      double R = std::max(std::fabs(r.a), std::fabs(r.b));
      bool ok = true;
      for (int i = 0; i < n && ok; ++i) {
        ok = s < R;
        if (ok) R = make_fold(R, s).M;
      }
      if (ok) out.push_back({ApproxMethod::CompressedComposite, n, s});
    }
  return out;
}

// Levels spent before the last stage, and whether its affine map is free.
int fixed_levels(const ApproxRequest& r, const Variant& v) {
  if (v.method != ApproxMethod::CompressedComposite) {
    const ChebyshevSeries probe{r.a, r.b, {0, 1}};
    return PolynomialEvaluator::levels_needed(probe) - PolynomialEvaluator::levels_needed(1);
  }
  const double L = std::max(std::fabs(r.a), std::fabs(r.b));
  const ChebyshevSeries first{-L, L, {0, 1, 0, 1}}, later{-1, 1, {0, 1, 0, 1}};
  return PolynomialEvaluator::levels_needed(first) +
         (v.cubics - 1) * PolynomialEvaluator::levels_needed(later);
}

// The smallest odd degree of the last stage meeting the target at total depth D, or nothing; lowers
// *best_error to the smallest error seen.
std::optional<ApproxCandidate> at_depth(const ApproxRequest& r, const Variant& v, int D, double* best_error) {
  const int Df = D - fixed_levels(r, v);  // levels left for the last stage
  if (Df < 1) return std::nullopt;
  // Odd degrees d with ⌈log2(d + 1)⌉ = Df (σ − 1/2 is odd: an even top degree adds nothing).
  const int lo_deg = Df == 1 ? 1 : (1 << (Df - 1)) + 1;
  int hi_deg = (1 << Df) - 1;
  if (v.method == ApproxMethod::LeastSquares) hi_deg = std::min(hi_deg, kLeastSquaresMaxDegree);
  if (lo_deg > hi_deg) return std::nullopt;
  const double top = build(r, v, hi_deg, kSearchGrid).max_error;
  *best_error = std::min(*best_error, top);
  if (!(top <= r.max_error)) return std::nullopt;
  // Bisection on j, d = lo_deg + 2j: the error falls with the degree (not strictly, so the result
  // is confirmed on the finer grid and moved up if that grid disagrees).
  int lo = 0, hi = (hi_deg - lo_deg) / 2;  // invariant: degree lo_deg + 2·hi meets the target
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (build(r, v, lo_deg + 2 * mid, kSearchGrid).max_error <= r.max_error) hi = mid;
    else lo = mid + 1;
  }
  for (int d = lo_deg + 2 * hi; d <= hi_deg; d += 2) {
    ApproxCandidate c = build(r, v, d, kConfirmGrid);
    if (c.max_error <= r.max_error) return c;
  }
  return std::nullopt;
}

void check_request(const ApproxRequest& r, const char* op) {
  check_interval(r.a, r.b, op);
  if (!(r.max_error > 0) || !std::isfinite(r.max_error))
    throw InputError(std::string(op) + ": error target max_error = " + num(r.max_error) +
                     " is not a positive finite number; give the largest absolute error you accept, "
                     "e.g. 0x1p-10");
  if (r.max_depth < 1)
    throw InputError(std::string(op) + ": depth limit max_depth = " + std::to_string(r.max_depth) +
                     " is below 1; every polynomial of degree ≥ 1 uses at least one level");
}

bool cheaper(const ApproxCandidate& x, const ApproxCandidate& y) {
  if (x.depth != y.depth) return x.depth < y.depth;
  if (x.products != y.products) return x.products < y.products;
  return x.max_error < y.max_error;
}

}  // namespace

const char* to_string(ApproxFunction f) {
  switch (f) {
    case ApproxFunction::Sigmoid: return "sigmoid";
  }
  return "?";
}

const char* to_string(ApproxMethod m) {
  switch (m) {
    case ApproxMethod::ChebyshevInterpolant: return "chebyshev";
    case ApproxMethod::LeastSquares: return "least-squares";
    case ApproxMethod::CompressedComposite: return "compressed";
  }
  return "?";
}

double approx_reference(ApproxFunction f, double x) {
  switch (f) {
    case ApproxFunction::Sigmoid:
      return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
  }
  throw InvariantError("approx_reference: unknown function");
}

double ApproxCandidate::operator()(double x) const {
  double y = x;
  for (const ChebyshevSeries& s : stages) y = s(y);
  return y;
}

std::string ApproxCandidate::describe() const {
  std::ostringstream os;
  os << to_string(method) << ": ";
  if (method == ApproxMethod::CompressedComposite)
    os << stages.size() - 1 << (stages.size() == 2 ? " cubic" : " cubics") << " (s = " << fold_end
       << ") + ";
  char err[64];
  std::snprintf(err, sizeof err, "%.2e (2^%.1f)", max_error, std::log2(max_error));
  os << "degree " << degree() << " on [" << a << ", " << b << "], depth " << depth << ", "
     << products << " products, max error " << err;
  return os.str();
}

int polynomial_products(const ChebyshevSeries& p) {
  p.validate("polynomial_products");
  return PolynomialEvaluator::products_needed(p);
}

double approx_max_error(const ApproxCandidate& c, int points) {
  if (points < 2)
    throw InputError("approx_max_error: " + std::to_string(points) +
                     " grid points cannot cover an interval; use at least 2 (e.g. 65537)");
  if (c.stages.empty())
    throw InputError("approx_max_error: the candidate has no stage; build it with approx_chebyshev, "
                     "approx_least_squares, approx_compressed or approx_choose");
  double worst = 0;
  for (int i = 0; i < points; ++i) {
    const double x = i == points - 1 ? c.b : c.a + (c.b - c.a) * i / (points - 1);
    worst = std::max(worst, std::fabs(c(x) - approx_reference(c.function, x)));
  }
  return worst;
}

ApproxCandidate approx_chebyshev(ApproxFunction f, double a, double b, int degree) {
  check_interval(a, b, "approx_chebyshev");
  check_degree(degree, 1 << 16, "approx_chebyshev");
  return build({f, a, b, 1, 1}, {ApproxMethod::ChebyshevInterpolant}, degree, kConfirmGrid);
}

ApproxCandidate approx_least_squares(ApproxFunction f, double a, double b, int degree) {
  check_interval(a, b, "approx_least_squares");
  check_degree(degree, kLeastSquaresMaxDegree, "approx_least_squares");
  return build({f, a, b, 1, 1}, {ApproxMethod::LeastSquares}, degree, kConfirmGrid);
}

ApproxCandidate approx_compressed(ApproxFunction f, double a, double b, int cubics, double fold_end,
                                  int degree) {
  return compressed(f, a, b, cubics, fold_end, degree, kConfirmGrid);
}

std::vector<ApproxCandidate> approx_candidates(const ApproxRequest& r) {
  check_request(r, "approx_candidates");
  std::vector<ApproxCandidate> out;
  double best = INFINITY;
  for (const Variant& v : variants(r))
    for (int D = 1; D <= r.max_depth; ++D)
      if (auto c = at_depth(r, v, D, &best)) {
        out.push_back(std::move(*c));
        break;  // deeper circuits of this variant only cost more
      }
  std::sort(out.begin(), out.end(), cheaper);
  return out;
}

ApproxCandidate approx_choose(const ApproxRequest& r) {
  check_request(r, "approx_choose");
  // Fewest levels first: the first depth at which any variant meets the target decides the depth.
  const std::vector<Variant> vs = variants(r);
  double best = INFINITY;
  for (int D = 1; D <= r.max_depth; ++D) {
    std::vector<ApproxCandidate> found;
    for (const Variant& v : vs)
      if (auto c = at_depth(r, v, D, &best)) found.push_back(std::move(*c));
    if (!found.empty()) return *std::min_element(found.begin(), found.end(), cheaper);
  }
  // Nothing within the limit: say how close we came and how deep one would have to go.
  std::string need = "no depth up to " + std::to_string(kReportDepth) + " reaches it either";
  for (int D = r.max_depth + 1; D <= kReportDepth; ++D) {
    double ignored = INFINITY;
    bool hit = false;
    for (const Variant& v : vs) hit = hit || at_depth(r, v, D, &ignored).has_value();
    if (hit) {
      need = "depth " + std::to_string(D) + " reaches it";
      break;
    }
  }
  throw InputError("approx_choose: no approximation of " + std::string(to_string(r.function)) + " on [" +
                   num(r.a) + ", " + num(r.b) + "] reaches max_error = " + num(r.max_error) +
                   " within max_depth = " + std::to_string(r.max_depth) + " (smallest error found: " +
                   num(best, 3) + "; " + need +
                   "); raise max_depth, accept a larger max_error, or narrow the interval");
}

Ciphertext evaluate(const PolynomialEvaluator& pe, const Ciphertext& x, const ApproxCandidate& c) {
  if (c.stages.empty())
    throw InputError("evaluate(ApproxCandidate): the candidate has no stage; build it with "
                     "approx_choose or approx_chebyshev/approx_least_squares/approx_compressed");
  if (x.level < c.depth)
    throw LevelError("evaluate(ApproxCandidate): " + c.describe() + " needs " + std::to_string(c.depth) +
                     " levels but the ciphertext has " + std::to_string(x.level) +
                     " left; encrypt at a higher level or add data primes to log_q");
  Ciphertext y = pe.evaluate(x, c.stages[0]);
  for (std::size_t i = 1; i < c.stages.size(); ++i) y = pe.evaluate(y, c.stages[i]);
  return y;
}

}  // namespace ckks

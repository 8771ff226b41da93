#include "ckks/linear_transform.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "ckks/math/errors.h"

namespace ckks {

using cplx = std::complex<double>;

namespace {

bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::size_t next_pow2(std::size_t x) {
  std::size_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

std::string str(std::size_t x) { return std::to_string(x); }

double prime_scale(const Context& ctx, int level) { return static_cast<double>(ctx.q(level).value()); }

// Every step's key must be present; the error lists all missing steps at once, before any work.
void require_keys(const Context& ctx, const GaloisKeys& gk, const std::vector<int>& steps, const char* op) {
  std::string missing;
  for (int s : steps) {
    const std::uint64_t g = ctx.galois_element(s);
    if (g != 1 && !gk.has(g)) missing += (missing.empty() ? "" : ", ") + std::to_string(s);
  }
  if (!missing.empty())
    throw MissingKeyError(std::string(op) + ": no Galois key for the rotation step(s) {" + missing +
                          "}; generate them with KeyGenerator::galois_keys(sk, steps), where steps is "
                          "the list this transform's *_steps()/rotation_steps() returns");
}

// Shape and finiteness of a matrix; returns {rows, cols}.
std::pair<std::size_t, std::size_t> check_matrix(const ComplexMatrix& m, const std::string& op) {
  if (m.empty() || m[0].empty())
    throw InputError(op + ": the matrix is empty; it needs at least one row and one column");
  const std::size_t cols = m[0].size();
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i].size() != cols)
      throw InputError(op + ": row " + str(i) + " has " + str(m[i].size()) + " entries but row 0 has " +
                       str(cols) + "; every row needs the same length");
    for (std::size_t j = 0; j < cols; ++j)
      if (!std::isfinite(m[i][j].real()) || !std::isfinite(m[i][j].imag()))
        throw InputError(op + ": entry (" + str(i) + ", " + str(j) + ") is NaN or infinite");
  }
  return {m.size(), cols};
}

ComplexMatrix to_complex(const RealMatrix& m) {
  ComplexMatrix c(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) c[i].assign(m[i].begin(), m[i].end());
  return c;
}

// The Encoder does not expose its Context. Encoding a zero constant validates the level and the
// slot count (with the Encoder's own errors) and tells us the Context and the actual slot count.
Plaintext probe(const Encoder& enc, int level, std::size_t slots) {
  return enc.encode_constant(0.0, level, 1.0, slots);
}

// probe() for a transform that rescales once: also refuses level 0, naming the transform.
Plaintext probe_rescalable(const Encoder& enc, int level, std::size_t slots, const std::string& op) {
  Plaintext p = probe(enc, level, slots);
  if (level == 0)
    throw LevelError(op + ": level 0 leaves nothing to rescale by; the product consumes one level, "
                     "so encode the matrix for a ciphertext at level ≥ 1");
  return p;
}

void add_cost(TransformCost* cost, int rotations, int relins, int levels) {
  if (!cost) return;
  cost->rotations += rotations;
  cost->key_switches += rotations + relins;
  cost->levels += levels;
}

// One term diag ⊙ rot(v, baby), summed per giant step and rotated by giant·n1 (BSGS, [HS18]).
struct BsgsTerm {
  long giant, baby;
  const Plaintext* pt;
};

// The checks and the evaluation shared by MatrixVector and DiagonalTransform: terms sorted by giant
// step; the baby-step rotations of v hoisted, one rescale at the end. `op` names the caller in errors.
Ciphertext bsgs_apply(const Evaluator& ev, const Ciphertext& v, const GaloisKeys& gk, const ContextPtr& ctx,
                      int level, std::size_t slots, std::size_t n1, const std::vector<BsgsTerm>& terms,
                      const std::vector<int>& steps, const std::string& op, TransformCost* cost) {
  if (v.context != ctx || ev.context() != ctx)
    throw ParameterError(op + ": the ciphertext or the Evaluator belongs to another Context than the encoded matrix");
  if (v.level != level)
    throw LevelError(op + ": the ciphertext is at level " + std::to_string(v.level) +
                     " but the matrix was encoded for level " + std::to_string(level) +
                     "; encode the matrix for that level (or drop_level the ciphertext to it)");
  if (v.slots != slots)
    throw InputError(op + ": the ciphertext has " + str(v.slots) + " slots but the matrix was encoded for " + str(slots));
  if (v.size() != 2) throw InputError(op + ": relinearize the 3-component ciphertext first");
  require_keys(*ctx, gk, steps, op.c_str());

  // Baby steps: every rotation of v that some term uses, from one shared decomposition.
  std::vector<int> baby;
  for (const auto& t : terms) baby.push_back(static_cast<int>(t.baby));
  std::sort(baby.begin(), baby.end());
  baby.erase(std::unique(baby.begin(), baby.end()), baby.end());
  const std::vector<Ciphertext> rotated =
      baby.size() == 1 && baby[0] == 0 ? std::vector<Ciphertext>{v} : ev.rotate_hoisted(v, baby, gk);
  auto rotated_by = [&](long b) -> const Ciphertext& {
    return rotated[static_cast<std::size_t>(std::lower_bound(baby.begin(), baby.end(), static_cast<int>(b)) -
                                            baby.begin())];
  };

  // Giant steps: Σ_g rot(Σ_b pdiag_{g,b} ⊙ rot(v, b), g·n1), all at scale Δ·q_ℓ, one rescale at the end.
  Ciphertext acc;
  int giant_rotations = 0;
  for (std::size_t i = 0; i < terms.size();) {
    const long g = terms[i].giant;
    std::vector<const Ciphertext*> cts;
    std::vector<const Plaintext*> pts;
    for (; i < terms.size() && terms[i].giant == g; ++i) {
      cts.push_back(&rotated_by(terms[i].baby));
      pts.push_back(terms[i].pt);
    }
    Ciphertext inner = ev.multiply_sum(cts, pts);
    if (g != 0) {
      inner = ev.rotate(inner, static_cast<int>(g * static_cast<long>(n1)), gk);
      ++giant_rotations;
    }
    acc = acc.c.empty() ? std::move(inner) : ev.add(acc, inner);
  }
  Ciphertext out = ev.rescale(acc);
  add_cost(cost, static_cast<int>(baby.size()) - (baby[0] == 0 ? 1 : 0) + giant_rotations, 0, 1);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Sums and replication

std::vector<int> sum_slots_steps(std::size_t n, std::size_t stride) {
  if (!is_pow2(n))
    throw InputError("sum_slots: n = " + str(n) + " is not a power of two; pad the data with zeros to " +
                     str(next_pow2(std::max<std::size_t>(n, 1))) + " values");
  if (stride == 0) throw InputError("sum_slots: stride is 0; it must be at least 1");
  std::vector<int> steps;
  for (std::size_t s = stride; s < n * stride; s *= 2) steps.push_back(static_cast<int>(s));
  return steps;
}

Ciphertext sum_slots(const Evaluator& ev, const Ciphertext& ct, const GaloisKeys& gk, std::size_t n,
                     std::size_t stride, TransformCost* cost) {
  const std::vector<int> steps = sum_slots_steps(n, stride);
  if (n * stride > ct.slots)
    throw InputError("sum_slots: n·stride = " + str(n) + "·" + str(stride) + " = " + str(n * stride) +
                     " exceeds the " + str(ct.slots) + " slots of the ciphertext");
  require_keys(*ev.context(), gk, steps, "sum_slots");
  Ciphertext y = ct;
  for (int s : steps) y = ev.add(y, ev.rotate(y, s, gk));
  add_cost(cost, static_cast<int>(steps.size()), 0, 0);
  return y;
}

std::vector<int> replicate_steps(std::size_t block, std::size_t slots) {
  if (!is_pow2(block) || !is_pow2(slots) || block > slots)
    throw InputError("replicate: block = " + str(block) + " must be a power of two no larger than the " +
                     str(slots) + " slots");
  return sum_slots_steps(slots / block, block);
}

Ciphertext replicate(const Evaluator& ev, const Ciphertext& ct, const GaloisKeys& gk, std::size_t block,
                     TransformCost* cost) {
  replicate_steps(block, ct.slots);  // validates
  return sum_slots(ev, ct, gk, ct.slots / block, block, cost);
}

Ciphertext keep_first(const Evaluator& ev, const Encoder& enc, const Ciphertext& ct, std::size_t count,
                      TransformCost* cost) {
  if (count == 0 || count > ct.slots)
    throw InputError("keep_first: count = " + str(count) + " must be in [1, " + str(ct.slots) + "]");
  if (ct.level == 0)
    throw LevelError("keep_first: the ciphertext is at level 0, but the mask needs one rescale "
                     "(level 0 → −1); apply it before the last level is used");
  std::vector<double> mask(ct.slots, 0.0);
  std::fill(mask.begin(), mask.begin() + static_cast<std::ptrdiff_t>(count), 1.0);
  const Plaintext pt = enc.encode(mask, ct.level, prime_scale(*ev.context(), ct.level), ct.slots);
  Ciphertext r = ev.rescale(ev.multiply(ct, pt));
  add_cost(cost, 0, 0, 1);
  return r;
}

// ---------------------------------------------------------------------------------------------
// MatrixVector

MatrixVector::MatrixVector(const Encoder& enc, const RealMatrix& m, int level, std::size_t slots,
                           std::size_t baby_steps)
    : MatrixVector(enc, to_complex(m), level, slots, baby_steps) {}

MatrixVector::MatrixVector(const Encoder& enc, const ComplexMatrix& m, int level, std::size_t slots,
                           std::size_t baby_steps) {
  std::tie(rows_, cols_) = check_matrix(m, "MatrixVector");
  const Plaintext p = probe_rescalable(enc, level, slots, "MatrixVector");
  ctx_ = p.context;
  slots_ = p.slots;
  level_ = level;
  d_ = next_pow2(std::max(rows_, cols_));
  if (d_ > slots_)
    throw InputError("MatrixVector: a " + str(rows_) + "×" + str(cols_) + " matrix needs a period of D = " +
                     str(d_) + " slots but the ciphertexts have S = " + str(slots_) +
                     "; use more slots or a smaller matrix");
  if (baby_steps > d_)
    throw InputError("MatrixVector: baby_steps = " + str(baby_steps) + " exceeds the period D = " + str(d_));
  if (baby_steps == 0) {
    std::size_t log_d = 0;
    while ((std::size_t(1) << log_d) < d_) ++log_d;
    baby_steps = std::size_t(1) << ((log_d + 1) / 2);  // ⌈log2(D)/2⌉: n1 ≥ √D
  }
  n1_ = baby_steps;
  n2_ = (d_ + n1_ - 1) / n1_;

  // Padded entry P[i][j] (zero outside rows × cols).
  auto entry = [&](std::size_t i, std::size_t j) -> cplx { return i < rows_ && j < cols_ ? m[i][j] : cplx(0); };
  const double scale = prime_scale(*ctx_, level_);
  std::vector<cplx> diag(d_), vec(slots_);
  for (std::size_t g = 0; g < n2_; ++g) {
    for (std::size_t b = 0; b < n1_; ++b) {
      const std::size_t k = g * n1_ + b;
      if (k >= d_) break;
      bool zero = true;
      for (std::size_t i = 0; i < d_; ++i) {
        diag[i] = entry(i, (i + k) % d_);
        zero = zero && diag[i] == cplx(0);
      }
      if (zero && k != 0) continue;
      // rot(diag_k, −g·n1) repeated with period D: slot s holds diag_k[(s − g·n1) mod D].
      const std::size_t shift = (g * n1_) % d_;
      for (std::size_t s = 0; s < slots_; ++s) vec[s] = diag[(s % d_ + d_ - shift) % d_];
      diags_.push_back({g, b, enc.encode(vec, level_, scale, slots_)});
    }
  }
}

std::vector<int> MatrixVector::rotation_steps() const {
  std::vector<int> baby, giant;
  for (const auto& dg : diags_) {
    if (dg.baby != 0) baby.push_back(static_cast<int>(dg.baby));
    if (dg.giant != 0) giant.push_back(static_cast<int>(dg.giant * n1_));
  }
  std::sort(baby.begin(), baby.end());
  baby.erase(std::unique(baby.begin(), baby.end()), baby.end());
  giant.erase(std::unique(giant.begin(), giant.end()), giant.end());  // already sorted by giant
  baby.insert(baby.end(), giant.begin(), giant.end());
  return baby;
}

Ciphertext MatrixVector::apply(const Evaluator& ev, const Ciphertext& v, const GaloisKeys& gk,
                               TransformCost* cost) const {
  std::vector<BsgsTerm> terms;
  for (const auto& dg : diags_)
    terms.push_back({static_cast<long>(dg.giant), static_cast<long>(dg.baby), &dg.pt});
  return bsgs_apply(ev, v, gk, ctx_, level_, slots_, n1_, terms, rotation_steps(), "MatrixVector::apply", cost);
}

std::vector<cplx> MatrixVector::pack(std::span<const cplx> v) const {
  if (v.size() > cols_)
    throw InputError("MatrixVector::pack: the vector has " + str(v.size()) + " values but the matrix has " +
                     str(cols_) + " columns");
  std::vector<cplx> out(slots_, cplx(0));
  for (std::size_t s = 0; s < slots_; ++s)
    if (s % d_ < v.size()) out[s] = v[s % d_];
  return out;
}

std::vector<double> MatrixVector::pack(std::span<const double> v) const {
  const std::vector<cplx> c(v.begin(), v.end());
  const std::vector<cplx> z = pack(std::span<const cplx>(c));
  std::vector<double> out(z.size());
  for (std::size_t s = 0; s < z.size(); ++s) out[s] = z[s].real();
  return out;
}

// ---------------------------------------------------------------------------------------------
// VolleyRevolver

VolleyRevolver::VolleyRevolver(const Encoder& enc, std::size_t m, std::size_t n, std::size_t p, int level,
                               std::size_t slots, std::size_t row_stride)
    : m_(m), n_(n), p_(p) {
  const Plaintext pr = probe(enc, level, slots);
  ctx_ = pr.context;
  slots_ = pr.slots;
  level_ = level;
  if (m == 0 || n == 0 || p == 0)
    throw InputError("VolleyRevolver: dimensions m×n times n×p = " + str(m) + "×" + str(n) + " times " + str(n) +
                     "×" + str(p) + " must all be at least 1");
  if (level < 3)
    throw LevelError("VolleyRevolver: the product needs 3 levels (product, row mask, column mask) but level " +
                     std::to_string(level) + " leaves only " + std::to_string(level) +
                     "; use a ciphertext at level ≥ 3 (a longer modulus chain)");
  const std::size_t wide = std::max(n, p);
  d_ = row_stride == 0 ? next_pow2(wide) : row_stride;
  if (!is_pow2(d_) || d_ < wide)
    throw InputError("VolleyRevolver: row_stride = " + str(d_) + " must be a power of two ≥ max(n, p) = " +
                     str(wide));
  if (d_ > slots_)
    throw InputError("VolleyRevolver: a row stride of " + str(d_) + " slots exceeds the " + str(slots_) + " slots");
  const std::size_t rows = slots_ / d_;
  if (m > rows)
    throw InputError("VolleyRevolver: A has m = " + str(m) + " rows but " + str(slots_) + " slots hold only " +
                     str(rows) + " rows of " + str(d_) + "; use more slots");
  if (!(m + p - 1 <= rows || rows % p == 0))
    throw InputError("VolleyRevolver: m + p − 1 = " + str(m + p - 1) + " exceeds the " + str(rows) +
                     " slot-rows and p = " + str(p) + " does not divide them, so revolving B̄ would wrap onto "
                     "the wrong column; use more slots");

  std::vector<double> mask(slots_, 0.0);
  for (std::size_t i = 0; i < m_; ++i) mask[i * d_] = 1.0;
  row_mask_ = enc.encode(mask, level_ - 1, prime_scale(*ctx_, level_ - 1), slots_);
  for (std::size_t r = 0; r < p_; ++r) {
    std::fill(mask.begin(), mask.end(), 0.0);
    for (std::size_t i = 0; i < m_; ++i) mask[i * d_ + (i + r) % p_] = 1.0;
    place_masks_.push_back(enc.encode(mask, level_ - 2, prime_scale(*ctx_, level_ - 2), slots_));
  }
}

std::vector<cplx> VolleyRevolver::encode_a(const ComplexMatrix& a) const {
  const auto [rows, cols] = check_matrix(a, "VolleyRevolver::encode_a");
  if (rows != m_ || cols != n_)
    throw InputError("VolleyRevolver::encode_a: A is " + str(rows) + "×" + str(cols) + " but the layout is for " +
                     str(m_) + "×" + str(n_));
  std::vector<cplx> z(slots_, cplx(0));
  for (std::size_t i = 0; i < m_; ++i)
    for (std::size_t j = 0; j < n_; ++j) z[i * d_ + j] = a[i][j];
  return z;
}
std::vector<cplx> VolleyRevolver::encode_a(const RealMatrix& a) const { return encode_a(to_complex(a)); }

std::vector<cplx> VolleyRevolver::encode_b(const ComplexMatrix& b) const {
  const auto [rows, cols] = check_matrix(b, "VolleyRevolver::encode_b");
  if (rows != n_ || cols != p_)
    throw InputError("VolleyRevolver::encode_b: B is " + str(rows) + "×" + str(cols) + " but the layout is for " +
                     str(n_) + "×" + str(p_));
  std::vector<cplx> z(slots_, cplx(0));
  for (std::size_t k = 0; k < slots_ / d_; ++k)
    for (std::size_t j = 0; j < n_; ++j) z[k * d_ + j] = b[j][k % p_];
  return z;
}
std::vector<cplx> VolleyRevolver::encode_b(const RealMatrix& b) const { return encode_b(to_complex(b)); }

ComplexMatrix VolleyRevolver::decode_c(std::span<const cplx> z) const {
  if (z.size() != slots_)
    throw InputError("VolleyRevolver::decode_c: got " + str(z.size()) + " values, expected " + str(slots_));
  ComplexMatrix c(m_, std::vector<cplx>(p_));
  for (std::size_t i = 0; i < m_; ++i)
    for (std::size_t j = 0; j < p_; ++j) c[i][j] = z[i * d_ + j];
  return c;
}

std::vector<Plaintext> VolleyRevolver::encode_b_plain(const Encoder& enc, const ComplexMatrix& b) const {
  const std::vector<cplx> bbar = encode_b(b);
  const double scale = prime_scale(*ctx_, level_);
  std::vector<Plaintext> out;
  std::vector<cplx> z(slots_);
  for (std::size_t r = 0; r < p_; ++r) {
    for (std::size_t s = 0; s < slots_; ++s) z[s] = bbar[(s + r * d_) % slots_];  // rot(B̄, r·D)
    out.push_back(enc.encode(z, level_, scale, slots_));
  }
  return out;
}
std::vector<Plaintext> VolleyRevolver::encode_b_plain(const Encoder& enc, const RealMatrix& b) const {
  return encode_b_plain(enc, to_complex(b));
}

std::vector<int> VolleyRevolver::rotation_steps(bool encrypted_b) const {
  std::vector<int> steps;
  if (encrypted_b)
    for (std::size_t r = 1; r < p_; ++r) steps.push_back(static_cast<int>(r * d_));
  for (std::size_t s = 1; s < next_pow2(n_); s *= 2) steps.push_back(static_cast<int>(s));
  for (std::size_t s = 1; s < next_pow2(p_); s *= 2) steps.push_back(static_cast<int>(slots_ - s));
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

void VolleyRevolver::check_input(const Ciphertext& ct, const char* op, const char* what) const {
  if (ct.context != ctx_)
    throw ParameterError(std::string(op) + ": " + what + " belongs to another Context than the layout");
  if (ct.level != level_)
    throw LevelError(std::string(op) + ": " + what + " is at level " + std::to_string(ct.level) +
                     " but the layout was built for level " + std::to_string(level_));
  if (ct.slots != slots_)
    throw InputError(std::string(op) + ": " + what + " has " + str(ct.slots) + " slots but the layout uses " +
                     str(slots_));
  if (ct.size() != 2) throw InputError(std::string(op) + ": relinearize " + what + " first");
}

Ciphertext VolleyRevolver::revolve(const Evaluator& ev, const GaloisKeys& gk,
                                   const std::function<Ciphertext(std::size_t)>& product_r,
                                   TransformCost* cost) const {
  const std::size_t n_pow = next_pow2(n_), p_pow = next_pow2(p_);
  Ciphertext acc;
  int rotations = 0;
  for (std::size_t r = 0; r < p_; ++r) {
    Ciphertext t = ev.rescale(product_r(r));  // row i: A[i][·] ⊙ B[·][(i + r) mod p]
    for (std::size_t s = 1; s < n_pow; s *= 2, ++rotations)
      t = ev.add(t, ev.rotate(t, static_cast<int>(s), gk));  // slot i·D: C[i][(i + r) mod p]
    t = ev.rescale(ev.multiply(t, row_mask_));
    for (std::size_t s = 1; s < p_pow; s *= 2, ++rotations)
      t = ev.add(t, ev.rotate(t, static_cast<int>(slots_ - s), gk));  // spread over columns 0 … p'−1
    t = ev.multiply(t, place_masks_[r]);                               // keep column (i + r) mod p
    acc = r == 0 ? std::move(t) : ev.add(acc, t);
  }
  Ciphertext out = ev.rescale(acc);
  add_cost(cost, rotations, 0, 3);
  return out;
}

Ciphertext VolleyRevolver::multiply(const Evaluator& ev, const Ciphertext& a, const Ciphertext& b_bar,
                                    const RelinKey& rk, const GaloisKeys& gk, TransformCost* cost) const {
  check_input(a, "VolleyRevolver::multiply", "A");
  check_input(b_bar, "VolleyRevolver::multiply", "B̄");
  require_keys(*ctx_, gk, rotation_steps(true), "VolleyRevolver::multiply");
  std::vector<int> shifts;
  for (std::size_t r = 0; r < p_; ++r) shifts.push_back(static_cast<int>(r * d_));
  const std::vector<Ciphertext> b_rot = ev.rotate_hoisted(b_bar, shifts, gk);  // B_r = rot(B̄, r·D)
  add_cost(cost, static_cast<int>(p_) - 1, static_cast<int>(p_), 0);
  return revolve(ev, gk, [&](std::size_t r) { return ev.relinearize(ev.multiply(a, b_rot[r]), rk); }, cost);
}

Ciphertext VolleyRevolver::multiply_plain(const Evaluator& ev, const Ciphertext& a,
                                          const std::vector<Plaintext>& b_rot, const GaloisKeys& gk,
                                          TransformCost* cost) const {
  check_input(a, "VolleyRevolver::multiply_plain", "A");
  if (b_rot.size() != p_)
    throw InputError("VolleyRevolver::multiply_plain: expected the " + str(p_) + " plaintexts of encode_b_plain, got " +
                     str(b_rot.size()));
  for (const Plaintext& pt : b_rot)
    if (pt.context != ctx_ || pt.level != level_ || pt.slots != slots_)
      throw InputError("VolleyRevolver::multiply_plain: the plaintexts must come from encode_b_plain of this layout "
                       "(level " + std::to_string(level_) + ", " + str(slots_) + " slots)");
  require_keys(*ctx_, gk, rotation_steps(false), "VolleyRevolver::multiply_plain");
  return revolve(ev, gk, [&](std::size_t r) { return ev.multiply(a, b_rot[r]); }, cost);
}

// ---------------------------------------------------------------------------------------------
// DiagonalMatrix and DiagonalTransform

DiagonalMatrix DiagonalMatrix::identity(std::size_t size) {
  DiagonalMatrix m;
  m.size = size;
  m.diags[0] = std::vector<cplx>(size, cplx(1));
  return m;
}

std::vector<cplx> DiagonalMatrix::apply(std::span<const cplx> v) const {
  if (v.size() != size)
    throw InputError("DiagonalMatrix::apply: the vector has " + str(v.size()) + " values but the matrix is " +
                     str(size) + "×" + str(size));
  std::vector<cplx> out(size, cplx(0));
  for (const auto& [k, d] : diags)
    for (std::size_t i = 0; i < size; ++i) out[i] += d[i] * v[(i + k) % size];
  return out;
}

DiagonalMatrix DiagonalMatrix::operator*(const DiagonalMatrix& o) const {
  if (o.size != size)
    throw InputError("DiagonalMatrix product: sizes " + str(size) + " and " + str(o.size) + " differ");
  DiagonalMatrix r;
  r.size = size;
  for (const auto& [k1, a] : diags)
    for (const auto& [k2, b] : o.diags) {
      auto& d = r.diags[(k1 + k2) % size];
      if (d.empty()) d.assign(size, cplx(0));
      for (std::size_t i = 0; i < size; ++i) d[i] += a[i] * b[(i + k1) % size];
    }
  return r;
}

void DiagonalMatrix::scale_rows(std::span<const cplx> d) {
  if (d.size() != size)
    throw InputError("DiagonalMatrix::scale_rows: " + str(d.size()) + " factors for " + str(size) + " rows");
  for (auto& [k, diag] : diags)
    for (std::size_t i = 0; i < size; ++i) diag[i] *= d[i];
}

void DiagonalMatrix::scale(cplx c) {
  for (auto& [k, diag] : diags)
    for (auto& x : diag) x *= c;
}

namespace {

// Offset k ∈ [0, S) in signed form [−S/2, S/2), split as g·n1 + b with 0 ≤ b < n1.
std::pair<long, long> split_offset(std::size_t k, std::size_t slots, std::size_t n1) {
  long s = static_cast<long>(k);
  if (k >= slots / 2 && slots > 1) s -= static_cast<long>(slots);
  const long n = static_cast<long>(n1);
  long g = s >= 0 ? s / n : -((-s + n - 1) / n);
  return {g, s - g * n};
}

}  // namespace

std::vector<int> DiagonalTransform::steps_for(const std::vector<std::size_t>& offsets, std::size_t slots,
                                              std::size_t n1) {
  std::vector<int> baby, giant;
  for (std::size_t k : offsets) {
    const auto [g, b] = split_offset(k, slots, n1);
    if (b != 0) baby.push_back(static_cast<int>(b));
    if (g != 0) giant.push_back(static_cast<int>(g * static_cast<long>(n1)));
  }
  for (auto* v : {&baby, &giant}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  baby.insert(baby.end(), giant.begin(), giant.end());
  return baby;
}

std::size_t DiagonalTransform::best_baby_steps(const std::vector<std::size_t>& offsets, std::size_t slots) {
  std::size_t best = 1, best_count = steps_for(offsets, slots, 1).size();
  for (std::size_t n1 = 2; n1 <= slots; n1 <<= 1) {
    const std::size_t c = steps_for(offsets, slots, n1).size();
    if (c <= best_count) { best = n1; best_count = c; }
  }
  return best;
}

DiagonalTransform::DiagonalTransform(const Encoder& enc, const DiagonalMatrix& m, int level, double pt_scale,
                                     std::size_t baby_steps) {
  if (m.diags.empty()) throw InputError("DiagonalTransform: the matrix has no diagonal");
  const Plaintext p = probe_rescalable(enc, level, m.size, "DiagonalTransform");
  ctx_ = p.context;
  slots_ = p.slots;
  level_ = level;
  for (const auto& [k, d] : m.diags) {
    if (k >= slots_ || d.size() != slots_)
      throw InputError("DiagonalTransform: diagonal " + str(k) + " has " + str(d.size()) + " values; an offset must "
                       "be below S = " + str(slots_) + " and every diagonal needs S values");
    for (std::size_t i = 0; i < d.size(); ++i)
      if (!std::isfinite(d[i].real()) || !std::isfinite(d[i].imag()))
        throw InputError("DiagonalTransform: diagonal " + str(k) + ", entry " + str(i) + " is NaN or infinite");
    offsets_.push_back(k);
  }
  if (baby_steps != 0 && (!is_pow2(baby_steps) || baby_steps > slots_))
    throw InputError("DiagonalTransform: baby_steps = " + str(baby_steps) + " must be a power of two ≤ S = " +
                     str(slots_));
  n1_ = baby_steps ? baby_steps : best_baby_steps(offsets_, slots_);
  pt_scale_ = pt_scale == 0 ? prime_scale(*ctx_, level_) : pt_scale;
  if (!(pt_scale_ > 0) || !std::isfinite(pt_scale_))
    throw ScaleError("DiagonalTransform: pt_scale " + std::to_string(pt_scale) + " must be positive and finite");

  std::vector<cplx> vec(slots_);
  for (const auto& [k, d] : m.diags) {
    const auto [g, b] = split_offset(k, slots_, n1_);
    // rot(diag_k, −g·n1): slot s holds diag_k[(s − g·n1) mod S].
    const long shift = g * static_cast<long>(n1_), S = static_cast<long>(slots_);
    for (std::size_t s = 0; s < slots_; ++s)
      vec[s] = d[static_cast<std::size_t>(((static_cast<long>(s) - shift) % S + S) % S)];
    diags_.push_back({g, b, enc.encode(vec, level_, pt_scale_, slots_)});
  }
  std::sort(diags_.begin(), diags_.end(), [](const Diagonal& x, const Diagonal& y) {
    return std::tie(x.giant, x.baby) < std::tie(y.giant, y.baby);
  });
}

Ciphertext DiagonalTransform::apply(const Evaluator& ev, const Ciphertext& v, const GaloisKeys& gk,
                                    TransformCost* cost) const {
  std::vector<BsgsTerm> terms;
  for (const auto& dg : diags_) terms.push_back({dg.giant, dg.baby, &dg.pt});
  return bsgs_apply(ev, v, gk, ctx_, level_, slots_, n1_, terms, rotation_steps(), "DiagonalTransform::apply", cost);
}

}  // namespace ckks

#include "ckks/evaluator.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "ckks/keyswitch.h"
#include "ckks/math/errors.h"
#include "ckks/math/threads.h"

namespace ckks {

using math::RnsPoly;
using cplx = std::complex<double>;

namespace {
bool same_scale(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(a, b); }
std::string lv(int l) { return std::to_string(l); }

// A ciphertext from polynomials moved in (a braced initializer list would copy them).
Ciphertext make_ct(const ContextPtr& ctx, std::vector<RnsPoly>&& c, int level, double scale, std::size_t slots,
                   KeyId key_id) {
  Ciphertext r;
  r.context = ctx;
  r.c = std::move(c);
  r.level = level;
  r.scale = scale;
  r.slots = slots;
  r.key_id = key_id;
  return r;
}

// Two ciphertexts combined must be of one key set; the result's key set is the known one of the two.
KeyId joint_key_id(const Ciphertext& a, const Ciphertext& b, const char* op) {
  check_same_key_set(a.key_id, b.key_id, op, "the first ciphertext", "the second",
                     "combine only ciphertexts encrypted under the same keys");
  return a.key_id != 0 ? a.key_id : b.key_id;
}

// A key-switching key must be of the ciphertext's key set and reach its level (a key made for levels
// ≤ ℓ_k, KeySwitchKey::max_level, has no limbs above).
void check_key_of(const Ciphertext& a, const KeySwitchKey& k, const char* op, const char* key_name) {
  check_same_key_set(a.key_id, k.key_id, op, "the ciphertext", std::string("the ") + key_name,
                     "use the evaluation keys generated with the secret key the ciphertext was encrypted under");
  if (a.level > k.max_level())
    throw LevelError(std::string(op) + ": the " + key_name + " switches ciphertexts up to level " +
                     std::to_string(k.max_level()) + " but the ciphertext is at level " + std::to_string(a.level) +
                     "; generate the key with max_level ≥ " + std::to_string(a.level) +
                     " (KeyGenerator::galois_keys) or drop the ciphertext to level " + std::to_string(k.max_level()));
}
template <class... P>
std::vector<RnsPoly> polys(P&&... p) {
  std::vector<RnsPoly> v;
  v.reserve(sizeof...(p));
  (v.push_back(std::forward<P>(p)), ...);
  return v;
}

// A rotation by `step` (Galois element g ≠ 1) needs its Galois key: MissingKeyError naming the step,
// the element and the call that generates it.
void require_rotation_key(const GaloisKeys& gk, int step, std::uint64_t g, const char* op) {
  if (!gk.has(g))
    throw MissingKeyError(std::string(op) + ": no Galois key for a rotation by " + std::to_string(step) +
                          " (Galois element " + std::to_string(g) +
                          "); generate it with KeyGenerator::galois_keys(sk, {" + std::to_string(step) + "})");
}
// multiply_sum's products for components 0 and 1: Σ_k a_k.c[comp] ⊙ b_k.poly over `basis` (math::dot_product:
// one reduction per coefficient), for Ciphertext/Plaintext over Q_ℓ and their extended forms over Q_ℓ·P.
template <class Ct, class Pt>
std::pair<RnsPoly, RnsPoly> sum_of_products(std::size_t N, std::span<const Ct* const> a, std::span<const Pt* const> b,
                                            const math::RnsBasis& basis) {
  std::vector<const RnsPoly*> x(a.size()), y(a.size());
  for (std::size_t k = 0; k < b.size(); ++k) y[k] = &b[k]->poly;
  RnsPoly out[2] = {RnsPoly(N, basis.size(), true), RnsPoly(N, basis.size(), true)};
  for (std::size_t comp = 0; comp < 2; ++comp) {
    for (std::size_t k = 0; k < a.size(); ++k) x[k] = &a[k]->c[comp];
    math::dot_product(out[comp], x, y, basis);
  }
  return {std::move(out[0]), std::move(out[1])};
}
// A product's scale must leave room below Q_ℓ/2 for the encoded values.
void check_product_scale(const Context& ctx, double scale, int level, const char* op) {
  const double log_q = math::log2_product(ctx.basis_q(level));
  if (std::log2(scale) >= log_q - 1)
    throw ScaleError(std::string(op) + ": scale " + pow2_string(scale) + " exceeds remaining modulus " +
                     pow2_string(std::exp2(log_q)) + " at level " + lv(level) + "; rescale first or add primes");
}
}  // namespace

Evaluator::Evaluator(ContextPtr context) : ctx_(std::move(context)) {}

void Evaluator::check_ct(const Ciphertext& a, const char* op) const {
  if (a.context != ctx_)
    throw ParameterError(std::string(op) + ": the ciphertext was made under another Context; "
                         "use an Evaluator of that Context");
  if (a.size() < 2 || a.size() > 3)
    throw InputError(std::string(op) + ": a ciphertext has 2 or 3 components, this one has " +
                     std::to_string(a.size()));
  if (a.level < 0 || a.level > ctx_->max_level())
    throw LevelError(std::string(op) + ": level " + lv(a.level) + " is outside [0, " +
                     lv(ctx_->max_level()) + "]");
}

void Evaluator::check_pair(const Ciphertext& a, int level_b, double scale_b, std::size_t slots_b,
                           const ContextPtr& ctx_b, const char* op, bool need_same_scale) const {
  check_ct(a, op);
  if (ctx_b != ctx_)
    throw ParameterError(std::string(op) + ": the second operand was made under another Context");
  if (a.level != level_b) {
    const int lo = std::min(a.level, level_b);
    throw LevelError(std::string(op) + ": levels differ (" + lv(a.level) + " vs " + lv(level_b) +
                     "); bring the " + (a.level > level_b ? "first" : "second") +
                     " operand down with drop_level(x, " + lv(lo) + ") (or rescale it)");
  }
  if (need_same_scale && !same_scale(a.scale, scale_b)) {
    if (std::fabs(std::log2(a.scale / scale_b)) < 0.5) {
      // Drift: rescaling divides by the prime q_ℓ, not by Δ, so two paths of different depth end
      // at slightly different scales. Show enough digits to see it, and the exact fix.
      char buf[160];
      std::snprintf(buf, sizeof buf, "scales differ slightly (2^%.6f vs 2^%.6f, ratio %.9f)", std::log2(a.scale),
                    std::log2(scale_b), a.scale / scale_b);
      throw ScaleError(std::string(op) + ": " + buf +
                       ": rescaling divides by the primes q_l, not by exactly the scale, so operands computed "
                       "along different paths drift apart. Bring one to the other's scale exactly with "
                       "rescale(multiply_const(x, 1.0, target_scale * q / x.scale)), q the prime that rescale "
                       "divides by (costs one level), or encode the plaintext at the ciphertext's scale");
    }
    throw ScaleError(std::string(op) + ": scales differ (" + pow2_string(a.scale) + " vs " +
                     pow2_string(scale_b) + "); rescale the operand with the larger scale, or "
                     "encode the plaintext at the ciphertext's scale");
  }
  if (a.slots != slots_b)
    throw InputError(std::string(op) + ": slot counts differ (" + std::to_string(a.slots) + " vs " +
                     std::to_string(slots_b) + "); encode both with the same slot count");
}

Ciphertext Evaluator::add(const Ciphertext& a, const Ciphertext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "add", true);
  check_ct(b, "add");
  const auto& bq = ctx_->basis_q(a.level);
  const KeyId id = joint_key_id(a, b, "add");
  Ciphertext r = a.size() >= b.size() ? a : b;
  r.key_id = id;
  const Ciphertext& o = a.size() >= b.size() ? b : a;
  for (std::size_t i = 0; i < o.size(); ++i) math::add_inplace(r.c[i], o.c[i], bq);
  return r;
}

void Evaluator::add_inplace(Ciphertext& a, const Ciphertext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "add_inplace", true);
  check_ct(b, "add_inplace");
  const KeyId id = joint_key_id(a, b, "add_inplace");
  if (b.size() > a.size()) {
    a = add(a, b);
    return;
  }
  const auto& bq = ctx_->basis_q(a.level);
  for (std::size_t i = 0; i < b.size(); ++i) math::add_inplace(a.c[i], b.c[i], bq);
  a.key_id = id;
}

Ciphertext Evaluator::sub(const Ciphertext& a, const Ciphertext& b) const {
  return add(a, negate(b));
}

Ciphertext Evaluator::add(const Ciphertext& a, const Plaintext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "add", true);
  Ciphertext r = a;
  math::add_inplace(r.c[0], b.poly, ctx_->basis_q(a.level));
  return r;
}

Ciphertext Evaluator::sub(const Ciphertext& a, const Plaintext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "sub", true);
  Ciphertext r = a;
  math::sub_inplace(r.c[0], b.poly, ctx_->basis_q(a.level));
  return r;
}

namespace {
// round(x) modulo q for any finite x: exact through int64 when |x| < 2^62; above that x is an
// integer-valued double m·2^e (m a 53-bit integer, e ≥ 0), whose residue is m·2^e mod q.
std::uint64_t residue_of_rounded(double x, const math::Modulus& q) {
  const double r = std::nearbyint(x);
  if (std::fabs(r) < 0x1p62) return math::from_signed(static_cast<std::int64_t>(r), q);
  int e = 0;
  const double frac = std::frexp(r, &e);  // r = frac·2^e, 0.5 ≤ |frac| < 1, e > 62
  const auto m = static_cast<std::int64_t>(std::ldexp(frac, 53));
  return math::mul_mod(math::from_signed(m, q), math::pow_mod(2 % q.q, static_cast<std::uint64_t>(e - 53), q), q);
}

// The headroom check of the constants: |c|·scale must stay below Q_ℓ/2 (so that the constant is a
// well-defined centred residue).
void check_constant(const Context& ctx, double mag, int level, const char* op) {
  const double log_q = math::log2_product(ctx.basis_q(level));
  if (mag >= 1 && std::log2(mag) >= log_q - 1)
    throw ScaleError(std::string(op) + ": |c|·scale = " + pow2_string(mag) + " exceeds the headroom Q_ℓ/2 = " +
                     pow2_string(std::exp2(log_q - 1)) + " at level " + std::to_string(level) +
                     "; use a smaller constant or scale");
}

// Residues of round(c·scale) modulo q_0..q_ℓ, with the same checks as constant_poly.
std::vector<std::uint64_t> constant_residues(const Context& ctx, double c, double scale, int level, const char* op) {
  if (!std::isfinite(c))
    throw InputError(std::string(op) + ": the constant is NaN or infinite; it must be finite");
  const auto& bq = ctx.basis_q(level);
  check_constant(ctx, std::fabs(c) * scale, level, op);
  std::vector<std::uint64_t> r(bq.size());
  for (std::size_t i = 0; i < bq.size(); ++i) r[i] = residue_of_rounded(c * scale, bq[i]->mod);
  return r;
}

// The constant polynomial round(Re c·Δ) + round(Im c·Δ)·X^{N/2} at level ℓ, evaluation form.
RnsPoly constant_poly(const Context& ctx, cplx c, double scale, int level, const char* op) {
  if (!std::isfinite(c.real()) || !std::isfinite(c.imag()))
    throw InputError(std::string(op) + ": the constant is NaN or infinite; it must be finite");
  const auto& bq = ctx.basis_q(level);
  check_constant(ctx, std::max(std::fabs(c.real()), std::fabs(c.imag())) * scale, level, op);
  const std::size_t N = ctx.n();
  RnsPoly p(N, bq.size(), false);
  for (std::size_t i = 0; i < bq.size(); ++i) {
    p.limb(i)[0] = residue_of_rounded(c.real() * scale, bq[i]->mod);
    p.limb(i)[N / 2] = residue_of_rounded(c.imag() * scale, bq[i]->mod);
  }
  math::to_ntt(p, bq);
  return p;
}
}  // namespace

Ciphertext Evaluator::add_const(const Ciphertext& a, cplx c) const {
  check_ct(a, "add_const");
  Ciphertext r = a;
  if (c.imag() == 0) {
    // A real constant polynomial has the same value at every evaluation point: add it limb-wise,
    // no NTT needed.
    const auto k = constant_residues(*ctx_, c.real(), a.scale, a.level, "add_const");
    math::add_scalar_ntt_inplace(r.c[0], k, ctx_->basis_q(a.level));
  } else {
    math::add_inplace(r.c[0], constant_poly(*ctx_, c, a.scale, a.level, "add_const"), ctx_->basis_q(a.level));
  }
  return r;
}

Ciphertext Evaluator::sub_const(const Ciphertext& a, cplx c) const { return add_const(a, -c); }

Ciphertext Evaluator::negate(const Ciphertext& a) const {
  check_ct(a, "negate");
  Ciphertext r = a;
  for (auto& p : r.c) math::negate_inplace(p, ctx_->basis_q(a.level));
  return r;
}

Ciphertext Evaluator::multiply(const Ciphertext& a, const Ciphertext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "multiply", false);
  check_ct(b, "multiply");
  if (a.size() != 2 || b.size() != 2)
    throw InputError("multiply: operands have " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " components; relinearize 3-component ciphertexts first");
  const double scale = a.scale * b.scale;
  check_product_scale(*ctx_, scale, a.level, "multiply");
  // Tensor product, one fused pass per limb: d_0 = a_0b_0, d_1 = a_0b_1 + a_1b_0, d_2 = a_1b_1.
  const auto& bq = ctx_->basis_q(a.level);
  const std::size_t N = ctx_->n();
  Ciphertext r = make_ct(ctx_, polys(RnsPoly(N, bq.size(), true), RnsPoly(N, bq.size(), true),
                                     RnsPoly(N, bq.size(), true)), a.level, scale, a.slots,
                         joint_key_id(a, b, "multiply"));
  math::parallel_for_limbs(bq.size(), bq.size() * 4 * N, [&](std::size_t i) {
    const auto& m = bq[i]->mod;
    const std::uint64_t *a0 = a.c[0].limb(i), *a1 = a.c[1].limb(i), *b0 = b.c[0].limb(i), *b1 = b.c[1].limb(i);
    std::uint64_t *d0 = r.c[0].limb(i), *d1 = r.c[1].limb(i), *d2 = r.c[2].limb(i);
    for (std::size_t c = 0; c < N; ++c) {
      d0[c] = math::mul_mod(a0[c], b0[c], m);
      d1[c] = math::reduce_128(static_cast<math::u128>(a0[c]) * b1[c] + static_cast<math::u128>(a1[c]) * b0[c], m);
      d2[c] = math::mul_mod(a1[c], b1[c], m);
    }
  });
  return r;
}

Ciphertext Evaluator::multiply(const Ciphertext& a, const Plaintext& b) const {
  check_pair(a, b.level, b.scale, b.slots, b.context, "multiply", false);
  const double scale = a.scale * b.scale;
  check_product_scale(*ctx_, scale, a.level, "multiply");
  Ciphertext r = a;
  r.scale = scale;
  for (auto& p : r.c) math::mul_inplace(p, b.poly, ctx_->basis_q(a.level));
  return r;
}

Ciphertext Evaluator::multiply_sum(std::span<const Ciphertext* const> a, std::span<const Plaintext* const> b) const {
  if (a.empty() || a.size() != b.size())
    throw InputError("multiply_sum: " + std::to_string(a.size()) + " ciphertexts and " + std::to_string(b.size()) +
                     " plaintexts; give one plaintext per ciphertext, at least one pair");
  const Ciphertext& first = *a[0];
  const double scale = first.scale * b[0]->scale;
  KeyId id = first.key_id;
  for (std::size_t k = 0; k < a.size(); ++k) {
    check_pair(*a[k], b[k]->level, b[k]->scale, b[k]->slots, b[k]->context, "multiply_sum", false);
    if (a[k]->size() != 2)
      throw InputError("multiply_sum: ciphertext " + std::to_string(k) + " has " + std::to_string(a[k]->size()) +
                       " components; relinearize it first");
    if (k > 0) {
      check_pair(*a[k], first.level, first.scale, first.slots, first.context, "multiply_sum", false);
      if (!same_scale(a[k]->scale * b[k]->scale, scale))
        throw ScaleError("multiply_sum: product " + std::to_string(k) + " has scale " +
                         pow2_string(a[k]->scale * b[k]->scale) + " but product 0 has " + pow2_string(scale) +
                         "; encode the plaintexts so that every product has the same scale");
      id = joint_key_id(first, *a[k], "multiply_sum");
    }
  }
  check_product_scale(*ctx_, scale, first.level, "multiply_sum");
  Ciphertext r;
  r.context = ctx_;
  r.level = first.level;
  r.scale = scale;
  r.slots = first.slots;
  r.key_id = id;
  auto [c0, c1] = sum_of_products(ctx_->n(), a, b, ctx_->basis_q(first.level));
  r.c = polys(std::move(c0), std::move(c1));
  return r;
}

Ciphertext Evaluator::linear_combination(std::span<const Ciphertext* const> a, std::span<const double> c, int level,
                                         double scale) const {
  const char* op = "linear_combination";
  if (a.empty() || a.size() != c.size())
    throw InputError(std::string(op) + ": " + std::to_string(a.size()) + " ciphertexts and " +
                     std::to_string(c.size()) + " coefficients; give one coefficient per ciphertext, at least one");
  const Ciphertext& first = *a[0];
  check_ct(first, op);
  if (level < 0) throw LevelError(std::string(op) + ": level " + lv(level) + " is negative");
  std::vector<std::vector<std::uint64_t>> k(a.size());
  KeyId id = first.key_id;
  for (std::size_t t = 0; t < a.size(); ++t) {
    const Ciphertext& x = *a[t];
    check_ct(x, op);
    if (x.size() != 2)
      throw InputError(std::string(op) + ": ciphertext " + std::to_string(t) + " has " + std::to_string(x.size()) +
                       " components; relinearize it first");
    if (x.level < level)
      throw LevelError(std::string(op) + ": ciphertext " + std::to_string(t) + " is at level " + lv(x.level) +
                       ", below the requested level " + lv(level) + "; pass a lower level");
    if (x.slots != first.slots)
      throw InputError(std::string(op) + ": ciphertext " + std::to_string(t) + " has " + std::to_string(x.slots) +
                       " slots, ciphertext 0 has " + std::to_string(first.slots));
    if (t > 0) id = joint_key_id(first, x, op);
    const double const_scale = scale / x.scale;
    if (!(const_scale >= 1))
      throw ScaleError(std::string(op) + ": scale " + pow2_string(scale) + " is below ciphertext " + std::to_string(t) +
                       "'s scale " + pow2_string(x.scale) + "; the constants need scale/Δ_k ≥ 1");
    k[t] = constant_residues(*ctx_, c[t], const_scale, level, op);
  }
  check_product_scale(*ctx_, scale, level, op);
  Ciphertext r;
  r.context = ctx_;
  r.level = level;
  r.scale = scale;
  r.slots = first.slots;
  r.key_id = id;
  const auto& bq = ctx_->basis_q(level);
  std::vector<const RnsPoly*> x(a.size());
  for (std::size_t comp = 0; comp < 2; ++comp) {
    for (std::size_t t = 0; t < a.size(); ++t) x[t] = &a[t]->c[comp];
    RnsPoly out(ctx_->n(), bq.size(), true);
    math::scaled_sum(out, x, k, bq);
    r.c.push_back(std::move(out));
  }
  return r;
}

Ciphertext Evaluator::multiply_const(const Ciphertext& a, cplx c, double const_scale) const {
  check_ct(a, "multiply_const");
  if (const_scale == 0) const_scale = static_cast<double>(ctx_->q(a.level).value());
  if (!(const_scale >= 1))
    throw ScaleError("multiply_const: constant scale " + std::to_string(const_scale) + " must be ≥ 1");
  const double scale = a.scale * const_scale;
  check_product_scale(*ctx_, scale, a.level, "multiply_const");
  Ciphertext r = a;
  r.scale = scale;
  if (c.imag() == 0) {  // real constant: a scalar per limb (its NTT is constant), no NTT needed
    const auto k = constant_residues(*ctx_, c.real(), const_scale, a.level, "multiply_const");
    for (auto& p : r.c) math::mul_scalar_inplace(p, k, ctx_->basis_q(a.level));
  } else {
    const RnsPoly k = constant_poly(*ctx_, c, const_scale, a.level, "multiply_const");
    for (auto& p : r.c) math::mul_inplace(p, k, ctx_->basis_q(a.level));
  }
  return r;
}

Ciphertext Evaluator::multiply_integer(const Ciphertext& a, std::int64_t k) const {
  check_ct(a, "multiply_integer");
  const auto& bq = ctx_->basis_q(a.level);
  std::vector<std::uint64_t> ks(bq.size());
  for (std::size_t i = 0; i < bq.size(); ++i) ks[i] = math::from_signed(k, bq[i]->mod);
  Ciphertext r = a;
  for (auto& p : r.c) math::mul_scalar_inplace(p, ks, bq);
  return r;
}

Ciphertext Evaluator::relinearize(const Ciphertext& a, const RelinKey& rk) const {
  check_ct(a, "relinearize");
  if (a.size() != 3)
    throw InputError("relinearize: expects a 3-component ciphertext (the output of multiply), got " +
                     std::to_string(a.size()));
  if (rk.key.context != ctx_)
    throw ParameterError("relinearize: the relinearisation key belongs to another Context");
  check_key_of(a, rk.key, "relinearize", "relinearisation key");
  // (c_0, c_1) + KS(c_2), the additions inside key switching's last parallel loop.
  auto [u0, u1] = key_switch_add(*ctx_, a.c[2], a.level, rk.key, nullptr, &a.c[0], &a.c[1]);
  return make_ct(ctx_, polys(std::move(u0), std::move(u1)), a.level, a.scale, a.slots, a.key_id);
}

Ciphertext Evaluator::multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const {
  return relinearize(multiply(a, b), rk);
}

Ciphertext Evaluator::rescale(const Ciphertext& a) const {
  check_ct(a, "rescale");
  const int l = a.level;
  if (l == 0)
    throw LevelError("rescale: the ciphertext is at level 0, no prime is left to divide by; the "
                     "circuit needs more levels than the chain has: add data primes to log_q");
  const std::size_t N = ctx_->n();
  const auto& bq = ctx_->basis_q(l);
  const auto& ql = bq[l]->mod;
  const std::uint64_t half = ql.q >> 1;  // adding ⌊q_ℓ/2⌋ turns the floor into rounding
  Ciphertext r{ctx_, {}, l - 1, a.scale / static_cast<double>(ql.q), a.slots, std::nullopt, a.key_id};
  for (const auto& c : a.c) {
    // [CHKKS18, RS; FHETB, §D-5.4]: c' = (c − [c]_{q_ℓ})·q_ℓ^{-1} mod Q_{ℓ−1}, with
    // [c + ⌊q_ℓ/2⌋]_{q_ℓ} − ⌊q_ℓ/2⌋ as the representative so that c' = ⌊c/q_ℓ⌉ (rounding, as
    // RS of [CKKS17] rounds).
    std::vector<std::uint64_t> last(c.limb(l), c.limb(l) + N);
    bq[l]->ntt.inverse(last.data());
    for (auto& x : last) x = math::add_mod(x, half, ql.q);
    RnsPoly out = c;
    out.truncate(l);
    // The limbs i < ℓ are independent (math::num_threads() threads, one buffer t per thread).
    auto buffer = [N] { return std::vector<std::uint64_t>(N); };
    const std::size_t limbs = static_cast<std::size_t>(l), work = limbs * (2 * N + math::ntt_work(N));
    math::parallel_for_limbs(limbs, work, buffer, [&](std::size_t i, std::vector<std::uint64_t>& t) {
      const auto& qi = bq[i]->mod;
      const std::uint64_t half_i = math::reduce_64(half, qi);
      if (ql.q < 2 * qi.q) {
        // Lazy: last[k] < q_ℓ < 2q_i, so last[k] + 2q_i − half_i ∈ [0, 4q_i), the NTT's input range.
        const std::uint64_t shift = 2 * qi.q - half_i;
        for (std::size_t k = 0; k < N; ++k) t[k] = last[k] + shift;
      } else {
        for (std::size_t k = 0; k < N; ++k) t[k] = math::sub_mod(math::reduce_64(last[k], qi), half_i, qi.q);
      }
      bq[i]->ntt.forward(t.data());
      const std::uint64_t w = ctx_->q_inv_mod_q(l, static_cast<int>(i)), ws = math::shoup_precompute(w, qi.q);
      std::uint64_t* x = out.limb(i);
      for (std::size_t k = 0; k < N; ++k) x[k] = math::mul_shoup(math::sub_mod(x[k], t[k], qi.q), w, ws, qi.q);
    });
    r.c.push_back(std::move(out));
  }
  return r;
}

Ciphertext Evaluator::drop_level(const Ciphertext& a, int target) const {
  check_ct(a, "drop_level");
  if (target < 0 || target > a.level)
    throw LevelError("drop_level: target level " + lv(target) + " is not in [0, " + lv(a.level) +
                     "] (the ciphertext's level); levels only go down");
  Ciphertext r = a;
  r.level = target;
  for (auto& p : r.c) p.truncate(target + 1);
  return r;
}

Plaintext Evaluator::drop_level(const Plaintext& a, int target) const {
  if (a.context != ctx_) throw ParameterError("drop_level: the plaintext was made under another Context");
  if (target < 0 || target > a.level)
    throw LevelError("drop_level: target level " + lv(target) + " is not in [0, " + lv(a.level) +
                     "] (the plaintext's level); levels only go down");
  Plaintext r = a;
  r.level = target;
  r.poly.truncate(target + 1);
  return r;
}

Ciphertext Evaluator::apply_galois(const Ciphertext& a, std::uint64_t g, const GaloisKeys& gk) const {
  check_ct(a, "apply_galois");
  if (a.size() != 2)
    throw InputError("apply_galois: relinearize the 3-component ciphertext before rotating");
  if (gk.context != ctx_) throw ParameterError("apply_galois: the Galois keys belong to another Context");
  auto it = gk.keys.find(g);
  if (it == gk.keys.end())
    throw MissingKeyError("apply_galois: no Galois key for element " + std::to_string(g) +
                          "; generate it with KeyGenerator::galois_keys_for_elements(sk, {" +
                          std::to_string(g) + "})");
  check_key_of(a, it->second, "apply_galois", "Galois key");
  // (σ(c_0), 0) + KS(σ(c_1)): the permutations and the addition run inside key switching's parallel
  // loops (keyswitch.h, key_switch_add) rather than as passes of their own.
  const auto& perm = ctx_->automorphism_permutation(g);
  auto [c0, u1] = key_switch_add(*ctx_, a.c[1], a.level, it->second, &perm, &a.c[0], nullptr);
  return make_ct(ctx_, polys(std::move(c0), std::move(u1)), a.level, a.scale, a.slots, a.key_id);
}

Ciphertext Evaluator::rotate(const Ciphertext& a, int steps, const GaloisKeys& gk) const {
  check_ct(a, "rotate");
  const std::uint64_t g = ctx_->galois_element(steps);
  if (g == 1) return a;
  require_rotation_key(gk, steps, g, "rotate");
  return apply_galois(a, g, gk);
}

std::vector<Ciphertext> Evaluator::rotate_hoisted(const Ciphertext& a, const std::vector<int>& steps,
                                                  const GaloisKeys& gk) const {
  check_ct(a, "rotate_hoisted");
  if (a.size() != 2)
    throw InputError("rotate_hoisted: relinearize the 3-component ciphertext before rotating");
  if (gk.context != ctx_) throw ParameterError("rotate_hoisted: the Galois keys belong to another Context");
  for (int s : steps) {
    const std::uint64_t g = ctx_->galois_element(s);
    if (g == 1) continue;
    require_rotation_key(gk, s, g, "rotate_hoisted");
    check_key_of(a, gk.keys.at(g), "rotate_hoisted", "Galois key");
  }
  const DecomposedPoly dec = decompose(*ctx_, a.c[1], a.level);
  const std::size_t N = ctx_->n();
  std::vector<Ciphertext> out;
  for (int s : steps) {
    const std::uint64_t g = ctx_->galois_element(s);
    if (g == 1) { out.push_back(a); continue; }
    const auto& perm = ctx_->automorphism_permutation(g);
    auto [u0, u1] = key_switch_decomposed(*ctx_, dec, gk.keys.at(g), &perm);
    RnsPoly c0(N, a.c[0].limbs(), true);
    for (std::size_t i = 0; i < c0.limbs(); ++i)
      for (std::size_t c = 0; c < N; ++c) c0.limb(i)[c] = a.c[0].limb(i)[perm[c]];
    math::add_inplace(c0, u0, ctx_->basis_q(a.level));
    out.push_back(make_ct(ctx_, polys(std::move(c0), std::move(u1)), a.level, a.scale, a.slots, a.key_id));
  }
  return out;
}

struct Evaluator::SumOperand {
  const ContextPtr* context;
  int level;
  double scale;
  std::size_t slots;
};

void Evaluator::check_rotate_sum(const Ciphertext& a, std::span<const int> steps, const std::vector<SumOperand>& pts,
                                 const GaloisKeys& gk) const {
  const char* op = "rotate_sum";
  check_ct(a, op);
  if (a.size() != 2) throw InputError("rotate_sum: relinearize the 3-component ciphertext before rotating");
  if (steps.empty())
    throw InputError("rotate_sum: the list of rotation steps is empty; give at least one step (0 for a term "
                     "without rotation)");
  if (!pts.empty() && pts.size() != steps.size())
    throw InputError("rotate_sum: " + std::to_string(steps.size()) + " rotation steps and " +
                     std::to_string(pts.size()) + " plaintexts; give one plaintext per step");
  if (gk.context != ctx_) throw ParameterError("rotate_sum: the Galois keys belong to another Context");
  for (std::size_t t = 0; t < pts.size(); ++t) {
    const SumOperand& p = pts[t];
    const std::string which = "plaintext " + std::to_string(t);
    if (*p.context != ctx_) throw ParameterError("rotate_sum: " + which + " was made under another Context");
    if (p.level != a.level)
      throw LevelError("rotate_sum: " + which + " is at level " + lv(p.level) + ", the ciphertext at level " +
                       lv(a.level) + "; encode the plaintexts at the ciphertext's level");
    if (p.slots != a.slots)
      throw InputError("rotate_sum: " + which + " has " + std::to_string(p.slots) + " slots, the ciphertext " +
                       std::to_string(a.slots) + "; encode both with the same slot count");
    if (!same_scale(p.scale, pts[0].scale))
      throw ScaleError("rotate_sum: " + which + " has scale " + pow2_string(p.scale) + " but plaintext 0 has " +
                       pow2_string(pts[0].scale) + "; encode every plaintext of the sum at one scale");
  }
  if (!pts.empty()) check_product_scale(*ctx_, a.scale * pts[0].scale, a.level, op);
  for (int s : steps) {
    const std::uint64_t g = ctx_->galois_element(s);
    if (g == 1) continue;
    require_rotation_key(gk, s, g, op);
    check_key_of(a, gk.keys.at(g), op, "Galois key");
  }
}

Ciphertext Evaluator::rotate_sum_run(const Ciphertext& a, std::span<const int> steps,
                                     const std::vector<const RnsPoly*>& weights, double pt_scale,
                                     const GaloisKeys& gk, const DecomposedPoly* shared) const {
  std::vector<HoistedTerm> terms(steps.size());
  for (std::size_t t = 0; t < steps.size(); ++t) {
    const std::uint64_t g = ctx_->galois_element(steps[t]);
    if (g != 1) {
      terms[t].perm = &ctx_->automorphism_permutation(g);
      terms[t].swk = &gk.keys.at(g);
    }
    if (!weights.empty()) terms[t].weight = weights[t];
  }
  auto [c0, c1] = rotate_sum_hoisted(*ctx_, a.c[0], a.c[1], a.level, terms, shared);
  return make_ct(ctx_, polys(std::move(c0), std::move(c1)), a.level, a.scale * pt_scale, a.slots, a.key_id);
}

Ciphertext Evaluator::rotate_sum(const Ciphertext& a, std::span<const int> steps,
                                 std::span<const ExtendedPlaintext* const> pts, const GaloisKeys& gk) const {
  if (pts.empty())
    throw InputError("rotate_sum: the list of plaintexts is empty; give one per step, or call rotate_sum "
                     "without plaintexts for a plain sum of rotations");
  std::vector<SumOperand> ops;
  std::vector<const RnsPoly*> weights;
  for (const ExtendedPlaintext* p : pts) {
    ops.push_back({&p->context, p->level, p->scale, p->slots});
    weights.push_back(&p->poly);
  }
  check_rotate_sum(a, steps, ops, gk);
  for (const RnsPoly* w : weights)
    if (w->limbs() != ctx_->basis_qp(a.level).size() || !w->is_ntt())
      throw InputError("rotate_sum: an extended plaintext must have ℓ+1+k limbs in evaluation form; make it with "
                       "Evaluator::extend_plaintext");
  return rotate_sum_run(a, steps, weights, pts[0]->scale, gk);
}

Ciphertext Evaluator::rotate_sum(const Ciphertext& a, std::span<const int> steps, std::span<const Plaintext* const> pts,
                                 const GaloisKeys& gk) const {
  if (pts.empty())
    throw InputError("rotate_sum: the list of plaintexts is empty; give one per step, or call rotate_sum "
                     "without plaintexts for a plain sum of rotations");
  std::vector<SumOperand> ops;
  for (const Plaintext* p : pts) ops.push_back({&p->context, p->level, p->scale, p->slots});
  check_rotate_sum(a, steps, ops, gk);
  std::vector<ExtendedPlaintext> ext;
  ext.reserve(pts.size());
  std::vector<const RnsPoly*> weights;
  for (const Plaintext* p : pts) {
    ext.push_back(extend_plaintext(*p));
    weights.push_back(&ext.back().poly);
  }
  return rotate_sum_run(a, steps, weights, pts[0]->scale, gk);
}

Ciphertext Evaluator::rotate_sum(const Ciphertext& a, std::span<const int> steps, const GaloisKeys& gk) const {
  check_rotate_sum(a, steps, {}, gk);
  return rotate_sum_run(a, steps, {}, 1.0, gk);
}

std::vector<Ciphertext> Evaluator::rotate_sums(const Ciphertext& a, const std::vector<std::vector<int>>& groups,
                                              const GaloisKeys& gk) const {
  if (groups.empty()) throw InputError("rotate_sums: no groups of rotation steps; give at least one");
  for (const auto& grp : groups) check_rotate_sum(a, grp, {}, gk);  // names an empty group as rotate_sum does
  bool any_rotation = false;
  for (const auto& grp : groups)
    for (int s : grp) any_rotation = any_rotation || ctx_->galois_element(s) != 1;
  const DecomposedPoly dec = any_rotation ? decompose(*ctx_, a.c[1], a.level) : DecomposedPoly{a.level, {}};
  std::vector<Ciphertext> out;
  out.reserve(groups.size());
  for (const auto& grp : groups) out.push_back(rotate_sum_run(a, grp, {}, 1.0, gk, &dec));
  return out;
}

Ciphertext Evaluator::sum_rotations(std::span<const Ciphertext* const> a, std::span<const int> steps,
                                    const GaloisKeys& gk) const {
  const char* op = "sum_rotations";
  if (a.empty() || a.size() != steps.size())
    throw InputError("sum_rotations: " + std::to_string(a.size()) + " ciphertexts and " +
                     std::to_string(steps.size()) + " rotation steps; give one step per ciphertext, at least one");
  const Ciphertext& first = *a[0];
  KeyId id = first.key_id;
  for (std::size_t t = 0; t < a.size(); ++t) {
    check_pair(*a[t], first.level, first.scale, first.slots, first.context, op, true);
    if (a[t]->size() != 2)
      throw InputError("sum_rotations: ciphertext " + std::to_string(t) + " has " + std::to_string(a[t]->size()) +
                       " components; relinearize it first");
    if (t > 0) id = joint_key_id(first, *a[t], op);
  }
  if (gk.context != ctx_) throw ParameterError("sum_rotations: the Galois keys belong to another Context");
  std::vector<HoistedTerm> terms(a.size());
  std::vector<const RnsPoly*> c0(a.size()), c1(a.size());
  for (std::size_t t = 0; t < a.size(); ++t) {
    c0[t] = &a[t]->c[0];
    c1[t] = &a[t]->c[1];
    const std::uint64_t g = ctx_->galois_element(steps[t]);
    if (g == 1) continue;
    require_rotation_key(gk, steps[t], g, op);
    check_key_of(*a[t], gk.keys.at(g), op, "Galois key");
    terms[t].perm = &ctx_->automorphism_permutation(g);
    terms[t].swk = &gk.keys.at(g);
  }
  auto [r0, r1] = sum_rotations_lazy(*ctx_, c0, c1, first.level, terms);
  return make_ct(ctx_, polys(std::move(r0), std::move(r1)), first.level, first.scale, first.slots, id);
}

// ---- Lazy key switching over Q_ℓ·P ----

namespace {
// The metadata of an extended ciphertext as a Ciphertext without polynomials' content, for the
// checks add and multiply_sum share (check_pair reads only context, size, level, scale, slots).
Ciphertext header_of(const ExtendedCiphertext& a) {
  Ciphertext h;
  h.context = a.context;
  h.c.resize(2);
  h.level = a.level;
  h.scale = a.scale;
  h.slots = a.slots;
  h.key_id = a.key_id;
  return h;
}
}  // namespace

void Evaluator::check_extended(const ExtendedCiphertext& a, const char* op) const {
  check_ct(header_of(a), op);
  const std::size_t limbs = ctx_->basis_qp(a.level).size();
  for (const auto& p : a.c)
    if (p.limbs() != limbs || !p.is_ntt() || p.n() != ctx_->n())
      throw InputError(std::string(op) + ": an extended ciphertext's components must have ℓ+1+k = " +
                       std::to_string(limbs) + " limbs in evaluation form; make it with rotate_lazy");
}

HoistedCiphertext Evaluator::hoist(const Ciphertext& a) const {
  check_ct(a, "hoist");
  if (a.size() != 2) throw InputError("hoist: relinearize the 3-component ciphertext before rotating");
  return {a, std::make_shared<const DecomposedPoly>(decompose(*ctx_, a.c[1], a.level))};
}

ExtendedCiphertext Evaluator::rotate_lazy(const HoistedCiphertext& h, int steps, const GaloisKeys& gk) const {
  const Ciphertext& a = h.ct;
  check_ct(a, "rotate_lazy");
  if (a.size() != 2 || !h.digits || h.digits->level != a.level)
    throw InputError("rotate_lazy: the hoisted ciphertext has no decomposition of its level; make it with hoist");
  if (gk.context != ctx_) throw ParameterError("rotate_lazy: the Galois keys belong to another Context");
  const std::uint64_t g = ctx_->galois_element(steps);
  ExtendedCiphertext r;
  r.context = ctx_;
  r.level = a.level;
  r.scale = a.scale;
  r.slots = a.slots;
  r.key_id = a.key_id;
  if (g == 1) {
    auto [c0, c1] = rotate_lazy_qp(*ctx_, a.c[0], a.c[1], a.level, nullptr, nullptr, nullptr);
    r.c = {std::move(c0), std::move(c1)};
    return r;
  }
  require_rotation_key(gk, steps, g, "rotate_lazy");
  const KeySwitchKey& key = gk.keys.at(g);
  check_key_of(a, key, "rotate_lazy", "Galois key");
  auto [c0, c1] = rotate_lazy_qp(*ctx_, a.c[0], a.c[1], a.level, h.digits.get(), &key,
                                 &ctx_->automorphism_permutation(g));
  r.c = {std::move(c0), std::move(c1)};
  return r;
}

ExtendedCiphertext Evaluator::multiply_sum(std::span<const ExtendedCiphertext* const> a,
                                           std::span<const ExtendedPlaintext* const> b) const {
  const char* op = "multiply_sum";
  if (a.empty() || a.size() != b.size())
    throw InputError("multiply_sum: " + std::to_string(a.size()) + " extended ciphertexts and " +
                     std::to_string(b.size()) + " extended plaintexts; give one plaintext per ciphertext, at least one pair");
  const ExtendedCiphertext& first = *a[0];
  const double scale = first.scale * b[0]->scale;
  KeyId id = first.key_id;
  const std::size_t limbs = ctx_->basis_qp(first.level).size();
  for (std::size_t k = 0; k < a.size(); ++k) {
    check_extended(*a[k], op);
    const Ciphertext hk = header_of(*a[k]);
    check_pair(hk, b[k]->level, b[k]->scale, b[k]->slots, b[k]->context, op, false);
    if (b[k]->poly.limbs() != limbs || !b[k]->poly.is_ntt())
      throw InputError("multiply_sum: extended plaintext " + std::to_string(k) + " must have ℓ+1+k = " +
                       std::to_string(limbs) + " limbs in evaluation form; make it with Encoder::encode_extended");
    if (k > 0) {
      check_pair(hk, first.level, first.scale, first.slots, first.context, op, false);
      if (!same_scale(a[k]->scale * b[k]->scale, scale))
        throw ScaleError("multiply_sum: product " + std::to_string(k) + " has scale " +
                         pow2_string(a[k]->scale * b[k]->scale) + " but product 0 has " + pow2_string(scale) +
                         "; encode the plaintexts so that every product has the same scale");
      id = joint_key_id(header_of(first), hk, op);
    }
  }
  check_product_scale(*ctx_, scale, first.level, op);
  ExtendedCiphertext r;
  r.context = ctx_;
  r.level = first.level;
  r.scale = scale;
  r.slots = first.slots;
  r.key_id = id;
  auto [c0, c1] = sum_of_products(ctx_->n(), a, b, ctx_->basis_qp(first.level));
  r.c = {std::move(c0), std::move(c1)};
  return r;
}

void Evaluator::add_inplace(ExtendedCiphertext& a, const ExtendedCiphertext& b) const {
  check_extended(a, "add_inplace");
  check_extended(b, "add_inplace");
  const Ciphertext ha = header_of(a), hb = header_of(b);
  check_pair(ha, b.level, b.scale, b.slots, b.context, "add_inplace", true);
  const KeyId id = joint_key_id(ha, hb, "add_inplace");
  const auto& bqp = ctx_->basis_qp(a.level);
  for (std::size_t i = 0; i < 2; ++i) math::add_inplace(a.c[i], b.c[i], bqp);
  a.key_id = id;
}

Ciphertext Evaluator::mod_down(const ExtendedCiphertext& a) const {
  check_extended(a, "mod_down");
  auto [c0, c1] = ckks::mod_down(*ctx_, a.c[0], a.c[1], a.level);
  return make_ct(ctx_, polys(std::move(c0), std::move(c1)), a.level, a.scale, a.slots, a.key_id);
}

ExtendedPlaintext Evaluator::extend_plaintext(const Plaintext& pt) const {
  if (pt.context != ctx_) throw ParameterError("extend_plaintext: the plaintext was made under another Context");
  const int l = pt.level;
  const auto& bq = ctx_->basis_q(l);
  const auto& bp = ctx_->basis_p();
  const std::size_t N = ctx_->n(), nq = bq.size(), k = bp.size();
  CKKS_INVARIANT(pt.poly.is_ntt() && pt.poly.limbs() == nq, "extend_plaintext: the plaintext must have ℓ+1 limbs");
  RnsPoly coeff = pt.poly;
  math::from_ntt(coeff, bq);
  ExtendedPlaintext r{ctx_, RnsPoly(N, nq + k, true), l, pt.scale, pt.slots};
  for (std::size_t i = 0; i < nq; ++i) std::copy(pt.poly.limb(i), pt.poly.limb(i) + N, r.poly.limb(i));
  // Conv_{Q_ℓ → P} of the centred coefficients m ∈ (−Q_ℓ/2, Q_ℓ/2], exact [HPS19] unless some m/Q_ℓ
  // lies within about (ℓ+1)·2^-52 of ±1/2 (rns.h, convert_exact): encoded values occupy
  // |m| ≈ |z|·Δ, far below that boundary unless encode's own headroom check nearly fails.
  const math::BaseConverter conv(bq, bp);
  conv.convert_exact(coeff.limb(0), r.poly.limb(nq), N);
  math::parallel_for_limbs(k, k * math::ntt_work(N), [&](std::size_t j) { bp[j]->ntt.forward(r.poly.limb(nq + j)); });
  return r;
}

Ciphertext Evaluator::conjugate(const Ciphertext& a, const GaloisKeys& gk) const {
  check_ct(a, "conjugate");
  const std::uint64_t g = ctx_->conjugation_element();
  if (!gk.has(g))
    throw MissingKeyError("conjugate: no conjugation key; generate Galois keys with conjugation = true");
  return apply_galois(a, g, gk);
}

}  // namespace ckks

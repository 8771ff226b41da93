// See textbook.h. Every function is a line or two of [CKKS17]; the comments name the symbol.
#include "ckks/textbook/textbook.h"

#include <cmath>
#include <iostream>
#include <string>

#include "ckks/math/errors.h"
#include "ckks/params.h"

namespace ckks::textbook {

using NTL::ZZ;
using NTL::ZZX;

namespace {

// Round-half-away-from-zero division of a by the positive d: ⌊a/d⌉.
ZZ round_div(const ZZ& a, const ZZ& d) {
  ZZ q, r;
  DivRem(q, r, abs(a), d);  // |a| = q·d + r, 0 ≤ r < d
  if (2 * r >= d) q += 1;
  return sign(a) < 0 ? ZZ(-q) : q;
}

}  // namespace

Scheme::Scheme(const Params& p) : p_(p) {
  auto bad = [](const std::string& what) { throw ParameterError("textbook::Scheme: " + what); };
  if (p.log_n < 1 || p.log_n > 16) bad("log_n = " + std::to_string(p.log_n) + " is outside 1..16");
  if (p.log_delta < 1 || p.log_delta > 50)
    bad("log_delta = " + std::to_string(p.log_delta) + " is outside 1..50 (Δ·m must fit a double's 53 bits)");
  if (p.log_q0 < 1 || p.log_q0 > 200) bad("log_q0 = " + std::to_string(p.log_q0) + " is outside 1..200");
  if (p.levels < 0) bad("levels = " + std::to_string(p.levels) + " is negative");
  n_ = std::size_t{1} << p.log_n;
  if (p.hamming_weight < 0 || static_cast<std::size_t>(p.hamming_weight) > n_)
    bad("hamming_weight = " + std::to_string(p.hamming_weight) + " is outside 0..N = " + std::to_string(n_) +
        " (0 = uniform ternary secret)");
  if (!(p.sigma > 0) || !std::isfinite(p.sigma)) bad("sigma must be a positive number");

  // Security: the evaluation key lives modulo P·q_L, the largest modulus of the scheme.
  const int bound = max_log_qp_128(p.log_n);
  std::string why;
  if (log_pq() > bound)
    why = "log2(P·q_L) = " + std::to_string(log_pq()) + " bits exceeds " + std::to_string(bound) +
          " bits, the 128-bit bound for N = 2^" + std::to_string(p.log_n);
  if (p.hamming_weight > 0)
    why += (why.empty() ? "" : "; ") + std::string("the sparse secret HWT(") + std::to_string(p.hamming_weight) +
           ") is outside the table, which assumes a uniform ternary secret";
  if (!why.empty()) {
    if (!p.allow_insecure)
      bad("parameters are not 128-bit secure: " + why +
          "; use a larger N, fewer levels or a smaller Δ, hamming_weight = 0, or set allow_insecure = true for "
          "teaching and tests");
    std::cerr << "WARNING: INSECURE TEXTBOOK CKKS PARAMETERS (allow_insecure = true): " << why << "\n";
    security_bits_ = 0;
  } else {
    security_bits_ = 128;
  }
  P_ = q(p.levels);  // [CKKS17, Setup]: P ≈ q_L; here exactly q_L

  // ζ = e^{iπ/N}, a primitive 2N-th root of unity; slot j sits at ζ^{5^j}.
  const std::size_t two_n = 2 * n_;
  zeta_pow_.resize(two_n);
  for (std::size_t k = 0; k < two_n; ++k) zeta_pow_[k] = std::polar(1.0, M_PI * static_cast<double>(k) / n_);
  rot_group_.resize(n_ / 2);
  std::size_t g = 1;
  for (std::size_t j = 0; j < n_ / 2; ++j, g = g * 5 % two_n) rot_group_[j] = g;
}

ZZ Scheme::q(int level) const {
  check_level(level, "q");
  return ZZ(1) << (p_.log_q0 + level * p_.log_delta);
}

void Scheme::check_level(int level, const char* op) const {
  if (level < 0 || level > p_.levels)
    throw LevelError(std::string("textbook::") + op + ": level " + std::to_string(level) + " is outside 0.." +
                     std::to_string(p_.levels));
}

// ---------------------------------------------------------------- polynomial arithmetic

ZZX Scheme::reduce(const ZZX& a, const ZZ& q) const {
  ZZX r;
  r.SetLength(n_);
  for (long i = 0; i <= deg(a); ++i) {  // X^N = −1: coefficient i + kN adds (−1)^k times
    const std::size_t k = static_cast<std::size_t>(i) / n_, j = static_cast<std::size_t>(i) % n_;
    if (k % 2 == 0) r[j] += a[i];
    else r[j] -= a[i];
  }
  for (std::size_t i = 0; i < n_; ++i) r[i] %= q;  // NTL's % of a positive modulus is in [0, q)
  r.normalize();
  return r;
}

ZZX Scheme::mul_mod(const ZZX& a, const ZZX& b, const ZZ& q) const { return reduce(a * b, q); }

ZZX Scheme::centre(const ZZX& a, const ZZ& q) {
  ZZX r = a;
  const ZZ half = q / 2;
  for (long i = 0; i <= deg(r); ++i) {
    r[i] %= q;
    if (r[i] > half) r[i] -= q;
  }
  r.normalize();
  return r;
}

double Scheme::log2_norm(const ZZX& a) {
  ZZ m(0);
  for (long i = 0; i <= deg(a); ++i)
    if (abs(a[i]) > m) m = abs(a[i]);
  if (IsZero(m)) return -INFINITY;
  return NTL::log(m) / std::log(2.0);
}

// ---------------------------------------------------------------- sampling [CKKS17]

ZZX Scheme::uniform(const ZZ& q, math::Csprng& rng) const {
  // Departure: NumBits(q) + 64 random bits reduced mod q (bias < 2^−64) instead of rejection.
  const long bytes = (NumBits(q) + 64 + 7) / 8;
  std::vector<unsigned char> buf(static_cast<std::size_t>(bytes));
  ZZX r;
  r.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    rng.fill(buf.data(), buf.size());
    r[i] = NTL::ZZFromBytes(buf.data(), bytes) % q;
  }
  r.normalize();
  return r;
}

ZZX Scheme::gaussian(math::Csprng& rng) const {
  const std::vector<std::int64_t> e = math::sample_gaussian(rng, n_, p_.sigma);
  ZZX r;
  r.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) r[i] = e[i];
  r.normalize();
  return r;
}

ZZX Scheme::zo(math::Csprng& rng) const {
  ZZX r;
  r.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    const std::uint64_t u = rng.uniform_below(4);  // 0, 1: zero; 2: +1; 3: −1
    r[i] = u < 2 ? 0 : (u == 2 ? 1 : -1);
  }
  r.normalize();
  return r;
}

// ------------------------------------------------------ encoding [CKKS17, Ecd/Dcd; FHETB, §D-3.1]

ZZX Scheme::encode(const std::vector<std::complex<double>>& z, double scale) const {
  if (z.size() > slots())
    throw InputError("textbook::encode: " + std::to_string(z.size()) + " values but N/2 = " + std::to_string(slots()) +
                     " slots; pass at most N/2 values or use a larger N");
  for (std::size_t j = 0; j < z.size(); ++j)
    if (!std::isfinite(z[j].real()) || !std::isfinite(z[j].imag()))
      throw InputError("textbook::encode: slot " + std::to_string(j) + " is NaN or infinite");
  const std::size_t two_n = 2 * n_;
  ZZX m;
  m.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    // m_i = (2/N)·Re Σ_j z_j·ζ^{−5^j·i}: the inverse of σ restricted to real polynomials.
    std::complex<double> acc = 0;
    for (std::size_t j = 0; j < z.size(); ++j)
      acc += z[j] * zeta_pow_[(two_n - rot_group_[j] * i % two_n) % two_n];
    const double v = scale * 2.0 * acc.real() / static_cast<double>(n_);
    if (!(std::fabs(v) < 0x1p62))
      throw InputError("textbook::encode: coefficient " + std::to_string(i) + " would be " + std::to_string(v) +
                       " ≥ 2^62; encode smaller values or use a smaller scale");
    m[i] = static_cast<long>(std::llround(v));  // Departure: deterministic rounding (see textbook.h)
  }
  m.normalize();
  return m;
}

std::vector<std::complex<double>> Scheme::decode(const ZZX& m, double scale) const {
  const std::size_t two_n = 2 * n_;
  std::vector<double> c(n_, 0.0);
  for (long i = 0; i <= deg(m) && i < static_cast<long>(n_); ++i) c[i] = NTL::conv<double>(m[i]);
  std::vector<std::complex<double>> z(slots());
  for (std::size_t j = 0; j < slots(); ++j) {
    std::complex<double> acc = 0;  // m(ζ^{5^j}) = Σ_i m_i·ζ^{5^j·i}
    for (std::size_t i = 0; i < n_; ++i) acc += c[i] * zeta_pow_[rot_group_[j] * i % two_n];
    z[j] = acc / scale;
  }
  return z;
}

// ---------------------------------------------------------------- keys [CKKS17, KeyGen]

SecretKey Scheme::secret_key(math::Csprng& rng) const {
  const auto s = p_.hamming_weight > 0
                     ? math::sample_ternary_hamming(rng, n_, static_cast<std::size_t>(p_.hamming_weight))  // HWT(h)
                     : math::sample_ternary(rng, n_);  // uniform ternary
  SecretKey sk;
  sk.s.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) sk.s[i] = s[i];
  sk.s.normalize();
  return sk;
}

PublicKey Scheme::public_key(const SecretKey& sk, math::Csprng& rng) const {
  const ZZ qL = q(p_.levels);
  PublicKey pk;
  pk.a = uniform(qL, rng);                                       // a ← R_{q_L}
  pk.b = reduce(-mul_mod(pk.a, sk.s, qL) + gaussian(rng), qL);   // b = −a·s + e mod q_L
  return pk;
}

EvaluationKey Scheme::evaluation_key(const SecretKey& sk, math::Csprng& rng) const {
  const ZZ PqL = P_ * q(p_.levels);
  EvaluationKey evk;
  evk.a = uniform(PqL, rng);                                     // a' ← R_{P·q_L}
  const ZZX s2 = mul_mod(sk.s, sk.s, PqL);
  evk.b = reduce(-mul_mod(evk.a, sk.s, PqL) + gaussian(rng) + P_ * s2, PqL);  // b' = −a's + e' + P·s²
  return evk;
}

// ---------------------------------------------------------------- Enc / Dec [CKKS17]

Ciphertext Scheme::encrypt(const ZZX& m, double scale, const PublicKey& pk, math::Csprng& rng) const {
  const ZZ qL = q(p_.levels);
  const ZZX v = zo(rng);  // v ← ZO(0.5)
  Ciphertext c;
  c.c0 = reduce(mul_mod(v, pk.b, qL) + m + gaussian(rng), qL);  // v·b + m + e_0
  c.c1 = reduce(mul_mod(v, pk.a, qL) + gaussian(rng), qL);      // v·a + e_1
  c.level = p_.levels;
  c.scale = scale;
  return c;
}

ZZX Scheme::decrypt(const Ciphertext& c, const SecretKey& sk) const {
  const ZZ ql = q(c.level);
  return centre(reduce(c.c0 + mul_mod(c.c1, sk.s, ql), ql), ql);  // b + a·s mod q_ℓ
}

ZZX Scheme::decrypt(const Ciphertext3& c, const SecretKey& sk) const {
  const ZZ ql = q(c.level);
  const ZZX s2 = mul_mod(sk.s, sk.s, ql);
  return centre(reduce(c.d0 + mul_mod(c.d1, sk.s, ql) + mul_mod(c.d2, s2, ql), ql), ql);
}

// ---------------------------------------------------------------- Add, Mult, RS [CKKS17]

Ciphertext Scheme::add(const Ciphertext& x, const Ciphertext& y) const {
  if (x.level != y.level)
    throw LevelError("textbook::add: levels differ (" + std::to_string(x.level) + " vs " + std::to_string(y.level) +
                     "); rescale the higher one to the lower level first");
  if (x.scale != y.scale)
    throw ScaleError("textbook::add: scales differ (2^" + std::to_string(std::log2(x.scale)) + " vs 2^" +
                     std::to_string(std::log2(y.scale)) + "); rescale the operand with the larger scale");
  const ZZ ql = q(x.level);
  return {reduce(x.c0 + y.c0, ql), reduce(x.c1 + y.c1, ql), x.level, x.scale};
}

Ciphertext3 Scheme::tensor(const Ciphertext& x, const Ciphertext& y) const {
  if (x.level != y.level)
    throw LevelError("textbook::tensor: levels differ (" + std::to_string(x.level) + " vs " +
                     std::to_string(y.level) + "); rescale the higher one to the lower level first");
  const ZZ ql = q(x.level);
  Ciphertext3 d;
  d.d0 = mul_mod(x.c0, y.c0, ql);                                   // b_1·b_2
  d.d1 = reduce(mul_mod(x.c1, y.c0, ql) + mul_mod(x.c0, y.c1, ql), ql);  // a_1·b_2 + a_2·b_1
  d.d2 = mul_mod(x.c1, y.c1, ql);                                   // a_1·a_2
  d.level = x.level;
  d.scale = x.scale * y.scale;
  return d;
}

Ciphertext Scheme::relinearize(const Ciphertext3& d, const EvaluationKey& evk) const {
  const ZZ ql = q(d.level), Pql = P_ * ql;
  // ⌊P⁻¹·d_2·evk⌉: d_2 centred mod q_ℓ, evk read mod P·q_ℓ (a multiple of it is P·q_L), the products
  // centred mod P·q_ℓ, then each coefficient divided by P with rounding.
  const ZZX d2 = centre(d.d2, ql);
  const ZZX t0 = centre(mul_mod(d2, evk.b, Pql), Pql), t1 = centre(mul_mod(d2, evk.a, Pql), Pql);
  ZZX r0, r1;
  r0.SetLength(n_);
  r1.SetLength(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    r0[i] = round_div(coeff(t0, static_cast<long>(i)), P_);
    r1[i] = round_div(coeff(t1, static_cast<long>(i)), P_);
  }
  r0.normalize();
  r1.normalize();
  return {reduce(d.d0 + r0, ql), reduce(d.d1 + r1, ql), d.level, d.scale};
}

Ciphertext Scheme::multiply(const Ciphertext& x, const Ciphertext& y, const EvaluationKey& evk) const {
  return relinearize(tensor(x, y), evk);
}

Ciphertext Scheme::rescale(const Ciphertext& c, int to_level) const {
  check_level(c.level, "rescale");
  if (c.level == 0)
    throw LevelError("textbook::rescale: the ciphertext is at level 0 (no modulus left to divide by); "
                     "use parameters with more levels");
  if (to_level < 0) to_level = c.level - 1;
  if (to_level >= c.level)
    throw LevelError("textbook::rescale: cannot go from level " + std::to_string(c.level) + " to level " +
                     std::to_string(to_level) + "; the target level must be below the current one");
  const ZZ ql = q(c.level), qt = q(to_level), ratio = ql / qt;  // Δ^{ℓ−ℓ'}
  auto rs = [&](const ZZX& a) {
    const ZZX ac = centre(a, ql);  // ⌊(q_ℓ'/q_ℓ)·c⌉ on the centred representative
    ZZX r;
    r.SetLength(n_);
    for (std::size_t i = 0; i < n_; ++i) r[i] = round_div(coeff(ac, static_cast<long>(i)), ratio);
    r.normalize();
    return reduce(r, qt);
  };
  return {rs(c.c0), rs(c.c1), to_level, c.scale / NTL::conv<double>(ratio)};
}

}  // namespace ckks::textbook

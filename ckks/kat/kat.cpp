// See kat.h and docs/test-vectors.md.
#include "ckks/kat/kat.h"

#include <NTL/ZZ.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <sstream>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/keyswitch.h"
#include "ckks/math/errors.h"
#include "ckks/math/ntt.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns.h"
#include "ckks/math/rns_poly.h"
#include "ckks/math/sampler.h"

namespace ckks::kat {

using nlohmann::json;
using cplx = std::complex<double>;

namespace {

// Always-on consistency checks (CKKS_INVARIANT is compiled out of Release builds, and a vector file
// must never be written from an inconsistent computation).
void require(bool ok, const char* what) {
  if (!ok) throw InvariantError(std::string("ckks-kat: ") + what);
}

json header(const std::string& kind, const std::string& description) {
  return {{"format", "ckks-known-answer-vectors"},
          {"version", kFormatVersion},
          {"kind", kind},
          {"generator", "ckks-kat (this project: ckks/kat/kat.cpp)"},
          {"description", description}};
}

std::string decimal(const NTL::ZZ& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// A value in [−1, 1) from the generator's top 53 bits (portable, unlike std::uniform_real_distribution).
double unit(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * 0x1p-52 - 1.0; }

// The limbs of a coefficient-form RnsPoly: [[limb 0 …], [limb 1 …], …].
json limbs(const math::RnsPoly& a) {
  require(!a.is_ntt(), "polynomials are written in coefficient form");
  json out = json::array();
  for (std::size_t i = 0; i < a.limbs(); ++i) out.push_back(std::vector<std::uint64_t>(a.limb(i), a.limb(i) + a.n()));
  return out;
}

math::RnsPoly coeff_form(math::RnsPoly a, const math::RnsBasis& basis) {
  if (a.is_ntt()) math::from_ntt(a, basis);
  return a;
}

json ciphertext(const Ciphertext& ct) {
  const math::RnsBasis& basis = ct.context->basis_q(ct.level);
  json comps = json::array();
  for (const auto& c : ct.c) comps.push_back(limbs(coeff_form(c, basis)));
  return {{"level", ct.level}, {"scale", ct.scale}, {"slots", ct.slots}, {"components", comps}};
}

// s as signed coefficients in {−1, 0, 1} (read from limb 0 of the coefficient form).
std::vector<int> secret_coefficients(const Context& ctx, const SecretKey& sk) {
  const math::RnsPoly s = coeff_form(sk.s, ctx.basis_qp(ctx.max_level()));
  const std::uint64_t q0 = ctx.q(0).value();
  std::vector<int> out(s.n());
  for (std::size_t i = 0; i < s.n(); ++i) {
    const std::uint64_t v = s.limb(0)[i];
    out[i] = v == 0 ? 0 : (v == 1 ? 1 : -1);
    require(v <= 1 || v == q0 - 1, "the secret must be ternary");
  }
  return out;
}

json params_json(const Context& ctx) {
  std::vector<std::uint64_t> q, p;
  for (int i = 0; i <= ctx.max_level(); ++i) q.push_back(ctx.q(i).value());
  for (std::size_t j = 0; j < ctx.num_special(); ++j) p.push_back(ctx.p(static_cast<int>(j)).value());
  return {{"log_n", ctx.log_n()}, {"N", ctx.n()}, {"q", q}, {"p", p}, {"dnum", ctx.dnum()},
          {"scale", ctx.default_scale()}, {"secret", "uniform ternary"}, {"security", "INSECURE (test vectors only)"}};
}

json complex_array(const std::vector<cplx>& z) {
  json out = json::array();
  for (const cplx& v : z) out.push_back({v.real(), v.imag()});
  return out;
}

}  // namespace

Params vector_params() {
  Params p;
  p.log_n = 5;
  p.log_q = {40, 30, 30};
  p.log_p = {40};
  p.log_scale = 30;
  p.allow_insecure = true;
  return p;
}

// ---------------------------------------------------------------- NTT

json ntt_vectors() {
  json doc = header("ntt",
                    "Negacyclic NTT over Z_q[X]/(X^N + 1). output[i] = a(psi^(2*brv(i)+1)) mod q, brv = bit reversal "
                    "of log2(N) bits; psi = the primitive 2N-th root of unity given (psi^N = q - 1).");
  std::mt19937_64 g(20261122);
  json cases = json::array();
  for (auto [log_n, bits] : {std::pair{4, 40}, std::pair{10, 60}}) {
    const std::uint64_t N = std::uint64_t{1} << log_n;
    const std::uint64_t q = math::generate_ntt_primes(bits, 1, N)[0];
    const math::Modulus m(q);
    const math::NttTables t(N, m);
    std::vector<std::uint64_t> a(N);
    for (auto& v : a) v = g() % q;
    std::vector<std::uint64_t> out = a;
    t.forward(out.data());
    cases.push_back({{"N", N}, {"q", q}, {"psi", math::primitive_root_2n(q, N)}, {"input", a}, {"output", out}});
  }
  doc["cases"] = cases;
  return doc;
}

// ---------------------------------------------------------------- RNS base conversion

json rns_vectors() {
  json doc = header("rns",
                    "Residues of integers x modulo the basis C, and two conversions to the basis B. x is the centred "
                    "representative in (-Q_C/2, Q_C/2], Q_C = prod(C). fast[j][i] = sum_k [x_k * qhat_k^-1]_{c_k} * "
                    "qhat_k mod b_j, computed on centred terms as ckks/math/rns.h describes; it equals x + u[i]*Q_C "
                    "mod b_j for the small integer u[i] given. exact[j][i] = x mod b_j.");
  const std::size_t N = 8;
  const auto c_primes = math::generate_ntt_primes(50, 3, N);
  const auto b_primes = math::generate_ntt_primes(45, 2, N);
  std::vector<std::unique_ptr<math::Prime>> owned;
  math::RnsBasis C, B;
  for (auto q : c_primes) C.push_back(owned.emplace_back(std::make_unique<math::Prime>(q, N)).get());
  for (auto q : b_primes) B.push_back(owned.emplace_back(std::make_unique<math::Prime>(q, N)).get());
  const math::BaseConverter conv(C, B);

  std::mt19937_64 g(421);
  std::vector<std::uint64_t> in(C.size() * N);
  for (std::size_t k = 0; k < C.size(); ++k)
    for (std::size_t i = 0; i < N; ++i) in[k * N + i] = g() % c_primes[k];
  // Two chosen inputs besides the random ones: x = 0 and x = −1.
  for (std::size_t k = 0; k < C.size(); ++k) {
    in[k * N + 0] = 0;
    in[k * N + 1] = c_primes[k] - 1;
  }
  std::vector<std::uint64_t> fast(B.size() * N), exact(B.size() * N);
  conv.convert(in.data(), fast.data(), N);
  conv.convert_exact(in.data(), exact.data(), N);

  // x by CRT (NTL), centred; u from the first prime of B, checked against the second.
  NTL::ZZ Q(1);
  for (auto q : c_primes) Q *= q;
  std::vector<std::string> xs(N);
  std::vector<long> us(N);
  for (std::size_t i = 0; i < N; ++i) {
    NTL::ZZ x(0);
    for (std::size_t k = 0; k < C.size(); ++k) {
      const NTL::ZZ qk(c_primes[k]), qhat = Q / qk;
      x += NTL::ZZ(in[k * N + i]) * qhat % Q * NTL::InvMod(qhat % qk, qk);
    }
    x %= Q;
    if (2 * x > Q) x -= Q;
    xs[i] = decimal(x);
    long u_prev = 0;
    for (std::size_t j = 0; j < B.size(); ++j) {
      const NTL::ZZ b(b_primes[j]);
      NTL::ZZ u = (NTL::ZZ(fast[j * N + i]) - x) % b * NTL::InvMod(Q % b, b) % b;
      if (2 * u > b) u -= b;
      const long uj = NTL::conv<long>(u);
      require(j == 0 || uj == u_prev, "the fast conversion's overflow must be one integer");
      u_prev = uj;
      require(NTL::ZZ(exact[j * N + i]) == x % b, "exact conversion must give x mod b_j");
    }
    us[i] = u_prev;
  }
  auto split = [&](const std::vector<std::uint64_t>& v, std::size_t k) {
    json out = json::array();
    for (std::size_t j = 0; j < k; ++j) out.push_back(std::vector<std::uint64_t>(v.begin() + j * N, v.begin() + (j + 1) * N));
    return out;
  };
  doc["cases"] = json::array({{{"N", N}, {"C", c_primes}, {"B", b_primes}, {"x", xs}, {"residues", split(in, C.size())},
                               {"fast", split(fast, B.size())}, {"u", us}, {"exact", split(exact, B.size())}}});
  return doc;
}

// ---------------------------------------------------------------- encoding

json encoding_vectors() {
  json doc = header("encoding",
                    "coefficients = round(scale * sigma^-1(z)): the integer polynomial m (centred coefficients, "
                    "index 0 = constant term) whose slot values are ~ scale * z. Full slots (slots = N/2): slot j is "
                    "m(zeta^(5^j mod 2N)), zeta = exp(i*pi/N). Sparse (slots = n < N/2): m(X) = m'(X^g), g = N/(2n), "
                    "and slot j is m'(exp(i*pi*(5^j mod 4n)/(2n))). Values z are [re, im] pairs; rounding is to the "
                    "nearest integer.");
  auto ctx = Context::create(vector_params());
  const Encoder enc(ctx);
  std::mt19937_64 g(2016421);
  json cases = json::array();
  for (std::size_t slots : {ctx->max_slots(), std::size_t{4}}) {
    std::vector<cplx> z(slots);
    for (auto& v : z) v = {unit(g), unit(g)};
    const double scale = std::ldexp(1.0, 30);
    const Plaintext pt = enc.encode(std::span<const cplx>(z), ctx->max_level(), scale, slots);
    const auto coeffs = enc.coefficients(pt);
    std::vector<long long> m(coeffs.size());
    for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<long long>(coeffs[i]);
    cases.push_back({{"N", ctx->n()}, {"slots", slots}, {"scale", scale}, {"z", complex_array(z)}, {"coefficients", m}});
  }
  doc["cases"] = cases;
  return doc;
}

// ---------------------------------------------------------------- key switching and a full product

json keyswitch_vectors() {
  json doc = header("keyswitch",
                    "Hybrid key switching [HK20] of d (level L) with the relinearisation key (s^2 -> s): "
                    "digits of one prime each (dnum = L + 1), ModUp by fast base conversion, inner product with the "
                    "key over Q_L*P, ModDown = exact rounding of x/P (see ckks/keyswitch.h). Output (u0, u1) with "
                    "u0 + u1*s = d*s^2 + e, e small. Key pair j is (b_j, a_j) over q_0..q_L, p_0 (limbs in that "
                    "order) with b_j = -a_j*s + e_j + P*g_j*s^2, where g_j = 1 mod q_j and 0 mod every other q_i "
                    "(so the term is [P]_{q_j}*s^2 on limb j and 0 on the other limbs, including p_0).");
  auto ctx = Context::create(vector_params());
  KeyGenerator kg(ctx, math::Csprng::insecure_fixed_seed_for_testing(31));
  const SecretKey sk = kg.secret_key();
  const RelinKey rk = kg.relin_key(sk);
  const int L = ctx->max_level();
  const math::RnsBasis& bq = ctx->basis_q(L);
  const math::RnsBasis& bqp = ctx->basis_qp(L);
  // d uniform over Q_L, from a fixed generator.
  std::mt19937_64 g(688);
  math::RnsPoly d(ctx->n(), bq.size(), false);
  for (std::size_t i = 0; i < bq.size(); ++i)
    for (std::size_t k = 0; k < ctx->n(); ++k) d.limb(i)[k] = g() % bq[i]->value();
  math::RnsPoly d_ntt = d;
  math::to_ntt(d_ntt, bq);
  const auto [u0, u1] = key_switch(*ctx, d_ntt, L, rk.key);
  json key = json::array();
  for (std::size_t j = 0; j < rk.key.b.size(); ++j)
    key.push_back({{"b", limbs(coeff_form(rk.key.b[j], bqp))}, {"a", limbs(coeff_form(rk.key.a[j], bqp))}});
  doc["params"] = params_json(*ctx);
  doc["secret"] = secret_coefficients(*ctx, sk);
  doc["key"] = key;
  doc["level"] = L;
  doc["d"] = limbs(d);
  doc["u0"] = limbs(coeff_form(u0, bq));
  doc["u1"] = limbs(coeff_form(u1, bq));
  return doc;
}

json multiply_vectors() {
  json doc = header("multiply",
                    "ct = Enc(z1) * Enc(z2): tensor product (3 components), relinearisation with the key of "
                    "keyswitch.json's construction (given again here), rescale by q_L (rounding division). "
                    "Every ciphertext is given in coefficient form; 'decoded' is the decryption of the final "
                    "ciphertext under 'secret', decoded with its scale.");
  auto ctx = Context::create(vector_params());
  KeyGenerator kg(ctx, math::Csprng::insecure_fixed_seed_for_testing(41));
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  const RelinKey rk = kg.relin_key(sk);
  Encoder enc(ctx);
  Encryptor encryptor(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(42));
  Decryptor dec(ctx, sk);
  const Evaluator ev(ctx);
  std::mt19937_64 g(931);
  std::vector<cplx> z1(ctx->max_slots()), z2(ctx->max_slots()), want(ctx->max_slots());
  for (std::size_t i = 0; i < z1.size(); ++i) {
    z1[i] = {unit(g), unit(g)};
    z2[i] = {unit(g), unit(g)};
    want[i] = z1[i] * z2[i];
  }
  const int L = ctx->max_level();
  const Ciphertext c1 = encryptor.encrypt(enc.encode(std::span<const cplx>(z1), L, ctx->default_scale()));
  const Ciphertext c2 = encryptor.encrypt(enc.encode(std::span<const cplx>(z2), L, ctx->default_scale()));
  const Ciphertext t = ev.multiply(c1, c2);
  const Ciphertext r = ev.relinearize(t, rk);
  const Ciphertext out = ev.rescale(r);
  const auto decoded = enc.decode_complex(dec.decrypt(out));
  const math::RnsBasis& bqp = ctx->basis_qp(L);
  json key = json::array();
  for (std::size_t j = 0; j < rk.key.b.size(); ++j)
    key.push_back({{"b", limbs(coeff_form(rk.key.b[j], bqp))}, {"a", limbs(coeff_form(rk.key.a[j], bqp))}});
  doc["params"] = params_json(*ctx);
  doc["secret"] = secret_coefficients(*ctx, sk);
  doc["relin_key"] = key;
  doc["z1"] = complex_array(z1);
  doc["z2"] = complex_array(z2);
  doc["ct1"] = ciphertext(c1);
  doc["ct2"] = ciphertext(c2);
  doc["tensor"] = ciphertext(t);
  doc["relinearized"] = ciphertext(r);
  doc["rescaled"] = ciphertext(out);
  doc["decoded"] = complex_array(decoded);
  doc["expected"] = complex_array(want);
  return doc;
}

namespace {

// Recursive comparison: integers, strings, booleans and structure exactly; floating-point numbers
// within 2^−40 relative (or absolute below 1), because doubles computed by the encoder's FFT or
// by complex products carry last bits that depend on the compiler's use of fused multiply-add.
bool same_json(const json& a, const json& b, const std::string& at, std::string* why) {
  auto fail = [&](const std::string& what) {
    if (why) *why = at.empty() ? what : at + ": " + what;
    return false;
  };
  if (a.is_number_float() || b.is_number_float()) {
    if (!a.is_number() || !b.is_number()) return fail("a number against a non-number");
    const double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= 0x1p-40 * std::max(1.0, std::max(std::fabs(x), std::fabs(y))) ? true
                                                                                              : fail("numbers differ");
  }
  if (a.is_number() && b.is_number()) return a == b ? true : fail("integers differ");  // signed/unsigned alike
  if (a.type() != b.type()) return fail("types differ");
  if (a.is_object()) {
    if (a.size() != b.size()) return fail("different fields");
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return fail("field " + it.key() + " missing");
      if (!same_json(it.value(), b[it.key()], at.empty() ? it.key() : at + "." + it.key(), why)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return fail("lengths differ");
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_json(a[i], b[i], at + "[" + std::to_string(i) + "]", why)) return false;
    return true;
  }
  return a == b ? true : fail("values differ");
}

}  // namespace

bool same_vectors(const json& committed, const json& fresh, std::string* why) {
  if (!committed.is_object() || !fresh.is_object()) {
    if (why) *why = "not a JSON object";
    return false;
  }
  return same_json(committed, fresh, "", why);
}

std::map<std::string, json> all_vectors() {
  return {{"ntt.json", ntt_vectors()},
          {"rns.json", rns_vectors()},
          {"encoding.json", encoding_vectors()},
          {"keyswitch.json", keyswitch_vectors()},
          {"multiply.json", multiply_vectors()}};
}

}  // namespace ckks::kat

// See kat.h and docs/test-vectors.md.
#include "ckks/kat/kat.h"

#include <NTL/ZZ.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <sstream>
#include <vector>

#include "ckks/bootstrapping.h"
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
#include "ckks/precision.h"

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


// ---------------------------------------------------------------- one bootstrap, stage by stage

Params bootstrap_vector_params() {
  Params p;
  p.log_n = 10;
  p.log_q = {60, 40, 40, 50, 50, 50};              // q_0 | two user levels | SlotsToCoeffs (3)
  p.log_q.insert(p.log_q.end(), 9 + 3, 60);        // EvalMod (9) | CoeffsToSlots (3)
  p.log_p.assign(3, 61);
  p.log_scale = 40;
  p.secret = SecretDistribution::HammingWeight;
  p.hamming_weight = 64;
  p.allow_insecure = true;
  return p;
}

BootstrapConfig bootstrap_vector_config() {
  BootstrapConfig cfg;
  cfg.slots = 8;
  return cfg;
}

namespace {

// The centred integer coefficients of a plaintext, by the CRT over q_0..q_ℓ (NTL).
std::vector<NTL::ZZ> centred_coefficients(const Context& ctx, const Plaintext& pt) {
  const math::RnsBasis& basis = ctx.basis_q(pt.level);
  const math::RnsPoly a = coeff_form(pt.poly, basis);
  NTL::ZZ Q(1);
  for (const auto* q : basis) Q *= NTL::ZZ(q->value());
  std::vector<NTL::ZZ> w;  // w_i = (Q/q_i)·[(Q/q_i)^-1]_{q_i}
  for (const auto* q : basis) {
    const NTL::ZZ qi(q->value()), qhat = Q / qi;
    w.push_back(qhat * NTL::InvMod(qhat % qi, qi));
  }
  std::vector<NTL::ZZ> out(a.n());
  for (std::size_t k = 0; k < a.n(); ++k) {
    NTL::ZZ x(0);
    for (std::size_t i = 0; i < basis.size(); ++i) x += NTL::ZZ(a.limb(i)[k]) * w[i];
    x %= Q;
    if (2 * x > Q) x -= Q;
    out[k] = x;
  }
  return out;
}

json decimals(const std::vector<NTL::ZZ>& v) {
  json out = json::array();
  for (const auto& x : v) out.push_back(decimal(x));
  return out;
}

// brv: j with its log2(n) bits reversed (n a power of two).
std::size_t bit_reverse(std::size_t j, std::size_t n) {
  std::size_t r = 0;
  for (std::size_t b = 1; b < n; b <<= 1, j >>= 1) r = (r << 1) | (j & 1);
  return r;
}

// A stage's decryption: level, scale, slots, the exact coefficients, the decoded slots.
json stage(const Context& ctx, const Encoder& enc, const Decryptor& dec, const Ciphertext& ct,
           std::vector<NTL::ZZ>* coefficients = nullptr) {
  const Plaintext pt = dec.decrypt(ct);
  std::vector<NTL::ZZ> c = centred_coefficients(ctx, pt);
  json out = {{"level", ct.level}, {"scale", ct.scale}, {"slots", ct.slots}, {"coefficients", decimals(c)},
              {"decoded", complex_array(enc.decode_complex(pt))}};
  if (coefficients) *coefficients = std::move(c);
  return out;
}

}  // namespace

double mean_bits(const std::vector<cplx>& got, const std::vector<cplx>& want) {
  require(got.size() == want.size() && !got.empty(), "mean_bits compares two non-empty vectors of one length");
  double sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) sum += std::abs(got[i] - want[i]);
  return -std::log2(sum / static_cast<double>(got.size()));
}

json bootstrap_vectors() {
  json doc = header(
      "bootstrap",
      "One bootstrap [BMTH21] of a fresh level-0 encryption of z (n sparse slots), stage by stage: "
      "ModRaise (each c_i becomes the centred representative of [scale_up*c_i]_{q_0}, x > q_0/2 meaning x - q_0, "
      "read modulo Q_L: decrypts to t = scale_up*m + q_0*I exactly), CoeffsToSlots (trace, then the inverse special FFT without bit reversal: 2n slots, slot j < n holds "
      "t[brv(j)*g]/(q_0*K), slot n + j holds t[(brv(j) + n)*g]/(q_0*K), g = N/(2n), brv over log2(n) bits), "
      "EvalMod (slot x -> sin(2*pi*K*x) = sin(2*pi*t_k/q_0), by a Chebyshev interpolant of cos(2*pi*(K*x - 1/4)/2^r) "
      "and r double angles), SlotsToCoeffs (forward special FFT times q_0/(2*pi*scale_up*input_scale): n slots ~ z). "
      "Each stage's 'coefficients' are the centred integers of its decryption under 'secret' (decimal strings, "
      "mod Q_level); 'decoded' are its slot values; 'expected' is the stage's definition computed from the exact "
      "integers of the previous stage. Keys come from the seeds (this implementation's ChaCha20 Csprng) and are "
      "not written: the coefficients after CoeffsToSlots are exact for this implementation only; another one "
      "compares 'decoded' within the noise.");
  const Params params = bootstrap_vector_params();
  const BootstrapConfig cfg = bootstrap_vector_config();
  const std::uint64_t key_seed = 151, encryption_seed = 152, data_seed = 153;
  auto ctx = Context::create(params);
  const BootstrapPlan plan = Bootstrapper::plan(*ctx, cfg);
  KeyGenerator kg(ctx, math::Csprng::insecure_fixed_seed_for_testing(key_seed));
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  const RelinKey rk = kg.relin_key(sk);
  const GaloisKeys gk = kg.galois_keys(sk, plan.rotation_steps, plan.conjugation);
  const Bootstrapper boot(ctx, cfg, rk, gk);
  const Encoder enc(ctx);
  Encryptor encryptor(ctx, pk, math::Csprng::insecure_fixed_seed_for_testing(encryption_seed));
  const Decryptor dec(ctx, sk);

  const std::size_t N = ctx->n(), n = plan.slots, gap = N / (2 * n);
  std::mt19937_64 g(data_seed);
  std::vector<cplx> z(n);
  for (auto& v : z) v = {unit(g), unit(g)};
  const Ciphertext ct = encryptor.encrypt(enc.encode(std::span<const cplx>(z), 0, ctx->default_scale(), n));

  const Ciphertext raised = boot.mod_raise(ct);
  const std::vector<Ciphertext> parts = boot.coeffs_to_slots(raised);
  require(parts.size() == 1, "the bootstrap vector uses sparse slots (one CoeffsToSlots output)");
  const Ciphertext modded = boot.eval_mod(parts[0]);
  const Ciphertext out = boot.slots_to_coeffs({modded});
  require(raised.level == plan.top_level && out.level == plan.output_level, "stages must end at their planned levels");

  // Input and ModRaise: m, then t = scale_up·m + q_0·I with I an integer polynomial.
  const NTL::ZZ q0(ctx->q(0).value()), k(boot.scale_up());
  std::vector<NTL::ZZ> m, t, x, y;
  json input = stage(*ctx, enc, dec, ct, &m);
  input["z"] = complex_array(z);
  input["ciphertext"] = ciphertext(ct);
  json raise = stage(*ctx, enc, dec, raised, &t);
  std::vector<long> I(N);
  for (std::size_t i = 0; i < N; ++i) {
    NTL::ZZ r;
    NTL::ZZ quotient;
    NTL::DivRem(quotient, r, t[i] - k * m[i], q0);
    require(NTL::IsZero(r), "ModRaise must add multiples of q_0");
    I[i] = NTL::conv<long>(quotient);
  }
  raise["scale_up"] = boot.scale_up();
  raise["I"] = I;

  // CoeffsToSlots: the coefficients of t in the slots, divided by q_0·K.
  json cts = stage(*ctx, enc, dec, parts[0], &x);
  const double q0K = NTL::conv<double>(q0) * cfg.k;
  std::vector<cplx> want_x(2 * n), want_y(2 * n);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = bit_reverse(j, n);
    want_x[j] = NTL::conv<double>(t[i * gap]) / q0K;
    want_x[n + j] = NTL::conv<double>(t[(i + n) * gap]) / q0K;
  }
  cts["expected"] = complex_array(want_x);

  // EvalMod: sin(2π·t_k/q_0) = sin(2π·[t_k]_{q_0}/q_0), from the exact t.
  json mod = stage(*ctx, enc, dec, modded, &y);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = bit_reverse(j, n);
    for (std::size_t half : {std::size_t{0}, n}) {
      NTL::ZZ r = t[(i + half) * gap] % q0;
      if (2 * r > q0) r -= q0;
      want_y[half + j] = std::sin(2 * M_PI * NTL::conv<double>(r) / NTL::conv<double>(q0));
    }
  }
  mod["expected"] = complex_array(want_y);

  // SlotsToCoeffs: the refreshed z.
  json stc = stage(*ctx, enc, dec, out);
  const auto got = enc.decode_complex(dec.decrypt(out));
  stc["expected"] = complex_array(z);
  stc["ciphertext"] = ciphertext(out);
  stc["mean_bits"] = mean_bits(got, z);
  stc["worst_bits"] = precision_bits(got, z);

  json p = params_json(*ctx);
  p["secret"] = "ternary, Hamming weight " + std::to_string(params.hamming_weight);
  doc["params"] = p;
  doc["seeds"] = {{"keys", key_seed},
                  {"encryption", encryption_seed},
                  {"data", data_seed},
                  {"how", "keys: KeyGenerator(Csprng::insecure_fixed_seed_for_testing(keys)), drawn in the order secret, "
                          "public, relinearisation, Galois (plan.rotation_steps, then the conjugation); encryption: "
                          "Encryptor(public key, Csprng::insecure_fixed_seed_for_testing(encryption)); z: "
                          "std::mt19937_64(data), re then im per slot, (g() >> 11) * 2^-52 - 1"}};
  doc["config"] = {{"slots", n},
                   {"K", cfg.k},
                   {"cos_degree", cfg.cos_degree},
                   {"double_angle", cfg.double_angle},
                   {"arcsine_degree", cfg.arcsine_degree},
                   {"log_message_ratio", cfg.log_message_ratio},
                   {"input_scale", ctx->default_scale()},
                   {"output_scale", ctx->default_scale()},
                   {"scale_up", boot.scale_up()},
                   {"eval_mod_input_scale", boot.eval_mod_input_scale()},
                   {"eval_mod_output_scale", boot.eval_mod_output_scale()}};
  doc["plan"] = {{"top_level", plan.top_level},
                 {"trace_rotations", plan.trace_rotations},
                 {"cts_levels", plan.cts_levels},
                 {"eval_mod_levels", plan.eval_mod_levels},
                 {"stc_levels", plan.stc_levels},
                 {"output_level", plan.output_level},
                 {"rotation_steps", plan.rotation_steps},
                 {"conjugation", plan.conjugation}};
  doc["cosine"] = {{"a", boot.cosine().a}, {"b", boot.cosine().b}, {"coeffs", boot.cosine().coeffs}};
  doc["build_dependent"] = {
      {"sections", kBuildDependentSections},
      {"coefficient_tolerance", "2^-30 * scale"},
      {"value_tolerance", kBuildDependentTolerance},
      {"bits_tolerance", kBitsTolerance},
      {"why", "after CoeffsToSlots every integer goes through encoded constants round(sigma * u), sigma ~ 2^60, "
              "whose last bits change with the compiler's use of fused multiply-add; a build that evaluates "
              "like the generating one reproduces these sections exactly, another one within the tolerances "
              "(the ciphertext then differs in every digit and is compared through its decryption)"}};
  doc["secret"] = secret_coefficients(*ctx, sk);
  doc["input"] = input;
  doc["mod_raise"] = raise;
  doc["coeffs_to_slots"] = cts;
  doc["eval_mod"] = mod;
  doc["slots_to_coeffs"] = stc;
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

namespace {

// One build-dependent section of bootstrap.json against another build's (see kat.h).
bool within_noise(const json& a, const json& b, const std::string& at, std::string* why) {
  auto fail_at = [&](const std::string& where, const std::string& what) {
    if (why) *why = where + ": " + what;
    return false;
  };
  auto fail = [&](const std::string& what) { return fail_at(at, what); };
  if (!a.is_object() || !b.is_object() || a.size() != b.size()) return fail("different fields");
  for (const char* exact : {"level", "slots", "scale"})
    if (a.contains(exact) && !same_json(a[exact], b.value(exact, json()), at + "." + exact, why)) return false;
  for (auto it = a.begin(); it != a.end(); ++it) {
    const std::string& key = it.key();
    const std::string here = at + "." + key;
    if (!b.contains(key)) return fail("field " + key + " missing");
    const json &x = it.value(), &y = b[key];
    if (key == "coefficients") {
      if (!x.is_array() || !y.is_array() || x.size() != y.size()) return fail("coefficients: lengths differ");
      const long double bound = kBuildDependentTolerance * a["scale"].get<double>();
      for (std::size_t i = 0; i < x.size(); ++i)
        if (std::fabs(std::stold(x[i].get<std::string>()) - std::stold(y[i].get<std::string>())) > bound)
          return fail_at(here + "[" + std::to_string(i) + "]", "differs by more than 2^-30 * scale");
    } else if (key == "ciphertext") {
      for (const char* f : {"level", "scale", "slots"})
        if (!same_json(x[f], y[f], here + "." + f, why)) return false;
      const json &cx = x["components"], &cy = y["components"];
      if (cx.size() != cy.size()) return fail("ciphertext: different numbers of components");
      for (std::size_t c = 0; c < cx.size(); ++c) {
        if (cx[c].size() != cy[c].size()) return fail("ciphertext: different numbers of limbs");
        for (std::size_t l = 0; l < cx[c].size(); ++l)
          if (cx[c][l].size() != cy[c][l].size()) return fail("ciphertext: limbs of different lengths");
      }
    } else if (key.ends_with("_bits")) {
      if (std::fabs(x.get<double>() - y.get<double>()) > kBitsTolerance) return fail("precision figures differ");
    } else if (key != "level" && key != "slots" && key != "scale") {  // slot values
      const json xs = x.is_array() ? x.flatten() : json(), ys = y.is_array() ? y.flatten() : json();
      if (!x.is_array() || xs.size() != ys.size()) return fail("different shapes");
      for (auto v = xs.begin(); v != xs.end(); ++v) {
        const double p = v.value().get<double>(), q = ys.value(v.key(), json(0.0)).get<double>();
        if (std::fabs(p - q) > kBuildDependentTolerance * std::max(1.0, std::max(std::fabs(p), std::fabs(q))))
          return fail("values differ by more than 2^-30");
      }
    }
  }
  return true;
}

}  // namespace

Agreement compare_vectors(const json& committed, const json& fresh, std::string* why) {
  if (!committed.is_object() || !fresh.is_object()) {
    if (why) *why = "not a JSON object";
    return Agreement::differs;
  }
  if (same_json(committed, fresh, "", why)) return Agreement::identical;
  if (committed.value("kind", "") != "bootstrap" || fresh.value("kind", "") != "bootstrap") return Agreement::differs;
  json rest_c = committed, rest_f = fresh;
  for (const auto& section : kBuildDependentSections) {
    rest_c.erase(section);
    rest_f.erase(section);
  }
  if (!same_json(rest_c, rest_f, "", why)) return Agreement::differs;
  for (const auto& section : kBuildDependentSections)
    if (!committed.contains(section) || !fresh.contains(section) ||
        !within_noise(committed[section], fresh[section], section, why))
      return Agreement::differs;
  if (why) *why = "";
  return Agreement::within_noise;
}

bool same_vectors(const json& committed, const json& fresh, std::string* why) {
  return compare_vectors(committed, fresh, why) != Agreement::differs;
}

namespace {

using Generator = json (*)();
const std::vector<std::pair<std::string, Generator>>& generators() {
  static const std::vector<std::pair<std::string, Generator>> g = {
      {"ntt.json", ntt_vectors},           {"rns.json", rns_vectors},
      {"encoding.json", encoding_vectors}, {"keyswitch.json", keyswitch_vectors},
      {"multiply.json", multiply_vectors}, {"bootstrap.json", bootstrap_vectors}};
  return g;
}

}  // namespace

std::vector<std::string> vector_file_names() {
  std::vector<std::string> names;
  for (const auto& [name, gen] : generators()) names.push_back(name);
  return names;
}

json vectors(const std::string& file_name) {
  std::string known;
  for (const auto& [name, gen] : generators()) {
    if (name == file_name) return gen();
    known += (known.empty() ? "" : ", ") + name;
  }
  throw InputError("ckks-kat: no vector file named '" + file_name + "'; the files are " + known);
}

std::map<std::string, json> all_vectors() {
  std::map<std::string, json> out;
  for (const auto& [name, gen] : generators()) out.emplace(name, gen());
  return out;
}

}  // namespace ckks::kat

// Known-answer vectors (ckks/kat/kat.h, committed in tests/vectors/, format docs/test-vectors.md):
//  1. the committed files equal what the generator writes today (the arithmetic has not drifted);
//  2. each file is verified independently of the code that wrote it: NTT by direct evaluation at
//     the powers of ψ (NTL), RNS by CRT (NTL), encoding against the textbook scheme's O(N²)
//     encoder, key switching and the full product by recomputation from the file's own inputs
//     plus decryption with the file's secret.
#include <doctest/doctest.h>

#include <NTL/ZZ.h>
#include <NTL/ZZX.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/kat/kat.h"
#include "ckks/keyswitch.h"
#include "ckks/math/rns_poly.h"
#include "ckks/precision.h"
#include "ckks/textbook/textbook.h"

namespace ckks::test {
namespace {

using nlohmann::json;
using cplx = std::complex<double>;

json load(const std::string& name) {
  const std::string path = std::string(CKKS_VECTORS_DIR) + "/" + name;
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  return json::parse(f);
}

std::vector<cplx> complex_values(const json& a) {
  std::vector<cplx> z;
  for (const auto& v : a) z.emplace_back(v[0].get<double>(), v[1].get<double>());
  return z;
}

// Coefficient-form limbs from the file → an RnsPoly over `basis`, in evaluation form.
math::RnsPoly poly_ntt(const json& limbs, const math::RnsBasis& basis, std::size_t N) {
  REQUIRE(limbs.size() == basis.size());
  math::RnsPoly p(N, basis.size(), false);
  for (std::size_t i = 0; i < basis.size(); ++i) {
    const auto v = limbs[i].get<std::vector<std::uint64_t>>();
    REQUIRE(v.size() == N);
    std::copy(v.begin(), v.end(), p.limb(i));
  }
  math::to_ntt(p, basis);
  return p;
}

json limbs_of(math::RnsPoly p, const math::RnsBasis& basis) {
  math::from_ntt(p, basis);
  json out = json::array();
  for (std::size_t i = 0; i < p.limbs(); ++i) out.push_back(std::vector<std::uint64_t>(p.limb(i), p.limb(i) + p.n()));
  return out;
}

Ciphertext read_ciphertext(const ContextPtr& ctx, const json& j) {
  Ciphertext ct;
  ct.context = ctx;
  ct.level = j["level"].get<int>();
  ct.scale = j["scale"].get<double>();
  ct.slots = j["slots"].get<std::size_t>();
  for (const auto& c : j["components"]) ct.c.push_back(poly_ntt(c, ctx->basis_q(ct.level), ctx->n()));
  return ct;
}

json components_of(const Ciphertext& ct) {
  json out = json::array();
  for (const auto& c : ct.c) out.push_back(limbs_of(c, ct.context->basis_q(ct.level)));
  return out;
}

SecretKey read_secret(const ContextPtr& ctx, const json& s) {
  const auto& basis = ctx->basis_qp(ctx->max_level());
  math::RnsPoly p = math::from_signed_coeffs(s.get<std::vector<std::int64_t>>(), basis);
  math::to_ntt(p, basis);
  return SecretKey(ctx, std::move(p));
}

KeySwitchKey read_key(const ContextPtr& ctx, const json& pairs) {
  KeySwitchKey k{ctx, {}, {}, std::nullopt};
  const auto& basis = ctx->basis_qp(ctx->max_level());
  for (const auto& pr : pairs) {
    k.b.push_back(poly_ntt(pr["b"], basis, ctx->n()));
    k.a.push_back(poly_ntt(pr["a"], basis, ctx->n()));
  }
  return k;
}

// The context of `made` (the ciphertext-level vectors' by default), after checking that it has the
// file's primes.
ContextPtr context_for(const json& params, const Params& made = kat::vector_params()) {
  auto ctx = Context::create(made);
  REQUIRE(params["N"].get<std::size_t>() == ctx->n());
  const auto q = params["q"].get<std::vector<std::uint64_t>>();
  REQUIRE(q.size() == static_cast<std::size_t>(ctx->max_level() + 1));
  for (std::size_t i = 0; i < q.size(); ++i) CHECK(ctx->q(static_cast<int>(i)).value() == q[i]);
  CHECK(params["p"].get<std::vector<std::uint64_t>>()[0] == ctx->p(0).value());
  CHECK(params["dnum"].get<std::size_t>() == ctx->dnum());
  return ctx;
}

std::size_t bit_reverse(std::size_t i, int bits) {
  std::size_t r = 0;
  for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
  return r;
}

// The slots of integer coefficients m (index 0 = constant term) at the roots docs/test-vectors.md
// gives: slot j = m'(e^{iπ·(5^j mod 4n)/(2n)})/scale with m(X) = m'(X^g), g = N/(2n) (long double).
std::vector<cplx> decode_at_roots(const std::vector<long double>& m, std::size_t slots, double scale) {
  std::vector<cplx> back(slots);
  const std::size_t g = m.size() / (2 * slots), M = 4 * slots;
  std::size_t r = 1;
  for (std::size_t j = 0; j < slots; ++j, r = r * 5 % M) {
    std::complex<long double> acc = 0;
    for (std::size_t k = 0; k < 2 * slots; ++k)
      acc += m[k * g] * std::polar(1.0L, std::numbers::pi_v<long double> * static_cast<long double>(r * k % M) / (2.0L * slots));
    back[j] = cplx(static_cast<double>(acc.real() / scale), static_cast<double>(acc.imag() / scale));
  }
  return back;
}

TEST_CASE("ckks/kat: the committed vectors equal what the generator writes today") {
  for (const auto& [name, doc] : kat::all_vectors()) {
    CAPTURE(name);
    const json committed = load(name);
    CHECK(committed["version"] == kat::kFormatVersion);
    CHECK(committed["kind"] == doc["kind"]);
    std::string why;
    const kat::Agreement agreement = kat::compare_vectors(committed, doc, &why);
    CHECK_MESSAGE(agreement != kat::Agreement::differs, name << " differs (" << why << ") from the generator's output: the arithmetic changed. If that "
                                           "is deliberate, regenerate with `build/ckks/ckks-kat --out tests/vectors` (one file: `--only " << name << "`)");
    if (agreement == kat::Agreement::within_noise)
      MESSAGE(name << ": identical except the build-dependent sections, which agree within the noise (this build's "
                      "floating-point evaluation differs from the generating build's)");
  }
}

TEST_CASE("ckks/kat: the comparison accepts only noise, and only in bootstrap.json's build-dependent sections") {
  const json committed = load("bootstrap.json");
  std::string why;
  CHECK(kat::compare_vectors(committed, committed, &why) == kat::Agreement::identical);
  const double scale = committed["eval_mod"]["scale"].get<double>();
  auto shifted = [&](const char* section, double by) {  // coefficient 0 of `section` moved by `by`
    json changed = committed;
    const long double c = std::stold(changed[section]["coefficients"][0].get<std::string>());
    changed[section]["coefficients"][0] = std::to_string(static_cast<long long>(c + by));
    return changed;
  };
  CHECK(kat::compare_vectors(committed, shifted("eval_mod", 1), &why) == kat::Agreement::within_noise);
  CHECK(kat::compare_vectors(committed, shifted("eval_mod", 0x1p-29 * scale), &why) == kat::Agreement::differs);
  CHECK(why.find("eval_mod.coefficients[0]") != std::string::npos);
  CHECK(kat::compare_vectors(committed, shifted("mod_raise", 1), &why) == kat::Agreement::differs);  // exact everywhere
  json other_ct = committed;
  other_ct["slots_to_coeffs"]["ciphertext"]["components"][0][0][0] = 1;
  CHECK(kat::compare_vectors(committed, other_ct, &why) == kat::Agreement::within_noise);
  other_ct["slots_to_coeffs"]["ciphertext"]["level"] = 1;
  CHECK(kat::compare_vectors(committed, other_ct, &why) == kat::Agreement::differs);
  json other_bits = committed;
  other_bits["slots_to_coeffs"]["worst_bits"] = committed["slots_to_coeffs"]["worst_bits"].get<double>() + 0.1;
  CHECK(kat::compare_vectors(committed, other_bits, &why) == kat::Agreement::differs);
  json other_ntt = load("ntt.json");
  const json ntt = other_ntt;
  other_ntt["cases"][0]["output"][0] = other_ntt["cases"][0]["output"][0].get<std::uint64_t>() ^ 1;
  CHECK(kat::compare_vectors(ntt, other_ntt, &why) == kat::Agreement::differs);
}

TEST_CASE("ckks/kat: NTT vectors equal direct evaluation at the powers of psi (NTL)") {
  const json doc = load("ntt.json");
  for (const auto& c : doc["cases"]) {
    const auto N = c["N"].get<std::size_t>();
    const auto q = c["q"].get<std::uint64_t>(), psi = c["psi"].get<std::uint64_t>();
    const auto a = c["input"].get<std::vector<std::uint64_t>>(), out = c["output"].get<std::vector<std::uint64_t>>();
    const NTL::ZZ Q(q);
    CHECK(NTL::PowerMod(NTL::ZZ(psi), NTL::ZZ(N), Q) == Q - 1);
    int bits = 0;
    while ((std::size_t{1} << bits) < N) ++bits;
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const NTL::ZZ x = NTL::PowerMod(NTL::ZZ(psi), NTL::ZZ(2 * bit_reverse(i, bits) + 1), Q);
      NTL::ZZ acc(0), xp(1);
      for (std::size_t k = 0; k < N; ++k) {
        acc = (acc + NTL::ZZ(a[k]) * xp) % Q;
        xp = xp * x % Q;
      }
      wrong += acc != NTL::ZZ(out[i]);
    }
    MESSAGE("NTT N = " << N << ", q = " << q << ": " << wrong << " of " << N << " outputs differ from a(psi^(2brv(i)+1))");
    CHECK(wrong == 0);
  }
}

TEST_CASE("ckks/kat: RNS vectors agree with the CRT (NTL)") {
  const json c = load("rns.json")["cases"][0];
  const auto N = c["N"].get<std::size_t>();
  const auto C = c["C"].get<std::vector<std::uint64_t>>(), B = c["B"].get<std::vector<std::uint64_t>>();
  NTL::ZZ Q(1);
  for (auto q : C) Q *= q;
  for (std::size_t i = 0; i < N; ++i) {
    const NTL::ZZ x = NTL::conv<NTL::ZZ>(c["x"][i].get<std::string>().c_str());
    CHECK(2 * NTL::abs(x) <= Q);
    for (std::size_t k = 0; k < C.size(); ++k) CHECK(x % NTL::ZZ(C[k]) == NTL::ZZ(c["residues"][k][i].get<std::uint64_t>()));
    const long u = c["u"][i].get<long>();
    CHECK(std::labs(u) <= static_cast<long>(C.size()));
    for (std::size_t j = 0; j < B.size(); ++j) {
      const NTL::ZZ b(B[j]);
      CHECK((x + u * Q) % b == NTL::ZZ(c["fast"][j][i].get<std::uint64_t>()));
      CHECK(x % b == NTL::ZZ(c["exact"][j][i].get<std::uint64_t>()));
    }
  }
}

TEST_CASE("ckks/kat: encoding vectors equal the textbook scheme's direct O(N^2) encoding") {
  const json doc = load("encoding.json");
  for (const auto& c : doc["cases"]) {
    const auto N = c["N"].get<std::size_t>(), slots = c["slots"].get<std::size_t>();
    const double scale = c["scale"].get<double>();
    const auto z = complex_values(c["z"]);
    const auto m = c["coefficients"].get<std::vector<long long>>();
    REQUIRE(m.size() == N);
    if (slots == N / 2) {
      textbook::Params p;
      p.log_n = static_cast<int>(std::log2(N));
      p.log_q0 = 60;
      p.log_delta = 30;
      p.levels = 1;
      p.hamming_weight = 8;
      p.allow_insecure = true;
      const textbook::Scheme tb(p);
      const NTL::ZZX want = tb.encode(z, scale);
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < N; ++i) wrong += NTL::coeff(want, static_cast<long>(i)) != NTL::ZZ(m[i]);
      MESSAGE("encoding, " << slots << " slots: " << wrong << " of " << N << " coefficients differ from the textbook encoder");
      CHECK(wrong == 0);
    } else {
      // Sparse: m(X) = m'(X^g); every coefficient off the multiples of g is 0.
      const std::size_t g = N / (2 * slots);
      for (std::size_t i = 0; i < N; ++i)
        if (i % g != 0) CHECK(m[i] == 0);
    }
    // Decoding the integer coefficients at the documented roots gives back z (to the rounding error).
    CHECK(precision_bits(decode_at_roots(std::vector<long double>(m.begin(), m.end()), slots, scale), z) >= 24);
  }
}

// ‖u0 + u1·s − d·s²‖∞ of keyswitch.json's own u0, u1, d and secret: centred on limb 0 (the other
// limbs hold the same integer).
double keyswitch_error(const json& doc) {
  const ContextPtr ctx = context_for(doc["params"]);
  const int L = doc["level"].get<int>();
  const auto& bq = ctx->basis_q(L);
  math::RnsPoly e = poly_ntt(doc["u1"], bq, ctx->n()), ds2 = poly_ntt(doc["d"], bq, ctx->n());
  const math::RnsPoly u0 = poly_ntt(doc["u0"], bq, ctx->n());
  math::RnsPoly s = read_secret(ctx, doc["secret"]).s;
  s.truncate(static_cast<std::size_t>(L) + 1);
  math::mul_inplace(e, s, bq);
  math::add_inplace(e, u0, bq);
  math::mul_inplace(ds2, s, bq);
  math::mul_inplace(ds2, s, bq);
  math::sub_inplace(e, ds2, bq);
  math::from_ntt(e, bq);
  const std::uint64_t q0 = ctx->q(0).value();
  double worst = 0;
  for (std::size_t i = 0; i < ctx->n(); ++i) {
    const std::uint64_t v = e.limb(0)[i];
    worst = std::max(worst, static_cast<double>(v > q0 / 2 ? q0 - v : v));
  }
  return worst;
}

// Precision of multiply.json's `decoded` against its `expected`, in bits.
double multiply_file_bits(const json& doc) {
  return precision_bits(complex_values(doc["decoded"]), complex_values(doc["expected"]));
}

TEST_CASE("ckks/kat: key switching recomputed from the file's key and input, and decrypted with its secret") {
  const json doc = load("keyswitch.json");
  const ContextPtr ctx = context_for(doc["params"]);
  const int L = doc["level"].get<int>();
  const KeySwitchKey key = read_key(ctx, doc["key"]);
  const math::RnsPoly d = poly_ntt(doc["d"], ctx->basis_q(L), ctx->n());
  const auto [u0, u1] = key_switch(*ctx, d, L, key);
  CHECK(limbs_of(u0, ctx->basis_q(L)) == doc["u0"]);
  CHECK(limbs_of(u1, ctx->basis_q(L)) == doc["u1"]);
  const double worst = keyswitch_error(doc);
  MESSAGE("key-switching error ‖u0 + u1·s − d·s²‖∞ = " << worst);
  CHECK(worst < 1 << 12);
}

TEST_CASE("ckks/kat: multiply → relinearise → rescale recomputed step by step from the file") {
  const json doc = load("multiply.json");
  const ContextPtr ctx = context_for(doc["params"]);
  const Evaluator ev(ctx);
  const RelinKey rk{read_key(ctx, doc["relin_key"])};
  const Ciphertext c1 = read_ciphertext(ctx, doc["ct1"]), c2 = read_ciphertext(ctx, doc["ct2"]);
  const Ciphertext t = ev.multiply(c1, c2);
  CHECK(components_of(t) == doc["tensor"]["components"]);
  const Ciphertext r = ev.relinearize(t, rk);
  CHECK(components_of(r) == doc["relinearized"]["components"]);
  const Ciphertext out = ev.rescale(r);
  CHECK(components_of(out) == doc["rescaled"]["components"]);
  CHECK(out.level == doc["rescaled"]["level"].get<int>());
  CHECK(out.scale == doc["rescaled"]["scale"].get<double>());
  const SecretKey sk = read_secret(ctx, doc["secret"]);
  const auto decoded = Encoder(ctx).decode_complex(Decryptor(ctx, sk).decrypt(out));
  CHECK(precision_bits(decoded, complex_values(doc["decoded"])) >= 40);  // the same computation
  const double bits = precision_bits(decoded, complex_values(doc["expected"]));
  MESSAGE("multiply vector (N = 32, Δ = 2^30): " << bits << " bits against z1·z2");
  CHECK(bits >= 15);
  CHECK(multiply_file_bits(doc) == bits);  // the file's `decoded` is this decryption
}

// bootstrap.json: the stages' figures, rebuilt from the file's own integers (shared by the test of
// the stages and the test of docs/test-vectors.md's figures).
struct BootstrapFigures {
  long max_i = 0;                 // max |I| of ModRaise
  double cts_bits = 0, eval_mod_bits = 0;  // decoded against the definition, −log2 of the worst slot error
  double mean_bits = 0, worst_bits = 0;    // the output against z
  double cosine_error = 0;        // max |p(x) − cos(2π(K·x − 1/4)/2^r)| on 2001 points of [−1, 1]
};

std::vector<long double> long_doubles(const json& decimals) {
  std::vector<long double> out;
  for (const auto& d : decimals) out.push_back(std::stold(d.get<std::string>()));
  return out;
}

// The centred coefficients of a decryption as decimal strings (exact: every |coefficient| < 2^62 here).
json decimal_coefficients(const Encoder& enc, const Plaintext& pt) {
  json out = json::array();
  for (long double c : enc.coefficients(pt)) {
    REQUIRE(std::fabs(c) < 0x1p62L);
    out.push_back(std::to_string(static_cast<long long>(c)));
  }
  return out;
}

// −log2 of the worst slot error relative to the largest |want| (at least 1).
double relative_bits(const std::vector<cplx>& got, const std::vector<cplx>& want) {
  double top = 1;
  for (const cplx& w : want) top = std::max(top, std::abs(w));
  return precision_bits(got, want) + std::log2(top);
}

// Every stage of bootstrap.json from its own integers: the input decrypts (file's secret) to its
// coefficients; ModRaise recomputed over the integers; each stage's `expected` recomputed from the
// exact t; each stage's coefficients decode to its `decoded`; the output ciphertext decrypts to its
// coefficients; the levels follow the plan.
BootstrapFigures check_bootstrap_file(const json& doc) {
  BootstrapFigures f;
  const ContextPtr ctx = context_for(doc["params"], kat::bootstrap_vector_params());
  const json &cfg = doc["config"], &plan = doc["plan"];
  const std::size_t N = ctx->n(), n = cfg["slots"].get<std::size_t>(), gap = N / (2 * n);
  const double K = cfg["K"].get<double>();
  const auto secret = doc["secret"].get<std::vector<int>>();
  CHECK(static_cast<int>(std::count_if(secret.begin(), secret.end(), [](int v) { return v != 0; })) ==
        ctx->params().hamming_weight);
  const Encoder enc(ctx);
  const Decryptor dec(ctx, read_secret(ctx, doc["secret"]));

  // Input.
  const json& in = doc["input"];
  const Ciphertext ct = read_ciphertext(ctx, in["ciphertext"]);
  CHECK(ct.level == 0);
  CHECK(decimal_coefficients(enc, dec.decrypt(ct)) == in["coefficients"]);
  const auto z = complex_values(in["z"]);
  REQUIRE(z.size() == n);
  CHECK(precision_bits(complex_values(in["decoded"]), z) >= 25);

  // ModRaise over the integers: c_i' = centred [k·c_i]_{q_0}, t = c_0' + c_1'·s mod X^N + 1.
  const json& raise = doc["mod_raise"];
  const long k = cfg["scale_up"].get<long>();
  CHECK(raise["scale_up"].get<long>() == k);
  const NTL::ZZ q0(ctx->q(0).value());
  auto lift = [&](std::uint64_t x) {
    NTL::ZZ v = NTL::ZZ(x) * k % q0;
    if (2 * v > q0) v -= q0;
    return v;
  };
  const auto c0 = in["ciphertext"]["components"][0][0].get<std::vector<std::uint64_t>>();
  const auto c1 = in["ciphertext"]["components"][1][0].get<std::vector<std::uint64_t>>();
  std::vector<NTL::ZZ> t(N), c1_lifted(N);
  for (std::size_t i = 0; i < N; ++i) {
    t[i] = lift(c0[i]);
    c1_lifted[i] = lift(c1[i]);
  }
  for (std::size_t j = 0; j < N; ++j)
    if (secret[j] != 0)
      for (std::size_t i = 0; i < N; ++i) {
        const bool wraps = i + j >= N;  // X^N = −1
        const NTL::ZZ term = secret[j] * c1_lifted[i];
        if (wraps) t[i + j - N] -= term;
        else t[i + j] += term;
      }
  std::size_t wrong_t = 0, wrong_i = 0;
  const auto m = long_doubles(in["coefficients"]);
  for (std::size_t i = 0; i < N; ++i) {
    wrong_t += t[i] != NTL::conv<NTL::ZZ>(raise["coefficients"][i].get<std::string>().c_str());
    NTL::ZZ I, r;
    NTL::DivRem(I, r, t[i] - k * NTL::conv<NTL::ZZ>(in["coefficients"][i].get<std::string>().c_str()), q0);
    if (2 * r > q0) {  // DivRem floors; I is the nearest integer (the remainder is 0 when ModRaise is exact)
      r -= q0;
      I += 1;
    }
    wrong_i += !NTL::IsZero(r) || NTL::conv<long>(I) != raise["I"][i].get<long>();
    f.max_i = std::max(f.max_i, std::labs(NTL::conv<long>(I)));
  }
  CHECK(wrong_t == 0);
  CHECK(wrong_i == 0);
  CHECK(static_cast<double>(f.max_i) < K);
  CHECK(raise["level"] == plan["top_level"]);
  CHECK(raise["scale"].get<double>() == cfg["input_scale"].get<double>() * static_cast<double>(k));
  CHECK(m.size() == N);

  // Each stage's coefficients decode to its `decoded`.
  for (const char* name : {"input", "mod_raise", "coeffs_to_slots", "eval_mod", "slots_to_coeffs"}) {
    CAPTURE(name);
    const json& st = doc[name];
    const auto decoded = complex_values(st["decoded"]);
    REQUIRE(decoded.size() == st["slots"].get<std::size_t>());
    CHECK(relative_bits(decode_at_roots(long_doubles(st["coefficients"]), decoded.size(), st["scale"].get<double>()),
                        decoded) >= 40);
  }

  // CoeffsToSlots: slot j holds t[brv(j)·g]/(q_0·K), slot n + j holds t[(brv(j) + n)·g]/(q_0·K).
  // EvalMod: sin(2π·[t]_{q_0}/q_0) of the same coefficients.
  std::vector<cplx> want_x(2 * n), want_y(2 * n);
  const int log_n = std::countr_zero(n);
  const double q0d = NTL::conv<double>(q0);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t half : {std::size_t{0}, n}) {
      const NTL::ZZ& tk = t[(bit_reverse(j, log_n) + half) * gap];
      NTL::ZZ r = tk % q0;
      if (2 * r > q0) r -= q0;
      want_x[half + j] = NTL::conv<double>(tk) / (q0d * K);
      want_y[half + j] = std::sin(2 * std::numbers::pi * NTL::conv<double>(r) / q0d);
    }
  const json &cts = doc["coeffs_to_slots"], &mod = doc["eval_mod"], &stc = doc["slots_to_coeffs"];
  CHECK(precision_bits(complex_values(cts["expected"]), want_x) >= 40);
  CHECK(precision_bits(complex_values(mod["expected"]), want_y) >= 40);
  f.cts_bits = precision_bits(complex_values(cts["decoded"]), want_x);
  f.eval_mod_bits = precision_bits(complex_values(mod["decoded"]), want_y);
  CHECK(cts["level"].get<int>() == plan["top_level"].get<int>() - plan["cts_levels"].get<int>());
  CHECK(mod["level"].get<int>() == cts["level"].get<int>() - plan["eval_mod_levels"].get<int>());
  CHECK(stc["level"] == plan["output_level"]);
  CHECK(cts["slots"].get<std::size_t>() == 2 * n);

  // SlotsToCoeffs: the output ciphertext decrypts to the file's coefficients; its slots against z.
  const Ciphertext out = read_ciphertext(ctx, stc["ciphertext"]);
  CHECK(out.level == stc["level"].get<int>());
  CHECK(out.scale == cfg["output_scale"].get<double>());
  CHECK(decimal_coefficients(enc, dec.decrypt(out)) == stc["coefficients"]);
  CHECK(complex_values(stc["expected"]) == z);
  const auto got = complex_values(stc["decoded"]);
  f.worst_bits = precision_bits(got, z);
  f.mean_bits = kat::mean_bits(got, z);
  CHECK(stc["worst_bits"].get<double>() == f.worst_bits);
  CHECK(stc["mean_bits"].get<double>() == f.mean_bits);

  // The cosine's Chebyshev coefficients interpolate cos(2π(K·x − 1/4)/2^r) on [−1, 1].
  ChebyshevSeries p;
  p.a = doc["cosine"]["a"].get<double>();
  p.b = doc["cosine"]["b"].get<double>();
  p.coeffs = doc["cosine"]["coeffs"].get<std::vector<double>>();
  CHECK(p.degree() == cfg["cos_degree"].get<int>());
  const double two_r = std::ldexp(1.0, cfg["double_angle"].get<int>());
  for (int i = 0; i <= 2000; ++i) {
    const double x = -1 + i / 1000.0;
    f.cosine_error = std::max(f.cosine_error, std::fabs(p(x) - std::cos(2 * std::numbers::pi * (K * x - 0.25) / two_r)));
  }
  return f;
}

TEST_CASE("ckks/kat: bootstrap vector, every stage recomputed from the file's own integers") {
  const BootstrapFigures f = check_bootstrap_file(load("bootstrap.json"));
  MESSAGE("bootstrap vector: max |I| = " << f.max_i << "; CoeffsToSlots " << f.cts_bits << " bits, EvalMod "
                                         << f.eval_mod_bits << " bits against their definitions; output mean "
                                         << f.mean_bits << " bits, worst slot " << f.worst_bits
                                         << " bits; cosine interpolant error " << f.cosine_error);
  CHECK(f.cts_bits >= 40);
  CHECK(f.eval_mod_bits >= 30);
  CHECK(f.mean_bits >= 25);
  CHECK(f.worst_bits >= 20);
  CHECK(f.cosine_error < 0x1p-30);
}

// docs/test-vectors.md quotes figures of the committed files; each quoted phrase is rebuilt here
// from the files, so the document cannot drift from them.
std::string bits_of(std::uint64_t q) { return std::to_string(64 - __builtin_clzll(q)); }

std::string count_word(std::size_t n) {
  static const char* const words[] = {"zero", "one", "two", "three", "four", "five", "six"};
  return n < 7 ? words[n] : std::to_string(n);
}

std::string log2_string(double x) {
  const double l = std::log2(x);
  REQUIRE(l == std::floor(l));
  return "2^" + std::to_string(static_cast<int>(l));
}

TEST_CASE("ckks/kat: every figure docs/test-vectors.md quotes is what the committed files hold") {
  const std::string path = std::string(CKKS_VECTORS_DIR) + "/../../docs/test-vectors.md";
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  // The page's text with every run of white space (line breaks included) made one space.
  std::string text;
  for (char c : std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>())) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space) text += c;
    else if (!text.empty() && text.back() != ' ') text += ' ';
  }
  auto quotes = [&](const std::string& phrase) {
    CHECK_MESSAGE(text.find(phrase) != std::string::npos, "docs/test-vectors.md should say \"" << phrase << "\"");
  };

  for (const auto& name : kat::vector_file_names()) CHECK(load(name)["version"] == kat::kFormatVersion);
  quotes("## Format (version " + std::to_string(kat::kFormatVersion) + ")");
  quotes("| `version` | `" + std::to_string(kat::kFormatVersion) + "`;");

  const json ntt = load("ntt.json")["cases"];
  quotes("for (N, q) = (" + std::to_string(ntt[0]["N"].get<std::size_t>()) + ", a " +
         bits_of(ntt[0]["q"].get<std::uint64_t>()) + "-bit prime) and (" + std::to_string(ntt[1]["N"].get<std::size_t>()) +
         ", a " + bits_of(ntt[1]["q"].get<std::uint64_t>()) + "-bit prime)");

  const json rns = load("rns.json")["cases"][0];
  const auto C = rns["C"].get<std::vector<std::uint64_t>>(), B = rns["B"].get<std::vector<std::uint64_t>>();
  for (auto c : C) CHECK(bits_of(c) == bits_of(C[0]));
  for (auto b : B) CHECK(bits_of(b) == bits_of(B[0]));
  quotes("bases C (" + count_word(C.size()) + " " + bits_of(C[0]) + "-bit primes) and B (" + count_word(B.size()) + " " +
         bits_of(B[0]) + "-bit primes), N = " + std::to_string(rns["N"].get<std::size_t>()) + " integers");
  long max_u = 0;
  for (const auto& u : rns["u"]) max_u = std::max(max_u, std::labs(u.get<long>()));
  CHECK(max_u <= static_cast<long>(C.size() / 2 + 1));
  quotes("(|u| ≤ k/2 + 1 for k = " + std::to_string(C.size()) + "; " + std::to_string(max_u) + " in the committed file)");
  CHECK(rns["x"][0] == "0");
  CHECK(rns["x"][1] == "-1");
  for (std::size_t k = 0; k < C.size(); ++k) CHECK(rns["residues"][k][1].get<std::uint64_t>() == C[k] - 1);
  quotes("The first two integers are x = 0 and x = −1 (residues q − 1)");

  const json enc = load("encoding.json")["cases"];
  quotes("for N = " + std::to_string(enc[0]["N"].get<std::size_t>()) + " with " + std::to_string(enc[0]["slots"].get<std::size_t>()) +
         " slots (full) and " + std::to_string(enc[1]["slots"].get<std::size_t>()) + " slots (sparse)");
  CHECK(enc[0]["slots"].get<std::size_t>() * 2 == enc[0]["N"].get<std::size_t>());
  CHECK(enc[1]["N"] == enc[0]["N"]);

  const json ks = load("keyswitch.json");
  const json& kp = ks["params"];
  quotes("**tiny, insecure parameters on purpose** (N = " + std::to_string(kp["N"].get<std::size_t>()) + ")");
  const auto q = kp["q"].get<std::vector<std::uint64_t>>(), p = kp["p"].get<std::vector<std::uint64_t>>();
  std::string q_bits;
  for (auto qi : q) q_bits += (q_bits.empty() ? "" : ", ") + bits_of(qi);
  REQUIRE(p.size() == 1);
  quotes("(level L = " + std::to_string(ks["level"].get<int>()) + ", uniform)");
  quotes("N = " + std::to_string(kp["N"].get<std::size_t>()) + ", `q` (" + q_bits + " bits), `p` (one " + bits_of(p[0]) +
         "-bit special prime), `dnum` = " + std::to_string(kp["dnum"].get<std::size_t>()) + " (one prime per digit), scale " +
         log2_string(kp["scale"].get<double>()));
  CHECK(kp["dnum"].get<std::size_t>() == q.size());
  std::ostringstream e;
  e << "(‖e‖∞ = " << keyswitch_error(ks) << " in the committed file)";
  quotes(e.str());

  const json mul = load("multiply.json");
  CHECK(mul["params"] == kp);
  quotes("`z1`, `z2`: " + std::to_string(mul["z1"].size()) + " complex slots");
  quotes("their public-key encryptions at level " + std::to_string(mul["ct1"]["level"].get<int>()) + ", scale " +
         log2_string(mul["ct1"]["scale"].get<double>()));
  const double rescaled = mul["rescaled"]["scale"].get<double>();
  CHECK(rescaled == mul["relinearized"]["scale"].get<double>() / static_cast<double>(q.back()));
  quotes("(level " + std::to_string(mul["rescaled"]["level"].get<int>()) + ", scale " +
         log2_string(mul["relinearized"]["scale"].get<double>()) + "/q_" + std::to_string(q.size() - 1) + ")");
  std::ostringstream b;
  b.setf(std::ios::fixed);
  b.precision(1);
  b << "matches `expected` to " << multiply_file_bits(mul) << " bits";
  quotes(b.str());

  // bootstrap.json
  const json boot = load("bootstrap.json");
  const json &bp = boot["params"], &bc = boot["config"], &bplan = boot["plan"];
  const auto bq = bp["q"].get<std::vector<std::uint64_t>>(), bpp = bp["p"].get<std::vector<std::uint64_t>>();
  std::size_t tail = bq.size() - 1;  // the chain ends with a run of primes of one size: "then X bits"
  while (tail > 0 && bits_of(bq[tail - 1]) == bits_of(bq.back())) --tail;
  std::string chain;
  for (std::size_t i = 0; i < tail; ++i) chain += bits_of(bq[i]) + ", ";
  for (auto pj : bpp) CHECK(bits_of(pj) == bits_of(bpp[0]));
  quotes("N = " + std::to_string(bp["N"].get<std::size_t>()) + ", n = " + std::to_string(bc["slots"].get<std::size_t>()) +
         " sparse slots, " + std::to_string(bq.size()) + " primes q_0..q_" + std::to_string(bq.size() - 1) + " (" + chain +
         "then " + bits_of(bq.back()) + " bits), " + count_word(bpp.size()) + " " + bits_of(bpp[0]) +
         "-bit special primes, Δ = " + log2_string(bp["scale"].get<double>()) + ", a ternary secret of Hamming weight " +
         std::to_string(kat::bootstrap_vector_params().hamming_weight));
  CHECK(bp["secret"] == "ternary, Hamming weight " + std::to_string(kat::bootstrap_vector_params().hamming_weight));
  const auto bytes = std::filesystem::file_size(std::string(CKKS_VECTORS_DIR) + "/bootstrap.json");
  quotes("the file is " + std::to_string((bytes + 500) / 1000) + " kB");
  const int arcsine = bc["arcsine_degree"].get<int>();
  std::ostringstream cfg;
  cfg << "K = " << bc["K"].get<double>() << ", cosine of degree " << bc["cos_degree"].get<int>() << ", r = "
      << bc["double_angle"].get<int>() << " double angles, "
      << (arcsine ? "arcsine correction of degree " + std::to_string(arcsine) : std::string("no arcsine correction"))
      << ", scale_up = " << bc["scale_up"].get<long>();
  quotes(cfg.str());
  const json& seeds = boot["seeds"];
  quotes("the seeds are " + std::to_string(seeds["keys"].get<long>()) + " (keys), " +
         std::to_string(seeds["encryption"].get<long>()) + " (encryption), " + std::to_string(seeds["data"].get<long>()) +
         " (data)");
  quotes(std::to_string(boot["input"]["level"].get<int>()) + " → " + std::to_string(boot["mod_raise"]["level"].get<int>()) +
         " (ModRaise) → " + std::to_string(boot["coeffs_to_slots"]["level"].get<int>()) + " (CoeffsToSlots) → " +
         std::to_string(boot["eval_mod"]["level"].get<int>()) + " (EvalMod) → " +
         std::to_string(boot["slots_to_coeffs"]["level"].get<int>()) + " (SlotsToCoeffs)");
  CHECK(bplan["conjugation"].get<bool>());
  quotes("the bootstrap uses " + std::to_string(bplan["rotation_steps"].size()) + " rotation keys and the conjugation key");
  quotes("read modulo Q_" + std::to_string(bplan["top_level"].get<int>()));
  const BootstrapFigures bf = check_bootstrap_file(boot);
  quotes("(max |I| = " + std::to_string(bf.max_i) + " in the committed file, below K)");
  std::ostringstream fig;
  fig.setf(std::ios::fixed);
  fig.precision(1);
  fig << "CoeffsToSlots matches its definition to " << bf.cts_bits << " bits and EvalMod to " << bf.eval_mod_bits << " bits";
  quotes(fig.str());
  fig.str("");
  fig << "the output has mean " << bf.mean_bits << " bits, worst slot " << bf.worst_bits << " bits";
  quotes(fig.str());
}

}  // namespace
}  // namespace ckks::test

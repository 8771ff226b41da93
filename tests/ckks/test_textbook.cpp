// The textbook scheme (ckks/textbook/textbook.h): each step checked against its definition in
// [CKKS17], and the whole scheme used as a differential oracle of the RNS implementation.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ckks/fixtures.h"
#include "ckks/precision.h"
#include "ckks/textbook/textbook.h"

namespace ckks::test {
namespace {

using NTL::ZZ;
using NTL::ZZX;
namespace tb = ckks::textbook;

// N = 2^10, q_0 = 2^60, Δ = 2^40, L = 2, the paper's sparse secret HWT(64): INSECURE (log P·q_L =
// 280 bits), small enough for fast tests.
tb::Params small_insecure() {
  tb::Params p;
  p.log_n = 10;
  p.hamming_weight = 64;
  p.log_q0 = 60;
  p.log_delta = 40;
  p.levels = 2;
  p.allow_insecure = true;
  return p;
}

struct TextbookKit {
  tb::Scheme scheme;
  math::Csprng rng;
  tb::SecretKey sk;
  tb::PublicKey pk;
  tb::EvaluationKey evk;
  explicit TextbookKit(const tb::Params& p, std::uint64_t seed = 1)
      : scheme(p),
        rng(math::Csprng::insecure_fixed_seed_for_testing(seed)),
        sk(scheme.secret_key(rng)),
        pk(scheme.public_key(sk, rng)),
        evk(scheme.evaluation_key(sk, rng)) {}
  tb::Ciphertext encrypt(const cvec& z) {
    return scheme.encrypt(scheme.encode(z, scheme.delta()), scheme.delta(), pk, rng);
  }
  cvec decrypt(const tb::Ciphertext& c) { return scheme.decode(scheme.decrypt(c, sk), c.scale); }
};

ZZX sub(const ZZX& a, const ZZX& b) { return a - b; }

TEST_CASE("ckks/textbook: encode and decode are inverse up to the rounding error") {
  const tb::Scheme s(small_insecure());
  const cvec z = random_complex(s.slots(), 3);
  const double bits = precision_bits(s.decode(s.encode(z, s.delta()), s.delta()), z);
  MESSAGE("textbook encode/decode, N = 2^10, Δ = 2^40: " << bits << " bits");
  CHECK(bits >= 30);
  // Fewer values than slots: the rest decode to 0. A real vector gives a real polynomial whose
  // conjugate slots carry the conjugates, so decoding returns real values.
  const cvec few = {{1.5, 0}, {-2.25, 0}, {0.125, 0}};
  const cvec back = s.decode(s.encode(few, s.delta()), s.delta());
  cvec want(s.slots(), 0.0);
  for (std::size_t i = 0; i < few.size(); ++i) want[i] = few[i];
  CHECK(precision_bits(back, want) >= 30);
}

TEST_CASE("ckks/textbook: fresh encryption noise and decryption") {
  TextbookKit k(small_insecure());
  const cvec z = random_complex(k.scheme.slots(), 4);
  const ZZX m = k.scheme.encode(z, k.scheme.delta());
  const tb::Ciphertext c = k.scheme.encrypt(m, k.scheme.delta(), k.pk, k.rng);
  CHECK(c.level == 2);
  // Fresh noise e = v·e_pk + e_0 + e_1·s: a sum of about N/2 + 1 + h Gaussian terms per
  // coefficient; 8σ(√N + √h + 1) is a generous tail bound (≈ 5σ per standard deviation).
  const ZZX noise = sub(k.scheme.decrypt(c, k.sk), m);
  const double N = static_cast<double>(k.scheme.N()), h = k.scheme.params().hamming_weight, sigma = 3.2;
  const double log_noise = tb::Scheme::log2_norm(noise);
  MESSAGE("fresh noise ‖e‖∞ = 2^" << log_noise << " (bound 2^" << std::log2(8 * sigma * (std::sqrt(N) + std::sqrt(h) + 1)) << ")");
  CHECK(log_noise <= std::log2(8 * sigma * (std::sqrt(N) + std::sqrt(h) + 1)));
  CHECK(log_noise >= 1);  // there is noise: the encryption is randomised
  const double bits = precision_bits(k.decrypt(c), z);
  MESSAGE("fresh ciphertext: " << bits << " bits");
  CHECK(bits >= 25);
}

TEST_CASE("ckks/textbook: relinearisation adds only ⌊P⁻¹·d_2·e'⌉-sized noise, and Mult multiplies") {
  TextbookKit k(small_insecure());
  const cvec x = random_complex(k.scheme.slots(), 5), y = random_complex(k.scheme.slots(), 6);
  const tb::Ciphertext cx = k.encrypt(x), cy = k.encrypt(y);
  const tb::Ciphertext3 d = k.scheme.tensor(cx, cy);
  const tb::Ciphertext r = k.scheme.relinearize(d, k.evk);
  // Under (1, s, s²) and under (1, s) the two decrypt to the same Δ²·xy up to the key-switching
  // error P⁻¹·d_2·e' + rounding: with P = q_L ≥ q_ℓ it is at most about N·6σ + (1 + h)/2.
  const ZZX diff = sub(k.scheme.decrypt(r, k.sk), k.scheme.decrypt(d, k.sk));
  const double bound = std::log2(k.scheme.N() * 6 * 3.2 + (1 + k.scheme.params().hamming_weight) / 2.0);
  MESSAGE("relinearisation error 2^" << tb::Scheme::log2_norm(diff) << " (bound 2^" << bound << ")");
  CHECK(tb::Scheme::log2_norm(diff) <= bound);
  cvec want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[i] * y[i];
  CHECK(r.scale == k.scheme.delta() * k.scheme.delta());
  const double bits = precision_bits(k.decrypt(r), want);
  MESSAGE("Mult before rescaling: " << bits << " bits");
  CHECK(bits >= 24);
}

TEST_CASE("ckks/textbook: RS is rounding division by Δ: error ‖τ_0 + τ_1·s‖∞ ≤ (1 + h)/2") {
  TextbookKit k(small_insecure());
  const cvec x = random_complex(k.scheme.slots(), 7), y = random_complex(k.scheme.slots(), 8);
  const tb::Ciphertext prod = k.scheme.multiply(k.encrypt(x), k.encrypt(y), k.evk);
  const tb::Ciphertext rs = k.scheme.rescale(prod);
  CHECK(rs.level == 1);
  CHECK(rs.scale == k.scheme.delta());
  // Dec(RS(c)) − ⌊Dec(c)/Δ⌉ = τ_0 + τ_1·s with |τ_i| ≤ 1/2 coefficient-wise, so every coefficient is
  // at most 1/2 + h/2 (s has h non-zero ±1 coefficients). This is exact, not statistical.
  const ZZX before = k.scheme.decrypt(prod, k.sk), after = k.scheme.decrypt(rs, k.sk);
  const ZZ delta = ZZ(1) << k.scheme.params().log_delta;
  ZZ worst(0);
  for (long i = 0; i < static_cast<long>(k.scheme.N()); ++i) {
    ZZ b = coeff(before, i), q, r;
    // round(b / Δ), half away from zero
    DivRem(q, r, abs(b), delta);
    if (2 * r >= delta) q += 1;
    if (sign(b) < 0) q = -q;
    const ZZ e = abs(coeff(after, i) - q);
    if (e > worst) worst = e;
  }
  MESSAGE("rescale error ‖τ_0 + τ_1·s‖∞ = " << worst << " ≤ (1 + h)/2 = " << (1 + k.scheme.params().hamming_weight) / 2.0);
  CHECK(NTL::conv<double>(worst) <= (1 + k.scheme.params().hamming_weight) / 2.0);
  cvec want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[i] * y[i];
  CHECK(precision_bits(k.decrypt(rs), want) >= 24);
  // Two levels at once: RS_{2→0} divides by Δ².
  const tb::Ciphertext rs0 = k.scheme.rescale(k.encrypt(x), 0);
  CHECK(rs0.level == 0);
  CHECK(rs0.scale == 1.0 / k.scheme.delta());
}

TEST_CASE("ckks/textbook: differential oracle — the same circuit in the textbook and the RNS scheme") {
  // Circuit (Add, Mult, RS, two levels): u = RS((x + y)·z), v = RS(w·w), out = RS(u·v)
  // = (x + y)·z·w². Both decodings must match the exact result and each other within the noise.
  TextbookKit t(small_insecure());
  Params rp;
  rp.log_n = 10;
  rp.log_q = {60, 40, 40};
  rp.log_p = {60};
  rp.log_scale = 40;
  rp.allow_insecure = true;
  Kit r(rp, 9);
  const RelinKey rk = r.keygen.relin_key(r.sk);
  const std::size_t n = t.scheme.slots();
  const cvec x = random_complex(n, 10), y = random_complex(n, 11), z = random_complex(n, 12),
             w = random_complex(n, 13);
  cvec want(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = (x[i] + y[i]) * z[i] * w[i] * w[i];

  const tb::Scheme& S = t.scheme;
  const tb::Ciphertext tu = S.rescale(S.multiply(S.add(t.encrypt(x), t.encrypt(y)), t.encrypt(z), t.evk));
  const tb::Ciphertext tw = t.encrypt(w);
  const tb::Ciphertext tv = S.rescale(S.multiply(tw, tw, t.evk));
  const tb::Ciphertext tout = S.rescale(S.multiply(tu, tv, t.evk));
  CHECK(tout.level == 0);
  const cvec got_tb = t.decrypt(tout);

  const Evaluator& ev = r.evaluator;
  const Ciphertext ru = ev.rescale(ev.multiply_relin(ev.add(r.encrypt(x), r.encrypt(y)), r.encrypt(z), rk));
  const Ciphertext rw = r.encrypt(w);
  const Ciphertext rv = ev.rescale(ev.multiply_relin(rw, rw, rk));
  const cvec got_rns = r.decrypt(ev.rescale(ev.multiply_relin(ru, rv, rk)));

  const double b_tb = precision_bits(got_tb, want), b_rns = precision_bits(got_rns, want),
               b_both = precision_bits(got_tb, got_rns);
  MESSAGE("(x + y)·z·w² (2 levels, N = 2^10, Δ = 2^40): textbook " << b_tb << " bits, RNS " << b_rns
          << " bits, textbook vs RNS " << b_both << " bits");
  CHECK(b_tb >= 20);
  CHECK(b_rns >= 20);
  CHECK(b_both >= 20);
}

TEST_CASE("ckks/textbook: 128-bit parameters are accepted, weaker ones refused unless asked for") {
  tb::Params p;
  p.log_n = 13;
  p.log_q0 = 49;
  p.log_delta = 30;
  p.levels = 2;  // log2(P·q_L) = 2·(49 + 60) = 218 = the bound for N = 2^13
  {
    TextbookKit k(p, 21);
    CHECK(k.scheme.security_bits() == 128);
    CHECK(k.scheme.log_pq() == 218);
    // The whole pipeline at these secure parameters. Noise of ~2^8 per coefficient becomes ~2^8·√N
    // ≈ 2^14.5 per slot (the canonical embedding), so Δ = 2^30 leaves ~15 bits fresh and ~13 after
    // one product.
    const cvec x = random_complex(k.scheme.slots(), 22), y = random_complex(k.scheme.slots(), 23);
    cvec want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[i] * y[i];
    const double bits = precision_bits(k.decrypt(k.scheme.rescale(k.scheme.multiply(k.encrypt(x), k.encrypt(y), k.evk))), want);
    MESSAGE("N = 2^13, Δ = 2^30, 128-bit: Mult + RS " << bits << " bits");
    CHECK(bits >= 11);
  }
  p.levels = 3;
  try {
    tb::Scheme bad(p);
    FAIL("insecure parameters were accepted");
  } catch (const ParameterError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("278 bits exceeds 218 bits") != std::string::npos);
    CHECK(msg.find("allow_insecure") != std::string::npos);
  }
  p.allow_insecure = true;
  CHECK(tb::Scheme(p).security_bits() == 0);
  // The paper's sparse secret HWT(64) is outside the table: refused even within the modulus bound.
  p.levels = 2;
  p.allow_insecure = false;
  p.hamming_weight = 64;
  CHECK_THROWS_WITH_AS(tb::Scheme{p}, doctest::Contains("sparse secret HWT(64)"), ParameterError);
}

TEST_CASE("ckks/textbook: bad input gives clear errors") {
  TextbookKit k(small_insecure());
  tb::Params p = small_insecure();
  p.log_delta = 60;
  CHECK_THROWS_WITH_AS(tb::Scheme{p}, doctest::Contains("log_delta = 60 is outside 1..50"), ParameterError);
  p = small_insecure();
  p.hamming_weight = 5000;
  CHECK_THROWS_WITH_AS(tb::Scheme{p}, doctest::Contains("hamming_weight = 5000"), ParameterError);
  CHECK_THROWS_WITH_AS(k.scheme.encode(cvec(k.scheme.slots() + 1), k.scheme.delta()),
                       doctest::Contains("513 values but N/2 = 512"), InputError);
  CHECK_THROWS_WITH_AS(k.scheme.encode(cvec{{NAN, 0}}, k.scheme.delta()), doctest::Contains("slot 0 is NaN"), InputError);
  CHECK_THROWS_WITH_AS(k.scheme.encode(cvec{{1e30, 0}}, k.scheme.delta()), doctest::Contains("≥ 2^62"), InputError);
  const tb::Ciphertext a = k.encrypt(cvec{{1, 0}});
  const tb::Ciphertext a1 = k.scheme.rescale(a);
  CHECK_THROWS_WITH_AS(k.scheme.add(a, a1), doctest::Contains("levels differ (2 vs 1)"), LevelError);
  CHECK_THROWS_AS(k.scheme.tensor(a, a1), LevelError);
  tb::Ciphertext a_other_scale = a;
  a_other_scale.scale *= 2;
  CHECK_THROWS_AS(k.scheme.add(a, a_other_scale), ScaleError);
  const tb::Ciphertext a0 = k.scheme.rescale(a1);
  CHECK_THROWS_WITH_AS(k.scheme.rescale(a0), doctest::Contains("at level 0"), LevelError);
  CHECK_THROWS_AS(k.scheme.q(3), LevelError);
}

}  // namespace
}  // namespace ckks::test

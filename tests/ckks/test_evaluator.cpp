// Evaluator: every operation against the same computation on cleartext, the precision bars (bits
// of precision after encryption, multiplication and rotation at Δ = 2^40), and every error path.
#include <doctest/doctest.h>

#include <cmath>

#include "ckks/errors.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {
cvec zip(const cvec& a, const cvec& b, auto f) {
  cvec r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = f(a[i], b[i]);
  return r;
}
cvec rotated(const cvec& a, int k) {
  const int n = static_cast<int>(a.size());
  cvec r(a.size());
  for (int i = 0; i < n; ++i) r[i] = a[((i + k) % n + n) % n];
  return r;
}
}  // namespace

TEST_CASE("ckks/evaluator: precision at N = 2^14, scale 2^40 (≥ 24 bits after a product or a rotation)") {
  test::Kit k(test::precision_n14());
  auto rk = k.keygen.relin_key(k.sk);
  auto gk = k.keygen.galois_keys(k.sk, {1, -7});
  const cvec a = test::random_complex(k.ctx->max_slots(), 21), b = test::random_complex(k.ctx->max_slots(), 22);
  const auto ca = k.encrypt(a), cb = k.encrypt(b);

  const double fresh = precision_bits(k.decrypt(ca), a);
  const auto prod = k.evaluator.rescale(k.evaluator.multiply_relin(ca, cb, rk));
  const double mul = precision_bits(k.decrypt(prod), zip(a, b, std::multiplies<>()));
  const double rot = precision_bits(k.decrypt(k.evaluator.rotate(ca, 1, gk)), rotated(a, 1));
  const double rot7 = precision_bits(k.decrypt(k.evaluator.rotate(ca, -7, gk)), rotated(a, -7));
  MESSAGE("bits (worst slot of 8192): fresh " << fresh << ", mul+relin+rescale " << mul
                                              << ", rotate 1 " << rot << ", rotate -7 " << rot7);
  CHECK(fresh >= 25);
  CHECK(mul >= 24);
  CHECK(rot >= 24);
  CHECK(rot7 >= 24);
}

TEST_CASE("ckks/evaluator: SEAL's layout (set B, one special prime) for comparison") {
  test::Kit k(test::seal_like_b());
  auto rk = k.keygen.relin_key(k.sk);
  auto gk = k.keygen.galois_keys(k.sk, {1});
  const cvec a = test::random_complex(k.ctx->max_slots(), 31), b = test::random_complex(k.ctx->max_slots(), 32);
  const auto ca = k.encrypt(a), cb = k.encrypt(b);
  const double fresh = precision_bits(k.decrypt(ca), a);
  const double mul = precision_bits(k.decrypt(k.evaluator.rescale(k.evaluator.multiply_relin(ca, cb, rk))),
                                    zip(a, b, std::multiplies<>()));
  const double rot = precision_bits(k.decrypt(k.evaluator.rotate(ca, 1, gk)), rotated(a, 1));
  MESSAGE("set B bits (worst slot): fresh " << fresh << ", mul+relin+rescale " << mul << ", rotate " << rot);
  // With one 60-bit special prime and a 60-bit q_0 digit, key switching noise ≈ q_0·e/P is not
  // negligible: rotation loses ~2 bits against the two-special-prime set above.
  CHECK(fresh >= 25);
  CHECK(mul >= 24);
  CHECK(rot >= 22.5);
}

TEST_CASE("ckks/evaluator: every operation matches the cleartext computation") {
  test::Kit k(test::small_secure());
  auto& ev = k.evaluator;
  auto rk = k.keygen.relin_key(k.sk);
  const std::size_t n = k.ctx->max_slots();
  const cvec a = test::random_complex(n, 41), b = test::random_complex(n, 42);
  const auto ca = k.encrypt(a), cb = k.encrypt(b);
  const int L = k.ctx->max_level();
  const double D = k.ctx->default_scale();
  const Plaintext pb = k.encoder.encode(b, L, D);
  const double bar = 22;

  CHECK(precision_bits(k.decrypt(ev.add(ca, cb)), zip(a, b, std::plus<>())) > bar);
  CHECK(precision_bits(k.decrypt(ev.sub(ca, cb)), zip(a, b, std::minus<>())) > bar);
  CHECK(precision_bits(k.decrypt(ev.add(ca, pb)), zip(a, b, std::plus<>())) > bar);
  CHECK(precision_bits(k.decrypt(ev.sub(ca, pb)), zip(a, b, std::minus<>())) > bar);
  cvec neg(n), plus_c(n), minus_c(n), times_c(n), times_k(n), times_ci(n);
  const std::complex<double> c(0.625, -0.25);
  for (std::size_t i = 0; i < n; ++i) {
    neg[i] = -a[i];
    plus_c[i] = a[i] + c;
    minus_c[i] = a[i] - c;
    times_c[i] = a[i] * 1.75;
    times_ci[i] = a[i] * c;
    times_k[i] = a[i] * 3.0;
  }
  CHECK(precision_bits(k.decrypt(ev.negate(ca)), neg) > bar);
  CHECK(precision_bits(k.decrypt(ev.add_const(ca, c)), plus_c) > bar);
  CHECK(precision_bits(k.decrypt(ev.sub_const(ca, c)), minus_c) > bar);
  CHECK(precision_bits(k.decrypt(ev.multiply_integer(ca, 3)), times_k) > bar - 2);

  // multiply by a constant, at the default constant scale q_ℓ: rescale returns to exactly Δ.
  const auto mc = ev.rescale(ev.multiply_const(ca, 1.75));
  CHECK(mc.level == L - 1);
  CHECK(mc.scale == doctest::Approx(D).epsilon(1e-12));
  CHECK(precision_bits(k.decrypt(mc), times_c) > bar);
  CHECK(precision_bits(k.decrypt(ev.rescale(ev.multiply_const(ca, c))), times_ci) > bar);

  // plaintext product, ciphertext product, relinearisation, rescale
  const auto mp = ev.rescale(ev.multiply(ca, pb));
  CHECK(precision_bits(k.decrypt(mp), zip(a, b, std::multiplies<>())) > bar);
  const auto m3 = ev.multiply(ca, cb);
  CHECK(m3.size() == 3);
  CHECK(m3.scale == doctest::Approx(D * D));
  // A 3-component ciphertext decrypts directly under (1, s, s²). (Rescaling it first would multiply
  // c_2's rounding error by s², whose coefficients are ~√N: relinearise before rescaling.)
  CHECK(precision_bits(k.decrypt(m3), zip(a, b, std::multiplies<>())) > bar);
  const auto m2 = ev.relinearize(m3, rk);
  CHECK(m2.size() == 2);
  const auto r = ev.rescale(m2);
  CHECK(r.level == L - 1);
  CHECK(r.scale == doctest::Approx(D * D / static_cast<double>(k.ctx->q(L).value())));
  CHECK(precision_bits(k.decrypt(r), zip(a, b, std::multiplies<>())) > bar);

  // depth 2: (a·b)·a, with the second operand dropped to the product's level
  const auto r2 = ev.rescale(ev.multiply_relin(r, ev.drop_level(ca, r.level), rk));
  cvec aba(n);
  for (std::size_t i = 0; i < n; ++i) aba[i] = a[i] * b[i] * a[i];
  CHECK(r2.level == L - 2);
  CHECK(precision_bits(k.decrypt(r2), aba) > 20);

  // drop_level keeps the value and the scale
  const auto d0 = ev.drop_level(ca, 0);
  CHECK(d0.level == 0);
  CHECK(d0.scale == D);
  CHECK(precision_bits(k.decrypt(d0), a) > bar);
  const Plaintext pd = ev.drop_level(pb, 0);
  CHECK(precision_bits(k.encoder.decode_complex(pd), b) > 28);
}

TEST_CASE("ckks/evaluator: rescale rounds (it does not floor)") {
  // A trivial ciphertext (m, 0) with m = q_ℓ·t + r: rescale must give ⌊m/q_ℓ⌉ exactly.
  auto ctx = Context::create(test::small_secure());
  Evaluator ev(ctx);
  const int L = ctx->max_level();
  const std::int64_t ql = static_cast<std::int64_t>(ctx->q(L).value());
  std::vector<std::int64_t> m(ctx->n(), 0), want(ctx->n(), 0);
  const std::int64_t rs[] = {0, 1, ql / 2 - 1, ql / 2 + 1, -(ql / 2) + 1, -(ql / 2) - 1, ql - 1, -ql + 1};
  for (std::size_t i = 0; i < 8; ++i) {
    const std::int64_t t = static_cast<std::int64_t>(i) - 3;
    m[i] = t * ql + rs[i];
    want[i] = t + static_cast<std::int64_t>(std::llround(static_cast<double>(rs[i]) / static_cast<double>(ql)));
  }
  math::RnsPoly c0 = math::from_signed_coeffs(m, ctx->basis_q(L));
  math::to_ntt(c0, ctx->basis_q(L));
  Ciphertext ct{ctx, {c0, math::RnsPoly(ctx->n(), L + 1, true)}, L, 1.0, ctx->max_slots(), std::nullopt};
  auto r = ev.rescale(ct);
  math::from_ntt(r.c[0], ctx->basis_q(L - 1));
  for (std::size_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    CHECK(math::centre(r.c[0].limb(0)[i], ctx->q(0).value()) == want[i]);
    CHECK(math::centre(r.c[0].limb(1)[i], ctx->q(1).value()) == want[i]);
  }
}

TEST_CASE("ckks/evaluator: rotation by many steps and conjugation") {
  test::Kit k(test::small_secure());
  const std::vector<int> steps = {1, 2, 3, 5, 16, 100, 1000, 4095, -1, -2, -64, -4095};
  auto gk = k.keygen.galois_keys(k.sk, steps, true);
  const cvec a = test::random_complex(k.ctx->max_slots(), 51);
  const auto ca = k.encrypt(a);
  for (int s : steps) {
    CAPTURE(s);
    CHECK(precision_bits(k.decrypt(k.evaluator.rotate(ca, s, gk)), rotated(a, s)) > 21);
  }
  CHECK(precision_bits(k.decrypt(k.evaluator.rotate(ca, 0, gk)), a) > 21);  // identity, no key
  cvec conj(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) conj[i] = std::conj(a[i]);
  CHECK(precision_bits(k.decrypt(k.evaluator.conjugate(ca, gk)), conj) > 21);
  // rotations compose, also at a lower level
  const auto low = k.evaluator.drop_level(ca, 1);
  const auto twice = k.evaluator.rotate(k.evaluator.rotate(low, 3, gk), -1, gk);
  CHECK(precision_bits(k.decrypt(twice), rotated(a, 2)) > 20);
}

TEST_CASE("ckks/evaluator: sparse slots rotate within the slot count") {
  test::Kit k(test::small_secure());
  auto gk = k.keygen.galois_keys(k.sk, {1, 3});
  const cvec a = test::random_complex(16, 61);
  const auto ca = k.encryptor.encrypt(k.encoder.encode(a, 2, k.ctx->default_scale(), 16));
  CHECK(precision_bits(k.decrypt(k.evaluator.rotate(ca, 3, gk)), rotated(a, 3)) > 22);
}

TEST_CASE("ckks/evaluator: secret-key encryption decrypts with less noise") {
  test::Kit k(test::precision_n14());
  Encryptor sym(k.ctx, k.sk, math::Csprng::insecure_fixed_seed_for_testing(9));
  const cvec a = test::random_complex(k.ctx->max_slots(), 71);
  const auto ct = sym.encrypt(k.encoder.encode(a, 2, k.ctx->default_scale()));
  CHECK(ct.level == 2);
  CHECK(precision_bits(k.decrypt(ct), a) >= 28);
}

TEST_CASE("ckks/evaluator: key switching from another secret") {
  test::Kit k(test::small_secure());
  const SecretKey s2 = k.keygen.secret_key();
  const KeySwitchKey swk = k.keygen.switching_key(k.sk, s2.s);
  Encryptor under_s2(k.ctx, s2, math::Csprng::insecure_fixed_seed_for_testing(3));
  const cvec a = test::random_complex(k.ctx->max_slots(), 81);
  for (int level : {k.ctx->max_level(), 0}) {
    const auto ct = under_s2.encrypt(k.encoder.encode(a, level, k.ctx->default_scale()));
    // (c0, c1) under s2  →  (c0 + u0, u1) under s, with u0 + u1·s ≈ c1·s2.
    auto [u0, u1] = key_switch(*k.ctx, ct.c[1], level, swk);
    Ciphertext sw{k.ctx, {ct.c[0], u1}, level, ct.scale, ct.slots, std::nullopt, swk.key_id};
    math::add_inplace(sw.c[0], u0, k.ctx->basis_q(level));
    CHECK(precision_bits(k.decrypt(sw), a) > 22);
    // Without switching, s decrypts garbage: the Decryptor refuses the other key set's ciphertext,
    // and with the key-set id erased (as in a file written before ids) the result is noise.
    CHECK_THROWS_AS(k.decrypt(ct), KeyMismatchError);
    Ciphertext anonymous = ct;
    anonymous.key_id = 0;
    CHECK(precision_bits(k.decrypt(anonymous), a) < 2);
  }
}

TEST_CASE("ckks/evaluator: mismatched operands and exhausted levels throw clear errors") {
  test::Kit k(test::small_secure());
  auto& ev = k.evaluator;
  auto rk = k.keygen.relin_key(k.sk);
  auto gk = k.keygen.galois_keys(k.sk, {1});
  const cvec a = test::random_complex(16, 91);
  const auto ca = k.encrypt(a);
  const auto sq = ev.multiply_relin(ca, ca, rk);  // scale Δ²

  CHECK_THROWS_WITH_AS(ev.add(ca, sq), doctest::Contains("scales differ (2^40 vs 2^80)"), ScaleError);
  // Drift: x² rescaled has scale Δ²/q_2 ≈ Δ, not Δ; the message shows the digits and the exact fix.
  const auto sq_rs = ev.rescale(sq);
  CHECK_THROWS_WITH_AS(ev.add(sq_rs, ev.drop_level(ca, 1)), doctest::Contains("scales differ slightly (2^40.0"), ScaleError);
  CHECK_THROWS_WITH_AS(ev.add(sq_rs, ev.drop_level(ca, 1)), doctest::Contains("multiply_const(x, 1.0"), ScaleError);
  CHECK_THROWS_WITH_AS(ev.add(ca, ev.drop_level(ca, 1)), doctest::Contains("levels differ (2 vs 1)"), LevelError);
  CHECK_THROWS_WITH_AS(ev.add(ca, ev.drop_level(ca, 1)), doctest::Contains("drop_level"), LevelError);
  CHECK_THROWS_AS(ev.multiply(ca, ev.drop_level(ca, 0)), LevelError);
  CHECK_THROWS_WITH_AS(ev.multiply(ev.drop_level(sq, 0), ev.drop_level(sq, 0)),
                       doctest::Contains("rescale first or add primes"), ScaleError);
  CHECK_THROWS_WITH_AS(ev.multiply(ev.multiply(ca, ca), ca), doctest::Contains("relinearize"), InputError);
  CHECK_THROWS_AS(ev.relinearize(ca, rk), InputError);
  CHECK_THROWS_WITH_AS(ev.rescale(ev.drop_level(ca, 0)), doctest::Contains("level 0"), LevelError);
  CHECK_THROWS_WITH_AS(ev.rotate(ca, 2, gk), doctest::Contains("rotation by 2"), MissingKeyError);
  CHECK_THROWS_AS(ev.conjugate(ca, gk), MissingKeyError);
  CHECK_THROWS_AS(ev.drop_level(ca, 3), LevelError);
  CHECK_THROWS_AS(ev.add_const(ca, std::nan("")), InputError);
  // slot counts
  const auto sparse = k.encryptor.encrypt(k.encoder.encode(a, 2, k.ctx->default_scale(), 16));
  CHECK_THROWS_AS(ev.add(ca, sparse), InputError);
  // objects from another Context (same parameters, different instance)
  test::Kit other(test::small_secure(), 2);
  const auto foreign = other.encrypt(a);
  CHECK_THROWS_AS(ev.add(ca, foreign), ParameterError);
  CHECK_THROWS_AS(k.decryptor.decrypt(foreign), ParameterError);
  CHECK_THROWS_AS(ev.relinearize(ev.multiply(ca, ca), other.keygen.relin_key(other.sk)), ParameterError);
}

TEST_CASE("ckks/evaluator: hoisted rotations equal one-by-one rotations") {
  test::Kit k(test::small_secure());
  const std::vector<int> steps = {0, 1, 2, 3, -5, 100};
  auto gk = k.keygen.galois_keys(k.sk, steps);
  const cvec a = test::random_complex(k.ctx->max_slots(), 101);
  for (int level : {k.ctx->max_level(), 1}) {
    const auto ca = k.evaluator.drop_level(k.encrypt(a), level);
    const auto many = k.evaluator.rotate_hoisted(ca, steps, gk);
    REQUIRE(many.size() == steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      CAPTURE(steps[i]);
      CHECK(many[i].level == level);
      CHECK(precision_bits(k.decrypt(many[i]), rotated(a, steps[i])) > 21);
    }
  }
  CHECK_THROWS_AS(k.evaluator.rotate_hoisted(k.encrypt(a), {1, 7}, gk), MissingKeyError);
}

TEST_CASE("ckks/evaluator: real constants take the scalar path and agree with the polynomial path") {
  test::Kit k(test::small_secure());
  const cvec a = test::random_complex(k.ctx->max_slots(), 111);
  const auto ca = k.encrypt(a);
  cvec plus(a.size()), times(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    plus[i] = a[i] + 0.375;
    times[i] = a[i] * -2.5;
  }
  CHECK(precision_bits(k.decrypt(k.evaluator.add_const(ca, 0.375)), plus) > 22);
  CHECK(precision_bits(k.decrypt(k.evaluator.rescale(k.evaluator.multiply_const(ca, -2.5))), times) > 21);
  // the same constants through the complex (polynomial) path, with a zero-size imaginary nudge
  const auto via_poly = k.evaluator.rescale(k.evaluator.multiply_const(ca, {-2.5, 1e-300}));
  CHECK(precision_bits(k.decrypt(via_poly), times) > 21);
}

TEST_CASE("ckks/evaluator: multiply_sum equals the chain of multiply and add exactly") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const int level = k.ctx->max_level();
  // 70 terms: more than one 64-term chunk of the 128-bit accumulation.
  std::vector<Ciphertext> cts;
  std::vector<Plaintext> pts;
  for (std::size_t t = 0; t < 70; ++t) {
    cts.push_back(k.encrypt(test::random_complex(S, 200 + t), level));
    pts.push_back(k.encoder.encode(test::random_complex(S, 300 + t), level, k.ctx->default_scale()));
  }
  std::vector<const Ciphertext*> a;
  std::vector<const Plaintext*> b;
  for (std::size_t t = 0; t < cts.size(); ++t) {
    a.push_back(&cts[t]);
    b.push_back(&pts[t]);
  }
  Ciphertext chain = k.evaluator.multiply(cts[0], pts[0]);
  for (std::size_t t = 1; t < cts.size(); ++t) chain = k.evaluator.add(chain, k.evaluator.multiply(cts[t], pts[t]));
  const Ciphertext sum = k.evaluator.multiply_sum(a, b);
  CHECK(sum.level == chain.level);
  CHECK(sum.scale == chain.scale);
  CHECK(sum.slots == chain.slots);
  CHECK(sum.key_id == chain.key_id);
  REQUIRE(sum.size() == 2);
  for (std::size_t c = 0; c < 2; ++c) CHECK(sum.c[c].data() == chain.c[c].data());

  // Errors: empty or unequal lists, a level mismatch, a 3-component ciphertext, unequal product scales.
  CHECK_THROWS_AS(k.evaluator.multiply_sum(std::span<const Ciphertext* const>{}, std::span<const Plaintext* const>{}), InputError);
  CHECK_THROWS_AS(k.evaluator.multiply_sum(std::span(a).first(2), std::span(b).first(1)), InputError);
  const Ciphertext low = k.evaluator.drop_level(cts[1], level - 1);
  const std::vector<const Ciphertext*> mixed_level = {&cts[0], &low};
  CHECK_THROWS_AS(k.evaluator.multiply_sum(mixed_level, std::span(b).first(2)), LevelError);
  const Ciphertext three = k.evaluator.multiply(cts[0], cts[1]);
  const std::vector<const Ciphertext*> with_three = {&three};
  CHECK_THROWS_AS(k.evaluator.multiply_sum(with_three, std::span(b).first(1)), InputError);
  const Plaintext other_scale = k.encoder.encode(test::random_complex(S, 400), level, 2 * k.ctx->default_scale());
  const std::vector<const Plaintext*> mixed_scale = {&pts[0], &other_scale};
  CHECK_THROWS_AS(k.evaluator.multiply_sum(std::span(a).first(2), mixed_scale), ScaleError);
}

TEST_CASE("ckks/evaluator: add_inplace equals add bit for bit, and throws add's errors before a changes") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const int level = k.ctx->max_level();
  const Ciphertext x = k.encrypt(test::random_complex(S, 11), level);
  const Ciphertext y = k.encrypt(test::random_complex(S, 12), level);
  const Ciphertext xy = k.evaluator.multiply(x, y);  // 3 components
  const auto same = [](const Ciphertext& u, const Ciphertext& v) {
    REQUIRE(u.size() == v.size());
    CHECK(u.level == v.level);
    CHECK(u.scale == v.scale);
    CHECK(u.slots == v.slots);
    CHECK(u.key_id == v.key_id);
    for (std::size_t c = 0; c < u.size(); ++c) CHECK(u.c[c].data() == v.c[c].data());
  };
  Ciphertext acc = x;
  k.evaluator.add_inplace(acc, y);
  same(acc, k.evaluator.add(x, y));
  // b with more components than a (both at scale Δ²): the sum has three; and the other way round.
  const Ciphertext xp =
      k.evaluator.multiply(x, k.encoder.encode(test::random_complex(S, 13), level, k.ctx->default_scale()));
  Ciphertext grow = xp;
  k.evaluator.add_inplace(grow, xy);
  same(grow, k.evaluator.add(xp, xy));
  Ciphertext three = xy;
  k.evaluator.add_inplace(three, xp);
  same(three, k.evaluator.add(xy, xp));
  Ciphertext self = x;
  k.evaluator.add_inplace(self, self);
  same(self, k.evaluator.add(x, x));
  // A level mismatch throws as add does, and leaves a as it was.
  Ciphertext keep = x;
  CHECK_THROWS_AS(k.evaluator.add_inplace(keep, k.evaluator.drop_level(y, level - 1)), LevelError);
  same(keep, x);
}

TEST_CASE("ckks/evaluator: constants scaled beyond 2^62 are encoded exactly (up to Q_ℓ/2)") {
  // Set A's Q_2 has about 160 bits, so a constant at scale Δ·2^30 = 2^70 (after multiply_const by
  // 2^30) is valid: residue_of_rounded goes through m·2^e rather than int64.
  test::Kit k(test::small_secure());
  const cvec a = test::random_complex(k.ctx->max_slots(), 121);
  const auto ca = k.encrypt(a);
  for (double const_scale : {0x1p30, 0x1p40}) {
    CAPTURE(const_scale);
    const auto prod = k.evaluator.multiply_const(ca, 0.75, const_scale);  // scale Δ·const_scale ≥ 2^70
    REQUIRE(prod.scale == ca.scale * const_scale);
    cvec want(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) want[i] = 0.75 * a[i];
    CHECK(precision_bits(k.decrypt(prod), want) > 21);
    // add_const at that scale: the constant 1.5 − 0.5i times 2^70 or 2^80 is encoded exactly.
    const auto plus = k.evaluator.add_const(prod, {1.5, -0.5});
    const auto plus_real = k.evaluator.add_const(prod, 1.5);
    cvec want_plus = want, want_real = want;
    for (std::size_t i = 0; i < a.size(); ++i) {
      want_plus[i] += std::complex<double>(1.5, -0.5);
      want_real[i] += 1.5;
    }
    CHECK(precision_bits(k.decrypt(plus), want_plus) > 21);
    CHECK(precision_bits(k.decrypt(plus_real), want_real) > 21);
  }
  // Beyond Q_ℓ/2 the constant is refused, naming the headroom.
  CHECK_THROWS_WITH_AS(k.evaluator.add_const(ca, std::ldexp(1.0, 400)), doctest::Contains("headroom"), ScaleError);
}

TEST_CASE("ckks/evaluator: linear_combination equals the chain of drop_level, multiply_const and add exactly") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const int top = k.ctx->max_level();
  // Terms at different levels and scales (as the Chebyshev T_i of a polynomial evaluation are).
  const auto a0 = k.encrypt(test::random_complex(S, 501), top);
  const auto a1 = k.evaluator.rescale(k.evaluator.multiply_const(k.encrypt(test::random_complex(S, 502), top), 0.5));
  const auto a2 = k.encrypt(test::random_complex(S, 503), top - 1, 0x1p35);
  const std::vector<const Ciphertext*> a = {&a0, &a1, &a2};
  const std::vector<double> c = {0.25, -1.75, 3.0};
  const int level = top - 1;
  const double scale = k.ctx->default_scale() * static_cast<double>(k.ctx->q(level).value());
  Ciphertext chain;
  for (std::size_t t = 0; t < a.size(); ++t) {
    const auto term = k.evaluator.multiply_const(k.evaluator.drop_level(*a[t], level), c[t], scale / a[t]->scale);
    chain = t == 0 ? term : k.evaluator.add(chain, term);
  }
  const Ciphertext lc = k.evaluator.linear_combination(a, c, level, scale);
  CHECK(lc.level == level);
  CHECK(lc.scale == scale);
  CHECK(lc.key_id == chain.key_id);
  REQUIRE(lc.size() == 2);
  for (std::size_t j = 0; j < 2; ++j) CHECK(lc.c[j].data() == chain.c[j].data());
  // and it decrypts to the combination
  const cvec z0 = test::random_complex(S, 501), z1 = test::random_complex(S, 502), z2 = test::random_complex(S, 503);
  cvec want(S);
  for (std::size_t i = 0; i < S; ++i) want[i] = 0.25 * z0[i] - 1.75 * 0.5 * z1[i] + 3.0 * z2[i];
  CHECK(precision_bits(k.decrypt(k.evaluator.rescale(lc)), want) > 18);

  // Errors: lists, a term below the level, a 3-component term, a scale below a term's, NaN.
  CHECK_THROWS_AS(k.evaluator.linear_combination({}, {}, level, scale), InputError);
  CHECK_THROWS_AS(k.evaluator.linear_combination(a, std::span(c).first(2), level, scale), InputError);
  CHECK_THROWS_AS(k.evaluator.linear_combination(a, c, top, scale), LevelError);
  CHECK_THROWS_AS(k.evaluator.linear_combination(a, c, -1, scale), LevelError);
  const auto three = k.evaluator.multiply(a0, a0);
  const std::vector<const Ciphertext*> with_three = {&three};
  CHECK_THROWS_AS(k.evaluator.linear_combination(with_three, std::span(c).first(1), level, scale), InputError);
  CHECK_THROWS_AS(k.evaluator.linear_combination(a, c, level, 1.0), ScaleError);
  const std::vector<double> nan = {0.25, std::nan(""), 3.0};
  CHECK_THROWS_AS(k.evaluator.linear_combination(a, nan, level, scale), InputError);
}

// Evaluator::rotate_sum (double hoisting, ckks/keyswitch.h rotate_sum_hoisted) against the chain it
// replaces, Σ multiply(rotate(a, k_t), pt_t), and against the exact slot values; extend_plaintext's
// special-prime residues against the plaintext's integer coefficients; Evaluator::sum_rotations
// (one ModDown for rotations of several ciphertexts) against rotate and add; every error of both;
// 1 vs 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ckks/fixtures.h"
#include "ckks/threads.h"

namespace ckks::test {
namespace {

// N = 2^11, q {60, 40, 40, 40, 40}, p {60, 60}, dnum 3 (α = 2, the last digit shorter): several
// digits and special primes, so ModUp, the key inner products and the one ModDown run over several
// limbs. INSECURE (log QP ≈ 340 bits at N = 2^11), for speed.
Params rotate_sum_params() {
  Params p = tiny_insecure();  // INSECURE, Δ and primes below
  p.log_n = 11;
  p.log_q = {60, 40, 40, 40, 40};
  p.log_p = {60, 60};
  p.log_scale = 40;
  return p;
}

// Steps with a zero step, a repeated step and negative ones: every kind of term.
const std::vector<int> kSteps = {0, 1, 5, -3, 7, 1, -16};
// The plaintext scale. With Δ = 2^40 the product scale 2^60 exceeds Q_0/2 = 2^59, so level 0 runs
// with ciphertext scale 2^30 (see the level loop).
constexpr double kPtScale = 0x1p20;

// Slot j of rot(z, k): z[(j + k) mod n].
std::complex<double> rotated(const cvec& z, int k, std::size_t j) {
  const auto n = static_cast<long>(z.size());
  return z[static_cast<std::size_t>(((static_cast<long>(j) + k) % n + n) % n)];
}

struct Setup {
  Kit kit{rotate_sum_params(), 3};
  GaloisKeys gk = kit.keygen.galois_keys(kit.sk, kSteps);
  std::size_t n = kit.ctx->max_slots();
  cvec z = random_complex(n, 21);
  std::vector<cvec> w;  // one weight vector per step
  Setup() {
    for (std::size_t t = 0; t < kSteps.size(); ++t) w.push_back(random_complex(n, 100 + t));
  }
  // The exact slots of Σ_t w_t ⊙ rot(z, k_t) for the weights the plaintexts pts hold (their decoded
  // values, so that the plaintexts' own rounding at Δ_pt = 2^20 is not counted as error); w_t = 1
  // without plaintexts.
  cvec expected(const std::vector<Plaintext>* pts) const {
    cvec e(n);
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      const cvec wt = pts ? kit.encoder.decode_complex((*pts)[t]) : cvec(n, 1.0);
      for (std::size_t j = 0; j < n; ++j) e[j] += wt[j] * rotated(z, kSteps[t], j);
    }
    return e;
  }
  std::vector<Plaintext> encode_weights(int level) const {
    std::vector<Plaintext> pts;
    for (const auto& v : w) pts.push_back(kit.encoder.encode(v, level, kPtScale));
    return pts;
  }
};

std::vector<const Plaintext*> pointers(const std::vector<Plaintext>& v) {
  std::vector<const Plaintext*> p;
  for (const auto& x : v) p.push_back(&x);
  return p;
}

// The chain rotate_sum replaces: Σ multiply(rotate(a, k_t), pt_t) (or Σ rotate(a, k_t)).
Ciphertext chain(const Evaluator& ev, const Ciphertext& a, const std::vector<Plaintext>* pts, const GaloisKeys& gk) {
  std::optional<Ciphertext> acc;
  for (std::size_t t = 0; t < kSteps.size(); ++t) {
    Ciphertext r = ev.rotate(a, kSteps[t], gk);
    if (pts) r = ev.multiply(r, (*pts)[t]);
    acc = acc ? ev.add(*acc, r) : r;
  }
  return *acc;
}

TEST_CASE("ckks/rotate_sum: Σ pt_t ⊙ rot(a, k_t) by double hoisting matches the rotate-multiply-add chain at "
          "levels 4, 2, 1 and 0, and is at least as precise") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  for (int level : {4, 2, 1, 0}) {
    CAPTURE(level);
    // At level 0 (Q_0 = 2^60) the product scale Δ·2^20 must stay below 2^59: Δ = 2^30 there.
    const double scale = level == 0 ? 0x1p30 : 0x1p40;
    const Ciphertext a = s.kit.encrypt(s.z, level, scale);
    const auto pts = s.encode_weights(level);
    const auto ptrs = pointers(pts);
    const cvec want = s.expected(&pts);
    const Ciphertext got = ev.rotate_sum(a, kSteps, ptrs, s.gk);
    const Ciphertext ref = chain(ev, a, &pts, s.gk);
    CHECK(got.level == level);
    CHECK(got.scale == doctest::Approx(ref.scale).epsilon(1e-12));
    const cvec g = s.kit.decrypt(got), r = s.kit.decrypt(ref);
    const double bits_got = precision_bits(g, want), bits_ref = precision_bits(r, want);
    MESSAGE("level ", level, ": rotate_sum ", bits_got, " bits, chain ", bits_ref, " bits, agreement ",
            precision_bits(g, r), " bits");
    // Measured (N = 2^11, seed 3, 2026-12-06): rotate_sum 28.38 / 27.56 / 28.42 bits at levels
    // 4 / 2 / 1 (Δ = 2^40) and 18.43 at level 0 (Δ = 2^30), the chain 27.86 / 27.14 / 27.65 / 17.65:
    // one ModDown rounding instead of one per term multiplied by pt_t gains 0.4–0.8 bits. The two
    // agree to 28.06 / 28.06 / 28.30 / 17.99 bits. Bounds: ~1.5 bits below the measured figures.
    CHECK(bits_got >= bits_ref - 0.5);
    CHECK(bits_got >= (level == 0 ? 16.5 : 26.0));
    CHECK(precision_bits(g, r) >= (level == 0 ? 16.5 : 26.0));
  }
}

TEST_CASE("ckks/rotate_sum: without plaintexts, Σ rot(a, k_t) with one ModUp and one ModDown") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const cvec want = s.expected(nullptr);
  for (int level : {4, 1}) {
    CAPTURE(level);
    const Ciphertext a = s.kit.encrypt(s.z, level);
    const Ciphertext got = ev.rotate_sum(a, kSteps, s.gk);
    const Ciphertext ref = chain(ev, a, nullptr, s.gk);
    CHECK(got.scale == a.scale);
    CHECK(got.level == level);
    const cvec g = s.kit.decrypt(got), r = s.kit.decrypt(ref);
    MESSAGE("level ", level, ": rotate_sum ", precision_bits(g, want), " bits, chain ", precision_bits(r, want),
            " bits");
    // Measured: 27.70 / 27.55 bits at levels 4 / 1, the chain 27.19 / 27.31.
    CHECK(precision_bits(g, want) >= precision_bits(r, want) - 0.5);
    CHECK(precision_bits(g, want) >= 26.0);
  }
}

TEST_CASE("ckks/rotate_sum: rotate_sums shares one decomposition among several sums, each equal to rotate_sum bit for bit") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const std::vector<std::vector<int>> groups = {{0, 1, 5}, {-3, 7}, {0}, {1, -16, 1}};
  for (int level : {4, 1}) {
    CAPTURE(level);
    const Ciphertext a = s.kit.encrypt(s.z, level);
    const std::vector<Ciphertext> got = ev.rotate_sums(a, groups, s.gk);
    REQUIRE(got.size() == groups.size());
    for (std::size_t G = 0; G < groups.size(); ++G) {
      CAPTURE(G);
      const Ciphertext ref = ev.rotate_sum(a, groups[G], s.gk);
      CHECK(got[G].level == ref.level);
      CHECK(got[G].scale == ref.scale);
      CHECK(got[G].c[0] == ref.c[0]);
      CHECK(got[G].c[1] == ref.c[1]);
    }
  }
  const Ciphertext a = s.kit.encrypt(s.z, 2);
  CHECK_THROWS_AS(ev.rotate_sums(a, {}, s.gk), InputError);
  CHECK_THROWS_AS(ev.rotate_sums(a, {{1}, {}}, s.gk), InputError);
  CHECK_THROWS_AS(ev.rotate_sums(a, {{1}, {2}}, s.gk), MissingKeyError);  // no key for 2
}

TEST_CASE("ckks/rotate_sum: only zero steps equals multiply_sum exactly; extended plaintexts give the same "
          "ciphertext as plaintexts") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const Ciphertext a = s.kit.encrypt(s.z, 3);
  const auto pts = s.encode_weights(3);
  const std::vector<int> zeros = {0, 0, 0};
  const std::vector<const Plaintext*> three = {&pts[0], &pts[1], &pts[2]};
  const std::vector<const Ciphertext*> as = {&a, &a, &a};
  const Ciphertext got = ev.rotate_sum(a, zeros, three, s.gk);
  const Ciphertext ref = ev.multiply_sum(as, three);
  CHECK(got.c[0] == ref.c[0]);
  CHECK(got.c[1] == ref.c[1]);
  CHECK(got.scale == ref.scale);

  std::vector<ExtendedPlaintext> ext;
  for (const auto& p : pts) ext.push_back(ev.extend_plaintext(p));
  std::vector<const ExtendedPlaintext*> eptr;
  for (const auto& e : ext) eptr.push_back(&e);
  const Ciphertext from_ext = ev.rotate_sum(a, kSteps, eptr, s.gk);
  const Ciphertext from_pt = ev.rotate_sum(a, kSteps, pointers(pts), s.gk);
  CHECK(from_ext.c[0] == from_pt.c[0]);
  CHECK(from_ext.c[1] == from_pt.c[1]);
}

TEST_CASE("ckks/rotate_sum: extend_plaintext appends the exact residues of the integer coefficients modulo "
          "every special prime") {
  Setup s;
  const Context& ctx = *s.kit.ctx;
  for (int level : {4, 0}) {
    CAPTURE(level);
    const Plaintext pt = s.kit.encoder.encode(s.w[0], level, 0x1p40);
    const ExtendedPlaintext e = s.kit.evaluator.extend_plaintext(pt);
    const std::size_t nq = static_cast<std::size_t>(level) + 1, N = ctx.n();
    REQUIRE(e.poly.limbs() == nq + ctx.num_special());
    CHECK(e.level == level);
    CHECK(e.scale == pt.scale);
    for (std::size_t i = 0; i < nq; ++i)
      CHECK(std::equal(pt.poly.limb(i), pt.poly.limb(i) + N, e.poly.limb(i)));
    // Coefficients at Δ = 2^40 with |z| ≤ √2 are below 2^64: exact in a long double.
    const auto m = s.kit.encoder.coefficients(pt);
    math::RnsPoly p_part(N, ctx.num_special(), true);
    for (std::size_t j = 0; j < ctx.num_special(); ++j)
      std::copy(e.poly.limb(nq + j), e.poly.limb(nq + j) + N, p_part.limb(j));
    math::from_ntt(p_part, ctx.basis_p());
    std::size_t wrong = 0;
    for (std::size_t j = 0; j < ctx.num_special(); ++j) {
      const std::uint64_t p = ctx.basis_p()[j]->value();
      for (std::size_t c = 0; c < N; ++c) {
        const auto mi = static_cast<long long>(m[c]);
        const auto want = static_cast<std::uint64_t>(((mi % static_cast<long long>(p)) + static_cast<long long>(p)) %
                                                     static_cast<long long>(p));
        wrong += p_part.limb(j)[c] != want;
      }
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("ckks/rotate_sum: every precondition throws its named error before any work") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const Ciphertext a = s.kit.encrypt(s.z, 3);
  const auto pts = s.encode_weights(3);
  const auto ptrs = pointers(pts);
  const std::vector<int> none;
  const std::vector<const Plaintext*> no_pts;
  CHECK_THROWS_AS(ev.rotate_sum(a, none, s.gk), InputError);
  CHECK_THROWS_AS(ev.rotate_sum(a, none, no_pts, s.gk), InputError);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, no_pts, s.gk), InputError);  // empty plaintext list
  const std::vector<int> two = {1, 5};
  CHECK_THROWS_AS(ev.rotate_sum(a, two, ptrs, s.gk), InputError);  // lengths differ
  const Ciphertext three = ev.multiply(a, a);
  CHECK_THROWS_AS(ev.rotate_sum(three, kSteps, s.gk), InputError);  // 3 components
  const std::vector<int> missing = {0, 2};
  CHECK_THROWS_AS(ev.rotate_sum(a, missing, s.gk), MissingKeyError);
  // a plaintext at another level
  auto low = pts;
  low[2] = ev.drop_level(pts[2], 2);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, pointers(low), s.gk), LevelError);
  // plaintexts at different scales
  auto mixed = pts;
  mixed[1] = s.kit.encoder.encode(s.w[1], 3, 0x1p21);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, pointers(mixed), s.gk), ScaleError);
  // a product scale reaching Q_ℓ/2: Δ_pt = 2^200 against Q_3 ≈ 2^180
  auto huge = pts;
  for (auto& p : huge) p.scale = 0x1p200;
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, pointers(huge), s.gk), ScaleError);
  // a plaintext with another slot count
  auto sparse = pts;
  sparse[0] = s.kit.encoder.encode(cvec(8, 1.0), 3, kPtScale, 8);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, pointers(sparse), s.gk), InputError);
  // another Context's plaintext and Galois keys
  Kit other(rotate_sum_params(), 4);
  auto foreign = pts;
  foreign[0] = other.encoder.encode(s.w[0], 3, kPtScale);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, pointers(foreign), s.gk), ParameterError);
  const GaloisKeys other_ctx_keys = other.keygen.galois_keys(other.sk, kSteps);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, other_ctx_keys), ParameterError);
  CHECK_THROWS_AS(ev.extend_plaintext(foreign[0]), ParameterError);
  // Galois keys of another key set under the same Context
  KeyGenerator kg2(s.kit.ctx, math::Csprng::insecure_fixed_seed_for_testing(77));
  const GaloisKeys wrong_set = kg2.galois_keys(kg2.secret_key(), kSteps);
  CHECK_THROWS_AS(ev.rotate_sum(a, kSteps, wrong_set), KeyMismatchError);
  // an extended plaintext without its special-prime limbs
  ExtendedPlaintext bare{s.kit.ctx, pts[0].poly, 3, kPtScale, pts[0].slots};
  const std::vector<const ExtendedPlaintext*> bare_list = {&bare};
  const std::vector<int> one = {1};
  CHECK_THROWS_AS(ev.rotate_sum(a, one, bare_list, s.gk), InputError);
}

// Σ_t rot(a_t, k_t) over different ciphertexts a_t (sum_rotations) and the rotate-and-add chain.
struct ManyInputs {
  std::vector<cvec> z;
  std::vector<Ciphertext> cts;
  std::vector<const Ciphertext*> ptrs;
  ManyInputs(Setup& s, int level) {
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      z.push_back(random_complex(s.n, 300 + t));
      cts.push_back(s.kit.encrypt(z.back(), level));
    }
    for (const auto& c : cts) ptrs.push_back(&c);
  }
};

TEST_CASE("ckks/rotate_sum: sum_rotations, Σ rot(a_t, k_t) over several ciphertexts with one ModDown, matches "
          "rotate and add at levels 4 and 1") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  for (int level : {4, 1}) {
    CAPTURE(level);
    const ManyInputs in(s, level);
    cvec want(s.n);
    for (std::size_t t = 0; t < kSteps.size(); ++t)
      for (std::size_t j = 0; j < s.n; ++j) want[j] += rotated(in.z[t], kSteps[t], j);
    const Ciphertext got = ev.sum_rotations(in.ptrs, kSteps, s.gk);
    std::optional<Ciphertext> ref;
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      const Ciphertext r = ev.rotate(in.cts[t], kSteps[t], s.gk);
      ref = ref ? ev.add(*ref, r) : r;
    }
    CHECK(got.level == level);
    CHECK(got.scale == in.cts[0].scale);
    const cvec g = s.kit.decrypt(got), r = s.kit.decrypt(*ref);
    MESSAGE("level ", level, ": sum_rotations ", precision_bits(g, want), " bits, rotate and add ",
            precision_bits(r, want), " bits");
    // Measured (seed 3): 28.05 / 27.93 bits at levels 4 / 1, rotate and add 27.60 / 27.50.
    CHECK(precision_bits(g, want) >= precision_bits(r, want) - 0.5);
    CHECK(precision_bits(g, want) >= 26.0);
  }
  // Only zero steps: the plain sum, exactly as add computes it.
  const ManyInputs in(s, 2);
  const std::vector<int> zeros = {0, 0, 0};
  const std::vector<const Ciphertext*> three = {in.ptrs[0], in.ptrs[1], in.ptrs[2]};
  const Ciphertext plain = ev.sum_rotations(three, zeros, s.gk);
  const Ciphertext added = ev.add(ev.add(in.cts[0], in.cts[1]), in.cts[2]);
  CHECK(plain.c[0] == added.c[0]);
  CHECK(plain.c[1] == added.c[1]);
}

TEST_CASE("ckks/rotate_sum: steps without a zero (no unrotated term: A_1 empty, the c_1 part all from the one "
          "ModDown) match the chains") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const std::vector<int> steps = {1, 5, -3, 1};  // kSteps[1..] without the zero, 1 repeated
  const Ciphertext a = s.kit.encrypt(s.z, 2);
  const auto pts = s.encode_weights(2);
  const std::vector<const Plaintext*> four = {&pts[1], &pts[2], &pts[3], &pts[4]};
  cvec want(s.n), want_plain(s.n);
  for (std::size_t t = 0; t < steps.size(); ++t) {
    const cvec wt = s.kit.encoder.decode_complex(*four[t]);
    for (std::size_t j = 0; j < s.n; ++j) {
      want[j] += wt[j] * rotated(s.z, steps[t], j);
      want_plain[j] += rotated(s.z, steps[t], j);
    }
  }
  std::optional<Ciphertext> ref, ref_plain;
  for (std::size_t t = 0; t < steps.size(); ++t) {
    const Ciphertext r = ev.rotate(a, steps[t], s.gk);
    ref = ref ? ev.add(*ref, ev.multiply(r, *four[t])) : ev.multiply(r, *four[t]);
    ref_plain = ref_plain ? ev.add(*ref_plain, r) : r;
  }
  const cvec g = s.kit.decrypt(ev.rotate_sum(a, steps, four, s.gk)), r = s.kit.decrypt(*ref);
  const cvec gp = s.kit.decrypt(ev.rotate_sum(a, steps, s.gk)), rp = s.kit.decrypt(*ref_plain);
  MESSAGE("weighted: rotate_sum ", precision_bits(g, want), " bits, chain ", precision_bits(r, want),
          "; unweighted: ", precision_bits(gp, want_plain), " bits, chain ", precision_bits(rp, want_plain));
  // Measured (seed 3, level 2): weighted 28.09 bits, chain 27.66; unweighted 28.03, chain 27.68.
  CHECK(precision_bits(g, want) >= precision_bits(r, want) - 0.5);
  CHECK(precision_bits(g, want) >= 26.0);
  CHECK(precision_bits(gp, want_plain) >= precision_bits(rp, want_plain) - 0.5);
  CHECK(precision_bits(gp, want_plain) >= 26.0);

  // sum_rotations over four different ciphertexts, every one rotated.
  const ManyInputs in(s, 2);
  const std::vector<const Ciphertext*> cts = {in.ptrs[0], in.ptrs[1], in.ptrs[2], in.ptrs[3]};
  cvec want_many(s.n);
  std::optional<Ciphertext> ref_many;
  for (std::size_t t = 0; t < steps.size(); ++t) {
    for (std::size_t j = 0; j < s.n; ++j) want_many[j] += rotated(in.z[t], steps[t], j);
    const Ciphertext r = ev.rotate(*cts[t], steps[t], s.gk);
    ref_many = ref_many ? ev.add(*ref_many, r) : r;
  }
  const cvec gm = s.kit.decrypt(ev.sum_rotations(cts, steps, s.gk)), rm = s.kit.decrypt(*ref_many);
  MESSAGE("sum_rotations: ", precision_bits(gm, want_many), " bits, rotate and add ", precision_bits(rm, want_many));
  // Measured: 28.45 bits, rotate and add 27.48.
  CHECK(precision_bits(gm, want_many) >= precision_bits(rm, want_many) - 0.5);
  CHECK(precision_bits(gm, want_many) >= 26.0);
}

TEST_CASE("ckks/rotate_sum: sum_rotations throws its named errors") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const ManyInputs in(s, 3);
  const std::vector<const Ciphertext*> none;
  const std::vector<int> no_steps;
  CHECK_THROWS_AS(ev.sum_rotations(none, no_steps, s.gk), InputError);
  const std::vector<int> two = {1, 5};
  CHECK_THROWS_AS(ev.sum_rotations(in.ptrs, two, s.gk), InputError);  // lengths differ
  auto mixed = in.ptrs;
  const Ciphertext low = ev.drop_level(in.cts[1], 2);
  mixed[1] = &low;
  CHECK_THROWS_AS(ev.sum_rotations(mixed, kSteps, s.gk), LevelError);
  const Ciphertext scaled = ev.multiply_const(in.cts[2], 1.0, 0x1p20);
  mixed = in.ptrs;
  mixed[2] = &scaled;
  CHECK_THROWS_AS(ev.sum_rotations(mixed, kSteps, s.gk), ScaleError);
  const Ciphertext three = ev.multiply(in.cts[0], in.cts[0]);
  mixed = in.ptrs;
  mixed[0] = &three;
  CHECK_THROWS_AS(ev.sum_rotations(mixed, kSteps, s.gk), InputError);
  const std::vector<int> missing = {1, 2, 5, 7, 1, 1, 1};
  CHECK_THROWS_AS(ev.sum_rotations(in.ptrs, missing, s.gk), MissingKeyError);
  Kit other(rotate_sum_params(), 4);
  CHECK_THROWS_AS(ev.sum_rotations(in.ptrs, kSteps, other.keygen.galois_keys(other.sk, kSteps)), ParameterError);
  KeyGenerator kg2(s.kit.ctx, math::Csprng::insecure_fixed_seed_for_testing(78));
  CHECK_THROWS_AS(ev.sum_rotations(in.ptrs, kSteps, kg2.galois_keys(kg2.secret_key(), kSteps)), KeyMismatchError);
}

TEST_CASE("ckks/rotate_sum: bit-identical at 1 and 2 threads with every limb loop forked") {
  const int saved = num_threads();
  const std::size_t saved_work = math::min_parallel_work();
  std::vector<Ciphertext> out[2];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    math::set_min_parallel_work(0);
    Setup s;
    const Ciphertext a = s.kit.encrypt(s.z, 4);
    const auto pts = s.encode_weights(4);
    out[threads - 1].push_back(s.kit.evaluator.rotate_sum(a, kSteps, pointers(pts), s.gk));
    out[threads - 1].push_back(s.kit.evaluator.rotate_sum(a, kSteps, s.gk));
    const ManyInputs in(s, 4);
    out[threads - 1].push_back(s.kit.evaluator.sum_rotations(in.ptrs, kSteps, s.gk));
  }
  set_num_threads(saved);
  math::set_min_parallel_work(saved_work);
  for (std::size_t i = 0; i < out[0].size(); ++i) {
    CAPTURE(i);
    CHECK(out[0][i].c[0] == out[1][i].c[0]);
    CHECK(out[0][i].c[1] == out[1][i].c[1]);
  }
}

// The lazy key-switching verbs (hoist, rotate_lazy, multiply_sum and add_inplace over Q_ℓ·P, mod_down):
// the parts of rotate_sum as separate calls, so the same ciphertexts bit for bit.
TEST_CASE("ckks/rotate_sum: hoist + rotate_lazy + multiply_sum over Q_ℓ·P + mod_down equals rotate_sum and rotate "
          "bit for bit; encode_extended equals extend_plaintext(encode)") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  for (int level : {4, 1}) {
    CAPTURE(level);
    const Ciphertext a = s.kit.encrypt(s.z, level);
    const HoistedCiphertext h = ev.hoist(a);
    std::vector<ExtendedCiphertext> rot;
    for (int k : kSteps) rot.push_back(ev.rotate_lazy(h, k, s.gk));
    for (std::size_t t = 0; t < kSteps.size(); ++t) {  // one rotation: rotate's ciphertext
      CAPTURE(kSteps[t]);
      const Ciphertext one = ev.mod_down(rot[t]);
      const Ciphertext ref = ev.rotate(a, kSteps[t], s.gk);
      CHECK(one.c[0] == ref.c[0]);
      CHECK(one.c[1] == ref.c[1]);
      CHECK(one.level == level);
      CHECK(one.scale == a.scale);
    }
    // Weighted: complex weights through encode_extended and the real parts through its real overload.
    const auto pts = s.encode_weights(level);
    std::vector<ExtendedPlaintext> ext;
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      const ExtendedPlaintext e = s.kit.encoder.encode_extended(s.w[t], level, kPtScale);
      const ExtendedPlaintext ref = ev.extend_plaintext(pts[t]);
      CHECK(e.poly == ref.poly);
      CHECK(e.level == ref.level);
      CHECK(e.scale == ref.scale);
      CHECK(e.slots == ref.slots);
      ext.push_back(e);
    }
    std::vector<double> re(s.n);
    for (std::size_t j = 0; j < s.n; ++j) re[j] = s.w[0][j].real();
    CHECK(s.kit.encoder.encode_extended(re, level, kPtScale).poly ==
          ev.extend_plaintext(s.kit.encoder.encode(re, level, kPtScale)).poly);
    std::vector<const ExtendedCiphertext*> xs;
    std::vector<const ExtendedPlaintext*> ws;
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      xs.push_back(&rot[t]);
      ws.push_back(&ext[t]);
    }
    const Ciphertext ref = ev.rotate_sum(a, kSteps, pointers(pts), s.gk);
    const Ciphertext got = ev.mod_down(ev.multiply_sum(xs, ws));
    CHECK(got.c[0] == ref.c[0]);
    CHECK(got.c[1] == ref.c[1]);
    CHECK(got.scale == ref.scale);
    // Summed in two parts with add_inplace: the same (sums mod q are exact).
    ExtendedCiphertext part = ev.multiply_sum(std::span(xs).first(3), std::span(ws).first(3));
    ev.add_inplace(part, ev.multiply_sum(std::span(xs).subspan(3), std::span(ws).subspan(3)));
    const Ciphertext split = ev.mod_down(part);
    CHECK(split.c[0] == ref.c[0]);
    CHECK(split.c[1] == ref.c[1]);
    // And the message: rotate_sum's own bound (the first test case) against the exact weighted sum.
    CHECK(precision_bits(s.kit.decrypt(got), s.expected(&pts)) >= 26.0);
  }
}

TEST_CASE("ckks/rotate_sum: the lazy key-switching verbs throw their named errors") {
  Setup s;
  const Evaluator& ev = s.kit.evaluator;
  const Ciphertext a = s.kit.encrypt(s.z, 3);
  const Ciphertext b = s.kit.encrypt(s.z, 2);
  CHECK_THROWS_AS(ev.hoist(ev.multiply(a, a)), InputError);  // 3 components
  const HoistedCiphertext h = ev.hoist(a);
  CHECK_THROWS_AS(ev.rotate_lazy(h, 2, s.gk), MissingKeyError);  // no key for 2
  CHECK_THROWS_AS(ev.rotate_lazy(HoistedCiphertext{a, nullptr}, 1, s.gk), InputError);
  Kit other(rotate_sum_params(), 4);
  CHECK_THROWS_AS(ev.rotate_lazy(h, 1, other.keygen.galois_keys(other.sk, {1})), ParameterError);
  const ExtendedCiphertext x = ev.rotate_lazy(h, 1, s.gk);
  const ExtendedCiphertext y = ev.rotate_lazy(ev.hoist(b), 1, s.gk);
  const ExtendedPlaintext w3 = s.kit.encoder.encode_extended(s.w[0], 3, kPtScale);
  const ExtendedPlaintext w2 = s.kit.encoder.encode_extended(s.w[0], 2, kPtScale);
  const ExtendedCiphertext* xp[] = {&x};
  const ExtendedPlaintext* w2p[] = {&w2};
  const ExtendedPlaintext* w3p[] = {&w3};
  CHECK_THROWS_AS(ev.multiply_sum(xp, w2p), LevelError);
  CHECK_THROWS_AS(ev.multiply_sum(std::span<const ExtendedCiphertext* const>{}, std::span<const ExtendedPlaintext* const>{}),
                  InputError);
  const ExtendedCiphertext* two[] = {&x, &y};
  const ExtendedPlaintext* w33[] = {&w3, &w3};
  CHECK_THROWS_AS(ev.multiply_sum(two, w33), LevelError);  // y at level 2
  ExtendedPlaintext short_w{s.kit.ctx, s.kit.encoder.encode(s.w[0], 3, kPtScale).poly, 3, kPtScale, s.n};
  const ExtendedPlaintext* sp[] = {&short_w};
  CHECK_THROWS_AS(ev.multiply_sum(xp, sp), InputError);  // ℓ+1 limbs, not ℓ+1+k
  ExtendedCiphertext acc = ev.multiply_sum(xp, w3p);
  const ExtendedCiphertext before = acc;
  CHECK_THROWS_AS(ev.add_inplace(acc, x), ScaleError);  // Δ·Δ_pt vs Δ
  CHECK_THROWS_AS(ev.add_inplace(acc, y), LevelError);
  CHECK(acc.c[0] == before.c[0]);  // unchanged by the refused additions
  ExtendedCiphertext cut = x;
  cut.c[1].truncate(2);
  CHECK_THROWS_AS(ev.mod_down(cut), InputError);
  CHECK_THROWS_AS(other.evaluator.mod_down(x), ParameterError);
}

TEST_CASE("ckks/rotate_sum: the lazy key-switching verbs are bit-identical at 1 and 2 threads") {
  const int saved = num_threads();
  const std::size_t saved_work = math::min_parallel_work();
  Ciphertext out[2];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    math::set_min_parallel_work(0);
    Setup s;
    const Ciphertext a = s.kit.encrypt(s.z, 4);
    const HoistedCiphertext h = s.kit.evaluator.hoist(a);
    std::vector<ExtendedCiphertext> rot;
    std::vector<ExtendedPlaintext> ext;
    std::vector<const ExtendedCiphertext*> xs;
    std::vector<const ExtendedPlaintext*> ws;
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      rot.push_back(s.kit.evaluator.rotate_lazy(h, kSteps[t], s.gk));
      ext.push_back(s.kit.encoder.encode_extended(s.w[t], 4, kPtScale));
    }
    for (std::size_t t = 0; t < kSteps.size(); ++t) {
      xs.push_back(&rot[t]);
      ws.push_back(&ext[t]);
    }
    out[threads - 1] = s.kit.evaluator.mod_down(s.kit.evaluator.multiply_sum(xs, ws));
  }
  set_num_threads(saved);
  math::set_min_parallel_work(saved_work);
  CHECK(out[0].c[0] == out[1].c[0]);
  CHECK(out[0].c[1] == out[1].c[1]);
}

}  // namespace
}  // namespace ckks::test

// Tutorial 07 — rotations, conjugation and Galois keys
//
// Goal: move data between slots. The ring automorphism τ_g: m(X) ↦ m(X^g) permutes the slots:
//       g = 5^k mod 2N rotates them left by k, g = 2N − 1 conjugates them. On a ciphertext τ_g
//       gives something that decrypts under τ_g(s) instead of s, so a key switch τ_g(s) → s
//       follows, with a Galois key per element g.
// Read alongside: [CKKS17], rotation and conjugation by the automorphisms
//       κ_5^k and κ_{−1} (restated in [FHETB, §D-3.9] and [FHETB, §D-3.11]). Galois keys are
//       key-switching keys [HK20]. In this project: ckks/evaluator.h (rotate, conjugate, apply_galois),
//       ckks/math/rns_poly.h (automorphism), ckks/keygen.h (galois_keys), docs/notation.md
//       ("Rotation group ⟨5⟩").
// What to observe:
//   1. The Galois element of a rotation by k is 5^k mod 2N; a right rotation uses 5^{−k}; 5 has
//      order N/2 modulo 2N, so rotating by N/2 slots is the identity.
//   2. τ_5 applied to a PLAINTEXT polynomial alone (no key, no encryption) rotates its slots:
//      rotation is ring structure, not cryptography.
//   3. τ_g applied to the two ciphertext polynomials gives garbage under s but the right rotation
//      under τ_g(s): this is why a Galois key (switching τ_g(s) → s) is needed.
//   4. With keys for 1, 2 and −1 we rotate by 1, 2, −1 at ≈ full precision; a rotation by 3 has
//      no key (MissingKeyError) but is the composition of 1 and 2, at the cost of a second key
//      switch (a little more noise).
//   5. Conjugation turns every slot into its complex conjugate.
//   6. A weighted sum of rotations of ONE ciphertext, Σ_k w_k ⊙ rot(c, k), three ways: rotate,
//      multiply and add (a ModUp and a ModDown per rotation); rotate_sum (hoisting: one ModUp for all
//      rotations [HS18]; double hoisting: the products kept over Q·P and one ModDown [BMTH21]); and the
//      same by hand with the verbs it is made of (hoist, rotate_lazy, multiply_sum over Q·P with
//      plaintexts from encode_extended, mod_down): bit for bit rotate_sum's ciphertext, and at least
//      as precise as the chain (one rounding of the division by P instead of one per term).
// Exercises (expected observations in docs/labs/07_rotations.md):
//   a. Compute by hand the Galois element of a rotation by 3 for N = 2^6 and check it against
//      the program (--log-n 6).
//   b. Rotate by N/2 − 1 and by −1: compare the Galois elements. Why are they equal?
//   c. How many Galois keys are needed to reach every rotation 1 … n−1 by composition, if each
//      rotation may use at most log2(n) key switches? (hint: powers of two)
//   d. In step 6, count the NTTs of each way for T rotations at level ℓ with dnum digits and k special
//      primes (docs/notation.md, "ModUp / ModDown", "Hoisting and double hoisting"): which way wins
//      as T grows, and what does the hand-made way allow that rotate_sum does not (hint: reuse one
//      rotate_lazy result in several sums with different weights)?
//
// Usage: tutorial_07_rotations [--log-n L] [--seed K]
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/rns_poly.h"
#include "ckks/precision.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using cd = std::complex<double>;

namespace {

/// Print `label` and the real parts of the first 8 slots of v.
void print_slots(const char* label, const std::vector<cd>& v) {
  std::printf("   %-26s", label);
  for (std::size_t j = 0; j < 8 && j < v.size(); ++j) std::printf(" %5.2f", v[j].real());
  std::printf(" ...\n");
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 07 — rotations, conjugation and Galois keys");
  int log_n = 13;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 15);
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;
  Params params;
  params.log_n = log_n;
  params.log_q = {60, 40, 40};
  params.log_p = {60};
  params.log_scale = 40;
  params.allow_insecure = log_n < 13;
  const ContextPtr ctx = Context::create(params);
  const std::size_t N = ctx->n(), n = ctx->max_slots();
  const int L = ctx->max_level();
  std::printf("RNS CKKS: %s, %zu slots, %s\n", params.describe().c_str(), n,
              ctx->security_bits() ? "128-bit secure [HES18]" : "INSECURE (N below the [HES18] table): a lab only");
  KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed));
  const SecretKey sk = keygen.secret_key();
  const Encoder encoder(ctx);
  Encryptor encryptor(ctx, keygen.public_key(sk), math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
  const Decryptor decryptor(ctx, sk);
  const Evaluator ev(ctx);
  bool ok = true;

  // 1. Galois elements.
  std::printf("\n1. Galois elements (2N = %zu):\n", 2 * N);
  for (int k : {1, 2, 3, -1}) std::printf("   rotation by %+d: g = 5^%d mod 2N = %llu\n", k, k,
                                          (unsigned long long)ctx->galois_element(k));
  std::printf("   rotation by N/2 - 1 = %zu: g = %llu\n", n - 1, (unsigned long long)ctx->galois_element(int(n) - 1));
  std::printf("   conjugation: g = 2N - 1 = %llu\n", (unsigned long long)ctx->conjugation_element());
  std::uint64_t order = 1, g = 5;
  while (g != 1) {
    g = g * 5 % (2 * N);
    ++order;
  }
  std::printf("order of 5 modulo 2N = %llu = N/2: %s (a rotation by N/2 slots is the identity)\n",
              (unsigned long long)order, order == n ? "yes" : "NO");
  ok &= order == n;

  std::vector<cd> z(n);
  for (std::size_t j = 0; j < n; ++j) z[j] = cd(double(j % 16), 0.5 - double(j % 3) / 4);
  const Plaintext pt = encoder.encode(z, L, ctx->default_scale());
  print_slots("z (real parts):", z);

  // 2. The automorphism on a plaintext: no key involved.
  Plaintext pt5 = pt;
  pt5.poly = math::automorphism(pt.poly, ctx->galois_element(1), ctx->basis_q(L));
  const double p_plain = precision_bits(encoder.decode_complex(pt5), tutorial::rotated(z, 1));
  print_slots("decode(tau_5(m)):", encoder.decode_complex(pt5));
  std::printf("2. X -> X^5 on the plaintext alone rotates the slots left by 1: %s (precision %.1f bits)\n",
              p_plain > 25 ? "yes" : "NO", p_plain);
  ok &= p_plain > 25;

  // 3. The automorphism on a ciphertext, without key switching.
  const Ciphertext ct = encryptor.encrypt(pt);
  Ciphertext raw = ct;
  const std::uint64_t g1 = ctx->galois_element(1);
  for (auto& c : raw.c) c = math::automorphism(c, g1, ctx->basis_q(L));
  // raw now decrypts under τ_5(s), a key of no key set: erase its key-set id (Ciphertext::key_id)
  // so that the Decryptor lets us try both s and τ_5(s) instead of refusing the mismatch.
  raw.key_id = 0;
  const double p_under_s = precision_bits(encoder.decode_complex(decryptor.decrypt(raw)), tutorial::rotated(z, 1));
  const SecretKey tau_s(ctx, math::automorphism(sk.s, g1, ctx->basis_qp(L)));  // τ_5(s), over Q_L·P
  const double p_under_tau_s =
      precision_bits(encoder.decode_complex(Decryptor(ctx, tau_s).decrypt(raw)), tutorial::rotated(z, 1));
  std::printf("3. tau_5(c) decrypted under s: precision %.1f bits (garbage); under tau_5(s): %.1f bits\n", p_under_s,
              p_under_tau_s);
  ok &= p_under_s < 0 && p_under_tau_s > 20;

  // 4. Rotations with Galois keys.
  const GaloisKeys gk = keygen.galois_keys(sk, {1, 2, -1}, /*conjugation=*/true);
  std::printf("\n4. Galois keys generated for steps 1, 2, -1 and conjugation (%zu keys)\n", gk.keys.size());
  const double p_fresh = precision_bits(encoder.decode_complex(decryptor.decrypt(ct)), z);
  std::printf("   fresh ciphertext: precision %.1f bits\n", p_fresh);
  double p_rot[3];
  const int steps[3] = {1, 2, -1};
  for (int i = 0; i < 3; ++i) {
    const Ciphertext r = ev.rotate(ct, steps[i], gk);
    const std::vector<cd> got = encoder.decode_complex(decryptor.decrypt(r));
    p_rot[i] = precision_bits(got, tutorial::rotated(z, steps[i]));
    const std::string label = "rotate by " + std::to_string(steps[i]) + ":";
    print_slots(label.c_str(), got);
    std::printf("rotate by %+d (g = %llu): level %d, precision %.1f bits\n", steps[i],
                (unsigned long long)ctx->galois_element(steps[i]), r.level, p_rot[i]);
    ok &= p_rot[i] > 20;
  }
  bool missing = false;
  try {
    (void)ev.rotate(ct, 3, gk);
  } catch (const MissingKeyError& e) {
    missing = true;
    std::printf("rotate by 3 without its key: MissingKeyError: %s\n", e.what());
  }
  const Ciphertext r3 = ev.rotate(ev.rotate(ct, 1, gk), 2, gk);
  const double p3 = precision_bits(encoder.decode_complex(decryptor.decrypt(r3)), tutorial::rotated(z, 3));
  std::printf("rotate by 3 as rotate by 1 then by 2: precision %.1f bits (two key switches)\n", p3);
  ok &= missing && p3 > 20;

  // 5. Conjugation.
  const Ciphertext cj = ev.conjugate(ct, gk);
  std::vector<cd> zc(z.size());
  for (std::size_t j = 0; j < z.size(); ++j) zc[j] = std::conj(z[j]);
  const std::vector<cd> got = encoder.decode_complex(decryptor.decrypt(cj));
  std::printf("\n5. slot 1 before: %.2f%+.2fi, after conjugation: %.2f%+.2fi\n", z[1].real(), z[1].imag(),
              got[1].real(), got[1].imag());
  const double p_conj = precision_bits(got, zc);
  std::printf("conjugate (g = 2N - 1): precision %.1f bits\n", p_conj);
  ok &= p_conj > 20;

  // 6. A weighted sum of rotations: Σ_k w_k ⊙ rot(c, k) for k = 1, 2, −1 (w_k real, at scale Δ_w = 2^20).
  std::printf("\n6. sum of weighted rotations, w_1 ⊙ rot(c, 1) + w_2 ⊙ rot(c, 2) + w_-1 ⊙ rot(c, -1):\n");
  const double w_scale = 0x1p20;
  std::vector<std::vector<double>> w(3, std::vector<double>(n));
  for (int i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < n; ++j) w[i][j] = std::cos(0.1 * double((i + 1) * j));
  std::vector<Plaintext> wp;
  std::vector<ExtendedPlaintext> wx;
  for (int i = 0; i < 3; ++i) {
    wp.push_back(encoder.encode(w[i], L, w_scale));
    wx.push_back(encoder.encode_extended(w[i], L, w_scale));  // the same integers, reduced modulo P's primes too
  }
  // The exact result for the weights the plaintexts hold (their decoded values: the rounding of w at
  // Δ_w = 2^20 is the same for all three ways and is not what this step compares).
  std::vector<cd> want(n);
  for (int i = 0; i < 3; ++i) {
    const std::vector<cd> r = tutorial::rotated(z, steps[i]), wi = encoder.decode_complex(wp[i]);
    for (std::size_t j = 0; j < n; ++j) want[j] += wi[j] * r[j];
  }
  // (a) rotate, multiply, add: three ModUps and three ModDowns
  Ciphertext chain = ev.multiply(ev.rotate(ct, steps[0], gk), wp[0]);
  for (int i = 1; i < 3; ++i) chain = ev.add(chain, ev.multiply(ev.rotate(ct, steps[i], gk), wp[i]));
  // (b) rotate_sum: one ModUp, one ModDown
  const std::vector<const Plaintext*> wptr = {&wp[0], &wp[1], &wp[2]};
  const Ciphertext summed = ev.rotate_sum(ct, steps, wptr, gk);
  // (c) the same by hand: hoist once, three lazy rotations over Q·P, their products summed there, one ModDown
  const HoistedCiphertext h = ev.hoist(ct);
  std::vector<ExtendedCiphertext> lazy;
  for (int i = 0; i < 3; ++i) lazy.push_back(ev.rotate_lazy(h, steps[i], gk));
  const std::vector<const ExtendedCiphertext*> lptr = {&lazy[0], &lazy[1], &lazy[2]};
  const std::vector<const ExtendedPlaintext*> xptr = {&wx[0], &wx[1], &wx[2]};
  const Ciphertext by_hand = ev.mod_down(ev.multiply_sum(lptr, xptr));
  const double p_chain = precision_bits(encoder.decode_complex(decryptor.decrypt(chain)), want);
  const double p_sum = precision_bits(encoder.decode_complex(decryptor.decrypt(summed)), want);
  const bool same = by_hand.c == summed.c;
  std::printf("   rotate + multiply + add (3 ModUps, 3 ModDowns): precision %.1f bits\n", p_chain);
  std::printf("   rotate_sum (1 ModUp, 1 ModDown):                  precision %.1f bits\n", p_sum);
  std::printf("   hoist + rotate_lazy + multiply_sum + mod_down:      bit for bit rotate_sum's ciphertext: %s\n",
              same ? "yes" : "NO");
  ok &= same && p_chain > 20 && p_sum > 20 && p_sum >= p_chain - 0.5;
  return ok ? 0 : 1;
}

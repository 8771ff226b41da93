// Tutorial 05 — multiplication and relinearisation
//
// Goal: multiply two ciphertexts. The tensor product (d_0, d_1, d_2) = (b·b', a·b' + a'·b, a·a')
//       decrypts under (1, s, s²) to Δ²·m·m' plus noise; relinearisation uses the evaluation key
//       (an encryption of P·s²) to fold d_2 back into two components that decrypt under (1, s).
// Read alongside: [CKKS17], Mult and the evaluation key evk of KeyGen (restated in
//       [FHETB, §D-3.5]). The RNS scheme relinearises by hybrid key switching [HK20];
//       tutorial 08 looks at it closely.
//       In this project: ckks/textbook/textbook.h (tensor, relinearize), ckks/evaluator.h
//       (multiply, relinearize), ckks/keyswitch.h.
// What to observe:
//   1. The scale of a product is Δ² = 2^80 (it is brought back by rescaling: tutorial 06).
//   2. The tensor product decrypts correctly under (1, s, s²): its noise m·e' + m'·e + e·e' is
//      ≈ Δ times the fresh noise, so the precision relative to Δ² is about that of a fresh
//      ciphertext.
//   3. The evaluation key is an RLWE sample hiding P·s²: b' + a'·s = P·s² + e'.
//   4. Relinearisation changes the decryption by only ⌊d_2·e'/P⌉ + rounding, at most about
//      N·6σ + (1 + h)/2 — tiny next to Δ² — while d_2·e' itself is huge: dividing by P is the point.
//   5. Dropping d_2 instead of relinearising gives garbage: d_2·s² is not small.
//   6. In the RNS library a 3-component ciphertext cannot be multiplied again (InputError): each
//      product without relinearisation would grow the ciphertext by one more component.
// Exercises (expected observations in docs/labs/05_multiplication.md):
//   a. Run with --seed 2 and --seed 3: which printed quantities move, and by how much?
//   b. Run with --log-n 10, 12 and 14: how does the relinearisation error grow with N?
//   c. The precision after a product is ≈ that of a fresh ciphertext: where does the product of the
//      two noises (e·e') go, and why is it negligible?
//
// Usage: tutorial_05_multiplication [--log-n L] [--seed K]
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>

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
#include "ckks/textbook/textbook.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
namespace tb = ckks::textbook;
using cd = std::complex<double>;
using NTL::ZZ;
using NTL::ZZX;

namespace {

/// Slot-wise product a_i·b_i (equal sizes).
std::vector<cd> product(const std::vector<cd>& a, const std::vector<cd>& b) {
  std::vector<cd> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = a[i] * b[i];
  return r;
}


}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 05 — multiplication and relinearisation");
  int log_n = 12;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 15);
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;

  // ---------------- Part A: the textbook scheme ----------------
  tb::Params tp;
  tp.log_n = log_n;
  tp.log_q0 = 60;
  tp.log_delta = 40;
  tp.levels = 2;
  tp.hamming_weight = 64;
  tp.allow_insecure = true;  // the paper's sparse secret HWT(64) is outside the 128-bit table
  const tb::Scheme scheme(tp);
  const std::size_t N = scheme.N();
  const ZZ qL = scheme.q(tp.levels), PqL = scheme.P() * qL;
  const double delta = scheme.delta();
  std::printf("A. textbook CKKS: N = %zu, q_L = 2^140, P = q_L, Delta = 2^40, h = 64\n", N);
  if (scheme.log_pq() > max_log_qp_128(log_n))
    std::printf("   INSECURE: log2(P*q_L) = %d bits > %d, the 128-bit bound for N = 2^%d [HES18]: a lab only\n",
                scheme.log_pq(), max_log_qp_128(log_n), log_n);
  else
    std::printf("   log2(P*q_L) = %d <= %d bits [HES18], but the sparse secret HWT(64) is outside that table: "
                "a lab setting only\n",
                scheme.log_pq(), max_log_qp_128(log_n));
  math::Csprng rng = math::Csprng::insecure_fixed_seed_for_testing(seed);
  const tb::SecretKey sk = scheme.secret_key(rng);
  const tb::PublicKey pk = scheme.public_key(sk, rng);
  const tb::EvaluationKey evk = scheme.evaluation_key(sk, rng);

  // 3. The evaluation key hides P·s².
  const ZZX s2 = scheme.mul_mod(sk.s, sk.s, PqL);
  const ZZX e_evk = tb::Scheme::centre(
      scheme.reduce(evk.b + scheme.mul_mod(evk.a, sk.s, PqL) - scheme.P() * s2, PqL), PqL);
  std::printf("   evaluation key: b' + a'*s - P*s^2 mod P*q_L = e', ||e'||inf = 2^%.2f\n",
              tb::Scheme::log2_norm(e_evk));

  const std::vector<cd> x = tutorial::complex_test_vector(scheme.slots(), 0.3, 0.3),
                        y = tutorial::complex_test_vector(scheme.slots(), 1.1, 1.1);
  const ZZX mx = scheme.encode(x, delta), my = scheme.encode(y, delta);
  const tb::Ciphertext cx = scheme.encrypt(mx, delta, pk, rng), cy = scheme.encrypt(my, delta, pk, rng);
  const ZZX mxy = tb::Scheme::centre(scheme.mul_mod(mx, my, qL), qL);  // exact: |coefficients| << q_L
  std::printf("   fresh noise: ||Dec(c_x) - m_x||inf = 2^%.2f, ||Dec(c_y) - m_y||inf = 2^%.2f\n",
              tb::Scheme::log2_norm(scheme.decrypt(cx, sk) - mx), tb::Scheme::log2_norm(scheme.decrypt(cy, sk) - my));

  // 1–2. The tensor product.
  const tb::Ciphertext3 d = scheme.tensor(cx, cy);
  const ZZX dec3 = scheme.decrypt(d, sk);
  std::printf("textbook tensor product: 3 components, level %d, scale 2^%.0f\n", d.level, std::log2(d.scale));
  std::printf("   ||m_x*m_y||inf = 2^%.1f; noise ||Dec(d) - m_x*m_y||inf = 2^%.2f (about Delta * fresh noise)\n",
              tb::Scheme::log2_norm(mxy), tb::Scheme::log2_norm(dec3 - mxy));
  const double p_tensor = precision_bits(scheme.decode(dec3, d.scale), product(x, y));
  std::printf("tensor decrypts under (1, s, s^2): precision %.1f bits\n", p_tensor);

  // 4. Relinearisation.
  const tb::Ciphertext r = scheme.relinearize(d, evk);
  const ZZX dec2 = scheme.decrypt(r, sk);
  const double relin_err = tb::Scheme::log2_norm(dec2 - dec3);
  const double bound = std::log2(N * 6 * tp.sigma + (1 + tp.hamming_weight) / 2.0);
  const ZZX d2e = tb::Scheme::centre(scheme.mul_mod(tb::Scheme::centre(d.d2, qL), e_evk, PqL), PqL);
  std::printf("   ||d_2||inf = 2^%.1f, ||d_2*e'||inf = 2^%.1f: dividing by P = 2^140 leaves ~2^%.1f\n",
              tb::Scheme::log2_norm(tb::Scheme::centre(d.d2, qL)), tb::Scheme::log2_norm(d2e),
              tb::Scheme::log2_norm(d2e) - 140);
  std::printf("relinearisation error ||Dec(relin(d)) - Dec(d)||inf = 2^%.2f (bound N*6*sigma + (1+h)/2 = 2^%.2f): "
              "within bound: %s\n",
              relin_err, bound, relin_err <= bound ? "yes" : "NO");
  const double p_relin = precision_bits(scheme.decode(dec2, r.scale), product(x, y));
  std::printf("textbook precision after relinearisation: %.1f bits\n", p_relin);

  // 5. Dropping d_2.
  tb::Ciphertext dropped;
  dropped.c0 = d.d0;
  dropped.c1 = d.d1;
  dropped.level = d.level;
  dropped.scale = d.scale;
  const double p_drop = precision_bits(scheme.decode(scheme.decrypt(dropped, sk), d.scale), product(x, y));
  std::printf("without relinearisation, (d_0, d_1) under (1, s): precision %.1f bits (garbage)\n", p_drop);

  // ---------------- Part B: the RNS library ----------------
  Params params;
  params.log_n = log_n;
  params.log_q = {60, 40, 40};
  params.log_p = {60};
  params.log_scale = 40;
  params.allow_insecure = log_n < 13;
  const ContextPtr ctx = Context::create(params);
  std::printf("\nB. RNS CKKS: %s, %s\n", params.describe().c_str(),
              ctx->security_bits() ? "128-bit secure [HES18]" : "INSECURE (outside the [HES18] table): a lab only");
  KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
  const SecretKey rsk = keygen.secret_key();
  const PublicKey rpk = keygen.public_key(rsk);
  const RelinKey rk = keygen.relin_key(rsk);
  const Encoder encoder(ctx);
  Encryptor encryptor(ctx, rpk, math::Csprng::insecure_fixed_seed_for_testing(seed + 2));
  const Decryptor decryptor(ctx, rsk);
  const Evaluator ev(ctx);
  const std::vector<cd> xr = tutorial::complex_test_vector(ctx->max_slots(), 0.3, 0.3),
                        yr = tutorial::complex_test_vector(ctx->max_slots(), 1.1, 1.1);
  const Ciphertext a = encryptor.encrypt(encoder.encode(xr, ctx->max_level(), ctx->default_scale()));
  const Ciphertext b = encryptor.encrypt(encoder.encode(yr, ctx->max_level(), ctx->default_scale()));
  const Ciphertext ab = ev.multiply(a, b);
  const Plaintext pab = decryptor.decrypt(ab);
  std::printf("RNS multiply: %zu components, level %d, scale 2^%.0f, precision %.1f bits\n", ab.size(), ab.level,
              std::log2(ab.scale), precision_bits(encoder.decode_complex(pab), product(xr, yr)));
  const Ciphertext abr = ev.relinearize(ab, rk);
  const Plaintext pabr = decryptor.decrypt(abr);
  const double rns_relin =
      tutorial::log2_diff(tutorial::exact_coefficients(*ctx, pabr), tutorial::exact_coefficients(*ctx, pab));
  std::printf("RNS after relinearize: %zu components, relinearisation error 2^%.2f, precision %.1f bits\n", abr.size(),
              rns_relin, precision_bits(encoder.decode_complex(pabr), product(xr, yr)));
  bool caught = false;
  try {
    (void)ev.multiply(ab, a);
  } catch (const InputError& e) {
    caught = true;
    std::printf("multiply of a 3-component ciphertext: InputError: %s\n", e.what());
  }
  return p_tensor > 20 && relin_err <= bound && p_relin > 20 && p_drop < 0 && caught ? 0 : 1;
}

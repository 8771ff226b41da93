// Tutorial 04 — keys, encryption, decryption, and where the noise comes from
//
// Goal: generate the keys of CKKS, encrypt a plaintext polynomial m, decrypt it, and look at the
//       difference Dec(c) − m coefficient by coefficient: the noise. Then take the encryption
//       apart and see that the noise is exactly v·e + e_0 + e_1·s, and compare the RNS library's
//       public-key and secret-key encryption.
// Read alongside: [CKKS17], KeyGen, Enc and Dec of the scheme (restated in [FHETB, §D-3.2]),
//       and the distributions HWT(h), ZO(0.5), DG(σ²). The RNS scheme's
//       encryption is [CHKKS18]; its public-key encryption divides by P, a
//       departure from [CKKS17] documented in ckks/encryptor.h.
//       In this project: ckks/textbook/textbook.h (the paper's scheme with big integers),
//       ckks/keygen.h, ckks/encryptor.h, ckks/decryptor.h.
// What to observe:
//   1. The public key (b, a) is an RLWE sample: a looks uniform mod q_L (≈ log q_L bits), but
//      b + a·s = e is tiny (a Gaussian with σ = 3.2, at most 6σ).
//   2. A fresh ciphertext decrypts to m + noise with ‖noise‖∞ of a few bits (≈ 2^8–2^10 for
//      N = 2^10–2^13), far below Δ = 2^40: the slots keep about 24–27 bits (the noise of all N
//      coefficients adds up in each slot, so a slot loses a few more bits than ‖noise‖∞ alone).
//   3. The noise is exactly v·e + e_0 + e_1·s; the v·e term (a sum of ≈ N/2 Gaussians) dominates.
//   4. Decrypting with another secret key gives garbage (negative precision).
//   5. The RNS library's secret-key encryption has noise e alone (≤ 6σ ≈ 2^4.3); its public-key
//      encryption, thanks to the division by P, only has the rounding of that division (a few
//      bits more than e, several bits less than the textbook's v·e).
// Exercises (expected observations in docs/labs/04_encryption.md):
//   a. Run with --sigma 6.4 (twice the error width): how much does the fresh noise grow (bits)?
//   b. Run with --log-n 10, 12, 14: how does the textbook noise grow with N, and why (which term)?
//   c. Why is the textbook scheme insecure at N = 2^13 while the RNS parameters at the same N are
//      secure? (Compare the printed log2(P·q_L) with the 128-bit bound.)
//
// Usage: tutorial_04_encryption [--log-n L] [--sigma S] [--seed K]
#include <NTL/ZZ.h>
#include <NTL/ZZX.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/keygen.h"
#include "ckks/math/sampler.h"
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

/// ZO(0.5) of [CKKS17]: each coefficient 0 with probability 1/2, ±1 with probability 1/4 each.
ZZX sample_zo(math::Csprng& rng, std::size_t N) {
  ZZX v;
  for (std::size_t i = 0; i < N; ++i) {
    const std::uint64_t r = rng.next_u64() & 3;
    if (r >= 2) SetCoeff(v, static_cast<long>(i), r == 2 ? 1 : -1);
  }
  return v;
}

/// The polynomial Σ c_i X^i as an NTL::ZZX.
ZZX to_zzx(const std::vector<std::int64_t>& c) {
  ZZX p;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i] != 0) SetCoeff(p, static_cast<long>(i), c[i]);
  return p;
}

/// log2 max |a_i| for long double coefficients (as Scheme::log2_norm does for ZZX).
double log2_norm(const std::vector<long double>& a) {
  long double m = 0;
  for (long double x : a) m = std::max(m, std::fabs(x));
  return static_cast<double>(std::log2(m));
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 04 — keys, encryption, decryption, and where the noise comes from");
  int log_n = 13;
  double sigma = 3.2;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 15);
  options.add("--sigma", sigma, "standard deviation of the discrete Gaussian errors", 1.0, 100.0);
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;

  // ---------------- Part A: the textbook scheme of [CKKS17], big integers -----------------
  tb::Params tp;
  tp.log_n = log_n;
  tp.log_q0 = 60;
  tp.log_delta = 40;
  tp.levels = 2;
  tp.hamming_weight = 64;
  tp.sigma = sigma;
  tp.allow_insecure = true;  // the paper's sparse secret HWT(64) is outside the 128-bit table
  const tb::Scheme scheme(tp);
  const std::size_t N = scheme.N();
  const ZZ qL = scheme.q(tp.levels);
  std::printf("A. textbook CKKS: N = %zu, q_L = 2^%d, Delta = 2^%d, P = q_L, h = %d, sigma = %.1f\n", N,
              tp.log_q0 + tp.levels * tp.log_delta, tp.log_delta, tp.hamming_weight, sigma);
  if (scheme.log_pq() > max_log_qp_128(log_n))
    std::printf("   INSECURE: log2(P*q_L) = %d bits > %d bits, the 128-bit bound for N = 2^%d [HES18], and the "
                "secret HWT(%d) is sparse; fine for a lab, never for real data\n",
                scheme.log_pq(), max_log_qp_128(log_n), log_n, tp.hamming_weight);
  else
    std::printf("   INSECURE: log2(P*q_L) = %d <= %d bits, the [HES18] bound for N = 2^%d; but that table assumes a "
                "uniform ternary secret, and HWT(%d) is sparse: a lab setting only\n",
                scheme.log_pq(), max_log_qp_128(log_n), log_n, tp.hamming_weight);

  math::Csprng rng = math::Csprng::insecure_fixed_seed_for_testing(seed);
  const tb::SecretKey sk = scheme.secret_key(rng);
  long weight = 0;
  for (long i = 0; i <= deg(sk.s); ++i) weight += !IsZero(coeff(sk.s, i));
  std::printf("   secret key s: %ld non-zero coefficients in {-1, 1} (HWT(h), h = %d); the first ones:", weight,
              tp.hamming_weight);
  for (long i = 0, shown = 0; i <= deg(sk.s) && shown < 6; ++i)
    if (!IsZero(coeff(sk.s, i))) {
      std::printf(" s_%ld = %+ld", i, NTL::conv<long>(coeff(sk.s, i)));
      ++shown;
    }
  std::printf("\n");

  // 1. The public key is an RLWE sample.
  const tb::PublicKey pk = scheme.public_key(sk, rng);
  const ZZX e_pk = tb::Scheme::centre(scheme.reduce(pk.b + scheme.mul_mod(pk.a, sk.s, qL), qL), qL);
  std::printf("   public key: ||a||inf = 2^%.1f (uniform mod q_L = 2^%d), ||b + a*s mod q_L||inf = ||e||inf = 2^%.2f "
              "(6 sigma = %.1f)\n",
              tb::Scheme::log2_norm(tb::Scheme::centre(pk.a, qL)), tp.log_q0 + tp.levels * tp.log_delta,
              tb::Scheme::log2_norm(e_pk), 6 * sigma);

  // 2. Encrypt, decrypt, look at the noise.
  const std::vector<cd> z = tutorial::complex_test_vector(scheme.slots(), 0.3, 0.0);
  const double delta = scheme.delta();
  const ZZX m = scheme.encode(z, delta);
  const tb::Ciphertext c = scheme.encrypt(m, delta, pk, rng);
  const ZZX dec = scheme.decrypt(c, sk);
  const ZZX noise = dec - m;
  std::printf("\n   m = Ecd(z), c = Enc(m), m' = Dec(c) = c_0 + c_1*s mod q_L; first coefficients:\n");
  for (long i = 0; i < 4; ++i) {
    std::ostringstream line;
    line << "   i = " << i << ":  m_i = " << coeff(m, i) << "   m'_i = " << coeff(dec, i)
         << "   (m' - m)_i = " << coeff(noise, i);
    std::printf("%s\n", line.str().c_str());
  }
  std::printf("   the ciphertext itself looks uniform: ||c_1||inf = 2^%.1f\n",
              tb::Scheme::log2_norm(tb::Scheme::centre(c.c1, qL)));
  const double tb_noise = tb::Scheme::log2_norm(noise);
  std::printf("textbook fresh noise ||m' - m||inf = 2^%.2f (a standard deviation sigma*sqrt(N/2 + h + 1) = 2^%.2f)\n",
              tb_noise, std::log2(sigma * std::sqrt(N / 2.0 + tp.hamming_weight + 1)));
  const double tb_prec = precision_bits(scheme.decode(dec, delta), z);
  std::printf("textbook precision after encryption: %.1f bits\n", tb_prec);

  // 3. Where the noise comes from: Enc by hand with v, e_0, e_1 in view.
  const ZZX v = sample_zo(rng, N);
  const ZZX e0 = to_zzx(math::sample_gaussian(rng, N, sigma)), e1 = to_zzx(math::sample_gaussian(rng, N, sigma));
  const ZZX c0 = scheme.reduce(scheme.mul_mod(v, pk.b, qL) + m + e0, qL);
  const ZZX c1 = scheme.reduce(scheme.mul_mod(v, pk.a, qL) + e1, qL);
  const ZZX noise_by_hand = tb::Scheme::centre(scheme.reduce(c0 + scheme.mul_mod(c1, sk.s, qL), qL), qL) - m;
  // The three terms, computed over the integers (they are small, so "mod q_L" changes nothing).
  const ZZ big = qL;  // any modulus larger than the terms
  const ZZX ve = tb::Scheme::centre(scheme.mul_mod(v, e_pk, big), big);
  const ZZX e1s = tb::Scheme::centre(scheme.mul_mod(e1, sk.s, big), big);
  std::printf("\n   Enc by hand: c = v*pk + (m + e_0, e_1), so c_0 + c_1*s = m + v*e + e_0 + e_1*s:\n");
  std::printf("     ||v*e||inf = 2^%.2f   ||e_0||inf = 2^%.2f   ||e_1*s||inf = 2^%.2f\n", tb::Scheme::log2_norm(ve),
              tb::Scheme::log2_norm(e0), tb::Scheme::log2_norm(e1s));
  const bool exact = noise_by_hand == ve + e0 + e1s;
  std::printf("noise equals v*e + e_0 + e_1*s exactly: %s\n", exact ? "yes" : "NO");

  // 4. The wrong key.
  const tb::SecretKey other = scheme.secret_key(rng);
  const double wrong = precision_bits(scheme.decode(scheme.decrypt(c, other), delta), z);
  std::printf("decrypting with another secret key: precision %.1f bits (garbage)\n", wrong);

  // ---------------- Part B: the RNS library, public- vs secret-key encryption ----------------
  Params params;
  params.log_n = log_n;
  params.log_q = {60, 40, 40};
  params.log_p = {60};
  params.log_scale = 40;
  params.error_stddev = sigma;
  params.allow_insecure = log_n < 13 || sigma < 3.2;
  const ContextPtr ctx = Context::create(params);
  std::printf("\nB. RNS CKKS: %s, log2(QP) = %.0f bits, %s\n", params.describe().c_str(), ctx->log_qp(),
              ctx->security_bits() ? "128-bit secure [HES18]"
                                   : "INSECURE (N or log QP outside the [HES18] 128-bit table): a lab only");
  KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
  const SecretKey rsk = keygen.secret_key();
  const PublicKey rpk = keygen.public_key(rsk);
  const Encoder encoder(ctx);
  Encryptor by_pk(ctx, rpk, math::Csprng::insecure_fixed_seed_for_testing(seed + 2));
  Encryptor by_sk(ctx, rsk, math::Csprng::insecure_fixed_seed_for_testing(seed + 3));
  const Decryptor decryptor(ctx, rsk);
  const std::vector<cd> zr = tutorial::complex_test_vector(ctx->max_slots(), 0.3, 0.0);
  const Plaintext pt = encoder.encode(zr, ctx->max_level(), ctx->default_scale());
  const std::vector<long double> m_rns = encoder.coefficients(pt);
  std::printf("   a ciphertext: 2 polynomials x %d limbs x N words = %.1f KiB\n", ctx->max_level() + 1,
              2.0 * (ctx->max_level() + 1) * ctx->n() * 8 / 1024);
  double rns_bits[2] = {0, 0};
  for (int which = 0; which < 2; ++which) {
    const Ciphertext ct = which == 0 ? by_pk.encrypt(pt) : by_sk.encrypt(pt);
    const Plaintext d = decryptor.decrypt(ct);
    std::vector<long double> diff = encoder.coefficients(d);
    for (std::size_t i = 0; i < diff.size(); ++i) diff[i] -= m_rns[i];
    rns_bits[which] = log2_norm(diff);
    std::printf("RNS %s-key encryption: noise ||Dec(c) - m||inf = 2^%.2f, precision %.1f bits\n",
                which == 0 ? "public" : "secret", rns_bits[which],
                precision_bits(encoder.decode_complex(d), zr));
  }
  const bool ok = exact && wrong < 0 && tb_prec > 20 && rns_bits[0] < 10 && rns_bits[1] < 10;
  return ok ? 0 : 1;
}

// Tutorial 08 — key switching, the hybrid method and dnum
//
// Goal: every relinearisation and rotation ends in a key switch: a polynomial d that multiplies
//       some s' is turned into a ciphertext under s. Hybrid key switching cuts the data primes
//       into dnum digits of α = ⌈(L+1)/dnum⌉ primes, raises each digit to Q·P (ModUp), multiplies
//       it by its own key component, and divides by the special modulus P (ModDown). Compare
//       dnum = 1, 2, 3 and L+1 for the same chain: key size, added noise, time, and how large P
//       (and so log QP, hence security) must be.
// Read alongside: [HK20], hybrid key switching with dnum digits; [CHKKS18] ModUp and ModDown
//       (restated in [FHETB, §D-5.2] and [FHETB, §D-5.4], key switching in RNS in
//       [FHETB, §D-5.10.2]); [GHS12] for the special modulus P. A reference implementation to
//       compare with: OpenFHE's KeySwitchHYBRID (docs/references.md, [HK20]). In this project: ckks/keyswitch.h, ckks/context.h
//       (digits, modup/moddown converters), ckks/keys.h (KeySwitchKey), docs/notation.md
//       ("dnum, α, β", "Key switching", "ModUp / ModDown").
// What to observe:
//   1. The added noise is ≈ Σ_j (digit size)·e_j/P plus the rounding of the division by P. As long
//      as P exceeds the largest digit, it stays a few bits (≈ 2^7 at N = 2^14), whatever dnum
//      is; the Context refuses a P smaller than a digit (ParameterError).
//   2. Small dnum (few, big digits) needs a big P: log QP grows and the same chain stops being
//      128-bit secure at this N. Large dnum (many small digits) needs only one special prime.
//   3. The key size grows with dnum (dnum RLWE pairs over Q·P). The time of a key switch depends
//      on both dnum (number of ModUps) and k (limbs per ModUp): at this small depth it barely
//      moves; it is a trade-off to measure, not a rule.
//   4. With one special prime just above the largest digit (dnum = L+1, P ≈ 2^61 vs q_0 ≈ 2^60)
//      the digit term shows: ≈ 1 bit more noise than with two special primes, where only the
//      rounding floor of ModDown is left.
// Exercises (expected observations in docs/labs/08_key_switching.md):
//   a. Read off the table the smallest dnum for which the parameters are still 128-bit secure,
//      and compare the key sizes of the secure rows.
//   b. Run with --log-n 15: which rows become secure, and why (the bound grows with N)?
//   c. Why is the noise of the last row (two special primes) the same as for dnum = 1, 2, 3, and
//      what is left of it? (hint: ⌊x/P⌉ leaves τ_0 + τ_1·s with |τ_i| ≤ 1/2.)
//
// Usage: tutorial_08_key_switching [--log-n L] [--reps R] [--seed K]
#include <NTL/ZZ.h>

#include <algorithm>
#include <chrono>
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
using NTL::ZZ;
using Clock = std::chrono::steady_clock;

namespace {

/// One configuration of the table: dnum and the number of 61-bit special primes.
struct Row {
  int dnum, special;
};

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 08 — key switching, the hybrid method and dnum");
  int log_n = 14, reps = 10;
  std::uint64_t seed = 1;
  options.add("--log-n", log_n, "ring degree N = 2^L", 4, 16);
  options.add("--reps", reps, "repetitions of each timed key switch", 1, 1000);
  options.add("--seed", seed, "seed of the (insecure, deterministic) randomness");
  if (const auto code = options.parse(argc, argv)) return *code;
  const std::vector<int> log_q = {60, 40, 40, 40, 40, 40};  // L = 5: six data primes, 260 bits
  const int L = static_cast<int>(log_q.size()) - 1;
  std::printf("data primes (bits): 60 40 40 40 40 40 (L = %d), special primes of 61 bits, N = 2^%d; the [HES18] "
              "128-bit bound for this N is log QP <= %d bits\n",
              L, log_n, max_log_qp_128(log_n));

  // 0. P must exceed every digit: the Context refuses otherwise.
  {
    Params bad;
    bad.log_n = log_n;
    bad.log_q = log_q;
    bad.log_p = {61};
    bad.dnum = 1;
    bad.log_scale = 40;
    bad.allow_insecure = true;
    try {
      (void)Context::create(bad);
      std::printf("dnum = 1 with one 61-bit special prime: accepted (unexpected)\n");
    } catch (const ParameterError& e) {
      std::printf("dnum = 1 with one 61-bit special prime: ParameterError: %s\n", e.what());
    }
  }

  // The rows: dnum and the number of 61-bit special primes, the fewest with 61·k > largest digit
  // (plus one extra row with a doubled P).
  const std::vector<Row> rows = {{1, 5}, {2, 3}, {3, 2}, {L + 1, 1}, {L + 1, 2}};
  bool ok = true;
  for (const Row& row : rows) {
    Params p;
    p.log_n = log_n;
    p.log_q = log_q;
    p.log_p.assign(row.special, 61);
    p.dnum = row.dnum;
    p.log_scale = 40;
    p.allow_insecure = 260 + 61 * row.special > max_log_qp_128(log_n) || log_n < 10;
    const ContextPtr ctx = Context::create(p);
    // Largest digit in bits.
    double largest = 0;
    for (std::size_t d = 0; d < ctx->num_digits(L); ++d) {
      double bits = 0;
      for (std::size_t i = d * ctx->alpha(); i < std::min<std::size_t>((d + 1) * ctx->alpha(), L + 1); ++i)
        bits += std::log2(double(ctx->q(static_cast<int>(i)).value()));
      largest = std::max(largest, bits);
    }
    KeyGenerator keygen(ctx, math::Csprng::insecure_fixed_seed_for_testing(seed));
    const SecretKey sk = keygen.secret_key();
    const GaloisKeys gk = keygen.galois_keys(sk, {1});
    const KeySwitchKey& key = gk.keys.begin()->second;
    double key_bytes = 0;
    for (std::size_t j = 0; j < key.b.size(); ++j) key_bytes += 8.0 * (key.b[j].data().size() + key.a[j].data().size());
    const Encoder encoder(ctx);
    Encryptor encryptor(ctx, sk, math::Csprng::insecure_fixed_seed_for_testing(seed + 1));
    const Decryptor decryptor(ctx, sk);
    const Evaluator ev(ctx);
    std::vector<cd> z(ctx->max_slots());
    for (std::size_t j = 0; j < z.size(); ++j) z[j] = cd(std::sin(0.3 * j), std::cos(0.2 * j));
    const Ciphertext ct = encryptor.encrypt(encoder.encode(z, L, ctx->default_scale()));
    // Noise of one key switch: Dec(rotate(c)) − τ_5(Dec(c)), coefficient by coefficient.
    const Ciphertext r = ev.rotate(ct, 1, gk);
    Plaintext want_pt = decryptor.decrypt(ct);
    want_pt.poly = math::automorphism(want_pt.poly, ctx->galois_element(1), ctx->basis_q(L));
    const double noise = tutorial::log2_diff(tutorial::exact_coefficients(*ctx, decryptor.decrypt(r)),
                                             tutorial::exact_coefficients(*ctx, want_pt));
    const double p_fresh = precision_bits(encoder.decode_complex(decryptor.decrypt(ct)), z);
    const double p_rot = precision_bits(encoder.decode_complex(decryptor.decrypt(r)), tutorial::rotated(z, 1));
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) (void)ev.rotate(ct, 1, gk);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / reps;
    std::printf("dnum = %d: alpha = %zu, special primes = %zu (log P = %.0f), largest digit = %.0f bits, "
                "log QP = %.0f, %s\n",
                row.dnum, ctx->alpha(), ctx->num_special(), math::log2_product(ctx->basis_p()), largest, ctx->log_qp(),
                ctx->security_bits() ? "128-bit secure" : "NOT 128-bit secure at this N");
    std::printf("   key: %zu pairs, %.2f MiB | key-switching noise 2^%.2f | precision after rotation %.1f bits (fresh "
                "%.1f) | %.2f ms per rotation\n",
                key.b.size(), key_bytes / (1 << 20), noise, p_rot, p_fresh, ms);
    ok &= noise < 16 && p_rot > 20;
  }
  return ok ? 0 : 1;
}

// Tutorial 02 — the residue number system (RNS) and the Chinese remainder theorem
//
// Goal: hold a big integer x mod Q = q_0·q_1·…·q_{k−1} as k word-size residues x mod q_i, compute
//       on the residues only, get x back by the CRT, and move residues from one set of primes to
//       another with fast base conversion — which is exact only up to a small multiple u·Q.
// Read alongside: [CHKKS18] — the RNS representation and fast base conversion Conv_{C→B}
//       (restated with section numbers in [FHETB, §] and [FHETB, §D-5.1]); [HPS19] for the
//       exact variant that removes u with a floating-point estimate.
//       In this project: ckks/math/rns.h (BaseConverter), ckks/math/rns_poly.h (limbs).
// What to observe:
//   1. Each q_i ≡ 1 (mod 2N) (NTT-friendly, tutorial 01) and is below 2^62: residues fit a word.
//   2. The CRT rebuilds x exactly from its residues: x = Σ_i [x_i·q̂_i^{-1}]_{q_i}·q̂_i mod Q.
//   3. Addition and multiplication mod Q are done limb by limb, with no carries between limbs.
//   4. Fast base conversion to new primes p_j returns x + u·Q (mod p_j), not x: u is a small
//      integer with |u| ≤ k/2 (the centred variant used here), spread over several values.
//   5. The exact conversion returns x itself (mod p_j) for every sample.
// Exercises (expected observations in docs/labs/02_rns_crt.md):
//   a. Run with --primes 2, 4, 8: how does the range of u grow with k?
//   b. Why does a multiple of Q do no harm when the converted value is used modulo Q·P and then
//      divided by P (ModDown, tutorial 08)? And why would it harm a value used modulo P alone?
//   c. Run with --bits 30 and --bits 60: does the size of the primes change the range of u?
//
// Usage: tutorial_02_rns_crt [--log-n L] [--primes k] [--bits b] [--samples s]
#include <NTL/ZZ.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckks/math/modarith.h"
#include "ckks/math/primes.h"
#include "ckks/math/rns.h"
#include "tutorials/tutorial_options.h"

using namespace ckks::math;
using NTL::ZZ;

namespace {

ZZ to_zz(std::uint64_t v) { return NTL::conv<ZZ>(static_cast<unsigned long>(v)); }
std::uint64_t to_u64(const ZZ& v) { return static_cast<std::uint64_t>(NTL::conv<unsigned long>(v)); }

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 02 — the residue number system (RNS) and the Chinese remainder theorem");
  int log_n = 10, k = 4, bits = 50, samples = 4096;
  options.add("--log-n", log_n, "ring degree N = 2^L (the primes are 1 mod 2N)", 1, 16);
  options.add("--primes", k, "number k of primes in the basis C", 1, 16);
  options.add("--bits", bits, "bits of each prime", 20, 61);
  options.add("--samples", samples, "random values x for the conversions", 1, 1 << 20);
  if (const auto code = options.parse(argc, argv)) return *code;
  const std::uint64_t N = std::uint64_t(1) << log_n;

  // 1. k NTT-friendly primes for Q and two more (the target basis B) of the same size.
  const std::vector<std::uint64_t> all = generate_ntt_primes(bits, k + 2, N);
  std::vector<std::unique_ptr<Prime>> primes;
  for (std::uint64_t q : all) primes.push_back(std::make_unique<Prime>(q, N));
  RnsBasis C, B;
  for (int i = 0; i < k; ++i) C.push_back(primes[i].get());
  for (int j = 0; j < 2; ++j) B.push_back(primes[k + j].get());
  ZZ Q(1);
  std::printf("basis C (the modulus Q): %d primes of %d bits, each = 1 mod 2N = %llu\n", k, bits,
              (unsigned long long)(2 * N));
  for (int i = 0; i < k; ++i) {
    std::printf("  q_%d = %llu  (q mod 2N = %llu)\n", i, (unsigned long long)all[i],
                (unsigned long long)(all[i] % (2 * N)));
    Q *= to_zz(all[i]);
  }
  std::printf("log2 Q = %.2f bits, held as %d words\n", NTL::log(Q) / std::log(2.0), k);

  // 2. A big x < Q, its residues, and the CRT reconstruction (NTL ZZ is the big-integer oracle).
  NTL::SetSeed(ZZ(2));
  const ZZ x = NTL::RandomBnd(Q), y = NTL::RandomBnd(Q);
  std::vector<std::uint64_t> xr(k), yr(k);
  for (int i = 0; i < k; ++i) {
    xr[i] = to_u64(x % to_zz(all[i]));
    yr[i] = to_u64(y % to_zz(all[i]));
  }
  std::ostringstream xs_text;
  xs_text << x;
  std::printf("x = %s\n", xs_text.str().c_str());
  for (int i = 0; i < k; ++i) std::printf("  x mod q_%d = %llu\n", i, (unsigned long long)xr[i]);
  ZZ rebuilt(0);
  for (int i = 0; i < k; ++i) {
    const ZZ qi = to_zz(all[i]), qhat = Q / qi;
    const ZZ qhat_inv = NTL::InvMod(qhat % qi, qi);           // [q̂_i^{-1}]_{q_i}
    rebuilt += NTL::MulMod(to_zz(xr[i]), qhat_inv, qi) * qhat;  // [x_i·q̂_i^{-1}]_{q_i}·q̂_i
  }
  const ZZ overflow = rebuilt / Q;  // the sum is x + (this many)·Q before the final reduction
  rebuilt %= Q;
  std::printf("CRT sum before reduction = x + %ld·Q\n", NTL::conv<long>(overflow));
  const bool crt_ok = rebuilt == x;
  std::printf("CRT reconstruction equals x: %s\n", crt_ok ? "yes" : "NO");

  // 3. Arithmetic limb by limb.
  bool add_ok = true, mul_ok = true;
  const ZZ sum = (x + y) % Q, prod = NTL::MulMod(x, y, Q);
  for (int i = 0; i < k; ++i) {
    const Modulus& m = primes[i]->mod;
    add_ok &= add_mod(xr[i], yr[i], all[i]) == to_u64(sum % to_zz(all[i]));
    mul_ok &= mul_mod(xr[i], yr[i], m) == to_u64(prod % to_zz(all[i]));
  }
  std::printf("limb-wise sum equals (x + y) mod Q: %s\n", add_ok ? "yes" : "NO");
  std::printf("limb-wise product equals (x * y) mod Q: %s\n", mul_ok ? "yes" : "NO");

  // 4. Fast base conversion C → B of `samples` random values, and the exact one.
  //    Input layout: limb i holds the residues mod q_i of all samples (like an RnsPoly limb).
  std::vector<ZZ> xs(samples);
  std::vector<std::uint64_t> in(std::size_t(k) * samples), fast(2 * std::size_t(samples)),
      exact(2 * std::size_t(samples));
  for (int s = 0; s < samples; ++s) {
    xs[s] = NTL::RandomBnd(Q);
    for (int i = 0; i < k; ++i) in[std::size_t(i) * samples + s] = to_u64(xs[s] % to_zz(all[i]));
  }
  const BaseConverter conv(C, B);
  conv.convert(in.data(), fast.data(), samples);
  conv.convert_exact(in.data(), exact.data(), samples);

  // u = (out − x̃)/Q where x̃ is x's centred representative in (−Q/2, Q/2]; found modulo p_0.
  const ZZ p0 = to_zz(all[k]), p1 = to_zz(all[k + 1]);
  const ZZ q_inv_p0 = NTL::InvMod(Q % p0, p0);
  std::map<long, int> histogram;
  int exact_ok = 0, u_consistent = 0;
  long u_min = 0, u_max = 0;
  for (int s = 0; s < samples; ++s) {
    const ZZ xc = 2 * xs[s] > Q ? xs[s] - Q : xs[s];  // centred
    ZZ u = NTL::MulMod(((to_zz(fast[s]) - xc) % p0 + p0) % p0, q_inv_p0, p0);
    if (2 * u > p0) u -= p0;
    const long ul = NTL::conv<long>(u);
    ++histogram[ul];
    u_min = std::min(u_min, ul);
    u_max = std::max(u_max, ul);
    // The same u must explain the second target prime too: out_1 = x̃ + u·Q (mod p_1).
    u_consistent += to_zz(fast[samples + s]) == ((xc + u * Q) % p1 + p1) % p1;
    const bool e0 = to_zz(exact[s]) == (xc % p0 + p0) % p0;
    const bool e1 = to_zz(exact[samples + s]) == (xc % p1 + p1) % p1;
    exact_ok += e0 && e1;
  }
  std::printf("fast conversion to 2 new primes, %d samples: out = x + u*Q with u in [%ld, %ld]\n",
              samples, u_min, u_max);
  for (const auto& [u, count] : histogram) std::printf("  u = %+ld: %d samples\n", u, count);
  std::printf("the same u explains both target primes: %d of %d\n", u_consistent, samples);
  const bool u_small = 2 * std::max(-u_min, u_max) <= k;
  std::printf("all |u| <= k/2 = %.1f: %s\n", k / 2.0, u_small ? "yes" : "NO");
  std::printf("exact conversion equals x mod p: %d of %d\n", exact_ok, samples);
  return crt_ok && add_ok && mul_ok && u_small && u_consistent == samples && exact_ok == samples ? 0 : 1;
}

// Tutorial 03 — the canonical embedding and encoding
//
// Goal: see how a vector of N/2 complex numbers becomes ONE integer polynomial m(X) of degree < N:
//       m is the polynomial whose values at the roots ζ^(5^j) of X^N + 1 are Δ·z_j, rounded to
//       integer coefficients. Decoding evaluates m at the same roots and divides by Δ.
// Read alongside: [CKKS17], the encoding and decoding maps Ecd/Dcd through the
//       canonical embedding σ and the projection π (restated in [FHETB, §D-3.1]; the isomorphism
//       C^{N/2} ↔ R[X]/(X^N + 1) in [FHETB, § ]); [HEAAN] Ring::EMB for the special FFT.
//       In this project: ckks/encoder.h (the special FFT), docs/notation.md ("Canonical embedding",
//       "Slots", "Rotation group").
// What to observe:
//   1. A real vector gives a polynomial with real (here: integer) coefficients of size ≈ Δ·|z|.
//   2. Evaluating m by hand at ζ^(5^j) gives back Δ·z_j, and at the conjugate root ζ^(−5^j) gives
//      Δ·conj(z_j): the other N/2 roots carry no new information (conjugate symmetry), which is
//      why N coefficients hold N/2 complex slots.
//   3. The powers 5^j mod 2N (j < N/2) and their negatives are exactly the N odd residues mod 2N,
//      i.e. all the roots of X^N + 1. Ordering slots by powers of 5 makes X ↦ X^5 a rotation
//      (tutorial 07).
//   4. The only error of encode→decode is the rounding of the coefficients to integers: the
//      precision grows one bit per bit of Δ.
//   5. With n < N/2 slots ("sparse"), m only uses the coefficients at multiples of N/(2n), and
//      decoding all N/2 slots shows the n values repeated.
// Exercises (expected observations in docs/labs/03_encoding.md):
//   a. Add the imaginary part 1 to every slot of z = (1, 2, …, 8) (edit step 1): which coefficients
//      change, and by how much? (hint: (ζ^(5^j))^{N/2} = i for every j.)
//   b. Run the Δ sweep at --log-n 4 and --log-n 12: by how many bits does the precision at the
//      same Δ drop, and why (how many rounding errors land in one slot)?
//   c. Encode z = (1, 0, 0, …, 0) (one slot set): how many coefficients are non-zero?
//
// Encoding uses no key, so security plays no role here; the tiny default ring (N = 16, so that
// every coefficient can be printed) is only accepted through Params::allow_insecure, and the
// Context prints a warning saying so.
//
// Usage: tutorial_03_encoding [--log-n L]
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/encoder.h"
#include "ckks/precision.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using cd = std::complex<double>;

namespace {

/// m(ζ^k) / Δ for the integer coefficients m (ζ = e^{iπ/N}), evaluated term by term: O(N).
cd evaluate_at_root(const std::vector<long double>& m, std::uint64_t k, double delta) {
  const std::size_t N = m.size();
  std::complex<long double> acc = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const std::uint64_t e = (k * i) % (2 * N);
    acc += m[i] * std::polar<long double>(1.0L, std::acos(-1.0L) * e / N);
  }
  return cd(static_cast<double>(acc.real() / delta), static_cast<double>(acc.imag() / delta));
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 03 — the canonical embedding and encoding");
  int log_n = 4;
  options.add("--log-n", log_n, "ring degree N = 2^L", 2, 14);
  if (const auto code = options.parse(argc, argv)) return *code;
  Params params;
  params.log_n = log_n;
  params.log_q = {60, 60};  // Q_1 ≈ 2^120: room for every Δ of the sweep below
  params.log_p = {60};
  params.log_scale = 20;
  params.allow_insecure = true;
  const ContextPtr ctx = Context::create(params);
  const Encoder encoder(ctx);
  const std::size_t N = ctx->n(), slots = ctx->max_slots();
  const int level = ctx->max_level();
  std::printf("ring degree N = %zu, slots N/2 = %zu, %s\n", N, slots, params.describe().c_str());
  std::printf("(no key is used: security is not the question here; N < 2^10 is accepted through "
              "allow_insecure)\n\n");

  // 1. A real vector and its integer coefficients.
  const double delta = std::ldexp(1.0, 20);
  std::vector<double> z(slots);
  for (std::size_t j = 0; j < slots; ++j) z[j] = double(j + 1);
  const Plaintext pt = encoder.encode(z, level, delta);
  const std::vector<long double> m = encoder.coefficients(pt);
  std::printf("1. z = (1, 2, ..., %zu) encoded with scale Delta = 2^20\n", slots);
  const std::size_t show = N <= 32 ? N : 8;
  for (std::size_t i = 0; i < show; ++i)
    std::printf("   m_%-2zu = %12.0Lf   m_%zu / Delta = %+.6Lf\n", i, m[i], i, m[i] / delta);
  if (show < N) std::printf("   ... (%zu more)\n", N - show);

  // 2. Evaluate m by hand at the roots ζ^(5^j) and at their conjugates ζ^(−5^j).
  std::printf("\n2. m evaluated at the roots of X^N + 1 (zeta = e^{i pi/N}):\n");
  double worst_slot = 0, worst_conj = 0;
  std::uint64_t g = 1;  // 5^j mod 2N
  std::vector<cd> zc(slots);
  for (std::size_t j = 0; j < slots; ++j) zc[j] = cd(std::cos(0.3 * j), std::sin(0.7 * j + 1));
  const std::vector<long double> mc = encoder.coefficients(encoder.encode(zc, level, delta));
  for (std::size_t j = 0; j < slots; ++j) {
    const cd at = evaluate_at_root(m, g, delta);
    const cd at_c = evaluate_at_root(mc, g, delta), at_conj = evaluate_at_root(mc, 2 * N - g, delta);
    worst_slot = std::max({worst_slot, std::abs(at - z[j]), std::abs(at_c - zc[j])});
    worst_conj = std::max(worst_conj, std::abs(at_conj - std::conj(zc[j])));
    if (j < 8)
      std::printf("   slot %-2zu  root zeta^%-4llu  m(root)/Delta = %+.6f%+.6fi   z_%zu = %+.1f\n", j,
                  (unsigned long long)g, at.real(), at.imag(), j, z[j]);
    g = (g * 5) % (2 * N);
  }
  // N coefficients, each rounded by at most 1/2, each multiplied by a root of modulus 1:
  // the error in one slot is at most N/(2Δ) (a worst case; typically about √N/(2Δ)).
  const double bound = N / (2 * delta);
  std::printf("m(zeta^(5^j))/Delta equals z_j in every slot (max error %.2e, bound N/(2 Delta) = %.2e): %s\n",
              worst_slot, bound, worst_slot <= bound ? "yes" : "NO");
  std::printf("conjugate symmetry, m(zeta^(-5^j))/Delta = conj(z_j) for a complex z (max error %.2e): %s\n",
              worst_conj, worst_conj <= bound ? "yes" : "NO");

  // 3. The rotation group: ±5^j cover all odd residues mod 2N.
  std::vector<int> hit(2 * N, 0);
  g = 1;
  for (std::size_t j = 0; j < slots; ++j) {
    ++hit[g];
    ++hit[2 * N - g];
    g = (g * 5) % (2 * N);
  }
  bool covers = true;
  for (std::size_t r = 0; r < 2 * N; ++r) covers &= hit[r] == (r % 2 == 1 ? 1 : 0);
  std::printf("\n3. {5^j, -5^j mod 2N : j < N/2} is every odd residue mod 2N exactly once: %s\n",
              covers ? "yes" : "NO");

  // 4. Precision of encode → decode as Δ grows.
  std::printf("\n4. encode -> decode of %zu complex slots with |Re|, |Im| <= 1:\n", slots);
  std::vector<cd> r(slots);
  for (std::size_t j = 0; j < slots; ++j) r[j] = cd(std::sin(1.0 + 3.7 * j), std::cos(2.0 + 1.3 * j));
  double prec40 = 0;
  for (int log_delta : {10, 20, 30, 40, 50}) {
    const Plaintext p = encoder.encode(r, level, std::ldexp(1.0, log_delta));
    const double bits = precision_bits(encoder.decode_complex(p), r);
    if (log_delta == 40) prec40 = bits;
    std::printf("   log Delta = %d: precision %.1f bits\n", log_delta, bits);
  }
  std::printf("encode/decode precision at Delta = 2^40: %.1f bits\n", prec40);

  // 5. Sparse packing: n = 2 slots.
  const std::size_t n = 2, gap = N / (2 * n);
  const std::vector<double> two = {0.5, -1.25};
  Plaintext sparse = encoder.encode(two, level, delta, n);
  const std::vector<long double> ms = encoder.coefficients(sparse);
  bool only_multiples = true;
  for (std::size_t i = 0; i < N; ++i) only_multiples &= (i % gap == 0) || ms[i] == 0;
  std::printf("\n5. z = (0.5, -1.25) in n = 2 slots: coefficients");
  for (std::size_t i = 0; i < N && i < 32; ++i) std::printf(" %.0Lf", ms[i]);
  std::printf("%s\n", N > 32 ? " ..." : "");
  std::printf("nonzero coefficients only at multiples of N/(2n) = %zu: %s\n", gap, only_multiples ? "yes" : "NO");
  sparse.slots = slots;  // read the same polynomial as a full-slot plaintext
  const std::vector<double> full = encoder.decode(sparse);
  double worst_rep = 0;
  for (std::size_t j = 0; j < slots; ++j) worst_rep = std::max(worst_rep, std::abs(full[j] - two[j % n]));
  std::printf("decoded over all N/2 slots: %.4f %.4f %.4f %.4f ...\n", full[0], full[1], full[2], full[3]);
  std::printf("the 2 values repeat N/(2n) = %zu times over the N/2 slots: %s\n", gap,
              worst_rep < 1e-4 ? "yes" : "NO");
  return worst_slot <= bound && worst_conj <= bound && covers && only_multiples && worst_rep < 1e-4 ? 0 : 1;
}

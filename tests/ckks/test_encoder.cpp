// Encoder: canonical embedding by the special FFT, checked against the naive evaluation of the
// plaintext polynomial at the roots ζ^(5^j) [CKKS17, Ecd; FHETB, §D-3.1].
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "ckks/errors.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {
// z_j = m(ζ^(5^j)) / Δ with ζ = e^{iπ/N}, straight from the integer coefficients.
cvec naive_decode(const Encoder& enc, const Plaintext& pt, std::size_t N) {
  const auto c = enc.coefficients(pt);
  cvec z(pt.slots);
  std::uint64_t e = 1;
  for (std::size_t j = 0; j < pt.slots; ++j) {
    std::complex<long double> acc = 0;
    for (std::size_t k = 0; k < N; ++k) {
      const long double angle = std::numbers::pi_v<long double> * static_cast<long double>((e * k) % (2 * N)) / N;
      acc += c[k] * std::complex<long double>(std::cos(angle), std::sin(angle));
    }
    z[j] = std::complex<double>(acc / static_cast<long double>(pt.scale));
    e = (e * 5) % (2 * N);
  }
  return z;
}
}  // namespace

TEST_CASE("ckks/encoder: special FFT agrees with the naive canonical embedding (N = 32)") {
  auto ctx = Context::create(test::tiny_insecure());
  Encoder enc(ctx);
  const double scale = std::exp2(30);
  for (std::size_t slots : {1u, 2u, 4u, 8u, 16u}) {
    CAPTURE(slots);
    const cvec z = test::random_complex(slots, 11 + slots);
    const Plaintext pt = enc.encode(z, ctx->max_level(), scale, slots);
    const cvec naive = naive_decode(enc, pt, ctx->n());
    CHECK(precision_bits(naive, z) > 24);                       // encoding inverts the embedding
    CHECK(precision_bits(enc.decode_complex(pt), naive) > 40);  // FFT decode = naive decode
    // Sparse packing: only coefficients at multiples of N/(2·slots) are used.
    const auto c = enc.coefficients(pt);
    const std::size_t gap = ctx->n() / (2 * slots);
    for (std::size_t k = 0; k < ctx->n(); ++k)
      if (k % gap) CHECK(c[k] == 0);
  }
}

TEST_CASE("ckks/encoder: special_fft and special_ifft are inverse") {
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  cvec v = test::random_complex(4096, 3);
  cvec w = v;
  enc.special_ifft(w);
  enc.special_fft(w);
  CHECK(precision_bits(w, v) > 45);
}

TEST_CASE("ckks/encoder: round trip at every level, full and sparse slots, real and complex") {
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const double scale = ctx->default_scale();
  for (int level = 0; level <= ctx->max_level(); ++level) {
    const cvec z = test::random_complex(ctx->max_slots(), 100 + level);
    CHECK(precision_bits(enc.decode_complex(enc.encode(z, level, scale)), z) > 30);
  }
  const auto r = test::random_real(64, 7, 10.0);
  const auto back = enc.decode(enc.encode(r, 1, scale, 64));
  CHECK(back.size() == 64);
  CHECK(precision_bits(back, r) > 28);
  // Fewer values than slots: the rest decode to zero.
  const auto few = enc.decode(enc.encode(std::vector<double>{1.5, -2.25}, 0, scale, 8));
  CHECK(few.size() == 8);
  CHECK(std::fabs(few[0] - 1.5) < 1e-8);
  CHECK(std::fabs(few[1] + 2.25) < 1e-8);
  for (int i = 2; i < 8; ++i) CHECK(std::fabs(few[i]) < 1e-8);
}

TEST_CASE("ckks/encoder: values read in place equal their zero-padded complex form bit for bit") {
  // encode reads the caller's values in place (no zero-padded copy; real values without a complex
  // copy): fewer values than slots in each of the first stage's three ranges (both halves given,
  // the lower half only, part of the lower half), at full and sparse slots.
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const double scale = ctx->default_scale();
  const std::size_t n_full = ctx->max_slots();
  for (std::size_t slots : {n_full, std::size_t{8}, std::size_t{2}}) {
    for (std::size_t m : {slots, slots - 1, slots / 2 + 1, slots / 2, std::size_t{1}, std::size_t{0}}) {
      const auto r = test::random_real(m, 40 + m, 3.0);
      cvec padded(slots, {0, 0});
      for (std::size_t j = 0; j < m; ++j) padded[j] = {r[j], 0};
      const Plaintext a = enc.encode(r, 1, scale, slots);
      const Plaintext b = enc.encode(padded, 1, scale, slots);
      const Plaintext c = enc.encode(cvec(padded.begin(), padded.begin() + static_cast<std::ptrdiff_t>(m)), 1, scale, slots);
      CAPTURE(slots);
      CAPTURE(m);
      CHECK(enc.coefficients(a) == enc.coefficients(b));
      CHECK(enc.coefficients(c) == enc.coefficients(b));
    }
  }
}

TEST_CASE("ckks/encoder: repeated values take the subring path and give the whole transform's integers") {
  // z_j = z_{j+p} for a power of two p: encode transforms p values and every limb's NTT has 2p
  // coefficients (NttTables::forward_subring). The reference is the whole transform, special_ifft on
  // all the slots, then rounding u_i·Δ: coefficient i·gap = round(Re u_i·Δ), (i + slots)·gap =
  // round(Im u_i·Δ), gap = N/(2·slots). Equal as integers for every period, real and complex, at full
  // and sparse slots; a vector that repeats except in its last value (the whole path) too; and the
  // plaintext still decodes to every slot.
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const double scale = ctx->default_scale();
  const std::size_t N = ctx->n();
  for (std::size_t slots : {ctx->max_slots(), std::size_t{64}}) {
    for (std::size_t period : {slots, slots / 2, slots / 4, std::size_t{8}, std::size_t{2}, std::size_t{1}}) {
      for (bool complex_values : {false, true}) {
        for (bool break_last : {false, true}) {
          CAPTURE(slots);
          CAPTURE(period);
          CAPTURE(complex_values);
          CAPTURE(break_last);
          const cvec base = test::random_complex(period, 300 + period);
          cvec z(slots);
          for (std::size_t j = 0; j < slots; ++j)
            z[j] = complex_values ? base[j % period] : std::complex<double>(base[j % period].real(), 0);
          if (break_last) z.back() += std::complex<double>(0.25, 0);
          std::vector<double> re(slots);
          for (std::size_t j = 0; j < slots; ++j) re[j] = z[j].real();
          const Plaintext pt = complex_values ? enc.encode(z, 2, scale, slots) : enc.encode(re, 2, scale, slots);
          CHECK(pt.slots == slots);
          cvec u = z;
          enc.special_ifft(u);
          std::vector<long double> expected(N, 0);
          const std::size_t gap = N / (2 * slots);
          for (std::size_t i = 0; i < slots; ++i) {
            expected[i * gap] = std::nearbyint(u[i].real() * scale);
            expected[(i + slots) * gap] = std::nearbyint(u[i].imag() * scale);
          }
          CHECK(enc.coefficients(pt) == expected);
          CHECK(precision_bits(enc.decode_complex(pt), z) > 25);
        }
      }
    }
  }
}

TEST_CASE("ckks/encoder: the limbs below 2^52 hold the same integers as q_0's exact reduction") {
  // Full slots reduce each coefficient modulo a prime below 2^52 in double arithmetic
  // (reduce_exact_double); q_0 (60 bits) takes the 64-bit integer path. Coefficients up to ±2^56,
  // far past the 40-bit primes, so every correction of the double path runs: each limb's residue
  // must be the centred residue of q_0 (the integer itself, |c| < q_0/2) reduced modulo q_l.
  auto ctx = Context::create(test::small_secure());  // q {60, 40, 40}
  Encoder enc(ctx);
  const int level = ctx->max_level();
  const auto& basis = ctx->basis_q(level);
  REQUIRE(basis[0]->mod.q > (std::uint64_t{1} << 52));
  cvec z = test::random_complex(ctx->max_slots(), 77);
  for (auto& x : z) x *= std::exp2(16);
  const Plaintext pt = enc.encode(z, level, std::exp2(40));
  const std::size_t N = ctx->n();
  std::vector<std::vector<std::uint64_t>> limbs(basis.size());
  for (std::size_t l = 0; l < basis.size(); ++l) {
    limbs[l].assign(pt.poly.limb(l), pt.poly.limb(l) + N);
    basis[l]->ntt.inverse(limbs[l].data());
  }
  const std::uint64_t q0 = basis[0]->mod.q;
  std::size_t wrong = 0, past_q = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const std::uint64_t r0 = limbs[0][i];
    const __int128 c = r0 > q0 / 2 ? static_cast<__int128>(r0) - static_cast<__int128>(q0) : static_cast<__int128>(r0);
    for (std::size_t l = 1; l < basis.size(); ++l) {
      const auto q = static_cast<__int128>(basis[l]->mod.q);
      past_q += (c >= q || -c >= q);
      wrong += static_cast<__int128>(limbs[l][i]) != ((c % q) + q) % q;
    }
  }
  CHECK(past_q > N);  // most coefficients exceed the 40-bit primes
  CHECK(wrong == 0);
}

TEST_CASE("ckks/encoder: constants fill every slot, and large values use exact reduction") {
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const auto z = enc.decode_complex(enc.encode_constant({0.75, -1.5}, 2, ctx->default_scale()));
  for (auto& x : z) CHECK(std::abs(x - std::complex<double>(0.75, -1.5)) < 1e-9);
  // |value|·Δ = 2^70 > 2^63: coefficients are reduced exactly from the double.
  const std::vector<double> big = {std::exp2(30), -std::exp2(29)};
  const auto back = enc.decode(enc.encode(big, 2, ctx->default_scale(), 2));
  CHECK(std::fabs(back[0] - big[0]) < 1e-3);
  CHECK(std::fabs(back[1] - big[1]) < 1e-3);
}

TEST_CASE("ckks/encoder: the automorphism X -> X^5 rotates the slots by one") {
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const cvec z = test::random_complex(ctx->max_slots(), 5);
  Plaintext pt = enc.encode(z, 0, ctx->default_scale());
  pt.poly = math::automorphism(pt.poly, 5, ctx->basis_q(0));
  const cvec r = enc.decode_complex(pt);
  cvec want(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) want[i] = z[(i + 1) % z.size()];
  CHECK(precision_bits(r, want) > 30);
  pt.poly = math::automorphism(pt.poly, ctx->conjugation_element(), ctx->basis_q(0));
  const cvec c = enc.decode_complex(pt);
  for (std::size_t i = 0; i < z.size(); ++i) want[i] = std::conj(want[i]);
  CHECK(precision_bits(c, want) > 30);
}

TEST_CASE("ckks/encoder: bad input is refused with a clear error") {
  auto ctx = Context::create(test::small_secure());
  Encoder enc(ctx);
  const double scale = ctx->default_scale();
  std::vector<double> v(8, 1.0);
  v[3] = std::nan("");
  CHECK_THROWS_WITH_AS(enc.encode(v, 0, scale), doctest::Contains("value 3 is NaN"), InputError);
  v[3] = INFINITY;
  CHECK_THROWS_AS(enc.encode(v, 0, scale), InputError);
  // Found wherever it is: the last value of the upper half, an imaginary part.
  cvec c(8, {1.0, 0.5});
  c[7] = {1.0, -INFINITY};
  CHECK_THROWS_WITH_AS(enc.encode(c, 0, scale), doctest::Contains("value 7 is NaN or infinite"), InputError);
  // Finite values whose transform overflows a double: named as a scale problem, not a NaN.
  CHECK_THROWS_WITH_AS(enc.encode(std::vector<double>(8, 1e308), 0, scale), doctest::Contains("overflows"),
                       ScaleError);
  CHECK_THROWS_AS(enc.encode(std::vector<double>(9, 1.0), 0, scale, 8), InputError);
  CHECK_THROWS_AS(enc.encode(std::vector<double>(4, 1.0), 0, scale, 6), ParameterError);
  CHECK_THROWS_AS(enc.encode(std::vector<double>(4, 1.0), 3, scale), LevelError);
  // |value|·Δ = 2^50·2^40 reaches Q_0/2 = 2^59.
  CHECK_THROWS_WITH_AS(enc.encode(std::vector<double>{std::exp2(50)}, 0, scale, 1),
                       doctest::Contains("headroom"), ScaleError);
  CHECK_THROWS_AS(enc.encode_constant(std::nan(""), 0, scale), InputError);
}

#include "ckks/encoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>
#include <string>

#include "ckks/math/errors.h"
#include "ckks/math/threads.h"

namespace ckks {

using cplx = std::complex<double>;
using math::u64;

namespace {

bool is_pow2(std::size_t x) { return x && !(x & (x - 1)); }

void bit_reverse_permute(std::vector<cplx>& v) {
  const std::size_t n = v.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(v[i], v[j]);
  }
}

// x (an integer-valued double, |x| < 2^1023) reduced exactly modulo q: x = m·2^e with |m| < 2^53.
u64 reduce_double(double x, const math::Modulus& m) {
  const bool neg = x < 0;
  double a = std::fabs(x);
  u64 r;
  if (a < 9223372036854775808.0) {  // 2^63
    r = math::reduce_64(static_cast<u64>(a), m);
  } else {
    int e;
    const double frac = std::frexp(a, &e);                         // a = frac·2^e, frac ∈ [0.5, 1)
    const u64 mant = static_cast<u64>(std::ldexp(frac, 53));     // a = mant·2^(e−53), exact
    r = math::mul_mod(math::reduce_64(mant, m), math::pow_mod(2, static_cast<u64>(e - 53), m), m);
  }
  return neg ? math::neg_mod(r, m.q) : r;
}

// x (an integer-valued double, |x| < 2^63) reduced exactly modulo q, 2^12 < q < 2^52, in double
// arithmetic, so that a loop of them vectorises. |x/q| < 2^51, and x·(1/q) has a relative error below
// 2^−52, so t = ⌊x·(1/q)⌋ is ⌊x/q⌋ or one off; x − t·q is then an integer in (−q, 2q), |·| < 2^53,
// which the fused multiply-add computes exactly (t·q is not rounded, and the exact difference is
// representable); one correction each way brings it into [0, q). The floor is a truncation through
// int64 and a correction (GCC 12 does not vectorise std::floor without -ffast-math). The same
// residue as reduce_64 on |x| followed by negation for x < 0 (tests/ckks/test_encoder.cpp).
inline double reduce_exact_double(double x, double q, double q_inv) {
  const double y = x * q_inv;
  double t = static_cast<double>(static_cast<std::int64_t>(y));  // trunc(y), |y| < 2^51
  t = t > y ? t - 1 : t;                                          // ⌊y⌋
  double r = std::fma(-t, q, x);
  r = r < 0 ? r + q : r;
  return r >= q ? r - q : r;
}

// out[2k] = a[k] mod q and out[2k + 1] = b[k] mod q for k < n (reduce_exact_double): one pass over a
// limb's even and odd coefficients, written with restrict pointers and no branches so that it
// vectorises (AVX-512 where the build targets it).
void reduce_pairs(const double* __restrict a, const double* __restrict b, std::uint64_t* __restrict out, std::size_t n,
                  double q, double q_inv) {
  for (std::size_t k = 0; k < n; ++k) {
    out[2 * k] = static_cast<std::uint64_t>(static_cast<std::int64_t>(reduce_exact_double(a[k], q, q_inv)));
    out[2 * k + 1] = static_cast<std::uint64_t>(static_cast<std::int64_t>(reduce_exact_double(b[k], q, q_inv)));
  }
}

}  // namespace

Encoder::Encoder(ContextPtr context) : ctx_(std::move(context)) {
  const std::size_t two_n = 2 * ctx_->n();
  roots_.resize(two_n + 1);
  for (std::size_t k = 0; k <= two_n; ++k) {
    const double angle = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(two_n);
    roots_[k] = cplx(std::cos(angle), std::sin(angle));
  }
  rot_group_.resize(ctx_->n() / 2);
  u64 g = 1;
  for (auto& r : rot_group_) { r = g; g = (g * 5) % two_n; }
  tw_re_.resize(ctx_->n() / 2);
  tw_im_.resize(ctx_->n() / 2);
  for (std::size_t len = 2; len <= ctx_->n() / 2; len <<= 1) {
    const std::size_t half = len / 2, m = 4 * len;
    for (std::size_t j = 0; j < half; ++j) {
      const cplx w = roots_[(rot_group_[j] & (m - 1)) * (two_n / m)];
      tw_re_[half + j] = w.real();
      tw_im_[half + j] = w.imag();
    }
  }
}

// Evaluation at ξ_j = ζ_{4n}^(5^j): a radix-2 decimation-in-time FFT whose twiddles are taken at the
// rotation-group exponents instead of consecutive ones. After bit reversal, the stage of length
// `len` combines two half-length evaluations at the points ξ^2 (which are the len/2-point set of
// the next-smaller problem) using the twiddle ζ_{4·len}^(5^j).
void Encoder::special_fft(std::vector<cplx>& v) const {
  const std::size_t n = v.size();
  bit_reverse_permute(v);
  // Real and imaginary parts in separate arrays, so the butterflies vectorise.
  std::vector<double> re(n), im(n);
  for (std::size_t i = 0; i < n; ++i) { re[i] = v[i].real(); im[i] = v[i].imag(); }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len / 2;
    const double* wr = tw_re_.data() + half;  // ζ_{4·len}^(5^j)
    const double* wi = tw_im_.data() + half;
    for (std::size_t i = 0; i < n; i += len) {
      double *ur = re.data() + i, *ui = im.data() + i, *xr = ur + half, *xi = ui + half;
      for (std::size_t j = 0; j < half; ++j) {
        const double tr = xr[j] * wr[j] - xi[j] * wi[j], ti = xr[j] * wi[j] + xi[j] * wr[j];
        xr[j] = ur[j] - tr;
        xi[j] = ui[j] - ti;
        ur[j] += tr;
        ui[j] += ti;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) v[i] = cplx(re[i], im[i]);
}

namespace {

// The butterflies of the inverse special FFT's stages of length len = size, size/2, …, 2 on one block
// of `size` values (re, im: its real and imaginary parts); tw_re/tw_im as Encoder's twiddles_.
void ifft_block(double* re, double* im, std::size_t size, const double* tw_re, const double* tw_im) {
  for (std::size_t len = size; len >= 2; len >>= 1) {
    const std::size_t half = len / 2;
    const double* wr = tw_re + half;  // used conjugated: ζ_{4·len}^(−5^j)
    const double* wi = tw_im + half;
    for (std::size_t i = 0; i < size; i += len) {
      double *ar = re + i, *ai = im + i, *br = ar + half, *bi = ai + half;
      for (std::size_t j = 0; j < half; ++j) {
        const double dr = ar[j] - br[j], di = ai[j] - bi[j];
        ar[j] += br[j];
        ai[j] += bi[j];
        br[j] = dr * wr[j] + di * wi[j];
        bi[j] = di * wr[j] - dr * wi[j];
      }
    }
  }
}

// Coefficient operations (threads.h) of the special FFT on n values: n/2·log2(n) complex
// butterflies of ≈ 5 operations each — measured, on the machine of threads.h's header comment,
// 159 µs for special_ifft at n = 2^13 (53,248 butterflies, 3.0 ns each) against 0.63 ns per
// NTT butterfly.
std::size_t fft_work(std::size_t n) { return 5 * math::ntt_work(n); }

}  // namespace

namespace {

// Real and imaginary parts of an input value: the transform reads complex values (encode of
// std::complex, special_ifft) or real ones (encode of double, whose imaginary parts are 0) in place.
inline double re_of(const cplx& x) { return x.real(); }
inline double im_of(const cplx& x) { return x.imag(); }
inline double re_of(double x) { return x; }
inline double im_of(double) { return 0.0; }

// The largest finite double: |a| <= kMaxDouble is false exactly for ±∞ and NaN.
constexpr double kMaxDouble = std::numeric_limits<double>::max();

// The inverse special FFT of v[0..n) without its last two steps (division by n, bit reversal), where
// v_j = z[j] for j < m and 0 for m ≤ j < n (m ≤ n; the caller's values are read in place, never
// copied into a zero-padded buffer): on return re[k] + i·im[k] = n·u_{brv(k)}, brv reversing
// log2(n) bits. The first stage (length n) pairs value j with j + n/2 and writes a + b to the first
// half and (a − b)·w̄ to the second; every later stage stays inside one half. So the transform is
// two independent items, one per output half: its half of the first stage (reading both halves of
// v, writing only its own) and then ifft_block on that half — two threads split it without a
// barrier, and each value sees the same operations in the same order whatever the thread count
// (the missing values are skipped as exact zeros: a + 0 = a, (a − 0)·w̄ = a·w̄; outputs equal those
// of a zero-padded input up to the sign of a zero, which the rounding to integers does not see). finish(h,
// begin, end) runs in item h right after it, on the same thread, with [begin, end) the indices of
// that half (n = 1: one item).
template <class T, class Finish>
void ifft_in_halves(const T* z, std::size_t m, std::size_t n, double* re, double* im, const double* tw_re,
                    const double* tw_im, Finish&& finish) {
  if (n == 1) {
    re[0] = m > 0 ? re_of(z[0]) : 0.0;
    im[0] = m > 0 ? im_of(z[0]) : 0.0;
    finish(std::size_t{0}, std::size_t{0}, std::size_t{1});
    return;
  }
  const std::size_t half = n / 2;
  const std::size_t both = m > half ? m - half : 0;  // j < both: v_j and v_{j+half} given
  const std::size_t one = std::min(m, half);         // both ≤ j < one: v_j given, v_{j+half} = 0
  const double* wr = tw_re + half;
  const double* wi = tw_im + half;
  math::parallel_for_limbs(2, fft_work(n), [&](std::size_t h) {
    double *r = re + h * half, *i = im + h * half;
    const T* hi = both > 0 ? z + half : z;  // z may be null when m = 0: no offset from it then
    if (h == 0) {
      for (std::size_t j = 0; j < both; ++j) {
        r[j] = re_of(z[j]) + re_of(hi[j]);
        i[j] = im_of(z[j]) + im_of(hi[j]);
      }
      for (std::size_t j = both; j < one; ++j) {
        r[j] = re_of(z[j]);
        i[j] = im_of(z[j]);
      }
    } else {
      for (std::size_t j = 0; j < both; ++j) {
        const double dr = re_of(z[j]) - re_of(hi[j]), di = im_of(z[j]) - im_of(hi[j]);
        r[j] = dr * wr[j] + di * wi[j];
        i[j] = di * wr[j] - dr * wi[j];
      }
      for (std::size_t j = both; j < one; ++j) {
        const double dr = re_of(z[j]), di = im_of(z[j]);
        r[j] = dr * wr[j] + di * wi[j];
        i[j] = di * wr[j] - dr * wi[j];
      }
    }
    std::fill(r + one, r + half, 0.0);
    std::fill(i + one, i + half, 0.0);
    ifft_block(r, i, half, tw_re, tw_im);
    finish(h, h * half, (h + 1) * half);
  });
}

}  // namespace

// The exact inverse of special_fft: the stages in reverse order with conjugate twiddles
// (ifft_in_halves, on two threads when they pay), then division by n and bit reversal.
void Encoder::special_ifft(std::vector<cplx>& v) const {
  const std::size_t n = v.size();
  std::vector<double> re(n), im(n);
  ifft_in_halves(v.data(), n, n, re.data(), im.data(), tw_re_.data(), tw_im_.data(),
                 [](std::size_t, std::size_t, std::size_t) {});
  const double inv = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = cplx(re[i] * inv, im[i] * inv);
  bit_reverse_permute(v);
}

template <class T>
Plaintext Encoder::encode_values(std::span<const T> z, int level, double scale, std::size_t slots,
                                 bool extended) const {
  const std::size_t N = ctx_->n();
  if (slots == 0) slots = N / 2;
  if (!is_pow2(slots) || slots > N / 2)
    throw ParameterError("encode: slot count " + std::to_string(slots) +
                         " is not a power of two ≤ N/2 = " + std::to_string(N / 2));
  if (z.size() > slots)
    throw InputError("encode: " + std::to_string(z.size()) + " values do not fit in " +
                     std::to_string(slots) + " slots; use more slots (≤ N/2) or a larger N");
  if (level < 0 || level > ctx_->max_level())
    throw LevelError("encode: level " + std::to_string(level) + " is outside [0, L = " +
                     std::to_string(ctx_->max_level()) + "]");
  if (!(scale >= 1) || !std::isfinite(scale))
    throw ScaleError("encode: scale " + std::to_string(scale) + " must be a finite value ≥ 1");

  // Values that repeat: if z fills the slots and z_j = z_{j+p} for a power of two p < slots, the
  // plaintext is the encoding of z_0..z_{p−1} in p slots, a polynomial of the subring Z[X^{N/(2p)}]
  // (header comment, sparse packing), bit for bit: in the transform below, the first stage of the
  // full input gives 2·z_j on one half and exact zeros on the other (the odd u_i), and the later
  // stages on that half are the p-slot transform's on 2·z, with the same twiddles; the factor 2 is
  // a power of two, exact through every operation, and removed exactly by 1/slots instead of 1/p.
  // So the transform runs on p values and every limb's NTT on 2p coefficients
  // (NttTables::forward_subring) instead of N. The plaintext still says `slots` slots: it decodes
  // to the repeated values. The check reads at most the values (NaN ≠ NaN: such a vector takes the
  // whole path, whose error names it).
  std::size_t n = slots;
  if (z.size() == slots)
    while (n > 1) {
      const std::size_t p = n / 2;
      bool repeats = true;
      for (std::size_t j = 0; j < p && repeats; ++j)
        repeats = re_of(z[j]) == re_of(z[j + p]) && im_of(z[j]) == im_of(z[j + p]);
      if (!repeats) break;
      n = p;
    }

  // u = special_ifft(z) as in special_ifft, but the division by n, the bit reversal, the rounding
  // to integers and the largest |value| run inside the transform's two halves (ifft_in_halves):
  // output k of half h (k = h·n/2 + k') is u_i for i = brv(k) = 2·brv'(k') + h (brv' on one bit
  // fewer), so half h holds exactly the slots of parity h and writes them, in slot order, to its own
  // part of `rounded`: Re u_{2m+h} at rounded[h·n/2 + m], Im at rounded[n + h·n/2 + m]. The same
  // operations on each value as special_ifft followed by rounding u_i·Δ; integers that fit in
  // int64 unless |value|·Δ ≥ 2^63 (then reduced exactly from the double, limb by limb). The values
  // are read in place (z[j] for j < z.size(), 0 after) and checked for NaN and ±∞ on the way out:
  // a non-finite input makes every output non-finite (each output is a sum over all inputs through
  // additions and products with twiddles, and ±∞ or NaN stays non-finite through both), so the
  // input scan that names the value runs only when an output is not finite.
  // Written whole by the two halves before they are read (no zero fill on the calling thread).
  const auto re_buf = std::make_unique_for_overwrite<double[]>(n);
  const auto im_buf = std::make_unique_for_overwrite<double[]>(n);
  const auto rounded_buf = std::make_unique_for_overwrite<double[]>(2 * n);
  double *re = re_buf.get(), *im = im_buf.get(), *rounded = rounded_buf.get();
  double half_max[2] = {0, 0};
  bool half_finite[2] = {true, true};
  const double inv = 1.0 / static_cast<double>(n);
  const std::size_t hs = std::max<std::size_t>(n / 2, 1);  // values per half (1 slot: one item)
  ifft_in_halves(z.data(), std::min(z.size(), n), n, re, im, tw_re_.data(), tw_im_.data(),
                 [&](std::size_t h, std::size_t begin, std::size_t end) {
                   double mx = 0;
                   bool finite = true;
                   double* out_re = rounded + h * hs;
                   double* out_im = out_re + n;
                   for (std::size_t k = begin, m = 0; k < end; ++k) {
                     const double a = re[k] * inv, b = im[k] * inv;
                     mx = std::max({mx, std::fabs(a), std::fabs(b)});
                     finite &= (std::fabs(a) <= kMaxDouble) & (std::fabs(b) <= kMaxDouble);  // false for NaN
                     out_re[m] = std::nearbyint(a * scale);
                     out_im[m] = std::nearbyint(b * scale);
                     std::size_t bit = hs >> 1;  // m ← brv'(brv'(m) + 1)
                     for (; m & bit; bit >>= 1) m ^= bit;
                     m |= bit;
                   }
                   half_max[h] = mx;
                   half_finite[h] = finite;
                 });
  if (!half_finite[0] || !half_finite[1]) {
    for (std::size_t i = 0; i < z.size(); ++i)
      if (!std::isfinite(re_of(z[i])) || !std::isfinite(im_of(z[i])))
        throw InputError("encode: value " + std::to_string(i) +
                         " is NaN or infinite; every value must be finite");
    throw ScaleError("encode: the values are so large that their transform overflows a double; "
                     "scale the values down");
  }

  // Headroom: every integer coefficient must stay below Q_ℓ/2 in absolute value.
  const auto& basis = ctx_->basis_q(level);
  const double log_q = math::log2_product(basis);
  const double max_abs = std::max(half_max[0], half_max[1]);
  if (max_abs > 0 && std::log2(max_abs * scale) >= log_q - 1)
    throw ScaleError("encode: |value|·scale = 2^" + std::to_string(std::log2(max_abs * scale)) +
                     " exceeds the modulus headroom Q_ℓ/2 = 2^" + std::to_string(log_q - 1) +
                     " at level " + std::to_string(level) +
                     "; lower the scale, scale the values down, or encode at a higher level");

  // The limbs are written whole by the loop below (on every thread), not zero-filled first here.
  // Extended: the same integers reduced modulo the special primes as well (basis_qp(ℓ) order).
  const auto& limb_basis = extended ? ctx_->basis_qp(level) : basis;
  Plaintext pt{ctx_, math::RnsPoly::uninitialized(N, limb_basis.size(), false), level, scale, slots};
  // The polynomial is m(X) = m'(X^gap) with m' of 2n coefficients: Re u_i is coefficient i of m'
  // (i·gap of m), Im u_i coefficient i + n.
  const int log_gap = std::countr_zero(N / (2 * n));
  const bool fits = max_abs * scale < 9.2e18;
  // One parallel loop over the limbs: each reduces the integers modulo its prime and transforms the
  // limb right away (while it is in cache), instead of a loop for the reduction and one for to_ntt.
  const std::size_t work = limb_basis.size() * (2 * n + math::ntt_work(2 * n) + N);
  math::parallel_for_limbs(limb_basis.size(), work, [&](std::size_t l) {
    const auto& m = limb_basis[l]->mod;
    std::uint64_t* dst = pt.poly.limb(l);  // m' in dst[0, 2n), then the N evaluations of m
    auto residue = [&](double x) {
      if (!fits) return reduce_double(x, m);
      const std::uint64_t mag = static_cast<std::uint64_t>(std::fabs(x));
      const std::uint64_t r = mag < m.q ? mag : math::reduce_64(mag, m);
      return x < 0 ? math::neg_mod(r, m.q) : r;
    };
    // Slot i = 2m + h is at rounded[h·hs + m] (parity-major, see above): Re u_i goes to coefficient
    // i of m', Im u_i to i + n.
    const std::size_t stride = n == 1 ? 0 : hs;  // one slot: its only value is at m = 0
    const double* even = rounded;
    const double* odd = even + stride;
    if (fits && m.q < (std::uint64_t{1} << 52) && m.q > (std::uint64_t{1} << 12) && n > 1) {
      // A prime below 2^52: the residues in double arithmetic (vectorised).
      const double q = static_cast<double>(m.q), q_inv = 1.0 / q;
      reduce_pairs(even, odd, dst, hs, q, q_inv);              // Re u_i → coefficient i
      reduce_pairs(even + n, odd + n, dst + n, hs, q, q_inv);  // Im u_i → coefficient i + n
    } else {
      for (std::size_t m = 0; m < hs; ++m) {
        dst[2 * m] = residue(even[m]);
        dst[2 * m + n] = residue(even[m + n]);
        if (n == 1) break;
        dst[2 * m + 1] = residue(odd[m]);
        dst[2 * m + 1 + n] = residue(odd[m + n]);
      }
    }
    limb_basis[l]->ntt.forward_subring(dst, log_gap);  // forward itself when gap = 1
  });
  pt.poly.set_ntt(true);
  return pt;
}

Plaintext Encoder::encode(std::span<const cplx> z, int level, double scale, std::size_t slots) const {
  return encode_values(z, level, scale, slots, false);
}

Plaintext Encoder::encode(std::span<const double> z, int level, double scale, std::size_t slots) const {
  return encode_values(z, level, scale, slots, false);
}

ExtendedPlaintext Encoder::encode_extended(std::span<const double> z, int level, double scale,
                                           std::size_t slots) const {
  Plaintext pt = encode_values(z, level, scale, slots, true);
  return {ctx_, std::move(pt.poly), pt.level, pt.scale, pt.slots};
}

ExtendedPlaintext Encoder::encode_extended(std::span<const cplx> z, int level, double scale, std::size_t slots) const {
  Plaintext pt = encode_values(z, level, scale, slots, true);
  return {ctx_, std::move(pt.poly), pt.level, pt.scale, pt.slots};
}

Plaintext Encoder::encode_constant(cplx c, int level, double scale, std::size_t slots) const {
  const std::size_t N = ctx_->n();
  if (slots == 0) slots = N / 2;
  if (!is_pow2(slots) || slots > N / 2)
    throw ParameterError("encode_constant: slot count " + std::to_string(slots) +
                         " is not a power of two ≤ N/2 = " + std::to_string(N / 2));
  if (level < 0 || level > ctx_->max_level())
    throw LevelError("encode_constant: level " + std::to_string(level) + " is outside [0, L = " +
                     std::to_string(ctx_->max_level()) + "]");
  if (!std::isfinite(c.real()) || !std::isfinite(c.imag()))
    throw InputError("encode_constant: the constant is NaN or infinite; it must be finite");
  const auto& basis = ctx_->basis_q(level);
  const double log_q = math::log2_product(basis);
  const double mag = std::max(std::fabs(c.real()), std::fabs(c.imag())) * scale;
  if (mag > 0 && std::log2(mag) >= log_q - 1)
    throw ScaleError("encode_constant: |c|·scale = 2^" + std::to_string(std::log2(mag)) +
                     " exceeds the modulus headroom 2^" + std::to_string(log_q - 1) + " at level " +
                     std::to_string(level) + "; lower the scale or encode at a higher level");
  Plaintext pt{ctx_, math::RnsPoly(N, basis.size(), false), level, scale, slots};
  const double re = std::nearbyint(c.real() * scale), im = std::nearbyint(c.imag() * scale);
  for (std::size_t l = 0; l < basis.size(); ++l) {
    pt.poly.limb(l)[0] = reduce_double(re, basis[l]->mod);
    pt.poly.limb(l)[N / 2] = reduce_double(im, basis[l]->mod);
  }
  math::to_ntt(pt.poly, basis);
  return pt;
}

std::vector<long double> Encoder::coefficients(const Plaintext& pt) const {
  const auto& basis = ctx_->basis_q(pt.level);
  math::RnsPoly m = pt.poly;
  if (m.is_ntt()) math::from_ntt(m, basis);
  const std::size_t N = ctx_->n(), k = basis.size();
  // Garner's mixed-radix CRT: x = a_0 + a_1·q_0 + a_2·q_0q_1 + …, a_i ∈ [0, q_i). Then x is read as
  // negative when its top digit is in the upper half, and Q − x = 1 + Σ (q_i − 1 − a_i)·M_i.
  std::vector<std::vector<u64>> inv(k, std::vector<u64>(k, 0)), inv_shoup = inv;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < i; ++j) {
      inv[i][j] = math::inv_mod(math::reduce_64(basis[j]->value(), basis[i]->mod), basis[i]->mod);
      inv_shoup[i][j] = math::shoup_precompute(inv[i][j], basis[i]->value());
    }
  // Every coefficient is independent: blocks of coefficients run on math::num_threads() threads,
  // each thread with its own mixed-radix digits a.
  std::vector<long double> out(N);
  constexpr std::size_t block = 1024;
  auto digits = [k] { return std::vector<u64>(k); };
  const std::size_t work = N * k * (k + 1) / 2;  // Garner: i·(i−1)/2 products per coefficient and limb i
  math::parallel_for_limbs((N + block - 1) / block, work, digits, [&](std::size_t b, std::vector<u64>& a) {
    for (std::size_t c = b * block; c < std::min(N, (b + 1) * block); ++c) {
      for (std::size_t i = 0; i < k; ++i) {
        const auto& qi = basis[i]->mod;
        u64 t = m.limb(i)[c];
        for (std::size_t j = 0; j < i; ++j) {
          // (t − a_j)·q_j^{-1} mod q_i; a_j < q_j may exceed q_i, and t − a_j + q_i·2^k stays
          // non-negative for Shoup's multiplication, which accepts any 64-bit input.
          const u64 aj = a[j] >= qi.q ? math::reduce_64(a[j], qi) : a[j];
          t = math::mul_shoup(t + qi.q - aj, inv[i][j], inv_shoup[i][j], qi.q);
        }
        a[i] = t;
      }
      const bool negative = a[k - 1] > basis[k - 1]->value() / 2;
      long double v = 0;
      for (std::size_t i = k; i-- > 0;) {
        const u64 digit = negative ? basis[i]->value() - 1 - a[i] : a[i];
        v = v * static_cast<long double>(basis[i]->value()) + static_cast<long double>(digit);
      }
      out[c] = negative ? -(v + 1) : v;
    }
  });
  return out;
}

std::vector<cplx> Encoder::decode_complex(const Plaintext& pt) const {
  if (pt.context != ctx_)
    throw ParameterError("decode: the plaintext was made under another Context; use that Context's Encoder");
  const std::size_t N = ctx_->n(), n = pt.slots;
  const auto coeffs = coefficients(pt);
  const std::size_t gap = N / (2 * n);
  std::vector<cplx> u(n);
  const long double inv_scale = 1.0L / static_cast<long double>(pt.scale);
  for (std::size_t i = 0; i < n; ++i)
    u[i] = cplx(static_cast<double>(coeffs[i * gap] * inv_scale),
                static_cast<double>(coeffs[(i + n) * gap] * inv_scale));
  special_fft(u);
  return u;
}

std::vector<double> Encoder::decode(const Plaintext& pt) const {
  const auto z = decode_complex(pt);
  std::vector<double> r(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) r[i] = z[i].real();
  return r;
}

}  // namespace ckks

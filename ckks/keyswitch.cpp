#include "ckks/keyswitch.h"

#include <memory>
#include <span>

#include "ckks/math/errors.h"
#include "ckks/math/simd.h"
#include "ckks/math/threads.h"

namespace ckks {

using math::RnsPoly;
using math::u128;

namespace {

// One thread's buffers for steps 2–3 of one target limb: the sums of the key inner product and one
// ModUp output limb. A prime below 2^50 keeps each sum in one 64-bit word per coefficient (sum0,
// sum1: the IFMA path of accumulate_digit), any other prime in 128 bits (acc0, acc1); each pair is
// allocated zeroed on first use and left zero by reduce_limb, so it can be reused for the next limb.
struct LimbScratch {
  explicit LimbScratch(std::size_t N) : n(N), ext(N) {}
  std::size_t n;
  std::vector<u128> acc0, acc1;
  std::vector<std::uint64_t> sum0, sum1;
  std::vector<std::uint64_t> ext;
  void ensure_sums() {
    if (sum0.empty()) sum0.assign(n, 0), sum1.assign(n, 0);
  }
  void ensure_accs() {
    if (acc0.empty()) acc0.assign(n, 0), acc1.assign(n, 0);
  }
};

#ifdef CKKS_HAVE_IFMA
// Whether the key inner product modulo m runs on eight lanes with the 52-bit multipliers.
bool ifma_limb(const math::Modulus& m, std::size_t N) { return m.q < (std::uint64_t{1} << 50) && N % 8 == 0; }

// Eight values of x at c: x[c..c+8), or x[perm[c..c+8)] with a permutation.
inline __m512i load_x(const std::uint64_t* x, const std::uint32_t* perm, std::size_t c) {
  if (!perm) return _mm512_loadu_si512(x + c);
  return _mm512_i32gather_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(perm + c)),
                                reinterpret_cast<const long long*>(x), 8);
}
#endif

// Step 3 for one digit j on one limb (prime m): sum0 += d̃_j·b_j, sum1 += d̃_j·a_j, without reduction
// until the limb is done (reduce_limb). With `perm`, d̃_j is read through the evaluation-point
// permutation of a Galois automorphism (hoisted rotations). Primes below 2^50 on eight lanes
// (math::simd::Ifma52Sum; operands below 2^52, so lazily reduced ones too; at most 2048 terms per
// limb), others in 128 bits (each product < 2^122, at most 64 terms per limb).
void accumulate_digit(LimbScratch& s, [[maybe_unused]] const math::Modulus& m, const std::uint64_t* e,
                      const std::uint64_t* b, const std::uint64_t* a, const std::uint32_t* perm) {
  const std::size_t N = s.n;
#ifdef CKKS_HAVE_IFMA
  if (ifma_limb(m, N)) {
    s.ensure_sums();
    const math::simd::Ifma52Sum f(m.q);
    std::uint64_t *s0 = s.sum0.data(), *s1 = s.sum1.data();
    for (std::size_t c = 0; c < N; c += 8) {
      const __m512i x = load_x(e, perm, c);
      const __m512i t0 = f.term(x, _mm512_loadu_si512(b + c)), t1 = f.term(x, _mm512_loadu_si512(a + c));
      _mm512_storeu_si512(s0 + c, _mm512_add_epi64(_mm512_loadu_si512(s0 + c), t0));
      _mm512_storeu_si512(s1 + c, _mm512_add_epi64(_mm512_loadu_si512(s1 + c), t1));
    }
    return;
  }
#endif
  s.ensure_accs();
  u128 *acc0 = s.acc0.data(), *acc1 = s.acc1.data();
  if (perm) {
    for (std::size_t c = 0; c < N; ++c) {
      const std::uint64_t x = e[perm[c]];
      acc0[c] += static_cast<u128>(x) * b[c];
      acc1[c] += static_cast<u128>(x) * a[c];
    }
  } else {
    for (std::size_t c = 0; c < N; ++c) {
      acc0[c] += static_cast<u128>(e[c]) * b[c];
      acc1[c] += static_cast<u128>(e[c]) * a[c];
    }
  }
}

// sum0 += w·x (one scalar w < q), x read through perm: one more term of the first sum.
void accumulate_scaled(LimbScratch& s, [[maybe_unused]] const math::Modulus& m, const std::uint64_t* x,
                       std::uint64_t w, const std::uint32_t* perm) {
  const std::size_t N = s.n;
#ifdef CKKS_HAVE_IFMA
  if (ifma_limb(m, N)) {
    s.ensure_sums();
    const math::simd::Ifma52Sum f(m.q);
    const __m512i vw = math::simd::broadcast(w);
    std::uint64_t* s0 = s.sum0.data();
    for (std::size_t c = 0; c < N; c += 8)
      _mm512_storeu_si512(s0 + c, _mm512_add_epi64(_mm512_loadu_si512(s0 + c), f.term(load_x(x, perm, c), vw)));
    return;
  }
#endif
  s.ensure_accs();
  for (std::size_t c = 0; c < N; ++c) s.acc0[c] += static_cast<u128>(perm ? x[perm[c]] : x[c]) * w;
}

// The end of step 3 on one limb (prime m): reduce both sums into o0, o1, and clear them.
void reduce_limb(LimbScratch& s, const math::Prime& prime, std::uint64_t* o0, std::uint64_t* o1) {
  const std::size_t N = s.n;
#ifdef CKKS_HAVE_IFMA
  if (ifma_limb(prime.mod, N)) {
    s.ensure_sums();
    const math::simd::Ifma52Sum f(prime.mod.q);
    std::uint64_t *s0 = s.sum0.data(), *s1 = s.sum1.data();
    const __m512i zero = _mm512_setzero_si512();
    for (std::size_t c = 0; c < N; c += 8) {
      _mm512_storeu_si512(o0 + c, f.reduce(_mm512_loadu_si512(s0 + c)));
      _mm512_storeu_si512(o1 + c, f.reduce(_mm512_loadu_si512(s1 + c)));
      _mm512_storeu_si512(s0 + c, zero);
      _mm512_storeu_si512(s1 + c, zero);
    }
    return;
  }
#endif
  s.ensure_accs();
  for (std::size_t c = 0; c < N; ++c) {
    o0[c] = math::reduce_128(s.acc0[c], prime.mod);
    o1[c] = math::reduce_128(s.acc1[c], prime.mod);
  }
  std::fill(s.acc0.begin(), s.acc0.end(), 0);
  std::fill(s.acc1.begin(), s.acc1.end(), 0);
}

// Limbs of N words for key switching's temporaries, every word written before it is read: allocated
// without the zero fill of RnsPoly's constructor, a serial pass on the calling thread. At set B
// (bench/README.md) the temporaries of one relinearisation are 25 limbs (3.2 MiB) — σ(d) in
// coefficient form, the two sums over Q_ℓ·P, the P-parts; the calling thread's CPU time outside the
// parallel loops of one relinearisation at B went from 388 to 336 µs without their zero fill (a
// scratch program, medians of 41 runs, 2026-12-06, load average ≈ 6).
struct RawLimbs {
  RawLimbs(std::size_t N, std::size_t limbs) : n(N), words(std::make_unique_for_overwrite<std::uint64_t[]>(N * limbs)) {}
  std::uint64_t* limb(std::size_t i) { return words.get() + i * n; }
  const std::uint64_t* limb(std::size_t i) const { return words.get() + i * n; }
  std::size_t n;
  std::unique_ptr<std::uint64_t[]> words;
};

// Limb of the key (over Q_{ℓ_k}·P, ℓ_k = swk.max_level() ≥ ℓ) that pairs with limb i of Q_ℓ·P.
std::size_t key_limb(const KeySwitchKey& swk, std::size_t i, std::size_t nq) {
  return i < nq ? i : static_cast<std::size_t>(swk.max_level()) + 1 + (i - nq);
}

}  // namespace

math::RnsPoly mod_up(const Context& ctx, const RnsPoly& d_coeff, const RnsPoly& d_ntt, int level,
                     std::size_t digit) {
  const auto& basis = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), alpha = ctx.alpha();
  const std::size_t lo = digit * alpha, hi = std::min((digit + 1) * alpha, std::size_t(level + 1));
  const auto& conv = ctx.modup_converter(level, digit);
  // Conv_{Q_j → (Q_ℓ·P)\Q_j} on the digit's limbs (contiguous in d_coeff).
  std::vector<std::uint64_t> out(conv.to().size() * N);
  conv.convert(d_coeff.limb(lo), out.data(), N);
  RnsPoly ext(N, basis.size(), true);
  math::parallel_for_limbs(basis.size(), basis.size() * math::ntt_work(N), [&](std::size_t i) {
    std::uint64_t* dst = ext.limb(i);
    if (i >= lo && i < hi) {
      std::copy(d_ntt.limb(i), d_ntt.limb(i) + N, dst);  // exact residues of its own digit
    } else {
      const std::size_t o = i < lo ? i : i - (hi - lo);  // index of prime i among the targets
      std::copy(out.data() + o * N, out.data() + (o + 1) * N, dst);
      basis[i]->ntt.forward(dst);
    }
  });
  return ext;
}

namespace {

// ModDown of m = xs.size() polynomials over Q_ℓ·P (evaluation form, basis_qp(ℓ) order; xs[h] points
// to the first of its ℓ+1+k contiguous limbs of N words) at once,
// result h plus σ(adds[h]) when adds[h] is given (an exact addition mod q_i; σ read through `perm`,
// the identity if null). Two parallel loops for all m polynomials instead of two per polynomial:
// the m·k inverse NTTs of the P-parts (one item per polynomial; a single polynomial forks over its
// k limbs inside), then the m·(ℓ+1) output limbs (polynomial-major, so two threads split a pair of
// polynomials one each).
std::vector<RnsPoly> mod_down_all(const Context& ctx, std::span<const std::uint64_t* const> xs, int level,
                                  std::span<const RnsPoly* const> adds, const std::uint32_t* perm) {
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, k = ctx.num_special(), m = xs.size();
  const auto& bq = ctx.basis_q(level);
  const auto& bp = ctx.basis_p();
  const auto& conv = ctx.moddown_converter(level);
  // [x]_P in coefficient form, converted exactly to Q_ℓ as its centred representative
  // t ∈ (−P/2, P/2] (rns.h, convert_exact), so that y = (x − t)/P = ⌊x/P⌉ exactly: rounding, like
  // rescaling. Departure from [CHKKS18, ModDown], which uses the fast conversion (result ⌊x/P⌋ − u
  // with u ∈ [0, k)): a floor biases every coefficient by −1/2 − u, a structured error that
  // concentrates in a few slots and costs ~2 bits of precision after each key switch.
  // The exact conversion runs in its two steps (rns.h, prepare / convert_to), so that each limb i
  // of Q_ℓ is converted, transformed and combined in one pass (the same values as convert_exact,
  // then to_ntt, then the loop below).
  RawLimbs xp(N, m * k);  // the P-parts, polynomial h at limbs h·k ..
  std::vector<math::BaseConverter::Prepared> prepared(m);
  math::parallel_for_limbs(m, m * k * (math::ntt_work(N) + 2 * N), [&](std::size_t h) {
    std::uint64_t* p = xp.limb(h * k);
    std::copy(xs[h] + nq * N, xs[h] + (nq + k) * N, p);
    math::parallel_for_limbs(k, k * math::ntt_work(N), [&](std::size_t j) { bp[j]->ntt.inverse(p + j * N); });
    prepared[h] = conv.prepare(p, N, /*exact=*/true);
  });
  // y_i = (x_i − t_i)·P^{-1} (+ σ(a)_i) mod q_i
  std::vector<RnsPoly> ys;
  for (std::size_t h = 0; h < m; ++h) {
    ys.emplace_back(N, nq, true);
    CKKS_INVARIANT(!adds[h] || (adds[h]->is_ntt() && adds[h]->limbs() == nq),
                   "key_switch: the addend must be at level ℓ in evaluation form");
  }
  auto buffer = [N] { return std::vector<std::uint64_t>(N); };
  const std::size_t work = m * nq * (k * N + math::ntt_work(N) + 2 * N);  // convert_to, NTT, ·P^{-1}, add
  math::parallel_for_limbs(m * nq, work, buffer, [&](std::size_t item, std::vector<std::uint64_t>& t) {
    const std::size_t h = item / nq, i = item % nq;
    conv.convert_to(prepared[h], i, t.data(), N, /*lazy_output=*/true);
    bq[i]->ntt.forward(t.data());
    const std::uint64_t q = bq[i]->value(), w = ctx.p_inv_mod_q(static_cast<int>(i));
    const std::uint64_t ws = math::shoup_precompute(w, q);
    const std::uint64_t* xi = xs[h] + i * N;
    std::uint64_t* yi = ys[h].limb(i);
    for (std::size_t c = 0; c < N; ++c) yi[c] = math::mul_shoup(math::sub_mod(xi[c], t[c], q), w, ws, q);
    if (const RnsPoly* a = adds[h]) {
      const std::uint64_t* ai = a->limb(i);
      if (perm)
        for (std::size_t c = 0; c < N; ++c) yi[c] = math::add_mod(yi[c], ai[perm[c]], q);
      else
        for (std::size_t c = 0; c < N; ++c) yi[c] = math::add_mod(yi[c], ai[c], q);
    }
  });
  return ys;
}

std::pair<RnsPoly, RnsPoly> mod_down_pair(const Context& ctx, const RawLimbs& u0, const RawLimbs& u1, int level,
                                          const RnsPoly* add0, const RnsPoly* add1, const std::uint32_t* perm) {
  const std::uint64_t* xs[] = {u0.limb(0), u1.limb(0)};
  const RnsPoly* adds[] = {add0, add1};
  auto ys = mod_down_all(ctx, xs, level, adds, perm);
  return {std::move(ys[0]), std::move(ys[1])};
}

}  // namespace

math::RnsPoly mod_down(const Context& ctx, const RnsPoly& x, int level) {
  CKKS_INVARIANT(x.is_ntt() && x.limbs() == static_cast<std::size_t>(level) + 1 + ctx.num_special(),
                 "mod_down: x must be over Q_ℓ·P in evaluation form");
  const std::uint64_t* xs[] = {x.limb(0)};
  const RnsPoly* adds[] = {nullptr};
  return std::move(mod_down_all(ctx, xs, level, adds, nullptr)[0]);
}

std::pair<RnsPoly, RnsPoly> mod_down(const Context& ctx, const RnsPoly& x0, const RnsPoly& x1, int level) {
  [[maybe_unused]] const std::size_t limbs = static_cast<std::size_t>(level) + 1 + ctx.num_special();
  CKKS_INVARIANT(x0.is_ntt() && x1.is_ntt() && x0.limbs() == limbs && x1.limbs() == limbs,
                 "mod_down: x_0, x_1 must be over Q_ℓ·P in evaluation form");
  const std::uint64_t* xs[] = {x0.limb(0), x1.limb(0)};
  const RnsPoly* adds[] = {nullptr, nullptr};
  auto r = mod_down_all(ctx, xs, level, adds, nullptr);
  return {std::move(r[0]), std::move(r[1])};
}

std::pair<RnsPoly, RnsPoly> key_switch(const Context& ctx, const RnsPoly& d, int level,
                                       const KeySwitchKey& swk) {
  return key_switch_add(ctx, d, level, swk, nullptr, nullptr, nullptr);
}

namespace {

// Steps 1–3 of key switching (header) for σ(d): (u0, u1) = ⟨ModUp(σ(d)), swk⟩ over Q_ℓ·P, not yet
// divided by P; u0, u1 hold ℓ+1+k limbs each (basis_qp(ℓ) order, evaluation form).
void key_inner_product(const Context& ctx, const RnsPoly& d, int level, const KeySwitchKey& swk,
                       const std::vector<std::uint32_t>* perm, RawLimbs& u0, RawLimbs& u1) {
  const auto& bq = ctx.basis_q(level);
  const auto& bqp = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, k = ctx.num_special();
  const std::size_t limbs = nq + k, digits = ctx.num_digits(level), alpha = ctx.alpha();
  CKKS_INVARIANT(d.is_ntt() && d.limbs() == nq, "key_switch: d must be at level ℓ in evaluation form");
  CKKS_INVARIANT(!perm || perm->size() == N, "key_switch: the permutation must have N entries");
  const std::uint32_t* sigma = perm ? perm->data() : nullptr;

  // Step 1, one parallel loop over the digits: σ(d) (a copy only when σ is given), its digit's limbs
  // in coefficient form, and the first half of that digit's ModUp (rns.h, prepare).
  RawLimbs d_perm(N, sigma ? nq : 0);
  const std::uint64_t* d_eval = sigma ? d_perm.limb(0) : d.limb(0);  // σ(d), limb i at d_eval + i·N
  RawLimbs d_coeff(N, nq);
  std::vector<math::BaseConverter::Prepared> prepared(digits);
  math::parallel_for_limbs(digits, nq * (math::ntt_work(N) + 2 * N), [&](std::size_t j) {
    const std::size_t lo = j * alpha, hi = std::min(lo + alpha, nq);
    for (std::size_t l = lo; l < hi; ++l) {
      const std::uint64_t* src = d.limb(l);
      if (sigma) {
        std::uint64_t* dst = d_perm.limb(l);
        for (std::size_t c = 0; c < N; ++c) dst[c] = src[sigma[c]];
        src = dst;
      }
      std::copy(src, src + N, d_coeff.limb(l));
      bq[l]->ntt.inverse(d_coeff.limb(l));
    }
    prepared[j] = ctx.modup_converter(level, j).prepare(d_coeff.limb(lo), N, false);
  });

  // Steps 2–3, one target limb i of Q_ℓ·P at a time (so that the accumulators stay in cache):
  // extend every digit to prime i (ModUp, second half, then NTT) and accumulate d̃_j·(b_j, a_j).
  //
  // Why this fused form and not decompose + key_switch_decomposed (which computes the same digits
  // and the same sums): it never holds the dnum·(ℓ+1+k) limbs of the full decomposition, only one
  // limb per digit at a time. Measured with bench_ckks (CPU time, median of 3 repetitions, three
  // runs each on a 2-core machine loaded by other builds): relinearize at logN=14/L=6 13.9–14.3 ms
  // fused against 14.5–15.1 ms unfused, rotate at logN=14/L=6 15.6–15.8 against 16.3–16.9 ms,
  // relinearize at logN=15/L=18 124–126 ms against 139–148 ms (and ~100 MB less memory there:
  // 19 digits × 20 limbs × 2^15 × 8 bytes); at logN=13/L=2 the two agree within noise. Hoisted
  // rotations need the stored decomposition, so both entry points stay; the inner product itself
  // is written once (accumulate_digit, reduce_limb).
  //
  // The target limbs are independent: they run on math::num_threads() threads (ckks/threads.h), each
  // thread with its own accumulators and ModUp buffer.
  const std::size_t work = limbs * digits * (alpha * N + math::ntt_work(N));
  math::parallel_for_limbs(limbs, work, [N] { return LimbScratch(N); }, [&](std::size_t i, LimbScratch& s) {
    const auto& prime = *bqp[i];
    for (std::size_t j = 0; j < digits; ++j) {
      const std::size_t lo = j * alpha, hi = std::min(lo + alpha, nq);
      const std::uint64_t* e;
      if (i >= lo && i < hi) {
        e = d_eval + i * N;  // σ(d)'s own residue: exact, already in evaluation form
      } else {
        // index of prime i among the converter's targets (basis_qp order without the digit)
        const std::size_t target = i < lo ? i : i - (hi - lo);
        ctx.modup_converter(level, j).convert_to(prepared[j], target, s.ext.data(), N, /*lazy_output=*/true);
        prime.ntt.forward(s.ext.data());
        e = s.ext.data();
      }
      const std::size_t kl = key_limb(swk, i, nq);
      accumulate_digit(s, prime.mod, e, swk.b[j].limb(kl), swk.a[j].limb(kl), nullptr);
    }
    reduce_limb(s, prime, u0.limb(i), u1.limb(i));
  });
}

}  // namespace

std::pair<RnsPoly, RnsPoly> key_switch_add(const Context& ctx, const RnsPoly& d, int level, const KeySwitchKey& swk,
                                           const std::vector<std::uint32_t>* perm, const RnsPoly* add0,
                                           const RnsPoly* add1) {
  const std::size_t limbs = ctx.basis_qp(level).size();
  RawLimbs u0(ctx.n(), limbs), u1(ctx.n(), limbs);
  key_inner_product(ctx, d, level, swk, perm, u0, u1);  // steps 1–3
  // Step 4: ModDown both halves in the same two loops, adding σ(add0), σ(add1).
  return mod_down_pair(ctx, u0, u1, level, add0, add1, perm ? perm->data() : nullptr);
}

DecomposedPoly decompose(const Context& ctx, const RnsPoly& d, int level) {
  DecomposedPoly out;
  out.level = level;
  RnsPoly d_coeff = d;
  math::from_ntt(d_coeff, ctx.basis_q(level));
  for (std::size_t j = 0; j < ctx.num_digits(level); ++j) out.digits.push_back(mod_up(ctx, d_coeff, d, level, j));
  return out;
}

std::pair<RnsPoly, RnsPoly> key_switch_decomposed(const Context& ctx, const DecomposedPoly& dec,
                                                  const KeySwitchKey& swk,
                                                  const std::vector<std::uint32_t>* perm) {
  const int level = dec.level;
  const auto& bqp = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, limbs = bqp.size();
  RawLimbs u0(N, limbs), u1(N, limbs);
  const std::size_t work = limbs * dec.digits.size() * 2 * N;
  math::parallel_for_limbs(limbs, work, [N] { return LimbScratch(N); }, [&](std::size_t i, LimbScratch& s) {
    const std::size_t kl = key_limb(swk, i, nq);
    for (std::size_t j = 0; j < dec.digits.size(); ++j)
      accumulate_digit(s, bqp[i]->mod, dec.digits[j].limb(i), swk.b[j].limb(kl), swk.a[j].limb(kl),
                       perm ? perm->data() : nullptr);
    reduce_limb(s, *bqp[i], u0.limb(i), u1.limb(i));
  });
  return mod_down_pair(ctx, u0, u1, level, nullptr, nullptr, nullptr);
}

std::pair<RnsPoly, RnsPoly> rotate_lazy_qp(const Context& ctx, const RnsPoly& c0, const RnsPoly& c1, int level,
                                           const DecomposedPoly* dec, const KeySwitchKey* swk,
                                           const std::vector<std::uint32_t>* perm) {
  const auto& bqp = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, limbs = bqp.size();
  CKKS_INVARIANT(c0.is_ntt() && c1.is_ntt() && c0.limbs() == nq && c1.limbs() == nq,
                 "rotate_lazy_qp: c_0 and c_1 must be at level ℓ in evaluation form");
  RnsPoly r0 = RnsPoly::uninitialized(N, limbs, true), r1 = RnsPoly::uninitialized(N, limbs, true);
  if (!perm) {  // (P·c_0, P·c_1): P mod q_i on the limbs of Q_ℓ, 0 on those of P
    math::parallel_for_limbs(limbs, limbs * 2 * N, [&](std::size_t i) {
      if (i >= nq) {
        std::fill(r0.limb(i), r0.limb(i) + N, std::uint64_t{0});
        std::fill(r1.limb(i), r1.limb(i) + N, std::uint64_t{0});
        return;
      }
      const std::uint64_t q = bqp[i]->value(), p = ctx.p_mod_q(static_cast<int>(i));
      const std::uint64_t ps = math::shoup_precompute(p, q);
      for (std::size_t c = 0; c < N; ++c) {
        r0.limb(i)[c] = math::mul_shoup(c0.limb(i)[c], p, ps, q);
        r1.limb(i)[c] = math::mul_shoup(c1.limb(i)[c], p, ps, q);
      }
    });
    return {std::move(r0), std::move(r1)};
  }
  CKKS_INVARIANT(dec && swk && dec->level == level, "rotate_lazy_qp: a rotation needs the decomposition and its key");
  CKKS_INVARIANT(perm->size() == N, "rotate_lazy_qp: the permutation must have N entries");
  const std::uint32_t* sigma = perm->data();
  const std::size_t digits = dec->digits.size();
  math::parallel_for_limbs(limbs, limbs * (2 * digits + 1) * N, [N] { return LimbScratch(N); },
                           [&](std::size_t i, LimbScratch& s) {
    const std::size_t kl = key_limb(*swk, i, nq);
    for (std::size_t j = 0; j < digits; ++j)
      accumulate_digit(s, bqp[i]->mod, dec->digits[j].limb(i), swk->b[j].limb(kl), swk->a[j].limb(kl), sigma);
    if (i < nq)  // + P·σ(c_0): one more term of the first sum (at most 64 in all)
      accumulate_scaled(s, bqp[i]->mod, c0.limb(i), ctx.p_mod_q(static_cast<int>(i)), sigma);
    reduce_limb(s, *bqp[i], r0.limb(i), r1.limb(i));
  });
  return {std::move(r0), std::move(r1)};
}

namespace {

// Σ over terms of 128-bit products, folded (reduced in place) before a 64th product could overflow:
// every product is < 2^122 (primes < 2^61), so 63 of them plus a reduced value stay below 2^128.
struct WeightedSum {
  explicit WeightedSum(std::size_t N) : acc(N) {}
  std::vector<u128> acc;
  int pending = 0;
  // acc += w ⊙ x (w null: 1), x read through perm (null: the identity).
  void add(const std::uint64_t* x, const std::uint64_t* w, const std::uint32_t* perm, const math::Modulus& m) {
    if (pending == 63) {
      for (auto& v : acc) v = math::reduce_128(v, m);
      pending = 0;
    }
    const std::size_t N = acc.size();
    if (perm && w)
      for (std::size_t c = 0; c < N; ++c) acc[c] += static_cast<u128>(x[perm[c]]) * w[c];
    else if (w)
      for (std::size_t c = 0; c < N; ++c) acc[c] += static_cast<u128>(x[c]) * w[c];
    else if (perm)
      for (std::size_t c = 0; c < N; ++c) acc[c] += x[perm[c]];
    else
      for (std::size_t c = 0; c < N; ++c) acc[c] += x[c];
    ++pending;
  }
  // out = acc mod m; clears acc.
  void reduce_into(std::uint64_t* out, const math::Modulus& m) {
    for (std::size_t c = 0; c < acc.size(); ++c) out[c] = math::reduce_128(acc[c], m);
    std::fill(acc.begin(), acc.end(), 0);
    pending = 0;
  }
};

// One thread's buffers for rotate_sum_hoisted's limb loop: the key inner product's accumulators and
// its reduced limbs, the two sums over the terms (S_0, S_1 on every limb; A_0, A_1 on Q_ℓ's limbs).
struct SumScratch {
  explicit SumScratch(std::size_t N) : ks(N), t0(N), t1(N), s0(N), s1(N), a0(N), a1(N) {}
  LimbScratch ks;
  std::vector<std::uint64_t> t0, t1;
  WeightedSum s0, s1, a0, a1;
};

}  // namespace

std::pair<RnsPoly, RnsPoly> rotate_sum_hoisted(const Context& ctx, const RnsPoly& c0, const RnsPoly& c1, int level,
                                               std::span<const HoistedTerm> terms, const DecomposedPoly* shared) {
  const auto& bqp = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, limbs = bqp.size();
  CKKS_INVARIANT(c0.is_ntt() && c1.is_ntt() && c0.limbs() == nq && c1.limbs() == nq,
                 "rotate_sum_hoisted: c_0 and c_1 must be at level ℓ in evaluation form");
  bool any_rotation = false, any_identity = false;
  for (const HoistedTerm& t : terms) {
    CKKS_INVARIANT(!t.weight || (t.weight->is_ntt() && t.weight->limbs() == limbs),
                   "rotate_sum_hoisted: a weight must be over Q_ℓ·P in evaluation form");
    CKKS_INVARIANT((t.perm == nullptr) == (t.swk == nullptr),
                   "rotate_sum_hoisted: a rotated term needs its key, an unrotated one none");
    CKKS_INVARIANT(!t.perm || t.perm->size() == N, "rotate_sum_hoisted: the permutation must have N entries");
    (t.perm ? any_rotation : any_identity) = true;
  }
  // Step 1: one decomposition (ModUp of every digit) for all rotated terms (the caller's, if shared).
  CKKS_INVARIANT(!shared || shared->level == level, "rotate_sum_hoisted: the shared decomposition is of another level");
  DecomposedPoly own{level, {}};
  if (any_rotation && !shared) own = decompose(ctx, c1, level);
  const DecomposedPoly& dec = shared && any_rotation ? *shared : own;
  // Step 2, one parallel loop over the limbs of Q_ℓ·P.
  RawLimbs s0(N, limbs), s1(N, limbs);
  RnsPoly a0(N, nq, true), a1(N, any_identity ? nq : 0, true);
  const std::size_t digits = dec.digits.size(), loop_limbs = any_rotation ? limbs : nq;
  const std::size_t work = loop_limbs * terms.size() * (2 * digits + 2) * N;
  math::parallel_for_limbs(loop_limbs, work, [N] { return SumScratch(N); }, [&](std::size_t i, SumScratch& s) {
    const auto& prime = *bqp[i];
    for (const HoistedTerm& t : terms) {
      const std::uint64_t* w = t.weight ? t.weight->limb(i) : nullptr;
      const std::uint32_t* perm = t.perm ? t.perm->data() : nullptr;
      if (perm) {
        const std::size_t kl = key_limb(*t.swk, i, nq);
        for (std::size_t j = 0; j < digits; ++j)
          accumulate_digit(s.ks, prime.mod, dec.digits[j].limb(i), t.swk->b[j].limb(kl), t.swk->a[j].limb(kl),
                           perm);
        reduce_limb(s.ks, prime, s.t0.data(), s.t1.data());
        s.s0.add(s.t0.data(), w, nullptr, prime.mod);
        s.s1.add(s.t1.data(), w, nullptr, prime.mod);
      }
      if (i < nq) {
        s.a0.add(c0.limb(i), w, perm, prime.mod);
        if (!perm) s.a1.add(c1.limb(i), w, nullptr, prime.mod);
      }
    }
    s.s0.reduce_into(s0.limb(i), prime.mod);
    s.s1.reduce_into(s1.limb(i), prime.mod);
    if (i < nq) {
      s.a0.reduce_into(a0.limb(i), prime.mod);
      if (any_identity) s.a1.reduce_into(a1.limb(i), prime.mod);
    }
  });
  // Step 3: one ModDown of (S_0, S_1), adding (A_0, A_1) in its output loop.
  if (!any_rotation) return {std::move(a0), std::move(a1)};
  return mod_down_pair(ctx, s0, s1, level, &a0, any_identity ? &a1 : nullptr, nullptr);
}

std::pair<RnsPoly, RnsPoly> sum_rotations_lazy(const Context& ctx, std::span<const RnsPoly* const> c0,
                                               std::span<const RnsPoly* const> c1, int level,
                                               std::span<const HoistedTerm> terms) {
  const auto& bq = ctx.basis_q(level);
  const auto& bqp = ctx.basis_qp(level);
  const std::size_t N = ctx.n(), nq = static_cast<std::size_t>(level) + 1, limbs = bqp.size();
  CKKS_INVARIANT(c0.size() == terms.size() && c1.size() == terms.size(),
                 "sum_rotations_lazy: one (c_0, c_1) per term");
  bool any_rotation = false, any_identity = false;
  for (std::size_t t = 0; t < terms.size(); ++t) {
    CKKS_INVARIANT(c0[t]->is_ntt() && c1[t]->is_ntt() && c0[t]->limbs() == nq && c1[t]->limbs() == nq,
                   "sum_rotations_lazy: every c must be at level ℓ in evaluation form");
    CKKS_INVARIANT(!terms[t].weight, "sum_rotations_lazy: the terms carry no weights");
    CKKS_INVARIANT((terms[t].perm == nullptr) == (terms[t].swk == nullptr),
                   "sum_rotations_lazy: a rotated term needs its key, an unrotated one none");
    CKKS_INVARIANT(!terms[t].perm || terms[t].perm->size() == N,
                   "sum_rotations_lazy: the permutation must have N entries");
    (terms[t].perm ? any_rotation : any_identity) = true;
  }
  // S_0, S_1: the first rotated term's inner products, then each further one added limb by limb.
  RawLimbs s0(N, any_rotation ? limbs : 0), s1(N, any_rotation ? limbs : 0);
  RawLimbs u0(N, limbs), u1(N, limbs);
  bool first = true;
  for (std::size_t t = 0; t < terms.size(); ++t) {
    if (!terms[t].perm) continue;
    key_inner_product(ctx, *c1[t], level, *terms[t].swk, terms[t].perm, first ? s0 : u0, first ? s1 : u1);
    if (!first)
      math::parallel_for_limbs(limbs, limbs * 2 * N, [&](std::size_t i) {
        const std::uint64_t q = bqp[i]->value();
        std::uint64_t *x0 = s0.limb(i), *x1 = s1.limb(i);
        const std::uint64_t *y0 = u0.limb(i), *y1 = u1.limb(i);
        for (std::size_t c = 0; c < N; ++c) {
          x0[c] = math::add_mod(x0[c], y0[c], q);
          x1[c] = math::add_mod(x1[c], y1[c], q);
        }
      });
    first = false;
  }
  // A_0 = Σ σ_t(c_{0,t}), A_1 = Σ_{σ_t = id} c_{1,t}, over Q_ℓ.
  RnsPoly a0(N, nq, true), a1(N, any_identity ? nq : 0, true);
  struct Sums {
    explicit Sums(std::size_t n) : a0(n), a1(n) {}
    WeightedSum a0, a1;
  };
  math::parallel_for_limbs(nq, nq * terms.size() * N, [N] { return Sums(N); }, [&](std::size_t i, Sums& s) {
    const auto& m = bq[i]->mod;
    for (std::size_t t = 0; t < terms.size(); ++t) {
      s.a0.add(c0[t]->limb(i), nullptr, terms[t].perm ? terms[t].perm->data() : nullptr, m);
      if (!terms[t].perm) s.a1.add(c1[t]->limb(i), nullptr, nullptr, m);
    }
    s.a0.reduce_into(a0.limb(i), m);
    if (any_identity) s.a1.reduce_into(a1.limb(i), m);
  });
  if (!any_rotation) return {std::move(a0), std::move(a1)};
  return mod_down_pair(ctx, s0, s1, level, &a0, any_identity ? &a1 : nullptr, nullptr);
}

}  // namespace ckks

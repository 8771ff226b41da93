// The conversions of docs/conventions.md ("Checking another implementation against this one"),
// applied to this library's own objects: Microsoft SEAL's prime order (CoeffModulus::Create), its
// NTT (the smallest primitive 2N-th root ψ_S, same bit-reversed output order) and its slot order
// (powers of 3, conjugates on the slots with 3^i ≡ 3 mod 4). A ciphertext is re-expressed in
// SEAL's evaluation form and slot order, checked against direct evaluation, decrypted there,
// converted back and decoded; the unconverted forms are checked to differ, so a wrong mapping
// cannot pass.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "ckks/math/primes.h"
#include "ckks/math/rns_poly.h"
#include "fixtures.h"

namespace ckks::test {
namespace {

using cplx = std::complex<double>;
using math::u64;

// SEAL's CoeffModulus::Create(N, bits): for each size, primes ≡ 1 mod 2N searched downward from
// 2^bits (the same search as math::generate_ntt_primes), handed out from the smallest: the first
// position with a given size gets the smallest of that size's primes, the last gets the largest.
std::vector<u64> seal_coeff_modulus_create(std::size_t N, const std::vector<int>& bits) {
  std::vector<u64> out;
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const auto count = static_cast<std::size_t>(std::count(bits.begin(), bits.end(), bits[i]));
    const auto before = static_cast<std::size_t>(std::count(bits.begin(), bits.begin() + i, bits[i]));
    out.push_back(math::generate_ntt_primes(bits[i], count, N)[count - 1 - before]);
  }
  return out;
}

// SEAL's ψ_S (util::try_minimal_primitive_root): the smallest of the N primitive 2N-th roots
// ψ^t, t odd. Returns ψ_S and t.
std::pair<u64, u64> smallest_root(const math::Prime& q, std::size_t N) {
  const u64 psi = q.ntt.psi(), psi2 = math::mul_mod(psi, psi, q.mod);
  u64 best = psi, best_t = 1, cur = psi;
  for (u64 t = 1; t < 2 * N; t += 2) {
    if (cur < best) { best = cur; best_t = t; }
    cur = math::mul_mod(cur, psi2, q.mod);
  }
  return {best, best_t};
}

u64 inverse_mod_2n(u64 t, std::size_t N) {
  for (u64 u = 1; u < 2 * N; u += 2)
    if (t * u % (2 * N) == 1) return u;
  FAIL("no inverse of " << t << " mod 2N");
  return 0;
}

// Evaluation form of one limb re-expressed with another root: out[i] = in[π_t(i)] (docs/conventions.md).
std::vector<u64> reorder(const u64* limb, const std::vector<std::uint32_t>& perm) {
  std::vector<u64> out(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out[i] = limb[perm[i]];
  return out;
}

// a(x) mod q for a in coefficient form (Horner).
u64 evaluate(const u64* a, std::size_t N, u64 x, const math::Modulus& q) {
  u64 acc = 0;
  for (std::size_t k = N; k-- > 0;) acc = math::add_mod(math::mul_mod(acc, x, q), a[k], q.q);
  return acc;
}

// SEAL's slot i is m(ζ^(3^i mod 2N))/Δ; ours j is m(ζ^(5^j mod 2N))/Δ. 3^i ≡ 1 mod 4 for even i,
// so it is 5^j for one j; for odd i, −3^i is 5^j and SEAL's slot i is the conjugate of our slot j.
struct SlotMap {
  std::vector<std::size_t> ours;  // our slot holding SEAL slot i (or its conjugate)
  std::vector<bool> conjugate;
};

SlotMap seal_slot_map(std::size_t N) {
  const std::size_t two_n = 2 * N, slots = N / 2;
  std::vector<std::size_t> log5(two_n, slots);
  for (std::size_t j = 0, r = 1; j < slots; ++j, r = r * 5 % two_n) log5[r] = j;
  SlotMap m;
  for (std::size_t i = 0, r = 1; i < slots; ++i, r = r * 3 % two_n) {
    const bool conj = r % 4 == 3;
    m.ours.push_back(log5[conj ? two_n - r : r]);
    m.conjugate.push_back(conj);
  }
  return m;
}

cvec to_seal_slots(const cvec& z, const SlotMap& m, bool with_conjugation = true) {
  cvec out(z.size());
  for (std::size_t i = 0; i < z.size(); ++i)
    out[i] = m.conjugate[i] && with_conjugation ? std::conj(z[m.ours[i]]) : z[m.ours[i]];
  return out;
}

cvec from_seal_slots(const cvec& zs, const SlotMap& m) {
  cvec out(zs.size());
  for (std::size_t i = 0; i < zs.size(); ++i) out[m.ours[i]] = m.conjugate[i] ? std::conj(zs[i]) : zs[i];
  return out;
}

// SEAL's decoding by definition: slot i = m(ζ^(3^i mod 2N)) / Δ, ζ = e^{iπ/N}, from the centred
// coefficients of m (O(N²), independent of both encoders' FFTs).
cvec seal_decode_direct(const std::vector<long double>& m, double scale) {
  const std::size_t N = m.size(), two_n = 2 * N;
  std::vector<cplx> zeta(two_n);
  for (std::size_t k = 0; k < two_n; ++k) zeta[k] = std::polar(1.0, std::numbers::pi * static_cast<double>(k) / static_cast<double>(N));
  cvec out(N / 2);
  for (std::size_t i = 0, r = 1; i < N / 2; ++i, r = r * 3 % two_n) {
    cplx acc = 0;
    for (std::size_t k = 0; k < N; ++k) acc += static_cast<double>(m[k]) * zeta[k * r % two_n];
    out[i] = acc / scale;
  }
  return out;
}

// SEAL's chain for CoeffModulus::Create(2^13, {60, 40, 40, 60}): data primes then the special prime.
Params seal_style_n13() {
  const std::size_t N = std::size_t(1) << 13;
  const auto chain = seal_coeff_modulus_create(N, {60, 40, 40, 60});
  Params p = Params::preset_n13();
  p.q_primes.assign(chain.begin(), chain.end() - 1);
  p.p_primes = {chain.back()};
  return p;
}

TEST_CASE("ckks/conventions: SEAL's CoeffModulus::Create orders the same primes in reverse within each size") {
  const auto ours = Context::create(Params::preset_n13());  // q {60, 40, 40}, p {60}
  const Params seal = seal_style_n13();
  // Same four primes; each size's primes in the opposite order of appearance.
  CHECK(seal.q_primes[0] == ours->p(0).value());
  CHECK(seal.p_primes[0] == ours->q(0).value());
  CHECK(seal.q_primes[1] == ours->q(2).value());
  CHECK(seal.q_primes[2] == ours->q(1).value());
  CHECK(seal.q_primes[1] != ours->q(1).value());
}

TEST_CASE("ckks/conventions: the slot-order map is a bijection with conjugates on the odd powers of 3") {
  const std::size_t N = 1 << 13;
  const SlotMap m = seal_slot_map(N);
  std::vector<int> hits(N / 2, 0);
  for (std::size_t j : m.ours) ++hits[j];
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  CHECK(std::count(m.conjugate.begin(), m.conjugate.end(), true) == static_cast<long>(N / 4));
  CHECK(m.ours[0] == 0);         // 3^0 = 5^0
  CHECK(m.conjugate[1]);         // 3 ≡ −5^j for some j: SEAL slot 1 is a conjugate
  const cvec z = random_complex(N / 2, 5);
  CHECK(from_seal_slots(to_seal_slots(z, m), m) == z);
}

TEST_CASE("ckks/conventions: a ciphertext in SEAL's NTT form and slot order decrypts and decodes back") {
  const Params params = seal_style_n13();
  Kit kit(params, 21);
  const ContextPtr& ctx = kit.ctx;
  const std::size_t N = ctx->n();
  const int L = ctx->max_level();
  const auto& basis = ctx->basis_q(L);
  const SlotMap slots = seal_slot_map(N);

  // The message as a SEAL user writes it (SEAL's slot order), converted to ours and encrypted.
  const cvec z_seal = random_complex(N / 2, 9);
  const Ciphertext ct = kit.encrypt(from_seal_slots(z_seal, slots));

  // Per prime: ψ_S = ψ^t and the permutation π_t that re-expresses our evaluation form in SEAL's.
  std::vector<std::vector<std::uint32_t>> to_seal, from_seal;
  std::vector<u64> psi_seal;
  std::size_t roots_differ = 0;
  for (int i = 0; i <= L; ++i) {
    const auto [psi_s, t] = smallest_root(ctx->q(i), N);
    CHECK(math::pow_mod(psi_s, N, ctx->q(i).mod) == ctx->q(i).value() - 1);
    roots_differ += t != 1;
    psi_seal.push_back(psi_s);
    to_seal.push_back(math::automorphism_ntt_permutation(N, t));
    from_seal.push_back(math::automorphism_ntt_permutation(N, inverse_mod_2n(t, N)));
  }
  MESSAGE("SEAL's smallest root differs from ours for " << roots_differ << " of " << L + 1 << " primes");
  REQUIRE(roots_differ > 0);  // else the NTT conversion would be the identity and untested here

  // Exact: SEAL's evaluation form is c(ψ_S^(2·brv(i)+1)), checked by direct evaluation on sampled
  // indices; the unconverted values differ there (for every prime whose root differs).
  int log_n = ctx->log_n();
  std::size_t checked = 0, wrong = 0, unconverted_equal = 0, unconverted_checked = 0;
  std::vector<std::vector<std::vector<u64>>> ct_seal(ct.c.size());
  for (std::size_t k = 0; k < ct.c.size(); ++k) {
    math::RnsPoly coeff = ct.c[k];
    math::from_ntt(coeff, basis);
    for (int i = 0; i <= L; ++i) {
      const auto& q = ctx->q(i);
      ct_seal[k].push_back(reorder(ct.c[k].limb(i), to_seal[i]));
      for (std::size_t idx = 0; idx < N; idx += 61) {
        const u64 e = 2 * math::bit_reverse(static_cast<std::uint32_t>(idx), log_n) + 1;
        const u64 want = evaluate(coeff.limb(i), N, math::pow_mod(psi_seal[i], e, q.mod), q.mod);
        ++checked;
        wrong += ct_seal[k][i][idx] != want;
        if (psi_seal[i] != q.ntt.psi()) {
          ++unconverted_checked;
          unconverted_equal += ct.c[k].limb(i)[idx] == want;
        }
      }
    }
  }
  MESSAGE(checked << " values of SEAL's evaluation form checked by direct evaluation: " << wrong << " differ");
  CHECK(wrong == 0);
  CHECK(unconverted_checked > 0);
  CHECK(unconverted_equal * 100 < unconverted_checked);  // only chance coincidences

  // Decrypt in SEAL's form (pointwise products: the re-expression is a ring isomorphism), then
  // convert back: exactly the plaintext our own decryptor computes.
  const Plaintext ours = kit.decryptor.decrypt(ct);
  Plaintext back = ours;
  for (int i = 0; i <= L; ++i) {
    const auto& q = ctx->q(i);
    const auto s_seal = reorder(kit.sk.s.limb(i), to_seal[i]);
    std::vector<u64> m_seal(N);
    for (std::size_t c = 0; c < N; ++c)
      m_seal[c] = math::add_mod(ct_seal[0][i][c], math::mul_mod(ct_seal[1][i][c], s_seal[c], q.mod), q.value());
    const auto m = reorder(m_seal.data(), from_seal[i]);
    std::copy(m.begin(), m.end(), back.poly.limb(i));
  }
  CHECK(back.poly.data() == ours.poly.data());
  // Converting the ciphertext back is exact too.
  for (std::size_t k = 0; k < ct.c.size(); ++k)
    for (int i = 0; i <= L; ++i)
      CHECK(reorder(ct_seal[k][i].data(), from_seal[i]) == std::vector<u64>(ct.c[k].limb(i), ct.c[k].limb(i) + N));

  // Slots: SEAL's decoding of the plaintext by definition returns the SEAL-ordered message; ours,
  // converted, too. Unconverted or without the conjugation, they do not.
  const cvec decoded_seal = seal_decode_direct(kit.encoder.coefficients(back), back.scale);
  const cvec decoded_ours = kit.encoder.decode_complex(back);
  const double direct_bits = precision_bits(decoded_seal, z_seal);
  const double converted_bits = precision_bits(to_seal_slots(decoded_ours, slots), z_seal);
  const double unconverted_bits = precision_bits(decoded_ours, z_seal);
  const double no_conj_bits = precision_bits(to_seal_slots(decoded_ours, slots, false), z_seal);
  MESSAGE("SEAL-order slots, N = 2^13, Δ = 2^40: direct " << direct_bits << " bits, converted " << converted_bits
                                                          << " bits; unconverted " << unconverted_bits
                                                          << " bits, no conjugation " << no_conj_bits << " bits");
  CHECK(direct_bits >= 20);
  CHECK(converted_bits >= 20);
  CHECK(unconverted_bits < 1);
  CHECK(no_conj_bits < 1);
}

TEST_CASE("ckks/conventions: a SEAL-style chain given by values works end to end") {
  Kit kit(seal_style_n13(), 23);
  const auto& ctx = kit.ctx;
  CHECK(ctx->security_bits() == 128);
  CHECK(ctx->params().log_q == std::vector<int>{60, 40, 40});
  const std::size_t n = ctx->max_slots();
  const SlotMap slots = seal_slot_map(ctx->n());
  const cvec x = random_complex(n, 31), y = random_complex(n, 32);
  const RelinKey rk = kit.keygen.relin_key(kit.sk);
  // Rotation by one step: Galois element 5 here, 3 in SEAL (on SEAL-ordered slots).
  const GaloisKeys gk = kit.keygen.galois_keys_for_elements(kit.sk, {ctx->galois_element(1), 3});
  const Ciphertext prod = kit.evaluator.rescale(kit.evaluator.multiply_relin(kit.encrypt(x), kit.encrypt(y), rk));
  cvec want(n);
  for (std::size_t j = 0; j < n; ++j) want[j] = x[(j + 1) % n] * y[(j + 1) % n];
  const double ours_bits = precision_bits(kit.decrypt(kit.evaluator.rotate(prod, 1, gk)), want);
  const cvec xs = random_complex(n, 33);
  const cvec got_seal = to_seal_slots(kit.decrypt(kit.evaluator.apply_galois(kit.encrypt(from_seal_slots(xs, slots)), 3, gk)), slots);
  cvec want_seal(n);
  for (std::size_t i = 0; i < n; ++i) want_seal[i] = xs[(i + 1) % n];
  const double seal_bits = precision_bits(got_seal, want_seal);
  MESSAGE("SEAL-style chain: product + rotation " << ours_bits << " bits; Galois 3 on SEAL-ordered slots " << seal_bits
                                                  << " bits");
  CHECK(ours_bits >= 15);
  CHECK(seal_bits >= 20);
  // In our order, Galois element 3 is not a rotation.
  const double as_ours = precision_bits(kit.decrypt(kit.evaluator.apply_galois(kit.encrypt(xs), 3, gk)), want_seal);
  CHECK(as_ours < 1);
}

}  // namespace
}  // namespace ckks::test

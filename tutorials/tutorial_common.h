// Small helpers shared by several numbered tutorials (kept here once instead of copied into each
// program): fixed test vectors, slot rotation in the clear, the exact integer coefficients of a
// plaintext (NTL), the [HES18] ring that would make a chain secure, and a max-difference helper.
// Header-only; tutorials that include it link NTL (tutorials/CMakeLists.txt: tutorial_support).
#pragma once
#include <NTL/ZZ.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/math/rns_poly.h"
#include "ckks/params.h"
#include "ckks/ciphertext.h"  // Plaintext

namespace tutorial {

/// A fixed test vector of n complex slots z_j = sin(0.1·j + a) + i·cos(0.7·j − b), so |Re|, |Im| ≤ 1
/// (deterministic, no RNG); different (a, b) give different vectors (tutorial 04 uses (0.3, 0),
/// tutorial 05 (φ, φ)).
inline std::vector<std::complex<double>> complex_test_vector(std::size_t n, double a, double b) {
  std::vector<std::complex<double>> z(n);
  for (std::size_t j = 0; j < n; ++j) z[j] = {std::sin(0.1 * j + a), std::cos(0.7 * j - b)};
  return z;
}

/// z rotated left by k slots (k < 0: right): result_j = z_{(j + k) mod n}, the effect a rotation
/// by k has on the slots ([CKKS17] rotations; tutorial 07).
inline std::vector<std::complex<double>> rotated(const std::vector<std::complex<double>>& z, long k) {
  const long n = static_cast<long>(z.size());
  std::vector<std::complex<double>> r(z.size());
  for (long j = 0; j < n; ++j) r[j] = z[((j + k) % n + n) % n];
  return r;
}

/// The exact integer coefficients of a plaintext, centred mod Q_ℓ (ℓ = pt.level), by the CRT in
/// NTL::ZZ. (Encoder::coefficients returns long doubles, whose 64-bit mantissa cannot hold every bit
/// of a coefficient at scale Δ² ≈ 2^80; a noise measurement needs the exact integers.)
/// Precondition: pt belongs to ctx.
inline std::vector<NTL::ZZ> exact_coefficients(const ckks::Context& ctx, const ckks::Plaintext& pt) {
  using NTL::ZZ;
  ckks::math::RnsPoly p = pt.poly;
  const ckks::math::RnsBasis& basis = ctx.basis_q(pt.level);
  if (p.is_ntt()) ckks::math::from_ntt(p, basis);
  ZZ Q(1);
  for (const ckks::math::Prime* q : basis) Q *= NTL::conv<ZZ>(static_cast<unsigned long>(q->value()));
  std::vector<ZZ> out(p.n(), ZZ(0));
  for (std::size_t i = 0; i < basis.size(); ++i) {
    const ZZ qi = NTL::conv<ZZ>(static_cast<unsigned long>(basis[i]->value())), qhat = Q / qi;
    const ZZ factor = qhat * NTL::InvMod(qhat % qi, qi);  // ≡ 1 mod q_i, ≡ 0 mod the others
    for (std::size_t k = 0; k < p.n(); ++k) out[k] += NTL::conv<ZZ>(static_cast<unsigned long>(p.limb(i)[k])) * factor;
  }
  for (ZZ& c : out) {
    c %= Q;
    if (2 * c > Q) c -= Q;
  }
  return out;
}

/// log2 max_i |a_i − b_i| (−∞ when equal); a and b have equal sizes.
inline double log2_diff(const std::vector<NTL::ZZ>& a, const std::vector<NTL::ZZ>& b) {
  NTL::ZZ m(0);
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, NTL::abs(a[i] - b[i]));
  return IsZero(m) ? -INFINITY : NTL::log(m) / std::log(2.0);
}

/// Which ring would make a chain of `log_qp` bits 128-bit secure: "N = 2^k is the smallest secure
/// ring for this chain" (10 ≤ k ≤ 16, the [HES18] table of ckks/params.h), or a note that none is.
inline std::string secure_ring(int log_qp) {
  for (int k = 10; k <= 16; ++k)
    if (log_qp <= ckks::max_log_qp_128(k)) return "N = 2^" + std::to_string(k) + " is the smallest secure ring for this chain";
  return "no N <= 2^16 is secure for this chain";
}

/// max_j |u_j − v_j| over the first min(|u|, |v|) entries (0 for empty vectors).
inline double max_abs_diff(const std::vector<double>& u, const std::vector<double>& v) {
  double m = 0;
  for (std::size_t j = 0; j < std::min(u.size(), v.size()); ++j) m = std::max(m, std::fabs(u[j] - v[j]));
  return m;
}

}  // namespace tutorial

// Params: the plain literal a user fills in to choose a CKKS instance [CHKKS18; HK20].
//
//   Params p;
//   p.log_n = 14;                       // ring degree N = 2^14, N/2 = 8192 slots
//   p.log_q = {60, 40, 40, 40};         // data primes q_0..q_L (bits): L = 3 levels of rescaling
//   p.log_p = {60};                     // special primes p_0..p_{k-1} for key switching
//   p.log_scale = 40;                   // default scale Δ = 2^40
//
// To reproduce another implementation's exact chain, give the primes themselves instead of their
// sizes (q_primes, p_primes; docs/conventions.md shows SEAL's order):
//
//   p.q_primes = {q0, q1, q2};          // e.g. the first three values SEAL's
//   p.p_primes = {p0};                  //   CoeffModulus::Create(N, {60, 40, 40, 60}) returns
//
// A Context (context.h) is built from it once; that is where everything is checked.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ckks {

/// Distribution of the secret key s [CKKS17].
enum class SecretDistribution {
  UniformTernary,  ///< each coefficient uniform in {-1, 0, 1}: what the HE standard's table covers
  HammingWeight,   ///< exactly `hamming_weight` non-zero coefficients in {-1, 1} (HWT_h of [CKKS17])
};

struct Params {
  int log_n = 14;                       ///< N = 2^log_n; 10..17 (below 10 only with allow_insecure)
  std::vector<int> log_q = {60, 40, 40, 40};  ///< bits of q_0..q_L, each in [20, 61]
  std::vector<int> log_p = {60};        ///< bits of the special primes, each in [20, 61]
  /// Explicit data primes q_0..q_L, an alternative to log_q: when non-empty they are the chain, in
  /// this order, and log_q is not used (Context::params() reports their bit sizes in log_q). Each
  /// must be a prime ≡ 1 mod 2N of 20..61 bits, all q_i and p_j distinct (checked by
  /// Context::create).
  std::vector<std::uint64_t> q_primes;
  /// Explicit special primes p_0..p_{k-1}, an alternative to log_p, with the same rules as q_primes.
  std::vector<std::uint64_t> p_primes;
  double log_scale = 40;                ///< default scale Δ = 2^log_scale
  int dnum = 0;                         ///< digits in hybrid key switching; 0 = (L+1)/k rounded up
  SecretDistribution secret = SecretDistribution::UniformTernary;
  int hamming_weight = 0;               ///< h for SecretDistribution::HammingWeight
  double error_stddev = 3.2;            ///< σ of the discrete Gaussian error [HES18]
  /// Accept parameters that the 128-bit check refuses (tiny N for teaching, too large a modulus,
  /// sparse secrets). The Context then prints a warning on stderr saying so.
  bool allow_insecure = false;

  /// N = 2^13, q {60,40,40}, p {60}, Δ = 2^40: log QP = 200 ≤ 218. Depth 2.
  static Params preset_n13();
  /// N = 2^14, q {60, 40×7}, p {60}, Δ = 2^40: log QP = 400 ≤ 438. Depth 7.
  static Params preset_n14();
  /// N = 2^15, q {60, 40×18}, p {60}, Δ = 2^40: log QP = 840 ≤ 881. Depth 18.
  static Params preset_n15();
  /// N = 2^16, q {60, 40×38}, p {60, 60}, dnum 20, Δ = 2^40: log QP = 1700 ≤ 1747. Depth 38.
  static Params preset_n16();

  /// One line for logs: "N=2^14 q={60,40,40,40} p={60} scale=2^40" (", dnum=D" when set). Explicit
  /// primes are listed by their bit sizes with a '!' after the brace: "q=!{60,40,40}".
  std::string describe() const;
};

/// The 128-bit (classical) bound on log2(QP) for a uniform ternary secret and σ = 3.2, from the
/// HomomorphicEncryption.org standard [HES18], ternary-secret row, for N = 2^10..2^15; the standard
/// has no N = 2^16 row, so for 2^16 we take OpenFHE's current value 1747 (from the revised
/// security guidelines [HESG24]; see docs/references.md). Returns 0 outside 2^10..2^16.
int max_log_qp_128(int log_n);

}  // namespace ckks

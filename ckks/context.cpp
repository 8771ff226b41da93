#include "ckks/context.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <sstream>

#include "ckks/math/errors.h"
#include "ckks/math/primes.h"

namespace ckks {

using math::Modulus;

std::string pow2_string(double x) {
  std::ostringstream s;
  if (x <= 0) { s << x; return s.str(); }
  const double l = std::log2(x);
  s.precision(l == std::floor(l) ? 0 : 2);
  s << std::fixed << "2^" << l;
  return s.str();
}

namespace {

int bit_width(std::uint64_t q) { return q ? 64 - __builtin_clzll(q) : 0; }

// Explicit primes (Params::q_primes, p_primes): each of 20..61 bits (the limit of the lazy NTT and
// of the 128-bit key-switching accumulators), prime, ≡ 1 mod 2N, and no value given twice. Returns
// `params` with log_q / log_p replaced by the primes' bit sizes where primes are given.
Params resolve_explicit_primes(const Params& p) {
  auto fail = [](const std::string& m) { throw ParameterError("Context: " + m); };
  Params r = p;
  // 2N, only used below when log_n is valid (a bad log_n is named by validate(); shifting by it is UB).
  const std::uint64_t two_n = p.log_n >= 1 && p.log_n <= 17 ? std::uint64_t(2) << p.log_n : 0;
  std::vector<std::uint64_t> seen;
  auto check = [&](const std::vector<std::uint64_t>& primes, const char* name, std::vector<int>& bits) {
    if (primes.empty()) return;
    bits.clear();
    for (std::size_t i = 0; i < primes.size(); ++i) {
      const std::uint64_t q = primes[i];
      const std::string which = std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(q);
      const int b = bit_width(q);
      if (b < 20 || b > 61)
        fail(which + " has " + std::to_string(b) + " bits, outside [20, 61] (the NTT and key switching " +
             "need q < 2^61); give a prime of 20..61 bits");
      if (q % two_n != 1)
        fail(which + " is not ≡ 1 mod 2N = " + std::to_string(two_n) + " (it is " + std::to_string(q % two_n) +
             "), so Z_q has no primitive 2N-th root for the NTT; give a prime q = k·2N + 1");
      if (!math::is_prime(q))
        fail(which + " is not prime; give a prime q ≡ 1 mod 2N (math::generate_ntt_primes lists some)");
      if (std::find(seen.begin(), seen.end(), q) != seen.end())
        fail(which + " is given twice (in q_primes or p_primes); every q_i and p_j must be distinct");
      seen.push_back(q);
      bits.push_back(b);
    }
  };
  if (p.log_n >= 1 && p.log_n <= 17) {  // else validate() names the bad log_n
    check(p.q_primes, "q_primes", r.log_q);
    check(p.p_primes, "p_primes", r.log_p);
  }
  return r;
}

void validate(const Params& p) {
  auto fail = [](const std::string& m) { throw ParameterError("Context: " + m); };
  if (p.log_n < 1 || p.log_n > 17)
    fail("log_n = " + std::to_string(p.log_n) + " is outside [1, 17]; N must be a power of two 2^1..2^17");
  if (p.log_q.empty()) fail("the modulus chain is empty (log_q and q_primes); give at least one data prime size or prime");
  if (p.log_p.empty())
    fail("no special primes (log_p and p_primes are empty); key switching needs at least one, e.g. log_p = {60}");
  for (int b : p.log_q)
    if (b < 20 || b > 61)
      fail("data prime size " + std::to_string(b) + " bits is outside [20, 61]; use word-size primes");
  for (int b : p.log_p)
    if (b < 20 || b > 61)
      fail("special prime size " + std::to_string(b) + " bits is outside [20, 61]; use word-size primes");
  const int levels = static_cast<int>(p.log_q.size());
  if (p.dnum < 0 || p.dnum > levels)
    fail("dnum = " + std::to_string(p.dnum) + " is outside [1, L+1 = " + std::to_string(levels) +
         "]; use 0 for the default");
  const double log_q_total = std::accumulate(p.log_q.begin(), p.log_q.end(), 0.0);
  if (!(p.log_scale >= 10) || !(p.log_scale < log_q_total))
    fail("scale 2^" + std::to_string(p.log_scale) + " is not in [2^10, Q_L = 2^" +
         std::to_string(static_cast<int>(log_q_total)) + "); choose a scale below the modulus");
  if (p.log_scale > 60)
    fail("scale 2^" + std::to_string(p.log_scale) + " exceeds 2^60; encoding needs Δ·|z| < 2^63");
  if (p.secret == SecretDistribution::HammingWeight &&
      (p.hamming_weight < 1 || p.hamming_weight > (1 << p.log_n)))
    fail("Hamming weight h = " + std::to_string(p.hamming_weight) + " is outside [1, N = " +
         std::to_string(1 << p.log_n) + "]");
  if (!(p.error_stddev > 0)) fail("error standard deviation must be positive");
  // Key switching sums the digit products in 128 bits (each < 2^122): at most 64 digits.
  const int digits = p.dnum ? p.dnum : (levels + static_cast<int>(p.log_p.size()) - 1) /
                                           static_cast<int>(p.log_p.size());
  if (digits > 64)
    fail("hybrid key switching with " + std::to_string(digits) +
         " digits exceeds 64; set dnum ≤ 64 (and special primes covering each digit)");
}

}  // namespace

std::shared_ptr<const Context> Context::create(const Params& params) {
  const Params resolved = resolve_explicit_primes(params);
  validate(resolved);
  return std::shared_ptr<const Context>(new Context(resolved));
}

Context::Context(const Params& params) : params_(params) {
  n_ = std::size_t(1) << params.log_n;
  const int L = static_cast<int>(params.log_q.size()) - 1;
  const std::size_t k = params.log_p.size();
  dnum_ = params.dnum ? static_cast<std::size_t>(params.dnum)
                      : (static_cast<std::size_t>(L) + k) / k;  // ceil((L+1)/k)
  alpha_ = (static_cast<std::size_t>(L) + dnum_) / dnum_;       // ceil((L+1)/dnum)
  dnum_ = (static_cast<std::size_t>(L) + alpha_) / alpha_;      // digits actually used

  // Security [HES18]: log2(QP) bound for uniform ternary secrets and σ ≈ 3.2.
  const int total_bits = std::accumulate(params.log_q.begin(), params.log_q.end(), 0) +
                         std::accumulate(params.log_p.begin(), params.log_p.end(), 0);
  std::vector<std::string> weak;
  const int bound = max_log_qp_128(params.log_n);
  if (bound == 0)
    weak.push_back("N = 2^" + std::to_string(params.log_n) + " is outside the 128-bit table (2^10..2^16)");
  else if (total_bits > bound)
    weak.push_back("log2(QP) ≈ " + std::to_string(total_bits) + " bits exceeds the 128-bit bound " +
                   std::to_string(bound) + " for N = 2^" + std::to_string(params.log_n) +
                   " (HomomorphicEncryption.org standard)");
  if (params.secret != SecretDistribution::UniformTernary)
    weak.push_back("a fixed-Hamming-weight secret is not covered by the standard's table");
  if (params.error_stddev < 3.2) weak.push_back("σ < 3.2 is below the standard's error width");
  if (!weak.empty()) {
    std::string all;
    for (auto& w : weak) all += (all.empty() ? "" : "; ") + w;
    if (!params.allow_insecure)
      throw ParameterError("Context: parameters are not 128-bit secure: " + all +
                           ". Use a preset (Params::preset_n15()), fewer/smaller primes or a larger "
                           "N, or set allow_insecure = true for teaching and tests");
    std::cerr << "WARNING: INSECURE CKKS PARAMETERS (allow_insecure = true): " << all << "\n";
    security_bits_ = 0;
  } else {
    security_bits_ = 128;
  }

  // Primes: explicit ones (q_primes, p_primes) as given. Otherwise, for each size, as many distinct
  // NTT-friendly primes as needed, largest first, avoiding the explicit ones; q_0..q_L then
  // p_0..p_{k-1} take them in order of appearance (SEAL's CoeffModulus::Create hands out the same
  // primes in another order: docs/conventions.md).
  const bool explicit_q = !params.q_primes.empty(), explicit_p = !params.p_primes.empty();
  std::map<int, std::vector<std::uint64_t>> pool;
  std::map<int, std::size_t> need, used;
  if (!explicit_q)
    for (int b : params.log_q) ++need[b];
  if (!explicit_p)
    for (int b : params.log_p) ++need[b];
  std::vector<std::uint64_t> all = params.q_primes;
  all.insert(all.end(), params.p_primes.begin(), params.p_primes.end());
  for (auto& [bits, cnt] : need) {
    pool[bits] = math::generate_ntt_primes(bits, cnt, n_, all);
    all.insert(all.end(), pool[bits].begin(), pool[bits].end());
  }
  for (std::size_t i = 0; i < params.log_q.size(); ++i) {
    const int b = params.log_q[i];
    q_.push_back(std::make_unique<math::Prime>(explicit_q ? params.q_primes[i] : pool[b][used[b]++], n_));
  }
  for (std::size_t j = 0; j < params.log_p.size(); ++j) {
    const int b = params.log_p[j];
    p_.push_back(std::make_unique<math::Prime>(explicit_p ? params.p_primes[j] : pool[b][used[b]++], n_));
  }

  for (auto& pj : p_) basis_p_.push_back(pj.get());
  for (int l = 0; l <= L; ++l) {
    math::RnsBasis bq;
    for (int i = 0; i <= l; ++i) bq.push_back(q_[i].get());
    math::RnsBasis bqp = bq;
    bqp.insert(bqp.end(), basis_p_.begin(), basis_p_.end());
    basis_q_.push_back(std::move(bq));
    basis_qp_.push_back(std::move(bqp));
  }

  // P must cover each digit Q_j so that key-switching noise (≈ (Q_j/P)·e·√N) stays small
  // [HK20]. Primes of equal bit size differ by < 2×, so we allow Q_j up to 2P.
  const double log_p_total = math::log2_product(basis_p_);
  for (std::size_t j = 0; j < dnum_; ++j) {
    double digit_bits = 0;
    for (std::size_t i = j * alpha_; i < std::min((j + 1) * alpha_, std::size_t(L + 1)); ++i)
      digit_bits += std::log2(static_cast<double>(q_[i]->value()));
    if (log_p_total + 1.0 < digit_bits)
      throw ParameterError("Context: the special primes (P ≈ 2^" + std::to_string(int(log_p_total)) +
                           ") are smaller than key-switching digit " + std::to_string(j) + " (≈ 2^" +
                           std::to_string(int(std::ceil(digit_bits))) +
                           "); add or enlarge special primes, or raise dnum");
  }

  // ModUp converters per level and digit; ModDown converter per level.
  for (int l = 0; l <= L; ++l) {
    std::vector<std::unique_ptr<math::BaseConverter>> row;
    const std::size_t digits = num_digits(l);
    for (std::size_t j = 0; j < digits; ++j) {
      math::RnsBasis from, to;
      const std::size_t lo = j * alpha_, hi = std::min((j + 1) * alpha_, std::size_t(l + 1));
      for (std::size_t i = 0; i < basis_qp_[l].size(); ++i) {
        const bool in_digit = i >= lo && i < hi;  // special primes sit after index l
        (in_digit ? from : to).push_back(basis_qp_[l][i]);
      }
      row.push_back(std::make_unique<math::BaseConverter>(from, to));
    }
    modup_.push_back(std::move(row));
    moddown_.push_back(std::make_unique<math::BaseConverter>(basis_p_, basis_q_[l]));
  }

  for (int i = 0; i <= L; ++i) {
    const Modulus& qi = q_[i]->mod;
    std::uint64_t pm = 1;
    for (auto& pj : p_) pm = math::mul_mod(pm, math::reduce_64(pj->value(), qi), qi);
    p_mod_q_.push_back(pm);
    p_inv_mod_q_.push_back(math::inv_mod(pm, qi));
  }
  q_inv_mod_q_.resize(L + 1);
  for (int l = 0; l <= L; ++l)
    for (int i = 0; i < l; ++i)
      q_inv_mod_q_[l].push_back(
          math::inv_mod(math::reduce_64(q_[l]->value(), q_[i]->mod), q_[i]->mod));
}

double Context::default_scale() const { return std::exp2(params_.log_scale); }

double Context::log_qp() const {
  return math::log2_product(basis_qp_.back());
}

const std::vector<std::uint32_t>& Context::automorphism_permutation(std::uint64_t g) const {
  std::lock_guard<std::mutex> lock(perm_mutex_);
  auto it = perm_cache_.find(g);
  if (it == perm_cache_.end())
    it = perm_cache_.emplace(g, math::automorphism_ntt_permutation(n_, g)).first;
  return it->second;
}

std::uint64_t Context::galois_element(int steps) const {
  const std::uint64_t two_n = 2 * n_;
  // 5 has order N/2 modulo 2N; reduce the step into [0, N/2).
  const std::int64_t order = static_cast<std::int64_t>(n_ / 2);
  std::int64_t s = steps % order;
  if (s < 0) s += order;
  std::uint64_t g = 1;
  for (std::int64_t i = 0; i < s; ++i) g = (g * 5) % two_n;
  return g;
}

}  // namespace ckks

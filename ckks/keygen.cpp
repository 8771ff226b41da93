#include "ckks/keygen.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <NTL/ZZ.h>

#include "ckks/math/errors.h"
#include "ckks/math/wipe.h"

namespace ckks {

SecretKey::~SecretKey() {
  math::secure_wipe(s.data());  // before the memory returns to the allocator
}

KeyId key_id_of(const math::RnsPoly& s) {
  if (s.limbs() == 0) return 0;
  static constexpr char kLabel[] = "ckks-teach key-set id v1";
  const std::size_t label = sizeof kLabel - 1, N = s.n();
  std::vector<unsigned char> data(label + 1 + 8 * N);
  std::memcpy(data.data(), kLabel, label);
  data[label] = s.is_ntt() ? 1 : 0;
  const std::uint64_t* r = s.limb(0);
  for (std::size_t c = 0; c < N; ++c)
    for (int b = 0; b < 8; ++b) data[label + 1 + 8 * c + b] = static_cast<unsigned char>(r[c] >> (8 * b));
  unsigned char out[8];
  NTL::DeriveKey(out, 8, data.data(), static_cast<long>(data.size()));
  math::secure_wipe(data);
  KeyId id = 0;
  for (int b = 0; b < 8; ++b) id |= static_cast<KeyId>(out[b]) << (8 * b);
  return id == 0 ? 1 : id;
}

std::string key_id_string(KeyId id) {
  if (id == 0) return "unknown";
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

void check_same_key_set(KeyId a, KeyId b, const std::string& op, const std::string& what_a,
                        const std::string& what_b, const std::string& fix) {
  if (a == 0 || b == 0 || a == b) return;
  throw KeyMismatchError(op + ": " + what_a + " belongs to key set " + key_id_string(a) + ", " + what_b +
                         " to key set " + key_id_string(b) + "; " + fix);
}

KeyGenerator::KeyGenerator(ContextPtr context) : ctx_(std::move(context)), rng_() {}
KeyGenerator::KeyGenerator(ContextPtr context, math::Csprng rng)
    : ctx_(std::move(context)), rng_(std::move(rng)) {}

void KeyGenerator::check(const SecretKey& sk, const char* op) const {
  if (sk.context != ctx_)
    throw ParameterError(std::string(op) +
                         ": the secret key belongs to another Context; use that Context's KeyGenerator");
}

SecretKey KeyGenerator::secret_key() {
  const auto& p = ctx_->params();
  const std::size_t N = ctx_->n();
  auto coeffs = p.secret == SecretDistribution::UniformTernary
                    ? math::sample_ternary(rng_, N)
                    : math::sample_ternary_hamming(rng_, N, static_cast<std::size_t>(p.hamming_weight));
  const auto& basis = ctx_->basis_qp(ctx_->max_level());
  math::RnsPoly s = math::from_signed_coeffs(coeffs, basis);
  math::secure_wipe(coeffs);
  math::to_ntt(s, basis);
  return SecretKey(ctx_, std::move(s));
}

PublicKey KeyGenerator::public_key(const SecretKey& sk) {
  check(sk, "public_key");
  const auto& basis = ctx_->basis_qp(ctx_->max_level());
  const std::size_t N = ctx_->n();
  const std::array<std::uint8_t, 32> seed = rng_.new_key();  // a is expanded from it (PublicKey::seed)
  math::Csprng a_rng = math::Csprng::from_key(seed);
  math::RnsPoly a = math::sample_uniform(a_rng, N, basis, true);
  math::RnsPoly e = math::from_signed_coeffs(math::sample_gaussian(rng_, N, ctx_->params().error_stddev), basis);
  math::to_ntt(e, basis);
  // b = −a·s + e
  math::RnsPoly b = a;
  math::mul_inplace(b, sk.s, basis);
  math::negate_inplace(b, basis);
  math::add_inplace(b, e, basis);
  return PublicKey{ctx_, std::move(b), std::move(a), seed, sk.key_id};
}

namespace {

// x (over q_0..q_L,p_0..p_{k−1}) restricted to q_0..q_ℓ,p_0..p_{k−1}: the same residues, the special
// primes' limbs moved up to follow limb ℓ.
math::RnsPoly restrict_to_level(const math::RnsPoly& x, int level, int max_level, std::size_t special) {
  if (level == max_level) return x;
  const std::size_t nq = static_cast<std::size_t>(level) + 1, N = x.n();
  math::RnsPoly out(N, nq + special, x.is_ntt());
  for (std::size_t i = 0; i < nq + special; ++i) {
    const std::size_t from = i < nq ? i : static_cast<std::size_t>(max_level) + 1 + (i - nq);
    std::copy(x.limb(from), x.limb(from) + N, out.limb(i));
  }
  return out;
}

}  // namespace

KeySwitchKey KeyGenerator::switching_key(const SecretKey& sk, const math::RnsPoly& s_prime, int max_level) {
  check(sk, "switching_key");
  const int L = ctx_->max_level();
  if (max_level < -1 || max_level > L)
    throw ParameterError("switching_key: max_level = " + std::to_string(max_level) + " is outside [0, L = " +
                         std::to_string(L) + "]; give −1 (the default) for keys of the whole chain");
  const int top = max_level < 0 ? L : max_level;
  const auto& basis = ctx_->basis_qp(top);
  const std::size_t N = ctx_->n(), alpha = ctx_->alpha(), dnum = ctx_->num_digits(top);
  // s and s' over Q_top·P (a copy only when top < L; wiped after use like s itself)
  math::RnsPoly s_top = restrict_to_level(sk.s, top, L, ctx_->num_special());
  math::RnsPoly sp_top = restrict_to_level(s_prime, top, L, ctx_->num_special());
  KeySwitchKey ksk{ctx_, {}, {}, rng_.new_key(), sk.key_id};  // the a_j are expanded from ksk.seed
  math::Csprng a_rng = math::Csprng::from_key(*ksk.seed);
  for (std::size_t j = 0; j < dnum; ++j) {
    math::RnsPoly a = math::sample_uniform(a_rng, N, basis, true);
    math::RnsPoly b = math::from_signed_coeffs(math::sample_gaussian(rng_, N, ctx_->params().error_stddev), basis);
    math::to_ntt(b, basis);
    math::RnsPoly as = a;
    math::mul_inplace(as, s_top, basis);
    math::sub_inplace(b, as, basis);  // b = e − a·s
    // + P·s' on the limbs of digit j (the gadget factor is [P]_{q_i} there and 0 elsewhere).
    const std::size_t lo = j * alpha, hi = std::min((j + 1) * alpha, std::size_t(top + 1));
    for (std::size_t i = lo; i < hi; ++i) {
      const auto& qi = basis[i]->mod;
      const std::uint64_t pm = ctx_->p_mod_q(static_cast<int>(i));
      const std::uint64_t pms = math::shoup_precompute(pm, qi.q);
      std::uint64_t* bi = b.limb(i);
      const std::uint64_t* si = sp_top.limb(i);
      for (std::size_t c = 0; c < N; ++c)
        bi[c] = math::add_mod(bi[c], math::mul_shoup(si[c], pm, pms, qi.q), qi.q);
    }
    ksk.b.push_back(std::move(b));
    ksk.a.push_back(std::move(a));
  }
  if (top < L) {
    math::secure_wipe(s_top.data());
    math::secure_wipe(sp_top.data());
  }
  return ksk;
}

EncapsulationKeys KeyGenerator::encapsulation_keys(const SecretKey& sk, int hamming_weight) {
  check(sk, "encapsulation_keys");
  const std::size_t N = ctx_->n();
  if (hamming_weight < 1 || static_cast<std::size_t>(hamming_weight) > N)
    throw ParameterError("encapsulation_keys: hamming_weight = " + std::to_string(hamming_weight) +
                         " must be in [1, N = " + std::to_string(N) +
                         "]; set BootstrapConfig::ephemeral_secret_weight (32 in the N = 2^16 preset)");
  if (ctx_->num_special() == 0)
    throw ParameterError("encapsulation_keys: the parameters have no special prime p_0; add one to Params::log_p");
  const auto& basis = ctx_->basis_qp(ctx_->max_level());
  auto coeffs = math::sample_ternary_hamming(rng_, N, static_cast<std::size_t>(hamming_weight));
  math::RnsPoly s_sparse = math::from_signed_coeffs(coeffs, basis);
  math::secure_wipe(coeffs);
  math::to_ntt(s_sparse, basis);
  EncapsulationKeys keys;
  keys.hamming_weight = hamming_weight;
  // s → s' modulo q_0·p_0: limbs 0 (q_0) and L + 1 (p_0) of the keys over Q_L·P [BTH22].
  const math::RnsBasis small{&ctx_->q(0), &ctx_->p(0)};
  const std::size_t limb_p0 = static_cast<std::size_t>(ctx_->max_level()) + 1;
  auto two_limbs = [&](const math::RnsPoly& x) {
    math::RnsPoly out(N, 2, true);
    std::copy(x.limb(0), x.limb(0) + N, out.limb(0));
    std::copy(x.limb(limb_p0), x.limb(limb_p0) + N, out.limb(1));
    return out;
  };
  math::RnsPoly sparse_small = two_limbs(s_sparse), dense_q0 = two_limbs(sk.s);
  Level0SwitchKey& low = keys.dense_to_sparse;
  low.context = ctx_;
  low.a = math::sample_uniform(rng_, N, small, true);
  low.b = math::from_signed_coeffs(math::sample_gaussian(rng_, N, ctx_->params().error_stddev), small);
  math::to_ntt(low.b, small);
  math::RnsPoly as = low.a;
  math::mul_inplace(as, sparse_small, small);
  math::sub_inplace(low.b, as, small);  // b = e − a·s'
  const auto& q0 = ctx_->q(0).mod;
  const std::uint64_t p0_mod_q0 = ctx_->p(0).value() % q0.q;
  for (std::size_t c = 0; c < N; ++c)  // + p_0·s on the q_0 limb (the gadget factor; 0 modulo p_0)
    low.b.limb(0)[c] = math::add_mod(low.b.limb(0)[c], math::mul_mod(dense_q0.limb(0)[c], p0_mod_q0, q0), q0.q);
  math::secure_wipe(sparse_small.data());
  math::secure_wipe(dense_q0.data());
  keys.sparse_to_dense = switching_key(sk, s_sparse);
  math::secure_wipe(s_sparse.data());
  return keys;
}

RelinKey KeyGenerator::relin_key(const SecretKey& sk) {
  check(sk, "relin_key");
  math::RnsPoly s2 = sk.s;
  math::mul_inplace(s2, sk.s, ctx_->basis_qp(ctx_->max_level()));
  RelinKey rk{switching_key(sk, s2)};
  math::secure_wipe(s2.data());
  return rk;
}

GaloisKeys KeyGenerator::galois_keys_for_elements(const SecretKey& sk, const std::vector<std::uint64_t>& elements,
                                                  int max_level) {
  check(sk, "galois_keys");
  if (max_level < -1 || max_level > ctx_->max_level())
    throw ParameterError("galois_keys: max_level = " + std::to_string(max_level) + " is outside [0, L = " +
                         std::to_string(ctx_->max_level()) + "]; give −1 (the default) for keys of the whole chain");
  const auto& basis = ctx_->basis_qp(ctx_->max_level());
  GaloisKeys gk{ctx_, {}};
  for (std::uint64_t g : elements) {
    if (g % 2 == 0 || g <= 1 || g >= 2 * ctx_->n())
      throw ParameterError("galois_keys: Galois element " + std::to_string(g) +
                           " is not odd in (1, 2N = " + std::to_string(2 * ctx_->n()) + ")");
    if (gk.has(g)) continue;
    math::RnsPoly sg = math::automorphism(sk.s, g, basis);
    gk.keys.emplace(g, switching_key(sk, sg, max_level));
    math::secure_wipe(sg.data());
  }
  return gk;
}

GaloisKeys KeyGenerator::galois_keys(const SecretKey& sk, const std::vector<int>& steps, bool conjugation,
                                     int max_level) {
  std::vector<std::uint64_t> elements;
  for (int k : steps) {
    const std::uint64_t g = ctx_->galois_element(k);
    if (g != 1) elements.push_back(g);
  }
  if (conjugation) elements.push_back(ctx_->conjugation_element());
  return galois_keys_for_elements(sk, elements, max_level);
}

}  // namespace ckks

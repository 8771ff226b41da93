#include "ckks/encryptor.h"

#include "ckks/keyswitch.h"
#include "ckks/math/errors.h"

namespace ckks {

using math::RnsPoly;

Encryptor::Encryptor(ContextPtr context, PublicKey pk) : Encryptor(context, std::move(pk), math::Csprng()) {}
Encryptor::Encryptor(ContextPtr context, const SecretKey& sk) : Encryptor(context, sk, math::Csprng()) {}
Encryptor::Encryptor(ContextPtr context, PublicKey pk, math::Csprng rng)
    : ctx_(std::move(context)), pk_(std::move(pk)), rng_(std::move(rng)) {
  if (pk_->context != ctx_)
    throw ParameterError("Encryptor: the public key belongs to another Context");
}
Encryptor::Encryptor(ContextPtr context, const SecretKey& sk, math::Csprng rng)
    : ctx_(std::move(context)), sk_(sk), rng_(std::move(rng)) {
  if (sk_->context != ctx_)
    throw ParameterError("Encryptor: the secret key belongs to another Context");
}

namespace {
// The limbs of a Q_L·P polynomial that form basis_qp(ℓ): q_0..q_ℓ, then the special primes.
RnsPoly restrict_qp(const RnsPoly& x, const Context& ctx, int level) {
  const std::size_t N = ctx.n(), nq = level + 1, k = ctx.num_special(), L = ctx.max_level();
  RnsPoly y(N, nq + k, x.is_ntt());
  std::copy(x.limb(0), x.limb(0) + nq * N, y.limb(0));
  std::copy(x.limb(L + 1), x.limb(L + 1) + k * N, y.limb(nq));
  return y;
}
}  // namespace

Ciphertext Encryptor::encrypt(const Plaintext& pt) {
  if (pt.context != ctx_)
    throw ParameterError("encrypt: the plaintext was encoded under another Context");
  const int level = pt.level;
  const std::size_t N = ctx_->n();
  const double sigma = ctx_->params().error_stddev;
  Ciphertext ct{ctx_, {}, level, pt.scale, pt.slots, std::nullopt, pk_ ? pk_->key_id : sk_->key_id};
  if (pk_) {
    const auto& bqp = ctx_->basis_qp(level);
    RnsPoly v = math::from_signed_coeffs(math::sample_ternary(rng_, N), bqp);
    math::to_ntt(v, bqp);
    for (int i = 0; i < 2; ++i) {
      RnsPoly c = restrict_qp(i == 0 ? pk_->b : pk_->a, *ctx_, level);
      math::mul_inplace(c, v, bqp);
      RnsPoly e = math::from_signed_coeffs(math::sample_gaussian(rng_, N, sigma), bqp);
      math::to_ntt(e, bqp);
      math::add_inplace(c, e, bqp);
      ct.c.push_back(mod_down(*ctx_, c, level));
    }
  } else {
    const auto& bq = ctx_->basis_q(level);
    // a from a fresh seed, kept in the ciphertext so that it can be stored instead of a.
    const std::array<std::uint8_t, 32> seed = rng_.new_key();
    math::Csprng a_rng = math::Csprng::from_key(seed);
    RnsPoly a = math::sample_uniform(a_rng, N, bq, true);
    ct.seed = seed;
    RnsPoly c0 = math::from_signed_coeffs(math::sample_gaussian(rng_, N, sigma), bq);
    math::to_ntt(c0, bq);
    RnsPoly as = a;
    math::mul_inplace(as, sk_->s, bq);  // the first ℓ+1 limbs of s are s mod Q_ℓ
    math::sub_inplace(c0, as, bq);  // −a·s + e
    ct.c.push_back(std::move(c0));
    ct.c.push_back(std::move(a));
  }
  math::add_inplace(ct.c[0], pt.poly, ctx_->basis_q(level));
  return ct;
}

}  // namespace ckks

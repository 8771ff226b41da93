// LFFR on encrypted data. See lffr_encrypted.h.
#include "ml/lffr/lffr_encrypted.h"

#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ckks/polynomial.h"
#include "ml/exact_scale.h"

namespace ckks::ml {

LffrDataOwner::LffrDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed)
    : ctx_(ctx), keys_(ctx, test_seed) {}

EncryptedLffrSet LffrDataOwner::encrypt(const std::vector<std::vector<double>>& A,
                                        const std::vector<std::vector<double>>& Y, const LffrSigmoid& sigmoid) {
  if (Y.empty()) throw InputError("lffr encrypt: no target; pass at least one target column");
  const std::vector<double> b = lffr_preconditioner(A);  // validates A
  const std::size_t n = A.size(), D = b.size();
  if (D < 2) throw InputError("lffr encrypt: A needs at least one feature column and the bias column");
  for (std::size_t o = 0; o < Y.size(); ++o) {
    if (Y[o].size() != n)
      throw InputError("lffr encrypt: target " + std::to_string(o) + " has " + std::to_string(Y[o].size()) +
                       " values but A has " + std::to_string(n) + " rows");
    for (double v : Y[o])
      if (!std::isfinite(v)) throw InputError("lffr encrypt: target " + std::to_string(o) + " has a non-finite value");
  }
  EncryptedLffrSet out;
  out.layout = SfhLayout::make(n, D - 1, ctx_->max_slots(), 0);
  const SfhLayout& lay = out.layout;
  const std::size_t B = lay.block, S = lay.slots(), bs = lay.baby();
  const int L = ctx_->max_level();
  const double delta = ctx_->default_scale();
  auto seal = [&](const std::vector<double>& v) {
    return keys_.encryptor.encrypt(keys_.encoder.encode(v, L, delta, S));
  };
  auto a = [&](std::size_t r, std::size_t c) { return r < n && c < D ? A[r][c] : 0.0; };
  std::vector<double> v(S);
  for (std::size_t k = 0; k < B; ++k) {
    const std::size_t shift = (k / bs) * bs;  // rotate Â_k by −shift: slot i takes Â_k[i − shift]
    for (std::size_t i = 0; i < S; ++i) {
      const std::size_t src = (i + S - shift) % S;
      v[i] = a(src / B, (src % B + k) % B);
    }
    out.data.push_back(seal(v));
  }
  for (std::size_t i = 0; i < S; ++i) v[i] = (i % B) < D ? b[i % B] * a(i / B, i % B) / sigmoid.radius : 0.0;
  out.step = seal(v);
  for (const auto& y : Y) {
    for (std::size_t i = 0; i < S; ++i) v[i] = i / B < n ? y[i / B] : 0.0;
    out.targets.push_back(seal(v));
  }
  return out;
}

RelinKey LffrDataOwner::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys LffrDataOwner::galois_keys(const SfhLayout& layout) {
  return keys_.keygen.galois_keys(keys_.sk, layout.rotation_steps());
}

std::vector<double> LffrDataOwner::decrypt_weights(const Ciphertext& u, const SfhLayout& layout,
                                                   const LffrSigmoid& sigmoid) {
  const auto z = keys_.encoder.decode(keys_.decryptor.decrypt(u));
  const std::size_t D = layout.d + 1;
  std::vector<double> w(D, 0.0);
  for (std::size_t r = 0; r < layout.blocks; ++r)
    for (std::size_t j = 0; j < D; ++j) w[j] += z[r * layout.block + j];
  for (double& x : w) x *= sigmoid.radius / static_cast<double>(layout.blocks);
  return w;
}

LffrServer::LffrServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), ev_(ctx) {}

int LffrServer::levels_per_iteration(int degree) { return 2 + PolynomialEvaluator::levels_needed(degree); }

int LffrServer::levels_needed(int iterations, int degree) {
  return 1 + (iterations - 1) * levels_per_iteration(degree);
}

int LffrServer::max_iterations(int max_level, int degree) {
  return max_level >= 1 ? 1 + (max_level - 1) / levels_per_iteration(degree) : 0;
}

std::vector<Ciphertext> LffrServer::train(const EncryptedLffrSet& data, int iterations, const LffrSigmoid& sigmoid,
                                          const Progress& progress) const {
  if (iterations < 1)
    throw InputError("lffr train: iterations = " + std::to_string(iterations) + "; need at least 1");
  const SfhLayout& lay = data.layout;
  const std::size_t B = lay.block, S = lay.slots(), bs = lay.baby(), m = data.targets.size();
  if (data.data.size() != B || m == 0)
    throw InputError("lffr train: expected " + std::to_string(B) + " data ciphertexts and at least one target, got " +
                     std::to_string(data.data.size()) + " and " + std::to_string(m));
  const int degree = sigmoid.unit.degree();
  const int top = data.data[0].level;
  if (top < levels_needed(iterations, degree))
    throw LevelError("lffr train: " + std::to_string(iterations) + " iterations with a degree-" +
                     std::to_string(degree) + " sigmoid need " + std::to_string(levels_needed(iterations, degree)) +
                     " levels but the data is at level " + std::to_string(top) +
                     "; use fewer iterations, a lower degree or a longer chain");
  auto report = [&](std::size_t done) {
    if (progress) progress("iterations", done, static_cast<std::size_t>(iterations));
  };
  // −p: the polynomial's output enters e = y − p(t) with a minus sign (folded into the coefficients).
  ChebyshevSeries neg = sigmoid.unit;
  for (double& c : neg.coeffs) c = -c;
  const PolynomialEvaluator pe(ev_, rk_);
  // Step 3: Σ_r e ⊙ H over the blocks.
  auto update = [&](const Ciphertext& e) {
    const Ciphertext prod = ev_.rescale(ev_.multiply_relin(e, ev_.drop_level(data.step, e.level), rk_));
    return sum_slots(ev_, prod, gk_, S / B, B);
  };

  report(0);
  std::vector<Ciphertext> u(m);
  for (std::size_t o = 0; o < m; ++o) u[o] = update(ev_.add_const(data.targets[o], -0.5));  // u_1
  std::vector<int> baby_steps(bs);
  for (std::size_t j = 0; j < bs; ++j) baby_steps[j] = static_cast<int>(j);
  for (int it = 1; it < iterations; ++it) {
    report(static_cast<std::size_t>(it));
    for (std::size_t o = 0; o < m; ++o) {
      // 1. t = A u, replicated in every sample's block.
      const std::vector<Ciphertext> rot = ev_.rotate_hoisted(u[o], baby_steps, gk_);
      const int lu = u[o].level;
      const Ciphertext t = bsgs_sum(ev_, rk_, gk_, B, bs, [&](std::size_t k, std::size_t j) {
        return ev_.multiply(ev_.drop_level(data.data[k], lu), rot[j]);
      });
      // 2. e = y − p(t).
      Ciphertext e = pe.evaluate(t, neg);
      e = ev_.add(e, mul_const_to(ev_, *ctx_, ev_.drop_level(data.targets[o], e.level + 1), 1.0, e.scale));
      // 3–4. u ← u + Σ_r e ⊙ H.
      const Ciphertext du = update(e);
      u[o] = ev_.add(mul_const_to(ev_, *ctx_, ev_.drop_level(u[o], du.level + 1), 1.0, du.scale), du);
    }
  }
  report(static_cast<std::size_t>(iterations));
  return u;
}

}  // namespace ckks::ml

#include "ml/linreg/linreg_encrypted.h"

#include <bit>
#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/linreg/linreg_plain.h"

namespace ckks::ml {

std::size_t SfhLayout::baby() const {
  // b_s = 2^⌈log2(B)/2⌉: about √B baby steps and B/b_s giant steps.
  std::size_t log_b = 0;
  while ((std::size_t(1) << log_b) < block) ++log_b;
  return std::size_t(1) << ((log_b + 1) / 2);
}

std::vector<int> SfhLayout::rotation_steps() const {
  std::vector<int> steps;
  const std::size_t bs = baby();
  for (std::size_t b = 1; b < bs; ++b) steps.push_back(static_cast<int>(b));
  for (std::size_t g = bs; g < block; g += bs) steps.push_back(static_cast<int>(g));
  for (std::size_t s = block; s < slots(); s <<= 1) steps.push_back(static_cast<int>(s));
  return steps;
}

SfhLayout SfhLayout::make(std::size_t n, std::size_t d, std::size_t max_slots, std::size_t outputs) {
  if (n == 0 || d == 0)
    throw InputError("linreg: need at least one training sample and one feature (got n = " +
                     std::to_string(n) + ", d = " + std::to_string(d) + ")");
  SfhLayout l;
  l.n = n;
  l.d = d;
  l.outputs = outputs;
  l.block = std::bit_ceil(d + 1 + outputs);
  l.blocks = std::bit_ceil(n);
  if (l.slots() > max_slots)
    throw ParameterError("linreg: " + std::to_string(n) + " samples × " + std::to_string(l.block) +
                         "-slot blocks need " + std::to_string(l.slots()) + " slots but N/2 = " +
                         std::to_string(max_slots) + "; use a larger ring (e.g. Params::preset_n16()) "
                         "or fewer samples/features");
  return l;
}

// ---------------------------------------------------------------- data owner

SfhDataOwner::SfhDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed)
    : ctx_(ctx), keys_(ctx, test_seed) {}

SfhDataOwner::SfhDataOwner(ContextPtr ctx, ClientKeys keys) : ctx_(std::move(ctx)), keys_(std::move(keys)) {}

EncryptedTrainingSet SfhDataOwner::encrypt(const std::vector<std::vector<double>>& A,
                                           const std::vector<double>& y) {
  return encrypt(A, std::vector<std::vector<double>>{y}, 0.0);
}

EncryptedTrainingSet SfhDataOwner::encrypt(const std::vector<std::vector<double>>& A,
                                           const std::vector<std::vector<double>>& Y, double lambda) {
  if (Y.empty()) throw InputError("linreg encrypt: no target; pass at least one target column");
  for (std::size_t k = 0; k < Y.size(); ++k)
    if (A.empty() || A.size() != Y[k].size())
      throw InputError("linreg encrypt: A has " + std::to_string(A.size()) + " rows but target " + std::to_string(k) +
                       " has " + std::to_string(Y[k].size()) + " values; they must match and be non-empty");
  const std::size_t D = A[0].size(), m = Y.size();
  if (D < 2) throw InputError("linreg encrypt: A needs at least one feature column and the bias column");
  const SfhLayout layout = SfhLayout::make(A.size(), D - 1, ctx_->max_slots(), m);
  const std::vector<double> b = sfh_preconditioner(A, lambda);  // validates shape, finiteness and λ
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t r = 0; r < Y[k].size(); ++r)
      if (!std::isfinite(Y[k][r]))
        throw InputError("linreg encrypt: target " + std::to_string(k) + ", row " + std::to_string(r) +
                         " is not finite; clean the data first");

  const std::size_t B = layout.block, S = layout.slots();
  // Â = [A | −Y | 0…], one B-slot block per sample.
  auto a_hat = [&](std::size_t r, std::size_t c) -> double {
    if (c < D) return A[r][c];
    if (c < D + m) return -Y[c - D][r];
    return 0.0;
  };
  const int L = ctx_->max_level();
  const double scale = ctx_->default_scale();
  EncryptedTrainingSet out;
  out.layout = layout;
  out.lambda = lambda;
  std::vector<double> v(S);
  for (std::size_t k = 0; k < B; ++k) {
    std::fill(v.begin(), v.end(), 0.0);
    for (std::size_t r = 0; r < layout.n; ++r)
      for (std::size_t j = 0; j < B; ++j) v[r * B + j] = a_hat(r, (j + k) % B);
    out.columns_rotated.push_back(keys_.encryptor.encrypt(keys_.encoder.encode(v, L, scale, S)));
  }
  for (std::size_t s = 0; s < S; ++s) v[s] = (s % B) < D ? b[s % B] : 0.0;
  out.preconditioner = keys_.encryptor.encrypt(keys_.encoder.encode(v, L, scale, S));
  return out;
}

RelinKey SfhDataOwner::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys SfhDataOwner::galois_keys(const SfhLayout& layout) {
  return keys_.keygen.galois_keys(keys_.sk, layout.rotation_steps());
}

std::vector<double> SfhDataOwner::decrypt_weights(const Ciphertext& w, const SfhLayout& layout, double* constant,
                                                  std::size_t output) {
  if (output >= layout.outputs)
    throw InputError("linreg decrypt: output " + std::to_string(output) + " but the layout has " +
                     std::to_string(layout.outputs) + " outputs");
  const auto z = keys_.encoder.decode(keys_.decryptor.decrypt(w));
  const std::size_t D = layout.d + 1;
  std::vector<double> weights(D, 0.0);
  double one = 0;
  // Every block holds a copy of w̃; averaging the R copies averages out part of the noise.
  for (std::size_t r = 0; r < layout.blocks; ++r) {
    for (std::size_t j = 0; j < D; ++j) weights[j] += z[r * layout.block + j];
    one += z[r * layout.block + D + output];
  }
  for (auto& x : weights) x /= static_cast<double>(layout.blocks);
  if (constant) *constant = one / static_cast<double>(layout.blocks);
  return weights;
}

// ---------------------------------------------------------------- server

SfhServer::SfhServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), encoder_(ctx), ev_(ctx) {}

Ciphertext bsgs_sum(const Evaluator& ev, const RelinKey& rk, const GaloisKeys& gk, std::size_t block,
                    std::size_t baby, const std::function<Ciphertext(std::size_t, std::size_t)>& term) {
  const std::size_t gs = block / baby;
  Ciphertext acc;
  for (std::size_t g = 0; g < gs; ++g) {
    Ciphertext inner;
    for (std::size_t j = 0; j < baby; ++j) {
      Ciphertext t = term(g * baby + j, j);
      inner = (j == 0) ? std::move(t) : ev.add(inner, t);
    }
    if (inner.size() == 3) inner = ev.relinearize(inner, rk);
    inner = ev.rescale(inner);
    if (g > 0) inner = ev.rotate(inner, static_cast<int>(g * baby), gk);
    acc = (g == 0) ? std::move(inner) : ev.add(acc, inner);
  }
  return acc;
}

Ciphertext SfhServer::train(const EncryptedTrainingSet& data, int iterations, const Progress& progress) const {
  if (data.layout.outputs != 1)
    throw InputError("linreg train: the data set has " + std::to_string(data.layout.outputs) +
                     " outputs; use train_outputs for several targets");
  return train_outputs(data, iterations, progress)[0];
}

std::vector<Ciphertext> SfhServer::train_outputs(const EncryptedTrainingSet& data, int iterations,
                                                 const Progress& progress) const {
  if (iterations < 1)
    throw InputError("linreg train: iterations = " + std::to_string(iterations) + "; need at least 1");
  const SfhLayout& lay = data.layout;
  const std::size_t B = lay.block, S = lay.slots(), D = lay.d + 1, m = lay.outputs;
  if (data.columns_rotated.size() != B)
    throw InputError("linreg train: expected " + std::to_string(B) + " rotated column ciphertexts, got " +
                     std::to_string(data.columns_rotated.size()));
  const int top = data.columns_rotated[0].level;
  if (top < levels_needed(iterations))
    throw LevelError("linreg train: " + std::to_string(iterations) + " iterations need " +
                     std::to_string(levels_needed(iterations)) + " levels but the data is at level " +
                     std::to_string(top) + "; use fewer iterations or a longer chain (more data primes)");
  auto report = [&](const char* phase, std::size_t done, std::size_t total) {
    if (progress) progress(phase, done, total);
  };

  // 1. diag_k(ÂᵀÂ): one product and log2(R) rotations by multiples of B (sum over the samples).
  std::vector<Ciphertext> diag(B);
  const Ciphertext b = ev_.drop_level(data.preconditioner, top - 1);
  for (std::size_t k = 0; k < B; ++k) {
    report("building M (diagonals)", k, B);
    Ciphertext s = ev_.rescale(ev_.multiply_relin(data.columns_rotated[0], data.columns_rotated[k], rk_));
    s = sum_slots(ev_, s, gk_, S / B, B);
    // Ridge: diag_0(ÂᵀÂ) + λ·P (P = 1 on the d feature weights, 0 on the bias and beyond).
    if (k == 0 && data.lambda != 0.0) {
      std::vector<double> ridge(S);
      for (std::size_t i = 0; i < S; ++i) ridge[i] = (i % B) < D - 1 ? data.lambda : 0.0;
      s = ev_.add(s, encoder_.encode(ridge, s.level, s.scale, S));
    }
    // 2. diag_k(M̃) = [k = 0]·1_{j < D + m} − b ⊙ diag_k(ÂᵀÂ)
    Ciphertext mk = ev_.negate(ev_.rescale(ev_.multiply_relin(s, b, rk_)));
    if (k == 0) {
      std::vector<double> ident(S);
      for (std::size_t i = 0; i < S; ++i) ident[i] = (i % B) < D + m ? 1.0 : 0.0;
      mk = ev_.add(mk, encoder_.encode(ident, mk.level, mk.scale, S));
    }
    diag[k] = std::move(mk);
  }
  report("building M (diagonals)", B, B);

  // 3. Baby-step giant-step: pre-rotate diagonal g·b_s + j by −g·b_s (≡ B − g·b_s on period-B data).
  const std::size_t bs = lay.baby(), gs = B / bs;
  for (std::size_t g = 1; g < gs; ++g)
    for (std::size_t j = 0; j < bs; ++j)
      diag[g * bs + j] = ev_.rotate(diag[g * bs + j], static_cast<int>(B - g * bs), gk_);

  // 4. Iterations w̃ ← M̃ w̃, one ciphertext per output. The first uses w̃_0 = e_{D+o} in the clear
  //    (its rotations are cleartext).
  report("iterations", 0, static_cast<std::size_t>(iterations));
  const int l0 = diag[0].level;
  std::vector<Ciphertext> w(m);
  for (std::size_t o = 0; o < m; ++o) {
    w[o] = bsgs_sum(ev_, rk_, gk_, B, bs, [&](std::size_t k, std::size_t j) {
      std::vector<double> e(S);
      for (std::size_t i = 0; i < S; ++i) e[i] = ((i + j) % B) == D + o ? 1.0 : 0.0;  // rot(e_{D+o}, j)
      return ev_.multiply(diag[k], encoder_.encode(e, l0, ctx_->default_scale(), S));
    });
  }
  std::vector<int> baby_steps(bs);
  for (std::size_t j = 0; j < bs; ++j) baby_steps[j] = static_cast<int>(j);
  for (int t = 1; t < iterations; ++t) {
    report("iterations", static_cast<std::size_t>(t), static_cast<std::size_t>(iterations));
    for (std::size_t o = 0; o < m; ++o) {
      const std::vector<Ciphertext> rot = ev_.rotate_hoisted(w[o], baby_steps, gk_);  // one shared ModUp
      const int lw = w[o].level;
      w[o] = bsgs_sum(ev_, rk_, gk_, B, bs,
                      [&](std::size_t k, std::size_t j) { return ev_.multiply(ev_.drop_level(diag[k], lw), rot[j]); });
    }
  }
  report("iterations", static_cast<std::size_t>(iterations), static_cast<std::size_t>(iterations));
  return w;
}

}  // namespace ckks::ml

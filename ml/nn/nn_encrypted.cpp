#include "ml/nn/nn_encrypted.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/exact_scale.h"
#include "ml/spread_slots.h"
#include "ml/timer.h"

namespace ckks::ml {

namespace {

std::size_t log2_of(std::size_t n) { return static_cast<std::size_t>(std::countr_zero(n)); }

}  // namespace

// ---------------------------------------------------------------- layout

std::vector<int> NnLayout::rotation_steps() const {
  std::vector<int> steps;
  for (auto [n, stride] : {std::pair{axis, hp}, std::pair{hp, std::size_t{1}}})
    for (int s : sum_slots_steps(n, stride)) {  // sum_slots and spread_slots
      steps.push_back(s);
      steps.push_back(-s);
    }
  for (int s : sum_slots_steps(samples(), block)) steps.push_back(s);  // the sums over the samples
  return steps;
}

std::size_t NnLayout::rotations_per_iteration() const {
  if (four_layer()) return 6 * log2_of(axis) + 4 * log2_of(hp) + (groups + 2) * log2_of(samples());
  return 4 * log2_of(axis) + 2 * log2_of(hp) + (groups + 1) * log2_of(samples());
}

NnLayout NnLayout::make(std::size_t d, std::size_t classes, std::size_t hidden, std::size_t batch,
                        std::size_t max_slots, std::size_t hidden2) {
  if (d == 0 || hidden == 0 || batch == 0)
    throw InputError("nn: d = " + std::to_string(d) + " features, H = " + std::to_string(hidden) +
                     " hidden units, batch b = " + std::to_string(batch) + "; each must be at least 1 (--hidden, --batch)");
  if (classes < 2) throw InputError("nn: " + std::to_string(classes) + " class(es); need at least 2");
  NnLayout l;
  l.d = d;
  l.classes = classes;
  l.hidden = hidden;
  l.hidden2 = hidden2;
  if (hidden2 > 0) {  // four layers: h carries H1 + 1 units and the C classes, the axis H2 + 1 units
    l.hp = std::bit_ceil(std::max(hidden + 1, classes));
    l.axis = std::bit_ceil(std::max<std::size_t>(hidden2 + 1, 4));
  } else {
    l.hp = std::bit_ceil(hidden + 1);
    l.axis = std::bit_ceil(std::max<std::size_t>(classes, 4));
  }
  l.block = l.hp * l.axis;
  l.slots = max_slots;
  l.groups = (d + 1 + l.axis - 1) / l.axis;
  l.batch = batch;
  if (l.block > max_slots)
    throw ParameterError("nn: a sample needs a block of Hp·Ap = " + std::to_string(l.hp) + "·" + std::to_string(l.axis) +
                         " = " + std::to_string(l.block) + " slots but N/2 = " + std::to_string(max_slots) +
                         "; use fewer hidden units (--hidden) or a larger ring");
  if (batch > l.samples())
    throw ParameterError("nn: a batch of " + std::to_string(batch) + " samples is larger than the slots hold: N/2 = " +
                         std::to_string(max_slots) + " slots in blocks of " + std::to_string(l.block) + " hold R = " +
                         std::to_string(l.samples()) + " samples; use --batch " + std::to_string(l.samples()) +
                         " or less (or fewer hidden units, --hidden)");
  return l;
}

std::vector<std::vector<double>> nn_pack_weights(const NnWeights& w, const NnLayout& l) {
  const std::size_t D = l.d + 1, H = l.hidden, C = l.classes, H2 = l.hidden2;
  const bool four = l.four_layer();
  const std::size_t Hout = four ? H2 : H;  // the units W2 reads
  if (w.w1.size() != H || w.w2.size() != C || w.w1b.size() != H2)
    throw InputError("nn_pack_weights: W1 has " + std::to_string(w.w1.size()) + " rows, W1b " +
                     std::to_string(w.w1b.size()) + " and W2 " + std::to_string(w.w2.size()) + " but the layout has H1 = " +
                     std::to_string(H) + ", H2 = " + std::to_string(H2) + " (0: three layers), C = " + std::to_string(C));
  for (const auto& r : w.w1)
    if (r.size() != D) throw InputError("nn_pack_weights: a W1 row has " + std::to_string(r.size()) + " entries, D = " + std::to_string(D));
  for (const auto& r : w.w1b)
    if (r.size() != H + 1) throw InputError("nn_pack_weights: a W1b row has " + std::to_string(r.size()) + " entries, H1 + 1 = " + std::to_string(H + 1));
  for (const auto& r : w.w2)
    if (r.size() != Hout + 1) throw InputError("nn_pack_weights: a W2 row has " + std::to_string(r.size()) + " entries, " + (four ? "H2" : "H") + " + 1 = " + std::to_string(Hout + 1));
  std::vector<std::vector<double>> out(l.weight_ciphertexts(), std::vector<double>(l.slots, 0.0));
  for (std::size_t r = 0; r < l.samples(); ++r) {
    for (std::size_t g = 0; g < l.groups; ++g)
      for (std::size_t f = 0; f < l.axis && g * l.axis + f < D; ++f)
        for (std::size_t h = 0; h < H; ++h) out[g][l.slot(r, f, h)] = w.w1[h][g * l.axis + f];
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t h = 0; h <= Hout; ++h) out[l.groups][four ? l.slot(r, h, c) : l.slot(r, c, h)] = w.w2[c][h];
    for (std::size_t k = 0; k < H2; ++k)
      for (std::size_t h = 0; h <= H; ++h) out[l.groups + 1][l.slot(r, k, h)] = w.w1b[k][h];
  }
  return out;
}

NnWeights nn_unpack_weights(const std::vector<std::vector<double>>& v, const NnLayout& l) {
  if (v.size() != l.weight_ciphertexts())
    throw InputError("nn_unpack_weights: " + std::to_string(v.size()) + " vectors but the layout has " +
                     std::to_string(l.weight_ciphertexts()) + " (G + 1, and W1b's for four layers)");
  const std::size_t D = l.d + 1, H = l.hidden, C = l.classes, R = l.samples(), H2 = l.hidden2;
  const bool four = l.four_layer();
  const std::size_t Hout = four ? H2 : H;
  NnWeights w{DenseMatrix(H, std::vector<double>(D, 0.0)), DenseMatrix(C, std::vector<double>(Hout + 1, 0.0)),
              DenseMatrix(H2, std::vector<double>(H + 1, 0.0))};
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t g = 0; g < l.groups; ++g)
      for (std::size_t f = 0; f < l.axis && g * l.axis + f < D; ++f)
        for (std::size_t h = 0; h < H; ++h) w.w1[h][g * l.axis + f] += v[g][l.slot(r, f, h)] / static_cast<double>(R);
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t h = 0; h <= Hout; ++h)
        w.w2[c][h] += v[l.groups][four ? l.slot(r, h, c) : l.slot(r, c, h)] / static_cast<double>(R);
    for (std::size_t k = 0; k < H2; ++k)
      for (std::size_t h = 0; h <= H; ++h) w.w1b[k][h] += v[l.groups + 1][l.slot(r, k, h)] / static_cast<double>(R);
  }
  return w;
}

std::vector<std::vector<double>> nn_pack_batch(const DenseMatrix& A, const std::vector<double>& y,
                                               const std::vector<std::size_t>& rows, const NnLayout& l) {
  if (rows.size() != l.batch)
    throw InputError("nn_pack_batch: " + std::to_string(rows.size()) + " rows but the layout's batch is b = " +
                     std::to_string(l.batch));
  const std::size_t D = l.d + 1;
  std::vector<std::vector<double>> out(l.groups + 1, std::vector<double>(l.slots, 0.0));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t i = rows[r];
    if (i >= A.size() || i >= y.size() || A[i].size() != D)
      throw InputError("nn_pack_batch: row " + std::to_string(i) + " is missing or does not have D = " + std::to_string(D) +
                       " columns");
    const double label = y[i];
    if (!(label >= 0) || label != std::floor(label) || label >= static_cast<double>(l.classes))
      throw InputError("nn_pack_batch: label y[" + std::to_string(i) + "] = " + std::to_string(label) +
                       " is outside the class count: labels must be integers 0 … " + std::to_string(l.classes - 1));
    for (std::size_t g = 0; g < l.groups; ++g)
      for (std::size_t f = 0; f < l.axis && g * l.axis + f < D; ++f)
        for (std::size_t h = 0; h < l.hp; ++h) out[g][l.slot(r, f, h)] = A[i][g * l.axis + f];
    const std::size_t c = static_cast<std::size_t>(label);
    out[l.groups][l.four_layer() ? l.slot(r, 0, c) : l.slot(r, c, 0)] = 1.0;  // where E is (at h = c for four layers)
  }
  return out;
}

// ---------------------------------------------------------------- data owner

NnDataOwner::NnDataOwner(ContextPtr ctx, std::optional<std::uint64_t> test_seed) : ctx_(ctx), keys_(ctx, test_seed) {}

namespace {

// A public key for `sk` (KeyGenerator::public_key, fresh randomness); ParameterError if sk belongs to
// another Context (checked here, before KeyGenerator uses it).
PublicKey public_key_of(const ContextPtr& ctx, const SecretKey& sk) {
  if (sk.context != ctx) throw ParameterError("NnDataOwner: the secret key belongs to another Context");
  return KeyGenerator(ctx).public_key(sk);
}

}  // namespace

NnDataOwner::NnDataOwner(ContextPtr ctx, SecretKey sk)
    : ctx_(ctx), keys_(ctx, sk, public_key_of(ctx, sk)) {}

// The G + 1 slot vectors of a batch or of the weights, encrypted at `level`, scale Δ: the first G
// and the last apart.
std::pair<std::vector<Ciphertext>, Ciphertext> NnDataOwner::encrypt_vectors(const std::vector<std::vector<double>>& v,
                                                                            int level) {
  std::vector<Ciphertext> head;
  for (std::size_t g = 0; g < v.size(); ++g) {
    Ciphertext c = keys_.encryptor.encrypt(keys_.encoder.encode(v[g], level, ctx_->default_scale(), v[g].size()));
    if (g + 1 == v.size()) return {std::move(head), std::move(c)};
    head.push_back(std::move(c));
  }
  throw InputError("nn encrypt: no slot vectors to encrypt");
}

EncryptedNnBatch NnDataOwner::encrypt_batch(const DenseMatrix& A, const std::vector<double>& y,
                                            const std::vector<std::size_t>& rows, const NnLayout& lay, int level) {
  auto [x, yc] = encrypt_vectors(nn_pack_batch(A, y, rows, lay), level);
  return {std::move(x), std::move(yc)};
}

EncryptedNnWeights NnDataOwner::encrypt_weights(const NnWeights& w, const NnLayout& lay, int level) {
  std::vector<std::vector<double>> v = nn_pack_weights(w, lay);
  EncryptedNnWeights out;
  if (lay.four_layer()) {  // W1b, the last vector
    out.w1b = keys_.encryptor.encrypt(keys_.encoder.encode(v.back(), level, ctx_->default_scale(), v.back().size()));
    v.pop_back();
  }
  auto [w1, w2] = encrypt_vectors(v, level);
  out.w1 = std::move(w1);
  out.w2 = std::move(w2);
  return out;
}

NnWeights NnDataOwner::decrypt_weights(const EncryptedNnWeights& w, const NnLayout& lay) {
  if (w.w1.size() != lay.groups)
    throw InputError("nn decrypt_weights: " + std::to_string(w.w1.size()) + " W1 ciphertexts but the layout has G = " +
                     std::to_string(lay.groups) + "; pass the output of NnServer::step");
  std::vector<std::vector<double>> v;
  for (const Ciphertext& c : w.w1) v.push_back(decrypt_slots(c));
  v.push_back(decrypt_slots(w.w2));
  if (lay.four_layer()) v.push_back(decrypt_slots(w.w1b));
  return nn_unpack_weights(v, lay);
}

std::vector<double> NnDataOwner::decrypt_slots(const Ciphertext& ct) {
  return keys_.encoder.decode(keys_.decryptor.decrypt(ct));
}

RelinKey NnDataOwner::relin_key() { return keys_.keygen.relin_key(keys_.sk); }

GaloisKeys NnDataOwner::galois_keys(const NnLayout& lay, const BootstrapPlan& plan) {
  // Every ciphertext of the iteration lives at or below the bootstrap's output level (the batches are
  // encrypted there, the weights one below), so the iteration's own keys are made for that level.
  return galois_keys_with_bootstrap(keys_, lay.rotation_steps(), plan, plan.output_level);
}

EncapsulationKeys NnDataOwner::encapsulation_keys(int hamming_weight) {
  return keys_.keygen.encapsulation_keys(keys_.sk, hamming_weight);
}

// ---------------------------------------------------------------- server

namespace {

// Σ_k a_k ⊙ t^k (k ≤ 3) with per-slot coefficient vectors a_k, given t (level ℓ ≥ 2) and t2 = t·t
// rescaled (level ℓ − 1): level ℓ − 2, scale exactly Δ. Every term is built to reach scale Δ·q_{ℓ−1}
// at level ℓ − 1 before the one shared rescale (ml/exact_scale.h): a_3 rides on t (a plaintext
// product) so that a_3·t³ = (a_3 ⊙ t)·t2 is one ciphertext product; a_2 on t2; a_1 on t itself,
// dropped to ℓ − 1 (no rescale). 2 levels, 1 or 0 ciphertext products beyond t2.
Ciphertext slotwise_cubic(const Evaluator& ev, const Encoder& enc, const Context& ctx, const RelinKey& rk,
                          const Ciphertext& t, const Ciphertext& t2, const std::vector<double> (&a)[6]) {
  const double delta = ctx.default_scale();
  const int l = t.level;
  const double q1 = static_cast<double>(ctx.q(l - 1).value());
  const double mid = delta * q1;  // the scale every term has at level ℓ − 1 before the rescale
  const std::size_t S = a[0].size();
  Ciphertext acc = ev.multiply(ev.drop_level(t, l - 1), enc.encode(a[1], l - 1, mid / t.scale, S));
  acc = ev.add(acc, ev.multiply(t2, enc.encode(a[2], l - 1, mid / t2.scale, S)));
  if (std::any_of(a[3].begin(), a[3].end(), [](double v) { return v != 0; })) {
    const double q0 = static_cast<double>(ctx.q(l).value());
    Ciphertext v3 = ev.rescale(ev.multiply(t, enc.encode(a[3], l, (mid / t2.scale) * q0 / t.scale, S)));
    acc = ev.add(acc, ev.relinearize(ev.multiply(t2, v3), rk));
  }
  acc = ev.rescale(acc);
  return ev.add(acc, enc.encode(a[0], l - 2, acc.scale, S));
}

// Σ_k a_k ⊙ t^k (k ≤ 5) with per-slot coefficient vectors a_k, given t (level ℓ ≥ 3), t2 = t·t
// rescaled (level ℓ − 1) and t4 = t2·t2 rescaled (level ℓ − 2): level ℓ − 3, scale exactly Δ. As
// slotwise_cubic one level lower: every term reaches scale Δ·q_{ℓ−2} at level ℓ − 2 before the one
// shared rescale. a_5·t⁵ = (a_5 ⊙ t)·t4 and a_3·t³ = (a_3 ⊙ t2)·t (the coefficient rides on a
// rescaled plaintext product), a_4 on t4, a_2 on t2 and a_1 on t by plaintext products. 3 levels,
// 2 ciphertext products beyond t2 and t4.
Ciphertext slotwise_quintic(const Evaluator& ev, const Encoder& enc, const Context& ctx, const RelinKey& rk,
                            const Ciphertext& t, const Ciphertext& t2, const Ciphertext& t4,
                            const std::vector<double> (&a)[6]) {
  const double delta = ctx.default_scale();
  const int l = t.level;
  const double mid = delta * static_cast<double>(ctx.q(l - 2).value());  // every term's scale at ℓ − 2
  const double q0 = static_cast<double>(ctx.q(l).value()), q1 = static_cast<double>(ctx.q(l - 1).value());
  const std::size_t S = a[0].size();
  const Ciphertext t_low = ev.drop_level(t, l - 2), t2_low = ev.drop_level(t2, l - 2);
  Ciphertext acc = ev.multiply(t_low, enc.encode(a[1], l - 2, mid / t_low.scale, S));
  acc = ev.add(acc, ev.multiply(t2_low, enc.encode(a[2], l - 2, mid / t2_low.scale, S)));
  acc = ev.add(acc, ev.multiply(t4, enc.encode(a[4], l - 2, mid / t4.scale, S)));
  // (a_3 ⊙ t2) rescaled to scale mid/t.scale at ℓ − 2, times t.
  const Ciphertext v3 = ev.rescale(ev.multiply(t2, enc.encode(a[3], l - 1, (mid / t.scale) * q1 / t2.scale, S)));
  acc = ev.add(acc, ev.relinearize(ev.multiply(v3, t_low), rk));
  // (a_5 ⊙ t) rescaled to scale mid/t4.scale at ℓ − 1, dropped to ℓ − 2, times t4.
  const Ciphertext v5 = ev.rescale(ev.multiply(t, enc.encode(a[5], l, (mid / t4.scale) * q0 / t.scale, S)));
  acc = ev.add(acc, ev.relinearize(ev.multiply(ev.drop_level(v5, l - 2), t4), rk));
  acc = ev.rescale(acc);
  return ev.add(acc, enc.encode(a[0], l - 3, acc.scale, S));
}

}  // namespace

Ciphertext NnServer::mul(const Ciphertext& a, const Ciphertext& b) const {
  const int lv = std::min(a.level, b.level);
  return ev_.rescale(ev_.relinearize(ev_.multiply(ev_.drop_level(a, lv), ev_.drop_level(b, lv)), rk_));
}

BootstrapPlan NnServer::refresh_plan(const Context& ctx, const RefreshConfig& refresh, const NnLayout& lay) {
  return PeriodicRefresher::plan(ctx, refresh, lay.samples(), lay.block);
}

std::vector<std::string> NnServer::level_schedule(int lw, int lb, double momentum, int output_degree, bool four_layer) {
  const int m = momentum > 0 ? 1 : 0, v = lw - m, q = output_degree == 5 ? 1 : 0;
  auto line = [](const std::string& what, int level) { return what + ": level " + std::to_string(level); };
  std::vector<std::string> s;
  if (four_layer) {  // every product one level below the lower factor; a cubic two below its input
    const int a1 = v - 3, z1b = v - 4, ab = lb - 2, z2 = std::min(ab, v) - 1, e = z2 - 2 - q;
    const int g2 = std::min(lb, ab) - 2, db = std::min(std::min(lb, v) - 1, ab) - 1, g1b = std::min(db, a1) - 2;
    const int d1 = std::min(std::min(db, v) - 1, a1) - 1, g1 = std::min(d1, lb) - 2;
    s.push_back(line("weights W after a refresh", lw));
    if (m) s.push_back(line("look-ahead V = (1 + γ)W − γW_prev", v));
    s.push_back(line("Z1 = A·V1ᵀ (summed over the feature axis)", v - 1));
    s.push_back(line("A1 = p1(Z1), D1 = p1'(Z1) (slot-wise cubic)", a1));
    s.push_back(line("Z1b = A1·V1bᵀ (summed over h)", z1b));
    s.push_back(line("Z1b/a1b masked to the H2 units (the bootstrap's input range)", z1b - 1));
    s.push_back(line("Z1b/a1b bootstrapped (full slots)", lb));
    s.push_back(line("A1b = p1b(Z1b), D1b = p1b'(Z1b) (slot-wise cubic)", ab));
    s.push_back(line("Z2 = A1b·V2ᵀ (summed over the axis)", z2));
    s.push_back(line(q ? "E = (p2(Z2) − Y)/2 (slot-wise quintic)" : "E = (p2(Z2) − Y)/2 (slot-wise cubic)", e));
    s.push_back(line("E bootstrapped (full slots)", lb));
    s.push_back(line("∇2 = s·Eᵀ·A1b (summed over the samples)", g2));
    s.push_back(line("δ1b = (E·V2) ⊙ D1b", db));
    s.push_back(line("∇1b = s·δ1bᵀ·A1 (summed over the samples)", g1b));
    s.push_back(line("δ1 = (δ1b·V1b) ⊙ D1", d1));
    s.push_back(line("∇1 = s·δ1ᵀ·A (summed over the samples)", g1));
    s.push_back(line("W_new = (1 − η_t·λ)·V + ∇ packed for the weight refresh", std::min({g1, g1b, g2}) - 1));
    s.push_back(line("weights refreshed", lw));
    return s;
  }
  s.push_back(line("weights W after a refresh", lw));
  if (m) s.push_back(line("look-ahead V = (1 + γ)W − γW_prev", v));
  s.push_back(line("Z1 = A·V1ᵀ (summed over the feature axis)", v - 1));
  s.push_back(line("A1 = p1(Z1), D1 = p1'(Z1) (slot-wise cubic)", v - 3));
  s.push_back(line("Z2 = A1·V2ᵀ (summed over h)", v - 4));
  s.push_back(line(q ? "E = (p2(Z2) − Y)/2 (slot-wise quintic)" : "E = (p2(Z2) − Y)/2 (slot-wise cubic)", v - 6 - q));
  s.push_back(line("E bootstrapped (full slots)", lb));
  s.push_back(line("∇2 = s·Eᵀ·A1 (summed over the samples)", v - 5));
  s.push_back(line("δ = (E·V2) ⊙ D1", v - 4));
  s.push_back(line("∇1 = s·δᵀ·A (summed over the samples)", v - 6));
  s.push_back(line("W_new = (1 − η_t·λ)·V + ∇ packed for the weight refresh", v - 7));
  s.push_back(line("weights refreshed", lw));
  return s;
}

NnServer::NnServer(ContextPtr ctx, RelinKey rk, GaloisKeys gk, EncapsulationKeys ek, const RefreshConfig& refresh,
                   const NnLayout& lay, SigmoidPoly act1, SigmoidPoly act2, double eta, double momentum,
                   double weight_decay, double eta_decay, std::optional<SigmoidPoly> act1b)
    : ctx_(ctx), rk_(std::move(rk)), gk_(std::move(gk)), ek_(std::move(ek)), lay_(lay), encoder_(ctx), ev_(ctx),
      output_degree_(act2.degree), eta_(eta), momentum_(momentum), weight_decay_(weight_decay), eta_decay_(eta_decay) {
  const std::size_t count = lay.weight_ciphertexts() * (momentum > 0 ? 2 : 1);
  if (count > lay.samples())
    throw ParameterError("nn: " + std::to_string(count) + " weight ciphertexts do not fit the " +
                         std::to_string(lay.samples()) + " blocks of one packed bootstrap; use fewer features or hidden units");
  if (!(eta > 0) || momentum < 0 || momentum >= 1)
    throw InputError("nn: eta = " + std::to_string(eta) + ", momentum = " + std::to_string(momentum) +
                     "; need eta > 0 (--eta) and 0 ≤ momentum < 1 (--momentum)");
  check_nn_decay(eta, weight_decay, eta_decay, "nn");
  if (lay.four_layer() && !act1b)
    throw InputError("nn: a four-layer layout (H2 = " + std::to_string(lay.hidden2) +
                     ") needs p1b, the second hidden layer's sigmoid fit; pass act1b");
  if (lay.four_layer() && act1b->degree != 3)
    throw InputError("nn: the encrypted iteration evaluates a cubic p1b; it has degree " + std::to_string(act1b->degree) +
                     " (--hidden-degree 3)");
  if (act1.degree != 3 || (act2.degree != 3 && act2.degree != 5))
    throw InputError("nn: the encrypted iteration evaluates a cubic p1 and a cubic or quintic p2; p1 has degree " +
                     std::to_string(act1.degree) + " and p2 " + std::to_string(act2.degree) +
                     " (--hidden-degree 3, --output-degree 3 or 5)");
  refresher_ = std::make_unique<PeriodicRefresher>(ctx, refresh, rk_, gk_, ek_, lay.samples(), lay.block, lay.slots);
  if (weight_level() < levels_needed(momentum))
    throw LevelError("nn: too few levels: an iteration needs the weights at level " +
                     std::to_string(levels_needed(momentum)) + " after a refresh but the bootstrap leaves " +
                     std::to_string(weight_level()) + " (output level " + std::to_string(data_level()) +
                     " − 1 to unpack); use bootstrap_preset_n16_sparse_secret's chain (9 levels after bootstrapping)" +
                     (momentum > 0 ? " or --momentum 0 (one level fewer)" : ""));
  const std::size_t S = lay.slots;
  for (int k = 0; k < 6; ++k) {
    a1_[k].assign(S, 0.0);
    d1_[k].assign(S, 0.0);
    e_[k].assign(S, 0.0);
  }
  if (lay.four_layer()) {
    // t = Z1b/a at slot r·B + k·Hp (k < H2, r < b), bootstrapped; p1b(a·t) = Σ_j c_j·a^j·t^j and
    // p1b'(a·t) = Σ_j (j + 1)·c_{j+1}·a^j·t^j carry the interval's a (no level for the map back).
    const double a = act1b->a;
    zb_mask_.assign(S, 0.0);
    for (int k = 0; k < 6; ++k) {
      a1b_[k].assign(S, 0.0);
      d1b_[k].assign(S, 0.0);
    }
    for (std::size_t r = 0; r < lay.batch; ++r) {
      for (std::size_t k = 0; k < lay.hidden2; ++k) {
        const std::size_t i = lay.slot(r, k, 0);
        zb_mask_[i] = 1 / a;
        for (int j = 0; j < 4; ++j) a1b_[j][i] = act1b->c[static_cast<std::size_t>(j)] * std::pow(a, j);
        for (int j = 0; j < 3; ++j) d1b_[j][i] = (j + 1) * act1b->c[static_cast<std::size_t>(j + 1)] * std::pow(a, j);
      }
      a1b_[0][lay.slot(r, lay.hidden2, 0)] = 1.0;  // the second hidden layer's bias unit
    }
  }
  for (std::size_t r = 0; r < lay.batch; ++r) {
    for (std::size_t h = 0; h < lay.hidden; ++h) {
      const std::size_t i = lay.slot(r, 0, h);
      for (int k = 0; k < 4; ++k) a1_[k][i] = act1.c[static_cast<std::size_t>(k)];
      d1_[0][i] = act1.c[1];
      d1_[1][i] = 2 * act1.c[2];
      d1_[2][i] = 3 * act1.c[3];
    }
    a1_[0][lay.slot(r, 0, lay.hidden)] = 1.0;  // the bias unit
    for (std::size_t c = 0; c < lay.classes; ++c)  // Z2[r][c] at slot r·B + c·Hp (four layers: r·B + c)
      for (int k = 0; k <= act2.degree; ++k)
        e_[k][lay.four_layer() ? lay.slot(r, 0, c) : lay.slot(r, c, 0)] = 0.5 * act2.c[static_cast<std::size_t>(k)];
  }
}

NnForward NnServer::forward(const EncryptedNnWeights& w, const EncryptedNnWeights& w_prev,
                            const EncryptedNnBatch& batch) {
  const NnLayout& l = lay_;
  const std::size_t G = l.groups;
  if (w.w1.size() != G || w_prev.w1.size() != G || batch.x.size() != G)
    throw InputError("nn step: W1/W_prev/X hold " + std::to_string(w.w1.size()) + "/" + std::to_string(w_prev.w1.size()) +
                     "/" + std::to_string(batch.x.size()) + " ciphertexts but the layout has G = " + std::to_string(G));
  if (l.four_layer() && (w.w1b.level < weight_level() || w_prev.w1b.level < weight_level()))
    throw InputError("nn step: a four-layer iteration needs W1b and W1b_prev at level " + std::to_string(weight_level()) +
                     "; they are at " + std::to_string(w.w1b.level) + " and " + std::to_string(w_prev.w1b.level) +
                     " (encrypt the weights with the four-layer layout)");
  if (w.w2.level < weight_level() || batch.y.level < data_level())
    throw InputError("nn step: weights at level " + std::to_string(w.w2.level) + " and data at " +
                     std::to_string(batch.y.level) + " but the iteration needs " + std::to_string(weight_level()) +
                     " and " + std::to_string(data_level()) + "; encrypt them at NnServer::weight_level()/data_level()");
  const Context& ctx = *ctx_;
  const double delta = ctx.default_scale();
  // 0. V = (1 + γ)·W − γ·W_prev.
  auto look_ahead = [&](const Ciphertext& a, const Ciphertext& p) {
    if (momentum_ == 0) return a;
    return ev_.add(mul_const_to(ev_, ctx, a, 1 + momentum_, delta), mul_const_to(ev_, ctx, p, -momentum_, delta));
  };
  NnForward f;
  for (std::size_t g = 0; g < G; ++g) f.v.w1.push_back(look_ahead(w.w1[g], w_prev.w1[g]));
  f.v.w2 = look_ahead(w.w2, w_prev.w2);
  if (l.four_layer()) f.v.w1b = look_ahead(w.w1b, w_prev.w1b);
  // 1. Z1: Σ_g X[g] ⊙ V1[g], one relinearisation and rescale, summed over the feature axis.
  const int lv = f.v.w2.level;
  Ciphertext p = ev_.multiply(ev_.drop_level(batch.x[0], lv), f.v.w1[0]);
  for (std::size_t g = 1; g < G; ++g) p = ev_.add(p, ev_.multiply(ev_.drop_level(batch.x[g], lv), f.v.w1[g]));
  f.z1 = sum_slots(ev_, ev_.rescale(ev_.relinearize(p, rk_)), gk_, l.axis, l.hp);
  // 2. A1 (with the bias unit) and D1; 3. A1 spread over the axis.
  const Ciphertext z1sq = mul(f.z1, f.z1);
  f.a1 = spread_slots(ev_, slotwise_cubic(ev_, encoder_, ctx, rk_, f.z1, z1sq, a1_), gk_, l.axis, l.hp);
  f.d1 = slotwise_cubic(ev_, encoder_, ctx, rk_, f.z1, z1sq, d1_);
  if (l.four_layer()) {
    // 4. Z1b = Σ_h A1 ⊙ V1b: slot r·B + k·Hp holds Z1b[r][k].
    f.z1b = sum_slots(ev_, mul(f.a1, f.v.w1b), gk_, l.hp, 1);
    // 5. t = Z1b/a1b masked to k < H2, r < b (|t| ≤ 1, the bootstrap's range), bootstrapped.
    f.t1b = bootstrap_full(ev_.rescale(mul_plain_to(ev_, encoder_, ctx, f.z1b, zb_mask_, 1.0, delta)));
    // 6. A1b (with its bias unit at k = H2) and D1b; A1b spread over h; Z2 = Σ_k A1b ⊙ V2 over the axis.
    const Ciphertext tsq = mul(f.t1b, f.t1b);
    f.a1b = spread_slots(ev_, slotwise_cubic(ev_, encoder_, ctx, rk_, f.t1b, tsq, a1b_), gk_, l.hp, 1);
    f.d1b = slotwise_cubic(ev_, encoder_, ctx, rk_, f.t1b, tsq, d1b_);
    f.z2 = sum_slots(ev_, mul(f.a1b, f.v.w2), gk_, l.axis, l.hp);
  } else {
    // 4. Z2 = Σ_h A1 ⊙ V2.
    f.z2 = sum_slots(ev_, mul(f.a1, f.v.w2), gk_, l.hp, 1);
  }
  // 5. E = (p2(Z2) − Y)/2.
  const Ciphertext z2sq = mul(f.z2, f.z2);
  f.e = output_degree_ == 5 ? slotwise_quintic(ev_, encoder_, ctx, rk_, f.z2, z2sq, mul(z2sq, z2sq), e_)
                            : slotwise_cubic(ev_, encoder_, ctx, rk_, f.z2, z2sq, e_);
  f.e = ev_.add(f.e, ev_.drop_level(mul_const_to(ev_, ctx, batch.y, -0.5, delta), f.e.level));
  return f;
}

Ciphertext NnServer::bootstrap_error(const Ciphertext& e) { return bootstrap_full(e); }

Ciphertext NnServer::bootstrap_full(const Ciphertext& e) {
  const auto t_boot = Clock::now();
  Ciphertext out = refresher_->bootstrapper().bootstrap(ev_.drop_level(e, 0));
  stats_.seconds_bootstrap += seconds_since(t_boot);
  ++stats_.bootstraps;
  return out;
}

EncryptedNnWeights NnServer::backward(const NnForward& f, const Ciphertext& e, const EncryptedNnBatch& batch) const {
  const NnLayout& l = lay_;
  const Context& ctx = *ctx_;
  const double delta = ctx.default_scale();
  const std::size_t R = l.samples();
  const double eta_t = eta_ / (1 + eta_decay_ * t_), s = -2 * eta_t / static_cast<double>(l.batch);
  // V, or (1 − η_t·λ)·V with weight decay (one level on V, which is far above ∇'s level).
  auto kept = [&](const Ciphertext& v, int level) {
    return ev_.drop_level(weight_decay_ > 0 ? mul_const_to(ev_, ctx, v, 1 - eta_t * weight_decay_, delta) : v, level);
  };
  EncryptedNnWeights out;
  Ciphertext g2, delta1;
  if (l.four_layer()) {
    // E (slot r·B + c) spread over the axis: slot r·B + k·Hp + c holds E[r][c].
    const Ciphertext es = spread_slots(ev_, e, gk_, l.axis, l.hp);
    // ∇2 = s·Σ_r E ⊙ A1b (slot k·Hp + c: ∇W2[c][k]).
    g2 = mul_const_to(ev_, ctx, sum_slots(ev_, mul(es, f.a1b), gk_, R, l.block), s, delta);
    // δ1b = (Σ_c E ⊙ V2) ⊙ D1b at slot r·B + k·Hp, spread over h.
    const Ciphertext db = spread_slots(ev_, mul(sum_slots(ev_, mul(es, f.v.w2), gk_, l.hp, 1), f.d1b), gk_, l.hp, 1);
    // ∇1b = s·Σ_r δ1b ⊙ A1 (slot k·Hp + h: ∇W1b[k][h]).
    const Ciphertext g1b = mul_const_to(ev_, ctx, sum_slots(ev_, mul(db, f.a1), gk_, R, l.block), s, delta);
    out.w1b = ev_.add(kept(f.v.w1b, g1b.level), g1b);
    // δ1 = (Σ_k δ1b ⊙ V1b) ⊙ D1 at slot r·B + h, spread over the feature axis.
    delta1 = spread_slots(ev_, mul(sum_slots(ev_, mul(db, f.v.w1b), gk_, l.axis, l.hp), f.d1), gk_, l.axis, l.hp);
  } else {
    const Ciphertext es = spread_slots(ev_, e, gk_, l.hp, 1);
    // 7. ∇2 = s·Σ_r E ⊙ A1.
    g2 = mul_const_to(ev_, ctx, sum_slots(ev_, mul(es, f.a1), gk_, R, l.block), s, delta);
    // 8. δ = (Σ_c E ⊙ V2) ⊙ D1, spread over the feature axis.
    delta1 = spread_slots(ev_, mul(sum_slots(ev_, mul(es, f.v.w2), gk_, l.axis, l.hp), f.d1), gk_, l.axis, l.hp);
  }
  // 9.–10. ∇1[g] = s·Σ_r δ ⊙ X[g]; W_new = (1 − η_t·λ)·V + ∇.
  for (std::size_t g = 0; g < l.groups; ++g) {
    const Ciphertext g1 = mul_const_to(ev_, ctx, sum_slots(ev_, mul(delta1, batch.x[g]), gk_, R, l.block), s, delta);
    out.w1.push_back(ev_.add(kept(f.v.w1[g], g1.level), g1));
  }
  out.w2 = ev_.add(kept(f.v.w2, g2.level), g2);
  return out;
}

EncryptedNnWeights NnServer::refresh_weights(const EncryptedNnWeights& w_new, const EncryptedNnWeights& w,
                                             EncryptedNnWeights& w_prev) {
  const std::size_t G = lay_.groups, K = lay_.weight_ciphertexts();
  const bool four = lay_.four_layer();
  std::vector<const Ciphertext*> state;
  for (const Ciphertext& c : w_new.w1) state.push_back(&c);
  state.push_back(&w_new.w2);
  if (four) state.push_back(&w_new.w1b);
  if (momentum_ > 0) {
    for (const Ciphertext& c : w.w1) state.push_back(&c);
    state.push_back(&w.w2);
    if (four) state.push_back(&w.w1b);
  }
  const RefreshStats before = refresher_->stats();
  std::vector<Ciphertext> fresh = refresher_->refresh(state);
  const RefreshStats used = refresher_->stats() - before;
  stats_.seconds_bootstrap += used.seconds_bootstrap;
  stats_.bootstraps += used.bootstraps;
  EncryptedNnWeights next;
  next.w1.assign(fresh.begin(), fresh.begin() + static_cast<long>(G));
  next.w2 = fresh[G];
  if (four) next.w1b = fresh[G + 1];
  if (momentum_ > 0) {
    w_prev.w1.assign(fresh.begin() + static_cast<long>(K), fresh.begin() + static_cast<long>(K + G));
    w_prev.w2 = fresh[K + G];
    if (four) w_prev.w1b = fresh[K + G + 1];
  } else {
    w_prev = w;
  }
  ++t_;
  return next;
}

void NnServer::resume_at(int t) {
  if (t < 0) throw InputError("nn resume_at: iteration " + std::to_string(t) + " is negative; pass the saved t ≥ 0");
  t_ = t;
}

EncryptedNnWeights NnServer::step(const EncryptedNnWeights& w, EncryptedNnWeights& w_prev, const EncryptedNnBatch& batch) {
  const auto t_start = Clock::now();
  const NnForward f = forward(w, w_prev, batch);
  const Ciphertext e = bootstrap_error(f.e);  // 6.
  const EncryptedNnWeights w_new = backward(f, e, batch);
  EncryptedNnWeights next = refresh_weights(w_new, w, w_prev);
  ++stats_.iterations;
  stats_.seconds_iterations += seconds_since(t_start);
  return next;
}

}  // namespace ckks::ml

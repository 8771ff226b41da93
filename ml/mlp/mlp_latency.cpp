#include "ml/mlp/mlp_latency.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "ckks/errors.h"

namespace ckks::ml {

namespace {

std::string str(std::size_t v) { return std::to_string(v); }

bool is_square(const Mlp::Quadratic& q) { return q.a == 1.0 && q.b == 0.0; }

int activation_levels(const Mlp::Layer& layer) {
  if (!layer.act) return 0;
  return is_square(*layer.act) ? 1 : 2;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Layout

std::vector<int> MlpLatencyLayout::Layer::rotation_steps() const {
  std::vector<int> steps;
  for (std::size_t b = 1; b < baby_steps; ++b) steps.push_back(static_cast<int>(b));
  const std::size_t giants = (out_period + baby_steps - 1) / baby_steps;
  for (std::size_t g = 1; g < giants; ++g) steps.push_back(static_cast<int>(g * baby_steps));
  for (std::size_t s = out_period; s < out_period * fold; s *= 2) steps.push_back(static_cast<int>(s));
  return steps;
}

MlpLatencyLayout::MlpLatencyLayout(const Mlp& model) {
  if (model.layers.empty())
    throw InputError("MlpLatencyLayout: the model has no layer; load one with Mlp::load");
  std::size_t in_period = 0;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const auto& d = model.layers[i].dense;
    if (d.in == 0 || d.out == 0)
      throw InputError("MlpLatencyLayout: layer " + str(i + 1) + " is " + str(d.out) + " × " + str(d.in) +
                       "; every dense layer needs at least one input and one output");
    Layer l;
    l.in = d.in;
    l.out = d.out;
    // Layer 1 takes the padded image; later layers take the previous output, whose period is R.
    l.in_period = i == 0 ? std::bit_ceil(d.in) : std::max(in_period, std::bit_ceil(d.in));
    l.out_period = std::bit_ceil(d.out);
    l.period = std::max(l.in_period, l.out_period);
    l.fold = l.period / l.out_period;
    std::size_t root = 1;
    while (root * root < l.out_period) ++root;  // ⌈√R⌉
    l.baby_steps = std::min(std::bit_ceil(root), l.period);
    in_period = l.out_period;
    slots_ = std::max(slots_, l.period);
    levels_ += 1 + activation_levels(model.layers[i]);
    layers_.push_back(l);
  }
}

std::vector<int> MlpLatencyLayout::rotation_steps() const {
  std::vector<int> steps;
  for (const auto& l : layers_) {
    const auto s = l.rotation_steps();
    steps.insert(steps.end(), s.begin(), s.end());
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::vector<double> MlpLatencyLayout::pack_input(const std::vector<double>& x) const {
  const Layer& l = layers_.front();
  if (x.size() != l.in)
    throw InputError("MlpLatencyLayout::pack_input: the input has " + str(x.size()) + " values but the model takes " +
                     str(l.in) + " (e.g. 28 × 28 = 784 pixels of one image)");
  for (std::size_t k = 0; k < x.size(); ++k)
    if (!std::isfinite(x[k]))
      throw InputError("MlpLatencyLayout::pack_input: input value " + str(k) + " is NaN or infinite");
  std::vector<double> slots(slots_, 0.0);
  for (std::size_t s = 0; s < slots_; ++s)
    if (s % l.in_period < l.in) slots[s] = x[s % l.in_period];
  return slots;
}

std::vector<double> MlpLatencyLayout::pack_input(const std::vector<float>& x) const {
  return pack_input(std::vector<double>(x.begin(), x.end()));
}

std::vector<double> MlpLatencyLayout::unpack_output(const std::vector<double>& slots) const {
  if (slots.size() < output_size())
    throw InputError("MlpLatencyLayout::unpack_output: " + str(slots.size()) + " slot values, fewer than the " +
                     str(output_size()) + " outputs; pass the decoded output ciphertext");
  return std::vector<double>(slots.begin(), slots.begin() + static_cast<std::ptrdiff_t>(output_size()));
}

// ---------------------------------------------------------------------------------------------
// Parameters

Params mlp_latency_params(int levels, std::size_t slots) {
  if (levels < 1) throw ParameterError("mlp_latency_params: levels = " + std::to_string(levels) + "; need ≥ 1");
  for (int log_n = 12; log_n <= 15; ++log_n) {
    if ((std::size_t(1) << (log_n - 1)) < slots) continue;
    const int bound = max_log_qp_128(log_n);
    const int s = std::min(40, (bound - 26) / (levels + 2));
    if (s < 25) continue;
    Params p;
    p.log_n = log_n;
    p.log_q.assign(static_cast<std::size_t>(levels) + 1, s);
    p.log_q[0] = s + 13;
    p.log_p = {s + 13};
    p.log_scale = s;
    return p;
  }
  throw ParameterError("mlp_latency_params: no ring up to N = 2^15 holds " + str(slots) + " slots and " +
                       std::to_string(levels) + " levels of at least 25 bits at 128-bit security; use a "
                       "smaller model or bootstrapping");
}

// ---------------------------------------------------------------------------------------------
// Server

MlpLatencyServer::MlpLatencyServer(ContextPtr ctx, Mlp model, RelinKey rk, GaloisKeys gk, int input_level)
    : ctx_(ctx),
      model_(std::move(model)),
      layout_(model_),
      rk_(std::move(rk)),
      gk_(std::move(gk)),
      ev_(ctx),
      enc_(ctx) {
  if (layout_.slots() > ctx_->max_slots())
    throw ParameterError("MlpLatencyServer: the layout needs " + str(layout_.slots()) + " slots but N/2 = " +
                         str(ctx_->max_slots()) + "; use a larger ring (mlp_latency_params)");
  if (rk_.key.context != ctx_ || gk_.context != ctx_)
    throw ParameterError("MlpLatencyServer: the relinearisation or Galois keys belong to another Context");
  input_level_ = input_level < 0 ? ctx_->max_level() : input_level;
  if (input_level_ > ctx_->max_level())
    throw LevelError("MlpLatencyServer: input level " + std::to_string(input_level_) + " is above the top level L = " +
                     std::to_string(ctx_->max_level()));
  if (input_level_ < levels_needed())
    throw LevelError("MlpLatencyServer: the network needs " + std::to_string(levels_needed()) +
                     " levels but inputs at level " + std::to_string(input_level_) +
                     " have only that many left; encrypt at a higher level or use a longer chain "
                     "(mlp_latency_params(" + std::to_string(levels_needed()) + ", " + str(layout_.slots()) + "))");
  std::string missing;
  for (int s : layout_.rotation_steps())
    if (!gk_.has(ctx_->galois_element(s))) missing += (missing.empty() ? "" : ", ") + std::to_string(s);
  if (!missing.empty())
    throw MissingKeyError("MlpLatencyServer: no Galois key for the rotation step(s) {" + missing +
                          "}; the client must generate KeyGenerator::galois_keys(sk, "
                          "MlpLatencyLayout(model).rotation_steps())");

  // Encode each layer's banded matrix for the level its input arrives at.
  int level = input_level_;
  const std::size_t slots = layout_.slots();
  for (std::size_t i = 0; i < model_.layers.size(); ++i) {
    const auto& d = model_.layers[i].dense;
    const auto& l = layout_.layers()[i];
    const std::size_t D = l.period, R = l.out_period;
    // B[r][c] = W[r mod R][c] on the R extended diagonals ((c − r) mod D < R), 0 elsewhere
    // (W padded with zeros to R × D).
    RealMatrix band(D, std::vector<double>(D, 0.0));
    for (std::size_t r = 0; r < D; ++r) {
      const std::size_t row = r % R;
      if (row >= d.out) continue;
      for (std::size_t k = 0; k < R; ++k) {
        const std::size_t c = (r + k) % D;
        if (c < d.in) band[r][c] = d.weight[row * d.in + c];
      }
    }
    dense_levels_.push_back(level);
    products_.emplace_back(enc_, band, level, slots, l.baby_steps);
    level -= 1 + activation_levels(model_.layers[i]);
  }
}

int MlpLatencyServer::dense_level(std::size_t i) const {
  if (i >= dense_levels_.size())
    throw InputError("MlpLatencyServer: layer index " + str(i) + " is out of range; the model has " +
                     str(dense_levels_.size()) + " layers (0-based)");
  return dense_levels_[i];
}

void MlpLatencyServer::check_input(const Ciphertext& x, const char* op) const {
  if (x.context != ctx_)
    throw ParameterError(std::string(op) + ": the ciphertext belongs to another Context than the server");
  if (x.slots != layout_.slots())
    throw InputError(std::string(op) + ": the ciphertext has " + str(x.slots) + " slots but the latency layout uses " +
                     str(layout_.slots()) + "; encrypt the image with encrypt_latency_image");
  if (x.size() != 2)
    throw InputError(std::string(op) + ": the ciphertext has " + str(x.size()) +
                     " components; relinearise it to 2 first");
}

Ciphertext MlpLatencyServer::dense(std::size_t i, const Ciphertext& x, TransformCost* cost) const {
  const int level = dense_level(i);
  check_input(x, "MlpLatencyServer::dense");
  if (x.level != level)
    throw LevelError("MlpLatencyServer::dense: layer " + str(i) + " runs at level " + std::to_string(level) +
                     " but the ciphertext is at level " + std::to_string(x.level));
  const auto& l = layout_.layers()[i];
  const auto& d = model_.layers[i].dense;
  // Σ_k e_k ⊙ rot(x, k): hoisted baby steps, giant steps, one rescale [HS14, §4.3; HS18].
  Ciphertext w = products_[i].apply(ev_, x, gk_, cost);
  // Rotate-and-sum of the D/R partial products of every row [JVC18, hybrid method].
  if (l.fold > 1) w = sum_slots(ev_, w, gk_, l.fold, l.out_period, cost);
  // Bias with the output's period R, encoded at the output's level and scale.
  std::vector<double> bias(layout_.slots(), 0.0);
  for (std::size_t s = 0; s < bias.size(); ++s)
    if (s % l.out_period < d.out) bias[s] = d.bias[s % l.out_period];
  return ev_.add(w, enc_.encode(bias, w.level, w.scale, layout_.slots()));
}

Ciphertext MlpLatencyServer::activation(std::size_t i, const Ciphertext& t) const {
  dense_level(i);  // range check
  check_input(t, "MlpLatencyServer::activation");
  const auto& layer = model_.layers[i];
  if (!layer.act) return t;
  const int need = activation_levels(layer);
  if (t.level < need)
    throw LevelError("MlpLatencyServer::activation: the activation of layer " + str(i) + " needs " +
                     std::to_string(need) + " level(s) but the ciphertext is at level " + std::to_string(t.level));
  const auto& act = *layer.act;
  if (is_square(act)) return ev_.rescale(ev_.multiply_relin(t, t, rk_));  // CryptoNets' square
  // a·t² + b·t = t·(a·t + b): one level for the affine factor, one for the product.
  const Ciphertext u = ev_.add_const(ev_.rescale(ev_.multiply_const(t, act.a)), act.b);
  return ev_.rescale(ev_.multiply_relin(ev_.drop_level(t, u.level), u, rk_));
}

Ciphertext MlpLatencyServer::forward(const Ciphertext& x, TransformCost* cost) const {
  check_input(x, "MlpLatencyServer::forward");
  if (x.level < input_level_)
    throw LevelError("MlpLatencyServer::forward: the network needs " + std::to_string(levels_needed()) +
                     " levels from level " + std::to_string(input_level_) + " but the ciphertext is at level " +
                     std::to_string(x.level) + "; encrypt at level " + std::to_string(input_level_) +
                     " or build the server for a lower input level");
  Ciphertext y = x.level > input_level_ ? ev_.drop_level(x, input_level_) : x;
  const int start = y.level;
  for (std::size_t i = 0; i < model_.layers.size(); ++i) y = activation(i, dense(i, y, cost));
  if (cost) {
    // dense() counted its product's level; the activations' levels are added here.
    int dense_levels = static_cast<int>(model_.layers.size());
    cost->levels += (start - y.level) - dense_levels;
    for (const auto& layer : model_.layers)
      if (layer.act) cost->key_switches += 1;  // one relinearisation per activation
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Client

Ciphertext encrypt_latency_image(const MlpLatencyLayout& layout, const Encoder& encoder, Encryptor& encryptor,
                                 const std::vector<float>& image, int level, double scale) {
  return encryptor.encrypt(encoder.encode(layout.pack_input(image), level, scale, layout.slots()));
}

std::vector<double> decode_latency_logits(const MlpLatencyLayout& layout, const Encoder& encoder,
                                          const Plaintext& output) {
  return layout.unpack_output(encoder.decode(output));
}

}  // namespace ckks::ml

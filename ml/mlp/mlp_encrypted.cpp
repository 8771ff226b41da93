#include "ml/mlp/mlp_encrypted.h"

#include <string>

#include "ckks/errors.h"

namespace ckks::ml {

MlpBatchServer::MlpBatchServer(ContextPtr ctx, Mlp model, RelinKey rk)
    : ctx_(ctx), model_(std::move(model)), rk_(std::move(rk)), ev_(ctx) {}

int MlpBatchServer::levels_needed() const {
  int levels = 0;
  for (const auto& layer : model_.layers) {
    levels += 1;
    if (layer.act) levels += (layer.act->a == 1.0 && layer.act->b == 0.0) ? 1 : 2;
  }
  return levels;
}

std::vector<Ciphertext> MlpBatchServer::forward(const std::vector<Ciphertext>& inputs) const {
  if (inputs.size() != model_.input_size())
    throw InputError("mlp forward: " + std::to_string(inputs.size()) + " input ciphertexts, the model takes " +
                     std::to_string(model_.input_size()) + " (one per input feature)");
  if (inputs[0].level < levels_needed())
    throw LevelError("mlp forward: the network needs " + std::to_string(levels_needed()) +
                     " levels but the inputs have " + std::to_string(inputs[0].level) +
                     " left; encrypt at a higher level or use a longer chain (Params::preset_n14())");
  std::vector<Ciphertext> x = inputs;
  for (const auto& layer : model_.layers) {
    const auto& d = layer.dense;
    std::vector<Ciphertext> y;
    y.reserve(d.out);
    const double q = static_cast<double>(ctx_->q(x[0].level).value());
    for (std::size_t j = 0; j < d.out; ++j) {
      // Σ_k W[j][k]·x_k with every weight at scale q_ℓ, one rescale: output scale = input scale.
      Ciphertext acc;
      bool first = true;
      for (std::size_t k = 0; k < d.in; ++k) {
        const double w = d.weight[j * d.in + k];
        if (w == 0.0) continue;
        Ciphertext t = ev_.multiply_const(x[k], w, q);
        acc = first ? std::move(t) : ev_.add(acc, t);
        first = false;
      }
      if (first) acc = ev_.multiply_const(x[0], 0.0, q);  // an all-zero row
      y.push_back(ev_.add_const(ev_.rescale(acc), d.bias[j]));
    }
    if (layer.act) {
      const auto& act = *layer.act;
      for (auto& t : y) {
        if (act.a == 1.0 && act.b == 0.0) {
          t = ev_.rescale(ev_.multiply_relin(t, t, rk_));  // CryptoNets' square
        } else {
          // a·t² + b·t = t·(a·t + b): one level for the affine factor, one for the product.
          const Ciphertext u = ev_.add_const(ev_.rescale(ev_.multiply_const(t, act.a)), act.b);
          t = ev_.rescale(ev_.multiply_relin(ev_.drop_level(t, u.level), u, rk_));
        }
      }
    }
    x = std::move(y);
  }
  return x;
}

std::vector<Ciphertext> encrypt_image_batch(const Encoder& encoder, Encryptor& encryptor,
                                            const std::vector<std::vector<float>>& images,
                                            std::size_t input_size, int level, double scale) {
  if (images.empty()) throw InputError("encrypt_image_batch: the batch is empty");
  std::vector<Ciphertext> out;
  out.reserve(input_size);
  std::vector<double> column(images.size());
  for (std::size_t b = 0; b < images.size(); ++b)
    if (images[b].size() != input_size)
      throw InputError("encrypt_image_batch: image " + std::to_string(b) + " has " +
                       std::to_string(images[b].size()) + " values, the model takes " + std::to_string(input_size));
  for (std::size_t k = 0; k < input_size; ++k) {
    for (std::size_t b = 0; b < images.size(); ++b) column[b] = images[b][k];
    out.push_back(encryptor.encrypt(encoder.encode(column, level, scale)));  // throws if > N/2 images
  }
  return out;
}

std::vector<std::vector<double>> decode_logits(const Encoder& encoder, const std::vector<Plaintext>& outputs,
                                               std::size_t count) {
  std::vector<std::vector<double>> logits(count, std::vector<double>(outputs.size()));
  for (std::size_t c = 0; c < outputs.size(); ++c) {
    const auto v = encoder.decode(outputs[c]);
    if (count > v.size()) throw InputError("decode_logits: more images requested than slots");
    for (std::size_t b = 0; b < count; ++b) logits[b][c] = v[b];
  }
  return logits;
}

}  // namespace ckks::ml

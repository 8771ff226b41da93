// Mlp: loading the layer list from safetensors and the double-precision forward pass.
#include "ml/mlp/mlp_plain.h"

#include <cmath>
#include <map>
#include <set>

#include "ckks/errors.h"
#include "ml/data/safetensors.h"

namespace ckks::ml {

Mlp Mlp::load(const std::string& path) {
  const std::string where = "Mlp::load: " + path;
  const std::map<std::string, Tensor> t = read_safetensors(path);
  std::set<std::string> used;
  auto find = [&](const std::string& name) -> const Tensor* {
    auto it = t.find(name);
    if (it == t.end()) return nullptr;
    used.insert(name);
    return &it->second;
  };
  auto scalar = [&](const std::string& name, const Tensor& x) {
    if (x.data.size() != 1 || x.shape.size() > 1) {
      throw InputError(where + ": tensor \"" + name + "\" has shape " + shape_string(x.shape) +
                       "; an activation coefficient must be a scalar (shape [] or [1])");
    }
    return x.data[0];
  };

  Mlp m;
  for (std::size_t i = 1;; ++i) {
    const std::string fc = "fc" + std::to_string(i), act = "act" + std::to_string(i);
    const Tensor* w = find(fc + ".weight");
    if (w == nullptr) {
      if (i == 1) {
        throw InputError(where + " has no tensor \"fc1.weight\"; an MLP file names its layers "
                         "fc1, fc2, ... (see ml/models/README.md)");
      }
      break;
    }
    if (w->shape.size() != 2 || w->shape[0] == 0 || w->shape[1] == 0) {
      throw InputError(where + ": tensor \"" + fc + ".weight\" has shape " + shape_string(w->shape) +
                       "; a dense weight must be [out, in] with both at least 1");
    }
    Layer layer;
    layer.dense.out = w->shape[0];
    layer.dense.in = w->shape[1];
    layer.dense.weight = w->data;
    if (!m.layers.empty() && m.layers.back().dense.out != layer.dense.in) {
      throw InputError(where + ": \"" + fc + ".weight\" takes " + std::to_string(layer.dense.in) +
                       " inputs but the previous layer has " +
                       std::to_string(m.layers.back().dense.out) + " outputs; the layer sizes "
                       "must chain");
    }
    const Tensor* b = find(fc + ".bias");
    if (b == nullptr) {
      throw InputError(where + " has \"" + fc + ".weight\" but no \"" + fc + ".bias\"; every "
                       "dense layer needs its bias (save zeros for a bias-free layer)");
    }
    if (b->shape.size() != 1 || b->shape[0] != layer.dense.out) {
      throw InputError(where + ": tensor \"" + fc + ".bias\" has shape " + shape_string(b->shape) +
                       " but \"" + fc + ".weight\" has " + std::to_string(layer.dense.out) +
                       " outputs; the bias must be [" + std::to_string(layer.dense.out) + "]");
    }
    layer.dense.bias = b->data;
    const Tensor* a = find(act + ".a");
    const Tensor* bb = find(act + ".b");
    if ((a == nullptr) != (bb == nullptr)) {
      throw InputError(where + " has \"" + (a ? act + ".a" : act + ".b") + "\" but not \"" +
                       (a ? act + ".b" : act + ".a") + "\"; a quadratic activation a*t^2 + b*t "
                       "needs both coefficients");
    }
    if (a != nullptr) layer.act = Quadratic{scalar(act + ".a", *a), scalar(act + ".b", *bb)};
    m.layers.push_back(std::move(layer));
  }
  for (const auto& [name, tensor] : t) {
    (void)tensor;
    if (!used.count(name)) {
      throw InputError(where + ": unexpected tensor \"" + name + "\" (layers found: fc1..fc" +
                       std::to_string(m.layers.size()) + "); names must be fc<i>.weight, "
                       "fc<i>.bias, act<i>.a, act<i>.b with i = 1, 2, ... without gaps");
    }
  }
  return m;
}

std::size_t Mlp::input_size() const {
  if (layers.empty()) throw InputError("Mlp::input_size: the model has no layer; use Mlp::load");
  return layers.front().dense.in;
}

std::size_t Mlp::output_size() const {
  if (layers.empty()) throw InputError("Mlp::output_size: the model has no layer; use Mlp::load");
  return layers.back().dense.out;
}

std::vector<double> Mlp::logits(const std::vector<double>& input) const {
  if (layers.empty()) throw InputError("Mlp::logits: the model has no layer; use Mlp::load");
  if (input.size() != input_size()) {
    throw InputError("Mlp::logits: the input has " + std::to_string(input.size()) +
                     " values but the model takes " + std::to_string(input_size()) +
                     " (e.g. 28x28 = 784 pixels, row-major)");
  }
  for (std::size_t k = 0; k < input.size(); ++k) {
    if (!std::isfinite(input[k])) {
      throw InputError("Mlp::logits: input value " + std::to_string(k) +
                       " is not finite; pixels must be numbers in [0, 1]");
    }
  }
  std::vector<double> x = input, y;
  for (const Layer& L : layers) {
    const Dense& d = L.dense;
    y.assign(d.out, 0.0);
    for (std::size_t j = 0; j < d.out; ++j) {
      const double* row = d.weight.data() + j * d.in;
      double s = 0.0;
      for (std::size_t k = 0; k < d.in; ++k) s += row[k] * x[k];
      s += d.bias[j];
      y[j] = L.act ? (*L.act)(s) : s;
    }
    x.swap(y);
  }
  return x;
}

std::vector<double> Mlp::logits(const std::vector<float>& image) const {
  return logits(std::vector<double>(image.begin(), image.end()));
}

int Mlp::predict(const std::vector<float>& image) const {
  const std::vector<double> z = logits(image);
  std::size_t best = 0;
  for (std::size_t j = 1; j < z.size(); ++j) {
    if (z[j] > z[best]) best = j;
  }
  return static_cast<int>(best);
}

}  // namespace ckks::ml

// Latency-mode encrypted MLP inference (ml/mlp/mlp_latency.h): the layout and parameters chosen for the
// committed Fashion-MNIST model, the whole network and each layer on real test images against the
// plaintext forward pass, a small random model with a widening layer and a general quadratic, and
// the errors for bad input.
//
// Error bounds. The committed model runs at N = 2^13, Δ = 2^27 (mlp_latency_params). Each key
// switch adds an error of roughly 2^-14 (in units of the slot values: the q_0 digit of 40 bits over
// the 40-bit special prime, times σ·N/√12, over Δ), and the rotate-and-sum adds up to 16 of them;
// the squares and the weights carry the error on to the logits. Observed: errors of 6e-5 … 1.1e-4
// relative to the largest value of each stage, and a largest logit error of 5.5e-3 over the first
// 6 test images (2.3e-2 over the first 2000 with `ckks-ml mlp --mode latency`, logits of magnitude
// up to a few hundred). The bounds below (1e-3 relative per stage, 5e-2 absolute on the logits)
// leave a factor of about 10 on the images tested here. The predicted class is compared exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp/mlp_latency.h"

using namespace ckks;
namespace fs = std::filesystem;

namespace {

const fs::path kModel =
    fs::path(__FILE__).parent_path().parent_path().parent_path() / "ml" / "models" / "mlp_fmnist.safetensors";

int argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

// The plaintext dense layer W x + b of `layer`.
std::vector<double> dense_plain(const ml::Mlp::Dense& d, const std::vector<double>& x) {
  std::vector<double> y(d.out);
  for (std::size_t j = 0; j < d.out; ++j) {
    double s = d.bias[j];
    for (std::size_t k = 0; k < d.in; ++k) s += d.weight[j * d.in + k] * x[k];
    y[j] = s;
  }
  return y;
}

// Largest |slot[s] − want[s mod period]| over all S slots, with want padded by zeros to the period:
// checks the whole periodic layout, not only the first values.
double layout_error(const std::vector<double>& slots, const std::vector<double>& want, std::size_t period) {
  double err = 0;
  for (std::size_t s = 0; s < slots.size(); ++s) {
    const std::size_t r = s % period;
    err = std::max(err, std::fabs(slots[s] - (r < want.size() ? want[r] : 0.0)));
  }
  return err;
}

// Everything a latency run needs: context, client keys, and the server built from the evaluation keys.
struct LatencyKit {
  ml::Mlp model;
  ml::MlpLatencyLayout layout;
  ContextPtr ctx;
  ml::ClientKeys client;
  ml::MlpLatencyServer server;
  LatencyKit(ml::Mlp m, std::uint64_t seed)
      : model(std::move(m)),
        layout(model),
        ctx(Context::create(ml::mlp_latency_params(layout.levels_needed(), layout.slots()))),
        client(ctx, seed),
        server(ctx, model, client.keygen.relin_key(client.sk),
               client.keygen.galois_keys(client.sk, layout.rotation_steps())) {}
  Ciphertext encrypt(const std::vector<float>& image) {
    return ml::encrypt_latency_image(layout, client.encoder, client.encryptor, image, ctx->max_level(),
                                     ctx->default_scale());
  }
  std::vector<double> decrypt_slots(const Ciphertext& ct) { return client.encoder.decode(client.decryptor.decrypt(ct)); }
};

}  // namespace

TEST_CASE("ml/mlp_latency: layout, rotation keys and parameters of the Fashion-MNIST model") {
  const ml::Mlp model = ml::Mlp::load(kModel.string());
  const ml::MlpLatencyLayout layout(model);
  CHECK(layout.slots() == 1024);
  CHECK(layout.levels_needed() == 5);
  REQUIRE(layout.layers().size() == 3);
  // 784 → 64: period 1024, 64 extended diagonals, 16 partial sums per row.
  const auto& l1 = layout.layers()[0];
  CHECK(l1.in_period == 1024);
  CHECK(l1.out_period == 64);
  CHECK(l1.fold == 16);
  CHECK(l1.baby_steps == 8);
  // 64 → 32 and 32 → 10 (rows padded to 16): each output period feeds the next layer.
  CHECK(layout.layers()[1].in_period == 64);
  CHECK(layout.layers()[1].fold == 2);
  CHECK(layout.layers()[2].in_period == 32);
  CHECK(layout.layers()[2].out_period == 16);
  CHECK(layout.layers()[2].fold == 2);
  const std::vector<int> steps = layout.rotation_steps();
  const std::vector<int> want = {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 48, 56, 64, 128, 256, 512};
  CHECK(steps == want);

  // Pixels in slots 0 … 783, zeros up to 1024.
  std::vector<float> image(784);
  for (std::size_t k = 0; k < image.size(); ++k) image[k] = static_cast<float>(k % 7) / 7.0f;
  const std::vector<double> packed = layout.pack_input(image);
  REQUIRE(packed.size() == 1024);
  CHECK(packed[783] == doctest::Approx(image[783]));
  CHECK(packed[784] == 0.0);
  CHECK(packed[1023] == 0.0);

  // The chosen parameters: the smallest ring with 1024 slots and 5 levels at 128-bit security.
  const Params p = ml::mlp_latency_params(5, 1024);
  CHECK(p.log_n == 13);
  CHECK(p.log_q.size() == 6);
  auto ctx = Context::create(p);
  CHECK(ctx->security_bits() >= 128);
  CHECK(ctx->max_level() == 5);
  CHECK_THROWS_WITH_AS(ml::mlp_latency_params(40, 1024), doctest::Contains("40 levels"), ParameterError);
}

TEST_CASE("ml/mlp_latency: one ciphertext per image gives the plaintext predictions and logits") {
  LatencyKit kit(ml::Mlp::load(kModel.string()), 11);
  const ml::ImageSet test = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, 6);
  double max_err = 0;
  for (std::size_t i = 0; i < test.images.size(); ++i) {
    TransformCost cost;
    const Ciphertext out = kit.server.forward(kit.encrypt(test.images[i]), &cost);
    CHECK(out.level == kit.ctx->max_level() - 5);
    CHECK(cost.rotations == 36);  // 18 + 11 + 7 (see ml/mlp/mlp_latency.h)
    CHECK(cost.levels == 5);
    const std::vector<double> logits =
        ml::decode_latency_logits(kit.layout, kit.client.encoder, kit.client.decryptor.decrypt(out));
    const std::vector<double> want = kit.model.logits(test.images[i]);
    REQUIRE(logits.size() == 10);
    CHECK(argmax(logits) == argmax(want));
    for (std::size_t c = 0; c < 10; ++c) max_err = std::max(max_err, std::fabs(logits[c] - want[c]));
  }
  MESSAGE("max logit error over " << test.images.size() << " test images: " << max_err);
  CHECK(max_err < 5e-2);
}

TEST_CASE("ml/mlp_latency: each layer of the Fashion-MNIST model against its plaintext version") {
  LatencyKit kit(ml::Mlp::load(kModel.string()), 12);
  const ml::ImageSet test = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, 1);
  std::vector<double> x(test.images[0].begin(), test.images[0].end());
  Ciphertext ct = kit.encrypt(test.images[0]);
  // Error bound per stage, relative to the largest plaintext value of that stage.
  const double rel_bound = 1e-3;
  for (std::size_t i = 0; i < kit.model.layers.size(); ++i) {
    const auto& layer = kit.model.layers[i];
    const auto& plan = kit.layout.layers()[i];
    CHECK(ct.level == kit.server.dense_level(i));
    std::vector<double> y = dense_plain(layer.dense, x);
    ct = kit.server.dense(i, ct);
    double scale_of_y = 1;
    for (double v : y) scale_of_y = std::max(scale_of_y, std::fabs(v));
    const double err_dense = layout_error(kit.decrypt_slots(ct), y, plan.out_period);
    MESSAGE("layer " << i + 1 << " dense: max |y| " << scale_of_y << ", max error " << err_dense);
    CHECK(err_dense < rel_bound * scale_of_y);
    if (layer.act) {
      for (double& v : y) v = (*layer.act)(v);
      ct = kit.server.activation(i, ct);
      double scale_of_a = 1;
      for (double v : y) scale_of_a = std::max(scale_of_a, std::fabs(v));
      const double err_act = layout_error(kit.decrypt_slots(ct), y, plan.out_period);
      MESSAGE("layer " << i + 1 << " square: max |y| " << scale_of_a << ", max error " << err_act);
      CHECK(err_act < rel_bound * scale_of_a);
    }
    x = y;
  }
  CHECK(ct.level == 0);
}

TEST_CASE("ml/mlp_latency: a widening layer and a general quadratic activation") {
  // 12 → 20 (R = 32 > D_in = 16: plain diagonal method, no fold), a·t² + b·t (2 levels), 20 → 3.
  std::mt19937_64 g(21);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  ml::Mlp m;
  const std::size_t sizes[] = {12, 20, 3};
  for (int l = 0; l < 2; ++l) {
    ml::Mlp::Layer layer;
    layer.dense.in = sizes[l];
    layer.dense.out = sizes[l + 1];
    for (std::size_t i = 0; i < layer.dense.in * layer.dense.out; ++i) layer.dense.weight.push_back(u(g));
    for (std::size_t i = 0; i < layer.dense.out; ++i) layer.dense.bias.push_back(u(g));
    if (l == 0) layer.act = ml::Mlp::Quadratic{0.25, 1.0};
    m.layers.push_back(layer);
  }
  LatencyKit kit(m, 13);
  CHECK(kit.layout.slots() == 32);
  CHECK(kit.layout.layers()[0].fold == 1);
  CHECK(kit.layout.layers()[1].fold == 8);  // 20 → 3: period 32, R = 4
  CHECK(kit.server.levels_needed() == 4);
  std::uniform_real_distribution<float> px(0, 1);
  for (int t = 0; t < 3; ++t) {
    std::vector<float> image(12);
    for (auto& v : image) v = px(g);
    const Ciphertext out = kit.server.forward(kit.encrypt(image));
    const auto logits = ml::decode_latency_logits(kit.layout, kit.client.encoder, kit.client.decryptor.decrypt(out));
    const auto want = kit.model.logits(image);
    for (std::size_t c = 0; c < 3; ++c) CHECK(std::fabs(logits[c] - want[c]) < 1e-3);
  }
}

TEST_CASE("ml/mlp_latency: bad input gives a clear error") {
  const ml::Mlp model = ml::Mlp::load(kModel.string());
  const ml::MlpLatencyLayout layout(model);
  CHECK_THROWS_WITH_AS(ml::MlpLatencyLayout(ml::Mlp{}), doctest::Contains("no layer"), InputError);

  LatencyKit kit(model, 14);
  // Wrong input size: 783 pixels.
  CHECK_THROWS_WITH_AS(kit.encrypt(std::vector<float>(783, 0.5f)), doctest::Contains("783 values"), InputError);
  std::vector<float> nan_image(784, 0.5f);
  nan_image[17] = std::nanf("");
  CHECK_THROWS_WITH_AS(kit.encrypt(nan_image), doctest::Contains("17"), InputError);
  // A ciphertext with the full N/2 slots instead of the layout's 1024.
  const std::vector<double> full(kit.ctx->max_slots(), 0.1);
  const Ciphertext wide = kit.client.encryptor.encrypt(
      kit.client.encoder.encode(full, kit.ctx->max_level(), kit.ctx->default_scale()));
  CHECK_THROWS_WITH_AS(kit.server.forward(wide), doctest::Contains("1024"), InputError);
  // Too few levels left in the ciphertext.
  Evaluator ev(kit.ctx);
  const Ciphertext low = ev.drop_level(kit.encrypt(std::vector<float>(784, 0.5f)), 3);
  CHECK_THROWS_WITH_AS(kit.server.forward(low), doctest::Contains("at level 3"), LevelError);
  CHECK_THROWS_AS(kit.server.dense(3, low), InputError);

  // Too few levels in the chain: preset_n13 has 2, the network needs 5.
  auto short_ctx = Context::create(Params::preset_n13());
  ml::ClientKeys short_client(short_ctx, 15);
  GaloisKeys no_keys;
  no_keys.context = short_ctx;
  CHECK_THROWS_WITH_AS(ml::MlpLatencyServer(short_ctx, model, short_client.keygen.relin_key(short_client.sk), no_keys),
                       doctest::Contains("needs 5 levels"), LevelError);

  // A missing Galois key is named before any work.
  std::vector<int> steps = layout.rotation_steps();
  steps.erase(std::find(steps.begin(), steps.end(), 512));
  steps.erase(std::find(steps.begin(), steps.end(), 3));
  CHECK_THROWS_WITH_AS(ml::MlpLatencyServer(kit.ctx, model, kit.client.keygen.relin_key(kit.client.sk),
                                            kit.client.keygen.galois_keys(kit.client.sk, steps)),
                       doctest::Contains("{3, 512}"), MissingKeyError);
}

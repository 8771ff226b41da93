// Batched encrypted MLP inference against the plaintext forward pass, on a small random network
// (fast) with both activation kinds, and the level check.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/mlp/mlp_encrypted.h"

using namespace ckks;

namespace {
ml::Mlp random_mlp(std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  ml::Mlp m;
  const std::size_t sizes[] = {12, 6, 3};
  for (int l = 0; l < 2; ++l) {
    ml::Mlp::Layer layer;
    layer.dense.in = sizes[l];
    layer.dense.out = sizes[l + 1];
    for (std::size_t i = 0; i < layer.dense.in * layer.dense.out; ++i) layer.dense.weight.push_back(u(g));
    for (std::size_t i = 0; i < layer.dense.out; ++i) layer.dense.bias.push_back(u(g));
    if (l == 0) layer.act = ml::Mlp::Quadratic{0.25, 1.0};  // general quadratic: 2 levels
    m.layers.push_back(layer);
  }
  return m;
}
}  // namespace

TEST_CASE("ml/mlp_encrypted: batched inference equals the plaintext forward pass") {
  auto ctx = Context::create(Params::preset_n13());  // 2 levels: not enough for dense+quad+dense
  const ml::Mlp model = random_mlp(5);
  ml::ClientKeys small(ctx, 3);
  ml::MlpBatchServer short_server(ctx, model, small.keygen.relin_key(small.sk));
  CHECK(short_server.levels_needed() == 4);
  std::vector<std::vector<float>> images(64, std::vector<float>(12));
  std::mt19937_64 g(9);
  std::uniform_real_distribution<float> px(0, 1);
  for (auto& im : images)
    for (auto& v : im) v = px(g);
  const auto small_cts = ml::encrypt_image_batch(small.encoder, small.encryptor, images, 12, ctx->max_level(),
                                                 ctx->default_scale());
  CHECK_THROWS_WITH_AS(short_server.forward(small_cts), doctest::Contains("needs 4 levels"), LevelError);

  auto ctx14 = Context::create(Params::preset_n14());
  ml::ClientKeys client(ctx14, 4);
  ml::MlpBatchServer server(ctx14, model, client.keygen.relin_key(client.sk));
  const auto cts = ml::encrypt_image_batch(client.encoder, client.encryptor, images, 12, ctx14->max_level(),
                                           ctx14->default_scale());
  const auto out = server.forward(cts);
  REQUIRE(out.size() == 3);
  CHECK(out[0].level == ctx14->max_level() - 4);
  std::vector<Plaintext> pts;
  for (const auto& c : out) pts.push_back(client.decryptor.decrypt(c));
  const auto logits = ml::decode_logits(client.encoder, pts, images.size());
  double max_err = 0;
  for (std::size_t b = 0; b < images.size(); ++b) {
    const auto want = model.logits(images[b]);
    for (std::size_t c = 0; c < 3; ++c) max_err = std::max(max_err, std::fabs(logits[b][c] - want[c]));
  }
  MESSAGE("max logit error " << max_err);
  CHECK(max_err < 1e-4);
  CHECK_THROWS_AS(server.forward(std::vector<Ciphertext>(cts.begin(), cts.begin() + 5)), InputError);
}

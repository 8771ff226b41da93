// bench_ml: encrypted inference of the committed Fashion-MNIST MLP (784-64-32-10, square
// activations; ml/models/mlp_fmnist.safetensors) on real test images.
//
//   Mlp/latency_forward/logN=13            one image per ciphertext (ml/mlp/mlp_latency.h), the whole
//                                          network on one image, parameters of mlp_latency_params
//   Mlp/latency_dense/layer=i/logN=13      dense layer i alone (hybrid diagonal method)
//   Mlp/latency_square/layer=i/logN=13     the square after dense layer i
//   Mlp/latency_encrypt/logN=13, Mlp/latency_decrypt/logN=13   the client's side of one image
//   Mlp/batched_forward/logN=14/images=8192/iterations:1       one image per slot
//                                          (ml/mlp/mlp_encrypted.h), one forward pass of a full batch
//                                          of 8192 test images at Params::preset_n14; about a
//                                          minute, so a single iteration, reported in seconds
// Counters: rotations and levels per call; images per second for the forward passes.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp/mlp_encrypted.h"
#include "ml/mlp/mlp_latency.h"

namespace {

using namespace ckks;

// The committed model, found from this file's location (bench/ → ml/models/).
const std::string kModelPath =
    (std::filesystem::path(__FILE__).parent_path().parent_path() / "ml" / "models" / "mlp_fmnist.safetensors").string();

// Built once, on first use: keys, server and one test image encrypted, with its intermediate
// ciphertexts (the input of every stage) for the per-layer entries.
struct LatencySetup {
  ml::Mlp model;
  ml::MlpLatencyLayout layout;
  Params params;
  ContextPtr ctx;
  ml::ClientKeys client;
  ml::MlpLatencyServer server;
  std::vector<float> image;
  Ciphertext input;
  std::vector<Ciphertext> dense_in, act_in;  // per layer
  Ciphertext output;

  explicit LatencySetup(ml::Mlp m)
      : model(std::move(m)),
        layout(model),
        params(ml::mlp_latency_params(layout.levels_needed(), layout.slots())),
        ctx(Context::create(params)),
        client(ctx),
        server(ctx, model, client.keygen.relin_key(client.sk),
               client.keygen.galois_keys(client.sk, layout.rotation_steps())) {
    image = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, 1).images.at(0);
    input = ml::encrypt_latency_image(layout, client.encoder, client.encryptor, image, ctx->max_level(),
                                      ctx->default_scale());
    Ciphertext x = input;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      dense_in.push_back(x);
      x = server.dense(i, x);
      act_in.push_back(x);
      x = server.activation(i, x);
    }
    output = x;
  }
};

LatencySetup& latency_setup() {
  static LatencySetup setup(ml::Mlp::load(kModelPath));
  return setup;
}

void BM_latency_forward(benchmark::State& state) {
  LatencySetup& s = latency_setup();
  TransformCost cost;
  for (auto _ : state) {
    cost = TransformCost{};
    benchmark::DoNotOptimize(s.server.forward(s.input, &cost));
  }
  state.counters["rotations"] = cost.rotations;
  state.counters["levels"] = cost.levels;
  state.counters["images_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_latency_dense(benchmark::State& state, std::size_t layer) {
  LatencySetup& s = latency_setup();
  TransformCost cost;
  for (auto _ : state) {
    cost = TransformCost{};
    benchmark::DoNotOptimize(s.server.dense(layer, s.dense_in[layer], &cost));
  }
  state.counters["rotations"] = cost.rotations;
  state.counters["levels"] = cost.levels;
}

void BM_latency_square(benchmark::State& state, std::size_t layer) {
  LatencySetup& s = latency_setup();
  for (auto _ : state) benchmark::DoNotOptimize(s.server.activation(layer, s.act_in[layer]));
  state.counters["levels"] = 1;
}

void BM_latency_encrypt(benchmark::State& state) {
  LatencySetup& s = latency_setup();
  for (auto _ : state)
    benchmark::DoNotOptimize(ml::encrypt_latency_image(s.layout, s.client.encoder, s.client.encryptor, s.image,
                                                       s.ctx->max_level(), s.ctx->default_scale()));
}

void BM_latency_decrypt(benchmark::State& state) {
  LatencySetup& s = latency_setup();
  for (auto _ : state)
    benchmark::DoNotOptimize(ml::decode_latency_logits(s.layout, s.client.encoder, s.client.decryptor.decrypt(s.output)));
}

// One full batch (N/2 = 8192 images, one per slot) through MlpBatchServer at preset_n14. Keys and
// the encryption of the batch are outside the timed region.
void BM_batched_forward(benchmark::State& state) {
  const ml::Mlp model = ml::Mlp::load(kModelPath);
  auto ctx = Context::create(Params::preset_n14());
  ml::ClientKeys client(ctx);
  const ml::MlpBatchServer server(ctx, model, client.keygen.relin_key(client.sk));
  const auto test = ml::load_fashion_mnist(ml::kDebianFashionMnistDir, false, ctx->max_slots());
  const auto cts = ml::encrypt_image_batch(client.encoder, client.encryptor, test.images, model.input_size(),
                                           ctx->max_level(), ctx->default_scale());
  for (auto _ : state) benchmark::DoNotOptimize(server.forward(cts));
  state.counters["images"] = static_cast<double>(test.images.size());
  state.counters["levels"] = server.levels_needed();
  state.counters["images_per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * test.images.size()),
                                                      benchmark::Counter::kIsRate);
}

const int kRegistered = [] {
  const std::string n = "/logN=13";  // mlp_latency_params(5, 1024): N = 2^13 (checked in tests)
  benchmark::RegisterBenchmark(("Mlp/latency_forward" + n).c_str(), BM_latency_forward)->Unit(benchmark::kMillisecond);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string layer = "/layer=" + std::to_string(i + 1);
    benchmark::RegisterBenchmark(("Mlp/latency_dense" + layer + n).c_str(), BM_latency_dense, i)
        ->Unit(benchmark::kMillisecond);
    if (i < 2)
      benchmark::RegisterBenchmark(("Mlp/latency_square" + layer + n).c_str(), BM_latency_square, i)
          ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark(("Mlp/latency_encrypt" + n).c_str(), BM_latency_encrypt)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("Mlp/latency_decrypt" + n).c_str(), BM_latency_decrypt)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Mlp/batched_forward/logN=14/images=8192", BM_batched_forward)
      ->Iterations(1)
      ->Unit(benchmark::kSecond);
  return 0;
}();

}  // namespace

// One training iteration of the network trained on encrypted data (ml/nn/nn_encrypted.h) at the
// 128-bit parameters: bootstrap_preset_n16_sparse_secret (N = 2^16), digits (seed-1 80/20 split,
// pixels / 16), H = 15 hidden units, a batch of 128 samples (one ciphertext row), η, γ, λ and ρ of
// NnOptions' defaults (the recipe of `ckks-ml nn-train`; constants, so the cost does not depend on them).
//
//   Nn/step/logN=16/H=15/b=128   forward, E bootstrapped, backward, update, weight refresh
//
// Counters: rotations and ct×ct products of the iteration (refresh excluded, NnLayout), levels the
// weights need (ℓ_w), bootstraps per iteration (2: E and the packed weights). Keys (about 11 GiB:
// the full-slot bootstrap's Galois keys) and the encrypted batch are made once, outside the timed
// region; run it alone (flock /work/bigjob.lock) on a machine with 16 GiB free.
#include <benchmark/benchmark.h>

#include <memory>
#include <numeric>

#include "ckks/bootstrapping.h"
#include "ckks/context.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/nn/nn_encrypted.h"
#include "ml/nn/nn_plain.h"  // NnOptions: the default recipe

namespace {

struct NnSetup {
  ckks::ContextPtr ctx;
  ckks::ml::NnLayout layout;
  std::unique_ptr<ckks::ml::NnDataOwner> owner;
  std::unique_ptr<ckks::ml::NnServer> server;
  ckks::ml::EncryptedNnBatch batch;
  ckks::ml::EncryptedNnWeights w;
};

NnSetup& setup() {
  static NnSetup s = [] {
    NnSetup m;
    ckks::ml::Dataset ds = ckks::ml::read_sklearn_digits(ckks::ml::sklearn_data("digits.csv.gz"));
    for (auto& row : ds.X)
      for (auto& v : row) v /= ckks::ml::kDigitsMaxPixel;
    const ckks::ml::Split split = ckks::ml::train_test_split(ds, 0.2, 1);
    const auto A = ckks::ml::with_bias_column(split.train.X);
    const ckks::BootstrapPreset b = ckks::bootstrap_preset_n16_sparse_secret();
    m.ctx = ckks::Context::create(b.params);
    m.layout = ckks::ml::NnLayout::make(64, 10, 15, 128, m.ctx->max_slots());
    const ckks::ml::RefreshConfig rc{b.config, 16.0};
    const ckks::BootstrapPlan plan = ckks::ml::NnServer::refresh_plan(*m.ctx, rc, m.layout);
    m.owner = std::make_unique<ckks::ml::NnDataOwner>(m.ctx, 1);
    const ckks::ml::NnOptions o;
    m.server = std::make_unique<ckks::ml::NnServer>(
        m.ctx, m.owner->relin_key(), m.owner->galois_keys(m.layout, plan),
        m.owner->encapsulation_keys(b.config.ephemeral_secret_weight), rc, m.layout, ckks::ml::fit_sigmoid(8.5),
        ckks::ml::fit_sigmoid(7.5), o.eta, o.momentum, o.weight_decay, o.eta_decay);
    std::vector<std::size_t> rows(128);
    std::iota(rows.begin(), rows.end(), 0);
    m.batch = m.owner->encrypt_batch(A, split.train.y, rows, m.layout, m.server->data_level());
    m.w = m.owner->encrypt_weights(ckks::ml::nn_init(65, 15, 10, 1), m.layout, m.server->weight_level());
    return m;
  }();
  return s;
}

void BM_NnStep(benchmark::State& state) {
  NnSetup& s = setup();
  const int before = s.server->stats().bootstraps;
  int steps = 0;
  for (auto _ : state) {
    ckks::ml::EncryptedNnWeights prev = s.w;
    benchmark::DoNotOptimize(s.server->step(s.w, prev, s.batch));
    ++steps;
  }
  state.counters["rotations"] = static_cast<double>(s.layout.rotations_per_iteration());
  state.counters["ct_products"] = static_cast<double>(s.layout.products_per_iteration());
  state.counters["levels"] = ckks::ml::NnServer::levels_needed(ckks::ml::NnOptions{}.momentum);
  state.counters["bootstraps"] = static_cast<double>(s.server->stats().bootstraps - before) / steps;
}

}  // namespace

// One iteration takes tens of seconds: it runs once.
BENCHMARK(BM_NnStep)->Name("Nn/step/logN=16/H=15/b=128")->Unit(benchmark::kSecond)->Iterations(1);

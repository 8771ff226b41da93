// ckks-ml nn-train [--data digits|fashion-mnist-14] [--epochs E] [--hidden H|H1,H2] [--batch B] [--eta η]
//                  [--momentum γ] [--weight-decay λ] [--eta-decay ρ] [--hidden-degree 3|5]
//                  [--output-degree 3|5] [--bound M]
//                  [--features centre|whiten|raw] [--feature-scale f] [--whiten-epsilon ε] [--train-rows N]
//                  [--iterations K] [--stop-by HH:MM] [--state DIR] [--resume DIR] [--torch PATH] [--export PATH] [--json]
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/nn/nn_job.h"

namespace ckks::ml::cli {
namespace {

// nn-train: a network with one or two hidden layers (polynomial sigmoids of degree 3 or 5, binary cross-entropy, mini-batch
// gradient descent with Nesterov's look-ahead) trained on encrypted data, bootstrapping at N = 2^16
// (128-bit); the same algorithm in double precision beside it, and PyTorch's figure when
// scripts/train_nn_torch.py has written it (see ml/nn/nn_encrypted.h, docs/ml.md).
struct NnCliOptions {
  NnJobOptions job;
  std::string stop_by;     ///< "HH:MM" UTC, today (or tomorrow if already past)
  int insecure_log_n = 0;  ///< > 0: the preset's chain and bootstrap at N = 2^L, INSECURE (timing, tests)
  std::string torch_path;  ///< the script's JSON output (default nn_torch_<data>.json)
  bool raw_features = false;  ///< --raw-features: --features raw
  // Unset: the dataset's recipe (nn_default_recipe); --feature-scale unset with --features centre: 2.
  std::optional<std::string> features;
  std::optional<double> feature_scale, eta, weight_decay, eta_decay;
  std::optional<int> epochs;
  std::optional<std::size_t> train_rows;
  std::optional<int> hidden_degree, output_degree;
  std::string hidden = "15";  ///< --hidden: "H" (one hidden layer) or "H1,H2" (two: the four-layer network)
  bool json = false;
};

// --hidden "H" or "H1,H2" (like scikit-learn's hidden_layer_sizes) → (H1, H2), H2 = 0 for one hidden
// layer. Throws InputError naming --hidden for anything else.
std::pair<std::size_t, std::size_t> parse_hidden(const std::string& v) {
  const auto bad = [&v] {
    return InputError("nn-train: --hidden \"" + v + "\" is not H or H1,H2 with whole numbers ≥ 1 (e.g. --hidden 15 "
                      "for one hidden layer, --hidden 15,15 for two)");
  };
  std::size_t out[2] = {0, 0}, k = 0, pos = 0;
  while (true) {
    const std::size_t comma = v.find(',', pos);
    const std::string part = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (k == 2 || part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos) throw bad();
    out[k++] = std::stoul(part);
    if (out[k - 1] == 0) throw bad();
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return {out[0], out[1]};
}

nlohmann::json torch_figure(const NnCliOptions& o, std::string path) {
  if (path.empty()) path = "nn_torch_" + o.job.data + ".json";
  std::ifstream f(path);
  if (f) {
    const nlohmann::json t = nlohmann::json::parse(f, nullptr, false);
    if (!t.is_discarded() && t.contains("accuracy")) return {{"accuracy", t["accuracy"]}, {"source", path}};
  }
  return {{"accuracy", nullptr},
          {"how", "ckks-ml nn-train --data " + o.job.data + " --export nn_data.json (same options), then /usr/bin/python3 "
                  "scripts/train_nn_torch.py nn_data.json --out " + path}};
}

// "HH:MM" (UTC) → seconds since the epoch of the next such time. Throws InputError naming --stop-by.
double parse_stop_by(const std::string& hhmm) {
  int h = -1, m = -1;
  char colon = 0;
  if (std::sscanf(hhmm.c_str(), "%d%c%d", &h, &colon, &m) != 3 || colon != ':' || h < 0 || h > 23 || m < 0 || m > 59)
    throw InputError("nn-train: --stop-by \"" + hhmm + "\" is not a UTC time HH:MM (e.g. 16:55)");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double day = 86400, midnight = std::floor(now / day) * day;
  double t = midnight + 3600.0 * h + 60.0 * m;
  if (t <= now) t += day;
  return t;
}

int run_nn_train(NnCliOptions o) {
  if (!o.stop_by.empty()) o.job.deadline = parse_stop_by(o.stop_by);
  std::tie(o.job.nn.hidden, o.job.nn.hidden2) = parse_hidden(o.hidden);
  apply_nn_recipe(o.job, nn_default_recipe(o.job.data));
  if (o.features) o.job.features = *o.features;
  if (o.raw_features) o.job.features = "raw";
  if (o.feature_scale)
    o.job.feature_scale = *o.feature_scale;
  else if (o.job.features == "centre")
    o.job.feature_scale = 2.0;
  if (o.eta) o.job.nn.eta = *o.eta;
  if (o.weight_decay) o.job.nn.weight_decay = *o.weight_decay;
  if (o.eta_decay) o.job.nn.eta_decay = *o.eta_decay;
  if (o.epochs) o.job.nn.epochs = *o.epochs;
  if (o.train_rows) o.job.train_rows = *o.train_rows;
  if (o.hidden_degree) {
    o.job.nn.act1 = fit_sigmoid(o.job.nn.act1.a, *o.hidden_degree);
    o.job.nn.act1b = fit_sigmoid(o.job.nn.act1b.a, *o.hidden_degree);
  }
  if (o.output_degree) o.job.nn.act2 = fit_sigmoid(o.job.nn.act2.a, *o.output_degree);
  if (o.insecure_log_n > 0) {
    o.job.boot.params.log_n = o.insecure_log_n;
    o.job.boot.params.allow_insecure = true;
    std::fprintf(stderr, "[nn-train] --insecure-log-n %d: N = 2^%d is NOT 128-bit secure (timing and tests only)\n",
                 o.insecure_log_n, o.insecure_log_n);
  }
  const Progress progress = stderr_progress("nn-train");
  const bool four = o.job.nn.hidden2 > 0;
  const NnReport r = run_nn_job(o.job, progress, [four](const NnReport& rep) {
    std::fprintf(stderr, "[nn-train] %s: %zu train / %zu test rows; p1 on [−%.2f, %.2f] (visited max |Z1| = %.3f), "
                         "p2 on [−%.2f, %.2f] (visited max |Z2| = %.3f); %d iterations\n",
                 rep.dataset.c_str(), rep.train_rows, rep.test_rows, rep.act1.a, rep.act1.a, rep.visited_z1, rep.act2.a,
                 rep.act2.a, rep.visited_z2, rep.iterations);
    if (four)
      std::fprintf(stderr, "[nn-train] second hidden layer: p1b on [−%.2f, %.2f] (visited max |Z1b| = %.3f)\n",
                   rep.act1b.a, rep.act1b.a, rep.visited_z1b);
    std::fprintf(stderr, "[nn-train] level schedule of one iteration:\n");
    for (const auto& s : rep.schedule) std::fprintf(stderr, "[nn-train]   %s\n", s.c_str());
  }, [start = Clock::now()](int it, double acc_enc, double acc_plain, double err) {
    std::fprintf(stderr, "[nn-train] key owner's check after iteration %d (%.0f s into the job): test accuracy %.4f "
                         "encrypted, %.4f plaintext, max weight error %.2e\n", it, seconds_since(start), acc_enc, acc_plain, err);
  });
  if (o.job.plaintext_only) {
    nlohmann::json j = {{"plaintext", {{"accuracy", r.accuracy_plaintext}, {"max_abs_weight", r.max_abs_weight}}},
                        {"iterations", r.iterations},
                        {"scaling", r.scaling},
                        {"sigmoid", {{"hidden", {{"interval", r.act1.a}, {"visited", r.visited_z1}}},
                                     {"output", {{"interval", r.act2.a}, {"visited", r.visited_z2}}}}}};
    if (four) {  // keys only the four-layer network has: a three-layer run's JSON is unchanged
      j["sigmoid"]["hidden2"] = {{"interval", r.act1b.a}, {"visited", r.visited_z1b}};
      j["network"] = {{"hidden", {o.job.nn.hidden, o.job.nn.hidden2}}};
    }
    if (o.json)
      std::cout << j.dump(2) << "\n";
    else
      std::printf("plaintext twin%s: accuracy %.4f after %d iterations (no encryption: --plaintext-only)\n",
                  four ? (" (" + std::to_string(r.features) + " → " + std::to_string(o.job.nn.hidden) + " → " +
                          std::to_string(o.job.nn.hidden2) + " → " + std::to_string(r.classes) + ")").c_str() : "",
                  r.accuracy_plaintext, r.iterations);
    return 0;
  }
  const NnLayout& l = r.layout;
  const double per_boot = r.stats.bootstraps > 0 ? r.stats.seconds_bootstrap / r.stats.bootstraps : 0.0;
  const double per_it = r.stats.iterations > 0 ? r.stats.seconds_iterations / r.stats.iterations : 0.0;
  const nlohmann::json torch = torch_figure(o, o.torch_path);
  if (o.json) {
    nlohmann::json j;
    j["model"] = "nn";
    j["algorithm"] = std::string(four ? "two hidden layers" : "one hidden layer") + ", polynomial (degree 3 or 5) sigmoid activations fitted to the visited interval, sigmoid outputs with "
                     "binary cross-entropy, mini-batch gradient descent with Nesterov look-ahead, trained on encrypted "
                     "data (Chiang, arXiv:2308.09531, 2504.12623)";
    j["dataset"] = r.dataset;
    j["scaling"] = r.scaling;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}, {"classes", r.classes}};
    j["network"] = {{"hidden", four ? nlohmann::json{l.hidden, l.hidden2} : nlohmann::json(l.hidden)}, {"batch", l.batch}, {"eta", o.job.nn.eta}, {"momentum", o.job.nn.momentum},
                    {"weight_decay", o.job.nn.weight_decay}, {"eta_decay", o.job.nn.eta_decay}, {"bound", o.job.bound},
                    {"epochs", o.job.nn.epochs}, {"iterations", r.iterations}, {"planned_iterations", r.planned_iterations},
                    {"iterations_this_process", r.stats.iterations}, {"stopped_by_deadline", r.stopped_early}};
    j["resumed_from"] = r.resumed_from;
    if (!r.state_dir.empty())
      j["state"] = {{"dir", r.state_dir}, {"saved_iteration", r.saved_iteration},
                    {"client_bytes", r.state_bytes_client}, {"server_bytes", r.state_bytes_server}};
    j["sigmoid"] = {{"hidden", {{"degree", r.act1.degree}, {"interval", r.act1.a}, {"visited", r.visited_z1}, {"max_error", r.act1.max_error()},
                                {"coefficients", std::vector<double>(r.act1.c.begin(), r.act1.c.begin() + r.act1.degree + 1)}}},
                    {"output", {{"degree", r.act2.degree}, {"interval", r.act2.a}, {"visited", r.visited_z2}, {"max_error", r.act2.max_error()},
                                {"coefficients", std::vector<double>(r.act2.c.begin(), r.act2.c.begin() + r.act2.degree + 1)}}}};
    if (four)
      j["sigmoid"]["hidden2"] = {{"degree", r.act1b.degree}, {"interval", r.act1b.a}, {"visited", r.visited_z1b},
                                 {"max_error", r.act1b.max_error()},
                                 {"coefficients", std::vector<double>(r.act1b.c.begin(), r.act1b.c.begin() + r.act1b.degree + 1)}};
    j["layout"] = {{"block_slots", l.block}, {"hidden_stride", l.hp}, {"axis", l.axis}, {"groups", l.groups},
                   {"samples_per_ciphertext", l.samples()}, {"products_per_iteration", l.products_per_iteration(r.act2.degree)},
                   {"rotations_per_iteration", l.rotations_per_iteration()}, {"galois_keys", r.galois_keys},
                   {"uploaded_ciphertexts", r.uploaded_ciphertexts}, {"batch_bytes", r.batch_bytes},
                   {"streamed_batches", r.streamed_batches}};
    j["levels"] = {{"weights", r.weight_level}, {"data", r.data_level}, {"schedule", r.schedule}};
    if (r.galois_keys > 0)
      j["keys"] = {{"galois_keys", r.galois_keys}, {"galois_bytes", r.galois_bytes},
                   {"galois_bytes_whole_chain", r.galois_bytes_whole_chain}, {"relin_bytes", r.relin_bytes}};
    j["bootstraps"] = r.stats.bootstraps;
    j["params"] = {{"describe", r.params.describe()}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
    j["seconds"] = {{"per_iteration", per_it}, {"per_bootstrap", per_boot}, {"keygen", r.seconds_keygen},
                    {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train}, {"save", r.seconds_save},
                    {"resume", r.seconds_resume}, {"total", r.seconds_total}};
    j["encrypted"] = {{"accuracy", r.accuracy_encrypted}, {"agreement", r.agreement},
                      {"max_weight_error", r.max_weight_error}};
    j["plaintext"] = {{"accuracy", r.accuracy_plaintext}, {"max_abs_weight", r.max_abs_weight}};
    j["torch"] = torch;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Network trained on encrypted data (%zu → %s → %zu, sigmoid fits of degree %d and %d, BCE), %s\n",
              r.features, (std::to_string(l.hidden) + (four ? " → " + std::to_string(l.hidden2) : std::string())).c_str(),
              r.classes, r.act1.degree, r.act2.degree, r.dataset.c_str());
  std::printf("  %zu train / %zu test rows, batch %zu, %d iterations%s, η = %g, γ = %g, λ = %g, ρ = %g\n", r.train_rows,
              r.test_rows, l.batch, r.iterations,
              r.stopped_early ? (" (of " + std::to_string(r.planned_iterations) + ": --stop-by)").c_str() : "",
              o.job.nn.eta, o.job.nn.momentum, o.job.nn.weight_decay, o.job.nn.eta_decay);
  std::printf("  p1 on [−%.2f, %.2f] (visited %.3f, max error %.4f), p2 on [−%.2f, %.2f] (visited %.3f, max error %.4f)\n",
              r.act1.a, r.act1.a, r.visited_z1, r.act1.max_error(), r.act2.a, r.act2.a, r.visited_z2, r.act2.max_error());
  std::printf("  layout: blocks of %zu slots, %zu samples per ciphertext, %zu feature groups; per iteration %zu "
              "ct×ct products, %zu rotations, %d bootstraps\n",
              l.block, l.samples(), l.groups, l.products_per_iteration(r.act2.degree), l.rotations_per_iteration(),
              r.stats.iterations > 0 ? r.stats.bootstraps / r.stats.iterations : 0);
  if (four)
    std::printf("  p1b on [−%.2f, %.2f] (visited %.3f, max error %.4f), the second hidden layer\n", r.act1b.a, r.act1b.a,
                r.visited_z1b, r.act1b.max_error());
  print_params_line(r.params, r.log_qp, r.security_bits);
  if (r.galois_keys > 0)
    std::printf("  keys: %zu Galois keys %.2f GiB (%.2f GiB if made for the whole chain), relinearisation %.0f MiB\n",
                r.galois_keys, r.galois_bytes / (1 << 30), r.galois_bytes_whole_chain / (1 << 30),
                r.relin_bytes / (1 << 20));
  std::printf("\n  %-28s %10s\n", "model (test set)", "accuracy");
  std::printf("  %-28s %10.4f   (agreement with plaintext %.4f, max weight error %.2e)\n", "encrypted training",
              r.accuracy_encrypted, r.agreement, r.max_weight_error);
  std::printf("  %-28s %10.4f\n", "same algorithm, plaintext", r.accuracy_plaintext);
  if (torch["accuracy"].is_null())
    std::printf("  %-28s %10s   (%s)\n", "PyTorch, exact sigmoid", "-", torch["how"].get<std::string>().c_str());
  else
    std::printf("  %-28s %10.4f\n", "PyTorch, exact sigmoid", torch["accuracy"].get<double>());
  if (r.resumed_from > 0)
    std::printf("  resumed at iteration %d: %d iterations in this process, %d in total\n", r.resumed_from,
                r.stats.iterations, r.iterations);
  if (!r.state_dir.empty())
    std::printf("  state saved at iteration %d in %s: client %ju bytes, server %ju bytes (continue with --resume %s)\n",
                r.saved_iteration, r.state_dir.c_str(), r.state_bytes_client, r.state_bytes_server, r.state_dir.c_str());
  std::printf("\n  seconds (this process): %.1f per iteration, %.1f per bootstrap (%d), keygen %.1f, save %.1f, resume %.1f, "
              "total %.1f\n", per_it, per_boot, r.stats.bootstraps, r.seconds_keygen, r.seconds_save, r.seconds_resume,
              r.seconds_total);
  return 0;
}

}  // namespace

Command add_nn_train(CLI::App& app) {
  auto o = std::make_shared<NnCliOptions>();
  auto* s = app.add_subcommand("nn-train", "a neural network (one or two hidden layers) trained on encrypted data, 128-bit, "
                                           "bootstrapping at N = 2^16");
  s->add_option("--data", o->job.data,
                "digits (default) or fashion-mnist-14; each has its own default recipe (the flags below override it): "
                "digits --features whiten --feature-scale 1 --eta 1.5 --weight-decay 0.01 --epochs 4 (all 1438 training "
                "rows); fashion-mnist-14 --features whiten --feature-scale 0.5 --eta 1 --weight-decay 0 --eta-decay 0.01 "
                "--output-degree 5 --epochs 3 --train-rows 16384");
  s->add_option("--epochs", o->epochs, "passes over the fixed batches (default 4 for digits, 3 for fashion-mnist-14)")
      ->check(whole_at_least(1));
  s->add_option("--hidden", o->hidden,
                "hidden units: H for one hidden layer (default 15), H1,H2 for two (the four-layer network input → H1 → "
                "H2 → classes, like scikit-learn's hidden_layer_sizes; saved and resumed by --state/--resume as well)");
  s->add_option("--batch", o->job.nn.batch, "samples per batch, at most the samples one ciphertext holds (default 128)")
      ->check(whole_at_least(1));
  s->add_option("--eta", o->eta, "step η (default 1.5 for digits, 1 for fashion-mnist-14)");
  s->add_option("--momentum", o->job.nn.momentum, "Nesterov look-ahead γ (default 0.8), 0 for plain gradient descent");
  s->add_option("--weight-decay", o->weight_decay,
                "L2 weight decay λ: W ← (1 − ηλ)W − η·gradient, no extra level (default 0.01 for digits, 0 (none) for "
                "fashion-mnist-14)");
  s->add_option("--hidden-degree", o->hidden_degree, "degree of the hidden layer's sigmoid fit p1: 3 or 5 (default 3)")
      ->check(CLI::IsMember({3, 5}));
  s->add_option("--output-degree", o->output_degree,
                "degree of the output layer's sigmoid fit p2: 3 or 5 (default 3 for digits, 5 for fashion-mnist-14)")
      ->check(CLI::IsMember({3, 5}));
  s->add_option("--eta-decay", o->eta_decay,
                "1/t schedule ρ: η_t = η/(1 + ρt) (default 0: constant η for digits, 0.01 for fashion-mnist-14)");
  s->add_option("--bound", o->job.bound,
                "refresh bound M: weights are divided by M before bootstrapping, its error is multiplied by M (default 16)");
  s->add_option("--features", o->features,
                "the data owner's transform before encryption: whiten (default, ZCA) f·(Σ + εI)^(−1/2)·(x − training "
                "mean), centre f·(x − training mean), raw (pixels/16, block means/255 as loaded)")
      ->check(CLI::IsMember({"centre", "whiten", "raw"}));
  s->add_option("--feature-scale", o->feature_scale, "f of --features centre|whiten (default: whiten 1 for digits, 0.5 for fashion-mnist-14; centre 2)")
      ->check(CLI::PositiveNumber);
  s->add_option("--whiten-epsilon", o->job.whiten_epsilon,
                "ε of --features whiten, added to the covariance's eigenvalues (features in [0, 1]; default 0.001)")
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--raw-features", o->raw_features, "the same as --features raw");
  s->add_option("--iterations", o->job.max_iterations,
                "stop after iteration K, counted from 0 also when resuming (default: epochs × batches)")
      ->check(whole_at_least(1));
  s->add_option("--checkpoint-every", o->job.checkpoint_every,
                "the key owner decrypts and evaluates the weights every K iterations, on stderr (0: every epoch, -1: never)");
  s->add_option("--stop-by", o->stop_by,
                "UTC time HH:MM: stop before an iteration that would end later; all figures at the last iteration done");
  s->add_option("--state", o->job.state_dir,
                "save the run into DIR at the end of every epoch and when it stops early (--stop-by, --iterations): "
                "DIR/client/ the key owner's secret key and options, DIR/server/ the encrypted weights W, W_prev and the "
                "next iteration t; refused if DIR already holds a saved run (use --resume)");
  s->add_option("--resume", o->job.resume_dir,
                "continue the run saved in DIR (same options; --iterations counts from iteration 0): the secret key "
                "is read, the evaluation keys regenerated, the batches re-encrypted; saves go back to DIR unless --state "
                "names another");
  s->add_option("--insecure-log-n", o->insecure_log_n,
                "INSECURE: the 128-bit preset's chain and bootstrap at N = 2^L (10..15), for timing and tests")
      ->check(CLI::Range(10, 15));
  s->add_option("--seed", o->job.nn.seed, "initialisation, split and batches");
  s->add_option("--train-rows", o->train_rows, "fashion-mnist-14: the first N training images (default 16384)")
      ->check(whole_at_least(1));
  s->add_option("--fashion-dir", o->job.fashion_dir, "Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)");
  s->add_option("--torch", o->torch_path, "scripts/train_nn_torch.py output (default nn_torch_<data>.json)");
  s->add_option("--export", o->job.export_path, "write data, init and batches for scripts/train_nn_torch.py");
  s->add_flag("--plaintext-only", o->job.plaintext_only, "run the double-precision twin only (with --export: the torch input)");
  s->add_flag("--json", o->json, "print JSON instead of the table");
  return {s, [o] { return run_nn_train(*o); }};
}

}  // namespace ckks::ml::cli

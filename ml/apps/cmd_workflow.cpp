// The client/server workflow through files (ml/workflow/workflow.h):
//
//   ckks-ml keygen  --model mlp|linreg --out DIR [--force]            client: DIR/secret.key, DIR/public.keys
//                   [--weights W] (mlp) [--data PATH --target NAME --seed S --test-fraction F] (linreg)
//   ckks-ml encrypt --keys DIR --out query.ct [--images FIRST:COUNT]   client (mlp: Fashion-MNIST test images;
//                                                                       linreg: the training rows)
//   ckks-ml infer   --eval-keys DIR/public.keys --in query.ct --out answer.ct   server
//   ckks-ml decrypt --keys DIR --in answer.ct [--json]                 client
//
// keygen records the model, its weights (or data) and the key set in the key files; the other steps
// read them, so --model, --weights and the data options are needed once (given again, they must
// agree). The server never sees the secret key: `infer` refuses a key file that holds one.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/data/idx.h"
#include "ml/workflow/workflow.h"

namespace ckks::ml::cli {
namespace {

const char* kClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The options of the four steps. keygen needs --model and has defaults for the rest; the other
// steps take what keygen recorded in the key files unless given (and then they must agree).
struct Common {
  WorkflowOptions w;
  std::string params = "n15";
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  CLI::Option *seed_opt = nullptr, *fraction_opt = nullptr;
  void add(CLI::App* app, bool keygen, bool data_options) {
    w.images_dir = kDebianFashionMnistDir;
    const char* from_keys = keygen ? "" : "; default: what keygen recorded";
    if (keygen) {
      w.weights = std::string(CKKS_MODELS_DIR) + "/mlp_fmnist.safetensors";
      w.data = sklearn_data("boston_house_prices.csv");
      w.target = "MEDV";
    }
    auto* model = app->add_option("--model", w.model,
                                  std::string("mlp (Fashion-MNIST, one image per ciphertext) or linreg (Boston Housing)") +
                                      from_keys);
    if (keygen) model->required();
    app->add_option("--weights", w.weights,
                    std::string("mlp: safetensors weights") + (keygen ? " (default: the committed model)" : from_keys));
    if (data_options) {
      app->add_option("--data", w.data,
                      std::string("linreg: CSV with a header row") + (keygen ? " (default: Boston Housing)" : from_keys));
      app->add_option("--target", w.target, std::string("linreg: target column") + (keygen ? " (default MEDV)" : from_keys));
      seed_opt = app->add_option("--seed", seed,
                                 std::string("linreg: seed of the train/test split") + (keygen ? " (default 1)" : from_keys));
      fraction_opt = app->add_option("--test-fraction", test_fraction,
                                     std::string("linreg: held-out fraction") + (keygen ? " (default 0.2)" : from_keys))
                         ->check(CLI::Range(0.01, 0.99));
    }
  }
  // The parsed options, with seed and held-out fraction set only when given (or for keygen).
  const WorkflowOptions& options(bool keygen) {
    if (keygen || (seed_opt && seed_opt->count() > 0)) w.seed = seed;
    if (keygen || (fraction_opt && fraction_opt->count() > 0)) w.test_fraction = test_fraction;
    return w;
  }
};

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "ckks-ml: warning: %s\n", w.c_str());
}

// FIRST:COUNT → (first, count); throws InputError naming the text otherwise.
std::pair<std::size_t, std::size_t> parse_range(const std::string& s) {
  const auto colon = s.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    std::size_t used = 0;
    const unsigned long first = std::stoul(s.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("first");
    const std::string rest = s.substr(colon + 1);
    const unsigned long count = std::stoul(rest, &used);
    if (used != rest.size() || count == 0) throw std::invalid_argument("count");
    return {first, count};
  } catch (const std::exception&) {
    throw InputError("--images " + s + " is not FIRST:COUNT with COUNT ≥ 1 (e.g. --images 0:10)");
  }
}

}  // namespace

Command add_keygen(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("keygen", "client: make the keys of a model (DIR/secret.key, DIR/public.keys)");
  o->add(sub, true, true);
  sub->add_option("--out", *out, "directory for the key files")->required();
  sub->add_option("--params", o->params, "linreg: parameter preset n13|n14|n15|n16 (default n15)");
  sub->add_flag("--force", *force, "replace an existing DIR/secret.key");
  return {sub, [o, out, force] {
            o->w.params = preset(o->params);
            const KeygenReport r = workflow_keygen(o->options(true), *out, *force);
            std::printf("keygen (%s): %s, %s, key set %s\n", o->w.model.c_str(), r.params.c_str(),
                        r.security_bits >= 128 ? "128-bit secure" : "INSECURE", r.key_set.c_str());
            std::printf("  %s: %zu bytes (owner-only; keep it on the client)\n", r.secret_path.c_str(), r.secret_bytes);
            std::printf("  %s: %zu bytes (parameters, public key, relinearisation key, %zu Galois keys; for the server)\n",
                        r.public_path.c_str(), r.public_bytes, r.galois_keys);
            return 0;
          }};
}

Command add_encrypt(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto keys = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto images = std::make_shared<std::string>("0:10");
  auto* sub = app.add_subcommand("encrypt", "client: encrypt a query with the keys of DIR");
  o->add(sub, false, true);
  sub->add_option("--keys", *keys, "directory written by keygen")->required();
  sub->add_option("--out", *out, "query file to write")->required();
  sub->add_option("--images", *images, "mlp: test images FIRST:COUNT (default 0:10)");
  sub->add_option("--images-dir", o->w.images_dir, "mlp: Fashion-MNIST IDX directory (default: Debian's)");
  return {sub, [o, keys, out, images] {
            const auto [first, count] = parse_range(*images);
            const std::size_t n = workflow_encrypt(o->options(false), *keys, *out, first, count);
            std::printf("encrypt: %zu ciphertexts written to %s\n", n, out->c_str());
            return 0;
          }};
}

Command add_infer(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto eval_keys = std::make_shared<std::string>();
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("infer", "server: compute on an encrypted query with the public keys only");
  o->add(sub, false, false);
  sub->add_option("--eval-keys", *eval_keys, "the public.keys file (a file holding a secret key is refused)")->required();
  sub->add_option("--in", *in, "query file")->required();
  sub->add_option("--out", *out, "answer file to write")->required();
  sub->add_option("--iterations", o->w.iterations, "linreg: SFH iterations (default: min(16, levels − 2))")
      ->check(CLI::Range(1, 1000));
  return {sub, [o, eval_keys, in, out] {
            const double s = workflow_infer(o->options(false), *eval_keys, *in, *out);
            std::printf("infer: answer written to %s (%.2f s of computation)\n", out->c_str(), s);
            return 0;
          }};
}

Command add_decrypt(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto keys = std::make_shared<std::string>();
  auto in = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("decrypt", "client: decrypt an answer and print the predictions");
  o->add(sub, false, true);
  sub->add_option("--keys", *keys, "directory written by keygen")->required();
  sub->add_option("--in", *in, "answer file")->required();
  sub->add_flag("--json", *json_out, "print one JSON object");
  return {sub, [o, keys, in, json_out] {
            const DecryptResult r = workflow_decrypt(o->options(false), *keys, *in);
            print_warnings(r.warnings);
            if (*json_out) {
              nlohmann::json j{{"model", r.model}, {"warnings", r.warnings}};
              if (r.model == "mlp") {
                j["first_image"] = r.first_image;
                j["predictions"] = r.predictions;
                j["logits"] = r.logits;
              } else {
                j["weights"] = r.weights;
                j["decrypted_constant"] = r.constant;
                j["test"] = {{"rmse", r.rmse}, {"r2", r.r2}};
              }
              std::cout << j.dump(2) << "\n";
              return 0;
            }
            if (r.model == "mlp") {
              for (std::size_t i = 0; i < r.predictions.size(); ++i)
                std::printf("image %zu: class %d (%s)\n", r.first_image + i, r.predictions[i],
                            r.predictions[i] >= 0 && r.predictions[i] < 10 ? kClasses[r.predictions[i]] : "?");
            } else {
              std::printf("weights (standardised features, bias last):");
              for (double w : r.weights) std::printf(" %.4f", w);
              std::printf("\ndecrypted constant coordinate %.6f (should be 1); held-out RMSE %.4f, R2 %.4f\n", r.constant,
                          r.rmse, r.r2);
            }
            return 0;
          }};
}

}  // namespace ckks::ml::cli

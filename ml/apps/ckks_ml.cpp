// ckks-ml: the command-line front end of the encrypted machine-learning layer.
//
//   ckks-ml linreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
//   ckks-ml logreg [--data PATH --target NAME] [--iterations K] [--seed S] [--params n15] [--json]
//
// linreg: linear regression trained on encrypted data with the simplified fixed Hessian. The data
// owner standardises and splits the data, encrypts the training part and sends ciphertexts to the
// server, which trains on ciphertexts only; the owner decrypts the weights and evaluates them on the
// held-out test part. The same algorithm in double precision and the closed-form least-squares
// solution are run beside it as references.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <unistd.h>

#include "ckks/math/errors.h"
#include "ckks/math/memory.h"
#include "ml/linreg_job.h"
#include "ml/logreg_encrypted.h"
#include "ml/client_keys.h"
#include "ml/data/idx.h"
#include "ml/mlp_encrypted.h"

namespace {

const char* kBostonPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv";

// Progress on stderr for long phases: an updating line on a terminal, one line per finished phase
// otherwise (logs, pipes).
ckks::ml::Progress stderr_progress(std::string tag) {
  const bool tty = isatty(fileno(stderr));
  return [tty, tag](const std::string& phase, std::size_t done, std::size_t total) {
    if (tty) {
      std::fprintf(stderr, "\r[%s] %-24s %zu/%zu", tag.c_str(), phase.c_str(), done, total);
      if (done == total) std::fprintf(stderr, "\n");
    } else if (done == total) {
      std::fprintf(stderr, "[%s] %s: %zu/%zu done\n", tag.c_str(), phase.c_str(), done, total);
    }
    std::fflush(stderr);
  };
}

ckks::Params preset(const std::string& name) {
  if (name == "n13") return ckks::Params::preset_n13();
  if (name == "n14") return ckks::Params::preset_n14();
  if (name == "n15") return ckks::Params::preset_n15();
  if (name == "n16") return ckks::Params::preset_n16();
  throw ckks::InputError("--params " + name + " is not a preset; choose n13, n14, n15 or n16");
}

struct LinregOptions {
  std::string data = kBostonPath;
  std::string target = "MEDV";
  int iterations = 0;  // 0 = as many as the chain allows, at most 16
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  std::string params = "n15";
  bool json = false;
};

int run_linreg(const LinregOptions& o) {
  using namespace ckks;
  const bool is_boston = o.data == kBostonPath;
  ml::LinregJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[linreg] %s, target %s, %s\n", o.data.c_str(), o.target.c_str(),
               jo.params.describe().c_str());

  const ml::Progress progress = stderr_progress("linreg");
  const ml::LinregReport r = ml::run_linreg_job(jo, progress);

  if (o.json) {
    nlohmann::json j;
    j["model"] = "linreg";
    j["algorithm"] = "simplified fixed Hessian (Bonte-Vercauteren 2018), trained on encrypted data";
    j["dataset"] = is_boston ? "boston_house_prices (python3-sklearn)" : o.data;
    j["target"] = o.target;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["levels_used"] = r.levels_used;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    j["encrypted"] = {{"rmse", r.encrypted.rmse}, {"r2", r.encrypted.r2}};
    j["plaintext"] = {{"rmse", r.plaintext.rmse}, {"r2", r.plaintext.r2}};
    j["closed_form"] = {{"rmse", r.closed_form.rmse}, {"r2", r.closed_form.r2}};
    j["max_weight_error"] = r.max_weight_error;
    j["decrypted_constant"] = r.decrypted_constant;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted linear regression (simplified fixed Hessian), %s, target %s\n",
              is_boston ? "Boston Housing" : o.data.c_str(), o.target.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used,
              static_cast<unsigned long long>(o.seed));
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", r.params.describe().c_str(), r.log_qp,
              r.security_bits >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "RMSE", "R2");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.encrypted.rmse, r.encrypted.r2);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", r.plaintext.rmse, r.plaintext.r2);
  std::printf("  %-28s %10.4f %10.4f\n", "closed-form least squares", r.closed_form.rmse, r.closed_form.r2);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; decrypted constant coordinate = %.8f (should be 1)\n",
              r.max_weight_error, r.decrypted_constant);
  std::printf("  seconds: keygen %.2f (%zu Galois keys), encrypt %.2f, train %.2f, decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.galois_keys, r.seconds_encrypt, r.seconds_train, r.seconds_decrypt,
              r.seconds_total);
  return 0;
}

// logreg: logistic regression trained on encrypted data with Nesterov's accelerated gradient and
// the quadratic gradient [Chiang, arXiv:2201.10838] and a degree-3 polynomial sigmoid (see
// ml/logreg_encrypted.h); scikit-learn's breast cancer data by default. The same algorithm in
// double precision is run beside it as the reference.
struct LogregOptions {
  std::string data;  // empty = breast_cancer.csv from python3-sklearn
  std::string target;
  int iterations = 0;  // 0 = as many as the chain allows, at most 4
  std::uint64_t seed = 1;
  double test_fraction = 0.2;
  double eta0 = 0.0;
  std::string params = "n15";
  bool json = false;
};

int run_logreg(const LogregOptions& o) {
  using namespace ckks;
  if (!o.data.empty() && o.target.empty())
    throw InputError("logreg: --data needs --target NAME (the column holding the 0/1 labels)");
  if (o.data.empty() && !o.target.empty())
    throw InputError("logreg: --target needs --data PATH (the breast cancer data has a fixed target)");
  ml::LogregJobOptions jo;
  jo.data = o.data;
  jo.target = o.target;
  jo.iterations = o.iterations;
  jo.seed = o.seed;
  jo.test_fraction = o.test_fraction;
  jo.eta0 = o.eta0;
  jo.params = preset(o.params);
  std::fprintf(stderr, "[logreg] %s, %s\n", o.data.empty() ? "breast cancer" : o.data.c_str(),
               jo.params.describe().c_str());
  const ml::Progress progress = stderr_progress("logreg");
  const ml::LogregReport r = ml::run_logreg_job(jo, progress);
  const double per_iter = r.seconds_train / r.iterations;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "logreg";
    j["algorithm"] = "Nesterov accelerated gradient with the quadratic gradient (Chiang, arXiv:2201.10838), "
                     "degree-3 polynomial sigmoid, trained on encrypted data";
    j["dataset"] = r.dataset;
    j["target"] = o.data.empty() ? "target (0 malignant, 1 benign)" : o.target;
    j["rows"] = {{"train", r.train_rows}, {"test", r.test_rows}, {"features", r.features}};
    j["iterations"] = r.iterations;
    j["seed"] = o.seed;
    j["eta0"] = o.eta0;
    j["levels_per_iteration"] = r.levels_per_iteration;
    j["levels_used"] = r.levels_used;
    j["max_sigmoid_input"] = r.max_abs_margin;
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"log_qp", r.log_qp}, {"security_bits", r.security_bits}};
    j["encrypted"] = {{"accuracy", r.encrypted.accuracy}, {"auc", r.encrypted.auc}};
    j["plaintext"] = {{"accuracy", r.plaintext.accuracy}, {"auc", r.plaintext.auc}};
    j["max_weight_error"] = r.max_weight_error;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt", r.seconds_encrypt}, {"train", r.seconds_train},
                    {"decrypt", r.seconds_decrypt}, {"total", r.seconds_total}};
    j["seconds_per_iteration"] = per_iter;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted logistic regression (NAG + quadratic gradient, degree-3 sigmoid), %s\n",
              o.data.empty() ? "breast cancer" : o.data.c_str());
  std::printf("  %zu train / %zu test rows, %zu features, %d iterations (%d levels, %d per iteration), seed %llu\n",
              r.train_rows, r.test_rows, r.features, r.iterations, r.levels_used, r.levels_per_iteration,
              static_cast<unsigned long long>(o.seed));
  std::printf("  params: %s, log QP = %.1f bits, security: %s\n", r.params.describe().c_str(), r.log_qp,
              r.security_bits >= 128 ? "128-bit (HomomorphicEncryption.org table)" : "INSECURE");
  std::printf("\n  %-28s %10s %10s\n", "model (test set)", "accuracy", "AUC");
  std::printf("  %-28s %10.4f %10.4f\n", "encrypted training", r.encrypted.accuracy, r.encrypted.auc);
  std::printf("  %-28s %10.4f %10.4f\n", "same algorithm, plaintext", r.plaintext.accuracy, r.plaintext.auc);
  std::printf("\n  max |w_encrypted - w_plaintext| = %.3g; max |sigmoid input| = %.2f (approximation fitted on [-8, 8])\n",
              r.max_weight_error, r.max_abs_margin);
  std::printf("  seconds: keygen %.2f, encrypt %.2f, train %.2f (%.2f per iteration), decrypt %.3f, total %.2f\n",
              r.seconds_keygen, r.seconds_encrypt, r.seconds_train, per_iter, r.seconds_decrypt, r.seconds_total);
  return 0;
}


struct MlpOptions {
  std::string model = std::string(CKKS_MODELS_DIR) + "/mlp_fmnist.safetensors";
  std::string data = ckks::ml::kDebianFashionMnistDir;
  std::size_t images = 10000;
  bool json = false;
};

// Batched encrypted MLP inference on Fashion-MNIST (one image per slot): plaintext accuracy on the
// whole test set, encrypted predictions for the first `images` test images, their agreement.
int run_mlp(const MlpOptions& o) {
  using namespace ckks;
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const auto t_total = Clock::now();
  const ml::Mlp model = ml::Mlp::load(o.model);
  const ml::ImageSet test = ml::load_fashion_mnist(o.data, false);
  std::size_t plain_correct = 0;
  std::vector<int> plain_pred(test.images.size());
  for (std::size_t i = 0; i < test.images.size(); ++i) {
    plain_pred[i] = model.predict(test.images[i]);
    plain_correct += plain_pred[i] == test.labels[i];
  }
  const std::size_t count = std::min(o.images, test.images.size());
  const Params params = Params::preset_n14();
  auto ctx = Context::create(params);
  std::fprintf(stderr, "[mlp] %zu test images, %zu encrypted in batches of %zu; %s\n", test.images.size(), count,
               ctx->max_slots(), params.describe().c_str());
  auto t = Clock::now();
  ml::ClientKeys client(ctx);
  ml::MlpBatchServer server(ctx, model, client.keygen.relin_key(client.sk));
  const double s_keygen = since(t);
  double s_encrypt = 0, s_infer = 0, s_decrypt = 0;
  std::size_t enc_correct = 0, agree = 0;
  for (std::size_t start = 0; start < count; start += ctx->max_slots()) {
    const std::size_t n = std::min(ctx->max_slots(), count - start);
    const std::vector<std::vector<float>> batch(test.images.begin() + start, test.images.begin() + start + n);
    t = Clock::now();
    const auto cts = ml::encrypt_image_batch(client.encoder, client.encryptor, batch, model.input_size(),
                                             ctx->max_level(), ctx->default_scale());
    s_encrypt += since(t);
    t = Clock::now();
    const auto out = server.forward(cts);  // the server sees ciphertexts and the relinearisation key
    s_infer += since(t);
    t = Clock::now();
    std::vector<Plaintext> pts;
    for (const auto& c : out) pts.push_back(client.decryptor.decrypt(c));
    const auto logits = ml::decode_logits(client.encoder, pts, n);
    s_decrypt += since(t);
    for (std::size_t b = 0; b < n; ++b) {
      const int pred = static_cast<int>(std::max_element(logits[b].begin(), logits[b].end()) - logits[b].begin());
      enc_correct += pred == test.labels[start + b];
      agree += pred == plain_pred[start + b];
    }
    std::fprintf(stderr, "[mlp] batch of %zu images: %.1f s inference\n", n, s_infer);
  }
  const double plain_acc = static_cast<double>(plain_correct) / test.images.size();
  const double enc_acc = count ? static_cast<double>(enc_correct) / count : 0.0;
  const double agreement = count ? static_cast<double>(agree) / count : 0.0;
  const double per_image = count ? (s_encrypt + s_infer + s_decrypt) / count : 0.0;
  if (o.json) {
    nlohmann::json j;
    j["model"] = "mlp";
    j["dataset"] = "fashion-mnist test set (dataset-fashion-mnist)";
    j["architecture"] = "784-64-32-10, square activations, batched: one image per slot";
    j["images_encrypted"] = count;
    j["plaintext"] = {{"accuracy", plain_acc}, {"images", test.images.size()}};
    j["encrypted"] = {{"accuracy", enc_acc}};
    j["agreement"] = agreement;
    j["samples_per_second"] = per_image > 0 ? 1.0 / per_image : 0.0;
    j["seconds_per_image_amortised"] = per_image;
    j["levels_used"] = server.levels_needed();
    j["params"] = {{"log_n", params.log_n}, {"log_q", params.log_q}, {"log_p", params.log_p},
                   {"log_scale", params.log_scale}, {"security_bits", ctx->security_bits()}};
    j["seconds"] = {{"keygen", s_keygen}, {"encrypt", s_encrypt}, {"infer", s_infer}, {"decrypt", s_decrypt},
                    {"total", since(t_total)}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("Encrypted MLP inference (784-64-32-10, square activations), Fashion-MNIST, batched\n");
  std::printf("  params: %s, security: %s, %d levels used\n", params.describe().c_str(),
              ctx->security_bits() >= 128 ? "128-bit" : "INSECURE", server.levels_needed());
  std::printf("  plaintext accuracy (%zu test images): %.4f\n", test.images.size(), plain_acc);
  std::printf("  encrypted accuracy (%zu images): %.4f; agreement with plaintext: %.4f\n", count, enc_acc, agreement);
  std::printf("  seconds: keygen %.1f, encrypt %.1f, inference %.1f, decrypt %.2f; %.2f ms per image amortised (%.0f images/s)\n",
              s_keygen, s_encrypt, s_infer, s_decrypt, 1000 * per_image, per_image > 0 ? 1 / per_image : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ckks::math::keep_freed_memory_for_reuse();  // reuse freed ciphertext buffers (ckks/math/memory.h)
  CLI::App app{"ckks-ml: machine learning on CKKS-encrypted data"};
  app.require_subcommand(1);
  LinregOptions lo;
  auto* linreg = app.add_subcommand("linreg", "linear regression trained on encrypted data (Boston Housing by default)");
  linreg->add_option("--data", lo.data, "CSV file with a header row (default: Boston Housing from python3-sklearn)");
  linreg->add_option("--target", lo.target, "name of the target column (default MEDV)");
  linreg->add_option("--iterations", lo.iterations, "SFH iterations (default: min(16, levels − 2))")->check(CLI::Range(1, 1000));
  linreg->add_option("--seed", lo.seed, "seed of the train/test shuffle (default 1)");
  linreg->add_option("--test-fraction", lo.test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  linreg->add_option("--params", lo.params, "parameter preset n13|n14|n15|n16 (default n15)");
  linreg->add_flag("--json", lo.json, "print one JSON object instead of the table");
  LogregOptions go;
  auto* logreg = app.add_subcommand("logreg", "logistic regression trained on encrypted data (breast cancer by default)");
  logreg->add_option("--data", go.data, "CSV file with a header row (default: breast cancer from python3-sklearn)");
  logreg->add_option("--target", go.target, "name of the 0/1 label column (required with --data)");
  logreg->add_option("--iterations", go.iterations, "NAG iterations (default: min(4, what the chain allows))")->check(CLI::Range(1, 1000));
  logreg->add_option("--seed", go.seed, "seed of the train/test shuffle (default 1)");
  logreg->add_option("--test-fraction", go.test_fraction, "held-out fraction (default 0.2)")->check(CLI::Range(0.01, 0.99));
  logreg->add_option("--eta0", go.eta0, "learning-rate schedule: step 1 + eta0/(t+1) (default 0)")->check(CLI::Range(0.0, 100.0));
  logreg->add_option("--params", go.params, "parameter preset n13|n14|n15|n16 (default n15)");
  logreg->add_flag("--json", go.json, "print one JSON object instead of the table");
  MlpOptions mo;
  auto* mlp = app.add_subcommand("mlp", "batched encrypted MLP inference on Fashion-MNIST (one image per slot)");
  mlp->add_option("--images", mo.images, "test images to run encrypted (default 10000, batches of N/2)");
  mlp->add_option("--model", mo.model, "safetensors weights (default: the committed ml/models/mlp_fmnist.safetensors)");
  mlp->add_option("--data", mo.data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  mlp->add_flag("--json", mo.json, "print one JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);
  try {
    if (linreg->parsed()) return run_linreg(lo);
    if (logreg->parsed()) return run_logreg(go);
    if (mlp->parsed()) return run_mlp(mo);
  } catch (const ckks::Error& e) {
    std::fprintf(stderr, "ckks-ml: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-ml: internal error: %s\n", e.what());
    return 3;
  }
  return 1;
}

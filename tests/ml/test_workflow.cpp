// The client/server workflow through files (ml/workflow/workflow.h): keygen → encrypt → infer (in a
// directory holding only the public keys) → decrypt, compared with the in-process computation.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/errors.h"
#include "ckks/keygen.h"
#include "ml/client_keys.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/mlp/mlp_latency.h"
#include "ml/mlp/mlp_plain.h"
#include "ml/workflow/workflow.h"
#include "temp_dir.h"

namespace ckks::ml {
namespace {

const std::string kModel = std::string(CKKS_MODELS_DIR_FOR_TESTS) + "/mlp_fmnist.safetensors";

TEST_CASE("ml/workflow: mlp keygen, encrypt, infer without the secret key, decrypt = in-process run") {
  test_util::TempDir tmp("ckks_workflow");
  const std::string client = (tmp.dir / "client").string(), server = (tmp.dir / "server").string();
  std::filesystem::create_directories(server);
  WorkflowOptions o;
  o.model = "mlp";
  o.weights = kModel;
  o.images_dir = kDebianFashionMnistDir;

  const KeygenReport k = workflow_keygen(o, client);
  CHECK(k.security_bits == 128);
  struct stat st {};
  REQUIRE(::stat(k.secret_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::filesystem::copy_file(k.public_path, server + "/public.keys");

  const std::size_t first = 3, count = 4;
  // After keygen the model and weights come from the key files: no model named again.
  WorkflowOptions later;
  later.images_dir = kDebianFashionMnistDir;
  CHECK(workflow_encrypt(later, client, server + "/query.ct", first, count) == count);
  // The server's directory holds no secret key, and a secret key file is refused.
  CHECK_FALSE(std::filesystem::exists(server + "/secret.key"));
  workflow_infer(o, server + "/public.keys", server + "/query.ct", server + "/answer.ct");
  CHECK_THROWS_WITH_AS(workflow_infer(o, k.secret_path, server + "/query.ct", server + "/x.ct"),
                       doctest::Contains("holds a secret key"), InputError);
  const DecryptResult r = workflow_decrypt(o, client, server + "/answer.ct");
  REQUIRE(r.predictions.size() == count);
  CHECK(r.first_image == first);

  // In-process: the same images through MlpLatencyServer with fresh keys, and the plaintext model.
  const Mlp model = Mlp::load(kModel);
  const MlpLatencyLayout layout(model);
  auto ctx = Context::create(mlp_latency_params(layout.levels_needed(), layout.slots()));
  ClientKeys keys(ctx, 11);
  const MlpLatencyServer srv(ctx, model, keys.keygen.relin_key(keys.sk), keys.keygen.galois_keys(keys.sk, layout.rotation_steps()));
  const ImageSet test = load_fashion_mnist(kDebianFashionMnistDir, false, first + count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& img = test.images[first + i];
    const auto out = srv.forward(encrypt_latency_image(layout, keys.encoder, keys.encryptor, img, ctx->max_level(),
                                                       ctx->default_scale()));
    const auto logits = decode_latency_logits(layout, keys.encoder, keys.decryptor.decrypt(out));
    const int in_process = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    CHECK(r.predictions[i] == in_process);
    CHECK(r.predictions[i] == model.predict(img));
    for (std::size_t c = 0; c < logits.size(); ++c) CHECK(std::abs(r.logits[i][c] - logits[c]) < 0.05);
  }

  // Misuse: keygen over existing keys, a query decrypted as an answer, another model's files.
  CHECK_THROWS_WITH_AS(workflow_keygen(o, client), doctest::Contains("exists"), InputError);
  CHECK_THROWS_WITH_AS(workflow_decrypt(o, client, server + "/query.ct"), doctest::Contains("is not an answer"), InputError);
  WorkflowOptions lin = o;
  lin.model = "linreg";
  CHECK_THROWS_WITH_AS(workflow_infer(lin, server + "/public.keys", server + "/query.ct", server + "/y.ct"),
                       doctest::Contains("--model linreg contradicts"), InputError);
  WorkflowOptions bad = o;
  bad.model = "svm";
  CHECK_THROWS_WITH_AS(workflow_keygen(bad, (tmp.dir / "other").string()), doctest::Contains("choose mlp or linreg"), InputError);
  CHECK_THROWS_WITH_AS(workflow_encrypt(o, client, server + "/q2.ct", 9999, 5), doctest::Contains("run past"), InputError);
  // A truncated query is refused with a clear error.
  {
    std::filesystem::resize_file(server + "/query.ct", 1000);
    CHECK_THROWS_AS(workflow_infer(o, server + "/public.keys", server + "/query.ct", server + "/z.ct"), InputError);
  }
}

TEST_CASE("ml/workflow: linreg through files equals the in-process SFH training") {
  test_util::TempDir tmp("ckks_workflow_lin");
  // 120 rows of Boston Housing (every fourth: a real subset) → 96 training rows, 13 features: 128 × 16 slots.
  const std::string csv = (tmp.dir / "boston120.csv").string();
  {
    std::ifstream in(ckks::ml::sklearn_data("boston_house_prices.csv"));
    std::ofstream out(csv);
    std::string line;
    std::getline(in, line);  // scikit-learn's metadata line ("506,13")
    std::getline(in, line);  // the header
    out << line << "\n";
    for (int i = 0, kept = 0; kept < 120 && std::getline(in, line); ++i)
      if (i % 4 == 0) {  // every fourth row, so that the binary CHAS column is not constant
        out << line << "\n";
        ++kept;
      }
  }
  WorkflowOptions o;
  o.model = "linreg";
  o.data = csv;
  o.target = "MEDV";
  o.seed = 1;
  o.test_fraction = 0.2;
  o.iterations = 3;
  Params p;
  p.log_n = 12;
  p.log_q = {60, 40, 40, 40, 40, 40};
  p.log_p = {60};
  p.log_scale = 40;
  p.allow_insecure = true;  // N = 2^12 with log QP = 320: INSECURE, a small test ring
  o.params = p;
  const std::string client = (tmp.dir / "c").string(), server = (tmp.dir / "s").string();
  std::filesystem::create_directories(server);
  const KeygenReport k = workflow_keygen(o, client);
  std::filesystem::copy_file(k.public_path, server + "/public.keys");
  workflow_encrypt(o, client, server + "/train.ct");
  workflow_infer(o, server + "/public.keys", server + "/train.ct", server + "/w.ct");
  const DecryptResult r = workflow_decrypt(o, client, server + "/w.ct");
  CHECK(std::abs(r.constant - 1.0) < 1e-4);
  // The plaintext SFH run of the same split, 3 iterations.
  const Dataset ds = select_target(read_csv(csv), "MEDV");
  const Split split = train_test_split(ds, *o.test_fraction, *o.seed);
  const Standardizer z = Standardizer::fit(split.train);
  const auto A = with_bias_column(z.apply(split.train).X);
  const auto w = sfh_train(A, z.apply(split.train).y, 3).back();
  REQUIRE(r.weights.size() == w.size());
  double err = 0;
  for (std::size_t j = 0; j < w.size(); ++j) err = std::max(err, std::abs(r.weights[j] - w[j]));
  MESSAGE("linreg through files (120 Boston rows, 3 iterations): max |w_files − w_plain| = " << err
          << ", held-out RMSE " << r.rmse << ", R² " << r.r2);
  CHECK(err < 1e-3);
  // Another split than the keys were made for is refused before encryption.
  WorkflowOptions other = o;
  other.test_fraction = 0.5;
  CHECK_THROWS_WITH_AS(workflow_encrypt(other, client, server + "/t2.ct"),
                       doctest::Contains("--test-fraction 0.500000 contradicts"), InputError);
  // The later steps need nothing but the files: keygen recorded the model, data and split.
  WorkflowOptions later;
  later.iterations = 3;
  CHECK(workflow_encrypt(later, client, server + "/t3.ct") > 0);
}

}  // namespace
}  // namespace ckks::ml

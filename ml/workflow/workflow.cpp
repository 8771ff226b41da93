// See workflow.h.
#include "ml/workflow/workflow.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/errors.h"
#include "ckks/keygen.h"
#include "ckks/serialize.h"
#include "ml/client_keys.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/idx.h"
#include "ml/linreg/linreg_encrypted.h"
#include "ml/linreg/linreg_plain.h"
#include "ml/metrics.h"
#include "ml/mlp/mlp_latency.h"
#include "ml/mlp/mlp_plain.h"
#include "ml/timer.h"

namespace ckks::ml {

using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;
using Blobs = std::vector<std::span<const std::uint8_t>>;

namespace {

constexpr const char* kFormat = "ckks-ml workflow 1";

void append(Bytes& bundle, const Bytes& blob) { bundle.insert(bundle.end(), blob.begin(), blob.end()); }

void check_model(const std::string& m) {
  if (m != "mlp" && m != "linreg")
    throw InputError("--model " + m + " is not supported by the workflow; choose mlp or linreg");
}

// A bundle read from `path`: its metadata (checked: our format, and the model if given), the
// Context of its Params, and the remaining blobs.
struct Bundle {
  Bytes bytes;
  json meta;
  ContextPtr ctx;
  Blobs rest;
};

Bundle open_bundle(const std::string& path, const std::string& expect_model) {
  Bundle b;
  b.bytes = read_file(path);
  const Blobs blobs = split_blobs(b.bytes);
  if (blobs.size() < 2 || inspect(blobs[0]).type != ObjectType::Metadata || inspect(blobs[1]).type != ObjectType::Params)
    throw InputError(path + " is not a ckks-ml workflow file (it must start with Metadata and Params objects)");
  try {
    b.meta = json::parse(deserialize_metadata(blobs[0]));
  } catch (const json::exception& e) {
    throw InputError(path + ": its metadata is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!b.meta.is_object() || b.meta.value("format", "") != kFormat || !b.meta.contains("model"))
    throw InputError(path + ": metadata of another program or version (expected format \"" + kFormat + "\")");
  const std::string model = b.meta["model"].get<std::string>();
  if (!expect_model.empty() && model != expect_model)
    throw InputError(path + " is for the " + model + " model, not " + expect_model + "; pass matching files");
  b.ctx = Context::create(deserialize_params(blobs[1]));
  b.rest.assign(blobs.begin() + 2, blobs.end());
  return b;
}

// ---- linreg data, as linreg_job prepares it (split, standardise on the training rows)
struct LinregData {
  std::vector<std::vector<double>> A, A_test;
  std::vector<double> y, y_test_raw;
  Standardizer z;
};

LinregData linreg_data(const WorkflowOptions& o) {
  const Dataset ds = select_target(read_csv(o.data), o.target);
  const Split split = train_test_split(ds, o.test_fraction, o.seed);
  LinregData d;
  d.z = Standardizer::fit(split.train);
  const Dataset train = d.z.apply(split.train), test = d.z.apply(split.test);
  d.A = with_bias_column(train.X);
  d.A_test = with_bias_column(test.X);
  d.y = train.y;
  d.y_test_raw = split.test.y;
  return d;
}

json linreg_meta(const WorkflowOptions& o, std::size_t rows, std::size_t features) {
  return {{"format", kFormat}, {"model", "linreg"},   {"data", o.data}, {"target", o.target},
          {"seed", o.seed},    {"test_fraction", o.test_fraction}, {"rows", rows}, {"features", features}};
}

struct Secret {
  Bundle bundle;
  ClientKeys keys;
};

Secret load_secret(const std::string& dir, const std::string& model) {
  Bundle b = open_bundle(dir + "/secret.key", model);
  if (b.rest.size() != 2 || inspect(b.rest[0]).type != ObjectType::SecretKey)
    throw InputError(dir + "/secret.key does not hold a secret and a public key; run ckks-ml keygen again");
  SecretKey sk = deserialize_secret_key(b.ctx, b.rest[0]);
  PublicKey pk = deserialize_public_key(b.ctx, b.rest[1]);
  ContextPtr ctx = b.ctx;
  return {std::move(b), ClientKeys(ctx, std::move(sk), std::move(pk))};
}

}  // namespace

KeygenReport workflow_keygen(const WorkflowOptions& o, const std::string& dir, bool overwrite) {
  check_model(o.model);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError("keygen: cannot create " + dir + ": " + ec.message());
  KeygenReport rep;
  rep.secret_path = dir + "/secret.key";
  rep.public_path = dir + "/public.keys";
  if (std::filesystem::exists(rep.secret_path) && !overwrite)
    throw InputError("keygen: " + rep.secret_path + " exists; it is the only key that decrypts answers made with it. "
                     "Use another directory, or --force to replace it");

  json meta;
  Params params;
  std::vector<int> steps;
  if (o.model == "mlp") {
    const Mlp model = Mlp::load(o.weights);
    const MlpLatencyLayout layout(model);
    params = mlp_latency_params(layout.levels_needed(), layout.slots());
    steps = layout.rotation_steps();
    meta = {{"format", kFormat}, {"model", "mlp"}, {"input_size", layout.input_size()},
            {"output_size", layout.output_size()}, {"slots", layout.slots()}};
  } else {
    const LinregData d = linreg_data(o);
    params = o.params;
    auto probe = Context::create(params);
    const SfhLayout layout = SfhLayout::make(d.A.size(), d.A[0].size() - 1, probe->max_slots());
    steps = layout.rotation_steps();
    meta = linreg_meta(o, d.A.size(), d.A[0].size() - 1);
  }
  auto ctx = Context::create(params);
  KeyGenerator kg(ctx);
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  const RelinKey rk = kg.relin_key(sk);
  const GaloisKeys gk = kg.galois_keys(sk, steps);

  Bytes secret = serialize_metadata(meta.dump());
  append(secret, serialize(params));
  append(secret, serialize(sk));
  append(secret, serialize(pk));
  write_file(rep.secret_path, secret, /*owner_only=*/true);
  std::fill(secret.begin(), secret.end(), 0);  // the buffer held the secret key

  Bytes pub = serialize_metadata(meta.dump());
  append(pub, serialize(params));
  append(pub, serialize(pk));
  append(pub, serialize(rk));
  append(pub, serialize(gk));
  write_file(rep.public_path, pub);

  rep.secret_bytes = secret.size();
  rep.public_bytes = pub.size();
  rep.galois_keys = gk.keys.size();
  rep.security_bits = ctx->security_bits();
  rep.params = params.describe();
  return rep;
}

std::size_t workflow_encrypt(const WorkflowOptions& o, const std::string& keys_dir, const std::string& out,
                             std::size_t first, std::size_t count) {
  check_model(o.model);
  Secret s = load_secret(keys_dir, o.model);
  const ContextPtr ctx = s.bundle.ctx;
  json meta = s.bundle.meta;
  std::vector<Ciphertext> cts;
  if (o.model == "mlp") {
    const Mlp model = Mlp::load(o.weights);
    const MlpLatencyLayout layout(model);
    if (layout.slots() != meta.value("slots", std::size_t{0}) || layout.input_size() != meta.value("input_size", std::size_t{0}))
      throw InputError("encrypt: the keys in " + keys_dir + " were made for another model layout; run keygen with these weights");
    if (count == 0) throw InputError("encrypt: --images FIRST:COUNT needs COUNT ≥ 1");
    const ImageSet test = load_fashion_mnist(o.images_dir, false, first + count);
    if (first + count > test.images.size())
      throw InputError("encrypt: images " + std::to_string(first) + ":" + std::to_string(count) + " run past the " +
                       std::to_string(test.images.size()) + " test images");
    for (std::size_t i = first; i < first + count; ++i)
      cts.push_back(encrypt_latency_image(layout, s.keys.encoder, s.keys.encryptor, test.images[i], ctx->max_level(),
                                          ctx->default_scale()));
    meta["first_image"] = first;
    meta["count"] = count;
  } else {
    const LinregData d = linreg_data(o);
    if (d.A.size() != meta.value("rows", std::size_t{0}) || d.A[0].size() - 1 != meta.value("features", std::size_t{0}))
      throw InputError("encrypt: the keys in " + keys_dir + " were made for " + std::to_string(meta.value("rows", 0)) +
                       " rows × " + std::to_string(meta.value("features", 0)) + " features, this data has " +
                       std::to_string(d.A.size()) + " × " + std::to_string(d.A[0].size() - 1) +
                       "; run keygen with the same --data, --target, --seed and --test-fraction");
    SfhDataOwner owner(ctx, std::move(s.keys));
    EncryptedTrainingSet enc = owner.encrypt(d.A, d.y);
    cts = std::move(enc.columns_rotated);
    cts.push_back(std::move(enc.preconditioner));
  }
  meta["contents"] = "query";
  Bytes b = serialize_metadata(meta.dump());
  append(b, serialize(ctx->params()));
  for (const auto& c : cts) append(b, serialize(c));
  write_file(out, b);
  return cts.size();
}

double workflow_infer(const WorkflowOptions& o, const std::string& eval_keys, const std::string& in,
                      const std::string& out) {
  check_model(o.model);
  Bundle keys = open_bundle(eval_keys, o.model);
  for (auto blob : keys.rest)
    if (inspect(blob).type == ObjectType::SecretKey)
      throw InputError("infer: " + eval_keys + " holds a secret key; the server must never see it. Pass the "
                       "public.keys file that ckks-ml keygen wrote");
  if (keys.rest.size() != 3)
    throw InputError("infer: " + eval_keys + " does not hold a public, a relinearisation and a Galois key");
  const ContextPtr ctx = keys.ctx;
  RelinKey rk = deserialize_relin_key(ctx, keys.rest[1]);
  GaloisKeys gk = deserialize_galois_keys(ctx, keys.rest[2]);
  Bundle query = open_bundle(in, o.model);
  if (fingerprint(*query.ctx) != fingerprint(*ctx))
    throw InputError("infer: " + in + " was encrypted under other parameters than " + eval_keys);
  std::vector<Ciphertext> cts;
  for (auto blob : query.rest) cts.push_back(deserialize_ciphertext(ctx, blob));
  if (cts.empty()) throw InputError("infer: " + in + " holds no ciphertext");

  const auto t0 = Clock::now();
  std::vector<Ciphertext> answer;
  if (o.model == "mlp") {
    const MlpLatencyServer server(ctx, Mlp::load(o.weights), std::move(rk), std::move(gk));
    for (const auto& c : cts) answer.push_back(server.forward(c));
  } else {
    const std::size_t rows = query.meta.value("rows", std::size_t{0}), d = query.meta.value("features", std::size_t{0});
    EncryptedTrainingSet enc;
    enc.layout = SfhLayout::make(rows, d, ctx->max_slots());
    if (cts.size() != enc.layout.block + 1)
      throw InputError("infer: " + in + " holds " + std::to_string(cts.size()) + " ciphertexts; a training set of " +
                       std::to_string(d) + " features needs " + std::to_string(enc.layout.block + 1));
    enc.preconditioner = cts.back();
    cts.pop_back();
    enc.columns_rotated = std::move(cts);
    const int max_iter = ctx->max_level() - 2;
    const int iterations = o.iterations > 0 ? o.iterations : std::min(16, max_iter);
    const SfhServer server(ctx, std::move(rk), std::move(gk));
    answer.push_back(server.train(enc, iterations));
    query.meta["iterations"] = iterations;
  }
  const double seconds = seconds_since(t0);
  query.meta["contents"] = "answer";
  Bytes b = serialize_metadata(query.meta.dump());
  append(b, serialize(ctx->params()));
  for (const auto& c : answer) append(b, serialize(c));
  write_file(out, b);
  return seconds;
}

DecryptResult workflow_decrypt(const WorkflowOptions& o, const std::string& keys_dir, const std::string& in) {
  check_model(o.model);
  Secret s = load_secret(keys_dir, o.model);
  Bundle ans = open_bundle(in, o.model);
  if (ans.meta.value("contents", "") != "answer")
    throw InputError("decrypt: " + in + " is not an answer of ckks-ml infer (its metadata says \"" +
                     ans.meta.value("contents", "") + "\")");
  if (fingerprint(*ans.ctx) != fingerprint(*s.bundle.ctx))
    throw InputError("decrypt: " + in + " was computed under other parameters than the keys in " + keys_dir);
  const ContextPtr ctx = s.bundle.ctx;
  DecryptResult r;
  r.model = o.model;
  std::vector<Ciphertext> cts;
  for (auto blob : ans.rest) cts.push_back(deserialize_ciphertext(ctx, blob));
  if (o.model == "mlp") {
    const MlpLatencyLayout layout(Mlp::load(o.weights));
    r.first_image = ans.meta.value("first_image", std::size_t{0});
    for (const auto& c : cts) {
      const auto logits = decode_latency_logits(layout, s.keys.encoder, s.keys.decryptor.decrypt(c));
      r.predictions.push_back(static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      r.logits.push_back(logits);
    }
  } else {
    if (cts.size() != 1) throw InputError("decrypt: a linreg answer holds one ciphertext, " + in + " holds " + std::to_string(cts.size()));
    const LinregData d = linreg_data(o);
    const std::size_t rows = ans.meta.value("rows", std::size_t{0}), features = ans.meta.value("features", std::size_t{0});
    const SfhLayout layout = SfhLayout::make(rows, features, ctx->max_slots());
    SfhDataOwner owner(ctx, std::move(s.keys));
    r.weights = owner.decrypt_weights(cts[0], layout, &r.constant);
    std::vector<double> pred = predict(d.A_test, r.weights);
    for (auto& p : pred) p = d.z.unscale_y(p);
    r.rmse = rmse(pred, d.y_test_raw);
    r.r2 = ckks::ml::r2(pred, d.y_test_raw);
  }
  return r;
}

}  // namespace ckks::ml

// See workflow.h.
#include "ml/workflow/workflow.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/errors.h"
#include "ckks/keygen.h"
#include "ckks/keys.h"
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

std::string file_digest(const std::string& path) { return key_id_string(content_digest(read_file(path))); }

// Fills the options the caller left unset from what keygen recorded in `meta` (of `file`), and
// refuses a contradiction, naming both values and the fix. Keys written before an option was
// recorded leave it as given.
void resolve(WorkflowOptions& o, const json& meta, const std::string& file, const std::string& step) {
  const std::string model = meta.value("model", "");
  if (o.model.empty()) o.model = model;
  else if (o.model != model)
    throw InputError(step + ": --model " + o.model + " contradicts " + file + ", made by keygen for the " + model +
                     " model; drop --model (the key files name it) or use the keys of a --model " + o.model + " keygen");
  check_model(o.model);
  // A file option: taken from the keys when unset; when given, its contents must be the recorded file's.
  auto file_option = [&](std::string& value, const char* key, const char* flag) {
    if (value.empty()) value = meta.value(key, "");
    if (value.empty()) throw InputError(step + ": " + file + " does not record " + key + "; pass " + flag);
    const std::string digest_key = std::string(key) + "_digest";
    if (!meta.contains(digest_key)) return;
    const std::string want = meta[digest_key].get<std::string>(), got = file_digest(value);
    if (got != want)
      throw InputError(step + ": " + flag + " " + value + " (digest " + got + ") is not the file the keys in " + file +
                       " were made for (" + meta.value(key, "") + ", digest " + want + "); pass that file, or run "
                       "keygen again with " + flag + " " + value);
  };
  if (o.model == "mlp") {
    file_option(o.weights, "weights", "--weights");
    return;
  }
  file_option(o.data, "data", "--data");
  const std::string target = meta.value("target", "");
  if (o.target.empty()) o.target = target;
  else if (!target.empty() && o.target != target)
    throw InputError(step + ": --target " + o.target + " contradicts " + file + ", made for --target " + target +
                     "; drop --target or run keygen again with it");
  if (meta.contains("seed")) {
    const auto seed = meta["seed"].get<std::uint64_t>();
    if (o.seed && *o.seed != seed)
      throw InputError(step + ": --seed " + std::to_string(*o.seed) + " contradicts " + file + ", made for --seed " +
                       std::to_string(seed) + " (another train/test split); drop --seed or run keygen again with it");
    o.seed = seed;
  }
  if (meta.contains("test_fraction")) {
    const double f = meta["test_fraction"].get<double>();
    if (o.test_fraction && *o.test_fraction != f)
      throw InputError(step + ": --test-fraction " + std::to_string(*o.test_fraction) + " contradicts " + file +
                       ", made for --test-fraction " + std::to_string(f) + "; drop --test-fraction or run keygen again with it");
    o.test_fraction = f;
  }
}

// The key set every ciphertext of `cts` (from `file`) must share with `keys` (named `keys_name`).
void check_key_set(const std::vector<Ciphertext>& cts, KeyId keys, const std::string& step, const std::string& file,
                   const std::string& keys_name, const std::string& fix) {
  for (std::size_t i = 0; i < cts.size(); ++i)
    if (cts[i].key_id != 0 && keys != 0 && cts[i].key_id != keys)
      throw KeyMismatchError(step + ": " + file + " (ciphertext " + std::to_string(i) + ") belongs to key set " +
                             key_id_string(cts[i].key_id) + ", but " + keys_name + " is key set " +
                             key_id_string(keys) + "; " + fix);
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
  const Split split = train_test_split(ds, o.test_fraction.value_or(0.2), o.seed.value_or(1));
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
  return {{"format", kFormat},
          {"model", "linreg"},
          {"data", o.data},
          {"data_digest", file_digest(o.data)},
          {"target", o.target},
          {"seed", o.seed.value_or(1)},
          {"test_fraction", o.test_fraction.value_or(0.2)},
          {"rows", rows},
          {"features", features}};
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
    meta = {{"format", kFormat},         {"model", "mlp"},
            {"weights", o.weights},        {"weights_digest", file_digest(o.weights)},
            {"input_size", layout.input_size()}, {"output_size", layout.output_size()},
            {"slots", layout.slots()}};
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
  meta["key_set"] = key_id_string(sk.key_id);
  rep.key_set = key_id_string(sk.key_id);

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

std::size_t workflow_encrypt(const WorkflowOptions& options, const std::string& keys_dir, const std::string& out,
                             std::size_t first, std::size_t count) {
  Secret s = load_secret(keys_dir, "");
  WorkflowOptions o = options;
  resolve(o, s.bundle.meta, keys_dir + "/secret.key", "encrypt");
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

double workflow_infer(const WorkflowOptions& options, const std::string& eval_keys, const std::string& in,
                      const std::string& out) {
  Bundle keys = open_bundle(eval_keys, "");
  WorkflowOptions o = options;
  resolve(o, keys.meta, eval_keys, "infer");
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
    throw ParameterError("infer: " + in + " was encrypted under other parameters (" + query.ctx->params().describe() +
                         ") than " + eval_keys + " (" + ctx->params().describe() +
                         "); encrypt the query with the keys of the same keygen");
  std::vector<Ciphertext> cts;
  for (auto blob : query.rest) cts.push_back(deserialize_ciphertext(ctx, blob));
  if (cts.empty()) throw InputError("infer: " + in + " holds no ciphertext");
  check_key_set(cts, rk.key.key_id, "infer", in, "the evaluation keys " + eval_keys,
                "encrypt the query with the keys of the directory whose public.keys you pass (its secret.key "
                "records the key set), or pass that directory's public.keys");

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

DecryptResult workflow_decrypt(const WorkflowOptions& options, const std::string& keys_dir, const std::string& in) {
  Secret s = load_secret(keys_dir, "");
  WorkflowOptions o = options;
  resolve(o, s.bundle.meta, keys_dir + "/secret.key", "decrypt");
  Bundle ans = open_bundle(in, o.model);
  if (ans.meta.value("contents", "") != "answer")
    throw InputError("decrypt: " + in + " is not an answer of ckks-ml infer (its metadata says \"" +
                     ans.meta.value("contents", "") + "\")");
  if (fingerprint(*ans.ctx) != fingerprint(*s.bundle.ctx))
    throw ParameterError("decrypt: " + in + " was computed under other parameters (" + ans.ctx->params().describe() +
                         ") than the keys in " + keys_dir + " (" + s.bundle.ctx->params().describe() +
                         "); decrypt with the key directory whose keygen made the query");
  const ContextPtr ctx = s.bundle.ctx;
  DecryptResult r;
  r.model = o.model;
  std::vector<Ciphertext> cts;
  for (auto blob : ans.rest) cts.push_back(deserialize_ciphertext(ctx, blob));
  check_key_set(cts, s.keys.sk.key_id, "decrypt", in, "the secret key in " + keys_dir,
                "decrypt with the key directory whose keygen made the query (the key set is in the answer's "
                "metadata and in that directory's secret.key)");
  if (o.model == "mlp") {
    const MlpLatencyLayout layout(Mlp::load(o.weights));
    r.first_image = ans.meta.value("first_image", std::size_t{0});
    for (const auto& c : cts) {
      const auto logits = decode_latency_logits(layout, s.keys.encoder, s.keys.decryptor.decrypt(c));
      r.predictions.push_back(static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      r.logits.push_back(logits);
      double largest = 0;
      for (double l : logits) largest = std::isfinite(l) ? std::max(largest, std::fabs(l)) : INFINITY;
      if (!(largest < 1e3))
        r.warnings.push_back("image " + std::to_string(r.first_image + r.logits.size() - 1) + ": largest |logit| is " +
                             std::to_string(largest) + " (a trained model's are below 30): the encrypted computation "
                             "lost its precision; its class is not to be trusted");
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
    if (!(std::fabs(r.constant - 1) <= 0.01))
      r.warnings.push_back("the decrypted constant coordinate is " + std::to_string(r.constant) +
                           ", not 1 (within 0.01): the training lost its precision; run infer with fewer --iterations "
                           "or keygen with a larger --params preset");
  }
  return r;
}

}  // namespace ckks::ml

#include "ml/resnet/resnet_job.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/data/image.h"
#include "ml/parallel.h"
#include "ml/timer.h"

namespace ckks::ml {

namespace {

int argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

/// Peak resident memory of this process so far, bytes (getrusage: ru_maxrss is in KiB on Linux).
double peak_memory_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

/// CPU seconds this process has used so far, all threads (getrusage: user + system).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/// Plaintext predictions of the first `count` images, on all hardware threads.
std::vector<int> plain_predictions(const ResNet& model, const ImageSet& test, std::size_t count) {
  std::vector<int> pred(count);
  parallel_for(count, [&](std::size_t i) { pred[i] = model.predict(test.images[i]); });
  return pred;
}

/// printf-style line to `log` (nothing if it is empty).
void say(const std::function<void(const std::string&)>& log, const char* format, ...) {
  if (!log) return;
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  log(buf);
}

/// The encrypted half: keys, then every image encrypted, evaluated by the server and decrypted.
void run_encrypted(const ResNet& model, const ImageSet& test, const std::vector<int>& plain_pred, double cache_gib,
                   double key_growth, bool pack_taps, std::size_t input_baby_steps, int min_level, ResNetReport& rep,
                   const std::function<void(const std::string&)>& log) {
  const std::size_t n_enc = rep.encrypted_images;
  const ResNetServer server(model, ResNetPacking(32, 32, std::size_t{1} << 15));
  const int levels = server.levels_needed();
  rep.key_growth = key_growth;
  rep.params = resnet_params(levels, key_growth);
  auto ctx = Context::create(rep.params);
  rep.dnum = ctx->dnum();
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  rep.pack_taps = pack_taps;
  rep.input_baby_steps = input_baby_steps;
  if (min_level < 0) min_level = 5 * static_cast<int>(ctx->num_special()) - 1;
  rep.input_baby_steps_min_level = min_level;
  // Each Galois key made for the highest level its rotations run at (KeyGenerator::galois_keys with
  // max_level): the keys of the late stages hold far fewer limbs and digits.
  const std::map<int, int> step_levels = server.rotation_levels(pack_taps, ctx->max_level(), input_baby_steps, min_level);
  std::map<int, std::vector<int>> steps_at;
  for (const auto& [s, l] : step_levels) steps_at[l].push_back(s);
  std::vector<int> steps;
  for (const auto& [s, l] : step_levels) steps.push_back(s);
  say(log, "[resnet] %s (log QP %.0f, %d-bit security); %d levels; %zu rotation keys; generating keys…\n",
      rep.params.describe().c_str(), ctx->log_qp(), ctx->security_bits(), levels, steps.size());
  auto t = Clock::now();
  ClientKeys client(ctx);
  const RelinKey rk = client.keygen.relin_key(client.sk);
  GaloisKeys gk{ctx, {}};
  for (const auto& [level, at] : steps_at) {
    GaloisKeys part = client.keygen.galois_keys(client.sk, at, false, level);
    gk.keys.merge(part.keys);
  }
  rep.seconds_keygen = seconds_since(t);
  rep.galois_bytes = galois_key_bytes(gk, ctx->n());
  rep.galois_bytes_whole_chain = static_cast<double>(gk.keys.size()) * key_bytes(rk.key, ctx->n());
  rep.relin_bytes = key_bytes(rk.key, ctx->n());
  rep.galois_keys = gk.keys.size();
  say(log, "[resnet] keys in %.1f s: relinearisation %.0f MiB, %zu Galois keys %.2f GiB (%.2f GiB for keys of the "
      "whole chain)\n", rep.seconds_keygen, rep.relin_bytes / (1 << 20), gk.keys.size(), rep.galois_bytes / (1 << 30),
      rep.galois_bytes_whole_chain / (1 << 30));
  // The server's view: Context, evaluation keys, model. No secret key.
  const Evaluator ev(ctx);
  const Encoder enc(ctx);
  ResNetEvalContext e{ctx, ev, enc, gk, rk, server.packing(), ctx->default_scale()};
  e.pack_taps = pack_taps;
  e.input_baby_steps = input_baby_steps;
  e.input_baby_steps_min_level = min_level;
  ResNetPlaintextCache cache;
  if (cache_gib > 0) {
    t = Clock::now();
    rep.cached_plaintexts =
        server.prepare_plaintexts(e, ctx->max_level(), ctx->default_scale(), cache_gib * (1 << 30), cache);
    rep.seconds_prepare = seconds_since(t);
    rep.cached_plaintext_bytes = cache.bytes();
    e.plaintexts = &cache;
    say(log, "[resnet] %zu weight plaintexts encoded ahead (%.2f GiB) in %.1f s\n", rep.cached_plaintexts,
        cache.bytes() / (1 << 30), rep.seconds_prepare);
  }

  std::size_t enc_correct = 0, agree = 0;
  for (std::size_t i = 0; i < n_enc; ++i) {
    t = Clock::now();
    const std::vector<Ciphertext> in = encrypt_packed(client.encoder, client.encryptor, server.pack_input(test.images[i]),
                                                      ctx->max_level(), ctx->default_scale());
    rep.seconds_encrypt += seconds_since(t);
    t = Clock::now();
    // Progress after every activation layer (the Observer sees only ciphertexts).
    const auto t_image = Clock::now();
    const double cpu0 = process_cpu_seconds();
    const Ciphertext out = server.infer(e, in, &rep.timings, [&](const std::string& name, const PackedFeatureMap& m) {
      say(log, "[resnet] image %zu/%zu: %-11s level %2d  %6.1f s\n", i + 1, n_enc, name.c_str(), m.cts.front().level,
          seconds_since(t_image));
    });
    const double si = seconds_since(t);
    rep.seconds_infer += si;
    rep.cpu_seconds_infer += process_cpu_seconds() - cpu0;
    rep.levels_used = in.front().level - out.level;
    t = Clock::now();
    const std::vector<double> logits = server.unpack_logits(client.encoder.decode(client.decryptor.decrypt(out)));
    rep.seconds_decrypt += seconds_since(t);
    const std::vector<double> want = model.forward(test.images[i]);
    for (std::size_t k = 0; k < want.size(); ++k) {
      rep.max_logit_error = std::max(rep.max_logit_error, std::fabs(logits[k] - want[k]));
      rep.max_abs_logit = std::max(rep.max_abs_logit, std::fabs(want[k]));
    }
    const int pred = argmax(logits);
    enc_correct += pred == test.labels[i];
    agree += pred == plain_pred[i];
    say(log, "[resnet] image %zu/%zu: %.1f s, predicted %d (plaintext %d, label %d)\n", i + 1, n_enc, si, pred,
        plain_pred[i], test.labels[i]);
  }
  rep.cache_hits = cache.hits();
  const double nd = static_cast<double>(n_enc);
  rep.encrypted_accuracy = enc_correct / nd;
  rep.agreement = agree / nd;
}

/// "a/b/c" of a width list.
std::string join_widths(const std::vector<std::size_t>& w) {
  std::string r;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i > 0) r += '/';
    r += std::to_string(w[i]);
  }
  return r;
}

}  // namespace

std::vector<std::size_t> resnet_widths(const std::string& width) {
  if (width == "standard") return {16, 32, 64};
  if (width == "wide") return {64, 128, 256};
  throw InputError("resnet: --width \"" + width + "\" is not a width; give standard (16/32/64 channels) or wide "
                   "(64/128/256, --depth 20 only)");
}

ResNetReport run_resnet_job(const ResNetJobOptions& o, const std::function<void(const std::string&)>& log) {
  if (o.depth != 8 && o.depth != 20) throw InputError("resnet: --depth " + std::to_string(o.depth) + " is not 8 or 20");
  if (!(o.key_growth >= 1.0))
    throw InputError("resnet: --key-growth " + std::to_string(o.key_growth) +
                     " is below 1; give 1 for the smallest keys or more (default 2) for cheaper rotations");
  if (o.input_baby_steps > 0 && o.plaintext_cache_gib > 0)
    throw InputError("resnet: --input-baby-steps " + std::to_string(o.input_baby_steps) + " with --plaintext-cache " +
                     std::to_string(o.plaintext_cache_gib) + ": the convolutions that hoist their block rotations on "
                     "the input encode their own plaintexts and never read the cache; give --plaintext-cache 0 or "
                     "--input-baby-steps 0");
  const std::vector<std::size_t> want_widths = o.width.empty() ? std::vector<std::size_t>{} : resnet_widths(o.width);
  if (o.width == "wide" && o.depth != 20)
    throw InputError("resnet: --width wide is the wide ResNet-20; give it with --depth 20 (not " +
                     std::to_string(o.depth) + "), or --width standard for ResNet-8");
  const auto t_total = Clock::now();
  const ResNet model = ResNet::load(o.model);
  if (static_cast<int>(model.depth()) != o.depth)
    throw InputError("resnet: " + o.model + " is a ResNet-" + std::to_string(model.depth()) + " but --depth is " +
                     std::to_string(o.depth));
  std::vector<std::size_t> widths;
  for (const auto& stage : model.stages) widths.push_back(stage.front().conv1.out_channels);
  if (!want_widths.empty() && widths != want_widths)
    throw InputError("resnet: " + o.model + " has stage widths " + join_widths(widths) + " but --width " + o.width +
                     " means " + join_widths(want_widths) + "; give the --width of the model or another --model");
  const ImageSet test = pad_fashion_mnist_to_32(load_fashion_mnist(o.data, false));
  ResNetReport rep;
  rep.depth = o.depth;
  rep.widths = widths;
  rep.plain_images = std::min(o.plain_images, test.images.size());
  rep.encrypted_images = std::min(o.images, test.images.size());
  const std::size_t n_plain = rep.plain_images;
  if (n_plain == 0 && rep.encrypted_images == 0)
    throw InputError("resnet: --plain-images 0 and --images 0 leave nothing to do");

  // Plaintext accuracy (and the predictions the encrypted ones are compared with).
  const auto t = Clock::now();
  const std::size_t n_pred = std::max(n_plain, rep.encrypted_images);
  say(log, "[resnet] ResNet-%d (stage widths %s): plaintext forward pass on %zu test images…\n", o.depth,
      join_widths(widths).c_str(), n_pred);
  const std::vector<int> plain_pred = plain_predictions(model, test, n_pred);
  std::size_t plain_correct = 0;
  for (std::size_t i = 0; i < n_plain; ++i) plain_correct += plain_pred[i] == test.labels[i];
  rep.plain_accuracy = n_plain ? static_cast<double>(plain_correct) / n_plain : 0.0;
  rep.seconds_plain = seconds_since(t);
  say(log, "[resnet] plaintext accuracy %.4f on %zu images (%.1f s)\n", rep.plain_accuracy, n_plain, rep.seconds_plain);

  if (rep.encrypted_images > 0) run_encrypted(model, test, plain_pred, o.plaintext_cache_gib, o.key_growth, o.pack_taps,
                                            o.input_baby_steps, o.input_baby_steps_min_level, rep, log);
  rep.peak_memory_bytes = peak_memory_bytes();
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

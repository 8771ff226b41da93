// The `ckks-ml unet` job (ml/unet/unet_job.h): scenes, plaintext masks and scores, keys, the encrypted scenes.
#include "ml/unet/unet_job.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/client_keys.h"
#include "ml/parallel.h"
#include "ml/timer.h"

namespace ckks::ml {
namespace {

using Log = std::function<void(const std::string&)>;

void note(const Log& log, const std::string& line) {
  if (log) log(line + "\n");
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// getrusage of this process: peak resident bytes (ru_maxrss is KiB on Linux) and CPU seconds.
rusage usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u;
}
double cpu_seconds() {
  const rusage u = usage();
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/// The encrypted half: keys, then each scene encrypted, evaluated by the server, decrypted.
void run_encrypted(const UNet& net, const std::vector<Scene>& scenes, const std::vector<std::vector<int>>& plain,
                   UNetReport& rep, const Log& log) {
  const UNetServer server(net, ResNetPacking(kSceneSize, kSceneSize, std::size_t{1} << 15));
  rep.plan = server.level_plan();
  rep.levels_needed = server.levels_needed();
  note(log, "[unet] level plan (" + std::to_string(rep.levels_needed) + " levels, counted before running):");
  for (const auto& s : rep.plan) note(log, "[unet]   " + s.layer + ": " + std::to_string(s.levels) + "  " + s.how);
  rep.params = resnet_params(rep.levels_needed);
  auto ctx = Context::create(rep.params);
  rep.dnum = ctx->dnum();
  rep.log_qp = ctx->log_qp();
  rep.security_bits = ctx->security_bits();
  const std::vector<int> steps = server.rotation_steps();
  note(log, "[unet] " + rep.params.describe() + " (log QP " + fmt("%.0f", ctx->log_qp()) + ", " +
                std::to_string(ctx->security_bits()) + "-bit security); " + std::to_string(steps.size()) +
                " rotation keys; generating keys…");
  auto t = Clock::now();
  ClientKeys client(ctx);
  const RelinKey rk = client.keygen.relin_key(client.sk);
  const GaloisKeys gk = client.keygen.galois_keys(client.sk, steps);
  rep.seconds_keygen = seconds_since(t);
  rep.galois_keys = gk.keys.size();
  rep.relin_bytes = key_bytes(rk.key, ctx->n());
  rep.galois_bytes = galois_key_bytes(gk, ctx->n());
  note(log, "[unet] keys in " + fmt("%.1f s", rep.seconds_keygen) + ": relinearisation " +
                fmt("%.0f MiB", rep.relin_bytes / (1 << 20)) + ", " + std::to_string(rep.galois_keys) +
                " Galois keys " + fmt("%.2f GiB", rep.galois_bytes / (1 << 30)));
  // The server's view: Context, evaluation keys, model. No secret key.
  const Evaluator ev(ctx);
  const Encoder enc(ctx);
  const ResNetEvalContext e{ctx, ev, enc, gk, rk, server.packing(), ctx->default_scale()};
  SegmentationScore enc_score(net.num_classes()), plain_score(net.num_classes());
  std::size_t agree = 0, pixels = 0;
  const std::size_t n = rep.encrypted_images;
  for (std::size_t i = 0; i < n; ++i) {
    const Scene& s = scenes[i];
    t = Clock::now();
    const auto in = encrypt_packed(client.encoder, client.encryptor, server.pack_input(s.image), ctx->max_level(),
                                   ctx->default_scale());
    rep.seconds_encrypt += seconds_since(t);
    t = Clock::now();
    const double cpu0 = cpu_seconds();
    const PackedFeatureMap out = server.infer(e, in, &rep.timings, [&](const std::string& name, const PackedFeatureMap& m) {
      note(log, "[unet] scene " + std::to_string(i + 1) + "/" + std::to_string(n) + ": " + name + " level " +
                    std::to_string(m.cts.front().level) + fmt("  %.1f s", seconds_since(t)));
    });
    const double si = seconds_since(t);
    rep.seconds_infer += si;
    rep.cpu_seconds_infer += cpu_seconds() - cpu0;
    rep.levels_used = in.front().level - out.cts.front().level;
    t = Clock::now();
    std::vector<std::vector<double>> slots;
    for (const auto& ct : out.cts) slots.push_back(client.encoder.decode(client.decryptor.decrypt(ct)));
    const FeatureMap logits = server.unpack_logits(slots);
    rep.seconds_decrypt += seconds_since(t);
    const FeatureMap want = net.forward(FeatureMap::from_values(s.image, 1, kSceneSize, kSceneSize));
    for (std::size_t k = 0; k < want.data.size(); ++k) {
      rep.max_logit_error = std::max(rep.max_logit_error, std::fabs(logits.data[k] - want.data[k]));
      rep.max_abs_logit = std::max(rep.max_abs_logit, std::fabs(want.data[k]));
    }
    UNetSceneResult r{s, plain[i], argmax_channels(logits), si};
    std::size_t same = 0;
    for (std::size_t p = 0; p < r.plain_mask.size(); ++p) same += r.plain_mask[p] == r.encrypted_mask[p];
    agree += same;
    pixels += r.plain_mask.size();
    enc_score.add(r.encrypted_mask, s.labels);
    plain_score.add(r.plain_mask, s.labels);
    note(log, "[unet] scene " + std::to_string(i + 1) + "/" + std::to_string(n) + fmt(": %.1f s, ", si) +
                  std::to_string(same) + " of " + std::to_string(r.plain_mask.size()) +
                  " pixels as the plaintext mask");
    rep.scenes.push_back(std::move(r));
  }
  rep.agreement = static_cast<double>(agree) / static_cast<double>(pixels);
  rep.encrypted_mean_iou = enc_score.mean_iou();
  rep.encrypted_pixel_accuracy = enc_score.pixel_accuracy();
  rep.plain_k_mean_iou = plain_score.mean_iou();
  rep.plain_k_pixel_accuracy = plain_score.pixel_accuracy();
}

}  // namespace

UNetReport run_unet_job(const UNetJobOptions& o, const Log& log) {
  if (o.images == 0 && o.plain_images == 0)
    throw InputError("unet: --images 0 and --plain-images 0 leave nothing to do");
  if (o.images > kUNetTestScenes || o.plain_images > kUNetTestScenes)
    throw InputError("unet: --images " + std::to_string(o.images) + " and --plain-images " +
                     std::to_string(o.plain_images) + " must be at most the " + std::to_string(kUNetTestScenes) +
                     " test scenes");
  const auto t_total = Clock::now();
  const UNet net = UNet::load(o.model);
  if (net.num_classes() != kSceneClasses)
    throw InputError("unet: the --model " + o.model + " has " + std::to_string(net.num_classes()) +
                     " labels but the scenes have " + std::to_string(kSceneClasses) +
                     " (ml/unet/scenes.h); give a U-Net trained on these scenes (scripts/train_unet.py)");
  const SceneSource source = scene_source(load_fashion_mnist(o.data, false));
  UNetReport rep;
  rep.plain_images = o.plain_images;
  rep.encrypted_images = o.images;
  const std::size_t count = std::max(o.images, o.plain_images);
  note(log, "[unet] building " + std::to_string(count) + " test scenes and their plaintext masks…");
  auto t = Clock::now();
  const std::vector<Scene> scenes = make_scenes(source, SceneSplit::test, count);
  std::vector<std::vector<int>> masks(count);
  parallel_for(count, [&](std::size_t i) { masks[i] = net.predict(scenes[i].image); });
  if (o.plain_images > 0) {
    SegmentationScore score(net.num_classes());
    for (std::size_t i = 0; i < o.plain_images; ++i) score.add(masks[i], scenes[i].labels);
    rep.plain_mean_iou = score.mean_iou();
    rep.plain_pixel_accuracy = score.pixel_accuracy();
  }
  rep.seconds_plain = seconds_since(t);
  note(log, "[unet] plaintext on " + std::to_string(o.plain_images) + " test scenes: mean IoU " +
                fmt("%.4f", rep.plain_mean_iou) + ", pixel accuracy " + fmt("%.4f", rep.plain_pixel_accuracy) +
                fmt(" (%.1f s)", rep.seconds_plain));
  if (o.images > 0) run_encrypted(net, scenes, masks, rep, log);
  rep.peak_memory_bytes = static_cast<double>(usage().ru_maxrss) * 1024.0;
  rep.seconds_total = seconds_since(t_total);
  return rep;
}

}  // namespace ckks::ml

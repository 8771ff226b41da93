// Encrypted U-Net: mean pooling, transposed convolution, concatenation + convolution on the
// ResNet's packed maps, and the network walk. Formulas and sources: ml/unet/unet_encrypted.h.
#include "ml/unet/unet_encrypted.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <ctime>
#include <set>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/timer.h"

namespace ckks::ml {
namespace {

std::string str(std::size_t v) { return std::to_string(v); }

void require_ciphertexts(const ResNetPacking& pk, const PackedFeatureMap& m, const std::string& op) {
  if (m.cts.empty()) throw InputError(op + ": the map has no ciphertexts");
  const std::size_t want = pk.ciphertexts(m.channels);
  if (m.cts.size() != want)
    throw InputError(op + ": the map has " + str(m.cts.size()) + " ciphertexts, its " + str(m.channels) +
                     " channels need " + str(want));
  for (const auto& c : m.cts)
    if (c.level != m.cts.front().level)
      throw InputError(op + ": the map's ciphertexts must share one level (" + std::to_string(c.level) + " vs " +
                       std::to_string(m.cts.front().level) + ")");
}

void add_cost(ResNetCost* cost, int rotations, int products, int levels) {
  if (!cost) return;
  cost->rotations += rotations;
  cost->plaintext_products += products;
  cost->levels += levels;
}

/// Shape checks of conv_transpose_packed; returns the output gap.
std::size_t transpose_geometry(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap,
                               const ConvTranspose2d& t) {
  const std::string where = "conv_transpose_packed: ";
  if (t.kernel != 2 || t.stride != 2)
    throw InputError(where + "kernel " + str(t.kernel) + " and stride " + str(t.stride) +
                     ": only kernel = stride = 2 (the up-sampling of the U-Net) is packed");
  if (in_channels != t.in_channels)
    throw InputError(where + "the map has " + str(in_channels) + " channels but the layer expects " +
                     str(t.in_channels));
  if (t.weight.size() != t.in_channels * t.out_channels * 4 || t.bias.size() != t.out_channels)
    throw InputError(where + "the layer has " + str(t.weight.size()) + " weights and " + str(t.bias.size()) +
                     " biases; [in, out, 2, 2] = [" + str(t.in_channels) + ", " + str(t.out_channels) +
                     ", 2, 2] needs " + str(t.in_channels * t.out_channels * 4) + " and " + str(t.out_channels));
  if (in_gap < 2 || in_gap % 2 != 0 || pk.height() % in_gap != 0 || pk.width() % in_gap != 0)
    throw InputError(where + "the input gap " + str(in_gap) + " must be even and divide the " + str(pk.height()) +
                     "×" + str(pk.width()) + " grid: a map at gap 1 has no room to be up-sampled");
  pk.ciphertexts(t.in_channels);
  pk.ciphertexts(t.out_channels);
  return in_gap / 2;
}

/// The 1 × 1 convolution T_t of tap (ky, kx): weight[o][i] = w[i][o][ky][kx], bias only for tap 0.
Conv2d tap_conv(const ConvTranspose2d& t, std::size_t ky, std::size_t kx) {
  Conv2d c;
  c.out_channels = t.out_channels;
  c.in_channels = t.in_channels;
  c.kernel = 1;
  c.stride = 1;
  c.padding = 0;
  c.weight.resize(t.out_channels * t.in_channels);
  for (std::size_t o = 0; o < t.out_channels; ++o)
    for (std::size_t i = 0; i < t.in_channels; ++i)
      c.weight[o * t.in_channels + i] = t.weight[((i * t.out_channels + o) * 2 + ky) * 2 + kx];
  c.bias.assign(t.out_channels, 0.0);
  if (ky == 0 && kx == 0) c.bias = t.bias;
  return c;
}

/// The four taps' shifted copies read as ONE map of 4·C_in channels when C_in is a multiple of the
/// blocks per ciphertext nb: ciphertext k of copy t then holds channels t·C_in + k·nb + β, the
/// ResNetPacking layout of a 4·C_in-channel map, and a single 1 × 1 convolution (wide_tap_conv) sums
/// all four taps on one set of nb − 1 block rotations.
bool wide_taps(const ResNetPacking& pk, std::size_t in_channels) { return in_channels % pk.blocks() == 0; }

/// The 1 × 1 convolution of the 4·C_in-channel map: weight[o][t·C_in + i] = w[i][o][ky][kx] for tap
/// t = 2·ky + kx, the layer's bias.
Conv2d wide_tap_conv(const ConvTranspose2d& t) {
  Conv2d c;
  c.out_channels = t.out_channels;
  c.in_channels = 4 * t.in_channels;
  c.kernel = 1;
  c.stride = 1;
  c.padding = 0;
  c.weight.resize(t.out_channels * c.in_channels);
  for (std::size_t o = 0; o < t.out_channels; ++o)
    for (std::size_t tap = 0; tap < 4; ++tap)
      for (std::size_t i = 0; i < t.in_channels; ++i)
        c.weight[o * c.in_channels + tap * t.in_channels + i] = t.weight[(i * t.out_channels + o) * 4 + tap];
  c.bias = t.bias;
  return c;
}

/// Tap t's shift (right) in slots: (gap/2)·(ky·W + kx).
int tap_shift(const ResNetPacking& pk, std::size_t out_gap, std::size_t ky, std::size_t kx) {
  return static_cast<int>(out_gap * (ky * pk.width() + kx));
}

/// The input channels [first, first + count) of conv as a convolution of its own; bias kept or zeroed.
Conv2d input_slice(const Conv2d& conv, std::size_t first, std::size_t count, bool keep_bias) {
  Conv2d c = conv;
  const std::size_t kk = conv.kernel * conv.kernel;
  c.in_channels = count;
  c.weight.assign(conv.out_channels * count * kk, 0.0);
  for (std::size_t o = 0; o < conv.out_channels; ++o)
    for (std::size_t i = 0; i < count; ++i)
      for (std::size_t k = 0; k < kk; ++k)
        c.weight[(o * count + i) * kk + k] = conv.weight[(o * conv.in_channels + first + i) * kk + k];
  if (!keep_bias) c.bias.assign(conv.out_channels, 0.0);
  return c;
}

void concat_shapes(std::size_t a_channels, std::size_t b_channels, std::size_t a_gap, std::size_t b_gap,
                   const Conv2d& conv) {
  if (a_gap != b_gap)
    throw InputError("concat_conv_packed: the maps are at gaps " + str(a_gap) + " and " + str(b_gap) +
                     "; a skip connection must meet an up-sampled map of its own size (same gap)");
  if (conv.in_channels != a_channels + b_channels)
    throw InputError("concat_conv_packed: the convolution reads " + str(conv.in_channels) + " channels but [a, b] has " +
                     str(a_channels) + " + " + str(b_channels) + " = " + str(a_channels + b_channels));
}

}  // namespace

// ------------------------------------------------------------------------------------ pooling
std::vector<int> mean_pool_rotation_steps(const ResNetPacking& pk, std::size_t gap, std::size_t window) {
  if (window < 2 || !std::has_single_bit(window) || gap == 0 || pk.height() % (gap * window) != 0 ||
      pk.width() % (gap * window) != 0)
    throw InputError("mean_pool_packed: a window of " + str(window) + " at gap " + str(gap) + " on a " +
                     str(pk.height()) + "×" + str(pk.width()) + " grid: the window must be a power of two ≥ 2 and " +
                     "gap·window must divide the grid (the pooled map sits at gap " + str(gap * window) + ")");
  std::set<int> steps;
  for (int s : sum_slots_steps(window, gap)) steps.insert(s);
  for (int s : sum_slots_steps(window, gap * pk.width())) steps.insert(s);
  return {steps.begin(), steps.end()};
}

PackedFeatureMap mean_pool_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, std::size_t window,
                                  ResNetCost* cost) {
  mean_pool_rotation_steps(e.packing, in.gap, window);
  require_ciphertexts(e.packing, in, "mean_pool_packed");
  PackedFeatureMap out;
  out.channels = in.channels;
  out.gap = in.gap * window;
  out.sign = in.sign / static_cast<double>(window * window);
  out.offset = in.offset;
  TransformCost tc;
  for (const auto& ct : in.cts) {
    const Ciphertext rows = sum_slots(e.ev, ct, e.gk, window, in.gap, &tc);
    out.cts.push_back(sum_slots(e.ev, rows, e.gk, window, in.gap * e.packing.width(), &tc));
  }
  add_cost(cost, tc.rotations, 0, 0);
  return out;
}

// ------------------------------------------------------------------------ transposed convolution
std::vector<int> conv_transpose_rotation_steps(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap,
                                               const ConvTranspose2d& t) {
  const std::size_t out_gap = transpose_geometry(pk, in_channels, in_gap, t);
  std::set<int> steps;
  for (std::size_t ky = 0; ky < 2; ++ky)
    for (std::size_t kx = 0; kx < 2; ++kx)
      if (ky + kx > 0) steps.insert(-tap_shift(pk, out_gap, ky, kx));
  const std::vector<int> block_steps = wide_taps(pk, in_channels)
                                          ? conv_rotation_steps(pk, 4 * in_channels, out_gap, wide_tap_conv(t))
                                          : conv_rotation_steps(pk, in_channels, out_gap, tap_conv(t, 0, 0));
  steps.insert(block_steps.begin(), block_steps.end());
  steps.erase(0);
  return {steps.begin(), steps.end()};
}

PackedFeatureMap conv_transpose_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const ConvTranspose2d& t,
                                       ResNetCost* cost) {
  const ResNetPacking& pk = e.packing;
  const std::size_t out_gap = transpose_geometry(pk, in.channels, in.gap, t);
  require_ciphertexts(pk, in, "conv_transpose_packed");
  if (in.cts.front().level < 1)
    throw LevelError("conv_transpose_packed: the map is at level 0, nothing left to rescale by; the network needs "
                     "more levels (UNetServer::levels_needed, resnet_params)");
  if (in.sign == 0 || !std::isfinite(in.sign) || !std::isfinite(in.offset))
    throw InputError("conv_transpose_packed: the map's lazy sign " + std::to_string(in.sign) + " and offset " +
                     std::to_string(in.offset) + " must be finite, the sign nonzero");
  // Step 1: κ made explicit at the valid input positions (κ/σ per slot, the value is σ·slot).
  std::vector<Ciphertext> x = in.cts;
  if (in.offset != 0) {
    std::vector<double> d(pk.slots(), 0.0);
    for (std::size_t beta = 0; beta < pk.blocks(); ++beta)
      for (std::size_t y = 0; y < pk.height(); y += in.gap)
        for (std::size_t xx = 0; xx < pk.width(); xx += in.gap) d[beta * pk.block() + y * pk.width() + xx] = in.offset / in.sign;
    for (auto& ct : x) ct = e.ev.add(ct, e.enc.encode(d, ct.level, ct.scale));
  }
  // Step 2: every input ciphertext shifted to the four taps' output positions (one hoisted decomposition).
  const std::vector<std::pair<std::size_t, std::size_t>> taps = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  std::vector<int> shifts;
  for (const auto& [ky, kx] : taps) shifts.push_back(-tap_shift(pk, out_gap, ky, kx));
  std::vector<PackedFeatureMap> y(taps.size());
  for (auto& m : y) m = PackedFeatureMap{{}, in.channels, out_gap, in.sign, 0.0};
  int rotations = 0;
  for (const auto& ct : x) {
    std::vector<Ciphertext> r = e.ev.rotate_hoisted(ct, shifts, e.gk);
    for (std::size_t k = 0; k < taps.size(); ++k) y[k].cts.push_back(std::move(r[k]));
    rotations += static_cast<int>(taps.size()) - 1;
  }
  // Step 3: Σ_t T_t(y_t): one pass over the 4·C_in-channel map when C_in fills whole ciphertexts,
  // else two taps per channel-rotation pass.
  ResNetCost inner;
  if (wide_taps(pk, in.channels)) {
    PackedFeatureMap all{{}, 4 * in.channels, out_gap, in.sign, 0.0};
    for (auto& m : y)
      for (auto& ct : m.cts) all.cts.push_back(std::move(ct));
    PackedFeatureMap out = conv_packed(e, all, wide_tap_conv(t), 1.0, 0.0, &inner);
    add_cost(cost, rotations + inner.rotations, inner.plaintext_products, 1);
    return out;
  }
  std::vector<Conv2d> tc;
  for (const auto& [ky, kx] : taps) tc.push_back(tap_conv(t, ky, kx));
  const PackedFeatureMap first = conv_projection_packed(e, y[0], tc[0], y[1], tc[1], 1.0, 0.0, &inner);
  const PackedFeatureMap second = conv_projection_packed(e, y[2], tc[2], y[3], tc[3], 1.0, 0.0, &inner);
  add_cost(cost, rotations + inner.rotations, inner.plaintext_products, 1);
  return add_packed(e, first, second);
}

// ------------------------------------------------------------------ concatenation + convolution
std::vector<int> concat_conv_rotation_steps(const ResNetPacking& pk, std::size_t a_channels, std::size_t b_channels,
                                            std::size_t gap, const Conv2d& conv) {
  concat_shapes(a_channels, b_channels, gap, gap, conv);
  std::set<int> steps;
  for (int s : conv_rotation_steps(pk, a_channels, gap, input_slice(conv, 0, a_channels, true))) steps.insert(s);
  for (int s : conv_rotation_steps(pk, b_channels, gap, input_slice(conv, a_channels, b_channels, false)))
    steps.insert(s);
  return {steps.begin(), steps.end()};
}

PackedFeatureMap concat_conv_packed(const ResNetEvalContext& e, const PackedFeatureMap& a, const PackedFeatureMap& b,
                                    const Conv2d& conv, double mult, double shift, ResNetCost* cost) {
  concat_shapes(a.channels, b.channels, a.gap, b.gap, conv);
  require_ciphertexts(e.packing, a, "concat_conv_packed");
  require_ciphertexts(e.packing, b, "concat_conv_packed");
  const Conv2d ca = input_slice(conv, 0, a.channels, true);
  const Conv2d cb = input_slice(conv, a.channels, b.channels, false);
  // The lower branch leads: conv_projection_packed drops the other one to its level.
  const bool a_leads = a.cts.front().level <= b.cts.front().level;
  const PackedFeatureMap& lo = a_leads ? a : b;
  const PackedFeatureMap& hi = a_leads ? b : a;
  const Conv2d& clo = a_leads ? ca : cb;
  const Conv2d& chi = a_leads ? cb : ca;
  if (can_fuse_projection(e.packing, lo.channels, lo.gap, clo, hi.channels, hi.gap, chi))
    return conv_projection_packed(e, lo, clo, hi, chi, mult, shift, cost);
  // More channel rotations on the higher branch: two passes, added at the lower level (both on Δ).
  ResNetCost second;
  const PackedFeatureMap main = conv_packed(e, lo, clo, mult, shift, cost);
  const PackedFeatureMap other = conv_packed(e, hi, chi, mult, 0.0, &second);
  add_cost(cost, second.rotations, second.plaintext_products, 0);
  return add_packed(e, main, other);
}

// ------------------------------------------------------------------------------------ server
UNetServer::UNetServer(UNet model, ResNetPacking packing) : model_(std::move(model)), packing_(packing) {
  if (model_.num_classes() == 0) throw InputError("UNetServer: the model is empty (load one with UNet::load)");
  if (packing_.height() % 4 != 0 || packing_.width() % 4 != 0)
    throw InputError("UNetServer: the " + str(packing_.height()) + "×" + str(packing_.width()) +
                     " grid must have a height and width divisible by 4 (two 2×2 poolings)");
  for (const auto& [name, ca] : {std::pair{"enc1", &model_.enc1}, std::pair{"enc2", &model_.enc2},
                                 std::pair{"mid", &model_.mid}, std::pair{"dec2", &model_.dec2},
                                 std::pair{"dec1", &model_.dec1}})
    fold_activation(ca->act, std::string(name) + ".act");
  head_ = model_.head;
  const std::size_t padded = std::bit_ceil(head_.out_channels);
  head_.out_channels = padded;
  head_.weight.resize(padded * head_.in_channels, 0.0);
  head_.bias.resize(padded, 0.0);
  rotation_steps();  // every shape check, before any key exists
}

std::vector<UNetLevelStep> UNetServer::level_plan() const {
  const std::string act = "conv_packed + square_packed (activation folded into the convolution)";
  return {{"enc1", 2, act + ", gap 1"},
          {"pool1", 0, "2×2 sum by rotate-and-add, gap 1 → 2, ¼ into the lazy sign"},
          {"enc2", 2, act + ", gap 2"},
          {"pool2", 0, "as pool1, gap 2 → 4"},
          {"mid", 2, act + ", gap 4"},
          {"up2", 1, "transposed convolution: 4 tap shifts + 1×1 products, gap 4 → 2"},
          {"cat2+dec2", 2, "[up2, enc2] convolved in one pass (enc2 dropped to up2's level) + square"},
          {"up1", 1, "as up2, gap 2 → 1"},
          {"cat1+dec1", 2, "[up1, enc1] as cat2 + square"},
          {"head", 1, "1×1 convolution, " + str(model_.num_classes()) + " labels padded to " + str(head_.out_channels)}};
}

int UNetServer::levels_needed() const {
  int n = 0;
  for (const auto& s : level_plan()) n += s.levels;
  return n;
}

std::vector<int> UNetServer::rotation_steps() const {
  const UNet& m = model_;
  const ResNetPacking& pk = packing_;
  const std::size_t c1 = m.enc1.conv.out_channels, c2 = m.enc2.conv.out_channels, c3 = m.mid.conv.out_channels;
  std::set<int> steps;
  auto add = [&](const std::vector<int>& v) { steps.insert(v.begin(), v.end()); };
  add(conv_rotation_steps(pk, 1, 1, m.enc1.conv));
  add(mean_pool_rotation_steps(pk, 1, 2));
  add(conv_rotation_steps(pk, c1, 2, m.enc2.conv));
  add(mean_pool_rotation_steps(pk, 2, 2));
  add(conv_rotation_steps(pk, c2, 4, m.mid.conv));
  add(conv_transpose_rotation_steps(pk, c3, 4, m.up2));
  add(concat_conv_rotation_steps(pk, m.up2.out_channels, c2, 2, m.dec2.conv));
  add(conv_transpose_rotation_steps(pk, m.dec2.conv.out_channels, 2, m.up1));
  add(concat_conv_rotation_steps(pk, m.up1.out_channels, c1, 1, m.dec1.conv));
  add(conv_rotation_steps(pk, m.dec1.conv.out_channels, 1, head_));
  steps.erase(0);
  return {steps.begin(), steps.end()};
}

std::vector<std::vector<double>> UNetServer::pack_input(const std::vector<float>& image) const {
  const std::size_t h = packing_.height(), w = packing_.width();
  if (image.size() != h * w)
    throw InputError("UNetServer::pack_input: the image has " + str(image.size()) + " values, expected " + str(h) +
                     "×" + str(w) + " = " + str(h * w) + " (one grey-scale scene, ml/unet/scenes.h)");
  return packing_.pack(FeatureMap::from_values(image, 1, h, w), 1);
}

FeatureMap UNetServer::unpack_logits(const std::vector<std::vector<double>>& slots) const {
  const FeatureMap all = packing_.unpack(slots, head_.out_channels, 1);
  FeatureMap out(model_.num_classes(), all.height, all.width);
  std::copy(all.data.begin(), all.data.begin() + static_cast<std::ptrdiff_t>(out.data.size()), out.data.begin());
  return out;
}

PackedFeatureMap UNetServer::infer(const ResNetEvalContext& e, const std::vector<Ciphertext>& input,
                                   ResNetTimings* timings, const Observer& observe) const {
  if (input.size() != 1)
    throw InputError("UNetServer::infer: " + str(input.size()) + " input ciphertexts, expected 1 (pack_input)");
  if (input.front().level < levels_needed())
    throw LevelError("UNetServer::infer: the input is at level " + std::to_string(input.front().level) +
                     " but the U-Net needs " + std::to_string(levels_needed()) +
                     " levels; encrypt at a higher level or use a longer chain (resnet_params(" +
                     std::to_string(levels_needed()) + "))");
  std::string missing;
  for (int s : rotation_steps())
    if (!e.gk.has(e.ctx->galois_element(s))) missing += (missing.empty() ? "" : ", ") + std::to_string(s);
  if (!missing.empty())
    throw MissingKeyError("UNetServer::infer: no Galois key for rotation steps " + missing +
                          "; generate the keys for UNetServer::rotation_steps()");
  ResNetTimings local;
  ResNetTimings& tm = timings ? *timings : local;
  const auto timed = [&](const char* kind, const std::string& name, auto&& f) {
    const auto t0 = Clock::now();
    const std::clock_t c0 = std::clock();
    PackedFeatureMap r = f(&tm.cost[kind]);
    tm.seconds[kind] += seconds_since(t0);
    tm.cpu_seconds[kind] += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (!name.empty() && observe) observe(name, r);
    return r;
  };
  const auto conv_act = [&](const std::string& name, const PackedFeatureMap& x, const UNet::ConvAct& ca) {
    const FoldedActivation f = fold_activation(ca.act, name + ".act");
    const PackedFeatureMap z =
        timed("conv", "", [&](ResNetCost* c) { return conv_packed(e, x, ca.conv, f.mult, f.shift, c); });
    return timed("activation", name + ".act", [&](ResNetCost* c) { return square_packed(e, z, f, c); });
  };
  const auto cat_conv_act = [&](const std::string& name, const PackedFeatureMap& up, const PackedFeatureMap& skip,
                                const UNet::ConvAct& ca) {
    const FoldedActivation f = fold_activation(ca.act, name + ".act");
    const PackedFeatureMap z = timed("concat_conv", "", [&](ResNetCost* c) {
      return concat_conv_packed(e, up, skip, ca.conv, f.mult, f.shift, c);
    });
    return timed("activation", name + ".act", [&](ResNetCost* c) { return square_packed(e, z, f, c); });
  };
  const auto pool = [&](const std::string& name, const PackedFeatureMap& x) {
    return timed("pool", name, [&](ResNetCost* c) { return mean_pool_packed(e, x, 2, c); });
  };
  const auto up = [&](const std::string& name, const PackedFeatureMap& x, const ConvTranspose2d& t) {
    return timed("transposed_conv", name, [&](ResNetCost* c) { return conv_transpose_packed(e, x, t, c); });
  };
  const PackedFeatureMap in{input, 1, 1, 1.0, 0.0};
  const PackedFeatureMap e1 = conv_act("enc1", in, model_.enc1);
  const PackedFeatureMap e2 = conv_act("enc2", pool("pool1", e1), model_.enc2);
  const PackedFeatureMap mid = conv_act("mid", pool("pool2", e2), model_.mid);
  const PackedFeatureMap d2 = cat_conv_act("dec2", up("up2", mid, model_.up2), e2, model_.dec2);
  const PackedFeatureMap d1 = cat_conv_act("dec1", up("up1", d2, model_.up1), e1, model_.dec1);
  return timed("conv", "head", [&](ResNetCost* c) { return conv_packed(e, d1, head_, 1.0, 0.0, c); });
}

}  // namespace ckks::ml

// Encrypted ResNet inference: packing, layers, the network walk and the parameter choice.
// Formulas and sources: ml/resnet/resnet_encrypted.h.
#include "ml/resnet/resnet_encrypted.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <ctime>
#include <optional>
#include <set>
#include <string>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "ml/exact_scale.h"
#include "ml/parallel.h"
#include "ml/timer.h"

namespace ckks::ml {
namespace {

std::string str(std::size_t v) { return std::to_string(v); }

/// Smallest power of two ≥ √n (the baby-step count of the block rotations), at least 1.
std::size_t baby_steps(std::size_t n) {
  std::size_t b = 1;
  while (b * b < n) b *= 2;
  return b;
}

struct ConvGeometry {
  std::size_t k = 0, pad = 0, stride = 1, in_gap = 1, out_gap = 1, out_h = 0, out_w = 0;
  std::size_t nr = 0;  // channel rotations r = 0 … nr−1
  std::size_t n1 = 1;  // baby steps of their grouping
};

ConvGeometry conv_geometry(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap, const Conv2d& conv) {
  const std::string where = "conv_packed: ";
  if (conv.in_channels != in_channels)
    throw InputError(where + "the map has " + str(in_channels) + " channels but the convolution expects " +
                     str(conv.in_channels));
  if (conv.kernel % 2 == 0 || conv.padding != (conv.kernel - 1) / 2)
    throw InputError(where + "kernel " + str(conv.kernel) + " with padding " + str(conv.padding) +
                     ": only odd kernels with 'same' padding (k−1)/2 are packed (3×3/1, 1×1/0)");
  if (conv.stride != 1 && conv.stride != 2)
    throw InputError(where + "stride " + str(conv.stride) + " is not 1 or 2");
  if (conv.weight.size() != conv.out_channels * conv.in_channels * conv.kernel * conv.kernel ||
      conv.bias.size() != conv.out_channels)
    throw InputError(where + "weight or bias has the wrong number of values");
  ConvGeometry g;
  g.k = conv.kernel;
  g.pad = conv.padding;
  g.stride = conv.stride;
  g.in_gap = in_gap;
  g.out_gap = in_gap * conv.stride;
  if (pk.height() % g.out_gap != 0 || pk.width() % g.out_gap != 0)
    throw InputError(where + "a " + str(pk.height()) + "×" + str(pk.width()) + " grid cannot hold stride " +
                     str(conv.stride) + " at gap " + str(in_gap) + " (the output gap " + str(g.out_gap) +
                     " must divide the grid)");
  g.out_h = pk.height() / g.out_gap;
  g.out_w = pk.width() / g.out_gap;
  pk.ciphertexts(in_channels);
  pk.ciphertexts(conv.out_channels);
  g.nr = std::min(in_channels, pk.blocks());
  g.n1 = std::min(baby_steps(g.nr), g.nr);
  return g;
}

/// Rotation (left) of tap (ky, kx) at the input gap.
int tap_offset(const ResNetPacking& pk, const ConvGeometry& g, std::size_t ky, std::size_t kx) {
  const long dy = static_cast<long>(ky) - static_cast<long>(g.pad);
  const long dx = static_cast<long>(kx) - static_cast<long>(g.pad);
  return static_cast<int>(static_cast<long>(g.in_gap) * (dy * static_cast<long>(pk.width()) + dx));
}

/// Is the tap (ky, kx) inside the grid for the output position (y, x)?
bool tap_inside(const ResNetPacking& pk, const ConvGeometry& g, std::size_t y, std::size_t x, std::size_t ky,
                std::size_t kx) {
  const long Y = static_cast<long>(g.out_gap * y) + static_cast<long>(g.in_gap) * (static_cast<long>(ky) - static_cast<long>(g.pad));
  const long X = static_cast<long>(g.out_gap * x) + static_cast<long>(g.in_gap) * (static_cast<long>(kx) - static_cast<long>(g.pad));
  return Y >= 0 && X >= 0 && Y < static_cast<long>(pk.height()) && X < static_cast<long>(pk.width());
}

/// The taps of a convolution and how they are grouped (file comment, "Taps packed into the gap").
/// cell = 1: one group per tap, in row-major order, sub-positions 0 (the standard convolution).
/// cell = g (the input gap, ≥ 2, and k > 1): the centre tap first (sub-position 0: its rotation stays
/// 0), then the others row-major, each into the first group and free sub-position (sx + W·sy, in
/// the order sx, then sy) where it reads no valid input slot through another tap's rotated copy,
/// else into a new group. That check is what the file comment's argument needs at the borders: a
/// tap whose position p + g·off_t leaves the grid to the right wraps into the next row in the slot
/// index, and a partner a row up in the cell (Δs = −W) would bring it back onto a valid slot.
struct TapLayout {
  std::size_t cell = 1;
  std::vector<std::pair<std::size_t, std::size_t>> taps;  ///< (ky, kx), row-major
  std::vector<std::vector<std::size_t>> groups;           ///< tap indices per group
  std::vector<std::size_t> sub;                           ///< slot offset s_t of each tap inside its cell
};

/// For each tap, the output grid positions (inside a block) where it falls inside the grid.
std::vector<std::vector<std::size_t>> tap_positions(const ResNetPacking& pk, const ConvGeometry& g,
                                                    const std::vector<std::pair<std::size_t, std::size_t>>& taps) {
  std::vector<std::vector<std::size_t>> inside(taps.size());
  for (std::size_t t = 0; t < taps.size(); ++t)
    for (std::size_t y = 0; y < g.out_h; ++y)
      for (std::size_t x = 0; x < g.out_w; ++x)
        if (tap_inside(pk, g, y, x, taps[t].first, taps[t].second))
          inside[t].push_back(g.out_gap * y * pk.width() + g.out_gap * x);
  return inside;
}

TapLayout tap_layout(const ResNetPacking& pk, const ConvGeometry& g, bool pack) {
  TapLayout tl;
  for (std::size_t ky = 0; ky < g.k; ++ky)
    for (std::size_t kx = 0; kx < g.k; ++kx) tl.taps.emplace_back(ky, kx);
  tl.sub.assign(tl.taps.size(), 0);
  tl.cell = pack && g.in_gap >= 2 && g.k > 1 ? g.in_gap : 1;
  if (tl.cell == 1) {
    for (std::size_t t = 0; t < tl.taps.size(); ++t) tl.groups.push_back({t});
    return tl;
  }
  const auto inside = tap_positions(pk, g, tl.taps);
  const long S = static_cast<long>(pk.slots()), B = static_cast<long>(pk.block()), W = static_cast<long>(pk.width());
  const long gap = static_cast<long>(g.in_gap);
  auto offset = [&](std::size_t t) { return static_cast<long>(tap_offset(pk, g, tl.taps[t].first, tl.taps[t].second)); };
  auto valid_input = [&](long idx) {
    const long pos = ((idx % S + S) % S) % B;
    return (pos / W) % gap == 0 && (pos % W) % gap == 0;
  };
  // does tap a at sub-position sa pick up a valid input slot where tap b (sub-position sb) is read?
  auto reads_into = [&](std::size_t a, long sa, std::size_t b, long sb) {
    for (std::size_t p : inside[b])
      if (valid_input(static_cast<long>(p) + sb + offset(a) - sa)) return true;
    return false;
  };
  std::vector<std::size_t> order{g.pad * g.k + g.pad};  // the centre tap
  for (std::size_t t = 0; t < tl.taps.size(); ++t)
    if (t != order.front()) order.push_back(t);
  const std::size_t per = tl.cell * tl.cell;
  std::vector<std::vector<bool>> used;  // per group, per sub-position index m
  for (std::size_t t : order) {
    bool placed = false;
    for (std::size_t G = 0; G < tl.groups.size() && !placed; ++G)
      for (std::size_t m = 0; m < per && !placed; ++m) {
        if (used[G][m]) continue;
        const long st = static_cast<long>(m % tl.cell) + W * static_cast<long>(m / tl.cell);
        bool ok = true;
        for (std::size_t u : tl.groups[G]) {
          const long su = static_cast<long>(tl.sub[u]);
          ok = ok && !reads_into(t, st, u, su) && !reads_into(u, su, t, st);
        }
        if (!ok) continue;
        tl.groups[G].push_back(t);
        tl.sub[t] = static_cast<std::size_t>(st);
        used[G][m] = true;
        placed = true;
      }
    if (!placed) {
      tl.groups.push_back({t});
      used.emplace_back(per, false);
      used.back()[0] = true;
      tl.sub[t] = 0;
    }
  }
  return tl;
}

/// The rotation steps of the cell sum Σ_{0 ≤ sx, sy < cell} rot_{sx + W·sy}: 1, 2, …, cell/2 and
/// W, 2W, …, (cell/2)·W (none for cell 1).
std::vector<int> cell_sum_steps(const ResNetPacking& pk, std::size_t cell) {
  std::vector<int> steps;
  for (std::size_t s = 1; s < cell; s *= 2) steps.push_back(static_cast<int>(s));
  for (std::size_t s = 1; s < cell; s *= 2) steps.push_back(static_cast<int>(s * pk.width()));
  return steps;
}

double conv_w(const Conv2d& c, std::size_t o, std::size_t i, std::size_t ky, std::size_t kx) {
  return c.weight[((o * c.in_channels + i) * c.kernel + ky) * c.kernel + kx];
}

/// acc += t (acc empty: acc = t).
void add_opt(const Evaluator& ev, std::optional<Ciphertext>& acc, Ciphertext&& t) {
  if (!acc) acc = std::move(t);
  else ev.add_inplace(*acc, t);
}

void count(ResNetCost* cost, int rotations, int products, int levels) {
  if (!cost) return;
  cost->rotations += rotations;
  cost->plaintext_products += products;
  cost->levels += levels;
}

void require_level(const PackedFeatureMap& m, const char* op) {
  if (m.cts.empty()) throw InputError(std::string(op) + ": the map has no ciphertexts");
  for (const auto& c : m.cts)
    if (c.level != m.cts.front().level || c.size() != 2)
      throw InputError(std::string(op) + ": the map's ciphertexts must share one level and have 2 components");
  if (m.cts.front().level < 1)
    throw LevelError(std::string(op) + ": the map is at level 0, nothing left to rescale by; the network needs "
                     "more levels (see ResNetServer::levels_needed and resnet_params)");
}

}  // namespace

// ------------------------------------------------------------------------------------ packing
ResNetPacking::ResNetPacking(std::size_t height, std::size_t width, std::size_t slots) : h_(height), w_(width), s_(slots) {
  if (!std::has_single_bit(slots)) throw InputError("ResNetPacking: slots = " + str(slots) + " is not a power of two");
  if (!std::has_single_bit(height * width) || height * width > slots)
    throw InputError("ResNetPacking: the grid " + str(height) + "×" + str(width) + " = " + str(height * width) +
                     " slots must be a power of two no larger than the " + str(slots) +
                     " slots (pad the image, or use a larger ring)");
}

std::size_t ResNetPacking::ciphertexts(std::size_t channels) const {
  const std::size_t nb = blocks();
  if (channels == 0 || (channels <= nb && !std::has_single_bit(channels)) || (channels > nb && channels % nb != 0))
    throw InputError("ResNetPacking: " + str(channels) + " channels cannot be packed into " + str(nb) +
                     " blocks per ciphertext: use a power of two (or a multiple of " + str(nb) + ")");
  return channels <= nb ? 1 : channels / nb;
}

std::size_t ResNetPacking::channel_at(std::size_t channels, std::size_t i, std::size_t beta) const {
  return channels <= blocks() ? beta % channels : i * blocks() + beta;
}

std::vector<std::vector<double>> ResNetPacking::pack(const FeatureMap& map, std::size_t gap) const {
  if (gap == 0 || h_ % gap != 0 || w_ % gap != 0 || map.height != h_ / gap || map.width != w_ / gap)
    throw InputError("ResNetPacking::pack: a " + str(map.height) + "×" + str(map.width) + " map does not fit a " +
                     str(h_) + "×" + str(w_) + " grid at gap " + str(gap));
  const std::size_t n = ciphertexts(map.channels);
  std::vector<std::vector<double>> out(n, std::vector<double>(s_, 0.0));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t beta = 0; beta < blocks(); ++beta) {
      const std::size_t c = channel_at(map.channels, i, beta);
      for (std::size_t y = 0; y < map.height; ++y)
        for (std::size_t x = 0; x < map.width; ++x)
          out[i][beta * block() + gap * y * w_ + gap * x] = map.at(c, y, x);
    }
  return out;
}

FeatureMap ResNetPacking::unpack(const std::vector<std::vector<double>>& slots, std::size_t channels, std::size_t gap,
                                 double sign, double offset) const {
  const std::size_t n = ciphertexts(channels);
  if (slots.size() != n) throw InputError("ResNetPacking::unpack: " + str(slots.size()) + " slot vectors, expected " + str(n));
  for (const auto& v : slots)
    if (v.size() != s_) throw InputError("ResNetPacking::unpack: a slot vector has " + str(v.size()) + " values, expected " + str(s_));
  if (gap == 0 || h_ % gap != 0 || w_ % gap != 0) throw InputError("ResNetPacking::unpack: gap " + str(gap) + " does not divide the grid");
  FeatureMap m(channels, h_ / gap, w_ / gap);
  for (std::size_t c = 0; c < channels; ++c) {
    const std::size_t i = channels <= blocks() ? 0 : c / blocks();
    const std::size_t beta = channels <= blocks() ? c : c % blocks();
    for (std::size_t y = 0; y < m.height; ++y)
      for (std::size_t x = 0; x < m.width; ++x)
        m.at(c, y, x) = sign * slots[i][beta * block() + gap * y * w_ + gap * x] + offset;
  }
  return m;
}

std::vector<Ciphertext> encrypt_packed(const Encoder& enc, Encryptor& encryptor,
                                       const std::vector<std::vector<double>>& slots, int level, double scale) {
  std::vector<Ciphertext> cts;
  cts.reserve(slots.size());
  for (const auto& v : slots) cts.push_back(encryptor.encrypt(enc.encode(v, level, scale)));
  return cts;
}

FeatureMap decrypt_packed(const ResNetPacking& packing, const Encoder& enc, const Decryptor& decryptor,
                          const PackedFeatureMap& map) {
  std::vector<std::vector<double>> slots;
  slots.reserve(map.cts.size());
  for (const auto& ct : map.cts) slots.push_back(enc.decode(decryptor.decrypt(ct)));
  return packing.unpack(slots, map.channels, map.gap, map.sign, map.offset);
}

FoldedActivation fold_activation(const QuadraticActivation& act, const std::string& name) {
  if (!std::isfinite(act.a) || !std::isfinite(act.b) || !std::isfinite(act.c))
    throw InputError("fold_activation: " + name + " has a non-finite coefficient");
  if (act.a == 0)
    throw InputError("fold_activation: " + name + " has a = 0 (a linear activation); weight redistribution "
                     "evaluates act(t) = sign(a)·(√|a|·(t + b/2a))² + κ and needs a ≠ 0: fold the linear map into "
                     "the next layer instead");
  FoldedActivation f;
  f.mult = std::sqrt(std::fabs(act.a));
  f.shift = f.mult * act.b / (2 * act.a);
  f.sign = act.a > 0 ? 1.0 : -1.0;
  f.offset = act.c - act.b * act.b / (4 * act.a);
  return f;
}

// ------------------------------------------------------------------------------- convolution
std::vector<int> conv_rotation_steps(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap,
                                     const Conv2d& conv, bool pack_taps, std::size_t input_baby_steps) {
  const ConvGeometry g = conv_geometry(pk, in_channels, in_gap, conv);
  const TapLayout tl = tap_layout(pk, g, pack_taps);
  std::set<int> steps;
  const int B = static_cast<int>(pk.block());
  if (input_baby_steps > 0 && tl.cell == 1) {  // block rotations hoisted on the input (conv_sum_lazy)
    const std::size_t n1 = std::min(input_baby_steps, g.nr);
    for (std::size_t b = 0; b < n1; ++b)
      for (const auto& [ky, kx] : tl.taps)
        if (int s = static_cast<int>(b) * B + tap_offset(pk, g, ky, kx); s != 0) steps.insert(s);
    for (std::size_t G = 1; G * n1 < g.nr; ++G) steps.insert(static_cast<int>(G * n1) * B);
    return {steps.begin(), steps.end()};
  }
  for (std::size_t t = 0; t < tl.taps.size(); ++t)
    if (int off = tap_offset(pk, g, tl.taps[t].first, tl.taps[t].second) - static_cast<int>(tl.sub[t]); off != 0)
      steps.insert(off);
  for (int s : cell_sum_steps(pk, tl.cell)) steps.insert(s);
  for (std::size_t b = 1; b < g.n1; ++b) steps.insert(static_cast<int>(b) * B);
  for (std::size_t G = 1; G * g.n1 < g.nr; ++G) steps.insert(static_cast<int>(G * g.n1) * B);
  return {steps.begin(), steps.end()};
}

namespace {

/// Step 1 of conv_packed: the taps and their groups (TapLayout), every input ciphertext rotated by
/// every tap's offset with one hoisted decomposition and summed per group (Y_{i,G}; for cell 1 a
/// group is one tap, y_{i,t}), and for each tap the output positions (inside a block) where it falls
/// inside the grid.
struct HoistedTaps {
  TapLayout layout;
  std::vector<std::vector<Ciphertext>> rotated;  ///< rotated[i][G] = Y_{i,G}
  std::vector<std::vector<std::size_t>> inside;  ///< tap → output grid positions
  int rotations = 0;                             ///< nonzero offsets × input ciphertexts
};

/// The slots of the weight plaintext d_{i,G,r} of output ciphertext j (file comment) into buf: for
/// every tap t of group G, factor·w[o(α)][c(i, α + r)][t] at p + s_t for the positions p where tap t
/// is inside the grid, in every block β = α + r; 0 elsewhere. Returns false if the plaintext is zero
/// (no product is needed).
bool term_weights(const ResNetPacking& pk, const Conv2d& conv, std::size_t in_channels, double factor,
                  const TapLayout& tl, std::size_t group, const std::vector<std::vector<std::size_t>>& inside,
                  std::size_t j, std::size_t r, std::size_t i, std::vector<double>& buf) {
  const std::size_t B = pk.block(), nb = pk.blocks();
  std::fill(buf.begin(), buf.end(), 0.0);
  bool any = false;
  for (std::size_t alpha = 0; alpha < nb; ++alpha) {
    const std::size_t beta = (alpha + r) % nb;
    const std::size_t o = pk.channel_at(conv.out_channels, j, alpha);
    const std::size_t c = pk.channel_at(in_channels, i, beta);
    for (std::size_t t : tl.groups[group]) {
      const double w = factor * conv_w(conv, o, c, tl.taps[t].first, tl.taps[t].second);
      if (w == 0) continue;
      for (std::size_t p : inside[t]) buf[beta * B + p + tl.sub[t]] = w;
      any = any || !inside[t].empty();
    }
  }
  return any;
}

HoistedTaps hoisted_taps(const ResNetEvalContext& e, const PackedFeatureMap& in, const ConvGeometry& g, bool pack) {
  const ResNetPacking& pk = e.packing;
  HoistedTaps h;
  h.layout = tap_layout(pk, g, pack);
  const TapLayout& tl = h.layout;
  std::vector<int> offsets;
  for (std::size_t t = 0; t < tl.taps.size(); ++t)
    offsets.push_back(tap_offset(pk, g, tl.taps[t].first, tl.taps[t].second) - static_cast<int>(tl.sub[t]));
  // Packed: each group's Σ_{t ∈ G} rot(x, g·off_t − s_t) by Evaluator::rotate_sums (one ModUp for all
  // groups, one ModDown per group instead of one per tap); one tap per group: rotate_hoisted.
  std::vector<std::vector<int>> group_steps;
  for (const auto& grp : tl.groups) {
    group_steps.emplace_back();
    for (std::size_t t : grp) group_steps.back().push_back(offsets[t]);
  }
  h.rotated.reserve(in.cts.size());
  for (const auto& ct : in.cts) {
    h.rotated.push_back(tl.cell == 1 ? e.ev.rotate_hoisted(ct, offsets, e.gk) : e.ev.rotate_sums(ct, group_steps, e.gk));
    for (int off : offsets) h.rotations += off != 0;
  }
  h.inside = tap_positions(pk, g, tl.taps);
  return h;
}

/// One convolution summed into an output: its input map (already at the products' level ℓ), its
/// weights, geometry, hoisted taps, and the plaintext scale Δ·q_ℓ / (input scale) that makes every
/// product land on Δ·q_ℓ (rescaled once at the end).
struct ConvSource {
  const PackedFeatureMap* in = nullptr;
  const Conv2d* conv = nullptr;
  ConvGeometry g;
  HoistedTaps h;
  int level = 0;
  double pt_scale = 0;
  bool lazy = false;  ///< block rotations hoisted on the input (conv_sum_lazy): h holds no rotations
};

/// Can conv_sum_lazy take this input and convolution: the setting is on and the taps are not packed.
bool lazy_ok(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv) {
  return e.input_baby_steps > 0 && in.cts.front().level >= e.input_baby_steps_min_level &&
         tap_layout(e.packing, conv_geometry(e.packing, in.channels, in.gap, conv), e.pack_taps && in.clean).cell == 1;
}

ConvSource conv_source(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv, bool lazy) {
  ConvSource s;
  s.in = &in;
  s.conv = &conv;
  s.g = conv_geometry(e.packing, in.channels, in.gap, conv);
  s.level = in.cts.front().level;
  s.pt_scale = e.scale * static_cast<double>(e.ctx->q(s.level).value()) / in.cts.front().scale;
  const bool pack = e.pack_taps && in.clean;
  if (lazy) {
    // conv_sum_lazy rotates the input itself: the layout and positions only, no tap rotations here
    s.h.layout = tap_layout(e.packing, s.g, pack);
    s.h.inside = tap_positions(e.packing, s.g, s.h.layout.taps);
    s.lazy = true;
    return s;
  }
  s.h = hoisted_taps(e, in, s.g, pack);
  return s;
}

/// Step 2 of conv_packed: the channel-rotation term of output ciphertext j,
///   u_r = Σ_{sources, i, G} d_{i,G,r} ⊙ Y_{i,G} (not yet rotated by its baby step: step 3 does it);
/// a source takes part if r < its nr. Empty if every weight of the term is zero.
/// The plaintexts are encoded first, then summed by one multiply_sum: the same ciphertext as
/// multiplying and adding term by term in this order (Evaluator::multiply_sum is exact), without
/// a temporary per term. Counts its products.
std::optional<Ciphertext> channel_rotation_term(const ResNetEvalContext& e, const std::vector<ConvSource>& src,
                                                double mult, std::size_t j, std::size_t r, int& products) {
  const ResNetPacking& pk = e.packing;
  std::vector<double> buf(pk.slots());
  // Fresh plaintexts are summed kTermsPerSum at a time, so a thread holds at most that many
  // (ResNet-20's stage 1: 38 limbs, 19 MiB each); the chunks' sums are exact, so the result does not
  // depend on the chunking.
  constexpr std::size_t kTermsPerSum = 3;
  std::vector<Plaintext> fresh;  // the plaintexts not found in e.plaintexts
  std::vector<const Plaintext*> pts;
  std::vector<const Ciphertext*> cts;
  fresh.reserve(kTermsPerSum);  // pts points into fresh: it must not reallocate before multiply_sum
  std::optional<Ciphertext> u;
  auto flush = [&] {
    if (pts.empty()) return;
    add_opt(e.ev, u, e.ev.multiply_sum(cts, pts));
    products += static_cast<int>(pts.size());
    pts.clear();
    cts.clear();
    fresh.clear();
  };
  for (const auto& s : src) {
    if (r >= s.g.nr) continue;
    const PackedFeatureMap& in = *s.in;
    const double factor = mult * in.sign;
    const TapLayout& tl = s.h.layout;
    for (std::size_t i = 0; i < in.cts.size(); ++i)
      for (std::size_t t = 0; t < tl.groups.size(); ++t) {
        const Plaintext* pt =
            e.plaintexts ? e.plaintexts->find({s.conv, j, r, i, t, tl.cell}, s.level, s.pt_scale, factor) : nullptr;
        if (!pt) {
          if (!term_weights(pk, *s.conv, in.channels, factor, tl, t, s.h.inside, j, r, i, buf)) continue;
          if (fresh.size() == kTermsPerSum) flush();
          fresh.push_back(e.enc.encode(buf, s.level, s.pt_scale));
          pt = &fresh.back();
        }
        pts.push_back(pt);
        cts.push_back(&s.h.rotated[i][t]);
      }
  }
  flush();
  return u;
}

/// Σ_t rot(x_t, steps_t) over the present x_t, by Evaluator::sum_rotations (one ModDown for all the
/// rotations of the sum); counts the nonzero steps. Empty if no x_t is present.
std::optional<Ciphertext> rotated_sum(const ResNetEvalContext& e, const std::vector<const Ciphertext*>& x,
                                      const std::vector<int>& steps, int& rotations) {
  if (x.empty()) return std::nullopt;
  for (int s : steps) rotations += s != 0;
  return e.ev.sum_rotations(x, steps, e.gk);
}

/// Step 3 of conv_packed: out_j = Σ_G rot_{G·n1·B}( Σ_b rot_{b·B}(u_{G·n1+b}) ), the baby-step sum
/// of each G and then the giant-step sum each by one Evaluator::sum_rotations: every term still has
/// its ModUp and key inner product, but each sum divides by P once (nr/n1 + 1 ModDowns instead of
/// nr − 1; the same values up to the ModDown roundings saved). Each u_r is released once its
/// baby-step sum is formed, so that the u_r and the sums are not all held at once. Empty if every
/// u_r is.
std::optional<Ciphertext> giant_step_sum(const ResNetEvalContext& e, std::vector<std::optional<Ciphertext>>& u,
                                         const ConvGeometry& g, int& rotations) {
  const int B = static_cast<int>(e.packing.block());
  std::vector<Ciphertext> inner;
  std::vector<int> giant_steps;
  for (std::size_t G = 0; G * g.n1 < g.nr; ++G) {
    std::vector<const Ciphertext*> terms;
    std::vector<int> steps;
    for (std::size_t b = 0; b < g.n1 && G * g.n1 + b < g.nr; ++b)
      if (const auto& ur = u[G * g.n1 + b]) {
        terms.push_back(&*ur);
        steps.push_back(static_cast<int>(b) * B);
      }
    std::optional<Ciphertext> v = rotated_sum(e, terms, steps, rotations);
    for (std::size_t b = 0; b < g.n1 && G * g.n1 + b < g.nr; ++b) u[G * g.n1 + b].reset();
    if (v) {
      inner.push_back(std::move(*v));
      giant_steps.push_back(static_cast<int>(G * g.n1) * B);
    }
  }
  std::vector<const Ciphertext*> terms;
  for (const auto& v : inner) terms.push_back(&v);
  return rotated_sum(e, terms, giant_steps, rotations);
}

/// Step 4 of conv_packed: adds to d the bias slots of source s for output ciphertext j,
/// mult·(bias[o] + κ·Σ_{c, taps inside} w[o][c][t]) at the valid output positions.
void add_conv_bias_slots(const ResNetPacking& pk, const ConvSource& s, double mult, std::size_t j,
                         std::vector<double>& d) {
  const PackedFeatureMap& in = *s.in;
  const Conv2d& conv = *s.conv;
  const ConvGeometry& g = s.g;
  for (std::size_t alpha = 0; alpha < pk.blocks(); ++alpha) {
    const std::size_t o = pk.channel_at(conv.out_channels, j, alpha);
    for (std::size_t y = 0; y < g.out_h; ++y)
      for (std::size_t x = 0; x < g.out_w; ++x) {
        double v = conv.bias[o];
        if (in.offset != 0)
          for (const auto& [ky, kx] : s.h.layout.taps)
            if (tap_inside(pk, g, y, x, ky, kx))
              for (std::size_t c = 0; c < in.channels; ++c) v += in.offset * conv_w(conv, o, c, ky, kx);
        d[alpha * pk.block() + g.out_gap * y * pk.width() + g.out_gap * x] += mult * v;
      }
  }
}

/// The bias and shift slots of step 4 for output ciphertext j, added to acc and rescaled.
Ciphertext finish_output(const ResNetEvalContext& e, const std::vector<ConvSource>& src, double mult, double shift,
                         std::size_t j, Ciphertext&& acc) {
  const ResNetPacking& pk = e.packing;
  const ConvGeometry& g = src.front().g;
  std::vector<double> d(pk.slots(), 0.0);
  for (const auto& s : src) add_conv_bias_slots(pk, s, mult, j, d);
  for (std::size_t alpha = 0; alpha < pk.blocks(); ++alpha)
    for (std::size_t y = 0; y < g.out_h; ++y)
      for (std::size_t x = 0; x < g.out_w; ++x) d[alpha * pk.block() + g.out_gap * y * pk.width() + g.out_gap * x] += shift;
  Ciphertext sum = e.ev.add(acc, e.enc.encode(d, src.front().level, acc.scale));
  return e.ev.rescale(sum);
}

/// Steps 1–4 with the block rotations hoisted on the input (double hoisting [BMTH21] applied to the
/// convolution's baby steps; ResNetEvalContext::input_baby_steps = n1 > 0, taps not packed). With
/// r = G·n1 + b (b < n1) and rot_{r·B}(d ⊙ rot_{off_t}(x)) = rot_{G·n1·B}(rot_{b·B}(d) ⊙ rot_{b·B+off_t}(x)):
///   out_j = Σ_G rot_{G·n1·B}( V_{j,G} ),
///   V_{j,G} = ModDown Σ_{sources, i, b, t} e_{i,t,r} ⊙ R_{i,b,t},   e_{i,t,r} = rot_{b·B}(d_{i,t,r}),
/// where R_{i,b,t} = P·rot(x_i, b·B + off_t) over Q_ℓ·P (Evaluator::rotate_lazy): ONE ModUp per input
/// ciphertext (Evaluator::hoist) for all n1·k² rotations, each rotation's key inner product computed
/// once and shared by every output ciphertext and every G, the products over Q_ℓ·P
/// (Encoder::encode_extended) and one ModDown per (j, G); then the giant steps by one sum_rotations.
/// Against conv_sum (which rotates the sums u_r by r·B): per output ciphertext nr/n1 − 1 ModUps
/// instead of nr − 1, per input ciphertext one; n1·k² − 1 + nr/n1 − 1 Galois keys instead of
/// k² − 1 + (n1' − 1) + (nr/n1' − 1) (conv_rotation_steps). The sums mod q are exact, so the
/// value equals conv_sum's up to the ModDown roundings (one per (j, G) instead of one per tap and
/// per baby-step sum). Memory: the n1·k² rotations R of every input ciphertext over Q_ℓ·P.
PackedFeatureMap conv_sum_lazy(const ResNetEvalContext& e, const std::vector<ConvSource>& src, double mult,
                               double shift, ResNetCost* cost) {
  const ResNetPacking& pk = e.packing;
  const std::size_t S = pk.slots(), B = pk.block();
  std::size_t nr = 0;
  for (const auto& s : src) nr = std::max(nr, s.g.nr);
  const std::size_t n1 = std::min(e.input_baby_steps, nr);
  int rotations = 0, products = 0;
  // R[s][i][b·taps + t]: every input ciphertext rotated by b·B + off_t, kept over Q_ℓ·P.
  std::vector<std::vector<std::vector<ExtendedCiphertext>>> R(src.size());
  for (std::size_t si = 0; si < src.size(); ++si) {
    const ConvSource& s = src[si];
    const TapLayout& tl = s.h.layout;
    const std::size_t nb = std::min(n1, s.g.nr);
    for (const auto& x : s.in->cts) {
      const HoistedCiphertext h = e.ev.hoist(x);
      R[si].emplace_back();
      for (std::size_t b = 0; b < nb; ++b)
        for (const auto& [ky, kx] : tl.taps) {
          const int step = static_cast<int>(b * B) + tap_offset(pk, s.g, ky, kx);
          R[si].back().push_back(e.ev.rotate_lazy(h, step, e.gk));
          rotations += step != 0;
        }
    }
  }
  const ConvSource& first = src.front();
  PackedFeatureMap out;
  out.channels = first.conv->out_channels;
  out.gap = first.g.out_gap;
  out.clean = true;
  const std::size_t nG = (nr + n1 - 1) / n1;
  for (std::size_t j = 0; j < pk.ciphertexts(out.channels); ++j) {
    // V_{j,G} on all hardware threads (independent; the counts are added in G order).
    std::vector<std::optional<Ciphertext>> V(nG);
    std::vector<int> V_products(nG, 0);
    parallel_for(nG, [&](std::size_t G) {
      std::vector<double> buf(S), rotated(S);
      // Fresh extended plaintexts summed kTermsPerSum at a time (stage 1: 43 limbs, 22 MiB each), as in
      // channel_rotation_term; the chunks' sums are exact.
      constexpr std::size_t kTermsPerSum = 3;
      std::vector<ExtendedPlaintext> fresh;
      std::vector<const ExtendedPlaintext*> pts;
      std::vector<const ExtendedCiphertext*> cts;
      fresh.reserve(kTermsPerSum);
      std::optional<ExtendedCiphertext> acc;
      auto flush = [&] {
        if (pts.empty()) return;
        ExtendedCiphertext part = e.ev.multiply_sum(cts, pts);
        if (!acc) acc = std::move(part);
        else e.ev.add_inplace(*acc, part);
        V_products[G] += static_cast<int>(pts.size());
        pts.clear();
        cts.clear();
        fresh.clear();
      };
      for (std::size_t si = 0; si < src.size(); ++si) {
        const ConvSource& s = src[si];
        const PackedFeatureMap& in = *s.in;
        const double factor = mult * in.sign;
        const TapLayout& tl = s.h.layout;
        const std::size_t T = tl.taps.size();
        for (std::size_t b = 0; b < n1; ++b) {
          const std::size_t r = G * n1 + b;
          if (r >= s.g.nr) continue;
          for (std::size_t i = 0; i < in.cts.size(); ++i)
            for (std::size_t t = 0; t < T; ++t) {
              if (!term_weights(pk, *s.conv, in.channels, factor, tl, t, s.h.inside, j, r, i, buf)) continue;
              for (std::size_t k = 0; k < S; ++k) rotated[k] = buf[(k + b * B) % S];  // rot_{b·B}(d)
              if (fresh.size() == kTermsPerSum) flush();
              fresh.push_back(e.enc.encode_extended(rotated, s.level, s.pt_scale));
              pts.push_back(&fresh.back());
              cts.push_back(&R[si][i][b * T + t]);
            }
        }
      }
      flush();
      if (acc) V[G] = e.ev.mod_down(*acc);
    });
    std::vector<const Ciphertext*> terms;
    std::vector<int> giant_steps;
    for (std::size_t G = 0; G < nG; ++G) {
      products += V_products[G];
      if (V[G]) {
        terms.push_back(&*V[G]);
        giant_steps.push_back(static_cast<int>(G * n1 * B));
      }
    }
    std::optional<Ciphertext> acc = rotated_sum(e, terms, giant_steps, rotations);
    if (!acc) {  // every weight reaching this ciphertext is zero: a product with the zero plaintext
      acc = e.ev.multiply(first.in->cts.front(),
                          e.enc.encode(std::vector<double>(S, 0.0), first.level, first.pt_scale));
      ++products;
    }
    out.cts.push_back(finish_output(e, src, mult, shift, j, std::move(*acc)));
  }
  count(cost, rotations, products, 1);
  return out;
}

/// Steps 2–4 for every output ciphertext: mult·Σ_sources conv(in) + shift, rescaled once; with
/// packed taps the cell sum runs after step 3 (file comment).
PackedFeatureMap conv_sum(const ResNetEvalContext& e, const std::vector<ConvSource>& src, double mult, double shift,
                          ResNetCost* cost) {
  if (src.front().lazy) return conv_sum_lazy(e, src, mult, shift, cost);
  const ResNetPacking& pk = e.packing;
  const ConvSource& first = src.front();
  const ConvGeometry& g = first.g;
  int rotations = 0, products = 0;
  std::size_t cell = 1;  // the largest cell of the sources (a standard source's values sit at p: s = 0)
  for (const auto& s : src) {
    rotations += s.h.rotations;
    cell = std::max(cell, s.h.layout.cell);
  }
  PackedFeatureMap out;
  out.channels = first.conv->out_channels;
  out.gap = g.out_gap;
  out.clean = cell == 1;
  for (std::size_t j = 0; j < pk.ciphertexts(out.channels); ++j) {
    // Step 2 on all hardware threads: the u_r are independent, and everything below adds them (and
    // their counts) in index order, so the result does not depend on the number of threads.
    std::vector<std::optional<Ciphertext>> u(g.nr);
    std::vector<int> u_products(g.nr, 0);
    parallel_for(g.nr, [&](std::size_t r) { u[r] = channel_rotation_term(e, src, mult, j, r, u_products[r]); });
    for (std::size_t r = 0; r < g.nr; ++r) products += u_products[r];
    std::optional<Ciphertext> acc = giant_step_sum(e, u, g, rotations);  // step 3
    if (!acc) {  // every weight reaching this ciphertext is zero: a product with the zero plaintext
      acc = e.ev.multiply(first.in->cts.front(),
                          e.enc.encode(std::vector<double>(pk.slots(), 0.0), first.level, first.pt_scale));
      ++products;
    }
    for (int step : cell_sum_steps(pk, cell)) {  // the cell sum of packed taps: rotate-and-add
      acc = e.ev.add(*acc, e.ev.rotate(*acc, step, e.gk));
      ++rotations;
    }
    out.cts.push_back(finish_output(e, src, mult, shift, j, std::move(*acc)));  // step 4
  }
  count(cost, rotations, products, 1);
  return out;
}

void check_ciphertext_count(const ResNetPacking& pk, const PackedFeatureMap& in, const char* op) {
  if (in.cts.size() != pk.ciphertexts(in.channels))
    throw InputError(std::string(op) + ": the map has " + str(in.cts.size()) + " ciphertexts, its " +
                     str(in.channels) + " channels need " + str(pk.ciphertexts(in.channels)));
}

}  // namespace

PackedFeatureMap conv_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv, double mult,
                             double shift, ResNetCost* cost) {
  conv_geometry(e.packing, in.channels, in.gap, conv);
  require_level(in, "conv_packed");
  check_ciphertext_count(e.packing, in, "conv_packed");
  std::vector<ConvSource> src;
  src.push_back(conv_source(e, in, conv, lazy_ok(e, in, conv)));  // step 1
  return conv_sum(e, src, mult, shift, cost);
}

bool can_fuse_projection(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap, const Conv2d& conv,
                         std::size_t sc_channels, std::size_t sc_gap, const Conv2d& proj) {
  const ConvGeometry g = conv_geometry(pk, in_channels, in_gap, conv);
  const ConvGeometry gs = conv_geometry(pk, sc_channels, sc_gap, proj);
  return conv.out_channels == proj.out_channels && g.out_gap == gs.out_gap && gs.nr <= g.nr;
}

PackedFeatureMap conv_projection_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv,
                                        const PackedFeatureMap& sc_in, const Conv2d& proj, double mult, double shift,
                                        ResNetCost* cost) {
  if (!can_fuse_projection(e.packing, in.channels, in.gap, conv, sc_in.channels, sc_in.gap, proj))
    throw InputError("conv_projection_packed: the shortcut (" + str(proj.out_channels) + " channels at gap " +
                     str(sc_in.gap * proj.stride) + ", " + str(std::min(sc_in.channels, e.packing.blocks())) +
                     " channel rotations) must produce the convolution's shape (" + str(conv.out_channels) +
                     " channels at gap " + str(in.gap * conv.stride) + ") with no more channel rotations (" +
                     str(std::min(in.channels, e.packing.blocks())) + "); use conv_packed and add_packed");
  require_level(in, "conv_projection_packed");
  require_level(sc_in, "conv_projection_packed");
  check_ciphertext_count(e.packing, in, "conv_projection_packed");
  check_ciphertext_count(e.packing, sc_in, "conv_projection_packed");
  const int level = in.cts.front().level;
  if (sc_in.cts.front().level < level)
    throw LevelError("conv_projection_packed: the shortcut input is at level " +
                     std::to_string(sc_in.cts.front().level) + ", below the convolution's input level " +
                     std::to_string(level) + "; it must be at least as high (it is dropped to that level)");
  PackedFeatureMap sc_low = sc_in;  // products at the convolution's level: fewer limbs, same scale Δ·q_ℓ
  for (auto& ct : sc_low.cts) ct = e.ev.drop_level(ct, level);
  // Both sources lazy or neither (conv_rotation_steps' keys follow the same rule, rotation_levels).
  const bool lazy = lazy_ok(e, in, conv) && lazy_ok(e, sc_low, proj);
  std::vector<ConvSource> src;
  src.push_back(conv_source(e, in, conv, lazy));
  src.push_back(conv_source(e, sc_low, proj, lazy));
  return conv_sum(e, src, mult, shift, cost);
}

PackedFeatureMap square_packed(const ResNetEvalContext& e, const PackedFeatureMap& z, const FoldedActivation& f,
                               ResNetCost* cost) {
  require_level(z, "square_packed");
  if (z.sign != 1 || z.offset != 0)
    throw InputError("square_packed: the input must be a plain map (the output of conv_packed), not one with a lazy "
                     "sign/offset");
  PackedFeatureMap out;
  out.channels = z.channels;
  out.gap = z.gap;
  out.sign = f.sign;
  out.offset = f.offset;
  out.clean = z.clean;  // 0² = 0
  for (const auto& ct : z.cts) out.cts.push_back(e.ev.rescale(e.ev.multiply_relin(ct, ct, e.rk)));
  count(cost, 0, 0, 1);
  return out;
}

PackedFeatureMap scale_shortcut(const ResNetEvalContext& e, const PackedFeatureMap& in, double mult, int level,
                                ResNetCost* cost) {
  require_level(in, "scale_shortcut");
  if (in.cts.front().level - 1 < level)
    throw LevelError("scale_shortcut: the shortcut is at level " + std::to_string(in.cts.front().level) +
                     " and cannot be scaled (1 level) and still reach level " + std::to_string(level));
  PackedFeatureMap out;
  out.channels = in.channels;
  out.gap = in.gap;
  out.clean = in.clean;
  for (const auto& ct : in.cts)
    out.cts.push_back(e.ev.drop_level(mul_const_to(e.ev, *e.ctx, ct, mult * in.sign, e.scale), level));
  count(cost, 0, 1, 1);
  return out;
}

PackedFeatureMap add_packed(const ResNetEvalContext& e, const PackedFeatureMap& a, const PackedFeatureMap& b) {
  if (a.channels != b.channels || a.gap != b.gap || a.cts.size() != b.cts.size() || a.cts.empty())
    throw InputError("add_packed: shapes differ (" + str(a.channels) + " channels at gap " + str(a.gap) + " vs " +
                     str(b.channels) + " at gap " + str(b.gap) + ")");
  if (a.sign != 1 || a.offset != 0 || b.sign != 1 || b.offset != 0)
    throw InputError("add_packed: both maps must be plain (sign 1, offset 0)");
  PackedFeatureMap out = a;
  out.clean = a.clean && b.clean;
  const int level = std::min(a.cts.front().level, b.cts.front().level);
  for (std::size_t i = 0; i < a.cts.size(); ++i)
    out.cts[i] = e.ev.add(e.ev.drop_level(a.cts[i], level), e.ev.drop_level(b.cts[i], level));
  return out;
}

// --------------------------------------------------------------------------- pooling + dense
std::size_t logit_slot(const ResNetPacking& pk, std::size_t gap, std::size_t k) {
  return (k / gap) * pk.width() + (k % gap);
}

std::vector<int> pool_dense_rotation_steps(const ResNetPacking& pk, std::size_t channels, std::size_t gap,
                                           std::size_t classes) {
  if (gap == 0 || classes == 0 || classes > gap * gap)
    throw InputError("pool_dense_packed: " + str(classes) + " classes do not fit the " + str(gap * gap) +
                     " offsets inside the final gap " + str(gap) + " (needs 1 ≤ K ≤ gap²)");
  std::set<int> steps;
  for (std::size_t k = 1; k < classes; ++k) steps.insert(-static_cast<int>(logit_slot(pk, gap, k)));
  for (int s : sum_slots_steps(pk.width() / gap, gap)) steps.insert(s);
  for (int s : sum_slots_steps(pk.height() / gap, gap * pk.width())) steps.insert(s);
  const std::size_t nsum = std::min(pk.blocks(), channels);
  for (int s : sum_slots_steps(nsum, pk.block())) steps.insert(s);
  return {steps.begin(), steps.end()};
}

Ciphertext pool_dense_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Dense& fc, ResNetCost* cost) {
  const ResNetPacking& pk = e.packing;
  require_level(in, "pool_dense_packed");
  if (fc.in != in.channels || fc.weight.size() != fc.in * fc.out || fc.bias.size() != fc.out)
    throw InputError("pool_dense_packed: the dense layer takes " + str(fc.in) + " inputs but the map has " +
                     str(in.channels) + " channels (or its weight/bias sizes are wrong)");
  pool_dense_rotation_steps(pk, in.channels, in.gap, fc.out);  // the K ≤ gap² check
  const std::size_t S = pk.slots(), B = pk.block(), nb = pk.blocks(), W = pk.width();
  const std::size_t hf = pk.height() / in.gap, wf = pk.width() / in.gap;
  const int level = in.cts.front().level;
  const double in_scale = in.cts.front().scale;
  const double q = static_cast<double>(e.ctx->q(level).value());
  const double pt_scale = e.scale * q / in_scale;
  const double area = static_cast<double>(hf * wf);
  int rotations = 0, products = 0;
  std::vector<Ciphertext> prods;  // class k's products, moved to slot δ_k by one sum_rotations below
  std::vector<int> steps;
  std::vector<double> d(S);
  for (std::size_t k = 0; k < fc.out; ++k) {
    std::optional<Ciphertext> prod;
    for (std::size_t i = 0; i < in.cts.size(); ++i) {
      std::fill(d.begin(), d.end(), 0.0);
      for (std::size_t beta = 0; beta < nb; ++beta) {
        if (in.channels < nb && beta >= in.channels) break;  // replicated map: the first copy only
        const std::size_t c = pk.channel_at(in.channels, i, beta);
        const double v = fc.weight[k * fc.in + c] * in.sign / area;
        for (std::size_t y = 0; y < hf; ++y)
          for (std::size_t x = 0; x < wf; ++x) d[beta * B + in.gap * y * W + in.gap * x] = v;
      }
      add_opt(e.ev, prod, e.ev.multiply(in.cts[i], e.enc.encode(d, level, pt_scale)));
      ++products;
    }
    prods.push_back(std::move(*prod));
    steps.push_back(-static_cast<int>(logit_slot(pk, in.gap, k)));
  }
  std::vector<const Ciphertext*> terms;
  for (const auto& p : prods) terms.push_back(&p);
  const std::optional<Ciphertext> w = rotated_sum(e, terms, steps, rotations);
  TransformCost tc;
  Ciphertext sum = sum_slots(e.ev, *w, e.gk, wf, in.gap, &tc);
  sum = sum_slots(e.ev, sum, e.gk, hf, in.gap * W, &tc);
  sum = sum_slots(e.ev, sum, e.gk, std::min(nb, in.channels), B, &tc);
  rotations += tc.rotations;
  std::fill(d.begin(), d.end(), 0.0);
  for (std::size_t k = 0; k < fc.out; ++k) {
    double v = fc.bias[k];
    for (std::size_t c = 0; c < fc.in; ++c) v += in.offset * fc.weight[k * fc.in + c];
    d[logit_slot(pk, in.gap, k)] = v;
  }
  sum = e.ev.add(sum, e.enc.encode(d, level, sum.scale));
  count(cost, rotations, products, 1);
  return e.ev.rescale(sum);
}

// -------------------------------------------------------------------------- the network walk
namespace {

/// The layer sequence of ResNetServer::infer, written once for its two users: the evaluation itself
/// and the plan of levels and scales that prepare_plaintexts encodes for. `ops` supplies the layers
/// on its Map type (channels, gap and offset members): conv(x, conv, mult, shift),
/// conv_projection(t, conv2, h, proj, mult, shift), square(z, folded), identity(h, mult, main)
/// (the identity shortcut brought to main's level), add(main, shortcut), observe(name, map).
/// Returns the last activation's map (pooling + dense is the caller's).
template <class Map, class Ops>
Map walk_resnet(const ResNet& model, const ResNetPacking& pk, Map h, Ops& ops) {
  const FoldedActivation f0 = fold_activation(model.stem_act, "stem.act");
  h = ops.square(ops.conv(h, model.stem, f0.mult, f0.shift), f0);
  ops.observe("stem.act", h);
  for (std::size_t s = 0; s < model.stages.size(); ++s)
    for (std::size_t bi = 0; bi < model.stages[s].size(); ++bi) {
      const auto& b = model.stages[s][bi];
      const std::string name = resnet_block_name(s + 1, bi + 1);
      const FoldedActivation f1 = fold_activation(b.act1, name + ".act1");
      const FoldedActivation f2 = fold_activation(b.act2, name + ".act2");
      const Map t = ops.square(ops.conv(h, b.conv1, f1.mult, f1.shift), f1);
      ops.observe(name + ".act1", t);
      Map u;
      if (b.shortcut && can_fuse_projection(pk, t.channels, t.gap, b.conv2, h.channels, h.gap, *b.shortcut)) {
        // conv2 and the projection shortcut share their channel rotations (no add)
        u = ops.conv_projection(t, b.conv2, h, *b.shortcut, f2.mult, f2.shift);
      } else if (b.shortcut) {
        const Map main = ops.conv(t, b.conv2, f2.mult, f2.shift);
        u = ops.add(main, ops.conv(h, *b.shortcut, f2.mult, 0.0));
      } else {
        // the identity's κ0 rides in conv2's shift (at the same valid positions)
        const Map main = ops.conv(t, b.conv2, f2.mult, f2.shift + f2.mult * h.offset);
        u = ops.add(main, ops.identity(h, f2.mult, main));
      }
      h = ops.square(u, f2);
      ops.observe(name + ".act2", h);
    }
  return h;
}

}  // namespace

// ------------------------------------------------------------------------------ plaintext cache
const Plaintext* ResNetPlaintextCache::find(const Key& key, int level, double scale, double factor) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  const Entry& en = it->second;
  if (en.pt.level != level || en.pt.scale != scale || en.factor != factor) return nullptr;
  ++hits_;
  return &en.pt;
}

void ResNetPlaintextCache::insert(const Key& key, Plaintext pt, double factor) {
  const double b = static_cast<double>(pt.poly.limbs() * pt.poly.n() * sizeof(std::uint64_t));
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= static_cast<double>(it->second.pt.poly.limbs() * it->second.pt.poly.n() * sizeof(std::uint64_t));
    entries_.erase(it);
  }
  bytes_ += b;
  entries_.emplace(key, Entry{std::move(pt), factor});
}

namespace {

/// One input of a planned convolution: what conv_source will see at inference.
struct PlannedSource {
  const Conv2d* conv = nullptr;
  std::size_t channels = 0, gap = 1;
  double factor = 1;  ///< mult·sign
  int level = 0;
  double pt_scale = 0;
  bool pack = false;  ///< e.pack_taps and a clean input: the taps packed into the gap
};

/// The walk of ResNetServer::infer on levels and scales only: every convolution's sources with the
/// level and plaintext scale its products use. Mirrors infer (same operations on the same doubles:
/// a product multiplies scales, a rescale divides by q_ℓ as Evaluator::rescale does).
std::vector<std::vector<PlannedSource>> plan_convolutions(const ResNet& model, const ResNetPacking& pk,
                                                          const ResNetEvalContext& e, int level, double scale) {
  struct MapState {
    std::size_t channels = 0, gap = 1;
    double sign = 1, offset = 0;
    int level = 0;
    double scale = 0;
    bool clean = true;
  };
  struct PlanOps {
    const ResNetEvalContext& e;
    std::vector<std::vector<PlannedSource>> plan;
    double q(int l) const { return static_cast<double>(e.ctx->q(l).value()); }
    PlannedSource source(const MapState& m, const Conv2d& c, double mult, int at_level) const {
      return PlannedSource{&c, m.channels, m.gap, mult * m.sign, at_level, e.scale * q(at_level) / m.scale,
                           e.pack_taps && m.clean};
    }
    // conv_sum on `in` whose first source is src.front(): products at in.scale·pt_scale, one rescale
    MapState pass(const MapState& in, std::vector<PlannedSource> src) {
      const PlannedSource& f = src.front();
      bool clean = true;
      for (const auto& s : src)
        clean = clean && tap_layout(e.packing, conv_geometry(e.packing, s.channels, s.gap, *s.conv), s.pack).cell == 1;
      const MapState out{f.conv->out_channels, f.gap * f.conv->stride, 1.0, 0.0, f.level - 1,
                         in.scale * f.pt_scale / q(f.level), clean};
      plan.push_back(std::move(src));
      return out;
    }
    MapState conv(const MapState& x, const Conv2d& c, double mult, double) { return pass(x, {source(x, c, mult, x.level)}); }
    MapState conv_projection(const MapState& t, const Conv2d& c2, const MapState& h, const Conv2d& proj, double mult,
                             double) {
      return pass(t, {source(t, c2, mult, t.level), source(h, proj, mult, t.level)});  // h dropped to t's level
    }
    MapState square(const MapState& z, const FoldedActivation& a) const {
      return MapState{z.channels, z.gap, a.sign, a.offset, z.level - 1, z.scale * z.scale / q(z.level), z.clean};
    }
    MapState identity(const MapState& h, double, const MapState& main) const {
      MapState m = main;
      m.clean = h.clean;
      return m;
    }
    MapState add(const MapState& main, const MapState& sc) const {  // add keeps main's scale
      MapState m = main;
      m.clean = main.clean && sc.clean;
      return m;
    }
    void observe(const std::string&, const MapState&) const {}
  };
  PlanOps ops{e, {}};
  walk_resnet(model, pk, MapState{model.input_channels(), 1, 1.0, 0.0, level, scale}, ops);
  return std::move(ops.plan);
}

}  // namespace

std::size_t ResNetServer::prepare_plaintexts(const ResNetEvalContext& e, int input_level, double input_scale,
                                             double max_bytes, ResNetPlaintextCache& cache) const {
  if (input_level < levels_needed())
    throw LevelError("ResNetServer::prepare_plaintexts: input level " + std::to_string(input_level) +
                     " but the network needs " + std::to_string(levels_needed()) + " levels");
  const ResNetPacking& pk = packing_;
  const auto plan = plan_convolutions(model_, pk, e, input_level, input_scale);
  const double n_bytes = static_cast<double>(e.ctx->n() * sizeof(std::uint64_t));
  std::size_t added = 0;
  for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
    // every term of this convolution pass: (source, j, r, i, tap group t)
    struct Term {
      const PlannedSource* s;
      std::size_t j, r, i, t;
    };
    std::vector<TapLayout> layouts;  // per source
    for (const auto& s : *it) layouts.push_back(tap_layout(pk, conv_geometry(pk, s.channels, s.gap, *s.conv), s.pack));
    std::vector<Term> terms;
    const PlannedSource& first = it->front();
    const ConvGeometry g0 = conv_geometry(pk, first.channels, first.gap, *first.conv);
    double bytes = 0;
    for (std::size_t j = 0; j < pk.ciphertexts(first.conv->out_channels); ++j)
      for (std::size_t r = 0; r < g0.nr; ++r)
        for (std::size_t si = 0; si < it->size(); ++si) {
          const PlannedSource& s = (*it)[si];
          const ConvGeometry g = conv_geometry(pk, s.channels, s.gap, *s.conv);
          if (r >= g.nr) continue;
          for (std::size_t i = 0; i < pk.ciphertexts(s.channels); ++i)
            for (std::size_t t = 0; t < layouts[si].groups.size(); ++t) {
              terms.push_back({&s, j, r, i, t});
              bytes += static_cast<double>(s.level + 1) * n_bytes;
            }
        }
    if (cache.bytes() + bytes > max_bytes) continue;
    std::vector<std::optional<Plaintext>> pts(terms.size());
    parallel_for(terms.size(), [&](std::size_t k) {
      const Term& tm = terms[k];
      const ConvGeometry g = conv_geometry(pk, tm.s->channels, tm.s->gap, *tm.s->conv);
      const TapLayout& tl = layouts[static_cast<std::size_t>(tm.s - it->data())];
      const auto inside = tap_positions(pk, g, tl.taps);
      std::vector<double> buf(pk.slots());
      if (term_weights(pk, *tm.s->conv, tm.s->channels, tm.s->factor, tl, tm.t, inside, tm.j, tm.r, tm.i, buf))
        pts[k] = e.enc.encode(buf, tm.s->level, tm.s->pt_scale);
    });
    for (std::size_t k = 0; k < terms.size(); ++k)
      if (pts[k]) {
        const TapLayout& tl = layouts[static_cast<std::size_t>(terms[k].s - it->data())];
        cache.insert({terms[k].s->conv, terms[k].j, terms[k].r, terms[k].i, terms[k].t, tl.cell}, std::move(*pts[k]),
                     terms[k].s->factor);
        ++added;
      }
  }
  return added;
}

// ------------------------------------------------------------------------------------ server
double ResNetTimings::total_seconds() const {
  double t = 0;
  for (const auto& [k, v] : seconds) t += v;
  return t;
}

ResNetServer::ResNetServer(ResNet model, ResNetPacking packing) : model_(std::move(model)), packing_(packing) {
  if (model_.blocks_per_stage() == 0) throw InputError("ResNetServer: the model is empty (not loaded)");
  rotation_steps();  // every shape check, before any key exists
  fold_activation(model_.stem_act, "stem.act");
  for (std::size_t s = 0; s < model_.stages.size(); ++s)
    for (std::size_t b = 0; b < model_.stages[s].size(); ++b) {
      const std::string n = resnet_block_name(s + 1, b + 1);
      fold_activation(model_.stages[s][b].act1, n + ".act1");
      fold_activation(model_.stages[s][b].act2, n + ".act2");
    }
}

int ResNetServer::levels_needed() const {
  std::size_t blocks = 0;
  for (const auto& st : model_.stages) blocks += st.size();
  return static_cast<int>(2 + 4 * blocks + 1);
}

std::size_t ResNetServer::final_gap() const {
  std::size_t gap = model_.stem.stride;
  for (const auto& st : model_.stages)
    for (const auto& b : st) gap *= b.conv1.stride;
  return gap;
}

std::map<int, int> ResNetServer::rotation_levels(bool pack_taps, int input_level, std::size_t input_baby_steps,
                                                 int min_level) const {
  if (input_level < levels_needed())
    throw LevelError("ResNetServer::rotation_levels: input level " + std::to_string(input_level) +
                     " but the network needs " + std::to_string(levels_needed()) + " levels");
  // the walk of infer on shapes, cleanliness and levels only, collecting each convolution's steps
  struct Shape {
    std::size_t channels = 0, gap = 1;
    double offset = 0;
    bool clean = true;
    int level = 0;
  };
  struct StepOps {
    const ResNetPacking& pk;
    bool pack;
    std::size_t n1;  // input_baby_steps
    int min_level;   // input_baby_steps_min_level
    std::map<int, int> levels;
    void use(const std::vector<int>& steps, int level) {
      for (int s : steps)
        if (s != 0) levels[s] = std::max(levels.count(s) ? levels[s] : level, level);
    }
    bool packed(const Shape& x, const Conv2d& c) const {
      return tap_layout(pk, conv_geometry(pk, x.channels, x.gap, c), pack && x.clean).cell > 1;
    }
    // lazy: conv_sum_lazy's steps (the taps not packed and n1 > 0; conv_source's rule)
    Shape conv_at(const Shape& x, const Conv2d& c, int level, bool lazy) {
      use(conv_rotation_steps(pk, x.channels, x.gap, c, pack && x.clean, lazy ? n1 : 0), level);
      return Shape{c.out_channels, x.gap * c.stride, 0.0, !packed(x, c), level - 1};
    }
    Shape conv(const Shape& x, const Conv2d& c, double, double) {
      return conv_at(x, c, x.level, !packed(x, c) && x.level >= min_level);
    }
    Shape conv_projection(const Shape& t, const Conv2d& c2, const Shape& h, const Conv2d& proj, double, double) {
      // both sources or neither (conv_projection_packed), at conv2's level
      const bool lazy = !packed(t, c2) && !packed(h, proj) && t.level >= min_level;
      conv_at(h, proj, t.level, lazy);  // the shortcut's input is dropped to t's level
      return conv_at(t, c2, t.level, lazy);
    }
    Shape square(const Shape& z, const FoldedActivation&) const {
      Shape s = z;
      s.level = z.level - 1;
      return s;
    }
    Shape identity(const Shape& h, double, const Shape& main) const {
      Shape s = h;
      s.level = main.level;
      return s;
    }
    Shape add(const Shape& main, const Shape& sc) const {
      Shape s = main;
      s.clean = main.clean && sc.clean;
      return s;
    }
    void observe(const std::string&, const Shape&) const {}
  };
  StepOps ops{packing_, pack_taps, input_baby_steps, min_level, {}};
  const Shape last =
      walk_resnet(model_, packing_, Shape{model_.stem.in_channels, 1, 0.0, true, input_level}, ops);
  ops.use(pool_dense_rotation_steps(packing_, last.channels, last.gap, model_.fc.out), last.level);
  return ops.levels;
}

std::vector<int> ResNetServer::rotation_steps(bool pack_taps, std::size_t input_baby_steps, int min_level) const {
  std::vector<int> steps;
  for (const auto& [s, level] : rotation_levels(pack_taps, levels_needed(), input_baby_steps, min_level))
    steps.push_back(s);
  return steps;
}

std::vector<std::vector<double>> ResNetServer::pack_input(const std::vector<float>& image) const {
  const std::size_t c = model_.input_channels(), h = packing_.height(), w = packing_.width();
  if (image.size() != c * h * w)
    throw InputError("ResNetServer::pack_input: the image has " + str(image.size()) + " values, expected " + str(c) +
                     "×" + str(h) + "×" + str(w) + " = " + str(c * h * w) +
                     " (pad 28×28 Fashion-MNIST images to 32×32 with pad_fashion_mnist_to_32)");
  return packing_.pack(FeatureMap::from_values(image, c, h, w), 1);
}

std::vector<double> ResNetServer::unpack_logits(const std::vector<double>& slots) const {
  std::vector<double> out(model_.num_classes());
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::size_t s = logit_slot(packing_, final_gap(), k);
    if (s >= slots.size()) throw InputError("ResNetServer::unpack_logits: too few slots (" + str(slots.size()) + ")");
    out[k] = slots[s];
  }
  return out;
}

Ciphertext ResNetServer::infer(const ResNetEvalContext& e, const std::vector<Ciphertext>& input, ResNetTimings* timings,
                               const Observer& observe) const {
  const std::size_t n_in = packing_.ciphertexts(model_.input_channels());
  if (input.size() != n_in)
    throw InputError("ResNetServer::infer: " + str(input.size()) + " input ciphertexts, expected " + str(n_in));
  if (input.front().level < levels_needed())
    throw LevelError("ResNetServer::infer: the input is at level " + std::to_string(input.front().level) + " but the " +
                     "network needs " + std::to_string(levels_needed()) + " levels; encrypt at a higher level or use a "
                     "longer chain (resnet_params(" + std::to_string(levels_needed()) + "))");
  std::vector<int> need;  // the steps of this input's level (input_baby_steps_min_level is a level)
  for (const auto& [s, l] :
       rotation_levels(e.pack_taps, input.front().level, e.input_baby_steps, e.input_baby_steps_min_level))
    need.push_back(s);
  std::vector<int> missing;
  for (int s : need)
    if (!e.gk.has(e.ctx->galois_element(s))) missing.push_back(s);
  if (!missing.empty()) {
    std::string m;
    for (int s : missing) m += (m.empty() ? "" : ", ") + std::to_string(s);
    throw MissingKeyError("ResNetServer::infer: no Galois key for rotation steps " + m +
                          "; generate the keys for ResNetServer::rotation_steps(" +
                          std::string(e.pack_taps ? "true" : "false") + ", " + str(e.input_baby_steps) + ", " +
                          std::to_string(e.input_baby_steps_min_level) + ")");
  }
  ResNetTimings local;
  ResNetTimings& tm = timings ? *timings : local;
  auto timed = [&](const char* kind, auto&& f) {
    const auto t0 = Clock::now();
    const std::clock_t c0 = std::clock();
    auto r = f(&tm.cost[kind]);
    tm.seconds[kind] += seconds_since(t0);
    tm.cpu_seconds[kind] += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    return r;
  };
  struct InferOps {
    const ResNetEvalContext& e;
    decltype(timed)& time_layer;
    const Observer& observe_fn;
    PackedFeatureMap conv(const PackedFeatureMap& x, const Conv2d& c, double m, double s) {
      return time_layer("conv", [&](ResNetCost* cc) { return conv_packed(e, x, c, m, s, cc); });
    }
    PackedFeatureMap conv_projection(const PackedFeatureMap& t, const Conv2d& c2, const PackedFeatureMap& h,
                                     const Conv2d& proj, double m, double s) {
      return time_layer("conv", [&](ResNetCost* cc) { return conv_projection_packed(e, t, c2, h, proj, m, s, cc); });
    }
    PackedFeatureMap square(const PackedFeatureMap& z, const FoldedActivation& f) {
      return time_layer("activation", [&](ResNetCost* cc) { return square_packed(e, z, f, cc); });
    }
    PackedFeatureMap identity(const PackedFeatureMap& h, double m, const PackedFeatureMap& main) {
      const int level = main.cts.front().level;
      return time_layer("shortcut", [&](ResNetCost* cc) { return scale_shortcut(e, h, m, level, cc); });
    }
    PackedFeatureMap add(const PackedFeatureMap& main, const PackedFeatureMap& sc) {
      return time_layer("shortcut", [&](ResNetCost*) { return add_packed(e, main, sc); });
    }
    void observe(const std::string& name, const PackedFeatureMap& m) const {
      if (observe_fn) observe_fn(name, m);
    }
  };
  InferOps ops{e, timed, observe};
  const PackedFeatureMap h =
      walk_resnet(model_, packing_, PackedFeatureMap{input, model_.input_channels(), 1, 1.0, 0.0}, ops);
  return timed("pool_dense", [&](ResNetCost* cc) { return pool_dense_packed(e, h, model_.fc, cc); });
}

// -------------------------------------------------------------------------------- parameters
double key_switch_cost(int level, int max_level, int dnum, int num_special) {
  if (max_level < 0 || level < 0 || level > max_level)
    throw ParameterError("key_switch_cost: level " + std::to_string(level) + " is outside 0.." +
                         std::to_string(max_level) + "; give a level of the chain");
  if (dnum < 1 || dnum > max_level + 1)
    throw ParameterError("key_switch_cost: dnum " + std::to_string(dnum) + " is outside 1.." +
                         std::to_string(max_level + 1) + " (the number of data primes)");
  if (num_special < 1)
    throw ParameterError("key_switch_cost: " + std::to_string(num_special) + " special primes; give at least 1");
  constexpr double kProductPerNtt = 0.87;  // one limb of base-conversion products / one limb NTT (fit, header)
  const long n = level + 1, k = num_special;
  const long alpha = (max_level + 1 + dnum - 1) / dnum;
  long ntts = n + 2 * k + 2 * n, products = 2 * k * (n + 1);
  for (long lo = 0; lo < n; lo += alpha) {
    const long a = std::min(alpha, n - lo);
    ntts += n + k - a;
    products += a * (n + k - a);
  }
  return static_cast<double>(ntts) + kProductPerNtt * static_cast<double>(products);
}

Params resnet_params(int levels, double key_growth) {
  if (!(key_growth >= 1.0))
    throw ParameterError("resnet_params: key_growth " + std::to_string(key_growth) +
                         " is below 1; give 1 for the smallest keys or more to allow larger, faster ones");
  constexpr int kMaxDnum = 5;  // bounds key size and key-switching cost: dnum·(L+1+k) words per key polynomial
  const int bound = max_log_qp_128(16);
  for (int s = 40; s >= 25; --s) {
    const int q0 = std::min(60, s + 20);
    const int base = q0 + levels * s;
    struct Option {
      int k, dnum;
      long key;
      double cost;
    };
    std::vector<Option> options;
    for (int k = 1; k <= 30 && base + 60 * k <= bound; ++k) {
      const int P = 60 * k;
      if (q0 + 2 > P) continue;
      const int alpha = (P - 2 - q0) / s + 1;  // primes per digit: q_0 + (α−1)·s ≤ P − 2
      const int dnum = (levels + 1 + alpha - 1) / alpha;
      if (dnum > kMaxDnum) continue;
      double cost = 0;
      for (int l = 1; l <= levels; ++l) cost += key_switch_cost(l, levels, dnum, k);
      options.push_back({k, dnum, static_cast<long>(dnum) * (levels + 1 + k), cost});
    }
    if (options.empty()) continue;
    long min_key = options.front().key;
    for (const Option& o : options) min_key = std::min(min_key, o.key);
    const Option* best = nullptr;
    for (const Option& o : options) {
      if (static_cast<double>(o.key) > key_growth * static_cast<double>(min_key)) continue;
      if (!best || o.cost < best->cost || (o.cost == best->cost && o.key < best->key)) best = &o;
    }
    Params p;
    p.log_n = 16;
    p.log_q.assign(1, q0);
    p.log_q.insert(p.log_q.end(), static_cast<std::size_t>(levels), s);
    p.log_p.assign(static_cast<std::size_t>(best->k), 60);
    p.log_scale = s;
    p.dnum = best->dnum;
    return p;
  }
  throw ParameterError("resnet_params: " + std::to_string(levels) + " levels do not fit a 128-bit-secure chain at "
                       "N = 2^16 (log QP ≤ " + std::to_string(bound) + ") with Δ ≥ 2^25 and dnum ≤ " +
                       std::to_string(kMaxDnum) + "; use a shallower network");
}

}  // namespace ckks::ml

// Encrypted ResNet inference, leveled (no bootstrapping): the quadratic-activation networks of
// ml/resnet/resnet_plain.h evaluated on one encrypted image with the public ckks/ API only.
//
// ---------------------------------------------------------------------------------------------
// Packing ("gapped channel blocks"). Fix the input grid H × W (32 × 32 for the committed models;
// H·W = B must be a power of two) and the slot count S = N/2. The slots of a ciphertext are read
// as nb = S/B blocks of B slots; block β holds one channel as an H × W grid, row-major. A feature
// map with C channels of size (H/g) × (W/g) — "gap" g — puts value (c, y, x) at grid position
// (g·y, g·x) of its channel's block; every other grid position holds 0. So a stride-2
// convolution does not move data: it doubles the gap (its outputs sit at every second position
// of the input's valid positions). This is the gap idea of Lee et al.'s multiplexed packing
// [Lee22MPC] (the idea from its abstract; docs/references.md says what was read) without
// their multiplexing: instead of interleaving 4 channels
// into the gaps (which needs a repacking step), a map with more channels than blocks uses several
// ciphertexts. Departure: costs more slots (stage 3 of the ResNets needs 2 ciphertexts of 32
// blocks at N = 2^16), in exchange for rotations and masks that can be read off the formulas below.
//   * C ≤ nb: one ciphertext; block β holds channel β mod C (the map is repeated nb/C times, so a
//     rotation by a multiple of B is cyclic modulo C·B, as the channel rotations need).
//   * C > nb: C/nb ciphertexts; block β of ciphertext i holds channel i·nb + β.
// C and nb must be powers of two (or C a multiple of nb).
//
// Convolution (stride s ∈ {1, 2}, k × k kernel with padding (k−1)/2, input gap g, output gap g·s):
//   out(o, p) = Σ_{c, tap t} w[o][c][t] · in(c, p + g·off_t),   off_t = (ky − pad)·W + (kx − pad),
// p a valid output grid position (zero padding = the tap's position falls outside the grid). One
// hoisted rotation of each input ciphertext per tap (rot by g·off_t; Evaluator::rotate_hoisted
// [HS18] (hoisting)) gives y_t with y_t(c, p) = in(c, p + g·off_t) wherever the tap
// is inside the grid. The channel sum is the diagonal method [HS14, §4.3] on blocks: with
// r = (c − o) mod (channel period),
//   out = Σ_r rot_{r·B}( u_r ),   u_r = Σ_{i, t} d_{i,t,r} ⊙ y_{i,t},
// where the plaintext d_{i,t,r} holds, in the block β = α + r that rotates onto output block α,
// the weight w[o(α)][c(i, β)][t] at every valid output position p whose tap t is inside the grid
// (0 elsewhere — this one mask does zero padding, the stride, and the cross-block spill of y_t).
// The rotations of the u_r are grouped baby-step giant-step (r = G·n1 + b):
//   out = Σ_G rot_{G·n1·B}( Σ_b rot_{b·B}(u_{G·n1+b}) ),
// which costs the same nr − 1 rotations as rotating every u_r directly but needs only
// (n1 − 1) + (nr/n1 − 1) Galois keys. Each baby-step sum and the giant-step sum is one
// Evaluator::sum_rotations: every rotation keeps its own ModUp and key inner product, but a sum
// divides by P once, so an output ciphertext pays nr/n1 + 1 ModDowns instead of nr − 1 (the taps'
// hoisted rotations keep theirs: each y_{i,t} is reused by all nr products, so a ModDown per tap is
// the cheaper place for it; Evaluator::rotate_sum, which defers that ModDown too, would need one
// per u_r). The u_r are independent and are computed on all hardware threads
// (std::thread::hardware_concurrency); they are added in a fixed order, so the result does not
// depend on the number of threads. Cost per output ciphertext: taps·(input ciphertexts) plaintext
// products and nr − 1 rotations (nr = min(C_in, nb)), plus taps − 1 hoisted rotations per input
// ciphertext; 1 level.
//
// Taps packed into the gap (ResNetEvalContext::pack_taps; our own method, not from a paper). At input
// gap g ≥ 2 a map uses one grid position in every g × g cell; the other g² − 1 are 0 when the map is
// "clean" (PackedFeatureMap::clean). Up to g² taps then share one ciphertext: tap t gets its own
// sub-position s_t = sx + W·sy (0 ≤ sx, sy < g, distinct within its group) and is rotated by
// g·off_t − s_t instead of g·off_t, so that
//   Y_G = Σ_{t ∈ G} rot_{g·off_t − s_t}(in)   holds in(c, p + g·off_t) at slot p + s_t
// for every tap t of the group G and valid output position p — any other tap t′ of the group brings
// in(p + g·off_t′ + s_t − s_t′), an off-grid slot (s_t − s_t′ is not a multiple of g in some
// coordinate), which is 0 in a clean map. At the grid's border that argument fails in the slot
// index (a tap that leaves the grid to the right wraps into the next row, and a partner one row up
// in the cell lands back on a valid slot), so the sub-positions are assigned tap by tap, each to
// the first group and free sub-position where no such read hits a valid slot at a position where
// the weight is nonzero (checked slot by slot), else to a new group. One plaintext per group then
// carries every tap's weight at
// its sub-position (d_{i,G,r}: w[o][c][t] at p + s_t where tap t is inside the grid), so
//   u_r = Σ_{i, G} d_{i,G,r} ⊙ Y_{i,G}
// needs one product per group and (i, r) instead of k² (3×3 taps, 32 × 32 grid: 1 group at g = 4,
// 3 at g = 2 — at least ⌈k²/g²⌉), and the
// channel rotations are unchanged. What lands at p + s_t belongs to output position p: after the
// block rotations a cell sum Σ_{0 ≤ sx, sy < g} rot_{sx + W·sy} (2·log2 g rotations by 1, 2, …, g/2
// and W, 2W, …, (g/2)·W, rotate-and-add) collects it at p. The cell sum leaves partial sums on the
// off-grid slots, so the output is not clean: every layer reads only valid positions except a
// tap-packed convolution, and conv_packed packs the taps only of a clean input (a standard
// convolution's output, its square, a fresh encryption), so in a residual block conv1 (input:
// the previous block's output) stays standard and conv2 (input: act1 of conv1, clean) is packed.
// Same level (one plaintext product), the same channel rotations; per input ciphertext the same
// k² − 1 tap rotations (with other steps, so other Galois keys: ResNetServer::rotation_steps lists
// them), now summed per group by Evaluator::rotate_sums (one ModUp, one ModDown per group instead of
// one per tap), plus 2·log2 g cell-sum rotations per output ciphertext.
//
// Block rotations hoisted on the input (ResNetEvalContext::input_baby_steps = n1; double hoisting
// [BMTH21] applied to the block rotations, cross-read: Lattigo's BSGS linear transform, which
// rotates its input by the baby steps with one hoisted decomposition and sums the products over
// Q_ℓ·P). Rotations commute with slot-wise products after both are rotated: with r = G·n1 + b,
//   rot_{r·B}(d_{i,t,r} ⊙ y_{i,t}) = rot_{G·n1·B}( rot_{b·B}(d_{i,t,r}) ⊙ rot_{b·B + off_t}(x_i) ),
// so out = Σ_G rot_{G·n1·B}(V_G), V_G = Σ_{i,b,t} rot_{b·B}(d_{i,t,r}) ⊙ rot_{b·B+off_t}(x_i). The n1·k²
// rotations of each x_i share one ModUp (Evaluator::hoist) and stay over Q_ℓ·P (Evaluator::rotate_lazy:
// each key inner product computed once, reused by every G and output ciphertext), the products use
// plaintexts encoded over Q_ℓ·P (Encoder::encode_extended; the weights rotated by b·B before encoding,
// which costs nothing), each V_G pays one ModDown, and the giant steps one sum_rotations. Per output
// ciphertext: nr/n1 − 1 ModUps (giant steps) instead of nr − 1, plus one per input ciphertext instead
// of k² − 1 tap ModDowns; the same products, each over k more limbs. Galois keys: n1·k² − 1 + nr/n1 − 1
// per gap instead of k² − 1 + (n1′ − 1) + (nr/n1′ − 1) (n1′ the standard path's baby steps). Only for
// convolutions whose taps are not packed (a packed group shares one weight, which this form would split
// into one product per tap); a projection shortcut fused into conv2 takes it only if conv2 does too.
// And only from a level on (ResNetEvalContext::input_baby_steps_min_level): every product pays k more
// limbs, encoded and multiplied, so where products dominate (low levels, several ciphertexts per map) the
// ModUps saved do not pay for them. Measured (bench_ml, ResNet-20's chain, k = 5, n1 = 2, one process per
// entry; bench/README.md): CPU −5 to −11 % at ℓ = 37 (16 → 16 channels), −4 % at ℓ = 25 (16 → 32,
// stride 2), +11 % at ℓ = 23 (32 → 32), +43 % at ℓ = 11 (64 → 64, two ciphertexts in and out);
// ckks-ml resnet --input-baby-steps takes it where ℓ + 1 ≥ 5k. On whole ResNet-20 images the gain does
// not show (docs/ml.md, issue 19 part 8), so it is off by default.
//
// Activation by weight redistribution [Chielle25: "node fusing" and "weight
// redistribution" — only the names and purpose are verified there (abstract); the algebra below
// is ours]. For act(t) = a·t² + b·t + c with a ≠ 0, let m = √|a|, σ = sign(a):
//   act(t) = σ·z² + κ,   z = m·(t + b/(2a)),   κ = c − b²/(4a).
// The convolution feeding the activation produces z directly (its weights and bias times m, plus
// the shift m·b/(2a) at valid positions), the activation is one square (1 level, no constant
// products), and σ, κ travel with the map ("lazy affine": value = σ·slot + κ at valid positions)
// until the next linear layer absorbs them (weights × σ; κ times the sum of the weights of the
// taps inside the grid into the bias — position-dependent at the borders). So conv + activation
// cost 2 levels, the minimum for a degree-2 activation after a plaintext product.
// Precision note: when |a| is small the shift b/(2a) is large and σ·z² + κ cancels; the absolute
// error of the activation is then about 2|z| times that of z (measured in the tests and in
// ckks-ml resnet; log2 of the logit error is reported).
//
// Residual block y = act2(conv2(act1(conv1(x))) + shortcut(x)): conv2 produces m2·conv2(·) plus
// the shift; the shortcut branch is brought to the same scale and level — the identity (x in lazy
// form σ0·s + κ0) by one constant product m2·σ0 on its spare levels (κ0 goes into conv2's bias),
// a projection shortcut by its own 1×1 stride-2 convolution with weights × m2 — and then added.
// The projection shortcut rides inside conv2 (conv_projection_packed): x is dropped to conv2's
// level, its products are encoded to land on conv2's product scale Δ·q_ℓ, and they join conv2's
// channel-rotation terms u_r before the block rotations, which are linear: one set of nr − 1
// rotations serves both, and the shortcut's products use conv2's fewer limbs.
//
// Weight plaintexts once per model (ResNetPlaintextCache): the plaintexts d_{i,t,r} depend only on
// the model, the level and the scale of their product, all known before an image arrives (the walk
// of infer on levels and scales), so ResNetServer::prepare_plaintexts can encode them ahead in
// evaluation form; infer takes one only on an exact (level, scale, weight factor) match, so the
// ciphertexts are bit-identical to fresh encodes. Memory (ℓ + 1)·N·8 bytes each: about 7.9 GiB for
// every plaintext of ResNet-8 at N = 2^16, far more for ResNet-20, hence a byte budget.
// Every product lands on the scale Δ exactly (plaintexts encoded at Δ·q_ℓ / scale_in, as
// ml/exact_scale.h), so both branches meet with equal scales and only a level drop is needed.
//
// Pooling + dense layer, one level: for class k the plaintext holds fc.w[k][c]·σ/(h·w) at every
// valid position of channel c; the K products are moved to K distinct offsets inside the gap
// (rotation right by δ_k = (k div g)·W + (k mod g), needs K ≤ g²), added (the K − 1 rotations and
// the sum by one Evaluator::sum_rotations, one ModDown), and summed over the valid
// positions and blocks by rotate-and-add (ckks::sum_slots) along x, y and the blocks. Logit k ends in
// slot δ_k of the output; the bias fc.b[k] + κ·Σ_c fc.w[k][c] is added there.
//
// Levels: stem 2, each block 4, pooling + dense 1: 15 for ResNet-8, 39 for ResNet-20.
// ---------------------------------------------------------------------------------------------
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keys.h"
#include "ckks/params.h"
#include "ml/resnet/resnet_plain.h"

namespace ckks::ml {

/// The geometry of the packing (file comment): grid H × W and S slots. Pure, public (the client
/// packs and unpacks with it; the server plans with it).
class ResNetPacking {
 public:
  /// Throws InputError unless height·width is a power of two ≤ slots and slots is a power of two.
  ResNetPacking(std::size_t height, std::size_t width, std::size_t slots);

  std::size_t height() const { return h_; }
  std::size_t width() const { return w_; }
  std::size_t slots() const { return s_; }
  std::size_t block() const { return h_ * w_; }       ///< B = H·W slots per channel block
  std::size_t blocks() const { return s_ / block(); }  ///< nb = S / B blocks per ciphertext

  /// Ciphertexts a map with `channels` channels needs: 1 if channels ≤ nb, else channels / nb.
  /// Throws InputError unless channels is a power of two (≥ 1) or, when above nb, a multiple of nb.
  std::size_t ciphertexts(std::size_t channels) const;
  /// The channel held in block β of ciphertext i for a map with `channels` channels: β mod C when
  /// C ≤ nb (replicated map), else i·nb + β. Preconditions (unchecked): β < nb, i < ciphertexts(C).
  std::size_t channel_at(std::size_t channels, std::size_t i, std::size_t beta) const;

  /// The slot vectors (one per ciphertext, S values each) of a C × (H/gap) × (W/gap) map.
  /// Throws InputError if the map's size is not (H/gap) × (W/gap), or as ciphertexts().
  std::vector<std::vector<double>> pack(const FeatureMap& map, std::size_t gap) const;
  /// The inverse: reads the valid positions of decoded slot vectors as a channels × (H/gap) ×
  /// (W/gap) map, each value v turned into sign·v + offset (the lazy affine form).
  /// Throws InputError if the number or length of the vectors does not match.
  FeatureMap unpack(const std::vector<std::vector<double>>& slots, std::size_t channels,
                    std::size_t gap, double sign = 1, double offset = 0) const;

 private:
  std::size_t h_, w_, s_;
};

/// An encrypted feature map in the packing above: value (c, y, x) = sign·(slot) + offset, the slot
/// of ciphertext i, block β (channel_at(channels, i, β) = c), grid position (gap·y, gap·x).
struct PackedFeatureMap {
  std::vector<Ciphertext> cts;
  std::size_t channels = 0;
  std::size_t gap = 1;
  double sign = 1;    ///< σ of the lazy affine form (±1)
  double offset = 0;  ///< κ of the lazy affine form
  /// True when every off-grid slot is 0 (a fresh encryption of ResNetPacking::pack, a standard
  /// convolution's output, a square or scaled shortcut of a clean map, a sum of clean maps); false
  /// after a tap-packed convolution (file comment), whose cell sums leave partial sums there.
  bool clean = true;
};

/// Client side: one ciphertext per slot vector (the output of ResNetPacking::pack or
/// ResNetServer::pack_input, S values each), encoded at `level` and scale `scale` with N/2 slots and
/// encrypted. Throws what Encoder::encode throws (LevelError for a level outside [0, L], ScaleError
/// if a value·scale reaches Q_ℓ/2, InputError for a non-finite value).
std::vector<Ciphertext> encrypt_packed(const Encoder& enc, Encryptor& encryptor,
                                       const std::vector<std::vector<double>>& slots, int level, double scale);

/// Client side: decrypts and decodes every ciphertext of `map` and reads its valid positions as a
/// channels × (H/gap) × (W/gap) map, lazy sign and offset applied (ResNetPacking::unpack).
/// Throws ParameterError if a ciphertext belongs to another Context than the decryptor's, and
/// InputError as ResNetPacking::unpack.
FeatureMap decrypt_packed(const ResNetPacking& packing, const Encoder& enc, const Decryptor& decryptor,
                          const PackedFeatureMap& map);

/// The activation folded for weight redistribution: act(t) = sign·(mult·t + shift)² + offset.
struct FoldedActivation {
  double mult = 1;    ///< m = √|a|
  double shift = 0;   ///< m·b/(2a)
  double sign = 1;    ///< sign(a)
  double offset = 0;  ///< κ = c − b²/(4a)
};
/// Throws InputError if a = 0 or a coefficient is not finite (naming the layer `name`): a linear
/// activation cannot be evaluated as a square.
FoldedActivation fold_activation(const QuadraticActivation& act, const std::string& name);

/// Rotations, products and levels one layer spent (filled by the layer functions).
struct ResNetCost {
  int rotations = 0;
  int plaintext_products = 0;
  int levels = 0;
  ResNetCost& operator+=(const ResNetCost& o) {
    rotations += o.rotations;
    plaintext_products += o.plaintext_products;
    levels += o.levels;
    return *this;
  }
};

/// Weight plaintexts of the convolutions encoded ahead of time (ResNetServer::prepare_plaintexts),
/// in evaluation form at exactly the level and scale each product uses, so an inference encodes
/// none of them. A term is identified by its convolution (the Conv2d of the server's model), output
/// ciphertext j, channel rotation r, input ciphertext i and tap t; conv_packed and
/// conv_projection_packed take a stored plaintext only if its level, scale and weight factor
/// (mult·sign) are the ones they would encode with, so a stored plaintext is bit-identical to the
/// fresh encode it replaces and the ciphertexts do not change. Memory: (ℓ + 1)·N·8 bytes each.
/// Read-only after filling: safe to share between threads. Keys hold the addresses of the model's
/// Conv2d: use a cache only with the ResNetServer that filled it, while that server lives.
class ResNetPlaintextCache {
 public:
  struct Key {
    const Conv2d* conv = nullptr;
    std::size_t j = 0, r = 0, i = 0, t = 0;  ///< t: the tap, or the tap group when cell > 1
    std::size_t cell = 1;                      ///< g when the taps are packed into the gap, else 1
    auto operator<=>(const Key&) const = default;
  };
  /// The stored plaintext of `key` if it was encoded at this level, scale and factor (exact double
  /// comparison), else nullptr. No errors.
  const Plaintext* find(const Key& key, int level, double scale, double factor) const;
  /// Stores pt (replacing an earlier one of the same key). No errors.
  void insert(const Key& key, Plaintext pt, double factor);
  std::size_t size() const { return entries_.size(); }
  /// How many times find has returned a stored plaintext (all threads).
  std::size_t hits() const { return hits_.load(); }
  /// Bytes held by the stored polynomials: Σ (ℓ + 1)·N·8.
  double bytes() const { return bytes_; }

 private:
  struct Entry {
    Plaintext pt;
    double factor = 0;
  };
  std::map<Key, Entry> entries_;
  double bytes_ = 0;
  mutable std::atomic<std::size_t> hits_{0};
};

/// The keys and helpers every layer needs (the server's view: no secret key).
struct ResNetEvalContext {
  ContextPtr ctx;
  const Evaluator& ev;
  const Encoder& enc;
  const GaloisKeys& gk;
  const RelinKey& rk;
  ResNetPacking packing;
  double scale;  ///< Δ: every layer's output lands on exactly this scale
  /// Weight plaintexts encoded ahead of time (may be null: every plaintext is encoded when used).
  const ResNetPlaintextCache* plaintexts = nullptr;
  /// Pack the taps of a convolution into the gap when its input is clean and its gap ≥ 2 (file
  /// comment, "Taps packed into the gap"): fewer products, other rotation steps (generate the keys of
  /// conv_rotation_steps / ResNetServer::rotation_steps with the same setting). False: one product
  /// per tap, every output clean.
  bool pack_taps = false;
  /// n1 > 0: the convolutions whose taps are not packed hoist their block rotations on the input
  /// (file comment, "Block rotations hoisted on the input"): one ModUp per input ciphertext for its
  /// n1·k² rotations by b·B + off_t, the products over Q_ℓ·P, nr/n1 − 1 giant-step rotations per
  /// output ciphertext. Other Galois keys (conv_rotation_steps / ResNetServer::rotation_steps with the
  /// same n1); the plaintext cache is not read on that path. 0: every convolution as conv_sum.
  std::size_t input_baby_steps = 0;
  /// That path only for convolutions whose input is at level ≥ this (its products over Q_ℓ·P cost
  /// k/(ℓ+1) more, which at low levels outweighs the ModUps it saves: file comment).
  int input_baby_steps_min_level = 0;
};

/// The rotation steps conv_packed uses for this input map shape (taps at the input gap and the
/// block baby/giant steps; with `pack_taps` — e.pack_taps and a clean input — and a gap ≥ 2, the
/// packed taps' steps g·off_t − s_t and the cell sum's instead; with input_baby_steps = n1 > 0 and
/// taps not packed, b·B + off_t for b < n1 and the giant steps G·n1·B instead); 0 excluded. Throws
/// as conv_packed's shape checks.
std::vector<int> conv_rotation_steps(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap,
                                     const Conv2d& conv, bool pack_taps = false, std::size_t input_baby_steps = 0);

/// out = mult·conv(in) + shift at the valid output positions, where conv reads the lazy value
/// sign·slot + offset of `in` (formulas in the file comment). Input: in.cts at one level ℓ ≥ 1, any
/// scale; output: channels = conv.out_channels, gap = in.gap·stride, sign 1, offset 0, level ℓ − 1,
/// scale exactly e.scale; off-grid slots 0 (clean) unless the taps were packed (e.pack_taps, in.clean
/// and in.gap ≥ 2: then out.clean = false).
/// Cost: see the file comment (`cost` gets rotations, products and 1 level; may be null).
/// Throws InputError if in.channels ≠ conv.in_channels, the kernel is not odd with padding
/// (k−1)/2, the stride is not 1 or 2, or the map is too small to stride; LevelError at level 0;
/// MissingKeyError if gk lacks a step of conv_rotation_steps.
PackedFeatureMap conv_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv,
                             double mult, double shift, ResNetCost* cost = nullptr);

/// Whether conv_projection_packed can take this pair: the projection shortcut `proj` of a
/// sc_channels-channel map at gap sc_gap produces the shape of `conv` on an in_channels-channel map at
/// gap in_gap (same output channels and gap) and needs no more channel rotations
/// (min(sc_channels, nb) ≤ min(in_channels, nb)). True for the ResNets' downsampling blocks. Throws
/// as conv_packed's shape checks for either convolution.
bool can_fuse_projection(const ResNetPacking& pk, std::size_t in_channels, std::size_t in_gap, const Conv2d& conv,
                         std::size_t sc_channels, std::size_t sc_gap, const Conv2d& proj);

/// mult·(conv(in) + proj(sc_in)) + shift: a residual block's second convolution and its projection
/// shortcut in one pass. sc_in (level ≥ in's, any scale) is dropped to in's level ℓ, its products
/// are encoded so that they land on the same scale Δ·q_ℓ as conv's, and they are added into the
/// same channel-rotation terms u_r before the baby- and giant-step rotations (file comment), so the
/// shortcut costs its taps·(input ciphertexts)·min(sc_channels, nb) products at level ℓ and only
/// its nonzero tap rotations (none for a 1 × 1 kernel) instead of its own nr − 1 block rotations
/// per output ciphertext and products at its higher level. Lazy sign/offset of either input are
/// folded as in conv_packed. Output as conv_packed's (level ℓ − 1, scale exactly e.scale).
/// Throws InputError unless can_fuse_projection holds (message names both shapes), as conv_packed
/// for either input, and LevelError if sc_in is below in's level.
PackedFeatureMap conv_projection_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Conv2d& conv,
                                        const PackedFeatureMap& sc_in, const Conv2d& proj, double mult, double shift,
                                        ResNetCost* cost = nullptr);

/// The activation after a convolution that produced z = mult·t + shift (fold_activation): each
/// ciphertext squared, relinearised and rescaled; the result carries sign and offset of `f`.
/// Level ℓ − 1, scale (input scale)²/q_ℓ; 0 rotations, 1 relinearisation per ciphertext.
/// Throws LevelError at level 0; InputError if z carries a lazy sign/offset (it must come straight
/// from conv_packed) or its ciphertexts differ in level. Source: [Chielle25] (weight redistribution,
/// name only; algebra in the file comment).
PackedFeatureMap square_packed(const ResNetEvalContext& e, const PackedFeatureMap& z, const FoldedActivation& f,
                               ResNetCost* cost = nullptr);

/// The identity shortcut brought to the main branch: mult·sign·slot per ciphertext (the offset is
/// left to the caller: conv2's shift), rescaled onto e.scale and dropped to `level`.
/// Throws LevelError if in is not at least one level above `level`.
PackedFeatureMap scale_shortcut(const ResNetEvalContext& e, const PackedFeatureMap& in, double mult, int level,
                                ResNetCost* cost = nullptr);

/// a + b ciphertext by ciphertext (the lower level wins; both must have e.scale). Both plain
/// (sign 1, offset 0) and of equal shape. Throws InputError otherwise.
PackedFeatureMap add_packed(const ResNetEvalContext& e, const PackedFeatureMap& a, const PackedFeatureMap& b);

/// The slot of logit k in the output of pool_dense_packed for a final map with gap g:
/// δ_k = (k div g)·W + (k mod g).
std::size_t logit_slot(const ResNetPacking& pk, std::size_t gap, std::size_t k);
/// The rotation steps pool_dense_packed uses. Throws InputError unless 1 ≤ classes ≤ gap².
std::vector<int> pool_dense_rotation_steps(const ResNetPacking& pk, std::size_t channels, std::size_t gap,
                                           std::size_t classes);
/// Global average pooling followed by the dense layer (file comment), 1 level: one ciphertext,
/// logit k at slot logit_slot(k), scale e.scale. Throws InputError if fc.in ≠ in.channels, the
/// layer has no outputs (K = 0), or the K classes do not fit in the gap (K > gap²); LevelError at
/// level 0.
Ciphertext pool_dense_packed(const ResNetEvalContext& e, const PackedFeatureMap& in, const Dense& fc,
                             ResNetCost* cost = nullptr);

/// What ResNetServer::infer measured, per layer type.
struct ResNetTimings {
  std::map<std::string, double> seconds;  ///< wall seconds per kind: "conv", "activation", "shortcut", "pool_dense"
  /// CPU seconds of the process (all its threads, std::clock) per kind: comparable between runs on a
  /// shared machine, where wall time depends on the load.
  std::map<std::string, double> cpu_seconds;
  std::map<std::string, ResNetCost> cost;  ///< rotations, products and levels per kind
  /// The sum of `seconds` (wall seconds of every layer timed). No errors.
  double total_seconds() const;
};

/// The encrypted network: plans the packing, the levels and the Galois keys from the model's
/// sizes, and evaluates it. Holds no secret key.
class ResNetServer {
 public:
  /// `packing` must have the input's grid (32 × 32 for the committed models).
  /// Throws InputError for an empty model or shapes the packing cannot hold (message names them).
  ResNetServer(ResNet model, ResNetPacking packing);

  const ResNet& model() const { return model_; }
  const ResNetPacking& packing() const { return packing_; }
  /// Levels one inference consumes: 2 + 4·(blocks) + 1 (15 for ResNet-8, 39 for ResNet-20).
  int levels_needed() const;
  /// Every Galois rotation step infer uses, sorted (give them to KeyGenerator::galois_keys), for
  /// ResNetEvalContext::pack_taps = `pack_taps`.
  std::vector<int> rotation_steps(bool pack_taps = false, std::size_t input_baby_steps = 0, int min_level = 0) const;
  /// For every step of rotation_steps(pack_taps), the highest ciphertext level infer rotates by it
  /// when the input is at `input_level` (each convolution and square consumes one level): a Galois
  /// key made for that level (KeyGenerator::galois_keys with max_level) is all infer needs — stage 3's
  /// keys then hold about a third of the limbs of a key for the whole chain. Throws LevelError if
  /// input_level < levels_needed(). input_baby_steps, min_level: ResNetEvalContext::input_baby_steps and
  /// input_baby_steps_min_level.
  std::map<int, int> rotation_levels(bool pack_taps, int input_level, std::size_t input_baby_steps = 0,
                                     int min_level = 0) const;
  /// The gap of the last stage's map (4 for three stages): logits sit at logit_slot(k) for it.
  std::size_t final_gap() const;

  /// The slot vectors of an input image (C_in × H × W, channel-major, as ResNet::forward takes).
  /// Throws InputError if the size does not match.
  std::vector<std::vector<double>> pack_input(const std::vector<float>& image) const;
  /// The K logits from the decoded slots of infer's output: slot logit_slot(final_gap(), k) for
  /// k < K. Throws InputError if fewer slots are given than the last logit's slot.
  std::vector<double> unpack_logits(const std::vector<double>& slots) const;

  /// Encodes the convolutions' weight plaintexts for an input at `input_level` and `input_scale`
  /// (what infer will be given) into `cache`, at the level and scale infer uses for each (the
  /// walk of infer: level −1 and scale·pt_scale/q_ℓ per convolution, scale²/q_ℓ per square), whole
  /// convolutions from the last (fewest limbs: most encoding work saved per byte) to the first,
  /// while cache.bytes() stays ≤ max_bytes (∞: all of them). Set e.plaintexts = &cache for infer.
  /// Returns the number of plaintexts added. Runs on all hardware threads.
  /// Throws LevelError if input_level < levels_needed(); what Encoder::encode throws.
  std::size_t prepare_plaintexts(const ResNetEvalContext& e, int input_level, double input_scale, double max_bytes,
                                 ResNetPlaintextCache& cache) const;

  /// Called after each activation with its ResNet::trace name ("stem.act", "s1.b1.act1", …) and the
  /// map, so a key owner can compare layer by layer (tests, tutorial 14). May be empty.
  using Observer = std::function<void(const std::string& name, const PackedFeatureMap& map)>;

  /// The whole network on one encrypted image (the ciphertexts of pack_input, level ≥
  /// levels_needed(), any scale). Returns the logits ciphertext (level input − levels_needed()).
  /// Throws LevelError if the input has too few levels (naming both numbers); MissingKeyError if a
  /// Galois key is missing; InputError if the number of input ciphertexts is wrong; the layers'
  /// errors otherwise.
  Ciphertext infer(const ResNetEvalContext& e, const std::vector<Ciphertext>& input,
                   ResNetTimings* timings = nullptr, const Observer& observe = {}) const;

 private:
  ResNet model_;
  ResNetPacking packing_;
};

/// Modelled cost of one key switch (Evaluator::rotate, hybrid key switching as ckks/keyswitch.cpp
/// does it) at level `level` of a chain with `max_level` + 1 data primes, `dnum` digits of
/// α = ⌈(max_level+1)/dnum⌉ primes (what Context uses) and `num_special` special primes, in units of
/// one forward or inverse NTT of one limb: with n = level + 1 and the β = ⌈n/α⌉ digits of sizes α_j,
///   NTTs  n (d to coefficient form) + Σ_j (n + k − α_j) (ModUp) + 2k + 2n (ModDown of both halves),
///   base-conversion products  Σ_j α_j·(n + k − α_j) (ModUp) + 2k·(n + 1) (ModDown's exact conversion),
/// both counted in limbs of N coefficients, cost = NTTs + 0.87 · products. The weight 0.87 is the
/// least-squares fit to six measured rotations at N = 2^16, 16 data primes (docs/ml.md, "Rotation
/// cost and the digit count"):
/// 41.5 / 61.4 / 110.8 ms at levels 3 / 7 / 13 with dnum 1, k = 12 and 25.3 / 40.9 / 70.3 ms with
/// dnum 2, k = 6 (the model gives 38.5 / 65.7 / 106.5 and 20.4 / 35.2 / 77.9 ms at 0.198 ms per NTT);
/// the key inner product (β·(n + k) 128-bit products per coefficient) is left out: its fitted weight
/// was ≈ 0. Preconditions: 0 ≤ level ≤ max_level, 1 ≤ dnum ≤ max_level + 1, num_special ≥ 1; throws
/// ParameterError otherwise (naming the value). Source: [HK20] (hybrid key switching);
/// [CHKKS18] ModUp, ModDown (the operation counts).
double key_switch_cost(int level, int max_level, int dnum, int num_special);

/// A 128-bit-secure chain at N = 2^16 for `levels` levels (the HomomorphicEncryption.org bound
/// max_log_qp_128(16) = 1747 bits): data primes of s bits (Δ = 2^s), q_0 of min(60, s + 20) bits
/// (room for logits up to 2^19), k special primes of 60 bits with P ≥ every digit's product
/// (q_0 + (α−1)·s ≤ 60k − 2), dnum ≤ 5. It takes the largest s ≤ 40 that fits; then, of the k that
/// fit, those whose switching keys (dnum·(L + 1 + k) limbs per key polynomial) are at most
/// `key_growth` times the smallest, the k whose rotations cost least by key_switch_cost summed over
/// the levels 1..L a network walks through (ties: the smaller key). key_growth = 1 gives the
/// smallest keys (the choice before 2026-12-07). For ResNet-8 (15 levels): s = 40, q_0 = 60; with
/// key_growth 1: k = 12, dnum 1 (28 limbs per key polynomial); with key_growth 2 (what the ResNet
/// job uses): k = 6, dnum 2 (44 limbs; rotations modelled 34 % cheaper over levels 1..15, measured
/// 33–39 % cheaper at levels 3, 7, 13; the whole ResNet-8 image −26 % of inference CPU, docs/ml.md).
/// For ResNet-20 (39 levels): s = 34, k = 5, dnum 5 for every key_growth ≥ 1 (the only other k
/// that fits, 6, has the same dnum and more special primes); see docs/parameters.md §7.1.
/// Throws ParameterError if key_growth < 1 (naming it) or if no s ≥ 25 fits (naming `levels`).
Params resnet_params(int levels, double key_growth = 1.0);

}  // namespace ckks::ml

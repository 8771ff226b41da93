// See serialize.h for the format.
#include "ckks/serialize.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <NTL/ZZ.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckks/math/errors.h"
#include "ckks/math/sampler.h"
#include "ckks/math/wipe.h"

namespace ckks {

namespace {

constexpr std::size_t kHeaderBytes = 32;
constexpr std::uint32_t kFlagSeeded = 1;
constexpr std::uint32_t kFlagKeyId = 2;  // an 8-byte key-set id opens the payload
using Seed = std::array<std::uint8_t, 32>;

// ---------------------------------------------------------------- little-endian writer / reader

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v), 4); }
  void f64(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, 8);
    put(b, 8);
  }
  void bytes(const std::uint8_t* p, std::size_t n) { out_.insert(out_.end(), p, p + n); }
  void poly(const math::RnsPoly& a) {
    u32(static_cast<std::uint32_t>(a.limbs()));
    u8(a.is_ntt() ? 1 : 0);
    for (std::uint64_t v : a.data()) u64(v);
  }
  std::vector<std::uint8_t>& out() { return out_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  Reader(std::span<const std::uint8_t> d, const char* what) : d_(d), what_(what) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1, "a byte")); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2, "a 16-bit integer")); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4, "a 32-bit integer")); }
  std::uint64_t u64() { return get(8, "a 64-bit integer"); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  double f64() {
    const std::uint64_t b = get(8, "a double");
    double v;
    std::memcpy(&v, &b, 8);
    return v;
  }
  // The next u32, not consumed (a key's first polynomial's limb count gives its level).
  std::uint32_t peek_u32() {
    const std::size_t at = pos_;
    const std::uint32_t v = u32();
    pos_ = at;
    return v;
  }
  Seed seed() {
    need(32, "a 32-byte seed");
    Seed s;
    std::memcpy(s.data(), d_.data() + pos_, 32);
    pos_ += 32;
    return s;
  }
  // A polynomial over `basis` (limb i < basis[i]) in the form `ntt` the format prescribes.
  math::RnsPoly poly(const math::RnsBasis& basis, std::size_t N, const char* name) {
    const std::size_t at = pos_;
    const std::uint32_t limbs = u32();
    if (limbs != basis.size())
      fail(std::string(name) + " has " + std::to_string(limbs) + " limbs, expected " + std::to_string(basis.size()), at);
    const std::uint8_t form = u8();
    if (form != 1) fail(std::string(name) + ": form flag " + std::to_string(form) + ", expected 1 (evaluation form)", at + 4);
    need(static_cast<std::size_t>(limbs) * N * 8, (std::string(name) + "'s coefficients").c_str());
    math::RnsPoly p(N, limbs, true);
    for (std::size_t i = 0; i < limbs; ++i) {
      const std::uint64_t q = basis[i]->value();
      std::uint64_t* dst = p.limb(i);
      for (std::size_t k = 0; k < N; ++k) {
        const std::uint64_t v = get(8, "a coefficient");
        if (v >= q)
          fail(std::string(name) + ": coefficient " + std::to_string(k) + " of limb " + std::to_string(i) + " is " +
                   std::to_string(v) + ", not below its prime " + std::to_string(q) + " (corrupted data)",
               pos_ - 8);
        dst[k] = v;
      }
    }
    return p;
  }
  void finish() {
    if (pos_ != d_.size())
      fail(std::to_string(d_.size() - pos_) + " unexpected trailing bytes", pos_);
  }
  [[noreturn]] void fail(const std::string& msg, std::size_t at) const {
    throw InputError(std::string("deserialize ") + what_ + ": " + msg + " (at byte " + std::to_string(at) + ")");
  }
  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == d_.size(); }

 private:
  void need(std::size_t n, const char* what) {
    if (d_.size() - pos_ < n)
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes but only " +
               std::to_string(d_.size() - pos_) + " remain",
           pos_);
  }
  std::uint64_t get(int n, const char* what) {
    need(static_cast<std::size_t>(n), what);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(d_[pos_ + i]) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::span<const std::uint8_t> d_;
  const char* what_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------- header

// The blob: header, then (key_id ≠ 0) the key-set id, then the payload.
std::vector<std::uint8_t> with_header(ObjectType t, std::uint64_t fp, bool seeded, std::vector<std::uint8_t> payload,
                                      KeyId key_id = 0) {
  Writer w;
  w.bytes(reinterpret_cast<const std::uint8_t*>("CKKS"), 4);
  w.u16(kSerialVersion);
  w.u16(static_cast<std::uint16_t>(t));
  w.u64(fp);
  w.u64(payload.size() + (key_id != 0 ? 8 : 0));
  w.u32((seeded ? kFlagSeeded : 0) | (key_id != 0 ? kFlagKeyId : 0));
  w.u32(0);
  if (key_id != 0) w.u64(key_id);
  w.out().insert(w.out().end(), payload.begin(), payload.end());
  return std::move(w.out());
}

bool has_key_id(ObjectType t) {
  return t == ObjectType::Ciphertext || t == ObjectType::PublicKey || t == ObjectType::RelinKey ||
         t == ObjectType::GaloisKeys || t == ObjectType::EncapsulationKeys;
}

// The one key-set id of a set of Galois keys (0 when unknown or mixed).
KeyId galois_key_id(const GaloisKeys& gk) {
  if (gk.keys.empty()) return 0;
  const KeyId id = gk.keys.begin()->second.key_id;
  for (const auto& [g, k] : gk.keys)
    if (k.key_id != id) return 0;
  return id;
}

// The payload of a blob of type t made under ctx (fingerprint checked), whether it is seeded, and
// its key-set id (0 when the blob has none: files written before key ids existed).
std::span<const std::uint8_t> open(std::span<const std::uint8_t> blob, ObjectType t, const Context* ctx, bool* seeded,
                                   KeyId* key_id = nullptr) {
  const BlobInfo info = inspect(blob);
  if (info.type != t)
    throw InputError(std::string("deserialize: this is a ") + object_type_name(info.type) + ", not a " +
                     object_type_name(t) + "; pass the right file");
  if (ctx) {
    const std::uint64_t mine = fingerprint(*ctx);
    if (info.fingerprint != mine)
      throw ParameterError(std::string("deserialize ") + object_type_name(t) + ": made under other parameters " +
                           "(fingerprint " + std::to_string(info.fingerprint) + ", this Context's is " +
                           std::to_string(mine) + "); load it with the Context of the parameters it was made with");
  }
  if (seeded) *seeded = info.seeded;
  else if (info.seeded)
    throw InputError(std::string("deserialize ") + object_type_name(t) + ": the seeded flag is set on an object that has no seeded form");
  if (key_id) *key_id = info.key_id;
  return blob.subspan(kHeaderBytes + (info.key_id != 0 ? 8 : 0));
}

// ---------------------------------------------------------------- seeds

math::RnsPoly expand(const Seed& seed, std::size_t N, const math::RnsBasis& basis) {
  math::Csprng rng = math::Csprng::from_key(seed);
  return math::sample_uniform(rng, N, basis, true);
}

std::vector<math::RnsPoly> expand_many(const Seed& seed, std::size_t count, std::size_t N, const math::RnsBasis& basis) {
  math::Csprng rng = math::Csprng::from_key(seed);
  std::vector<math::RnsPoly> out;
  for (std::size_t j = 0; j < count; ++j) out.push_back(math::sample_uniform(rng, N, basis, true));
  return out;
}

bool ciphertext_seed_valid(const Ciphertext& ct) {
  return ct.seed && ct.c.size() == 2 && ct.c[1].is_ntt() &&
         expand(*ct.seed, ct.context->n(), ct.context->basis_q(ct.level)) == ct.c[1];
}

bool key_seed_valid(const KeySwitchKey& k) {
  const int top = k.max_level();
  return k.seed && !k.a.empty() && top >= 0 && top <= k.context->max_level() &&
         expand_many(*k.seed, k.a.size(), k.context->n(), k.context->basis_qp(top)) == k.a;
}

void write_ksk(Writer& w, const KeySwitchKey& k, bool seeded) {
  w.u32(static_cast<std::uint32_t>(k.b.size()));
  for (const auto& b : k.b) w.poly(b);
  if (seeded) w.bytes(k.seed->data(), 32);
  else
    for (const auto& a : k.a) w.poly(a);
}

KeySwitchKey read_ksk(Reader& r, const ContextPtr& ctx, bool seeded, const char* name) {
  const std::size_t at = r.pos();
  const std::uint32_t dnum = r.u32();
  const int L = ctx->max_level();
  if (dnum < 1 || dnum > ctx->num_digits(L))
    r.fail(std::string(name) + " has " + std::to_string(dnum) + " digits, these parameters use dnum = " +
               std::to_string(ctx->num_digits(L)),
           at);
  // The key's top level ℓ_k (KeySwitchKey::max_level) from its first polynomial's limb count
  // ℓ_k + 1 + k; its digit count must be num_digits(ℓ_k).
  const long top = static_cast<long>(r.peek_u32()) - static_cast<long>(ctx->num_special()) - 1;
  if (top < 0 || top > L || ctx->num_digits(static_cast<int>(top)) != dnum)
    r.fail(std::string(name) + " has " + std::to_string(dnum) + " digits of " + std::to_string(r.peek_u32()) +
               " limbs: no level of these parameters has that shape (a key of the whole chain has dnum = " +
               std::to_string(ctx->num_digits(L)) + " digits of " + std::to_string(L + 1 + ctx->num_special()) +
               " limbs)",
           at);
  const auto& basis = ctx->basis_qp(static_cast<int>(top));
  KeySwitchKey k{ctx, {}, {}, std::nullopt};
  for (std::uint32_t j = 0; j < dnum; ++j) k.b.push_back(r.poly(basis, ctx->n(), name));
  if (seeded) {
    k.seed = r.seed();
    k.a = expand_many(*k.seed, dnum, ctx->n(), basis);
  } else {
    for (std::uint32_t j = 0; j < dnum; ++j) k.a.push_back(r.poly(basis, ctx->n(), name));
  }
  return k;
}

void check_slots_scale(Reader& r, const Context& ctx, double scale, std::uint64_t slots, std::size_t at) {
  if (!(std::isfinite(scale) && scale > 0)) r.fail("scale " + std::to_string(scale) + " is not a positive number", at);
  if (slots == 0 || slots > ctx.max_slots() || (slots & (slots - 1)) != 0)
    r.fail("slot count " + std::to_string(slots) + " is not a power of two in 1.." + std::to_string(ctx.max_slots()), at);
}

int read_level(Reader& r, const Context& ctx) {
  const std::size_t at = r.pos();
  const std::int32_t level = r.i32();
  if (level < 0 || level > ctx.max_level())
    r.fail("level " + std::to_string(level) + " is outside 0.." + std::to_string(ctx.max_level()) + " of these parameters", at);
  return level;
}

}  // namespace

const char* object_type_name(ObjectType t) {
  switch (t) {
    case ObjectType::Params: return "Params";
    case ObjectType::PublicKey: return "PublicKey";
    case ObjectType::RelinKey: return "RelinKey";
    case ObjectType::GaloisKeys: return "GaloisKeys";
    case ObjectType::Plaintext: return "Plaintext";
    case ObjectType::Ciphertext: return "Ciphertext";
    case ObjectType::SecretKey: return "SecretKey";
    case ObjectType::Metadata: return "Metadata";
    case ObjectType::EncapsulationKeys: return "EncapsulationKeys";
  }
  return "unknown object";
}

std::uint64_t fingerprint(const Context& ctx) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  };
  mix(ctx.n());
  for (int i = 0; i <= ctx.max_level(); ++i) mix(ctx.q(i).value());
  for (std::size_t j = 0; j < ctx.num_special(); ++j) mix(ctx.p(static_cast<int>(j)).value());
  mix(ctx.dnum());
  std::uint64_t bits;
  const double scale = ctx.default_scale(), sigma = ctx.params().error_stddev;
  std::memcpy(&bits, &scale, 8);
  mix(bits);
  std::memcpy(&bits, &sigma, 8);
  mix(bits);
  mix(static_cast<std::uint64_t>(ctx.params().secret));
  mix(static_cast<std::uint64_t>(ctx.params().hamming_weight));
  return h;
}

std::uint64_t content_digest(std::span<const std::uint8_t> bytes) {
  static constexpr char kLabel[] = "ckks-teach content digest v1";
  std::vector<unsigned char> data(kLabel, kLabel + sizeof kLabel - 1);
  data.insert(data.end(), bytes.begin(), bytes.end());
  unsigned char out[8];
  NTL::DeriveKey(out, 8, data.data(), static_cast<long>(data.size()));
  std::uint64_t d = 0;
  for (int b = 0; b < 8; ++b) d |= static_cast<std::uint64_t>(out[b]) << (8 * b);
  return d;
}

BlobInfo inspect(std::span<const std::uint8_t> blob) {
  Reader r(blob, "header");
  if (blob.size() < kHeaderBytes)
    r.fail("truncated: " + std::to_string(blob.size()) + " bytes, shorter than the 32-byte header", 0);
  if (std::memcmp(blob.data(), "CKKS", 4) != 0) r.fail("no \"CKKS\" magic: not a file written by this library", 0);
  r.u32();
  const std::uint16_t version = r.u16();
  if (version != kSerialVersion)
    r.fail("format version " + std::to_string(version) + ", this library reads version " + std::to_string(kSerialVersion), 4);
  const std::uint16_t type = r.u16();
  if (type < 1 || type > 9) r.fail("unknown object type " + std::to_string(type), 6);
  BlobInfo info{static_cast<ObjectType>(type), r.u64(), false, 0, 0};
  const std::uint64_t size = r.u64();
  if (size != blob.size() - kHeaderBytes)
    r.fail("the header announces " + std::to_string(size) + " payload bytes but " +
               std::to_string(blob.size() - kHeaderBytes) + " follow (truncated or concatenated data)",
           16);
  const std::uint32_t flags = r.u32();
  if (flags & ~(kFlagSeeded | kFlagKeyId)) r.fail("unknown flags " + std::to_string(flags), 24);
  if (r.u32() != 0) r.fail("reserved field is not 0", 28);
  info.seeded = (flags & kFlagSeeded) != 0;
  info.payload_bytes = static_cast<std::size_t>(size);
  if (flags & kFlagKeyId) {
    if (!has_key_id(info.type))
      r.fail(std::string("the key-set id flag is set on a ") + object_type_name(info.type) + ", which has no key-set id", 24);
    info.key_id = r.u64();
    if (info.key_id == 0) r.fail("the key-set id flag is set but the id is 0", kHeaderBytes);
    info.payload_bytes -= 8;
  }
  return info;
}

std::vector<std::span<const std::uint8_t>> split_blobs(std::span<const std::uint8_t> bundle) {
  std::vector<std::span<const std::uint8_t>> out;
  std::size_t pos = 0;
  while (pos < bundle.size()) {
    const auto rest = bundle.subspan(pos);
    if (rest.size() < kHeaderBytes)
      throw InputError("split_blobs: object " + std::to_string(out.size()) + " at byte " + std::to_string(pos) +
                       " is cut short: " + std::to_string(rest.size()) + " bytes, less than a 32-byte header");
    std::uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= static_cast<std::uint64_t>(rest[16 + i]) << (8 * i);
    if (size > rest.size() - kHeaderBytes)
      throw InputError("split_blobs: object " + std::to_string(out.size()) + " at byte " + std::to_string(pos) +
                       " announces " + std::to_string(size) + " payload bytes but only " +
                       std::to_string(rest.size() - kHeaderBytes) + " remain (truncated file)");
    const auto blob = rest.first(kHeaderBytes + static_cast<std::size_t>(size));
    inspect(blob);  // magic, version, type, flags
    out.push_back(blob);
    pos += blob.size();
  }
  return out;
}

// ---------------------------------------------------------------- Params

std::vector<std::uint8_t> serialize(const Params& p) {
  Writer w;
  w.i32(p.log_n);
  w.u32(static_cast<std::uint32_t>(p.log_q.size()));
  for (int b : p.log_q) w.i32(b);
  w.u32(static_cast<std::uint32_t>(p.log_p.size()));
  for (int b : p.log_p) w.i32(b);
  w.f64(p.log_scale);
  w.i32(p.dnum);
  w.u8(static_cast<std::uint8_t>(p.secret));
  w.i32(p.hamming_weight);
  w.f64(p.error_stddev);
  w.u8(p.allow_insecure ? 1 : 0);
  if (!p.q_primes.empty() || !p.p_primes.empty()) {  // optional tail: explicit primes
    for (const auto* primes : {&p.q_primes, &p.p_primes}) {
      w.u32(static_cast<std::uint32_t>(primes->size()));
      for (std::uint64_t q : *primes) w.u64(q);
    }
  }
  return with_header(ObjectType::Params, 0, false, std::move(w.out()));
}

Params deserialize_params(std::span<const std::uint8_t> blob) {
  Reader r(open(blob, ObjectType::Params, nullptr, nullptr), "Params");
  Params p;
  p.log_n = r.i32();
  auto list = [&r](const char* name) {
    const std::size_t at = r.pos();
    const std::uint32_t n = r.u32();
    if (n == 0 || n > 100) r.fail(std::string(name) + " has " + std::to_string(n) + " entries, expected 1..100", at);
    std::vector<int> v(n);
    for (auto& b : v) b = r.i32();
    return v;
  };
  p.log_q = list("log_q");
  p.log_p = list("log_p");
  p.log_scale = r.f64();
  p.dnum = r.i32();
  const std::size_t at = r.pos();
  const std::uint8_t secret = r.u8();
  if (secret > 1) r.fail("unknown secret distribution " + std::to_string(secret), at);
  p.secret = static_cast<SecretDistribution>(secret);
  p.hamming_weight = r.i32();
  p.error_stddev = r.f64();
  const std::uint8_t insecure = r.u8();
  if (insecure > 1) r.fail("allow_insecure flag " + std::to_string(insecure) + " is not 0 or 1", r.pos() - 1);
  p.allow_insecure = insecure == 1;
  if (!r.at_end()) {
    for (auto* primes : {&p.q_primes, &p.p_primes}) {
      const std::size_t at_n = r.pos();
      const std::uint32_t n = r.u32();
      if (n > 100) r.fail("explicit prime list has " + std::to_string(n) + " entries, expected 0..100", at_n);
      for (std::uint32_t i = 0; i < n; ++i) primes->push_back(r.u64());
    }
  }
  r.finish();
  return p;  // Context::create validates the values themselves
}

// ---------------------------------------------------------------- Ciphertext, Plaintext

std::vector<std::uint8_t> serialize(const Ciphertext& ct, bool seeded) {
  if (!ct.context) throw InputError("serialize Ciphertext: the ciphertext has no Context (default-constructed?)");
  seeded = seeded && ciphertext_seed_valid(ct);
  Writer w;
  w.i32(ct.level);
  w.f64(ct.scale);
  w.u64(ct.slots);
  w.u32(static_cast<std::uint32_t>(ct.c.size()));
  if (seeded) {
    w.poly(ct.c[0]);
    w.bytes(ct.seed->data(), 32);
  } else {
    for (const auto& c : ct.c) w.poly(c);
  }
  return with_header(ObjectType::Ciphertext, fingerprint(*ct.context), seeded, std::move(w.out()), ct.key_id);
}

Ciphertext deserialize_ciphertext(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  bool seeded = false;
  Ciphertext ct;
  Reader r(open(blob, ObjectType::Ciphertext, ctx.get(), &seeded, &ct.key_id), "Ciphertext");
  ct.context = ctx;
  ct.level = read_level(r, *ctx);
  const std::size_t at = r.pos();
  ct.scale = r.f64();
  ct.slots = r.u64();
  check_slots_scale(r, *ctx, ct.scale, ct.slots, at);
  const std::size_t at_n = r.pos();
  const std::uint32_t n = r.u32();
  if (n < 2 || n > 3) r.fail(std::to_string(n) + " components, expected 2 or 3", at_n);
  if (seeded && n != 2) r.fail("a seeded ciphertext must have 2 components", at_n);
  const auto& basis = ctx->basis_q(ct.level);
  ct.c.push_back(r.poly(basis, ctx->n(), "component 0"));
  if (seeded) {
    ct.seed = r.seed();
    ct.c.push_back(expand(*ct.seed, ctx->n(), basis));
  } else {
    for (std::uint32_t i = 1; i < n; ++i) ct.c.push_back(r.poly(basis, ctx->n(), i == 1 ? "component 1" : "component 2"));
  }
  r.finish();
  return ct;
}

std::vector<std::uint8_t> serialize(const Plaintext& pt) {
  if (!pt.context) throw InputError("serialize Plaintext: the plaintext has no Context");
  Writer w;
  w.i32(pt.level);
  w.f64(pt.scale);
  w.u64(pt.slots);
  w.poly(pt.poly);
  return with_header(ObjectType::Plaintext, fingerprint(*pt.context), false, std::move(w.out()));
}

Plaintext deserialize_plaintext(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  Reader r(open(blob, ObjectType::Plaintext, ctx.get(), nullptr), "Plaintext");
  Plaintext pt;
  pt.context = ctx;
  pt.level = read_level(r, *ctx);
  const std::size_t at = r.pos();
  pt.scale = r.f64();
  pt.slots = r.u64();
  check_slots_scale(r, *ctx, pt.scale, pt.slots, at);
  pt.poly = r.poly(ctx->basis_q(pt.level), ctx->n(), "plaintext");
  r.finish();
  return pt;
}

// ---------------------------------------------------------------- keys

std::vector<std::uint8_t> serialize(const PublicKey& pk, bool seeded) {
  if (!pk.context) throw InputError("serialize PublicKey: the key has no Context");
  const auto& basis = pk.context->basis_qp(pk.context->max_level());
  seeded = seeded && pk.seed && expand(*pk.seed, pk.context->n(), basis) == pk.a;
  Writer w;
  w.poly(pk.b);
  if (seeded) w.bytes(pk.seed->data(), 32);
  else w.poly(pk.a);
  return with_header(ObjectType::PublicKey, fingerprint(*pk.context), seeded, std::move(w.out()), pk.key_id);
}

PublicKey deserialize_public_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  bool seeded = false;
  KeyId key_id = 0;
  Reader r(open(blob, ObjectType::PublicKey, ctx.get(), &seeded, &key_id), "PublicKey");
  const auto& basis = ctx->basis_qp(ctx->max_level());
  PublicKey pk{ctx, r.poly(basis, ctx->n(), "b"), {}, std::nullopt, key_id};
  if (seeded) {
    pk.seed = r.seed();
    pk.a = expand(*pk.seed, ctx->n(), basis);
  } else {
    pk.a = r.poly(basis, ctx->n(), "a");
  }
  r.finish();
  return pk;
}

std::vector<std::uint8_t> serialize(const RelinKey& rk, bool seeded) {
  if (!rk.key.context) throw InputError("serialize RelinKey: the key has no Context");
  seeded = seeded && key_seed_valid(rk.key);
  Writer w;
  write_ksk(w, rk.key, seeded);
  return with_header(ObjectType::RelinKey, fingerprint(*rk.key.context), seeded, std::move(w.out()), rk.key.key_id);
}

RelinKey deserialize_relin_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  bool seeded = false;
  KeyId key_id = 0;
  Reader r(open(blob, ObjectType::RelinKey, ctx.get(), &seeded, &key_id), "RelinKey");
  RelinKey rk{read_ksk(r, ctx, seeded, "relinearisation key")};
  rk.key.key_id = key_id;
  r.finish();
  return rk;
}

std::vector<std::uint8_t> serialize(const GaloisKeys& gk, bool seeded) {
  if (!gk.context) throw InputError("serialize GaloisKeys: the keys have no Context");
  for (const auto& [g, k] : gk.keys) seeded = seeded && key_seed_valid(k);
  Writer w;
  w.u32(static_cast<std::uint32_t>(gk.keys.size()));
  for (const auto& [g, k] : gk.keys) {
    w.u64(g);
    write_ksk(w, k, seeded);
  }
  return with_header(ObjectType::GaloisKeys, fingerprint(*gk.context), seeded, std::move(w.out()), galois_key_id(gk));
}

GaloisKeys deserialize_galois_keys(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  bool seeded = false;
  KeyId key_id = 0;
  Reader r(open(blob, ObjectType::GaloisKeys, ctx.get(), &seeded, &key_id), "GaloisKeys");
  const std::size_t at = r.pos();
  const std::uint32_t count = r.u32();
  if (count > ctx->n()) r.fail(std::to_string(count) + " keys, more than N = " + std::to_string(ctx->n()) + " can exist", at);
  GaloisKeys gk{ctx, {}};
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t at_g = r.pos();
    const std::uint64_t g = r.u64();
    if (g % 2 == 0 || g <= 1 || g >= 2 * ctx->n())
      r.fail("Galois element " + std::to_string(g) + " is not odd in (1, 2N = " + std::to_string(2 * ctx->n()) + ")", at_g);
    if (gk.has(g)) r.fail("Galois element " + std::to_string(g) + " appears twice", at_g);
    gk.keys.emplace(g, read_ksk(r, ctx, seeded, "Galois key")).first->second.key_id = key_id;
  }
  r.finish();
  return gk;
}

std::vector<std::uint8_t> serialize(const SecretKey& sk) {
  if (!sk.context) throw InputError("serialize SecretKey: the key has no Context");
  Writer w;
  w.poly(sk.s);
  return with_header(ObjectType::SecretKey, fingerprint(*sk.context), false, std::move(w.out()));
}

SecretKey deserialize_secret_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  Reader r(open(blob, ObjectType::SecretKey, ctx.get(), nullptr), "SecretKey");
  SecretKey sk(ctx, r.poly(ctx->basis_qp(ctx->max_level()), ctx->n(), "s"));
  r.finish();
  return sk;
}

std::vector<std::uint8_t> serialize(const EncapsulationKeys& ek, bool seeded) {
  const KeySwitchKey& up = ek.sparse_to_dense;
  if (!up.context || !ek.dense_to_sparse.context)
    throw InputError("serialize EncapsulationKeys: the keys have no Context; make them with KeyGenerator::encapsulation_keys");
  seeded = seeded && key_seed_valid(up);
  Writer w;
  w.i32(ek.hamming_weight);
  w.poly(ek.dense_to_sparse.b);
  w.poly(ek.dense_to_sparse.a);
  write_ksk(w, up, seeded);
  return with_header(ObjectType::EncapsulationKeys, fingerprint(*up.context), seeded, std::move(w.out()), up.key_id);
}

EncapsulationKeys deserialize_encapsulation_keys(const ContextPtr& ctx, std::span<const std::uint8_t> blob) {
  bool seeded = false;
  KeyId key_id = 0;
  Reader r(open(blob, ObjectType::EncapsulationKeys, ctx.get(), &seeded, &key_id), "EncapsulationKeys");
  if (ctx->num_special() == 0)
    throw ParameterError("deserialize EncapsulationKeys: these parameters have no special prime p_0, which the s -> s' "
                         "key is modulo; load it with the Context it was made with");
  EncapsulationKeys ek;
  const std::size_t at = r.pos();
  ek.hamming_weight = r.i32();
  if (ek.hamming_weight < 1 || static_cast<std::size_t>(ek.hamming_weight) > ctx->n())
    r.fail("Hamming weight h' = " + std::to_string(ek.hamming_weight) + " is outside 1..N = " + std::to_string(ctx->n()), at);
  const math::RnsBasis small{&ctx->q(0), &ctx->p(0)};  // q_0·p_0, as KeyGenerator::encapsulation_keys
  ek.dense_to_sparse.context = ctx;
  ek.dense_to_sparse.b = r.poly(small, ctx->n(), "s -> s' key b");
  ek.dense_to_sparse.a = r.poly(small, ctx->n(), "s -> s' key a");
  ek.sparse_to_dense = read_ksk(r, ctx, seeded, "s' -> s key");
  ek.sparse_to_dense.key_id = key_id;
  r.finish();
  return ek;
}

std::vector<std::uint8_t> serialize_metadata(const std::string& text) {
  if (text.size() > (1u << 20)) throw InputError("serialize_metadata: " + std::to_string(text.size()) + " bytes, more than 1 MiB");
  Writer w;
  w.u32(static_cast<std::uint32_t>(text.size()));
  w.bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  return with_header(ObjectType::Metadata, 0, false, std::move(w.out()));
}

std::string deserialize_metadata(std::span<const std::uint8_t> blob) {
  Reader r(open(blob, ObjectType::Metadata, nullptr, nullptr), "Metadata");
  const std::size_t at = r.pos();
  const std::uint32_t n = r.u32();
  if (n > (1u << 20)) r.fail("text of " + std::to_string(n) + " bytes, more than 1 MiB", at);
  std::string text;
  text.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) text.push_back(static_cast<char>(r.u8()));
  r.finish();
  return text;
}

// ---------------------------------------------------------------- files

void write_file(const std::string& path, std::span<const std::uint8_t> bytes, bool owner_only) {
  // open(2) with the final mode, so a secret key is never readable by others, not even briefly.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, owner_only ? 0600 : 0644);
  if (fd < 0) throw InputError("write_file: cannot create " + path + ": " + std::strerror(errno));
  if (owner_only && ::fchmod(fd, 0600) != 0) {  // an existing file keeps its mode through O_CREAT
    ::close(fd);
    throw InputError("write_file: cannot make " + path + " owner-only: " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = std::strerror(errno);
      ::close(fd);
      throw InputError("write_file: writing " + path + " failed: " + err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw InputError("write_file: closing " + path + " failed: " + std::strerror(errno));
}

std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError("read_file: " + path + " does not exist");
  if (std::filesystem::is_directory(path, ec)) throw InputError("read_file: " + path + " is a directory, not a file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError("read_file: cannot read the size of " + path + ": " + ec.message());
  if (size > max_bytes)
    throw InputError("read_file: " + path + " has " + std::to_string(size) + " bytes, more than the limit of " +
                     std::to_string(max_bytes));
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError("read_file: cannot open " + path);
  std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
  f.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size));
  if (!f) throw InputError("read_file: reading " + path + " failed");
  return data;
}

}  // namespace ckks

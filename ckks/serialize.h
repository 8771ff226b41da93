// Serialization: a versioned binary format for parameters, keys, plaintexts and ciphertexts, so that
// a client and a server in different processes (or machines) can exchange them.
//
// Every object is one blob: a 32-byte header, then the payload. All integers little-endian.
//
//   offset  size  field
//   0       4     magic "CKKS"
//   4       2     format version (kSerialVersion = 1)
//   6       2     object type (ObjectType)
//   8       8     parameter fingerprint (fingerprint(ctx); 0 for a Params object)
//   16      8     payload size in bytes (the blob is exactly 32 + this)
//   24      4     flags: bit 0 = seeded (the uniform polynomial a is stored as its 32-byte seed);
//                 bit 1 = key-set id: the payload opens with the u64 key-set id (KeyId, ckks/keys.h)
//                 of a Ciphertext, PublicKey, RelinKey or GaloisKeys (set when the id is known)
//   28      4     reserved, 0
//
// Payloads (a "poly" is u32 limb count, u8 form (1 = evaluation/NTT), then limbs × N u64, limb i
// reduced modulo the i-th prime of the basis named):
//   Params      i32 log_n, u32 count + i32 log_q[], u32 count + i32 log_p[], f64 log_scale, i32 dnum,
//               u8 secret distribution, i32 hamming_weight, f64 error_stddev, u8 allow_insecure,
//               then only when explicit primes are set: u32 count + u64 q_primes[], u32 count +
//               u64 p_primes[] (a blob without this tail has none)
//   Ciphertext  i32 level, f64 scale, u64 slots, u32 components, then the components over q_0..q_ℓ;
//               seeded: component 0, then the 32-byte seed of component 1 (2 components only)
//   Plaintext   i32 level, f64 scale, u64 slots, poly over q_0..q_ℓ
//   PublicKey   poly b over q_0..q_L,p_0..; then a as a poly, or (seeded) its 32-byte seed
//   RelinKey    a key-switching key: u32 dnum, then b_0 … b_{dnum−1}, then the a_j as polys or
//               (seeded) one 32-byte seed from which they are drawn in order; the polys are over
//               q_0..q_L,p_0.. — or over q_0..q_{ℓ_k},p_0.. for a key made for levels ≤ ℓ_k
//               (KeySwitchKey::max_level), whose dnum is then num_digits(ℓ_k): the reader takes ℓ_k
//               from b_0's limb count (files written before such keys existed all have ℓ_k = L)
//   GaloisKeys  u32 count, then per key: u64 Galois element, key-switching key as above
//   SecretKey   poly s over q_0..q_L,p_0.. (evaluation form)
//   EncapsulationKeys  (bootstrapping with sparse-secret encapsulation, ckks/keygen.h) i32 h', then
//               the s → s' key as two polys b, a over q_0,p_0 (never seeded), then the s' → s
//               key-switching key as a RelinKey's payload
//   Metadata    u32 length, then that many bytes of text (at most 1 MiB; no fingerprint check:
//               it describes, e.g., which model and layout the ciphertexts of a bundle are for)
//
// Seeded compression [as in SEAL and Lattigo; the uniform a of an RLWE sample can be public
// randomness]: secret-key ciphertexts and every key carry the seed their a was expanded from
// (Ciphertext::seed, PublicKey::seed, KeySwitchKey::seed); serialize() re-expands it and compares
// with the object before relying on it, so a stale seed (e.g. copied along by an operation that
// changed the ciphertext) never produces a wrong file: the full polynomial is written instead.
//
// Loading validates everything before any use and throws InputError naming what is wrong (with the
// offset for truncation): magic, version, type, fingerprint against the Context given, payload
// size, level in 0..L, slot count a power of two ≤ N/2, scale finite and positive, component count
// 2 or 3, limb count, form flag, every coefficient below its prime, duplicate or invalid Galois
// elements, trailing bytes. A Params blob is validated by Context::create when used.
//
// Key-set ids (bit 1 of the flags) were added after the first files of format version 1 were
// written: a blob without the flag still loads, with key_id 0 (unknown), and the checks of
// Decryptor and Evaluator then let it pass. A SecretKey stores no id: its id is recomputed from s.
//
// The fingerprint is FNV-1a (64-bit) over N, every prime q_i and p_j, dnum, the scale, the secret
// distribution and σ: it detects objects made under other parameters; it is not a cryptographic
// authenticator (a malicious file can forge it; validation still keeps such a file from crashing).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ckks/ciphertext.h"
#include "ckks/context.h"
#include "ckks/keygen.h"
#include "ckks/keys.h"
#include "ckks/params.h"

namespace ckks {

inline constexpr std::uint16_t kSerialVersion = 1;

enum class ObjectType : std::uint16_t {
  Params = 1,
  PublicKey = 2,
  RelinKey = 3,
  GaloisKeys = 4,
  Plaintext = 5,
  Ciphertext = 6,
  SecretKey = 7,
  Metadata = 8,  ///< UTF-8 text (e.g. JSON) describing the objects beside it in a bundle
  EncapsulationKeys = 9,  ///< the two keys of sparse-secret encapsulation (KeyGenerator::encapsulation_keys)
};

/// "Params", "PublicKey", … (for messages).
const char* object_type_name(ObjectType t);

/// The parameter fingerprint written in every header (see the file comment).
std::uint64_t fingerprint(const Context& ctx);

/// A 64-bit digest of arbitrary bytes (e.g. a model's weights file, recorded beside the keys made
/// for it): the first 8 bytes of NTL's DeriveKey (SHA-256-based [Shoup]) over a domain-separation
/// label and the bytes. Different files give different digests except with probability ≈ 2^-64; not
/// an authenticator (anyone can compute it). Shown as 16 hexadecimal digits by key_id_string.
std::uint64_t content_digest(std::span<const std::uint8_t> bytes);

/// What a blob's header says (validated: magic, version, known type, size consistent with the
/// blob). Throws InputError otherwise.
struct BlobInfo {
  ObjectType type;
  std::uint64_t fingerprint;
  bool seeded;
  std::size_t payload_bytes;  ///< without the key-set id
  KeyId key_id;               ///< the key set of a ciphertext or key (0: none recorded)
};
BlobInfo inspect(std::span<const std::uint8_t> blob);

/// A bundle is blobs written one after the other (e.g. a file holding the parameters, the public
/// key and the evaluation keys). Splits it using each header's payload size. Throws InputError if
/// a header is bad or a blob is cut short (naming its index and offset).
std::vector<std::span<const std::uint8_t>> split_blobs(std::span<const std::uint8_t> bundle);

// ---- writing. `seeded` = false forces the full polynomials even when a valid seed exists.
std::vector<std::uint8_t> serialize(const Params& p);
std::vector<std::uint8_t> serialize(const Ciphertext& ct, bool seeded = true);
std::vector<std::uint8_t> serialize(const Plaintext& pt);
std::vector<std::uint8_t> serialize(const PublicKey& pk, bool seeded = true);
std::vector<std::uint8_t> serialize(const RelinKey& rk, bool seeded = true);
std::vector<std::uint8_t> serialize(const GaloisKeys& gk, bool seeded = true);
std::vector<std::uint8_t> serialize(const SecretKey& sk);
/// The keys a server needs, besides the Galois and relinearisation keys, to bootstrap with
/// sparse-secret encapsulation [BTH22] (Bootstrapper's constructor taking EncapsulationKeys): about
/// the size of one Galois key (half with `seeded`). The s → s' key is always written in full (two
/// limbs, 2 MiB at N = 2^16). Throws InputError if the keys have no Context.
std::vector<std::uint8_t> serialize(const EncapsulationKeys& ek, bool seeded = true);
std::vector<std::uint8_t> serialize_metadata(const std::string& text);

// ---- reading. Each throws InputError (bad or truncated data, wrong type) or ParameterError
// (fingerprint of other parameters) with a message naming the problem and the fix.
Params deserialize_params(std::span<const std::uint8_t> blob);
Ciphertext deserialize_ciphertext(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
Plaintext deserialize_plaintext(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
PublicKey deserialize_public_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
RelinKey deserialize_relin_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
GaloisKeys deserialize_galois_keys(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
SecretKey deserialize_secret_key(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
/// Also throws InputError if h' is outside 1..N, and ParameterError if ctx has no special prime.
EncapsulationKeys deserialize_encapsulation_keys(const ContextPtr& ctx, std::span<const std::uint8_t> blob);
std::string deserialize_metadata(std::span<const std::uint8_t> blob);

// ---- files
/// Writes bytes to path (replacing it). owner_only: permissions 0600 from creation on (for secret
/// keys). Throws InputError naming the path if it cannot be written.
void write_file(const std::string& path, std::span<const std::uint8_t> bytes, bool owner_only = false);
/// Reads a whole file; throws InputError if it is missing, unreadable, a directory or larger than
/// max_bytes (default 16 GiB, far above any key of the presets).
std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes = std::uint64_t{16} << 30);

}  // namespace ckks

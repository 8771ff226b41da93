// libFuzzer targets for every loader of ckks/serialize.h. One source, one executable per loader:
// CKKS_FUZZ_LOADER selects which (fuzz/CMakeLists.txt builds fuzz_ciphertext, fuzz_plaintext, …).
// A loader may reject its input only with a ckks::Error; anything else (a crash, a sanitizer
// report, a leak, an uncaught exception) is a finding. Objects that load are then used
// (decrypted, applied) so that a "valid" but inconsistent object would show up too.
//
// Parameters: the two tiny INSECURE presets of fuzz_params.h (N = 2^5 and 2^6), fixed keys, so
// that one run explores many inputs per second; the checks do not depend on N. Each input is loaded
// under the preset its header's fingerprint names.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/errors.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/serialize.h"
#include "fuzz_params.h"

namespace {

// The Context and key set of one preset of fuzz_params.h, with a fresh ciphertext to apply keys to.
struct World {
  explicit World(int preset)
      : ctx(ckks::Context::create(ckks::fuzz::params(preset))),
        kg(ctx, ckks::math::Csprng::insecure_fixed_seed_for_testing(ckks::fuzz::kKeySeed)),
        sk(kg.secret_key()),
        encoder(ctx),
        decryptor(ctx, sk),
        ev(ctx) {
    ckks::Encryptor enc(ctx, sk, ckks::math::Csprng::insecure_fixed_seed_for_testing(2));
    const std::vector<double> one = {1.0};
    ct = enc.encrypt(encoder.encode(std::span<const double>(one), ctx->max_level(), ctx->default_scale()));
  }
  ckks::ContextPtr ctx;
  ckks::KeyGenerator kg;
  ckks::SecretKey sk;
  ckks::Encoder encoder;
  ckks::Decryptor decryptor;
  ckks::Evaluator ev;
  ckks::Ciphertext ct;
};

// The world whose parameters the blob's header names (preset 0 when none matches, so that a
// foreign fingerprint is exercised as a rejection).
World& world(std::span<const std::uint8_t> data) {
  static std::vector<std::unique_ptr<World>> worlds = [] {
    std::vector<std::unique_ptr<World>> v;
    for (int p = 0; p < ckks::fuzz::kPresets; ++p) v.push_back(std::make_unique<World>(p));
    return v;
  }();
  if (data.size() >= 16) {
    std::uint64_t fp = 0;
    for (int i = 0; i < 8; ++i) fp |= static_cast<std::uint64_t>(data[8 + i]) << (8 * i);
    for (auto& w : worlds)
      if (ckks::fingerprint(*w->ctx) == fp) return *w;
  }
  return *worlds[0];
}

void exercise(std::span<const std::uint8_t> data) {
  [[maybe_unused]] World& w = world(data);  // unused by the loaders that need no Context (params, bundle)
#if defined(CKKS_FUZZ_CIPHERTEXT)
  const ckks::Ciphertext ct = ckks::deserialize_ciphertext(w.ctx, data);
  const ckks::Ciphertext two = ct.size() == 3 ? ct : w.ev.add(ct, ct);
  if (two.size() == 2) w.encoder.decode_complex(w.decryptor.decrypt(two));
#elif defined(CKKS_FUZZ_PLAINTEXT)
  w.encoder.decode_complex(ckks::deserialize_plaintext(w.ctx, data));
#elif defined(CKKS_FUZZ_PUBLIC_KEY)
  const ckks::PublicKey pk = ckks::deserialize_public_key(w.ctx, data);
  ckks::Encryptor enc(w.ctx, pk, ckks::math::Csprng::insecure_fixed_seed_for_testing(5));
  w.decryptor.decrypt(enc.encrypt(w.encoder.encode(std::vector<double>{0.5}, 0, w.ctx->default_scale())));
#elif defined(CKKS_FUZZ_RELIN_KEY)
  const ckks::RelinKey rk = ckks::deserialize_relin_key(w.ctx, data);
  w.ev.relinearize(w.ev.multiply(w.ct, w.ct), rk);
#elif defined(CKKS_FUZZ_GALOIS_KEYS)
  const ckks::GaloisKeys gk = ckks::deserialize_galois_keys(w.ctx, data);
  if (!gk.keys.empty()) w.ev.apply_galois(w.ct, gk.keys.begin()->first, gk);
#elif defined(CKKS_FUZZ_SECRET_KEY)
  const ckks::SecretKey sk = ckks::deserialize_secret_key(w.ctx, data);
  ckks::Ciphertext anonymous = w.ct;  // decrypted under the loaded key, whatever its key set
  anonymous.key_id = 0;
  ckks::Decryptor(w.ctx, sk).decrypt(anonymous);
#elif defined(CKKS_FUZZ_ENCAPSULATION_KEYS)
  // Loaded keys are used only by a Bootstrapper, which the tiny presets cannot hold: check the shape
  // the loader promises (two limbs q_0, p_0; dnum digits over Q_L·P).
  const ckks::EncapsulationKeys ek = ckks::deserialize_encapsulation_keys(w.ctx, data);
  if (ek.dense_to_sparse.b.limbs() != 2 || ek.sparse_to_dense.b.size() != w.ctx->num_digits(w.ctx->max_level()))
    __builtin_trap();
#elif defined(CKKS_FUZZ_PARAMS)
  const ckks::Params p = ckks::deserialize_params(data);
  // Build a Context only for small rings and chains (validation covers the rest; a 2^17-ring,
  // 100-prime Context is legitimate but would make each run take seconds).
  if (p.log_n <= 12 && p.log_q.size() + p.log_p.size() <= 8) ckks::Context::create(p);
#elif defined(CKKS_FUZZ_BUNDLE)
  for (auto blob : ckks::split_blobs(data))
    if (ckks::inspect(blob).type == ckks::ObjectType::Metadata) ckks::deserialize_metadata(blob);
#else
#error "define one CKKS_FUZZ_* loader"
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    exercise(std::span<const std::uint8_t>(data, size));
  } catch (const ckks::Error&) {
    // a clear rejection: what the loaders must do with bad input
  }
  return 0;
}

// libFuzzer targets for every loader of ckks/serialize.h. One source, one executable per loader:
// CKKS_FUZZ_LOADER selects which (fuzz/CMakeLists.txt builds fuzz_ciphertext, fuzz_plaintext, …).
// A loader may reject its input only with a ckks::Error; anything else (a crash, a sanitizer
// report, a leak, an uncaught exception) is a finding. Objects that load are then used
// (decrypted, applied) so that a "valid" but inconsistent object would show up too.
//
// Parameters: tiny and INSECURE (N = 2^5, q {40, 30, 30}, p {40}), fixed keys, so that one run
// explores many inputs per second; the checks do not depend on N.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

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

struct World {
  ckks::ContextPtr ctx = ckks::Context::create(ckks::fuzz::params());
  ckks::KeyGenerator kg{ctx, ckks::math::Csprng::insecure_fixed_seed_for_testing(1)};
  ckks::SecretKey sk = kg.secret_key();
  ckks::Encoder encoder{ctx};
  ckks::Decryptor decryptor{ctx, sk};
  ckks::Evaluator ev{ctx};
};

World& world() {
  static World w;
  return w;
}

void exercise(std::span<const std::uint8_t> data) {
  World& w = world();
#if defined(CKKS_FUZZ_CIPHERTEXT)
  const ckks::Ciphertext ct = ckks::deserialize_ciphertext(w.ctx, data);
  const ckks::Ciphertext two = ct.size() == 3 ? ct : w.ev.add(ct, ct);
  if (two.size() == 2) w.encoder.decode_complex(w.decryptor.decrypt(two));
#elif defined(CKKS_FUZZ_PLAINTEXT)
  w.encoder.decode_complex(ckks::deserialize_plaintext(w.ctx, data));
#elif defined(CKKS_FUZZ_PUBLIC_KEY)
  ckks::deserialize_public_key(w.ctx, data);
#elif defined(CKKS_FUZZ_RELIN_KEY)
  const ckks::RelinKey rk = ckks::deserialize_relin_key(w.ctx, data);
  static const ckks::Ciphertext sq = [&] {
    ckks::Encryptor enc(w.ctx, w.sk, ckks::math::Csprng::insecure_fixed_seed_for_testing(2));
    const std::vector<double> one = {1.0};
    const auto c = enc.encrypt(w.encoder.encode(std::span<const double>(one), w.ctx->max_level(), w.ctx->default_scale()));
    return w.ev.multiply(c, c);
  }();
  w.ev.relinearize(sq, rk);
#elif defined(CKKS_FUZZ_GALOIS_KEYS)
  ckks::deserialize_galois_keys(w.ctx, data);
#elif defined(CKKS_FUZZ_SECRET_KEY)
  ckks::deserialize_secret_key(w.ctx, data);
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

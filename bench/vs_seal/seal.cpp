// bench_vs_seal, Microsoft SEAL's half: the same operations through SEAL's public API (and
// seal::util for one limb's NTT). CMakeLists.txt compiles this file with SEAL's own default Release
// flags (-O3 -DNDEBUG, no -march=native), because SEAL's CKKSEncoder::encode/decode are templates
// in its header (ckks.h) and are compiled here rather than in libseal.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>

#include "seal/seal.h"
#include "seal/util/ntt.h"
#include "vs_seal.h"

namespace vs_seal {
namespace {

seal::EncryptionParameters params_for(int set) {
  seal::EncryptionParameters parms(seal::scheme_type::ckks);
  parms.set_poly_modulus_degree(std::size_t(1) << log_n(set));
  std::vector<seal::Modulus> mods;
  for (std::uint64_t q : chain_primes(set)) mods.emplace_back(q);  // q_0..q_L, then P (SEAL: last = special)
  parms.set_coeff_modulus(mods);
  return parms;
}

// SEAL's counterpart of ours.cpp's Fixture. SEAL seeds its keys and encryptions from
// std::random_device, so every fixture has fresh keys.
struct Fixture {
  seal::SEALContext context;
  double scale = 0;
  seal::CKKSEncoder encoder;
  seal::KeyGenerator keygen;
  seal::PublicKey pk;
  seal::RelinKeys rk;
  seal::GaloisKeys gk;  // rotation by one step
  seal::Encryptor encryptor;
  seal::Decryptor decryptor;
  seal::Evaluator ev;
  std::vector<cplx> z1, z2;
  seal::Plaintext pt1, pt2;
  seal::Ciphertext ct1, ct2, ct_mul, ct_relin;

  static seal::SEALContext checked_context(int set) {
    seal::SEALContext ctx(params_for(set), true, seal::sec_level_type::tc128);
    if (!ctx.parameters_set()) {
      throw std::invalid_argument(std::string("bench_vs_seal: SEAL rejects set ") + char('A' + set) + ": " +
                                  ctx.parameter_error_message());
    }
    return ctx;
  }
  static seal::PublicKey make_pk(seal::KeyGenerator& kg) {
    seal::PublicKey pk;
    kg.create_public_key(pk);
    return pk;
  }

  explicit Fixture(int set)
      : context(checked_context(set)),
        scale(std::ldexp(1.0, kLogScale)),
        encoder(context),
        keygen(context),
        pk(make_pk(keygen)),
        encryptor(context, pk),
        decryptor(context, keygen.secret_key()),
        ev(context) {
    keygen.create_relin_keys(rk);
    keygen.create_galois_keys(std::vector<int>{1}, gk);
  }

  void load(const std::vector<cplx>& a, const std::vector<cplx>& b) {
    z1 = a;
    z2 = b;
    encoder.encode(z1, context.first_parms_id(), scale, pt1);
    encoder.encode(z2, context.first_parms_id(), scale, pt2);
    encryptor.encrypt(pt1, ct1);
    encryptor.encrypt(pt2, ct2);
    ev.multiply(ct1, ct2, ct_mul);
    ev.relinearize(ct_mul, rk, ct_relin);
  }

  std::vector<cplx> decrypt(const seal::Ciphertext& ct) {
    seal::Plaintext pt;
    decryptor.decrypt(ct, pt);
    std::vector<cplx> z;
    encoder.decode(pt, z);
    return z;
  }

  TrialBits measure() {
    seal::Ciphertext rescaled, rotated;
    ev.rescale_to_next(ct_relin, rescaled);
    ev.rotate_vector(ct1, 1, gk, rotated);
    return {precision_bits(decrypt(ct1), z1), precision_bits(decrypt(rescaled), expected_product(z1, z2)),
            precision_bits(decrypt(rotated), expected_rotation(z1))};
  }
};

Fixture& fixture(int set) {
  static std::array<std::unique_ptr<Fixture>, kSets> cache;
  if (!cache[set]) {
    cache[set] = std::make_unique<Fixture>(set);
    const std::size_t slots = cache[set]->encoder.slot_count();
    cache[set]->load(random_slots(slots, 42), random_slots(slots, 43));
    self_check_or_abort("SEAL", set, cache[set]->measure());
  }
  return *cache[set];
}

// The loop body constructs its destination, so that each iteration produces a new object as this
// project's value-returning API does (SEAL takes the memory from its pool, which keeps freed blocks).
template <class R, class F>
void loop(benchmark::State& state, F&& f) {
  for (auto _ : state) {
    R r;
    f(r);
    benchmark::DoNotOptimize(r);
  }
}

}  // namespace

void seal_time(Op op, int set, benchmark::State& state) {
  Fixture& fx = fixture(set);
  using Ct = seal::Ciphertext;
  using Pt = seal::Plaintext;
  const auto top = fx.context.first_parms_id();
  switch (op) {
    case Op::encode: loop<Pt>(state, [&](Pt& r) { fx.encoder.encode(fx.z1, top, fx.scale, r); }); break;
    case Op::decode: loop<std::vector<cplx>>(state, [&](std::vector<cplx>& r) { fx.encoder.decode(fx.pt1, r); }); break;
    case Op::encrypt_pk: loop<Ct>(state, [&](Ct& r) { fx.encryptor.encrypt(fx.pt1, r); }); break;
    case Op::decrypt: loop<Pt>(state, [&](Pt& r) { fx.decryptor.decrypt(fx.ct1, r); }); break;
    case Op::add: loop<Ct>(state, [&](Ct& r) { fx.ev.add(fx.ct1, fx.ct2, r); }); break;
    case Op::multiply_plain: loop<Ct>(state, [&](Ct& r) { fx.ev.multiply_plain(fx.ct1, fx.pt2, r); }); break;
    case Op::multiply: loop<Ct>(state, [&](Ct& r) { fx.ev.multiply(fx.ct1, fx.ct2, r); }); break;
    case Op::relinearize: loop<Ct>(state, [&](Ct& r) { fx.ev.relinearize(fx.ct_mul, fx.rk, r); }); break;
    case Op::multiply_relin:
      loop<Ct>(state, [&](Ct& r) {
        fx.ev.multiply(fx.ct1, fx.ct2, r);
        fx.ev.relinearize_inplace(r, fx.rk);
      });
      break;
    case Op::rescale: loop<Ct>(state, [&](Ct& r) { fx.ev.rescale_to_next(fx.ct_relin, r); }); break;
    case Op::rotate: loop<Ct>(state, [&](Ct& r) { fx.ev.rotate_vector(fx.ct1, 1, fx.gk, r); }); break;
  }
}

void seal_time_ntt(bool inverse, bool lazy, int log_n, int bits, benchmark::State& state) {
  const seal::Modulus q(ntt_prime(log_n, bits));
  const seal::util::NTTTables tables(log_n, q);
  std::vector<std::uint64_t> a = random_limb(std::size_t(1) << log_n, q.value(), inverse ? 2 : 1);
  const seal::util::CoeffIter it(a.data());
  // Each variant's output is a valid input of the next call: forward takes [0, 4q), inverse [0, 2q).
  for (auto _ : state) {
    if (inverse) {
      if (lazy) seal::util::inverse_ntt_negacyclic_harvey_lazy(it, tables);
      else seal::util::inverse_ntt_negacyclic_harvey(it, tables);
    } else {
      if (lazy) seal::util::ntt_negacyclic_harvey_lazy(it, tables);
      else seal::util::ntt_negacyclic_harvey(it, tables);
    }
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
}

TrialBits seal_precision(int set, const std::vector<cplx>& z1, const std::vector<cplx>& z2) {
  Fixture fx(set);
  fx.load(z1, z2);
  return fx.measure();
}

std::string seal_version() { return SEAL_VERSION; }

bool seal_create_gives_same_primes(int set) {
  std::vector<int> bits = log_q(set);
  bits.push_back(kLogP);
  std::multiset<std::uint64_t> theirs, ours;
  for (const auto& m : seal::CoeffModulus::Create(std::size_t(1) << log_n(set), bits)) theirs.insert(m.value());
  for (std::uint64_t q : chain_primes(set)) ours.insert(q);
  return theirs == ours;
}

}  // namespace vs_seal

// The interface between the two halves of bench_vs_seal (see README.md in this directory).
// ours.cpp includes only this project's headers and seal.cpp only SEAL's, so that neither
// library's inline code is compiled with the other's flags; this header uses the standard library
// only. Both halves time the same operations on the same parameter sets, primes and inputs.
#pragma once
#include <benchmark/benchmark.h>

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace vs_seal {

using cplx = std::complex<double>;

/// Parameter sets A, B, C of bench/README.md (index 0, 1, 2): scale Δ = 2^40, one 60-bit special
/// prime, dnum = L + 1 (SEAL's layout: one data prime per key-switching digit).
///   A  log_n 13, log_q {60, 40, 40},  log_p {60}, L = 2
///   B  log_n 14, log_q {60, 40 × 6},  log_p {60}, L = 6
///   C  log_n 15, log_q {60, 40 × 18}, log_p {60}, L = 18
constexpr int kSets = 3;
int log_n(int set);
std::vector<int> log_q(int set);  ///< bit sizes of q_0..q_L
constexpr int kLogP = 60;         ///< bit size of the special prime P
constexpr int kLogScale = 40;     ///< Δ = 2^40
/// "/logN=13/L=2": the suffix of every benchmark name of a set.
std::string set_suffix(int set);

/// The operations timed for both libraries, at the top level L of a set. Every call produces a new
/// result object (this project's Evaluator returns values; the SEAL side constructs its destination
/// inside the timing loop).
enum class Op {
  encode,          ///< N/2 complex slots → plaintext at level L, scale Δ
  decode,          ///< plaintext → N/2 complex slots
  encrypt_pk,      ///< public-key encryption of a plaintext
  decrypt,         ///< ciphertext → plaintext
  add,             ///< ciphertext + ciphertext
  multiply_plain,  ///< ciphertext × plaintext
  multiply,        ///< ciphertext × ciphertext, 3 components, no relinearisation
  relinearize,     ///< 3 components → 2 (key switching of the s² component)
  multiply_relin,  ///< multiply then relinearize
  rescale,         ///< divide by q_L, level L → L − 1
  rotate,          ///< rotation of the slots by one step (a Galois automorphism + key switching)
};
constexpr Op kOps[] = {Op::encode,   Op::decode,      Op::encrypt_pk,     Op::decrypt,
                       Op::add,      Op::multiply_plain, Op::multiply,   Op::relinearize,
                       Op::multiply_relin, Op::rescale, Op::rotate};
const char* op_name(Op op);
/// True for the key-switching operations, which run a fixed 5 iterations on set C.
bool is_key_switching(Op op);

/// The primes of a set as this project chooses them: q_0..q_L, then P. The SEAL side is given
/// exactly these values (not CoeffModulus::Create's), so both libraries compute modulo the same
/// primes. Implemented in ours.cpp.
std::vector<std::uint64_t> chain_primes(int set);

/// One prime of `bits` bits with q ≡ 1 mod 2^(log_n+1), the one bench_math's NTT rows use
/// (the largest such prime). Implemented in ours.cpp.
std::uint64_t ntt_prime(int log_n, int bits);

/// The inputs of every fixture and of the precision comparison: N/2 complex values with real and
/// imaginary parts uniform in [−0.7, 0.7], from std::mt19937_64 seeded with `seed`.
std::vector<cplx> random_slots(std::size_t slots, std::uint64_t seed);

/// One limb of the NTT rows: n values uniform in [0, q), from std::mt19937_64 seeded with `seed`.
std::vector<std::uint64_t> random_limb(std::size_t n, std::uint64_t q, std::uint64_t seed);

/// Precision of a decrypted result against the expected slots, in bits:
/// mean_bits = −log2(mean |error|), min_bits = −log2(max |error|).
struct Bits {
  double mean_bits = 0;
  double min_bits = 0;
};
Bits precision_bits(const std::vector<cplx>& got, const std::vector<cplx>& want);
/// The expected slots: z1·z2 slot-wise, and z rotated left by one step (slot i holds z[i + 1]).
std::vector<cplx> expected_product(const std::vector<cplx>& z1, const std::vector<cplx>& z2);
std::vector<cplx> expected_rotation(const std::vector<cplx>& z);

/// Precision of one trial: fresh encryption, multiply + relinearize + rescale, rotate by one step.
struct TrialBits {
  Bits fresh, product, rotation;
};

/// The self-check of every timed fixture: the results the timed operations produce decrypt to the
/// expected slots, max error below 10^-3 (min_bits above 9.96); otherwise prints the three figures
/// for library `lib` at set `set` and aborts.
void self_check_or_abort(const char* lib, int set, const TrialBits& bits);

// ---- this project (ours.cpp) ----
/// Time `op` on `set` at `threads` library threads (ckks::set_num_threads) in the State's loop.
void ours_time(Op op, int set, int threads, benchmark::State& state);
/// Time one limb's NTT (forward or inverse, output in [0, q)) for the prime ntt_prime(log_n, bits).
void ours_time_ntt(bool inverse, int log_n, int bits, benchmark::State& state);
/// Inputs z1, z2 through keys generated from `seed`, at set `set`, one thread.
TrialBits ours_precision(int set, const std::vector<cplx>& z1, const std::vector<cplx>& z2, std::uint64_t seed);
/// ckks::set_num_threads(1), as bench_ckks's main does.
void ours_init();

// ---- Microsoft SEAL (seal.cpp) ----
void seal_time(Op op, int set, benchmark::State& state);
/// SEAL's util::ntt_negacyclic_harvey / inverse_ntt_negacyclic_harvey (output in [0, q)), or with
/// `lazy` their _lazy variants (forward output in [0, 4q), inverse in [0, 2q)).
void seal_time_ntt(bool inverse, bool lazy, int log_n, int bits, benchmark::State& state);
/// Inputs z1, z2 through SEAL with fresh random keys (SEAL seeds its own PRNG).
TrialBits seal_precision(int set, const std::vector<cplx>& z1, const std::vector<cplx>& z2);
/// "4.4.3", and whether CoeffModulus::Create(N, our bit sizes) gives the same primes as a set.
std::string seal_version();
bool seal_create_gives_same_primes(int set);

}  // namespace vs_seal

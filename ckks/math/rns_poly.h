// RnsPoly: an element of R_Q = Z_Q[X]/(X^N+1) held in RNS form, one limb (N words) per prime,
// in coefficient form or in evaluation (NTT) form [CHKKS18; FHETB, § ].
//
// The polynomial does not own or name its primes: every operation takes the RnsBasis that the limbs
// are reduced by (like Lattigo's ring.Ring), and the scheme layer (Context) knows which basis
// belongs to which level. Limb i is data[i*N .. (i+1)*N).
#pragma once
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "ckks/math/rns.h"

namespace ckks::math {

/// std::allocator, except that resize() and the size constructor leave new 64-bit words
/// uninitialised (default-initialised) instead of writing zeros: RnsPoly::uninitialized uses it to
/// skip a serial zero fill of memory a parallel loop overwrites anyway. Filled constructors
/// (vector(n, 0)) still write their value.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  /// Default-initialises (value construction with arguments is std::allocator_traits' own).
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
};

/// The coefficient storage of an RnsPoly: limb i is words [i·N, (i+1)·N).
using LimbWords = std::vector<std::uint64_t, DefaultInitAllocator<std::uint64_t>>;

class RnsPoly {
 public:
  RnsPoly() = default;
  /// The zero polynomial with `limbs` limbs of N coefficients, in the given form.
  RnsPoly(std::size_t N, std::size_t limbs, bool ntt_form)
      : n_(N), limbs_(limbs), ntt_form_(ntt_form), data_(N * limbs, 0) {}
  /// A polynomial of this shape whose coefficients are NOT initialised: for a caller that writes
  /// every coefficient of every limb before reading any (e.g. in a parallel loop over the limbs,
  /// where the zero fill of the constructor above would be a serial pass over all of the memory).
  static RnsPoly uninitialized(std::size_t N, std::size_t limbs, bool ntt_form) {
    RnsPoly p;
    p.n_ = N;
    p.limbs_ = limbs;
    p.ntt_form_ = ntt_form;
    p.data_.resize(N * limbs);
    return p;
  }

  std::size_t n() const { return n_; }
  std::size_t limbs() const { return limbs_; }
  bool is_ntt() const { return ntt_form_; }
  void set_ntt(bool v) { ntt_form_ = v; }

  std::uint64_t* limb(std::size_t i) { return data_.data() + i * n_; }
  const std::uint64_t* limb(std::size_t i) const { return data_.data() + i * n_; }
  LimbWords& data() { return data_; }
  const LimbWords& data() const { return data_; }

  /// Keep only the first `k` limbs (drop the top primes): the map R_{Q_ℓ} → R_{Q_{k-1}}.
  void truncate(std::size_t k) { limbs_ = k; data_.resize(k * n_); }

  bool operator==(const RnsPoly&) const = default;

 private:
  std::size_t n_ = 0, limbs_ = 0;
  bool ntt_form_ = false;
  LimbWords data_;
};

// ---- Transforms (basis.size() must equal a.limbs()); the limbs run on num_threads() threads
// (threads.h), as do mul_inplace and mul_add_inplace ----
/// Coefficient form → evaluation form, limb by limb. Precondition: a in coefficient form.
void to_ntt(RnsPoly& a, const RnsBasis& basis);
/// Evaluation form → coefficient form.
void from_ntt(RnsPoly& a, const RnsBasis& basis);

// ---- Ring arithmetic, limb-wise modulo basis[i] (operands of equal shape and form) ----
void add_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis);
void sub_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis);
void negate_inplace(RnsPoly& a, const RnsBasis& basis);
/// a ← a ⊙ b (coefficient-wise product; the ring product when both are in evaluation form).
void mul_inplace(RnsPoly& a, const RnsPoly& b, const RnsBasis& basis);
/// a ← a + b ⊙ c.
void mul_add_inplace(RnsPoly& a, const RnsPoly& b, const RnsPoly& c, const RnsBasis& basis);
/// out ← Σ_k x_k ⊙ y_k (out is overwritten; every operand of out's shape and form). The products
/// are summed in 128 bits and reduced once per 64 terms, so the result equals the sum of the
/// reduced products mod q_i exactly, at about the cost of one product per term. out must not be
/// one of the operands. Shapes are checked by CKKS_INVARIANT (checked builds, see errors.h).
void dot_product(RnsPoly& out, std::span<const RnsPoly* const> x, std::span<const RnsPoly* const> y,
                 const RnsBasis& basis);
/// out ← Σ_t k_t·x_t, k_t one integer given by its residues k_t[i] mod basis[i] (at least out.limbs()
/// of them); operands may have more limbs than out (their first out.limbs() are read). Same
/// accumulation, exactness and preconditions as dot_product.
void scaled_sum(RnsPoly& out, std::span<const RnsPoly* const> x, std::span<const std::vector<std::uint64_t>> k,
                const RnsBasis& basis);
/// a ← a + s·(1 + X + … ) in evaluation form, i.e. every evaluation point plus the integer s given
/// by its residues s_i (the constant polynomial s has the value s at every point).
void add_scalar_ntt_inplace(RnsPoly& a, std::span<const std::uint64_t> s, const RnsBasis& basis);
/// a ← a · s for one integer s given by its residues s_i = s mod basis[i].
void mul_scalar_inplace(RnsPoly& a, std::span<const std::uint64_t> s, const RnsBasis& basis);

/// Apply the Galois automorphism X ↦ X^g (g odd, 0 < g < 2N) [CKKS17; FHETB, §D-3.9].
/// Coefficient form: coefficient i moves to i·g mod 2N, negated when i·g mod 2N ≥ N.
/// Evaluation form: a permutation of the evaluation points (see ntt.h for their order).
RnsPoly automorphism(const RnsPoly& a, std::uint64_t g, const RnsBasis& basis);

/// The permutation π_g with automorphism(a)[i] = a[π_g(i)] in evaluation form.
std::vector<std::uint32_t> automorphism_ntt_permutation(std::size_t N, std::uint64_t g);

}  // namespace ckks::math

// Linear transforms on slots: every function against the same computation in the clear, the exact
// level/scale bookkeeping and rotation counts each one reports, and every error path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "ckks/errors.h"
#include "ckks/linear_transform.h"
#include "fixtures.h"

using namespace ckks;
using test::cvec;

namespace {

// Σ_{k<n} x[i + k·stride] (indices mod size) for every i.
cvec strided_sums(const cvec& x, std::size_t n, std::size_t stride) {
  cvec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t k = 0; k < n; ++k) y[i] += x[(i + k * stride) % x.size()];
  return y;
}

RealMatrix random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const auto flat = test::random_real(rows * cols, seed);
  RealMatrix m(rows, std::vector<double>(cols));
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) m[i][j] = flat[i * cols + j];
  return m;
}

// M·v in the output layout of MatrixVector: slot s holds (M·v)[s mod D], zero past the rows.
cvec matvec_layout(const RealMatrix& m, const cvec& v, std::size_t d, std::size_t slots) {
  cvec mv(d);
  for (std::size_t i = 0; i < m.size(); ++i)
    for (std::size_t j = 0; j < m[i].size(); ++j) mv[i] += m[i][j] * v[j];
  cvec out(slots);
  for (std::size_t s = 0; s < slots; ++s) out[s] = mv[s % d];
  return out;
}

RealMatrix matmul(const RealMatrix& a, const RealMatrix& b) {
  RealMatrix c(a.size(), std::vector<double>(b[0].size()));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < b.size(); ++k)
      for (std::size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}

std::vector<int> merged(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

int log2i(std::size_t x) {
  int l = 0;
  while ((std::size_t(1) << l) < x) ++l;
  return l;
}

}  // namespace

TEST_CASE("ckks/linear_transform: sum_slots for every n = 1 … N/2, stride 1") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const auto gk = k.keygen.galois_keys(k.sk, sum_slots_steps(S));
  const cvec x = test::random_complex(S, 101);
  const auto ct = k.encrypt(x);
  double worst = 64;
  for (std::size_t n = 1; n <= S; n *= 2) {
    TransformCost cost;
    const auto y = sum_slots(k.evaluator, ct, gk, n, 1, &cost);
    CHECK(cost.rotations == log2i(n));
    CHECK(cost.key_switches == log2i(n));
    CHECK(cost.levels == 0);
    CHECK(y.level == ct.level);
    CHECK(y.scale == ct.scale);
    // The sums grow like √n; measure the error relative to the input range 1.
    const double bits = precision_bits(k.decrypt(y), strided_sums(x, n, 1));
    worst = std::min(worst, bits + log2i(n) / 2.0);
    CHECK(bits >= 20 - log2i(n) / 2.0);
  }
  MESSAGE("sum_slots, n = 1 … 4096: worst precision + log2(√n) = " << worst << " bits");
}

TEST_CASE("ckks/linear_transform: strided block sums, windows and sparse slots") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const auto gk = k.keygen.galois_keys(k.sk, merged(sum_slots_steps(S), sum_slots_steps(8, 3)));
  const cvec x = test::random_complex(S, 102);
  const auto ct = k.encrypt(x);

  {  // column sums of 512 rows × 8: stride 8, n = 512
    TransformCost cost;
    const auto y = sum_slots(k.evaluator, ct, gk, 512, 8, &cost);
    CHECK(cost.rotations == 9);
    CHECK(precision_bits(k.decrypt(y), strided_sums(x, 512, 8)) >= 20);
  }
  {  // stride 3 (not a power of two), n = 8
    CHECK(sum_slots_steps(8, 3) == std::vector<int>{3, 6, 12});
    const auto y = sum_slots(k.evaluator, ct, gk, 8, 3);
    CHECK(precision_bits(k.decrypt(y), strided_sums(x, 8, 3)) >= 22);
  }
  {  // sliding windows of 16: stride 1, n = 16 < S
    const auto y = sum_slots(k.evaluator, ct, gk, 16, 1);
    CHECK(precision_bits(k.decrypt(y), strided_sums(x, 16, 1)) >= 22);
  }
  {  // sparse packing, 64 slots: rotations are cyclic mod 64
    const cvec z = test::random_complex(64, 103);
    const auto cz = k.encryptor.encrypt(k.encoder.encode(z, k.ctx->max_level(), k.ctx->default_scale(), 64));
    for (std::size_t n : {2u, 16u, 64u}) {
      const auto y = sum_slots(k.evaluator, cz, gk, n, 1);
      CHECK(y.slots == 64);
      CHECK(precision_bits(k.decrypt(y), strided_sums(z, n, 1)) >= 22);
    }
  }
}

TEST_CASE("ckks/linear_transform: replicate, with and without a mask first") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots(), B = 16;
  CHECK(replicate_steps(B, S) == sum_slots_steps(S / B, B));
  const auto gk = k.keygen.galois_keys(k.sk, replicate_steps(B, S));
  const cvec head = test::random_complex(B, 104);
  cvec want(S);
  for (std::size_t s = 0; s < S; ++s) want[s] = head[s % B];

  {  // zeros past the block: 0 levels, log2(S/B) rotations
    cvec x(S);
    std::copy(head.begin(), head.end(), x.begin());
    TransformCost cost;
    const auto y = replicate(k.evaluator, k.encrypt(x), gk, B, &cost);
    CHECK(cost.rotations == log2i(S / B));
    CHECK(cost.levels == 0);
    CHECK(y.level == k.ctx->max_level());
    CHECK(precision_bits(k.decrypt(y), want) >= 20);  // a sum of S/B = 256 copies (mostly zeros)
  }
  {  // other data past the block: keep_first (1 level, scale kept), then replicate
    cvec x = test::random_complex(S, 105);
    std::copy(head.begin(), head.end(), x.begin());
    const auto ct = k.encrypt(x);
    TransformCost cost;
    const auto masked = keep_first(k.evaluator, k.encoder, ct, B, &cost);
    CHECK(masked.level == ct.level - 1);
    CHECK(masked.scale == doctest::Approx(ct.scale).epsilon(1e-12));
    const auto y = replicate(k.evaluator, masked, gk, B, &cost);
    CHECK(cost.levels == 1);
    CHECK(cost.rotations == log2i(S / B));
    CHECK(precision_bits(k.decrypt(y), want) >= 20);
  }
}

TEST_CASE("ckks/linear_transform: matrix–vector products d = 4, 16, 31 (padded to 32), 64") {
  test::Kit k(test::small_secure());
  const std::size_t S = k.ctx->max_slots();
  const int L = k.ctx->max_level();
  const double delta = k.ctx->default_scale();
  struct Case { std::size_t d, n1, n2; int rotations; };
  // BSGS: n1 = 2^⌈log2(D)/2⌉, n2 = D/n1, (n1 − 1) + (n2 − 1) rotations.
  const Case cases[] = {{4, 2, 2, 2}, {16, 4, 4, 6}, {31, 8, 4, 10}, {64, 8, 8, 14}};
  std::vector<MatrixVector> mvs;
  std::vector<RealMatrix> ms;
  std::vector<int> steps;
  for (const Case& c : cases) {
    ms.push_back(random_matrix(c.d, c.d, 200 + c.d));
    mvs.emplace_back(k.encoder, ms.back(), L);
    steps = merged(steps, mvs.back().rotation_steps());
  }
  const auto gk = k.keygen.galois_keys(k.sk, steps);
  for (std::size_t t = 0; t < mvs.size(); ++t) {
    const MatrixVector& mv = mvs[t];
    const Case& c = cases[t];
    CAPTURE(c.d);
    CHECK(mv.period() == (c.d == 31 ? 32u : c.d));
    CHECK(mv.baby_steps() == c.n1);
    CHECK(mv.giant_steps() == c.n2);
    CHECK(mv.rotations() == c.rotations);
    const cvec v = test::random_complex(c.d, 300 + c.d);
    const auto ct = k.encrypt(mv.pack(v));
    TransformCost cost;
    const auto out = mv.apply(k.evaluator, ct, gk, &cost);
    CHECK(cost.rotations == c.rotations);
    CHECK(cost.key_switches == c.rotations);
    CHECK(cost.levels == 1);
    CHECK(out.level == L - 1);
    CHECK(out.scale == doctest::Approx(delta).epsilon(1e-12));
    const double bits = precision_bits(k.decrypt(out), matvec_layout(ms[t], v, mv.period(), S));
    MESSAGE("d = " << c.d << ": " << c.rotations << " rotations, " << bits << " bits (worst of " << S
                   << " slots)");
    CHECK(bits >= 20);
  }
}

TEST_CASE("ckks/linear_transform: matrix–vector layouts, sparse matrices and chaining") {
  test::Kit k(test::small_secure());
  const int L = k.ctx->max_level();
  const std::size_t S = k.ctx->max_slots();
  const double delta = k.ctx->default_scale();

  // rectangular 3×5 on 8 sparse slots (D = 8)
  const RealMatrix rect = random_matrix(3, 5, 401);
  const MatrixVector mv_rect(k.encoder, rect, L, 8);
  // d = 31 on 32 sparse slots: no replication needed
  const RealMatrix m31 = random_matrix(31, 31, 403);
  const MatrixVector mv31(k.encoder, m31, L, 32);
  // a diagonal and a tridiagonal matrix: zero diagonals are skipped with their rotations
  RealMatrix diag(16, std::vector<double>(16)), tri(16, std::vector<double>(16));
  for (std::size_t i = 0; i < 16; ++i) {
    diag[i][i] = 0.5 + 0.01 * static_cast<double>(i);
    tri[i][i] = 1;
    if (i + 1 < 16) tri[i][i + 1] = 0.5;  // diagonal 1
    if (i > 0) tri[i][i - 1] = -0.25;     // diagonal 15 = 3·4 + 3
  }
  const MatrixVector md(k.encoder, diag, L), mt(k.encoder, tri, L);
  // two products in a row (level 2 → 1 → 0); entries scaled by 1/4 to keep |M·v| near 1
  RealMatrix m1 = random_matrix(16, 16, 406), m2 = random_matrix(16, 16, 407);
  for (auto* m : {&m1, &m2})
    for (auto& row : *m)
      for (auto& x : row) x *= 0.25;
  const MatrixVector mv1(k.encoder, m1, L), mv2(k.encoder, m2, L - 1);
  // a complex matrix: the 8-point DFT, F[i][j] = e^{−2πi·ij/8}, on 8 slots
  ComplexMatrix dft(8, std::vector<std::complex<double>>(8));
  for (std::size_t i = 0; i < 8; ++i)
    for (std::size_t j = 0; j < 8; ++j) dft[i][j] = std::polar(1.0, -2 * std::numbers::pi * static_cast<double>(i * j) / 8);
  const MatrixVector mv_dft(k.encoder, dft, L, 8);

  std::vector<int> steps = replicate_steps(16, S);
  for (const MatrixVector* mv : {&mv_rect, &mv31, &md, &mt, &mv1, &mv_dft}) steps = merged(steps, mv->rotation_steps());
  const auto gk = k.keygen.galois_keys(k.sk, steps);

  {  // rectangular on sparse slots
    CHECK(mv_rect.period() == 8);
    const cvec v = test::random_complex(5, 402);
    const auto ct = k.encryptor.encrypt(k.encoder.encode(mv_rect.pack(v), L, delta, 8));
    const auto out = mv_rect.apply(k.evaluator, ct, gk);
    CHECK(out.slots == 8);
    CHECK(precision_bits(k.decrypt(out), matvec_layout(rect, v, 8, 8)) >= 22);
  }
  {  // complex entries
    const cvec v = test::random_complex(8, 409);
    cvec want(8);
    for (std::size_t i = 0; i < 8; ++i)
      for (std::size_t j = 0; j < 8; ++j) want[i] += dft[i][j] * v[j];
    const auto ct = k.encryptor.encrypt(k.encoder.encode(mv_dft.pack(v), L, delta, 8));
    CHECK(precision_bits(k.decrypt(mv_dft.apply(k.evaluator, ct, gk)), want) >= 20);
  }
  {  // the baby-step count is a parameter: (n1 − 1) + (⌈D/n1⌉ − 1) rotations
    const RealMatrix m = random_matrix(16, 16, 410);
    CHECK(MatrixVector(k.encoder, m, L, 0, 1).rotations() == 15);   // giant steps only
    CHECK(MatrixVector(k.encoder, m, L, 0, 16).rotations() == 15);  // baby steps only (all hoisted)
    CHECK(MatrixVector(k.encoder, m, L, 0, 3).rotations() == 2 + 5);
    CHECK(MatrixVector(k.encoder, m, L, 0, 3).rotation_steps() == std::vector<int>{1, 2, 3, 6, 9, 12, 15});
  }
  {  // d = 31 on 32 slots
    const cvec v = test::random_complex(31, 404);
    const auto ct = k.encryptor.encrypt(k.encoder.encode(mv31.pack(v), L, delta, 32));
    CHECK(precision_bits(k.decrypt(mv31.apply(k.evaluator, ct, gk)), matvec_layout(m31, v, 32, 32)) >= 20);
  }
  {  // sparse matrices
    CHECK(md.diagonals() == 1);
    CHECK(md.rotation_steps().empty());
    CHECK(mt.diagonals() == 3);
    CHECK(mt.rotation_steps() == std::vector<int>{1, 3, 12});
    const cvec v = test::random_complex(16, 405);
    TransformCost cost;
    const auto od = md.apply(k.evaluator, k.encrypt(md.pack(v)), gk, &cost);
    CHECK(cost.rotations == 0);
    const auto ot = mt.apply(k.evaluator, k.encrypt(mt.pack(v)), gk, &cost);
    CHECK(cost.rotations == 3);
    CHECK(cost.levels == 2);
    CHECK(precision_bits(k.decrypt(od), matvec_layout(diag, v, 16, S)) >= 22);
    CHECK(precision_bits(k.decrypt(ot), matvec_layout(tri, v, 16, S)) >= 22);
  }
  {  // v in the first D slots only: replicate, then M2·(M1·v)
    const cvec v = test::random_complex(16, 408);
    cvec x(S);
    std::copy(v.begin(), v.end(), x.begin());
    TransformCost cost;
    const auto rep = replicate(k.evaluator, k.encrypt(x), gk, 16, &cost);
    const auto once = mv1.apply(k.evaluator, rep, gk, &cost);
    const auto twice = mv2.apply(k.evaluator, once, gk, &cost);
    CHECK(twice.level == 0);
    CHECK(twice.scale == doctest::Approx(delta).epsilon(1e-12));
    CHECK(cost.levels == 2);
    CHECK(cost.rotations == log2i(S / 16) + 2 * 6);
    const cvec w = matvec_layout(m1, v, 16, 16);
    const double bits = precision_bits(k.decrypt(twice), matvec_layout(m2, w, 16, S));
    MESSAGE("replicate + two 16×16 products (level 2 → 0): " << bits << " bits");
    CHECK(bits >= 20);
  }
}

TEST_CASE("ckks/linear_transform: Volley Revolver matrix products (N = 2^14, 3 levels)") {
  test::Kit k(test::precision_n14());
  const int L = k.ctx->max_level();
  const double delta = k.ctx->default_scale();
  const auto rk = k.keygen.relin_key(k.sk);
  struct Case { std::size_t m, n, p, slots; };
  // 4×2 · 2×2 is the shape of [Chiang23, Figure 2]; 5×3 · 3×4 has n, p not powers of two and
  // p ∤ R on 64 slots (R = 16 rows of 4, m + p − 1 = 8 ≤ 16); 6×7 · 7×3 uses all N/2 slots.
  const Case cases[] = {{4, 2, 2, 64}, {5, 3, 4, 64}, {6, 7, 3, 0}};
  std::vector<int> steps;
  for (const Case& c : cases) steps = merged(steps, VolleyRevolver(k.encoder, c.m, c.n, c.p, L, c.slots).rotation_steps());
  const auto gk = k.keygen.galois_keys(k.sk, steps);
  for (const Case& c : cases) {
    CAPTURE(c.m);
    CAPTURE(c.n);
    CAPTURE(c.p);
    const VolleyRevolver vr(k.encoder, c.m, c.n, c.p, L, c.slots);
    const std::size_t S = vr.slots();
    const RealMatrix a = random_matrix(c.m, c.n, 500 + c.n), b = random_matrix(c.n, c.p, 600 + c.p);
    const RealMatrix want = matmul(a, b);
    cvec want_slots(S);
    for (std::size_t i = 0; i < c.m; ++i)
      for (std::size_t j = 0; j < c.p; ++j) want_slots[i * vr.row_stride() + j] = want[i][j];
    const auto ca = k.encryptor.encrypt(k.encoder.encode(vr.encode_a(a), L, delta, S));
    const auto cb = k.encryptor.encrypt(k.encoder.encode(vr.encode_b(b), L, delta, S));
    const int per_r = log2i(c.n) + log2i(c.p);

    TransformCost cost;
    const auto cc = vr.multiply(k.evaluator, ca, cb, rk, gk, &cost);
    CHECK(cc.level == L - 3);
    CHECK(cc.scale == doctest::Approx(delta * delta / static_cast<double>(k.ctx->q(L).value())).epsilon(1e-12));
    CHECK(cost.levels == 3);
    CHECK(cost.rotations == static_cast<int>(c.p) * per_r + static_cast<int>(c.p) - 1);
    CHECK(cost.key_switches == cost.rotations + static_cast<int>(c.p));
    const cvec got = k.decrypt(cc);
    const double bits = precision_bits(got, want_slots);  // C and the zeros around it
    CHECK(bits >= 20);
    const auto c_mat = vr.decode_c(got);
    CHECK(c_mat.size() == c.m);
    CHECK(std::abs(c_mat[c.m - 1][c.p - 1] - want[c.m - 1][c.p - 1]) < 1e-5);

    TransformCost pcost;
    const auto cp = vr.multiply_plain(k.evaluator, ca, vr.encode_b_plain(k.encoder, b), gk, &pcost);
    CHECK(cp.level == L - 3);
    CHECK(cp.scale == doctest::Approx(delta).epsilon(1e-12));
    CHECK(pcost.rotations == static_cast<int>(c.p) * per_r);
    CHECK(pcost.key_switches == pcost.rotations);
    const double pbits = precision_bits(k.decrypt(cp), want_slots);
    CHECK(pbits >= 20);
    MESSAGE(c.m << "×" << c.n << " · " << c.n << "×" << c.p << " on " << S << " slots (D = " << vr.row_stride()
                << "): ct×ct " << cost.rotations << " rotations, " << bits << " bits; ct×pt " << pcost.rotations
                << " rotations, " << pbits << " bits");
  }
}

TEST_CASE("ckks/linear_transform: errors") {
  test::Kit k(test::small_secure());
  const int L = k.ctx->max_level();
  const auto& ev = k.evaluator;
  const std::size_t S = k.ctx->max_slots();
  const auto ct = k.encrypt(test::random_complex(S, 700));
  const GaloisKeys none{k.ctx, {}};

  // sums and replication
  CHECK_THROWS_AS(sum_slots_steps(12), InputError);
  CHECK_THROWS_AS(sum_slots_steps(0), InputError);
  CHECK_THROWS_AS(sum_slots_steps(4, 0), InputError);
  CHECK_THROWS_AS(sum_slots(ev, ct, none, 3), InputError);
  CHECK_THROWS_AS(sum_slots(ev, ct, none, S, 2), InputError);  // n·stride > S
  CHECK_THROWS_WITH_AS(sum_slots(ev, ct, none, 8), "sum_slots: no Galois key for the rotation step(s) {1, 2, 4}; "
                       "generate them with KeyGenerator::galois_keys(sk, steps), where steps is the list this "
                       "transform's *_steps()/rotation_steps() returns", MissingKeyError);
  CHECK_NOTHROW(sum_slots(ev, ct, none, 1));  // n = 1 needs no rotation
  CHECK_THROWS_AS(replicate_steps(3, S), InputError);
  CHECK_THROWS_AS(replicate(ev, ct, none, 2 * S), InputError);
  CHECK_THROWS_AS(keep_first(ev, k.encoder, ct, 0), InputError);
  CHECK_THROWS_AS(keep_first(ev, k.encoder, ct, S + 1), InputError);
  CHECK_THROWS_AS(keep_first(ev, k.encoder, ev.drop_level(ct, 0), 4), LevelError);

  // MatrixVector
  const RealMatrix good = random_matrix(4, 4, 701);
  CHECK_THROWS_AS(MatrixVector(k.encoder, RealMatrix{}, L), InputError);
  CHECK_THROWS_AS(MatrixVector(k.encoder, RealMatrix{{1, 2}, {3}}, L), InputError);
  CHECK_THROWS_WITH_AS(MatrixVector(k.encoder, RealMatrix{{1, 2}, {3, std::nan("")}}, L),
                       "MatrixVector: entry (1, 1) is NaN or infinite", InputError);
  CHECK_THROWS_AS(MatrixVector(k.encoder, RealMatrix{{std::numeric_limits<double>::infinity()}}, L), InputError);
  CHECK_THROWS_AS(MatrixVector(k.encoder, random_matrix(5, 9, 702), L, 8), InputError);  // D = 16 > 8 slots
  CHECK_THROWS_AS(MatrixVector(k.encoder, good, L, 0, 5), InputError);                  // n1 > D
  CHECK_THROWS_AS(MatrixVector(k.encoder, good, 0), LevelError);
  CHECK_THROWS_AS(MatrixVector(k.encoder, good, L + 1), LevelError);
  CHECK_THROWS_AS(MatrixVector(k.encoder, good, L, 3), ParameterError);  // slots not a power of two
  const MatrixVector mv(k.encoder, good, L);
  CHECK_THROWS_AS(mv.pack(test::random_complex(5, 703)), InputError);
  CHECK_THROWS_AS(mv.apply(ev, ev.drop_level(ct, L - 1), none), LevelError);
  const auto sparse = k.encryptor.encrypt(k.encoder.encode(cvec(16, 1.0), L, k.ctx->default_scale(), 16));
  CHECK_THROWS_AS(mv.apply(ev, sparse, none), InputError);
  CHECK_THROWS_AS(mv.apply(ev, ct, none), MissingKeyError);
  CHECK_THROWS_AS(mv.apply(ev, ev.multiply(ct, ct), none), InputError);  // 3 components

  // VolleyRevolver
  CHECK_THROWS_AS(VolleyRevolver(k.encoder, 4, 2, 2, L), LevelError);  // N = 2^13 preset: L = 2 < 3
  test::Kit k4(test::precision_n14());
  const int L4 = k4.ctx->max_level();
  CHECK_THROWS_AS(VolleyRevolver(k4.encoder, 0, 2, 2, L4), InputError);
  CHECK_THROWS_AS(VolleyRevolver(k4.encoder, 4, 2, 2, L4, 0, 3), InputError);    // stride not a power of two
  CHECK_THROWS_AS(VolleyRevolver(k4.encoder, 4, 5, 2, L4, 0, 4), InputError);    // stride < n
  CHECK_THROWS_AS(VolleyRevolver(k4.encoder, 9, 4, 2, L4, 32), InputError);      // m = 9 > R = 8
  CHECK_THROWS_AS(VolleyRevolver(k4.encoder, 7, 4, 3, L4, 32), InputError);      // 7 + 2 > R = 8, 3 ∤ 8
  CHECK_NOTHROW(VolleyRevolver(k4.encoder, 6, 4, 3, L4, 32));                     // 6 + 2 ≤ 8
  CHECK_NOTHROW(VolleyRevolver(k4.encoder, 8, 4, 2, L4, 32));                     // wraps, but 2 | 8
  const VolleyRevolver vr(k4.encoder, 4, 3, 2, L4, 64);
  CHECK_THROWS_AS(vr.encode_a(random_matrix(3, 4, 704)), InputError);
  CHECK_THROWS_AS(vr.encode_b(random_matrix(3, 3, 705)), InputError);
  CHECK_THROWS_AS(vr.encode_b(RealMatrix{{1, 2}, {3, 4}, {5, std::nan("")}}), InputError);
  CHECK_THROWS_AS(vr.decode_c(cvec(8)), InputError);
  const auto a4 = k4.encryptor.encrypt(k4.encoder.encode(vr.encode_a(random_matrix(4, 3, 706)), L4,
                                                         k4.ctx->default_scale(), 64));
  const GaloisKeys none4{k4.ctx, {}};
  const auto rk4 = k4.keygen.relin_key(k4.sk);
  CHECK_THROWS_AS(vr.multiply(k4.evaluator, a4, a4, rk4, none4), MissingKeyError);
  CHECK_THROWS_AS(vr.multiply(k4.evaluator, k4.evaluator.drop_level(a4, L4 - 1), a4, rk4, none4), LevelError);
  CHECK_THROWS_AS(vr.multiply_plain(k4.evaluator, a4, {}, none4), InputError);
}

TEST_CASE("ckks/linear_transform: DiagonalTransform against DiagonalMatrix::apply, any offsets and scales") {
  test::Kit k(test::small_secure());
  const Evaluator& ev = k.evaluator;
  const int L = k.ctx->max_level();
  const std::size_t S = 64;
  // Offsets on both sides of 0 (S − 5 ≡ −5) and the middle S/2; entries random complex.
  DiagonalMatrix m;
  m.size = S;
  std::uint64_t seed = 900;
  for (std::size_t off : {std::size_t(0), std::size_t(3), std::size_t(17), S / 2, S - 5, S - 1})
    m.diags[off] = test::random_complex(S, ++seed);
  const cvec v = test::random_complex(S, 950);
  const cvec want = m.apply(v);
  // The product in the clear equals applying the factors one after the other.
  DiagonalMatrix m2 = DiagonalMatrix::identity(S);
  m2.scale(std::complex<double>(0.5, -0.25));
  m2.diags[7] = test::random_complex(S, 960);
  const cvec chained = m2.apply(m.apply(v)), product = (m2 * m).apply(v);
  CHECK(precision_bits(product, chained) > 45);

  for (std::size_t n1 : {std::size_t(0), std::size_t(1), std::size_t(8), S}) {
    CAPTURE(n1);
    const DiagonalTransform t(k.encoder, m, L, 0, n1);
    const auto gk = k.keygen.galois_keys(k.sk, t.rotation_steps());
    const auto ct = k.encryptor.encrypt(k.encoder.encode(v, L, k.ctx->default_scale(), S));
    TransformCost cost;
    const auto out = t.apply(ev, ct, gk, &cost);
    CHECK(out.level == L - 1);
    CHECK(out.scale == doctest::Approx(ct.scale).epsilon(1e-12));
    CHECK(cost.rotations == t.rotations());
    CHECK(cost.levels == 1);
    CHECK(precision_bits(k.decrypt(out), want) > 20);
  }
  // The automatic baby step uses no more rotations than any power of two.
  const DiagonalTransform best(k.encoder, m, L);
  for (std::size_t n1 = 1; n1 <= S; n1 <<= 1) CHECK(best.rotations() <= DiagonalTransform(k.encoder, m, L, 0, n1).rotations());
  // A diagonal scale other than q_ℓ moves the output scale by pt_scale/q_ℓ.
  const double q = static_cast<double>(k.ctx->q(L).value());
  const DiagonalTransform quarter(k.encoder, m, L, q / 4);
  const auto gk = k.keygen.galois_keys(k.sk, quarter.rotation_steps());
  const auto ct = k.encryptor.encrypt(k.encoder.encode(v, L, k.ctx->default_scale(), S));
  const auto out = quarter.apply(ev, ct, gk);
  CHECK(out.scale == doctest::Approx(ct.scale / 4).epsilon(1e-12));
  CHECK(precision_bits(k.decrypt(out), want) > 18);
  // Errors.
  CHECK_THROWS_AS(DiagonalTransform(k.encoder, DiagonalMatrix{S, {}}, L), InputError);
  CHECK_THROWS_AS(DiagonalTransform(k.encoder, m, 0), LevelError);
  CHECK_THROWS_AS(DiagonalTransform(k.encoder, m, L, 0, 3), InputError);
  DiagonalMatrix bad = m;
  bad.diags[2] = cvec(S, std::complex<double>(std::nan(""), 0));
  CHECK_THROWS_AS(DiagonalTransform(k.encoder, bad, L), InputError);
  CHECK_THROWS_AS(DiagonalTransform(k.encoder, m, L, -1.0), ScaleError);
  CHECK_THROWS_AS(quarter.apply(ev, ct, GaloisKeys{k.ctx, {}}), MissingKeyError);
  CHECK_THROWS_AS(quarter.apply(ev, ev.drop_level(ct, L - 1), gk), LevelError);
  CHECK_THROWS_AS(m.apply(cvec(3)), InputError);
}

// Tutorial 12 — k-nearest neighbours with encrypted queries
//
// Goal: answer k-nearest-neighbour queries whose features the server never sees, in the two modes
//       of ml/knn/knn_encrypted.h, on Boston Housing (regression: the mean MEDV of the k neighbours).
//       Mode 1: the server turns the encrypted queries into encrypted squared distances — for every
//       reference ONE plaintext-weighted sum of the d + 1 query ciphertexts, one level, no rotation —
//       and the key owner decrypts them and picks the neighbours itself. Mode 2: the server also
//       ranks, with polynomial comparisons (a steep Chebyshev step followed by copies of [CKK20]'s
//       f_3), and returns only an encrypted prediction. Follow the distance error in bits, the
//       level budget of each stage of mode 2, the precision of its comparisons, and how often
//       each mode gives the plaintext answer.
// Read alongside: [ZS21] Zuber–Sirdey, "Efficient homomorphic evaluation of k-NN classifiers",
//       PoPETs 2021(2) — all pairwise comparisons with a quadratic cost (abstract); the layout here —
//       ranks as row sums, a second comparison with k — is this project's (they use TFHE, here
//       CKKS polynomials); [CKK20]
//       Cheon–Kim–Kim, composite polynomials f_n for the sign function (formula from secondary
//       sources, see docs/references.md); [HS14] §4.3 (diagonal products). In this project: the
//       headers of ml/knn/knn_encrypted.h (both layouts and the seven steps of mode 2 with their
//       levels), ml/knn/knn_plain.h (the ground truth, tie rules), ckks/approx.h (sign_f).
// What to observe:
//   1. Mode 1 costs one level and no rotation: the distances come back at level ℓ − 1, scale Δ,
//      with ~27 bits of precision; the smallest gap between the k-th and (k+1)-th plaintext
//      distance is many orders of magnitude larger, so the neighbours equal the plaintext ones on
//      every query, and so do the predictions.
//   2. Mode 2's level budget: 1 (distances) + 0 (replicate) + 1 (differences) + the distance
//      comparisons + 0 (row sums) + the rank comparison + 1 (select and sum) = levels_needed().
//      The comparisons are almost all of it (27 of 30 levels with the defaults).
//   3. The comparison precision: the composite sign is accurate to many bits for |x| ≥ 2^-4 and
//      fades towards x = 0; an input x = (D_i − D_j)/β closer to 0 than the composite can resolve
//      is a near-tie that mode 2 may order wrongly (mode 1 never does: the key owner sorts).
//   4. Mode 2 agrees with the plaintext prediction (within 1% of the target's standard deviation)
//      on most queries; the misses are the queries with the smallest |x| in the table.
// Exercises (expected observations in docs/labs/12_knn.md):
//   a. Run with --compositions-distance 1 and 2 (fewer f_3 copies after the steep step): levels,
//      comparison precision at small |x|, and agreement.
//   b. Run with --k 1 and --k 5: what changes in mode 1, and in mode 2's level budget?
//   c. Run mode 1 with --references 404 (every training row): the gap D_(k+1) − D_(k) shrinks;
//      are the neighbours still exact?
//
// Usage: tutorial_12_knn [--references R] [--queries Q] [--k k] [--rank-references n]
//                        [--rank-log-n L] [--steep-degree D] [--compositions-distance c1]
//                        [--compositions-rank c2] [--seed K]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ckks/approx.h"
#include "ckks/context.h"
#include "ckks/errors.h"
#include "ckks/polynomial.h"
#include "ml/data/csv.h"
#include "ml/data/dataset.h"
#include "ml/data/sklearn.h"
#include "ml/knn/knn_encrypted.h"
#include "ml/knn/knn_plain.h"
#include "ml/metrics.h"
#include "ml/timer.h"
#include "tutorials/tutorial_common.h"
#include "tutorials/tutorial_options.h"

using namespace ckks;
using ml::KnnMatrix;

namespace {

const std::string kBoston = ml::sklearn_data("boston_house_prices.csv");


/// max_{r,f} |x_rf|, at least 1: the public feature unit u of ml/knn/knn_encrypted.h.
double max_abs(const KnnMatrix& m) {
  double u = 1;
  for (const auto& r : m)
    for (double v : r) u = std::max(u, std::fabs(v));
  return u;
}

/// The composition of `stages` (Chebyshev series on [−1, 1]) at x, in double.
double compose(const std::vector<ChebyshevSeries>& stages, double x) {
  for (const auto& p : stages) x = p(x);
  return x;
}

/// Bits of the composite sign on eps ≤ |x| ≤ 1: −log2 max |compose(x) − sign(x)| over 2000
/// points spread geometrically from eps to 1 (the composite is odd, so x > 0 suffices).
double sign_bits(const std::vector<ChebyshevSeries>& stages, double eps) {
  double worst = 0;
  for (int i = 0; i <= 2000; ++i) {
    const double x = eps * std::pow(1 / eps, i / 2000.0);
    worst = std::max(worst, std::fabs(compose(stages, x) - 1));
  }
  return worst > 0 ? std::min(52.0, -std::log2(worst)) : 52.0;
}

/// Sum of PolynomialEvaluator::levels_needed over the stages.
int stage_levels(const std::vector<ChebyshevSeries>& stages) {
  int l = 0;
  for (const auto& p : stages) l += PolynomialEvaluator::levels_needed(p);
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  tutorial::Options options("Tutorial 12 — k-nearest neighbours with encrypted queries");
  int references = 200, queries = 64, k = 3, rank_n = 8, rank_log_n = 11, steep = 63, c1 = 3, c2 = 2;
  std::uint64_t seed = 1;
  options.add("--references", references, "mode 1: reference rows R (the first training rows)", 8, 404);
  options.add("--queries", queries, "mode 1: query rows Q (the first test rows)", 1, 102);
  options.add("--k", k, "neighbours k", 1, 8);
  options.add_choice("--rank-references", rank_n, "mode 2: references n (a power of two)", std::vector<int>{4, 8, 16});
  options.add("--rank-log-n", rank_log_n, "mode 2: ring degree N = 2^L of the small insecure ring", 10, 13);
  options.add_choice("--steep-degree", steep, "mode 2: degree D of both steep steps", std::vector<int>{15, 31, 63, 127});
  options.add("--compositions-distance", c1, "mode 2: f_3 copies after the steep step, distance comparisons", 0, 6);
  options.add("--compositions-rank", c2, "mode 2: f_3 copies after the steep step, rank threshold", 0, 6);
  options.add("--seed", seed, "seed of the split and of the (insecure, deterministic) keys");
  if (const auto code = options.parse(argc, argv)) return *code;
  if (k > rank_n) {
    std::fprintf(stderr, "--k %d exceeds --rank-references %d: choose k <= n\n", k, rank_n);
    return 2;
  }
  bool ok = true;
  try {
    // 1. Data: seeded 80/20 split, features standardised on the training split (as ml/knn/knn_job.h).
    const ml::Dataset all = ml::select_target(ml::read_csv(kBoston), "MEDV");
    const ml::Split split = ml::train_test_split(all, 0.2, seed);
    const ml::Standardizer z = ml::Standardizer::fit(split.train);
    const ml::Dataset train = z.apply(split.train), test = z.apply(split.test);  // targets: split.*.y, in $1000s
    const KnnMatrix refs(train.X.begin(), train.X.begin() + references);
    const std::vector<double> ref_y(split.train.y.begin(), split.train.y.begin() + references);
    const KnnMatrix qs(test.X.begin(), test.X.begin() + queries);
    const std::vector<double> q_y(split.test.y.begin(), split.test.y.begin() + queries);
    const std::size_t d = refs[0].size();
    const double unit = max_abs(refs);
    std::printf("1. Boston Housing (python3-sklearn boston_house_prices.csv): %zu rows, %zu features, target MEDV\n",
                all.X.size(), d);
    std::printf("   split 80/20 (seed %llu): %zu train / %zu test, features standardised on the training rows, "
                "MEDV in $1000s\n",
                static_cast<unsigned long long>(seed), train.X.size(), test.X.size());
    std::printf("   public feature unit u = max |x| over the references = %.3f; k = %d\n", unit, k);

    // ---------------- Mode 1: encrypted distances, the key owner ranks ----------------
    std::printf("\nMode 1: the server computes encrypted distances, the key owner picks the neighbours\n");
    const ContextPtr ctx = Context::create(Params::preset_n13());
    std::printf("2. %s, log QP = %.0f bits, %s\n", ctx->params().describe().c_str(), ctx->log_qp(),
                ctx->security_bits() ? "128-bit secure [HES18]" : "INSECURE");
    std::printf("   R = %d references, Q = %d queries, one query per slot (%d of %zu slots used)\n", references, queries,
                queries, ctx->max_slots());
    auto t = ml::Clock::now();
    ml::KnnClient client(ctx, seed);  // fixed seed: deterministic and INSECURE, a lab only
    const ml::KnnDistanceServer server(ctx, refs, unit);
    const int level_in = ml::KnnDistanceServer::levels_needed();  // encrypt with exactly the levels needed
    const ml::EncryptedQueries enc = client.encrypt_queries(qs, unit, level_in);
    const double s_enc = ml::seconds_since(t);
    std::printf("   the client sends d + 1 = %zu ciphertexts (q_f/u for each feature, ||q/u||^2) at level %d, scale 2^%.0f\n",
                enc.features.size() + 1, enc.norm2.level, std::log2(enc.norm2.scale));
    t = ml::Clock::now();
    const std::vector<Ciphertext> dist_ct = server.distances(enc);
    const double s_dist = ml::seconds_since(t);
    std::printf("   server: %zu ciphertexts out (one per reference), level %d -> %d (levels used: %d), scale 2^%.2f, "
                "rotations: 0\n", dist_ct.size(), enc.norm2.level, dist_ct[0].level, enc.norm2.level - dist_ct[0].level,
                std::log2(dist_ct[0].scale));
    t = ml::Clock::now();
    const KnnMatrix dist = client.decrypt_distances(dist_ct, qs.size(), unit, false);
    const double s_dec = ml::seconds_since(t);

    double max_err = 0, max_d = 0, min_gap = 1e300;
    int same_neighbours = 0;
    std::vector<double> pred_enc, pred_plain;
    for (std::size_t b = 0; b < qs.size(); ++b) {
      const std::vector<double> plain = ml::squared_distances(refs, qs[b]);
      for (std::size_t r = 0; r < plain.size(); ++r) {
        max_err = std::max(max_err, std::fabs(dist[b][r] - plain[r]));
        max_d = std::max(max_d, plain[r]);
      }
      std::vector<double> sorted = plain;
      std::sort(sorted.begin(), sorted.end());
      if (static_cast<std::size_t>(k) < sorted.size()) min_gap = std::min(min_gap, sorted[k] - sorted[k - 1]);
      const auto nb_enc = ml::k_nearest(dist[b], k), nb_plain = ml::k_nearest(plain, k);
      same_neighbours += nb_enc == nb_plain;
      pred_enc.push_back(ml::knn_mean(nb_enc, ref_y));
      pred_plain.push_back(ml::knn_mean(nb_plain, ref_y));
    }
    const double bits = -std::log2(max_err / max_d);
    std::printf("3. max |D_decrypted - D_plain| = %.2e (largest D = %.1f): distance precision %.1f bits\n", max_err,
                max_d, bits);
    std::printf("   smallest gap D_(k+1) - D_(k) over the queries = %.2e, %.0e times the largest error\n", min_gap,
                min_gap / max_err);
    std::printf("   neighbours identical to the plaintext ones (same order) on %d of %d queries: %s\n", same_neighbours,
                queries, same_neighbours == queries ? "yes" : "NO");
    const double pred_diff = tutorial::max_abs_diff(pred_enc, pred_plain);
    std::printf("   predictions (mean MEDV of the neighbours): RMSE %.3f encrypted, %.3f plaintext, max difference %.1e\n",
                ml::rmse(pred_enc, q_y), ml::rmse(pred_plain, q_y), pred_diff);
    std::printf("   time: keys + encryption %.2f s, distances %.2f s, decryption %.2f s\n", s_enc, s_dist, s_dec);
    ok &= same_neighbours == queries && pred_diff == 0;

    // ---------------- Mode 2: the server ranks, returns an encrypted prediction ----------------
    std::printf("\nMode 2: the server also ranks and returns only an encrypted prediction\n");
    const KnnMatrix refs2(refs.begin(), refs.begin() + rank_n);
    const std::vector<double> y2(ref_y.begin(), ref_y.begin() + rank_n);
    ml::KnnRankOptions ro;
    ro.k = static_cast<std::size_t>(k);
    ro.steep_degree_distance = steep;
    ro.steep_degree_rank = steep;
    ro.compositions_distance = c1;
    ro.compositions_rank = c2;
    const auto cmp1 = ml::knn_sign_stages(steep, c1), cmp2 = ml::knn_sign_stages(steep, c2);
    const int l_cmp1 = stage_levels(cmp1), l_cmp2 = stage_levels(cmp2);
    // The small insecure ring of tests/ml/test_knn.cpp: 36-bit primes, enough levels for the circuit.
    const int need = 3 + l_cmp1 + l_cmp2;
    Params p;
    p.log_n = rank_log_n;
    p.log_q.assign(static_cast<std::size_t>(need) + 1, 36);
    p.log_q[0] = 50;
    p.log_p.assign(5, 60);
    p.dnum = (need + 1 + 5) / 6;  // ≤ 6 primes per digit: each digit < P
    p.log_scale = 36;
    p.allow_insecure = true;
    const ContextPtr ctx2 = Context::create(p);
    std::printf("4. N = 2^%d, q = {50, 36 x %d}, p = {60 x 5}, dnum %zu, scale 2^36: log QP = %.0f bits\n", rank_log_n,
                need, ctx2->dnum(), ctx2->log_qp());
    std::printf("   INSECURE: %s (the [HES18] bound for N = 2^%d is %d bits); a lab only\n",
                tutorial::secure_ring(static_cast<int>(std::ceil(ctx2->log_qp()))).c_str(), rank_log_n,
                max_log_qp_128(rank_log_n));
    const auto lay = ml::KnnRankLayout::make(static_cast<std::size_t>(rank_n), d, ctx2->max_slots());
    std::printf("   layout: n = %zu references, segment T = n^2 = %zu slots (slot i*n + j = row i, column j), "
                "%zu queries per ciphertext\n", lay.n, lay.segment(), lay.queries_per_ciphertext());
    // β: the server's public bound on |D_i − D_j|, from its training rows as stand-ins for queries.
    double spread = 0;
    for (const auto& row : train.X) {
      const auto dd = ml::squared_distances(refs2, row);
      spread = std::max(spread, *std::max_element(dd.begin(), dd.end()) - *std::min_element(dd.begin(), dd.end()));
    }
    const double beta = 1.25 * spread;
    const ml::KnnRankServer rank_server(ctx2, lay, refs2, y2, unit, beta, ro);
    std::printf("   distance bound beta = 1.25 x the largest spread over the training rows = %.1f: "
                "x = (D_i - D_j)/beta in [-1, 1]\n", beta);
    std::printf("5. level budget per stage (file comment of ml/knn/knn_encrypted.h):\n");
    std::printf("   1. delta_i = (||x_i||^2 - 2<x_i, q>)/beta, diagonal product     %2d\n", 1);
    std::printf("   2. replicate row 0 down the rows (rotations)                    %2d\n", 0);
    std::printf("   3. U = B^T - B: all differences (D_i - D_j)/beta                 %2d\n", 1);
    std::printf("   4. compare: steep degree %3d (%d levels) + %d x f_3 (3 levels each) %2d\n", steep,
                PolynomialEvaluator::levels_needed(cmp1[0]), c1, l_cmp1);
    std::printf("   5. row sums: ranks (rotations)                                  %2d\n", 0);
    std::printf("   6. rank < k: steep degree %3d (%d levels) + %d x f_3                %2d\n", steep,
                PolynomialEvaluator::levels_needed(cmp2[0]), c2, l_cmp2);
    std::printf("   7. select the targets and sum them                              %2d\n", 1);
    std::printf("   total %d, levels_needed() = %d: %s\n", need, rank_server.levels_needed(),
                need == rank_server.levels_needed() ? "yes" : "NO");
    ok &= need == rank_server.levels_needed();
    std::printf("6. comparison precision (in double, bits of |sign~(x) - sign(x)| for eps <= |x| <= 1):\n");
    std::printf("   eps        | distance comparisons | rank threshold\n");
    for (int e : {2, 4, 6, 8, 10})
      std::printf("   2^-%-2d      | %20.1f | %14.1f\n", e, sign_bits(cmp1, std::ldexp(1.0, -e)),
                  sign_bits(cmp2, std::ldexp(1.0, -e)));

    const std::size_t Q2 = std::min(lay.queries_per_ciphertext(), qs.size());
    const KnnMatrix q2(qs.begin(), qs.begin() + static_cast<std::ptrdiff_t>(Q2));
    t = ml::Clock::now();
    ml::KnnClient client2(ctx2, seed + 1);
    const RelinKey rk = client2.relin_key();
    const std::vector<int> steps = rank_server.rotation_steps();
    const GaloisKeys gk = client2.galois_keys(steps);
    const Ciphertext ct = client2.encrypt_segments(q2, lay, unit, rank_server.levels_needed());
    const double s_keys = ml::seconds_since(t);
    t = ml::Clock::now();
    const Ciphertext out = rank_server.predict(ct, rk, gk);
    const double s_pred = ml::seconds_since(t);
    const std::vector<double> pe = client2.decode_regression(out, lay, Q2);
    const std::vector<double> pp = ml::knn_predict(refs2, y2, q2, ro.k, ml::KnnTask::Regress);
    double mean = 0, var = 0;
    for (double v : split.train.y) mean += v;
    mean /= static_cast<double>(split.train.y.size());
    for (double v : split.train.y) var += (v - mean) * (v - mean);
    const double tol = 0.01 * std::sqrt(var / static_cast<double>(split.train.y.size()));
    std::printf("7. %zu queries in one ciphertext at level %d -> output level %d; %zu rotation keys; keys + encryption "
                "%.2f s, server %.2f s\n", Q2, ct.level, out.level, steps.size(), s_keys, s_pred);
    std::printf("   rank-threshold inputs: |v_i| = |k - 1/2 - rank_i|/n >= 1/(2n) = 2^-%.0f when the ranks are exact\n",
                std::log2(2.0 * rank_n));
    std::printf("   query | plaintext | encrypted | |difference| | x at the k-th boundary = (D_(k+1) - D_(k))/beta\n");
    int agree = 0;
    double worst = 0;
    for (std::size_t b = 0; b < Q2; ++b) {
      std::vector<double> dd = ml::squared_distances(refs2, q2[b]);
      std::sort(dd.begin(), dd.end());
      const double min_x = static_cast<std::size_t>(k) < dd.size() ? (dd[k] - dd[k - 1]) / beta : 1.0;
      const double e = std::fabs(pe[b] - pp[b]);
      worst = std::max(worst, e);
      agree += e <= tol;
      std::printf("   %5zu | %9.3f | %9.3f | %12.2e | 2^%.1f%s\n", b, pp[b], pe[b], e, std::log2(std::max(min_x, 1e-300)),
                  e <= tol ? "" : "  <- outside the tolerance");
    }
    std::printf("   agreement with the plaintext KNN on the same %d references: %d of %zu within %.3f (1%% of the "
                "target's std), max difference %.3f\n", rank_n, agree, Q2, tol, worst);
    std::printf("   mode 2 agrees on at least 3/4 of the queries: %s\n", 4 * agree >= 3 * static_cast<int>(Q2) ? "yes" : "NO");
    ok &= 4 * agree >= 3 * static_cast<int>(Q2) && out.level == ct.level - rank_server.levels_needed();

    // 8. One level too few: LevelError before any work.
    try {
      (void)rank_server.predict(client2.encrypt_segments(q2, lay, unit, rank_server.levels_needed() - 1), rk, gk);
      std::printf("8. queries one level too low: no error: NO\n");
      ok = false;
    } catch (const LevelError& e) {
      std::printf("8. queries one level too low: LevelError: %s\n", e.what());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return ok ? 0 : 1;
}

#include "ml/knn/knn_plain.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <string>

#include "ckks/errors.h"
#include "ml/format.h"

namespace ckks::ml {

void check_knn_model(const KnnMatrix& refs, const std::vector<double>& targets, std::size_t k, KnnTask task,
                     const char* op) {
  const std::string o(op);
  if (refs.empty()) throw InputError(o + ": the reference set is empty; give at least one labelled row");
  const std::size_t d = refs[0].size();
  if (d == 0) throw InputError(o + ": the reference rows have no features");
  for (std::size_t r = 0; r < refs.size(); ++r) {
    if (refs[r].size() != d)
      throw InputError(o + ": reference row " + std::to_string(r) + " has " + std::to_string(refs[r].size()) +
                       " features but row 0 has " + std::to_string(d) + "; every row needs the same features");
    for (std::size_t f = 0; f < d; ++f)
      if (!std::isfinite(refs[r][f]))
        throw InputError(o + ": reference row " + std::to_string(r) + ", feature " + std::to_string(f) + " is " +
                         format_number(refs[r][f]) + "; remove or impute non-finite values");
  }
  if (targets.size() != refs.size())
    throw InputError(o + ": " + std::to_string(refs.size()) + " reference rows but " + std::to_string(targets.size()) +
                     " targets; give one target per row");
  for (std::size_t r = 0; r < targets.size(); ++r) {
    const double t = targets[r];
    if (!std::isfinite(t))
      throw InputError(o + ": target " + std::to_string(r) + " is " + format_number(t) + "; targets must be finite");
    if (task == KnnTask::Classify && (t < 0 || t != std::floor(t) || t > 1e6))
      throw InputError(o + ": label " + std::to_string(r) + " is " + format_number(t) +
                       "; classification needs integer class labels 0, 1, 2, … (use --task regress for real targets)");
  }
  if (k == 0 || k > refs.size())
    throw InputError(o + ": k = " + std::to_string(k) + " but there are " + std::to_string(refs.size()) +
                     " references; choose 1 ≤ k ≤ " + std::to_string(refs.size()));
}

std::vector<double> squared_distances(const KnnMatrix& refs, const std::vector<double>& q) {
  std::vector<double> out(refs.size());
  for (double v : q)
    if (!std::isfinite(v)) throw InputError("knn: a query value is " + format_number(v) + "; queries must be finite");
  for (std::size_t r = 0; r < refs.size(); ++r) {
    if (refs[r].size() != q.size())
      throw InputError("knn: the query has " + std::to_string(q.size()) + " features but reference row " +
                       std::to_string(r) + " has " + std::to_string(refs[r].size()) +
                       "; queries and references need the same features");
    double s = 0;
    for (std::size_t f = 0; f < q.size(); ++f) {
      const double e = q[f] - refs[r][f];
      s += e * e;
    }
    out[r] = s;
  }
  return out;
}

std::vector<std::size_t> k_nearest(const std::vector<double>& dist, std::size_t k) {
  if (k == 0 || k > dist.size())
    throw InputError("knn: k = " + std::to_string(k) + " but there are " + std::to_string(dist.size()) +
                     " references; choose 1 ≤ k ≤ " + std::to_string(dist.size()));
  std::vector<std::size_t> idx(dist.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  // Lexicographic (distance, index): the lower index wins a tie.
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](std::size_t a, std::size_t b) { return dist[a] < dist[b] || (dist[a] == dist[b] && a < b); });
  idx.resize(k);
  return idx;
}

double knn_mean(const std::vector<std::size_t>& nn, const std::vector<double>& targets) {
  if (nn.empty()) throw InputError("knn_mean: no neighbours");
  double s = 0;
  for (std::size_t i : nn) {
    if (i >= targets.size()) throw InputError("knn_mean: neighbour index " + std::to_string(i) + " out of range");
    s += targets[i];
  }
  return s / static_cast<double>(nn.size());
}

int knn_vote(const std::vector<std::size_t>& nn, const std::vector<double>& labels) {
  if (nn.empty()) throw InputError("knn_vote: no neighbours");
  std::map<int, std::size_t> votes;
  for (std::size_t i : nn) {
    if (i >= labels.size()) throw InputError("knn_vote: neighbour index " + std::to_string(i) + " out of range");
    const double l = labels[i];
    if (!(l >= 0) || l != std::floor(l))
      throw InputError("knn_vote: label " + format_number(l) + " is not an integer ≥ 0");
    ++votes[static_cast<int>(l)];
  }
  std::size_t best = 0;
  for (const auto& [c, v] : votes) best = std::max(best, v);
  // The nearest neighbour whose class has the top count decides (nn is nearest first).
  for (std::size_t i : nn) {
    const int c = static_cast<int>(labels[i]);
    if (votes[c] == best) return c;
  }
  return votes.begin()->first;  // unreachable
}

std::vector<double> knn_predict(const KnnMatrix& refs, const std::vector<double>& targets, const KnnMatrix& queries,
                                std::size_t k, KnnTask task) {
  check_knn_model(refs, targets, k, task, "knn_predict");
  std::vector<double> out;
  out.reserve(queries.size());
  for (const auto& q : queries) {
    const auto nn = k_nearest(squared_distances(refs, q), k);
    out.push_back(task == KnnTask::Regress ? knn_mean(nn, targets) : static_cast<double>(knn_vote(nn, targets)));
  }
  return out;
}

}  // namespace ckks::ml

// Plaintext k-nearest neighbours: the ground truth the encrypted KNN (ml/knn/knn_encrypted.h) is
// compared against, in double precision.
//
// Definitions (the usual KNN of Fix & Hodges / Cover & Hart, stated here so that every tie is
// decided the same way in every mode):
//   * distance: squared Euclidean distance D(q, x_r) = Σ_f (q_f − x_rf)², computed in double;
//   * neighbours: the k references with the smallest D, ties broken by the LOWER reference index
//     (a stable sort of the indices by D), listed nearest first;
//   * regressor: the mean of the k neighbours' targets;
//   * classifier: majority vote over the k neighbours' integer labels; a tie between classes goes
//     to the class of the nearest neighbour among the tied classes.
// Preparation of the data (standardisation on the training split, the unit of the features) is
// the caller's business (ml/knn/knn_job.h does it for the `ckks-ml knn` job).
#pragma once
#include <cstddef>
#include <vector>

namespace ckks::ml {

using KnnMatrix = std::vector<std::vector<double>>;  ///< rows of equal length (samples × features)

/// The task a KNN model solves.
enum class KnnTask { Regress, Classify };

/// Checks a reference set and a neighbour count: `refs` non-empty, rectangular with ≥ 1 feature,
/// every value finite; `targets` one per row (finite; integers ≥ 0 when `task` is Classify);
/// 1 ≤ k ≤ refs.size(). `op` prefixes the messages.
/// Throws ckks::InputError naming the offending value and the fix.
void check_knn_model(const KnnMatrix& refs, const std::vector<double>& targets, std::size_t k, KnnTask task,
                     const char* op);

/// D(q, x_r) for every reference row r (length refs.size()).
/// Throws ckks::InputError if q has a different length than the rows, or a non-finite value.
std::vector<double> squared_distances(const KnnMatrix& refs, const std::vector<double>& q);

/// The indices of the k smallest distances, nearest first, ties by the lower index.
/// Throws ckks::InputError unless 1 ≤ k ≤ dist.size().
std::vector<std::size_t> k_nearest(const std::vector<double>& dist, std::size_t k);

/// Mean of targets[i] over the neighbours. Throws ckks::InputError for an empty list or an index
/// out of range.
double knn_mean(const std::vector<std::size_t>& neighbours, const std::vector<double>& targets);

/// Majority vote of labels[i] over the neighbours (nearest first); ties between classes go to the
/// class of the nearest neighbour among the tied ones. Throws ckks::InputError for an empty list,
/// an index out of range, or a label that is not an integer ≥ 0.
int knn_vote(const std::vector<std::size_t>& neighbours, const std::vector<double>& labels);

/// One prediction per query row: knn_mean (Regress) or knn_vote (Classify, returned as a double)
/// of the k_nearest references. Validates with check_knn_model and throws its errors, and
/// ckks::InputError for a query of the wrong length.
std::vector<double> knn_predict(const KnnMatrix& refs, const std::vector<double>& targets, const KnnMatrix& queries,
                                std::size_t k, KnnTask task);

}  // namespace ckks::ml

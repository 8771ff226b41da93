// The `ckks-ml logreg-minibatch` job: Fashion-MNIST one class against the rest, 196 features (the
// means of the 2×2 pixel blocks of the 28×28 images), standardised on the training rows as
// `ckks-ml logreg` does (Standardizer, bias column last). The data owner encrypts the training set
// batch by batch into a directory (ml/logreg/logreg_minibatch.h), the server streams it back and
// trains with the quadratic gradient and NAG over mini-batches [Chiang24MB]; the weights are
// decrypted and scored on the test images beside the same mini-batch algorithm in double precision
// (same batches, w_0 = 0) and the full-batch algorithm of ml/logreg/logreg_plain.h with the same
// number of iterations.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"
#include "ml/data/idx.h"
#include "ml/logreg/logreg_job.h"  // LogregMetrics
#include "ml/logreg/logreg_minibatch.h"

namespace ckks::ml {

/// The 196 features of each image: the mean of each 2×2 block of pixels, row-major over the 14×14
/// blocks (feature r·14 + c averages pixels (2r, 2c), (2r, 2c+1), (2r+1, 2c), (2r+1, 2c+1)); pixels
/// in [0, 1], so are the features. Throws InputError unless the images are 28×28.
std::vector<std::vector<double>> fashion_block_means(const ImageSet& images);

/// The Fashion-MNIST class names, 0 "T-shirt/top" … 9 "Ankle boot".
const char* fashion_class_name(int c);

struct MinibatchJobOptions {
  std::string data_dir = kDebianFashionMnistDir;
  int positive_class = 0;        ///< --class: this class is 1, the nine others 0
  std::size_t batch = 15000;     ///< rows per mini-batch
  int epochs = 1;
  std::size_t train_limit = 0;   ///< 0: all 60 000 training images; else the first ones
  std::size_t test_limit = 0;    ///< 0: all 10 000 test images
  std::string cache;             ///< empty: a temporary directory, removed afterwards
  std::size_t block = 16;        ///< k, columns per group (MinibatchLayout)
  int sigmoid_degree = 3;
  double eta0 = 0.0;
  Params params = Params::preset_n15();
  std::optional<std::uint64_t> test_seed;  ///< set: deterministic INSECURE keys (tests only)
};

/// One line of the level schedule: iteration t on batch j of epoch e, the level of w_t, and the
/// levels the iteration reads x and xb/yb at (x: −1 when not read).
struct MinibatchScheduleRow {
  int t = 0, epoch = 0;
  std::size_t batch = 0, rows = 0, chunks = 0;
  int w_level = 0, x_level = 0, xb_level = 0, w_next_level = 0;
};

struct MinibatchReport {
  std::string dataset;
  int positive_class = 0;
  std::size_t train_rows = 0, test_rows = 0, features = 0, positives_train = 0;
  std::size_t batch = 0, batches = 0;
  int epochs = 0, iterations = 0, levels_per_iteration = 0, levels_used = 0, max_iterations = 0;
  MinibatchLayout layout;
  std::vector<MinibatchScheduleRow> schedule;
  Params params;
  double log_qp = 0;
  int security_bits = 0;
  LogregMetrics encrypted, plaintext, full_batch;  ///< test set
  std::vector<double> weights_encrypted, weights_plaintext, weights_full_batch;
  double max_weight_error = 0;  ///< max_j |w_encrypted − w_plaintext|
  double max_abs_margin = 0;    ///< σ̃'s largest input in the plaintext mini-batch run
  std::uint64_t bytes_on_disk = 0, ciphertexts_on_disk = 0;
  double seconds_load = 0, seconds_keygen = 0, seconds_encrypt = 0, seconds_train = 0, seconds_decrypt = 0,
         seconds_total = 0;
  std::vector<double> seconds_per_epoch;  ///< training seconds of each epoch
  double peak_rss_gib = 0;                ///< getrusage's maximum resident set size at the end
};

/// Runs the job; `on_schedule` (if set) receives the report with its level schedule filled before
/// any key is made (the command prints it). Throws InputError for a class outside 0..9, a batch of
/// 0 rows or more rows than the training set, an unwritable cache directory or missing data;
/// LevelError when epochs × batches iterations need more levels than the chain holds (naming
/// --epochs, --batch and the limit); ParameterError when a block does not fit the ring.
MinibatchReport run_logreg_minibatch_job(const MinibatchJobOptions& options, const Progress& progress = {},
                                         const std::function<void(const MinibatchReport&)>& on_schedule = {});

}  // namespace ckks::ml

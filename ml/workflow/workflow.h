// The client/server workflow through files (`ckks-ml keygen | encrypt | infer | decrypt`): the
// client makes the keys and keeps the secret one, the server computes with the public evaluation
// keys only. Files are bundles of ckks/serialize.h objects, each led by a Metadata object (JSON)
// naming the model and what the server and the client need to know about the layout.
//
//   DIR/secret.key   Metadata, Params, SecretKey, PublicKey            (permissions 0600)
//   DIR/public.keys  Metadata, Params, PublicKey, RelinKey, GaloisKeys (exactly the model's steps)
//   query / answer   Metadata, Params, Ciphertext × k
//
// Models:
//   mlp     latency mode (ml/mlp/mlp_latency.h): one image per ciphertext; keys for its rotation
//           steps; parameters mlp_latency_params (N = 2^13 for the committed model, 128-bit).
//   linreg  the simplified-fixed-Hessian training of ml/linreg/linreg_encrypted.h: the client encrypts a
//           training set, the server trains on it and returns the encrypted weights; the layout
//           (rows, features) comes from the data the keys were made for.
//
// The server side (infer) refuses a key file that holds a secret key, and needs nothing but the
// public keys, the query and the model: it works in a directory where no secret key exists.
//
// What keygen records, every later step reads (so a user names the model once):
//   * the model, and for mlp the weights file and its digest (content_digest): encrypt, infer and
//     decrypt take them from the key files when --model / --weights are not given, and refuse a
//     contradicting --model or a weights file of another digest, naming both values;
//   * for linreg the data, target, split seed and held-out fraction, likewise;
//   * the key set (KeyId of the secret key, ckks/keys.h), which every key and ciphertext also
//     carries: infer refuses a query of another key set than its evaluation keys, decrypt an answer
//     of another key set than its secret key, each naming both key sets (16 hex digits) and the files.
// Key files and queries written before key sets were recorded carry none; they are not checked.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckks/params.h"

namespace ckks::ml {

/// Options of the four steps. Empty (or unset) values of model, weights, data, target, seed and
/// test_fraction are taken from the key files (what keygen recorded); keygen needs model, and the
/// caller sets keygen's defaults (the committed weights, Boston Housing, MEDV, seed 1, 0.2).
struct WorkflowOptions {
  std::string model;  ///< "mlp" or "linreg"
  // mlp
  std::string weights;  ///< safetensors file
  std::string images_dir;  ///< Fashion-MNIST IDX directory (Debian's by default)
  // linreg
  std::string data;         ///< CSV with a header row
  std::string target;       ///< target column
  std::optional<std::uint64_t> seed;     ///< seed of the train/test split
  std::optional<double> test_fraction;   ///< held-out fraction
  int iterations = 0;       ///< 0: min(16, levels − 2)
  Params params = Params::preset_n15();
};

/// What keygen wrote.
struct KeygenReport {
  std::string secret_path, public_path;
  std::size_t secret_bytes = 0, public_bytes = 0, galois_keys = 0;
  int security_bits = 0;
  std::string params;   ///< Params::describe()
  std::string key_set;  ///< the key set's id (key_id_string), recorded in both files
};

/// Client: make the keys for `o.model` and write DIR/secret.key (0600) and DIR/public.keys.
/// Throws InputError if DIR/secret.key exists and overwrite is false (it would destroy the only
/// key that can decrypt earlier answers), if DIR cannot be created, or for a bad model name/data.
KeygenReport workflow_keygen(const WorkflowOptions& o, const std::string& dir, bool overwrite = false);

/// Client: encrypt a query with the keys in DIR and write it to `out`.
/// mlp: test images first … first + count − 1 (one ciphertext each).
/// linreg: the standardised training split of o.data (the rows keygen sized the layout for).
/// Returns the number of ciphertexts written. Throws InputError for a missing/invalid key file,
/// a model different from the keys', an image range outside the test set, or bad data.
std::size_t workflow_encrypt(const WorkflowOptions& o, const std::string& keys_dir, const std::string& out,
                             std::size_t first = 0, std::size_t count = 0);

/// Server: read the evaluation keys and the query, compute, write the answer. Never reads a
/// secret key: throws InputError if `eval_keys` holds one (naming the file and the fix), or if the
/// query was made for another model or other parameters. Returns seconds spent computing.
double workflow_infer(const WorkflowOptions& o, const std::string& eval_keys, const std::string& in,
                      const std::string& out);

/// Client: decrypt an answer. mlp: one predicted class per image (and the logits); linreg: the
/// weights (bias last), and the held-out RMSE and R² of the data the keys were made for.
struct DecryptResult {
  std::string model;
  std::vector<int> predictions;               ///< mlp
  std::vector<std::vector<double>> logits;    ///< mlp
  std::size_t first_image = 0;                ///< mlp
  std::vector<double> weights;                ///< linreg
  double constant = 0, rmse = 0, r2 = 0;      ///< linreg (constant: the augmented coordinate, ≈ 1)
  /// Sanity checks that turn a silent precision collapse into a message with the measured figure:
  /// linreg's decrypted constant coordinate must be within 0.01 of 1; mlp's logits must be finite
  /// and below 10^3 in magnitude (the committed model's are below 30).
  std::vector<std::string> warnings;
};
DecryptResult workflow_decrypt(const WorkflowOptions& o, const std::string& keys_dir, const std::string& in);

}  // namespace ckks::ml

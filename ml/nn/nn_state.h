// A saved `ckks-ml nn-train` run (--state DIR, --resume DIR): what the two parties need to stop and
// continue the encrypted training later, in another process, to the same final weights.
//
// The directory holds the two sides apart, so that each can be kept where its party is:
//   DIR/client/secret_key.ckks  the key owner's secret key (ckks/serialize.h SecretKey blob, mode 0600)
//   DIR/client/run.json         the options that define the run (nn_run_options: flag → value, the
//                               values of the flags the twin and the server depend on) and the
//                               activation intervals the twin fitted (p1, p2; p1b for four layers)
//   DIR/server/weights.ckks     the server's state: a bundle of a Metadata blob (JSON: the next
//                               iteration t, G, the momentum) and 2(G + 1) Ciphertext blobs, W1[0 … G−1],
//                               W2, then W_prev's, all at the weight level ℓ_w (four layers: 2(G + 2),
//                               W1b after each W2, "four_layer": true in the metadata)
// The server's file holds no key; the evaluation keys (relinearisation, Galois, encapsulation) are
// not stored at all: the owner regenerates them from the secret key on resume. Every file
// is written to "<name>.tmp" and renamed, so an interrupted save leaves the previous state whole.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ckks/context.h"
#include "ckks/keys.h"
#include "ml/nn/nn_encrypted.h"
#include "ml/nn/nn_job.h"

namespace ckks::ml {

/// The options a resumed run must share with the saved one, as (CLI flag, value) pairs in a fixed
/// order: --data, --train-rows (fashion-mnist-14 only), --features, --feature-scale,
/// --whiten-epsilon, --hidden ("H", or "H1,H2" for the four-layer network), --batch, --epochs, --eta, --momentum, --weight-decay, --eta-decay,
/// --seed, --hidden-degree, --output-degree, --bound and the ring (--insecure-log-n: log N). Doubles
/// are written in their shortest round-trip form (std::to_chars), so equal strings mean equal values.
/// Not among them: --iterations, --stop-by, --checkpoint-every and the output flags (a resumed run
/// may change them).
std::vector<std::pair<std::string, std::string>> nn_run_options(const NnJobOptions& o);

/// The key owner's half of the state.
struct NnClientState {
  std::vector<std::pair<std::string, std::string>> options;  ///< nn_run_options of the run
  double interval1 = 0, interval2 = 0;                         ///< the fitted a of p1 and p2
  double interval1b = 0;  ///< the fitted a of p1b (four layers; 0: a three-layer run, no "p1b" in run.json)
};

/// The server's half: the weights after `iteration` iterations (the next one is t = iteration).
struct NnServerState {
  EncryptedNnWeights w, w_prev;
  int iteration = 0;
};

/// Writes DIR/client/run.json and (unless it exists with the same bytes) DIR/client/secret_key.ckks,
/// creating the directories. Throws InputError naming the path if a file cannot be written.
void nn_save_client_state(const std::string& dir, const NnClientState& s, const SecretKey& sk);

/// Reads DIR/client/run.json. Throws InputError if the directory or file is missing (naming --resume
/// and the path) or the JSON is malformed or lacks a field.
NnClientState nn_load_client_state(const std::string& dir);

/// Reads DIR/client/secret_key.ckks. Throws InputError if it is missing or corrupt, ParameterError
/// (ckks/serialize.h's fingerprint check) if it was made under other parameters.
SecretKey nn_load_secret_key(const std::string& dir, const ContextPtr& ctx);

/// Throws InputError at the first option of `current` whose value differs from the saved run's,
/// naming the flag, both values and the fix (give the saved value, or start a new run in another
/// directory), or if the two lists have different flags (a state of another program version).
void nn_check_run_options(const std::vector<std::pair<std::string, std::string>>& saved,
                          const std::vector<std::pair<std::string, std::string>>& current, const std::string& dir);

/// Writes DIR/server/weights.ckks (creating the directories): W1[0..G−1], W2 (and W1b for the
/// four-layer network, with "four_layer": true in the metadata) of W, then of W_prev. Never replaces a
/// state further on silently: throws InputError if the file there holds a later iteration than
/// s.iteration (or cannot be read as a state). Throws InputError if W and W_prev hold different
/// numbers of W1 ciphertexts (or none), or W1b in only one of them.
void nn_save_server_state(const std::string& dir, const NnServerState& s);

/// The iteration t of DIR/server/weights.ckks, −1 if the file does not exist. Throws InputError if it
/// exists but its first blob is not the state's metadata.
int nn_saved_iteration(const std::string& dir);

/// Reads DIR/server/weights.ckks for a run of layout `lay` and checks it: G matches lay.groups, the
/// file is a three- or four-layer state as lay is, 2(G + 1) ciphertexts follow (2(G + 2) with W1b),
/// each at level `weight_level` with lay.slots slots, and every key-set id equals
/// `key` (the secret key's; 0 skips the check). Throws InputError naming the file and what is wrong
/// (missing, truncated, another layout or level); ParameterError for ciphertexts of other parameters;
/// KeyMismatchError for ciphertexts of another key.
NnServerState nn_load_server_state(const std::string& dir, const ContextPtr& ctx, const NnLayout& lay,
                                   int weight_level, KeyId key);

/// The bytes on disk of DIR/client (secret key and run.json) and of DIR/server (the weights); 0
/// for a side that is missing.
struct NnStateBytes {
  std::uintmax_t client = 0, server = 0;
};
NnStateBytes nn_state_bytes(const std::string& dir);

}  // namespace ckks::ml

// A saved and resumed `ckks-ml nn-train` run (ml/nn/nn_state.h): the state's save/load round trip,
// a run stopped after k iterations and continued in a fresh job (new server, keys regenerated from
// the saved secret key) against the twin and the uninterrupted run, and the named errors. Every
// encrypted case is INSECURE: bootstrap_preset_n16_sparse_secret's chain and bootstrap at N = 2^10
// or 2^11, fixed seeds.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ckks/bootstrapping.h"
#include "ckks/errors.h"
#include "ckks/serialize.h"
#include "ml/nn/nn_encrypted.h"
#include "ml/nn/nn_job.h"
#include "ml/nn/nn_state.h"

using namespace ckks;
namespace fs = std::filesystem;

namespace {

// The 128-bit preset's chain and bootstrap at N = 2^log_n: INSECURE.
BootstrapPreset small_boot(int log_n) {
  BootstrapPreset b = bootstrap_preset_n16_sparse_secret();
  b.params.log_n = log_n;
  b.params.allow_insecure = true;
  return b;
}

// A fresh, empty directory under the system's temporary directory.
std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("ckks_test_nn_state_" + name);
  fs::remove_all(p);
  return p.string();
}

std::vector<std::uint8_t> bytes(const Ciphertext& c) { return serialize(c, false); }

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// DIR/client/run.json exactly as the three-layer code before the four-layer network (a9381a9) wrote
// it for the options of the resume test below (--hidden 3, --batch 16, --epochs 1, N = 2^11), with
// the fitted intervals p1, p2 given as their saved strings.
std::string run_json_before_four_layers(const std::string& p1, const std::string& p2) {
  std::string s = "{\n  \"fitted_intervals\": {\n    \"p1\": \"" + p1 + "\",\n    \"p2\": \"" + p2 +
                  "\"\n  },\n  \"format\": \"ckks-ml nn-train client state\",\n  \"options\": [";
  const char* opts[][2] = {{"--data", "digits"},         {"--features", "whiten"},     {"--feature-scale", "1"},
                           {"--whiten-epsilon", "0.001"}, {"--hidden", "3"},            {"--batch", "16"},
                           {"--epochs", "1"},             {"--eta", "1.5"},             {"--momentum", "0.8"},
                           {"--weight-decay", "0.01"},    {"--eta-decay", "0"},         {"--seed", "1"},
                           {"--hidden-degree", "3"},      {"--output-degree", "3"},     {"--bound", "16"},
                           {"--insecure-log-n", "11"}};
  bool first = true;
  for (const auto& o : opts) {
    s += std::string(first ? "" : ",") + "\n    [\n      \"" + o[0] + "\",\n      \"" + o[1] + "\"\n    ]";
    first = false;
  }
  return s + "\n  ]\n}\n";
}

}  // namespace

TEST_CASE("ml/nn state: the save/load round trip of both halves (N = 2^10, INSECURE)") {
  const BootstrapPreset b = small_boot(10);
  auto ctx = Context::create(b.params);
  const ml::NnLayout l = ml::NnLayout::make(13, 3, 3, 32, ctx->max_slots());
  ml::NnDataOwner owner(ctx, 5);
  const ml::NnWeights w0 = ml::nn_init(14, 3, 3, 1), w1 = ml::nn_init(14, 3, 3, 2);
  const ml::NnServerState st{owner.encrypt_weights(w0, l, 8), owner.encrypt_weights(w1, l, 8), 7};
  const std::string dir = fresh_dir("roundtrip");
  ml::NnJobOptions o;
  o.nn.eta = 0.1;  // a value without an exact short decimal expansion in binary
  const ml::NnClientState cs{ml::nn_run_options(o), 6.25, 1.0 / 3.0};
  ml::nn_save_client_state(dir, cs, owner.secret_key());
  ml::nn_save_server_state(dir, st);
  CHECK(fs::exists(fs::path(dir) / "client" / "secret_key.ckks"));
  CHECK(fs::exists(fs::path(dir) / "client" / "run.json"));
  CHECK(fs::exists(fs::path(dir) / "server" / "weights.ckks"));
  CHECK_FALSE(fs::exists(fs::path(dir) / "server" / "weights.ckks.tmp"));
  CHECK((fs::status(fs::path(dir) / "client" / "secret_key.ckks").permissions() & fs::perms::group_read) == fs::perms::none);

  const ml::NnClientState cl = ml::nn_load_client_state(dir);
  CHECK(cl.options == cs.options);
  CHECK(cl.interval1 == 6.25);
  CHECK(cl.interval2 == 1.0 / 3.0);  // exactly: shortest round-trip decimal
  const SecretKey sk = ml::nn_load_secret_key(dir, ctx);
  CHECK(serialize(sk) == serialize(owner.secret_key()));
  CHECK(sk.key_id == owner.secret_key().key_id);
  CHECK(ml::nn_saved_iteration(dir) == 7);

  const ml::NnServerState ld = ml::nn_load_server_state(dir, ctx, l, 8, sk.key_id);
  CHECK(ld.iteration == 7);
  REQUIRE(ld.w.w1.size() == l.groups);
  REQUIRE(ld.w_prev.w1.size() == l.groups);
  for (std::size_t g = 0; g < l.groups; ++g) {
    CHECK(bytes(ld.w.w1[g]) == bytes(st.w.w1[g]));
    CHECK(bytes(ld.w_prev.w1[g]) == bytes(st.w_prev.w1[g]));
  }
  CHECK(bytes(ld.w.w2) == bytes(st.w.w2));
  CHECK(bytes(ld.w_prev.w2) == bytes(st.w_prev.w2));
  // The owner made from the saved key decrypts the saved weights (exactly the same decryption).
  ml::NnDataOwner again(ctx, sk);
  CHECK(ml::max_weight_difference(again.decrypt_weights(ld.w, l), owner.decrypt_weights(st.w, l)) == 0.0);

  // Never replaced by an earlier iteration; an equal or later one replaces it.
  CHECK_THROWS_WITH_AS(ml::nn_save_server_state(dir, {st.w, st.w_prev, 6}),
                       doctest::Contains("holds the run at iteration 7, later than this one's 6"), InputError);
  CHECK(ml::nn_saved_iteration(dir) == 7);
  ml::nn_save_server_state(dir, {st.w, st.w_prev, 8});
  CHECK(ml::nn_saved_iteration(dir) == 8);

  // Wrong level, wrong layout, another key, a truncated file: named errors.
  CHECK_THROWS_WITH_AS(ml::nn_load_server_state(dir, ctx, l, 7, sk.key_id), doctest::Contains("the run needs level 7"),
                       InputError);
  const ml::NnLayout other = ml::NnLayout::make(40, 3, 3, 32, ctx->max_slots());
  const std::string other_g = "but this run's layout has G = " + std::to_string(other.groups);
  CHECK_THROWS_WITH_AS(ml::nn_load_server_state(dir, ctx, other, 8, sk.key_id), doctest::Contains(other_g.c_str()),
                       InputError);
  ml::NnDataOwner stranger(ctx, 6);
  CHECK_THROWS_AS(ml::nn_load_server_state(dir, ctx, l, 8, stranger.secret_key().key_id), KeyMismatchError);
  const fs::path wf = fs::path(dir) / "server" / "weights.ckks";
  fs::resize_file(wf, fs::file_size(wf) - 100);
  CHECK_THROWS_WITH_AS(ml::nn_load_server_state(dir, ctx, l, 8, sk.key_id),
                       doctest::Contains("is not a saved nn-train server state"), InputError);
  // A secret key of other parameters: the serializer's fingerprint check.
  auto ctx11 = Context::create(small_boot(11).params);
  CHECK_THROWS_AS(ml::nn_load_secret_key(dir, ctx11), ParameterError);
  // A corrupt run.json.
  std::ofstream(fs::path(dir) / "client" / "run.json") << "{\"format\": \"ckks-ml nn-train client state\"";
  CHECK_THROWS_WITH_AS(ml::nn_load_client_state(dir), doctest::Contains("is not a saved nn-train client state"),
                       InputError);
  fs::remove_all(dir);
}

TEST_CASE("ml/nn state: options checked on resume") {
  ml::NnJobOptions a;
  const auto saved = ml::nn_run_options(a);
  ml::nn_check_run_options(saved, ml::nn_run_options(a), "S");
  // --hidden: "H" for one hidden layer (as every run saved before the four-layer network), "H1,H2"
  // for two; a four-layer command does not resume a three-layer run.
  CHECK(saved[4] == std::pair<std::string, std::string>{"--hidden", "15"});
  ml::NnJobOptions four = a;
  four.nn.hidden2 = 7;
  CHECK(ml::nn_run_options(four)[4].second == "15,7");
  CHECK_THROWS_WITH_AS(ml::nn_check_run_options(saved, ml::nn_run_options(four), "S"),
                       doctest::Contains("has --hidden 15 but this command gives --hidden 15,7"), InputError);
  ml::NnJobOptions b = a;
  b.nn.eta = 1.25;
  CHECK_THROWS_WITH_AS(ml::nn_check_run_options(saved, ml::nn_run_options(b), "S"),
                       doctest::Contains("the run saved in \"S\" has --eta 1.5 but this command gives --eta 1.25; pass "
                                         "--eta 1.5"),
                       InputError);
  b = a;
  b.boot.params.log_n = 11;
  CHECK_THROWS_WITH_AS(ml::nn_check_run_options(saved, ml::nn_run_options(b), "S"),
                       doctest::Contains("has --insecure-log-n 16 but this command gives --insecure-log-n 11"), InputError);
  b = a;
  b.max_iterations = 9;  // not an option of the run
  b.deadline = 1;
  ml::nn_check_run_options(saved, ml::nn_run_options(b), "S");
}

TEST_CASE("ml/nn a run saved after 1 iteration and resumed equals the uninterrupted run (N = 2^11, INSECURE)") {
  ml::NnJobOptions o;
  o.boot = small_boot(11);  // 1024 slots: 16 samples per ciphertext
  o.test_seed = 3;
  o.nn.hidden = 3;
  o.nn.batch = 16;
  o.nn.epochs = 1;
  o.max_iterations = 3;
  const ml::NnReport whole = ml::run_nn_job(o, {});
  REQUIRE(whole.iterations == 3);
  CHECK_FALSE(whole.streamed_batches);  // 3 small batches: stored for the run
  CHECK(whole.uploaded_ciphertexts == 4 * (whole.layout.groups + 1));  // batches 0, 1, 2 and the weights

  // The streamed path (each batch encrypted in its own iteration, as Fashion-MNIST's 17.5 GiB of
  // batches need at 128-bit), forced by a zero budget: the same weights within the same bound.
  ml::NnJobOptions streamed_o = o;
  streamed_o.stored_batch_bytes = 0;
  const ml::NnReport streamed = ml::run_nn_job(streamed_o, {});
  CHECK(streamed.streamed_batches);
  CHECK(streamed.batch_bytes == whole.batch_bytes);
  CHECK(streamed.batch_bytes == (whole.layout.groups + 1) * 2 * (static_cast<std::size_t>(whole.data_level) + 1) * 2048 * 8);
  CHECK(streamed.uploaded_ciphertexts == whole.uploaded_ciphertexts);
  CHECK(streamed.iterations == 3);
  CHECK(streamed.agreement == 1.0);
  CHECK(streamed.max_weight_error < std::ldexp(1.0, -20));
  CHECK(ml::max_weight_difference(streamed.weights_encrypted, whole.weights_encrypted) < std::ldexp(1.0, -20));

  const std::string dir = fresh_dir("resume");
  ml::NnJobOptions first = o;
  first.max_iterations = 1;
  first.state_dir = dir;
  const ml::NnReport r1 = ml::run_nn_job(first, {});
  CHECK(r1.iterations == 1);
  CHECK(r1.saved_iteration == 1);  // --iterations stopped it before the plan's end
  CHECK(r1.state_bytes_server > 0);
  CHECK(r1.state_bytes_client > 0);
  CHECK(ml::nn_saved_iteration(dir) == 1);
  // The three-layer run.json is byte for byte what the code before the four-layer network wrote
  // (--hidden "3", no "p1b"); the resume below reads that old file.
  const fs::path run_json = fs::path(dir) / "client" / "run.json";
  {
    const ml::NnClientState cs = ml::nn_load_client_state(dir);
    CHECK(cs.interval1b == 0);
    const std::string text = read_text(run_json);
    const auto field = [&text](const std::string& key) {
      const std::size_t at = text.find("\"" + key + "\": \"") + key.size() + 5;
      return text.substr(at, text.find('"', at) - at);
    };
    const std::string old = run_json_before_four_layers(field("p1"), field("p2"));
    CHECK(std::stod(field("p1")) == cs.interval1);
    CHECK(text == old);
    std::ofstream(run_json, std::ios::binary | std::ios::trunc) << old;
  }
  // A fresh run refuses the directory that holds it.
  CHECK_THROWS_WITH_AS(ml::run_nn_job(first, {}), doctest::Contains("already holds a saved run (iteration 1); continue it with --resume"),
                       InputError);

  ml::NnJobOptions second = o;  // a fresh job: new owner from the saved key, new server, new keys
  second.test_seed.reset();
  second.resume_dir = dir;
  const ml::NnReport r2 = ml::run_nn_job(second, {});
  CHECK(r2.resumed_from == 1);
  CHECK(r2.iterations == 3);
  CHECK(r2.stats.iterations == 2);
  CHECK(r2.stats.bootstraps == 4);
  CHECK(r2.saved_iteration == 3);  // --iterations 3 < the plan's 89 iterations: saved at the stop
  CHECK(ml::nn_saved_iteration(dir) == 3);
  CHECK(r2.uploaded_ciphertexts == 2 * (r2.layout.groups + 1));  // batches 1 and 2; no weights
  // The twin is replayed from iteration 0: the same comparison as the uninterrupted run's.
  CHECK(r2.accuracy_plaintext == whole.accuracy_plaintext);
  CHECK(r2.max_weight_error < std::ldexp(1.0, -20));
  CHECK(r2.agreement == 1.0);
  const double vs_whole = ml::max_weight_difference(r2.weights_encrypted, whole.weights_encrypted);
  MESSAGE("resumed vs uninterrupted: max weight difference " << vs_whole << ", vs twin " << r2.max_weight_error);
  CHECK(vs_whole < std::ldexp(1.0, -20));

  // Resuming a mismatched option, below the saved iteration, or a missing directory: named errors.
  ml::NnJobOptions bad = second;
  bad.nn.hidden = 4;
  CHECK_THROWS_WITH_AS(ml::run_nn_job(bad, {}), doctest::Contains("has --hidden 3 but this command gives --hidden 4"),
                       InputError);
  bad = second;
  bad.max_iterations = 2;
  CHECK_THROWS_WITH_AS(ml::run_nn_job(bad, {}), doctest::Contains("is at iteration 3 but this command stops at 2"),
                       InputError);
  bad = second;
  bad.resume_dir = dir + "/missing";
  CHECK_THROWS_WITH_AS(ml::run_nn_job(bad, {}), doctest::Contains("is not a directory; pass the --state directory"),
                       InputError);
  bad = second;
  bad.plaintext_only = true;
  CHECK_THROWS_WITH_AS(ml::run_nn_job(bad, {}), doctest::Contains("--plaintext-only has nothing to resume"), InputError);
  fs::remove(fs::path(dir) / "server" / "weights.ckks");
  CHECK_THROWS_WITH_AS(ml::run_nn_job(second, {}), doctest::Contains("weights.ckks is missing"), InputError);
  fs::remove_all(dir);
}

TEST_CASE("ml/nn four layers: the server's state holds W1b; a state of the other depth is refused (N = 2^10, "
          "INSECURE)") {
  // W1b after W2 in each set, "four_layer" in the metadata; a state of the other depth is refused by
  // name in both directions. (A four-layer run saved and resumed: tests/ml/test_nn_train.cpp.)
  {
    const BootstrapPreset b = small_boot(10);
    auto ctx = Context::create(b.params);
    const ml::NnLayout l4 = ml::NnLayout::make(13, 3, 3, 32, ctx->max_slots(), 3);
    const ml::NnLayout l3 = ml::NnLayout::make(13, 3, 3, 32, ctx->max_slots());
    ml::NnDataOwner owner(ctx, 5);
    const ml::NnWeights w0 = ml::nn_init(14, 3, 3, 1, 3), w1 = ml::nn_init(14, 3, 3, 2, 3);
    const ml::NnServerState st{owner.encrypt_weights(w0, l4, 8), owner.encrypt_weights(w1, l4, 8), 4};
    REQUIRE(st.w.w1b.size() == 2);
    const std::string dir = fresh_dir("four_roundtrip");
    ml::nn_save_server_state(dir, st);
    const ml::NnServerState ld = ml::nn_load_server_state(dir, ctx, l4, 8, owner.secret_key().key_id);
    CHECK(ld.iteration == 4);
    CHECK(bytes(ld.w.w1b) == bytes(st.w.w1b));
    CHECK(bytes(ld.w_prev.w1b) == bytes(st.w_prev.w1b));
    CHECK(bytes(ld.w.w2) == bytes(st.w.w2));
    CHECK(bytes(ld.w_prev.w1.back()) == bytes(st.w_prev.w1.back()));
    CHECK(ml::max_weight_difference(owner.decrypt_weights(ld.w_prev, l4), w1) < 1e-6);
    CHECK_THROWS_WITH_AS(ml::nn_load_server_state(dir, ctx, l3, 8, 0),
                         doctest::Contains("holds the weights of a four-layer network but this run's layout has one "
                                           "hidden layer"),
                         InputError);
    ml::NnServerState half = st;
    half.w_prev.w1b = Ciphertext{};
    CHECK_THROWS_WITH_AS(ml::nn_save_server_state(dir, half), doctest::Contains("W1b is present in only one"),
                         InputError);
    const ml::NnServerState st3{owner.encrypt_weights(ml::nn_init(14, 3, 3, 1), l3, 8),
                                owner.encrypt_weights(ml::nn_init(14, 3, 3, 2), l3, 8), 5};
    ml::nn_save_server_state(dir, st3);
    CHECK_THROWS_WITH_AS(ml::nn_load_server_state(dir, ctx, l4, 8, 0),
                         doctest::Contains("holds the weights of a three-layer network but this run's layout has two "
                                           "hidden layers"),
                         InputError);
    fs::remove_all(dir);
  }
}

#include "ml/nn/nn_state.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <span>
#include <system_error>

#include "ckks/errors.h"
#include "ckks/serialize.h"

namespace ckks::ml {

namespace {

namespace fs = std::filesystem;

// The shortest decimal string that reads back as x (std::to_chars).
std::string exact(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string client_dir(const std::string& dir) { return (fs::path(dir) / "client").string(); }
std::string server_file(const std::string& dir) { return (fs::path(dir) / "server" / "weights.ckks").string(); }

// Creates `path`'s parent directories; InputError naming --state if that fails.
void make_parent(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    throw InputError("nn-train --state: cannot create the directory " + fs::path(path).parent_path().string() + ": " +
                     ec.message() + "; pass a writable directory");
}

// write_file to "<path>.tmp", then rename over `path` (atomic within one file system).
void write_atomically(const std::string& path, std::span<const std::uint8_t> bytes, bool owner_only = false) {
  make_parent(path);
  const std::string tmp = path + ".tmp";
  write_file(tmp, bytes, owner_only);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw InputError("nn-train --state: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// The blobs of the server's file and its metadata; InputError naming the file for anything malformed.
struct ServerFile {
  std::vector<std::uint8_t> bytes;
  std::vector<std::span<const std::uint8_t>> blobs;
  nlohmann::json meta;
};

ServerFile read_server_file(const std::string& path) {
  ServerFile f;
  f.bytes = read_file(path);
  try {
    f.blobs = split_blobs(f.bytes);
    if (f.blobs.empty() || inspect(f.blobs[0]).type != ObjectType::Metadata)
      throw InputError("its first blob is not the state's metadata");
    f.meta = nlohmann::json::parse(deserialize_metadata(f.blobs[0]));
    if (f.meta.value("format", "") != "ckks-ml nn-train server state" || !f.meta["iteration"].is_number_integer() ||
        !f.meta["groups"].is_number_integer())
      throw InputError("its metadata is not an nn-train server state (format, iteration, groups)");
  } catch (const nlohmann::json::exception& e) {
    throw InputError("nn-train: " + path + " is not a saved nn-train server state (" + e.what() +
                     "); resume from the directory a --state run wrote");
  } catch (const InputError& e) {
    throw InputError("nn-train: " + path + " is not a saved nn-train server state: " + e.what() +
                     "; resume from the directory a --state run wrote");
  }
  return f;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> nn_run_options(const NnJobOptions& o) {
  std::vector<std::pair<std::string, std::string>> v{{"--data", o.data}};
  if (o.data == "fashion-mnist-14") v.emplace_back("--train-rows", std::to_string(o.train_rows));
  v.emplace_back("--features", o.features);
  v.emplace_back("--feature-scale", exact(o.feature_scale));
  v.emplace_back("--whiten-epsilon", exact(o.whiten_epsilon));
  // "H" for three layers, as every run saved before the four-layer network; "H1,H2" for four.
  std::string hidden = std::to_string(o.nn.hidden);
  if (o.nn.hidden2 > 0) hidden.append(1, ',').append(std::to_string(o.nn.hidden2));
  v.emplace_back("--hidden", hidden);
  v.emplace_back("--batch", std::to_string(o.nn.batch));
  v.emplace_back("--epochs", std::to_string(o.nn.epochs));
  v.emplace_back("--eta", exact(o.nn.eta));
  v.emplace_back("--momentum", exact(o.nn.momentum));
  v.emplace_back("--weight-decay", exact(o.nn.weight_decay));
  v.emplace_back("--eta-decay", exact(o.nn.eta_decay));
  v.emplace_back("--seed", std::to_string(o.nn.seed));
  v.emplace_back("--hidden-degree", std::to_string(o.nn.act1.degree));
  v.emplace_back("--output-degree", std::to_string(o.nn.act2.degree));
  v.emplace_back("--bound", exact(o.bound));
  v.emplace_back("--insecure-log-n", std::to_string(o.boot.params.log_n));
  return v;
}

void nn_save_client_state(const std::string& dir, const NnClientState& s, const SecretKey& sk) {
  nlohmann::json j;
  j["format"] = "ckks-ml nn-train client state";
  nlohmann::json opts = nlohmann::json::array();
  for (const auto& [flag, value] : s.options) opts.push_back({flag, value});
  j["options"] = opts;
  j["fitted_intervals"] = {{"p1", exact(s.interval1)}, {"p2", exact(s.interval2)}};
  if (s.interval1b > 0) j["fitted_intervals"]["p1b"] = exact(s.interval1b);
  const std::string key_path = (fs::path(client_dir(dir)) / "secret_key.ckks").string();
  const std::vector<std::uint8_t> key = serialize(sk);
  bool same_key = false;
  if (fs::exists(key_path)) {
    const std::vector<std::uint8_t> old = read_file(key_path);
    same_key = old == key;
  }
  if (!same_key) write_atomically(key_path, key, true);
  write_atomically((fs::path(client_dir(dir)) / "run.json").string(), bytes_of(j.dump(2) + "\n"));
}

NnClientState nn_load_client_state(const std::string& dir) {
  if (!fs::is_directory(dir))
    throw InputError("nn-train --resume: \"" + dir + "\" is not a directory; pass the --state directory of the run to continue");
  const std::string path = (fs::path(client_dir(dir)) / "run.json").string();
  if (!fs::exists(path))
    throw InputError("nn-train --resume: " + path + " is missing; \"" + dir +
                     "\" holds no saved run (a --state run writes client/ and server/ there)");
  const std::vector<std::uint8_t> bytes = read_file(path);
  NnClientState s;
  try {
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    if (j.value("format", "") != "ckks-ml nn-train client state") throw InputError("its format is not the client state's");
    for (const auto& p : j.at("options")) s.options.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
    s.interval1 = std::stod(j.at("fitted_intervals").at("p1").get<std::string>());
    s.interval2 = std::stod(j.at("fitted_intervals").at("p2").get<std::string>());
    if (j.at("fitted_intervals").contains("p1b"))  // four layers only
      s.interval1b = std::stod(j.at("fitted_intervals").at("p1b").get<std::string>());
  } catch (const std::exception& e) {
    throw InputError("nn-train --resume: " + path + " is not a saved nn-train client state (" + e.what() +
                     "); resume from the directory a --state run wrote");
  }
  return s;
}

SecretKey nn_load_secret_key(const std::string& dir, const ContextPtr& ctx) {
  const std::string path = (fs::path(client_dir(dir)) / "secret_key.ckks").string();
  if (!fs::exists(path))
    throw InputError("nn-train --resume: " + path + " is missing; the key owner's secret key of the saved run is needed");
  try {
    return deserialize_secret_key(ctx, read_file(path));
  } catch (const InputError& e) {
    throw InputError("nn-train --resume: " + path + ": " + e.what());
  }
}

void nn_check_run_options(const std::vector<std::pair<std::string, std::string>>& saved,
                          const std::vector<std::pair<std::string, std::string>>& current, const std::string& dir) {
  for (const auto& [flag, value] : current) {
    const auto it = std::find_if(saved.begin(), saved.end(), [&](const auto& p) { return p.first == flag; });
    if (it == saved.end())
      throw InputError("nn-train --resume: the run saved in \"" + dir + "\" records no " + flag +
                       " (a state of another ckks-ml version); start a new run with --state");
    if (it->second != value)
      throw InputError("nn-train --resume: the run saved in \"" + dir + "\" has " + flag + " " + it->second +
                       " but this command gives " + flag + " " + value + "; pass " + flag + " " + it->second +
                       " (a resumed run keeps the saved options), or start a new run with --state and another directory");
  }
  if (saved.size() != current.size())
    throw InputError("nn-train --resume: the run saved in \"" + dir + "\" records " + std::to_string(saved.size()) +
                     " options, this version " + std::to_string(current.size()) + "; start a new run with --state");
}

int nn_saved_iteration(const std::string& dir) {
  const std::string path = server_file(dir);
  if (!fs::exists(path)) return -1;
  return read_server_file(path).meta["iteration"].get<int>();
}

void nn_save_server_state(const std::string& dir, const NnServerState& s) {
  const std::size_t G = s.w.w1.size();
  if (G == 0 || s.w_prev.w1.size() != G)
    throw InputError("nn_save_server_state: W1 has " + std::to_string(G) + " ciphertexts and W_prev's " +
                     std::to_string(s.w_prev.w1.size()) + "; pass the weights NnServer::step returns");
  const bool four = s.w.w1b.size() > 0;  // the four-layer network's W1b (an empty Ciphertext for three layers)
  if (four != (s.w_prev.w1b.size() > 0))
    throw InputError("nn_save_server_state: W1b is present in only one of W and W_prev; pass the weights "
                     "NnServer::step returns");
  const int before = nn_saved_iteration(dir);
  if (before > s.iteration)
    throw InputError("nn-train --state: " + server_file(dir) + " holds the run at iteration " + std::to_string(before) +
                     ", later than this one's " + std::to_string(s.iteration) +
                     "; not replaced. Resume it with --resume, or save into another --state directory");
  // Three layers: the metadata as before the four-layer network (files unchanged); four layers: W1b after
  // W2 in each set, and "four_layer": true.
  nlohmann::json meta = {{"format", "ckks-ml nn-train server state"},
                         {"iteration", s.iteration},
                         {"groups", G},
                         {"ciphertexts", 2 * (G + (four ? 2 : 1))},
                         {"order", four ? "W1[0..G-1], W2, W1b, W_prev1[0..G-1], W_prev2, W_prev1b"
                                        : "W1[0..G-1], W2, W_prev1[0..G-1], W_prev2"}};
  if (four) meta["four_layer"] = true;
  std::vector<std::uint8_t> out = serialize_metadata(meta.dump());
  auto append = [&](const Ciphertext& c) {
    const std::vector<std::uint8_t> b = serialize(c);
    out.insert(out.end(), b.begin(), b.end());
  };
  for (const EncryptedNnWeights* w : {&s.w, &s.w_prev}) {
    for (const Ciphertext& c : w->w1) append(c);
    append(w->w2);
    if (four) append(w->w1b);
  }
  write_atomically(server_file(dir), out);
}

NnServerState nn_load_server_state(const std::string& dir, const ContextPtr& ctx, const NnLayout& lay,
                                   int weight_level, KeyId key) {
  const std::string path = server_file(dir);
  if (!fs::exists(path))
    throw InputError("nn-train --resume: " + path + " is missing; the server's half of the saved run is needed");
  const ServerFile f = read_server_file(path);
  const std::size_t G = f.meta["groups"].get<std::size_t>();
  if (G != lay.groups)
    throw InputError("nn-train --resume: " + path + " holds weights of " + std::to_string(G) +
                     " feature groups but this run's layout has G = " + std::to_string(lay.groups) +
                     "; resume with the saved run's options");
  const bool four = f.meta.contains("four_layer") && f.meta["four_layer"].get<bool>();
  if (four != lay.four_layer())
    throw InputError("nn-train --resume: " + path + " holds the weights of a " + (four ? "four" : "three") +
                     "-layer network but this run's layout has " + (lay.four_layer() ? "two hidden layers" : "one hidden layer") +
                     "; resume with the saved run's --hidden");
  const std::size_t per_set = G + (four ? 2 : 1);
  if (f.blobs.size() != 1 + 2 * per_set)
    throw InputError("nn-train --resume: " + path + " holds " + std::to_string(f.blobs.size() - 1) +
                     " ciphertexts but a state of G = " + std::to_string(G) + (four ? " with W1b" : "") + " has " +
                     std::to_string(2 * per_set) + "; the file is damaged: resume from an intact copy");
  NnServerState s;
  s.iteration = f.meta["iteration"].get<int>();
  if (s.iteration < 0) throw InputError("nn-train --resume: " + path + " records iteration " + std::to_string(s.iteration));
  std::size_t next = 1;
  auto load = [&]() {
    Ciphertext c;
    try {
      c = deserialize_ciphertext(ctx, f.blobs[next]);
    } catch (const InputError& e) {
      throw InputError("nn-train --resume: " + path + ", ciphertext " + std::to_string(next - 1) + ": " + e.what());
    }
    if (c.level != weight_level || c.slots != lay.slots || c.size() != 2)
      throw InputError("nn-train --resume: " + path + ", ciphertext " + std::to_string(next - 1) + " is at level " +
                       std::to_string(c.level) + " with " + std::to_string(c.slots) + " slots and " +
                       std::to_string(c.size()) + " components; the run needs level " + std::to_string(weight_level) +
                       ", " + std::to_string(lay.slots) + " slots, 2 components: resume with the saved run's options");
    check_same_key_set(c.key_id, key, "nn-train --resume", path + " (the server's weights)",
                       "the saved secret key", "keep client/ and server/ of one --state directory together");
    ++next;
    return c;
  };
  for (EncryptedNnWeights* w : {&s.w, &s.w_prev}) {
    for (std::size_t g = 0; g < G; ++g) w->w1.push_back(load());
    w->w2 = load();
    if (four) w->w1b = load();
  }
  return s;
}

NnStateBytes nn_state_bytes(const std::string& dir) {
  NnStateBytes b;
  std::error_code ec;
  for (const char* name : {"secret_key.ckks", "run.json"}) {
    const auto n = fs::file_size(fs::path(client_dir(dir)) / name, ec);
    if (!ec) b.client += n;
  }
  const auto n = fs::file_size(server_file(dir), ec);
  if (!ec) b.server = n;
  return b;
}

}  // namespace ckks::ml

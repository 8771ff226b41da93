// bench_ml: a soak run of the client/server workflow through files (ml/workflow/workflow.h), the MLP model.
//
//   Soak/mlp_workflow/round_trips=1000/iterations:1
//       keygen once, then 1,000 round trips of encrypt (one test image) → infer → decrypt, each step
//       reading and writing its files as `ckks-ml encrypt | infer | decrypt` do. Self-checked: every
//       answer's class equals the first round trip's for the same image. Counters:
//         peak_rss_10_MiB, peak_rss_100_MiB, peak_rss_1000_MiB  peak resident set (getrusage) after
//                                             10, 100 and 1,000 round trips: flat memory means the
//                                             last two agree (within 5 %)
//         rss_growth_100_to_1000              (peak at 1,000) / (peak at 100) − 1
//         fds_leaked                          open file descriptors after − before (/proc/self/fd)
//         files_left                          files in the work directory beyond the five the
//                                             workflow writes (secret.key, public.keys, query,
//                                             answer, and nothing else)
//         seconds_per_round_trip
//       Several minutes (one round trip ≈ one MLP inference at N = 2^13): run it alone,
//       `bench_ml --benchmark_filter=Soak`.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "ml/data/idx.h"
#include "ml/workflow/workflow.h"

namespace {

namespace fs = std::filesystem;

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

std::size_t count_entries(const fs::path& dir) {
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

void BM_SoakMlpWorkflow(benchmark::State& state) {
  const int round_trips = static_cast<int>(state.range(0));
  const fs::path dir = fs::temp_directory_path() / ("ckks-soak-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  ckks::ml::WorkflowOptions keygen;
  keygen.model = "mlp";
  keygen.weights = (fs::path(__FILE__).parent_path().parent_path() / "ml" / "models" / "mlp_fmnist.safetensors").string();
  keygen.images_dir = ckks::ml::kDebianFashionMnistDir;
  ckks::ml::workflow_keygen(keygen, dir.string());
  ckks::ml::WorkflowOptions later;  // model and weights from the key files
  later.images_dir = keygen.images_dir;
  const std::string keys = dir.string(), query = (dir / "query.ct").string(), answer = (dir / "answer.ct").string();
  double rss10 = 0, rss100 = 0, rss1000 = 0;
  std::size_t fds_before = 0, fds_after = 0, files_left = 0;
  std::vector<int> first_class(10, -1);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    fds_before = count_entries("/proc/self/fd");
    for (int r = 1; r <= round_trips; ++r) {
      const std::size_t image = static_cast<std::size_t>(r % 10);
      ckks::ml::workflow_encrypt(later, keys, query, image, 1);
      ckks::ml::workflow_infer(later, (dir / "public.keys").string(), query, answer);
      const ckks::ml::DecryptResult res = ckks::ml::workflow_decrypt(later, keys, answer);
      if (res.predictions.size() != 1 || !res.warnings.empty()) {
        state.SkipWithError("a round trip returned no class or a precision warning");
        return;
      }
      if (first_class[image] < 0) first_class[image] = res.predictions[0];
      if (res.predictions[0] != first_class[image]) {
        state.SkipWithError("a round trip changed the class of an image");
        return;
      }
      if (r == 10) rss10 = peak_rss_mib();
      if (r == 100) rss100 = peak_rss_mib();
      if (r == 1000) rss1000 = peak_rss_mib();
    }
    fds_after = count_entries("/proc/self/fd");
    files_left = count_entries(dir) - 4;  // secret.key, public.keys, query.ct, answer.ct
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove_all(dir);
  state.counters["peak_rss_10_MiB"] = rss10;
  state.counters["peak_rss_100_MiB"] = rss100;
  state.counters["peak_rss_1000_MiB"] = rss1000;
  state.counters["rss_growth_100_to_1000"] = rss100 > 0 && rss1000 > 0 ? rss1000 / rss100 - 1 : 0;
  state.counters["fds_leaked"] = static_cast<double>(fds_after) - static_cast<double>(fds_before);
  state.counters["files_left"] = static_cast<double>(files_left);
  state.counters["seconds_per_round_trip"] = seconds / round_trips;
}
BENCHMARK(BM_SoakMlpWorkflow)
    ->Name("Soak/mlp_workflow")
    ->ArgName("round_trips")
    ->Arg(1000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace

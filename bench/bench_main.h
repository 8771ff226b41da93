// The main() shared by the benchmark programs: allocator tuning as in ckks-ml, and a default
// --benchmark_min_time=0.2 s (instead of the library's 0.5 s) that a flag on the command line
// overrides. (Setting ->MinTime() per benchmark would append "/min_time:0.200" to every name.)
#pragma once
#include <benchmark/benchmark.h>

#include <vector>

#include "ckks/math/memory.h"

inline int run_benchmark_main(int argc, char** argv) {
  ckks::math::keep_freed_memory_for_reuse();  // see ckks/math/memory.h
  std::vector<char*> args(argv, argv + argc);
  static char min_time[] = "--benchmark_min_time=0.2";
  args.insert(args.begin() + 1, min_time);  // first, so that a later command-line flag wins
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);  // argv[argc] == nullptr, as for main's own argv
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

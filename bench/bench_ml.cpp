// bench_ml: circuits (ckks/polynomial.h, ckks/linear_transform.h) and the models of ml/.
// The benchmarks themselves live in bench_ml_*.cpp files, each registering its own with
// BENCHMARK(...) at static-initialisation time; this file only holds main() (see bench_main.h).
#include "bench_main.h"

int main(int argc, char** argv) { return run_benchmark_main(argc, argv); }

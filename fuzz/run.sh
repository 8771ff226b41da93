#!/usr/bin/env bash
# Build the fuzz targets with clang (ASan + UBSan + libFuzzer) in BUILD_DIR (default build-fuzz),
# make the seed corpus, and fuzz every loader for SECONDS seconds (default 8; 8 loaders ≈ 1 minute).
# Exit status non-zero on any crash, sanitizer report, leak or uncaught exception; the reproducer
# is left in BUILD_DIR/findings/. Prints the executions each target ran.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${1:-8}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKKS_FUZZ=ON \
  -DCKKS_BUILD_TESTS=OFF -DCKKS_BUILD_BENCH=OFF > /dev/null
loaders="ciphertext plaintext public_key relin_key galois_keys secret_key params bundle"
targets=""
for l in $loaders; do targets="$targets fuzz_$l"; done
cmake --build "$BUILD_DIR" -j2 --target make_corpus $targets
rm -rf "$BUILD_DIR/corpus" "$BUILD_DIR/findings"
"$BUILD_DIR/fuzz/make_corpus" "$BUILD_DIR/corpus" 2> /dev/null
mkdir -p "$BUILD_DIR/findings"
total=0
for l in $loaders; do
  log="$BUILD_DIR/findings/$l.log"
  if ! "$BUILD_DIR/fuzz/fuzz_$l" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/findings/$l-" "$BUILD_DIR/corpus/$l" > "$log" 2>&1; then
    echo "fuzz: fuzz_$l FAILED; log and reproducer in $BUILD_DIR/findings/" >&2
    grep -E "ERROR|SUMMARY|Sanitizer|leak" "$log" | head -20 >&2
    exit 1
  fi
  runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo 0)
  total=$((total + runs))
  echo "fuzz: fuzz_$l: $runs executions in ${SECONDS_PER_TARGET} s, no finding"
done
echo "fuzz: $total executions in all, no finding"

#!/usr/bin/env bash
# Build the fuzz targets with clang (ASan + UBSan + libFuzzer) in BUILD_DIR (default build-fuzz),
# make the seed corpus (every object type under the two presets of fuzz/fuzz_params.h), and fuzz
# every loader:
#   bash fuzz/run.sh [SECONDS]   SECONDS per loader (default 8; 9 loaders ≈ 1.2 minutes; .ci/run)
#   bash fuzz/run.sh --long      10^7 executions per loader (stopping after 2 hours of a loader)
# Exit status non-zero on any crash, sanitizer report, leak or uncaught exception; the reproducer
# is left in BUILD_DIR/findings/. Prints the executions each target ran.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
if [ "${1:-}" = "--long" ]; then
  limits="-runs=10000000 -max_total_time=7200"
  what="10^7 executions"
else
  SECONDS_PER_TARGET=${1:-8}
  case "$SECONDS_PER_TARGET" in ''|*[!0-9]*) echo "fuzz/run.sh: '$SECONDS_PER_TARGET' is not a number of seconds; use a whole number or --long" >&2; exit 1;; esac
  limits="-max_total_time=$SECONDS_PER_TARGET"
  what="${SECONDS_PER_TARGET} s"
fi
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKKS_FUZZ=ON \
  -DCKKS_BUILD_TESTS=OFF -DCKKS_BUILD_BENCH=OFF > /dev/null
loaders="ciphertext plaintext public_key relin_key galois_keys secret_key params bundle encapsulation_keys"
targets=""
for l in $loaders; do targets="$targets fuzz_$l"; done
cmake --build "$BUILD_DIR" -j2 --target make_corpus $targets
rm -rf "$BUILD_DIR/corpus" "$BUILD_DIR/findings"
"$BUILD_DIR/fuzz/make_corpus" "$BUILD_DIR/corpus" 2> /dev/null
mkdir -p "$BUILD_DIR/findings"
total=0
for l in $loaders; do
  log="$BUILD_DIR/findings/$l.log"
  if ! "$BUILD_DIR/fuzz/fuzz_$l" $limits -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/findings/$l-" "$BUILD_DIR/corpus/$l" > "$log" 2>&1; then
    echo "fuzz: fuzz_$l FAILED; log and reproducer in $BUILD_DIR/findings/" >&2
    grep -E "ERROR|SUMMARY|Sanitizer|leak" "$log" | head -20 >&2
    exit 1
  fi
  runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo 0)
  total=$((total + runs))
  secs=$(grep -o "stat::average_exec_per_sec: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo 0)
  echo "fuzz: fuzz_$l: $runs executions ($what asked, $secs per second), no finding"
done
echo "fuzz: $total executions in all, no finding"

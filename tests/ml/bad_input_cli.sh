#!/usr/bin/env bash
# CTest ml/cli_bad_input: bad command-line input, as users typed it, gets a named error with the
# documented exit code (ml/apps/ckks_ml.cpp: 1 usage error, 2 bad input or parameters) instead of
# a silent wrong result. Usage: bad_input_cli.sh CKKS_ML
set -euo pipefail
ckks_ml=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
boston=/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv

source "$(dirname "$0")/cli_expect.sh"

# A target cell and a feature cell of 1e300 (row 3 of the data).
sed -n '2p' "$boston" > "$tmp/huge_target.csv"
sed -n '3,60p' "$boston" | awk -F, 'BEGIN{OFS=","} NR==3{$14="1e300"} {print}' >> "$tmp/huge_target.csv"
sed -n '2p' "$boston" > "$tmp/huge_feature.csv"
sed -n '3,60p' "$boston" | awk -F, 'BEGIN{OFS=","} NR==3{$1="1e300"} {print}' >> "$tmp/huge_feature.csv"
expect "linreg target 1e300" 2 2 'target "MEDV" holds 1e\+?300 in training row [0-9]+; values beyond 1e150' \
  "$ckks_ml" linreg --data "$tmp/huge_target.csv" --target MEDV
expect "linreg feature 1e300" 2 2 'feature "CRIM" holds 1e\+?300 in training row [0-9]+; values beyond 1e150' \
  "$ckks_ml" linreg --data "$tmp/huge_feature.csv" --target MEDV
expect "knn --k -1" 1 1 '--k: -1 is not a whole number ≥ 1' "$ckks_ml" knn --k -1
expect "knn --queries 0" 1 1 '--queries: 0 is not a whole number ≥ 1' "$ckks_ml" knn --queries 0
# --bootstrap (ml/refresh.h) brings its own parameters, and refuses a run whose plaintext weights
# leave the bootstrap's input range (checked before any key is made).
expect "mlr --bootstrap --params" 2 2 'mlr: --bootstrap brings its own parameters \(128-bit, N = 2\^16, the bootstrapping chain\); drop --params n15' \
  "$ckks_ml" mlr --bootstrap --params n15
expect "logreg --bootstrap --params" 2 2 'logreg: --bootstrap brings its own parameters .*; drop --params n16' \
  "$ckks_ml" logreg --bootstrap --params n16
expect "mlr --bootstrap past the bound" 2 2 'mlr: after 60 iterations the weights reach \|w\| = [^ ]+ \(plaintext run\) but bootstrapping refreshes values up to M = 16; use fewer --iterations' \
  "$ckks_ml" mlr --bootstrap --iterations 60
# transfer: training images beyond the split or below the class count, iterations beyond the chain
# (refused before any forward pass or key), and a negative count (usage error).
expect "transfer --train-images 2000" 2 2 'transfer: --train-images 2000 but the training split has 1438 digits; use --train-images 1438 or fewer' \
  "$ckks_ml" transfer --train-images 2000
expect "transfer --train-images 5" 2 2 'transfer: --train-images 5 is fewer than the 10 classes; use at least 10' \
  "$ckks_ml" transfer --train-images 5
expect "transfer --iterations 5" 2 2 'transfer: 5 iterations need 22 levels but the chain has 18; use --iterations 4 or fewer, a longer chain \(--params n16\) or --bootstrap' \
  "$ckks_ml" transfer --iterations 5
expect "transfer --train-images -1" 1 1 '--train-images: -1 is not a whole number ≥ 0' "$ckks_ml" transfer --train-images -1
expect "transfer --bootstrap --params" 2 2 'transfer: --bootstrap brings its own parameters .*; drop --params n15' \
  "$ckks_ml" transfer --bootstrap --params n15
expect "unknown option" 1 1 'The following argument was not expected: --bogus' "$ckks_ml" linreg --bogus
expect "no subcommand" 1 1 'A subcommand is required' "$ckks_ml"
echo "bad input: all refused"

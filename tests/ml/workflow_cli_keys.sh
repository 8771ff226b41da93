#!/usr/bin/env bash
# CTest ml/cli_workflow_keys: the workflow refuses what it cannot answer correctly. Two key
# directories of the same model and parameters (A, B), a model named once at keygen, and two
# parameter sets (C, D): each wrong combination must exit with 1..127 and name both values.
# Usage: workflow_cli_keys.sh CKKS_ML MODELS_DIR
set -euo pipefail
ckks_ml=$1
models=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "$0")/cli_expect.sh"

"$ckks_ml" keygen --model mlp --out "$tmp/A" > "$tmp/A.txt"
"$ckks_ml" keygen --model mlp --out "$tmp/B" > "$tmp/B.txt"
key_a=$(grep -o "key set [0-9a-f]*" "$tmp/A.txt" | cut -d' ' -f3)
key_b=$(grep -o "key set [0-9a-f]*" "$tmp/B.txt" | cut -d' ' -f3)
[ -n "$key_a" ] && [ -n "$key_b" ] && [ "$key_a" != "$key_b" ] && echo "two key sets: $key_a $key_b"

# --model is named once, at keygen.
"$ckks_ml" encrypt --keys "$tmp/A" --images 0:2 --out "$tmp/query.ct"
"$ckks_ml" infer --eval-keys "$tmp/A/public.keys" --in "$tmp/query.ct" --out "$tmp/answer.ct"
"$ckks_ml" decrypt --keys "$tmp/A" --in "$tmp/answer.ct"

expect "foreign-key infer" 1 127 "belongs to key set $key_a, but the evaluation keys .* is key set $key_b" \
  "$ckks_ml" infer --eval-keys "$tmp/B/public.keys" --in "$tmp/query.ct" --out "$tmp/x.ct"
expect "foreign-key decrypt" 1 127 "belongs to key set $key_a, but the secret key in .* is key set $key_b" \
  "$ckks_ml" decrypt --keys "$tmp/B" --in "$tmp/answer.ct"
expect "mismatched model" 1 127 "--model linreg contradicts .*made by keygen for the mlp model" \
  "$ckks_ml" decrypt --model linreg --keys "$tmp/A" --in "$tmp/answer.ct"
expect "mismatched weights" 1 127 "--weights .*resnet8_fmnist.safetensors \(digest [0-9a-f]{16}\) is not the file .*digest [0-9a-f]{16}" \
  "$ckks_ml" encrypt --keys "$tmp/A" --weights "$models/resnet8_fmnist.safetensors" --images 0:1 --out "$tmp/y.ct"

# Two parameter sets of linear regression on a small CSV (every fourth row of Boston Housing, 60
# rows, so that the binary CHAS column is not constant).
# (One awk, no `head`: under pipefail a reader that stops early makes the writer die of SIGPIPE.)
awk 'NR == 2 || (NR > 2 && NR % 4 == 3 && ++rows <= 60)' \
  /usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv > "$tmp/small.csv"
"$ckks_ml" keygen --model linreg --data "$tmp/small.csv" --params n13 --out "$tmp/C" > /dev/null
"$ckks_ml" keygen --model linreg --data "$tmp/small.csv" --params n14 --out "$tmp/D" > /dev/null
"$ckks_ml" encrypt --keys "$tmp/C" --out "$tmp/c.ct"
expect "query of other parameters" 1 127 "encrypted under other parameters \(N=2\^13 .*\) than .*\(N=2\^14 " \
  "$ckks_ml" infer --eval-keys "$tmp/D/public.keys" --in "$tmp/c.ct" --out "$tmp/z.ct"
echo "workflow refusals: all refused"

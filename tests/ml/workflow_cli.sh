#!/usr/bin/env bash
# CTest ml/cli_workflow: the four commands of the client/server workflow, run as separate
# processes, the server in a directory without the secret key. Usage: workflow_cli.sh CKKS_ML
set -euo pipefail
ckks_ml=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/server"
"$ckks_ml" keygen --model mlp --out "$tmp/client"
[ "$(stat -c %a "$tmp/client/secret.key")" = 600 ] && echo "secret.key is owner-only"
cp "$tmp/client/public.keys" "$tmp/server/"
"$ckks_ml" encrypt --model mlp --keys "$tmp/client" --images 0:3 --out "$tmp/server/query.ct"
(cd "$tmp/server" && [ ! -e secret.key ] && "$ckks_ml" infer --model mlp --eval-keys public.keys --in query.ct --out answer.ct)
if "$ckks_ml" infer --model mlp --eval-keys "$tmp/client/secret.key" --in "$tmp/server/query.ct" --out "$tmp/x.ct" 2> "$tmp/err"; then
  echo "infer accepted a secret key" >&2
  exit 1
fi
grep -q "holds a secret key" "$tmp/err" && echo "infer refuses a secret key"
"$ckks_ml" decrypt --model mlp --keys "$tmp/client" --in "$tmp/server/answer.ct"

# Sourced by the CLI test scripts of tests/ml/ (bad_input_cli.sh, workflow_cli_keys.sh); needs $tmp.
# expect NAME LO HI PATTERN COMMAND...: COMMAND must exit with a status in LO..HI and print a line
# matching the extended regular expression PATTERN on stderr; otherwise the script stops with 1.
expect() {
  local name=$1 lo=$2 hi=$3 pattern=$4
  shift 4
  local rc=0
  "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
  if [ "$rc" -lt "$lo" ] || [ "$rc" -gt "$hi" ]; then
    echo "$name: exit status $rc, expected $lo..$hi" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
  if ! grep -Eq -- "$pattern" "$tmp/err"; then
    echo "$name: the message does not match /$pattern/:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
  echo "$name: exit $rc: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
}

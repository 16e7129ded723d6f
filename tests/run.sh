#!/usr/bin/env bash
# Runs the whole suite under every runtime and ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
bin=node_modules/.bin
deno=node_modules/@deno/linux-x64-glibc/deno
logs=$(mktemp -d)
passed=0 failed=0 status=0
# Bun and Deno run the TypeScript tests as they are.
mapfile -t ts_tests < <(find tests -name '*_test.ts' | sort)

run() { # name, command...
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
}

run bun "$bin/bun" test --timeout 600000 "${ts_tests[@]/#/./}"
p=$(grep -Eo '^ *[0-9]+ pass$' "$logs/bun.log" | tail -1 | grep -Eo '[0-9]+'); f=$(grep -Eo '^ *[0-9]+ fail$' "$logs/bun.log" | tail -1 | grep -Eo '[0-9]+')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

run deno "$deno" test -A --no-check "${ts_tests[@]}"
line=$(sed "s/\x1b\[[0-9;]*m//g" "$logs/deno.log" | grep -E "^(ok|FAILED) \| [0-9]+ passed" | tail -1)
p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+'); f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

# A runner that crashed before reporting counts as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $status

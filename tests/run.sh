#!/usr/bin/env bash
# Runs the whole suite under every runtime, then the package test and the checks (type checks, lint,
# format, docs, examples), and ends with one line: "N passed, N failed". `bash tests/run.sh node` (or
# any of bun, deno, node, package, checks) runs only the sections named.
set -u
cd "$(dirname "$0")/.."
bin=node_modules/.bin
deno=node_modules/@deno/linux-x64-glibc/deno
logs=$(mktemp -d)
passed=0 failed=0 status=0 summary=""
runtimes=${*:-bun deno node package checks}
# Bun and Deno run the TypeScript tests as they are; Node runs their compiled form in dist/tests/.
mapfile -t ts_tests < <(find tests -name '*_test.ts' | sort)

run() { # name, command...
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  elapsed=$((SECONDS - start))
  [ "$rc" -eq 0 ] || status=1
}

tally() { # name, passed, failed: adds the counts of the command just run
  local p=${2:-0} f=${3:-0}
  # A runner that failed without reporting a failed test (it crashed) counts as one failure.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  summary="$summary${summary:+; }$1 $p passed, $f failed in ${elapsed}s"
}

tally_checks() { # name: adds the counts of "<name>: N passed, N failed", the last line of a check script
  local line; line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$logs/$1.log" | tail -1)
  tally "$1" "$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')" "$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')"
}

if [[ " $runtimes " == *" bun "* ]]; then
  run bun "$bin/bun" test --timeout 600000 "${ts_tests[@]/#/./}"
  p=$(grep -Eo '^ *[0-9]+ pass$' "$logs/bun.log" | tail -1 | grep -Eo '[0-9]+'); f=$(grep -Eo '^ *[0-9]+ fail$' "$logs/bun.log" | tail -1 | grep -Eo '[0-9]+')
  tally bun "$p" "$f"
fi

if [[ " $runtimes " == *" deno "* ]]; then
  run deno "$deno" test -A --no-check "${ts_tests[@]}"
  line=$(sed "s/\x1b\[[0-9;]*m//g" "$logs/deno.log" | grep -E "^(ok|FAILED) \| [0-9]+ passed" | tail -1)
  p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+'); f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
  tally deno "$p" "$f"
fi

build_node() { # compiles dist/ so Node never runs a stale one; a build that fails counts as a failure
  run build "$bin/tsc" -p tsconfig.node.json
  if [ "$rc" -ne 0 ]; then failed=$((failed + 1)); summary="$summary${summary:+; }the Node build failed (1 failure)"; fi
}

if [[ " $runtimes " == *" node "* ]]; then
  build_node
  mapfile -t js_tests < <(printf '%s\n' "${ts_tests[@]}" | sed 's|\.ts$|.js|; s|^|dist/|')
  # The N-API addon's own tests load build/Release/zcio_sys.node directly and need no compiling.
  js_tests+=(tests/ffi/node_sys_test.mjs)
  # One file at a time, like Bun and Deno, each ended once its tests are done (as Bun and Deno end
  # theirs). The harness gives every test its own limit; --test-timeout bounds a whole file. The TAP
  # reporter prints "# pass N", "# fail N" and "# cancelled N" (timed out, or never run).
  run node node --test --test-force-exit --test-reporter=tap --test-concurrency=1 --test-timeout=3600000 "${js_tests[@]}"
  p=$(grep -Eo '^# pass [0-9]+$' "$logs/node.log" | tail -1 | grep -Eo '[0-9]+'); f=$(grep -Eo '^# fail [0-9]+$' "$logs/node.log" | tail -1 | grep -Eo '[0-9]+')
  c=$(grep -Eo '^# cancelled [0-9]+$' "$logs/node.log" | tail -1 | grep -Eo '[0-9]+')
  tally node "$p" "$(( ${f:-0} + ${c:-0} ))"
fi

if [[ " $runtimes " == *" package "* ]]; then
  # zcio as a consumer installs it: npm pack, the tarball in fresh Node and Bun projects, two
  # TypeScript consumers, deno publish --dry-run. Each is one check; the script prints their tally.
  run package bash tests/package/package_test.sh
  tally_checks package
fi

if [[ " $runtimes " == *" checks "* ]]; then
  # Each check is one test: tests/checks/checks_test.sh prints their tally. Node runs the examples
  # from dist/, which the node section has built when it ran.
  [[ " $runtimes " == *" node "* ]] || build_node
  run checks bash tests/checks/checks_test.sh
  tally_checks checks
fi

# The names of the failed tests, next to the totals: CI may keep only the end of the output.
failures=$(
  { [ -f "$logs/bun.log" ] && grep -E '^\(fail\) ' "$logs/bun.log"
    [ -f "$logs/deno.log" ] && sed "s/\x1b\[[0-9;]*m//g" "$logs/deno.log" | sed -n '/^ *FAILURES *$/,$p' | grep ' => ' | sed 's/^/(deno) /'
    [ -f "$logs/node.log" ] && grep -E '^not ok ' "$logs/node.log" | sed 's/^/(node) /'
    for script in package checks; do
      [ -f "$logs/$script.log" ] && grep -E '^not ok - ' "$logs/$script.log" | sed "s/^/($script) /"
    done
  } 2>/dev/null
)
[ -n "$failures" ] && printf 'failed tests:\n%s\n' "$failures"
echo "per runtime: $summary"
echo "$passed passed, $failed failed"
exit $status

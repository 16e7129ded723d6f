#!/usr/bin/env bash
# The checks beside the tests, each one counted: the type check of each adapter (tsc with bun-types
# over the sources, the tests and the Bun adapter; `deno check` over mod.ts and the Deno adapter; the
# Node build is tests/run.sh's), deno lint, deno fmt --check, deno doc --lint, the @example blocks of
# the public API's modules (deno test --doc), and every program in examples/ under Bun, Deno and
# Node, run as examples/README.md says. Node runs the compiled examples in dist/, which tests/run.sh
# builds first. Prints "ok - <check>" or "not ok - <check>" per check, then
# "checks: N passed, N failed"; exits 1 when a check failed.
set -u
cd "$(dirname "$0")/../.."
tsc=node_modules/.bin/tsc
bun=node_modules/.bin/bun
deno=node_modules/@deno/linux-x64-glibc/deno
work=$(mktemp -d "${TMPDIR:-/tmp}/zcio-checks.XXXXXX")
trap 'rm -rf "$work"' EXIT
source tests/counted_checks.sh

bun_typecheck() { "$tsc" --noEmit -p . && echo "0 errors"; }
check "tsc: the sources, tests, bench and the Bun adapter, with bun-types (npm run typecheck)" bun_typecheck
check "deno check: mod.ts and the Deno adapter" "$deno" check mod.ts ffi/deno/deno_sys.ts
# deno.json says which files the linter and the formatter look at, and how code is formatted.
check "deno lint" "$deno" lint
check "deno fmt --check (deno fmt formats)" "$deno" fmt --check
check "deno doc --lint mod.ts: the public API is documented and names no private type" "$deno" doc --lint mod.ts

# The modules mod.ts re-exports from, and mod.ts itself: every @example in them is type-checked and
# run (they import "@zcio/zcio", which deno.json's name makes this checkout).
mapfile -t public_modules < <({ echo mod.ts; grep -oE 'from "\./[^"]+\.ts"' mod.ts | sed 's/^from "\.\///; s/"$//'; } | sort -u)
check "deno test --doc: the @example blocks of mod.ts and the modules it exports from (${#public_modules[@]} files)" \
  timeout 300 "$deno" test --doc -A "${public_modules[@]}"

for example in examples/*.ts; do
  name=$(basename "$example" .ts)
  check "bun $example" timeout 120 "$bun" "$example"
  check "deno run -A $example" timeout 120 "$deno" run -A "$example"
  check "node dist/examples/$name.js" timeout 120 node "dist/examples/$name.js"
done

checks_tally checks
[ "$failed" -eq 0 ]

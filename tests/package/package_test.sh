#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack`s the checkout, installs the tarball into fresh Node
# and Bun projects and sends bytes over 127.0.0.1 through `import { zcConnect, zcListen } from
# "zcio"`, type-checks two TypeScript consumers against the published declarations, runs a Deno
# project that links the checkout as `@zcio/zcio`, and runs `deno publish --dry-run` (JSR's checks,
# fast check included) on the checkout.
# Prints "ok - <check>" or "not ok - <check>" per check (the failed one's output first), then
# "package: N passed, N failed"; exits 1 when a check failed.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
tsc=$root/node_modules/.bin/tsc
bun=$root/node_modules/.bin/bun
deno=$root/node_modules/@deno/linux-x64-glibc/deno
work=$(mktemp -d "${TMPDIR:-/tmp}/zcio-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
tgz=""
source tests/counted_checks.sh

# --- npm pack: runs prepack (the build of lib/ with its .d.ts); the tarball holds no tests --------
pack() {
  npm pack --pack-destination "$work" || return 1
  tgz=$(ls "$work"/*.tgz) || return 1
  tar tzf "$tgz" | sed 's|^package/||' | sort >"$work/contents.txt"
  local f missing=0
  for f in package.json LICENSE README.md binding.gyp ffi/node/zcio_sys.cc mod.ts lib/mod.js lib/mod.d.ts \
    lib/ffi/node/node_sys.js ffi/bun/bun_sys.ts ffi/deno/deno_sys.ts; do
    grep -qx "$f" "$work/contents.txt" || { echo "the tarball lacks $f"; missing=1; }
  done
  if grep -E '^(dist|tests|bench|examples|build|node_modules)/|^lib/(tests|bench|examples)/' "$work/contents.txt"; then
    echo "the tarball holds the files above, which are not the package's"; missing=1
  fi
  echo "$(wc -l <"$work/contents.txt") files, $(stat -c %s "$tgz") bytes: $tgz"
  return $missing
}
check "npm pack" pack
if [ -z "$tgz" ] || [ ! -f "$tgz" ]; then
  echo "package: $passed passed, $((failed + 6)) failed (no tarball: the 6 other checks did not run)"
  exit 1
fi

# --- the consumer program: a listener and a client on 127.0.0.1, bytes from one to the other --------
program='
import { zcConnect, zcListen } from "zcio";

const size = 300_000;
const expected = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 255);
const listener = await zcListen({ hostname: "127.0.0.1", port: 0 });
const accepting = listener.accept();
const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
const server = await accepting;
if (server === null) throw new Error("accept() returned null");
const writer = client.writable.getWriter();
await writer.write(expected.subarray(0, 1000));
await writer.write(expected.subarray(1000));
await writer.close();
const reader = server.readable.getReader();
const received = new Uint8Array(size + 1);
let length = 0;
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  if (length + value.length > size) throw new Error("more bytes than were sent");
  received.set(value, length);
  length += value.length;
}
if (length !== size) throw new Error(`received ${length} bytes of ${size}`);
for (let i = 0; i < size; i++) {
  if (received[i] !== expected[i]) throw new Error(`byte ${i} differs`);
}
await server.close();
await client.close();
listener.close();
console.log(`zcio consumer: ${length} bytes intact from 127.0.0.1:${listener.addr.port}`);
'

# --- Node: npm install <tgz> builds the addon with npm's own node-gyp (the install script) ----------
node_consumer() {
  mkdir -p "$work/node" && cd "$work/node" || return 1
  echo '{ "name": "zcio-node-consumer", "private": true, "type": "module" }' >package.json
  # No node-gyp from the checkout on PATH (`npm test` puts its node_modules/.bin there): a consumer
  # has only the node-gyp bundled with npm, which npm puts on the install script's PATH.
  PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$root/" | paste -sd:) \
    npm install --no-audit --no-fund --no-package-lock --foreground-scripts "$tgz" >install.log 2>&1
  local rc=$?; cat install.log; [ "$rc" -eq 0 ] || return 1
  [ -f node_modules/zcio/build/Release/zcio_sys.node ] || { echo "the install did not build zcio_sys.node"; return 1; }
  local gyp; gyp=$(grep -m1 -o 'using node-gyp@[^ ]*' install.log)
  printf '%s' "$program" >consumer.mjs
  local out; out=$(timeout 60 node consumer.mjs 2>&1) || { echo "$out"; return 1; }
  echo "$out (the install built the addon ${gyp:-"with node-gyp"})"
}
check "node: npm install of the tarball, then zcConnect/zcListen over 127.0.0.1" node_consumer

# --- Bun: bun add <tgz> (Bun runs no install script of a dependency; Bun needs no addon) ------------
bun_consumer() {
  mkdir -p "$work/bun" && cd "$work/bun" || return 1
  echo '{ "name": "zcio-bun-consumer", "private": true, "type": "module" }' >package.json
  "$bun" add "$tgz" || return 1
  printf '%s' "$program" >index.ts
  timeout 60 "$bun" run index.ts
}
check "bun: bun add of the tarball, then zcConnect/zcListen over 127.0.0.1" bun_consumer

# --- Deno: a project elsewhere links the checkout as the JSR package @zcio/zcio (README's way) ------
deno_consumer() {
  mkdir -p "$work/deno" && cd "$work/deno" || return 1
  printf '{ "links": ["%s"], "imports": { "@zcio/zcio": "jsr:@zcio/zcio@^0.1" } }\n' "$root" >deno.json
  printf '%s' "$program" | sed 's|from "zcio"|from "@zcio/zcio"|' >main.ts
  "$deno" check main.ts || return 1
  timeout 60 "$deno" run -A main.ts
}
check "deno: a project linking the checkout as @zcio/zcio type-checks, then zcConnect/zcListen over 127.0.0.1" deno_consumer

# A typed use of the API, for the type checks: the consumers see zcio's .d.ts, not its sources.
typed='
import { zcConnect, zcListen, ZcioError, type ConnectionStats, type ZcConnection } from "zcio";

export async function roundTrip(port: number): Promise<ConnectionStats> {
  const listener = await zcListen({ port: 0, hostname: "127.0.0.1" });
  const conn: ZcConnection = await zcConnect({ hostname: "127.0.0.1", port, backend: "auto" });
  const writer = conn.writable.getWriter();
  await writer.write(new Uint8Array(16));
  const chunk = await conn.readable.getReader().read();
  if (!chunk.done) console.log(chunk.value.byteLength, listener.addr.port);
  listener.close();
  return conn.stats();
}

export const isReset = (e: unknown): boolean => e instanceof ZcioError && e.code === "ECONNRESET";
'

typecheck() { # tsc in the consumer's directory: 0 errors, and "zcio" resolved to its .d.ts
  "$tsc" -p . --listFiles >tsc.out; local rc=$?
  grep -v '^/' tsc.out
  [ "$rc" -eq 0 ] || return 1
  grep -q '/node_modules/zcio/lib/mod\.d\.ts$' tsc.out || { echo "tsc did not resolve zcio to lib/mod.d.ts"; return 1; }
  if grep '/node_modules/zcio/' tsc.out | grep -v '\.d\.ts$' | grep -q '\.ts$'; then
    echo "tsc read zcio's .ts sources:"; grep '/node_modules/zcio/' tsc.out | grep -v '\.d\.ts$'; return 1
  fi
  echo "0 errors; $(grep -c '/node_modules/zcio/' tsc.out) of zcio's .d.ts files read"
}

# --- TypeScript, Node style: --strict, module/moduleResolution NodeNext --------------------------
tsc_nodenext() {
  cd "$work/node" || return 1
  printf '%s' "$typed" >typed.ts
  cat >tsconfig.json <<'JSON'
{
  "compilerOptions": { "strict": true, "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "noEmit": true },
  "files": ["typed.ts"]
}
JSON
  typecheck
}
check "tsc: a --strict NodeNext consumer type-checks" tsc_nodenext

# --- TypeScript, the tsconfig `bun init` writes: bundler resolution, strict, skipLibCheck, types bun -
tsc_bun_init() {
  cd "$work/bun" || return 1
  printf '%s' "$typed" >typed.ts
  # The consumer's `bun add -d @types/bun`, taken from the checkout.
  mkdir -p node_modules/@types && ln -sfn "$root/node_modules/@types/bun" node_modules/@types/bun
  cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "lib": ["ESNext"],
    "target": "ESNext",
    "module": "Preserve",
    "moduleDetection": "force",
    "jsx": "react-jsx",
    "allowJs": true,
    "moduleResolution": "bundler",
    "allowImportingTsExtensions": true,
    "verbatimModuleSyntax": true,
    "noEmit": true,
    "strict": true,
    "skipLibCheck": true,
    "noFallthroughCasesInSwitch": true,
    "noUncheckedIndexedAccess": true,
    "noImplicitOverride": true,
    "types": ["bun"]
  },
  "files": ["index.ts", "typed.ts"]
}
JSON
  typecheck
}
check "tsc: a bun-init-shaped consumer type-checks" tsc_bun_init

# --- JSR: deno publish --dry-run of the checkout (fast check, slow types, the module graph) ---------
jsr_dry_run() {
  cd "$root" || return 1
  "$deno" publish --dry-run --allow-dirty || return 1
  # A warning fails the check as an error does: each one is something JSR users would meet.
  ! sed 's/\x1b\[[0-9;]*m//g' "$work/out.log" | grep -Eq '^(error|warning)'
}
check "deno publish --dry-run" jsr_dry_run

checks_tally package
[ "$failed" -eq 0 ]

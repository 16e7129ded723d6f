/**
 * The size policy `auto` routes by: the built-in bands, parsing and validating a policy (object or
 * file), and where a connection gets it from (the option, ZCIO_POLICY, the built-in one). Nothing
 * here sends or times anything.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { POLICY_ENV, SizePolicy } from "../../backends/size_policy.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { connectionConfig } from "../../streams/options.ts";
import { assert, assertEquals, test } from "../harness.ts";

const KiB = 1024;

const invalid = (f: () => unknown, mentions: string): ZcioError => {
  try {
    f();
  } catch (e) {
    assert(e instanceof ZcioError, `a ZcioError, got ${e}`);
    assertEquals(e.code, "INVALID_OPTION", e.message);
    assert(e.message.includes(mentions), `the message mentions ${JSON.stringify(mentions)}: ${e.message}`);
    return e;
  }
  throw new Error(`expected INVALID_OPTION mentioning ${mentions}`);
};

/** A directory for policy files, removed by `done`. */
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "zcio-policy-"));
  return {
    file: (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
};

/** Sets an environment variable for the length of `f` (Deno's env and process.env alike). */
const withEnv = (name: string, value: string | undefined, f: () => void): void => {
  const g = globalThis as { Deno?: { env: { get(n: string): string | undefined; set(n: string, v: string): void; delete(n: string): void } } };
  const env = g.Deno !== undefined
    ? { get: () => g.Deno!.env.get(name), set: (v: string) => g.Deno!.env.set(name, v), del: () => g.Deno!.env.delete(name) }
    : { get: () => process.env[name], set: (v: string) => (process.env[name] = v), del: () => delete process.env[name] };
  const before = env.get();
  if (value === undefined) env.del();
  else env.set(value);
  try {
    f();
  } finally {
    if (before === undefined) env.del();
    else env.set(before);
  }
};

test("size_policy: the built-in policy has well-formed bands for every transport and runtime: copy for small chunks and last everywhere, zero-copy for the largest", () => {
  const p = SizePolicy.builtIn;
  assertEquals(p.source, "built-in");
  for (const runtime of [undefined, "bun", "deno", "node"] as const) {
    for (const transport of ["tcp", "udp"] as const) {
      const bands = p.bands(transport, runtime), what = `${transport} ${runtime ?? "shared"}`;
      assertEquals(bands[0].from, 0, `${what}: the first band starts at 0`);
      assertEquals(bands[0].use, ["copy"], `${what}: the smallest chunks go by copy`);
      for (const band of bands) assertEquals(band.use[band.use.length - 1], "copy", `${what}: copy ends every list`);
      for (let i = 1; i < bands.length; i++) assert(bands[i].from > bands[i - 1].from, `${what}: bands ascend`);
      const last = bands[bands.length - 1];
      assert(last.use[0] !== "copy", `${what}: the largest chunks prefer a zero-copy backend: ${JSON.stringify(last)}`);
      assertEquals(p.bandFor(transport, 512, runtime).use, ["copy"]);
      assertEquals(p.bandFor(transport, 1 << 30, runtime), last);
      assertEquals(p.bandFor(transport, last.from, runtime), last, "a band starts at its from, inclusive");
      assertEquals(p.bandFor(transport, last.from - 1, runtime), bands[bands.length - 2]);
    }
  }
  // Parsing what it writes gives it back.
  const again = SizePolicy.parse(JSON.parse(JSON.stringify(p)), "round trip");
  for (const runtime of ["bun", "deno", "node"] as const) assertEquals(again.bands("udp", runtime), p.bands("udp", runtime));
});

test("size_policy: a policy object is parsed, a single backend name is a list, copy is appended, a missing transport keeps the built-in bands", () => {
  const p = SizePolicy.parse({
    version: 1,
    tcp: [{ from: 0, use: "copy" }, { from: 8 * KiB, use: "msg_zerocopy" }, { from: 100000, use: ["io_uring", "copy", "msg_zerocopy"] }],
    measured: { anything: [1, 2, 3] },
    note: "calibrated by hand",
  }, "a test");
  assertEquals(p.source, "a test");
  assertEquals(p.bands("tcp"), [
    { from: 0, use: ["copy"] },
    { from: 8 * KiB, use: ["msg_zerocopy", "copy"] },
    { from: 100000, use: ["io_uring", "copy", "msg_zerocopy"] },
  ]);
  assertEquals(p.bands("udp"), SizePolicy.builtIn.bands("udp"), "udp was left out: built-in");
  assertEquals(p.bandFor("tcp", 8 * KiB - 1).use, ["copy"]);
  assertEquals(p.bandFor("tcp", 8 * KiB).use, ["msg_zerocopy", "copy"]);
  assertEquals(p.bandFor("tcp", 99999).use, ["msg_zerocopy", "copy"]);
  assertEquals(p.bandFor("tcp", 100000).use[0], "io_uring");
  // What a calibration writes parses back to the same bands.
  assertEquals(SizePolicy.parse(JSON.parse(JSON.stringify(p)), "round trip").bands("tcp"), p.bands("tcp"));
  // One band is enough.
  assertEquals(SizePolicy.parse({ version: 1, udp: [{ from: 0, use: "io_uring" }] }, "x").bands("udp"), [{ from: 0, use: ["io_uring", "copy"] }]);
});

test("size_policy: a runtime's own bands override the shared ones for that runtime and transport only", () => {
  const p = SizePolicy.parse({
    version: 1,
    udp: [{ from: 0, use: "copy" }, { from: 32 * KiB, use: "io_uring" }],
    runtimes: {
      bun: { udp: [{ from: 0, use: "copy" }] },
      deno: { tcp: [{ from: 0, use: "copy" }, { from: 8 * KiB, use: ["msg_zerocopy"] }] },
    },
  }, "per runtime");
  assertEquals(p.bandFor("udp", 60 * KiB).use, ["io_uring", "copy"], "no runtime: the shared bands");
  assertEquals(p.bandFor("udp", 60 * KiB, "node").use, ["io_uring", "copy"], "node has none of its own");
  assertEquals(p.bandFor("udp", 60 * KiB, "bun").use, ["copy"], "bun's own udp bands");
  assertEquals(p.bandFor("tcp", 60 * KiB, "bun"), SizePolicy.builtIn.bandFor("tcp", 60 * KiB), "bun names no tcp: shared, here built in");
  assertEquals(p.bandFor("tcp", 8 * KiB, "deno").use, ["msg_zerocopy", "copy"]);
  assertEquals(p.bandFor("udp", 60 * KiB, "deno").use, ["io_uring", "copy"]);
  // A policy of runtimes only keeps the built-in shared bands.
  const only = SizePolicy.parse({ version: 1, runtimes: { node: { tcp: [{ from: 0, use: "copy" }] } } }, "x");
  assertEquals(only.bands("tcp"), SizePolicy.builtIn.bands("tcp"));
  assertEquals(only.bands("tcp", "node"), [{ from: 0, use: ["copy"] }]);
  // It writes back what it read.
  const again = SizePolicy.parse(JSON.parse(JSON.stringify(p)), "round trip");
  assertEquals(again.bands("udp", "bun"), p.bands("udp", "bun"));
  assertEquals(again.bands("tcp", "deno"), p.bands("tcp", "deno"));
});

test("size_policy: every malformed policy is INVALID_OPTION saying what is wrong", () => {
  const band = { from: 0, use: "copy" };
  const cases: [unknown, string][] = [
    [null, "must be a JSON object"],
    [[band], "must be a JSON object"],
    ["{}", "must be a JSON object"],
    [{ tcp: [band] }, "version must be 1"],
    [{ version: 2, tcp: [band] }, "version must be 1"],
    [{ version: "1", tcp: [band] }, "version must be 1"],
    [{ version: 1 }, "names no bands"],
    [{ version: 1, tcp: [band], tpc: [band] }, `unknown key "tpc"`],
    [{ version: 1, tcp: [] }, "tcp must be a non-empty array"],
    [{ version: 1, udp: band }, "udp must be a non-empty array"],
    [{ version: 1, tcp: [5] }, "tcp[0] must be an object"],
    [{ version: 1, tcp: [{ from: 1, use: "copy" }] }, "tcp[0].from must be 0"],
    [{ version: 1, tcp: [band, { from: -1, use: "copy" }] }, "tcp[1].from must be a whole number"],
    [{ version: 1, tcp: [band, { from: 1.5, use: "copy" }] }, "tcp[1].from must be a whole number"],
    [{ version: 1, tcp: [band, { from: "4096", use: "copy" }] }, "tcp[1].from must be a whole number"],
    [{ version: 1, tcp: [band, { from: 2 ** 31, use: "copy" }] }, "tcp[1].from must be a whole number"],
    [{ version: 1, tcp: [band, { from: 4096, use: "copy" }, { from: 4096, use: "io_uring" }] }, "tcp[2].from (4096) must be larger"],
    [{ version: 1, tcp: [band, { from: 8192, use: "copy" }, { from: 4096, use: "io_uring" }] }, "must be larger"],
    [{ version: 1, tcp: [{ from: 0 }] }, "tcp[0].use must be a backend name"],
    [{ version: 1, tcp: [{ from: 0, use: [] }] }, "tcp[0].use must be a backend name"],
    [{ version: 1, tcp: [{ from: 0, use: "auto" }] }, `names "auto"`],
    [{ version: 1, udp: [{ from: 0, use: ["io_uring", "sendfile"] }] }, `udp[0].use names "sendfile"`],
    [{ version: 1, tcp: [{ from: 0, use: ["copy", "copy"] }] }, "names copy twice"],
    [{ version: 1, tcp: [{ from: 0, use: "copy", upTo: 5 }] }, `unknown key "upTo"`],
    [{ version: 1, runtimes: [] }, "runtimes must be an object"],
    [{ version: 1, runtimes: { firefox: { tcp: [band] } } }, `runtimes has unknown key "firefox"`],
    [{ version: 1, runtimes: { bun: [band] } }, "runtimes.bun must be an object"],
    [{ version: 1, runtimes: { deno: { sctp: [band] } } }, `runtimes.deno has unknown key "sctp"`],
    [{ version: 1, runtimes: { node: { udp: [{ from: 5, use: "copy" }] } } }, "runtimes.node.udp[0].from must be 0"],
    [{ version: 1, runtimes: {} }, "names no bands"],
  ];
  for (const [value, mentions] of cases) {
    const e = invalid(() => SizePolicy.parse(value, "case"), mentions);
    assert(e.message.includes("policy (case)"), `the message names the source: ${e.message}`);
  }
});

test("size_policy: a policy file is read and checked; a missing or non-JSON file is INVALID_OPTION", () => {
  const dir = scratch();
  try {
    const good = dir.file("good.json", JSON.stringify({ version: 1, udp: [{ from: 0, use: "copy" }, { from: 20000, use: ["msg_zerocopy"] }] }));
    const p = SizePolicy.fromFile(good);
    assertEquals(p.source, good);
    assertEquals(p.bandFor("udp", 20000).use, ["msg_zerocopy", "copy"]);
    invalid(() => SizePolicy.fromFile(dir.file("bad.json", "{ version: 1 ")), "is not JSON");
    invalid(() => SizePolicy.fromFile(join(tmpdir(), "zcio-no-such-policy.json")), "could not be read");
    const wrong = dir.file("wrong.json", JSON.stringify({ version: 1, tcp: [{ from: 0, use: "fast" }] }));
    invalid(() => SizePolicy.fromFile(wrong), wrong);
  } finally {
    dir.done();
  }
});

test("size_policy: a policy file is read again only once it has changed", () => {
  const dir = scratch();
  try {
    const path = dir.file("p.json", JSON.stringify({ version: 1, udp: [{ from: 0, use: "copy" }, { from: 20000, use: ["msg_zerocopy"] }] }));
    const first = SizePolicy.fromFile(path);
    assert(SizePolicy.fromFile(path) === first, "an unchanged file gives the policy read before");
    dir.file("p.json", JSON.stringify({ version: 1, udp: [{ from: 0, use: "copy" }, { from: 30000, use: ["io_uring"] }] }));
    const second = SizePolicy.fromFile(path);
    assertEquals(second.bandFor("udp", 20000).use, ["copy"], "the rewritten file is in force");
    assertEquals(second.bandFor("udp", 30000).use, ["io_uring", "copy"]);
    dir.file("p.json", "{ version: 1 ");
    invalid(() => SizePolicy.fromFile(path), "is not JSON");
  } finally {
    dir.done();
  }
});

test("size_policy: resolve takes the option (object, path or SizePolicy), else ZCIO_POLICY, else the built-in policy", () => {
  const dir = scratch();
  try {
    const path = dir.file("p.json", JSON.stringify({ version: 1, tcp: [{ from: 0, use: "copy" }] }));
    const envPath = dir.file("env.json", JSON.stringify({ version: 1, udp: [{ from: 0, use: "msg_zerocopy" }] }));
    const env = (value: string | undefined) => (name: string) => (name === POLICY_ENV ? value : undefined);
    assert(SizePolicy.resolve(undefined, env(undefined)) === SizePolicy.builtIn, "no option, no ZCIO_POLICY: built-in");
    assertEquals(SizePolicy.resolve(undefined, env("")), SizePolicy.builtIn, "an empty ZCIO_POLICY is unset");
    assertEquals(SizePolicy.resolve(undefined, env(envPath)).source, envPath);
    assertEquals(SizePolicy.resolve(path, env(envPath)).source, path, "the option wins over the environment");
    const fromObject = SizePolicy.resolve({ version: 1, tcp: [{ from: 0, use: "io_uring" }] }, env(envPath));
    assertEquals(fromObject.source, "the policy option");
    assertEquals(fromObject.bandFor("tcp", 1).use, ["io_uring", "copy"]);
    assert(SizePolicy.resolve(fromObject) === fromObject, "a parsed SizePolicy is taken as it is");
    invalid(() => SizePolicy.resolve("", env(undefined)), "empty string");
    invalid(() => SizePolicy.resolve(42, env(undefined)), "must be a JSON object");
    const e = invalid(() => SizePolicy.resolve(undefined, env(join(tmpdir(), "zcio-missing.json"))), `${POLICY_ENV}=`);
    assert(e.message.includes("could not be read"), e.message);
  } finally {
    dir.done();
  }
});

test("size_policy: zcConnect's options take a policy for auto, read ZCIO_POLICY from the environment, and reject a bad one", () => {
  const dir = scratch();
  try {
    const path = dir.file("env.json", JSON.stringify({ version: 1, tcp: [{ from: 0, use: "copy" }, { from: 4096, use: "msg_zerocopy" }] }));
    withEnv(POLICY_ENV, path, () => {
      assertEquals(connectionConfig({}, "tcp", true).policy.source, path, "auto (the default) reads ZCIO_POLICY");
      assertEquals(connectionConfig({}, "tcp", true).policy.bandFor("tcp", 4096).use, ["msg_zerocopy", "copy"]);
      assertEquals(connectionConfig({ backend: "copy" }, "tcp", true).policy, SizePolicy.builtIn, "copy does not read it");
      assertEquals(connectionConfig({ policy: { version: 1, udp: [{ from: 0, use: "copy" }] } }, "udp", true).policy.source, "the policy option");
    });
    withEnv(POLICY_ENV, dir.file("broken.json", "not json"), () => {
      invalid(() => connectionConfig({}, "tcp", true), POLICY_ENV);
      assertEquals(connectionConfig({ backend: "io_uring" }, "tcp", true).backend, "io_uring", "only auto reads it");
    });
    withEnv(POLICY_ENV, undefined, () => {
      assertEquals(connectionConfig({}, "tcp", true).policy, SizePolicy.builtIn);
      invalid(() => connectionConfig({ policy: { version: 1, tcp: [{ from: 0, use: "zerocopy" }] } as never }, "tcp", true), "zerocopy");
      invalid(() => connectionConfig({ backend: "copy", policy: { version: 3 } as never }, "tcp", true), "version");
      invalid(() => connectionConfig({ policy: join(tmpdir(), "zcio-nope.json") }, "tcp", true), "could not be read");
    });
  } finally {
    dir.done();
  }
});

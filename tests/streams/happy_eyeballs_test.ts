/**
 * zcConnect to a name with two addresses (::1 and 127.0.0.1, through an /etc/hosts of the child's
 * own): a refused first address falls through to the second at once, one that never answers after
 * the 250 ms attempt delay, every socket but the winner's is closed, and when every address fails
 * the error names each one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ATTEMPT_DELAY_MS } from "../../scheduler/connect_first.ts";
import { interleaveFamilies } from "../../streams/resolve_addresses.ts";
import { describe, privateHosts, runChild, runtimeCommand } from "../child_process.ts";
import { assert, assertEquals, test } from "../harness.ts";

interface Report {
  order: string[];
  ms: number;
  remote?: string;
  code?: string;
  message?: string;
  fdsBefore: number;
  fdsConnected: number;
  fdsAfter: number;
  accepted: Record<string, number>;
}

const run = (scenario: string): Report => {
  const dir = mkdtempSync(join(tmpdir(), "zcio-hosts-"));
  const hosts = join(dir, "hosts");
  writeFileSync(hosts, "::1 zcio-two\n127.0.0.1 zcio-two\n");
  try {
    const r = runChild(runtimeCommand(import.meta.url, "happy_eyeballs_child", [scenario]), { wrapper: privateHosts(hosts), timeoutMs: 60_000 });
    assertEquals(r.status, 0, `${scenario}: the child exited 0: ${describe(r)}`);
    assert(r.report !== undefined, `${scenario}: the child reported: ${describe(r)}`);
    const report = r.report as unknown as Report;
    assertEquals([...report.order].sort(), ["127.0.0.1", "::1"], `${scenario}: the name resolves to both loopback addresses`);
    console.log(`happy eyeballs ${scenario}: ${JSON.stringify(report)}`);
    return report;
  } finally {
    rmSync(dir, { recursive: true });
  }
};

test("happy eyeballs: a refused first address falls through to the second at once", () => {
  const r = run("refused-first");
  assertEquals(r.remote, r.order[1], "connected to the second address");
  assert(r.ms < ATTEMPT_DELAY_MS - 50, `without waiting for the attempt delay: ${r.ms} ms`);
  assertEquals(r.fdsConnected, r.fdsBefore + 1, "one socket open: the connection's");
  assertEquals(r.fdsAfter, r.fdsBefore, "none after close");
  assertEquals(r.accepted, { [r.order[1]]: 1 });
});

test("happy eyeballs: a first address that never answers is overtaken after the attempt delay and its socket closed", () => {
  const r = run("silent-first");
  assertEquals(r.remote, r.order[1], "connected to the second address");
  assert(r.ms >= ATTEMPT_DELAY_MS - 5 && r.ms < 3000, `after the attempt delay: ${r.ms} ms`);
  assertEquals(r.fdsConnected, r.fdsBefore + 1, "the pending attempt's socket was closed once the second won");
  assertEquals(r.fdsAfter, r.fdsBefore, "none after close");
  assertEquals([r.accepted[r.order[0]], r.accepted[r.order[1]]], [1, 1], "the first address only ever queued its filler");
});

test("happy eyeballs: when every address refuses, the error names each one", () => {
  const r = run("all-refused");
  assertEquals(r.remote, undefined);
  assertEquals(r.code, "ECONNREFUSED");
  assert(r.ms < ATTEMPT_DELAY_MS - 50, `each refusal starts the next attempt at once: ${r.ms} ms`);
  for (const address of ["::1: ECONNREFUSED", "127.0.0.1: ECONNREFUSED", "zcio-two", "2 addresses"]) {
    assert(r.message!.includes(address), `the message names ${address}: ${r.message}`);
  }
  assertEquals(r.fdsAfter, r.fdsBefore, "every socket was closed");
});

test("happy eyeballs: the timeout covers every attempt, and closes all of them", () => {
  const r = run("all-silent");
  assertEquals(r.code, "ETIMEDOUT");
  assert(r.ms >= 590 && r.ms < 3000, `after the timeout: ${r.ms} ms`);
  assertEquals(r.fdsAfter, r.fdsBefore, "both attempts' sockets were closed");
  assertEquals([r.accepted[r.order[0]], r.accepted[r.order[1]]], [1, 1], "neither attempt ever got through");
});

test("happy eyeballs: the resolver's order is kept with the families alternating from the first", () => {
  assertEquals(interleaveFamilies(["::1", "fe80::1", "::2", "127.0.0.1"]), ["::1", "127.0.0.1", "fe80::1", "::2"]);
  assertEquals(interleaveFamilies(["10.0.0.1", "10.0.0.2", "::1", "::2", "::3"]), ["10.0.0.1", "::1", "10.0.0.2", "::2", "::3"]);
  assertEquals(interleaveFamilies(["127.0.0.1"]), ["127.0.0.1"]);
});

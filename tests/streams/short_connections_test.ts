/**
 * Short connections: 30,000 TCP connections over 127.0.0.1, one after another, 64 at a time, each
 * opened with zcConnect through one of the backends in BACKENDS in turn and accepted by zcListen:
 * connect, write a few bytes (every tenth also an 80 KiB window the backend sends from the
 * caller's memory), close; the accepted side checks every byte. Guards against anything zcio keeps
 * per connection outliving it (an fd, a watch in the waiter, staging memory, a ring slot, a
 * listener on a stream): measured after a warm-up of 2,000 connections and again after the 30,000,
 * each after a GC, the process has exactly the same fds, its JS heap has grown by less than
 * HEAP_BOUND (about 140 bytes a connection) and its RSS by less than RSS_BOUND (about 2 KiB a
 * connection: far less than one staging ring or control block each). RSS gets the looser bound
 * because Deno's moves by tens of MiB between runs that leak nothing (+2 to +36 MiB over 30,000,
 * +29 MiB over 90,000, its heap flat each time). It also keeps connection set-up and tear-down
 * fast: the 30,000 must take less than a minute.
 *
 * It runs in a child process in a private network namespace (short_connections_child.ts): the
 * closing side keeps each connection's port in TIME_WAIT for a minute, which in the host's
 * namespace would use up the ephemeral ports every other test on the machine connects from.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { BACKENDS, mib, runChild, runtime } from "../reliability.ts";

const COUNT = 30_000;
const CONCURRENCY = 64;
const HEAP_BOUND = 4 << 20;
const RSS_BOUND = 64 << 20;
const TIME_BOUND_MS = 60_000;

interface Report {
  count: number;
  verified: number;
  failures: number;
  problems: string[];
  ms: number;
  before: { fds: number; rss: number; heap: number };
  after: { fds: number; rss: number; heap: number };
  stuck?: boolean;
}

test(`short connections: ${COUNT} connections (connect, write, verify, close) across ${BACKENDS.join(", ")}; fds flat, heap and RSS bounded, under a minute`, async () => {
  const r = await runChild(new URL("./short_connections_child.ts", import.meta.url), {
    args: [String(COUNT), String(CONCURRENCY), BACKENDS.join(",")],
    netns: { sysctls: { "net/ipv4/ip_local_port_range": "1024 65535" } },
    timeoutMs: 180_000,
  });
  const report = r.report as Report | undefined;
  assert(
    report !== undefined && report.stuck === undefined,
    `the child finished: status ${r.status}, signal ${r.signal}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`,
  );
  assertEquals(r.status, 0, `exit code: ${r.stderr.slice(-2000)}`);
  assertEquals(report.failures, 0, `connections whose peer got wrong bytes: ${report.problems.join("; ")}`);
  assertEquals(report.verified, COUNT, "connections verified by their peer");
  assertEquals(report.after.fds, report.before.fds, "open fds after every connection closed, as after the warm-up");
  const heapGrew = report.after.heap - report.before.heap;
  assert(heapGrew < HEAP_BOUND, `the JS heap grew ${mib(heapGrew)} over ${COUNT} connections (bound ${mib(HEAP_BOUND)})`);
  const grew = report.after.rss - report.before.rss;
  assert(grew < RSS_BOUND, `RSS grew ${mib(grew)} over ${COUNT} connections (bound ${mib(RSS_BOUND)})`);
  assert(report.ms < TIME_BOUND_MS, `${COUNT} connections took ${report.ms} ms (bound ${TIME_BOUND_MS} ms)`);
  console.log(
    `short connections (${runtime}): ${COUNT} connections (${BACKENDS.join(", ")} in turn, ${CONCURRENCY} at a time) verified in ` +
      `${(report.ms / 1000).toFixed(1)} s (${(COUNT / report.ms * 1000).toFixed(0)}/s); fds ${report.before.fds} -> ${report.after.fds}; ` +
      `JS heap ${mib(report.before.heap)} -> ${mib(report.after.heap)}; RSS ${mib(report.before.rss)} -> ${mib(report.after.rss)} (${mib(grew)} more, bound ${
        mib(RSS_BOUND)
      })`,
  );
});

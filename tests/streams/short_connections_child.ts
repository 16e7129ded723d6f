/**
 * Not a test file: a program short_connections_test.ts runs in a child process, in a private
 * network namespace, so that tens of thousands of TIME_WAIT sockets and used ephemeral ports stay
 * out of the host's. It opens `count` short TCP connections over 127.0.0.1, `concurrency` at a
 * time, connection i through backend `backends[i % backends.length]` (each backend has its own
 * listener): connect, write a few seeded bytes (every LARGE_EVERY-th connection also a borrowed
 * window above the staging threshold, so it goes through the backend itself), close; the accepted
 * side reads to end of stream, checks every byte, and closes. It prints one JSON line: the time,
 * and fds, RSS and JS heap in use after a warm-up and after every connection, each after a GC. A
 * run that stops making progress for 10 s prints where its connections stand and exits 3.
 *
 * Arguments: count, concurrency, backends (comma-separated).
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { type BackendChoice, zcConnect, type ZcConnection, zcListen, type ZcListener } from "../../mod.ts";
import { openFds, rssBytes, sleep, XorShift } from "../helpers.ts";
import { childArgs, exitNow, gc } from "../reliability.ts";

const [countArg, concurrencyArg, backendsArg] = childArgs();
const COUNT = Number(countArg), CONCURRENCY = Number(concurrencyArg);
const BACKEND_LIST = backendsArg.split(",") as BackendChoice[];
const KiB = 1024;
const WARM_UP = 2000;
const LARGE_EVERY = 10;
/** Above the default staging threshold (64 KiB): sent from the caller's memory by the backend. */
const LARGE = 80 * KiB;

const pool = new Uint8Array(1 << 20);
new XorShift(0x5c0).fill(pool);

/** What connection `i` sends: its number, then a few bytes of the pool, and sometimes a large window. */
const payload = (i: number): Uint8Array[] => {
  const rng = new XorShift(i + 1);
  const head = new Uint8Array(4 + 1 + rng.below(256));
  new DataView(head.buffer).setUint32(0, i);
  const at = rng.below(pool.length - LARGE);
  head.set(pool.subarray(at, at + head.length - 4), 4);
  return i % LARGE_EVERY === 0 ? [head, pool.subarray(at, at + LARGE)] : [head];
};

/** Where every connection is, for the report if the run stops making progress. */
const counts = { connecting: 0, writing: 0, closing: 0, closed: 0, accepted: 0, served: 0 };
let verified = 0, failures = 0;
const problems: string[] = [];
const fail = (what: string): void => {
  failures++;
  if (problems.length < 5) problems.push(what);
};

/** The accepted side: reads to the end, checks it is exactly what its client sent, closes. */
const serve = async (conn: ZcConnection): Promise<void> => {
  counts.accepted++;
  const chunks: Uint8Array[] = [];
  for await (const bytes of conn.readable) chunks.push(bytes);
  await conn.close();
  counts.served++;
  const got = Buffer.concat(chunks);
  if (got.length < 4) return fail(`a connection sent ${got.length} bytes`);
  const want = Buffer.concat(payload(got.readUInt32BE(0)));
  if (!got.equals(want)) return fail(`connection ${got.readUInt32BE(0)}: ${got.length} bytes, expected ${want.length}`);
  verified++;
};

const acceptAll = async (listener: ZcListener): Promise<void> => {
  for await (const conn of listener) serve(conn).catch((e) => fail(`serving: ${e}`));
};

const listeners = await Promise.all(BACKEND_LIST.map((backend) => zcListen({ port: 0, backlog: 4 * CONCURRENCY, backend })));
const accepting = listeners.map(acceptAll);

const connectOnce = async (i: number): Promise<void> => {
  const b = i % BACKEND_LIST.length;
  counts.connecting++;
  const conn = await zcConnect({ hostname: "127.0.0.1", port: listeners[b].addr.port, backend: BACKEND_LIST[b] });
  counts.connecting--;
  counts.writing++;
  const writer = conn.writable.getWriter();
  for (const chunk of payload(i)) await writer.write(chunk);
  writer.releaseLock();
  counts.writing--;
  counts.closing++;
  await conn.close();
  counts.closing--;
  counts.closed++;
};

// A run that stops making progress is reported (where each connection stands) instead of hanging.
let lastProgress = -1;
const watchdog = setInterval(() => {
  const progress = counts.closed + counts.served;
  if (progress === lastProgress) {
    console.log(JSON.stringify({ stuck: true, counts, verified, failures, problems }));
    exitNow(3);
  }
  lastProgress = progress;
}, 10_000);

/** Connections [from, to), `CONCURRENCY` at a time; resolves once the peer has checked each. */
const run = async (from: number, to: number): Promise<void> => {
  let next = from;
  const lane = async () => {
    while (next < to) await connectOnce(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  while (verified + failures < to) await sleep(5);
};

const settled = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return { fds: openFds(), rss: rssBytes(), heap: process.memoryUsage().heapUsed };
};

await run(0, WARM_UP);
const before = await settled();
const started = Date.now();
await run(WARM_UP, WARM_UP + COUNT);
const ms = Date.now() - started;
const after = await settled();
for (const l of listeners) l.close();
await Promise.all(accepting);
clearInterval(watchdog);
console.log(JSON.stringify({ count: COUNT, warmUp: WARM_UP, verified: verified - WARM_UP, failures, problems, ms, before, after, backends: BACKEND_LIST }));

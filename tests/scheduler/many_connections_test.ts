/**
 * Many connections, for every backend in BACKENDS: 1,000 concurrent loopback TCP connections in
 * this process (both ends: 2,000 sockets, so RLIMIT_NOFILE is raised through the Sys adapter's
 * prlimit), each sending PER_CONNECTION bytes of seeded chunks (staged, borrowed and whole fresh
 * buffers) at the same time and each verified by its own SHA-256 on both ends. All of it runs on
 * the one process waiter: no thread per connection (the thread count stays within THREAD_SLACK of
 * where it started) while hundreds of sockets are armed in it at once; afterwards every fd is
 * closed and the limit is restored.
 *
 * PER_CONNECTION: 1 MiB by default (1 GiB in all per backend, a few seconds per runtime on the
 * 2-core CI machine); ZCIO_MANY_KIB overrides it.
 */
import { type BackendChoice, zcConnect, type ZcConnection, zcListen } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { openFds, processWaiter, waitFor, warmUp, withTimeout, XorShift } from "../helpers.ts";
import { BACKENDS, Digest, env, mib, raiseFdLimit, RssSampler, setFdLimit, threadCount } from "../reliability.ts";

const KiB = 1024, MiB = 1 << 20;
const CONNECTIONS = 1000;
const PER_CONNECTION = Number(env("ZCIO_MANY_KIB") ?? 1024) * KiB;
const THREAD_SLACK = 4;

/** One connection's transfer: writes `total` bytes of seeded chunks, hashing what it sends. */
const send = async (conn: ZcConnection, pool: Uint8Array, seed: number, total: number, sent: Digest): Promise<void> => {
  const rng = new XorShift(seed);
  const writer = conn.writable.getWriter();
  let left = total;
  while (left > 0) {
    const kind = rng.below(4);
    const size = Math.min(left, kind === 0 ? 1 + rng.below(16 * KiB - 1) : 16 * KiB + rng.below(256 * KiB));
    const at = rng.below(pool.length - size);
    const view = pool.subarray(at, at + size);
    sent.update(view);
    // A whole fresh buffer (taken over by a zero-copy backend), or a window of the shared pool.
    await writer.write(kind === 3 ? view.slice() : view);
    left -= size;
  }
  await writer.close();
};

const receive = async (conn: ZcConnection, received: Digest): Promise<void> => {
  for await (const bytes of conn.readable) received.update(bytes);
};

const run = async (backend: BackendChoice) => {
  const listener = await zcListen({ port: 0, backlog: CONNECTIONS, backend });
  const servers: ZcConnection[] = [];
  const accepting = (async () => {
    while (servers.length < CONNECTIONS) servers.push((await listener.accept())!);
  })();
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, backend })),
  );
  await withTimeout(accepting, 30_000, "accepting every connection");
  // Pair each accepted side with its client by address.
  const byPort = new Map(servers.map((s) => [s.remoteAddr.port, s]));
  const pool = new Uint8Array(8 * MiB);
  new XorShift(0x3a7).fill(pool);
  const sent = clients.map(() => new Digest()), received = clients.map(() => new Digest());
  const waiter = await processWaiter();
  let maxArmed = 0, maxThreads = 0;
  const watch = setInterval(() => {
    maxArmed = Math.max(maxArmed, waiter.armedCount);
    maxThreads = Math.max(maxThreads, threadCount());
  }, 5);
  const started = Date.now();
  await withTimeout(
    Promise.all(clients.flatMap((client, i) => {
      const server = byPort.get(client.localAddr.port);
      assert(server !== undefined, `connection ${i} was accepted`);
      return [send(client, pool, 0x1000 + i, PER_CONNECTION, sent[i]), receive(server, received[i])];
    })),
    300_000,
    "every transfer",
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(watch);
  let verified = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    assertEquals(received[i].length, sent[i].length, `connection ${i}: bytes`);
    assertEquals(received[i].hex(), sent[i].hex(), `connection ${i}: SHA-256`);
    verified += sent[i].length;
  }
  const fdsOpen = openFds();
  await Promise.all([...clients, ...servers].map((c) => c.close()));
  listener.close();
  return { verified, seconds, maxArmed, maxThreads, fdsOpen, waiter };
};

for (const backend of BACKENDS) {
  test(`many connections (${backend}): ${CONNECTIONS} concurrent TCP connections, ${mib(PER_CONNECTION)} each, verified per connection, on the one process waiter`, async () => {
    // Both ends of every connection, what is open already, and room for the runtime.
    const limitBefore = raiseFdLimit(2 * CONNECTIONS + openFds() + 128);
    try {
      await warmUp();
      const waiterBefore = await processWaiter();
      const fdsBefore = openFds(), threadsBefore = threadCount();
      const rss = new RssSampler(50);
      const r = await run(backend);
      const peak = rss.stop();
      assert(r.waiter === waiterBefore, "every connection used the one process waiter");
      assertEquals(r.verified, CONNECTIONS * PER_CONNECTION, "bytes verified");
      assert(r.fdsOpen >= fdsBefore + 2 * CONNECTIONS, `both ends of every connection were open at once: ${r.fdsOpen} fds`);
      assert(r.maxArmed >= CONNECTIONS / 4, `the one waiter had many sockets armed at once: at most ${r.maxArmed}`);
      assert(r.maxThreads <= threadsBefore + THREAD_SLACK, `no thread per connection: ${threadsBefore} threads before, at most ${r.maxThreads}`);
      await waitFor(() => openFds() === fdsBefore, `every fd closed again (${openFds()} open, ${fdsBefore} before)`, 20_000);
      console.log(
        `many connections (${backend}): ${CONNECTIONS} connections x ${mib(PER_CONNECTION)} = ${mib(r.verified)} verified by SHA-256 in ` +
          `${r.seconds.toFixed(1)} s (${(r.verified / r.seconds / 1e6).toFixed(0)} MB/s); ${r.fdsOpen} fds open at once (limit raised from ` +
          `${limitBefore.soft}); up to ${r.maxArmed} sockets armed in the one waiter; threads ${threadsBefore} -> at most ${r.maxThreads}; ` +
          `peak RSS ${mib(peak)} (+${mib(peak - rss.start)})`,
      );
    } finally {
      setFdLimit(limitBefore);
    }
  });
}

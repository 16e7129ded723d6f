/**
 * Not a test file: the program the io_uring tests run in a child process (io_uring_spawn.ts), for
 * what cannot be undone in the test process itself: a private network namespace whose loopback
 * drops everything, a seccomp filter, a lowered RLIMIT_MEMLOCK without CAP_IPC_LOCK, an exit with
 * requests in flight. It prints one JSON line (its report) and exits 0; the test asserts on it.
 *
 * Modes (first argument):
 * - `blackhole`: UDP to 127.0.0.1:9 in a namespace whose lo drops every packet at the qdisc, so the
 *   kernel really sends without copying: owned datagrams, then leases (when each returns to the
 *   pool), then an exhausted pool (lease() waits).
 * - `blackhole-memlock`: the same sink with RLIMIT_MEMLOCK at 64 KiB and no CAP_IPC_LOCK, so
 *   unregistered SEND_ZC is refused with ENOMEM.
 * - `seccomp`: io_uring_setup made to fail with EPERM (seccomp, all threads), then a loopback TCP
 *   transfer with backend "io_uring".
 * - `memlock`: RLIMIT_MEMLOCK at 256 KiB without CAP_IPC_LOCK (the 8 MiB lease pool cannot be
 *   registered, big unregistered SEND_ZC get ENOMEM), then a loopback TCP transfer with leases.
 * - `exit`: io_uring sends in flight to a peer that never reads, then exit(0) at once (`now`, the
 *   second argument) or once the requests are in the kernel (`later`).
 *
 * @module
 */
import { probe, zcConnect, type ZcConnection } from "../../mod.ts";
import type { IoUringSender } from "../../backends/io_uring.ts";
import { UringDispatcher } from "../../backends/uring_dispatcher.ts";
import { RLIMIT_MEMLOCK } from "../../ffi/constants.ts";
import { Slab } from "../../ffi/slab.ts";
import type { Sys } from "../../ffi/sys.ts";
import { assertPrivateNetns } from "../child_process.ts";
import { connectedPair, internals, processWaiter, RunningHash, sleep, stateAfter, sys, waitFor, withTimeout, XorShift } from "../helpers.ts";

const g = globalThis as { Deno?: { args: string[]; exit(code: number): never }; process?: { argv: string[]; exit(code: number): never } };
const argv = g.Deno !== undefined ? g.Deno.args : g.process!.argv.slice(2);
const exit = (code: number): never => (g.Deno !== undefined ? g.Deno.exit(code) : g.process!.exit(code));
const report = (value: Record<string, unknown>): void => console.log(JSON.stringify(value));

const KiB = 1024, MiB = 1 << 20;

// ── process setup that cannot be undone ─────────────────────────────────────────────────

const SYS_prctl = 157, SYS_seccomp = 317, SYS_capget = 125, SYS_capset = 126;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1, SECCOMP_FILTER_FLAG_TSYNC = 1;
const BPF_LD_W_ABS = 0x20, BPF_JEQ_K = 0x15, BPF_RET_K = 0x06;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const SECCOMP_RET_ERRNO = 0x00050000, SECCOMP_RET_ALLOW = 0x7fff0000, EPERM = 1;

/**
 * Makes io_uring_setup (425) fail with EPERM in every thread of this process (TSYNC: the runtimes
 * run many threads), with a classic BPF seccomp filter. Returns what each syscall returned.
 */
const denyIoUringSetup = (sys: Sys): { noNewPrivs: number; seccomp: number } => {
  const slab = Slab.map(sys, 4096); // sock_fprog at 0, the filter at 64; kept mapped for life
  const filter: [number, number, number, number][] = [
    [BPF_LD_W_ABS, 0, 0, 4], // A = seccomp_data.arch
    [BPF_JEQ_K, 0, 3, AUDIT_ARCH_X86_64], // another arch: allow
    [BPF_LD_W_ABS, 0, 0, 0], // A = seccomp_data.nr
    [BPF_JEQ_K, 0, 1, 425], // io_uring_setup?
    [BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM],
    [BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW],
  ];
  const d = slab.data;
  filter.forEach(([code, jt, jf, k], i) => {
    const at = 64 + i * 8; // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k }
    d.setUint16(at, code, true);
    d.setUint8(at + 2, jt);
    d.setUint8(at + 3, jf);
    d.setUint32(at + 4, k >>> 0, true);
  });
  d.setUint16(0, filter.length, true); // struct sock_fprog { u16 len; (pad); u64 filter }
  d.setBigUint64(8, BigInt(slab.addr + 64), true);
  const noNewPrivs = sys.syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
  const seccomp = sys.syscall6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, slab.addr, 0, 0, 0);
  return { noNewPrivs, seccomp };
};

/**
 * Lowers RLIMIT_MEMLOCK to `limit` bytes and drops CAP_IPC_LOCK from this thread's effective set
 * (capset, as tests/ffi/io_uring/registered_buffers_test.ts does), so the kernel charges registered
 * and pinned pages against the limit. Rings made by this (the JS) thread are charged from then on.
 */
const lowerMemlock = (sys: Sys, limit: number): { capget: number; capset: number; prlimit: number } => {
  const CAP_IPC_LOCK = 14, CAP_VERSION_3 = 0x20080522;
  const caps = Slab.map(sys, 4096); // header at 0, two cap_user_data_t at 64
  caps.data.setUint32(0, CAP_VERSION_3, true);
  const capget = sys.syscall6(SYS_capget, caps.addr, caps.addr + 64, 0, 0, 0, 0);
  caps.data.setUint32(0, CAP_VERSION_3, true);
  caps.data.setInt32(4, 0, true);
  caps.data.setUint32(64, caps.data.getUint32(64, true) & ~(1 << CAP_IPC_LOCK), true);
  const capset = sys.syscall6(SYS_capset, caps.addr, caps.addr + 64, 0, 0, 0, 0);
  caps.unmap();
  const rlimit = new Uint8Array(16);
  const v = new DataView(rlimit.buffer);
  v.setBigUint64(0, BigInt(limit), true);
  v.setBigUint64(8, BigInt(limit), true);
  return { capget, capset, prlimit: sys.prlimit(0, RLIMIT_MEMLOCK, rlimit, null) };
};

// ── pieces ───────────────────────────────────────────────────────────────────────────────

const senderOf = (conn: ZcConnection): IoUringSender => internals(conn).outbox.backend as IoUringSender;

const dispatcher = async (): Promise<UringDispatcher> => {
  const shared = UringDispatcher.shared(sys, await processWaiter());
  if (!shared.ok) throw new Error(`no shared ring: ${shared.reason}`);
  return shared.dispatcher;
};

type Kind = "staged" | "borrowed" | "owned" | "leased";

/** Any kind, sizes up to `maxChunk`: staged (< 16 KiB), borrowed, owned, leased. */
const anyKind = (maxChunk: number) => (sizes: XorShift, i: number): [Kind, number] => {
  const kind = i < 4 ? (["leased", "owned", "borrowed", "staged"] as const)[i] : (["staged", "borrowed", "owned", "leased"] as const)[sizes.below(4)];
  return [kind, kind === "staged" ? sizes.logUniform(1, 16 * KiB - 1) : sizes.logUniform(16 * KiB, maxChunk)];
};

/**
 * Writes `total` bytes of seeded chunks over a loopback TCP pair with backend io_uring and reads
 * them back: staged (< 16 KiB), borrowed (views of a scratch buffer), owned (fresh buffers, taken
 * over) and leased chunks, kinds and sizes as `pick` says. Returns both hashes and stats.
 */
const tcpTransfer = async (total: number, seed: number, pick: (sizes: XorShift, i: number) => [Kind, number]) => {
  const pair = await connectedPair("127.0.0.1", { backend: "io_uring", transferBuffers: true });
  const received = new RunningHash();
  const reading = (async () => {
    for await (const bytes of pair.server.readable) received.update(bytes);
  })();
  const writer = pair.client.writable.getWriter();
  const sizes = new XorShift(seed), content = new XorShift(seed * 7 + 1);
  const sent = new RunningHash();
  let scratch = new Uint8Array(0);
  const kinds = { staged: 0, borrowed: 0, owned: 0, leased: 0 };
  let leasesRegistered: boolean | undefined;
  for (let i = 0; sent.length < total; i++) {
    const [kind, size] = pick(sizes, i);
    if (scratch.length < size) scratch = new Uint8Array(size);
    let chunk: Uint8Array;
    if (kind === "leased") {
      chunk = await pair.client.lease(size);
      const shared = UringDispatcher.shared(sys, await processWaiter());
      const pool = shared.ok ? shared.dispatcher.leases?.buffers : undefined;
      leasesRegistered ??= pool !== undefined && inPool(pool, chunk);
    } else chunk = kind === "borrowed" ? scratch.subarray(0, size) : new Uint8Array(size);
    content.fill(chunk);
    sent.update(chunk);
    kinds[kind]++;
    await writer.write(chunk);
  }
  await writer.close();
  await reading;
  const stats = pair.client.stats();
  const backend = internals(pair.client).outbox.backend;
  await pair.close();
  return {
    backend: backend.name,
    inflightAfterClose: backend.inflight,
    kinds,
    leasesRegistered,
    sent: { length: sent.length, hash: sent.value },
    received: { length: received.length, hash: received.value },
    stats,
  };
};

// ── modes ────────────────────────────────────────────────────────────────────────────────

/** Whether `lease` lies in the registered region `pool`. */
const inPool = (pool: { addr: number; size: number }, lease: Uint8Array): boolean => {
  const address = sys.addressOf(lease);
  return address >= pool.addr && address + lease.length <= pool.addr + pool.size;
};

const blackhole = async (): Promise<void> => {
  assertPrivateNetns(); // 127.0.0.1:9 only in a namespace of our own
  const conn = await zcConnect({ hostname: "127.0.0.1", port: 9, transport: "udp", backend: "io_uring", transferBuffers: true });
  const backend = senderOf(conn);
  const pool = (await dispatcher()).leases!.buffers;
  const writer = conn.writable.getWriter();
  const sizes = new XorShift(0xb1ac);
  let bytes = 0, datagrams = 0;

  // 1. Owned datagrams (fresh buffers, taken over with transferBuffers): SEND_ZC from plain memory.
  for (let i = 0; i < 300; i++) {
    const chunk = new Uint8Array(sizes.logUniform(16 * KiB, 65000)).fill(i);
    bytes += chunk.length;
    datagrams++;
    await writer.write(chunk);
  }
  const queue = internals(conn).outbox.queue;
  const idle = () => queue.length === 0 && backend.inflight === 0 && !backend.busy;
  await waitFor(idle, "the owned datagrams' notifications");
  const owned = conn.stats();

  // 2. Leases: each returns to the pool at its notification, not at its send's completion. Every
  // CQE of this phase is logged with the pool's used bytes before and after it was handled.
  const LEASE = 60000, probeOffset = pool.alloc(LEASE), unit = pool.sizeOf(probeOffset);
  pool.free(probeOffset);
  const leases: Uint8Array[] = [];
  for (let i = 0; i < 32; i++) leases.push((await conn.lease(LEASE)).fill(0xa0 + i));
  const leasesRegistered = leases.every((lease) => inPool(pool, lease));
  const usedBeforeLeaseWrites = pool.usedBytes;
  const events: { notif: boolean; res: number; before: number; after: number }[] = [];
  const complete = backend.complete;
  backend.complete = (slot: number, res: number, flags: number) => {
    const before = pool.usedBytes;
    complete.call(backend, slot, res, flags);
    events.push({ notif: (flags & 8) !== 0, res, before, after: pool.usedBytes });
  };
  for (const lease of leases) {
    bytes += LEASE;
    datagrams++;
    await writer.write(lease);
  }
  const usedAfterLeaseWrites = pool.usedBytes;
  await waitFor(() => pool.usedBytes === 0, "every lease back in the pool");
  backend.complete = complete;
  const usedAfterLeaseNotifications = pool.usedBytes;

  // 3. Exhaustion: the whole pool leased out, so one more lease() waits until a lease is released.
  // 65000 bytes (a datagram must stay under 65508) take 16 whole 4 KiB units: 128 fill 8 MiB.
  const held: Uint8Array[] = [];
  while (pool.usedBytes + 65536 <= pool.size) held.push(await conn.lease(65000));
  const usedWhenExhausted = pool.usedBytes;
  const waiting = conn.lease(65000);
  const stateWhileExhausted = await stateAfter(waiting, 200);
  const inflightWhileExhausted = backend.inflight;
  const first = held.shift()!.fill(1);
  const firstAddress = sys.addressOf(first);
  bytes += first.length;
  datagrams++;
  await writer.write(first);
  const late = await withTimeout(waiting, 10_000, "the waiting lease once one was released");
  const lateReusesReleased = sys.addressOf(late) === firstAddress;
  for (const lease of [...held, late]) {
    bytes += lease.fill(2).length;
    datagrams++;
    await writer.write(lease);
  }
  await writer.close();
  await conn.close();
  report({
    bytes,
    datagrams,
    owned,
    unit,
    leaseBytes: LEASE,
    leaseCount: leases.length,
    leasesRegistered,
    usedBeforeLeaseWrites,
    usedAfterLeaseWrites,
    usedAfterLeaseNotifications,
    events,
    poolSize: pool.size,
    heldCount: held.length + 1,
    usedWhenExhausted,
    stateWhileExhausted,
    inflightWhileExhausted,
    lateReusesReleased,
    usedAfterClose: pool.usedBytes,
    inflightAfterClose: backend.inflight,
    busyAfterClose: backend.busy,
    stats: conn.stats(),
  });
};

const blackholeMemlock = async (): Promise<void> => {
  assertPrivateNetns();
  const lowered = lowerMemlock(sys, 64 * KiB);
  const conn = await zcConnect({ hostname: "127.0.0.1", port: 9, transport: "udp", backend: "io_uring", transferBuffers: true });
  const backend = senderOf(conn);
  const writer = conn.writable.getWriter();
  const sizes = new XorShift(0x3e3);
  let bytes = 0, datagrams = 0;
  // In bursts, so that chains hold many requests whose pinned pages together exceed the limit.
  for (let burst = 0; burst < 20; burst++) {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const chunk = new Uint8Array(sizes.logUniform(16 * KiB, 65000)).fill(i);
      bytes += chunk.length;
      datagrams++;
      writes.push(writer.write(chunk));
    }
    await Promise.all(writes);
  }
  await writer.close();
  await conn.close();
  report({ lowered, backend: backend.name, bytes, datagrams, inflightAfterClose: backend.inflight, stats: conn.stats() });
};

const seccomp = async (): Promise<void> => {
  const installed = denyIoUringSetup(sys);
  const p = await probe();
  const transfer = await tcpTransfer(48 * MiB, 0x5ecc, anyKind(2 * MiB));
  report({ installed, ioUring: p.ioUring, ioUringRing: p.ioUringRing, msgZerocopy: p.msgZerocopy, ...transfer });
};

const memlock = async (): Promise<void> => {
  const lowered = lowerMemlock(sys, 256 * KiB);
  const p = await probe();
  const transfer = await tcpTransfer(48 * MiB, 0x3e31, anyKind(4 * MiB));
  report({ lowered, ioUring: p.ioUring, registeredBuffers: p.registeredBuffers, memlockBytes: p.memlockBytes, ...transfer });
};

const exitWithRequestsInFlight = async (when: string): Promise<void> => {
  const pair = await connectedPair("127.0.0.1", { backend: "io_uring", transferBuffers: true });
  const backend = senderOf(pair.client);
  if (when === "now") {
    // Straight to the connection, so the first owned chunk is prepared in the ring at once (an idle
    // connection sends at once); the exit comes before the microtask that would enter the ring.
    const connection = internals(pair.client);
    await sleep(20); // the send fiber has started and parked
    for (let i = 0; i < 8; i++) connection.write(new Uint8Array(1 * MiB).fill(i));
    report({ when, busy: backend.busy, inflight: backend.inflight, stats: pair.client.stats() });
    exit(0);
  }
  const writer = pair.client.writable.getWriter();
  // Nobody reads: once the socket buffers are full the chain waits in the kernel, and
  // notifications of what was sent are outstanding.
  for (let i = 0; i < 24; i++) writer.write(new Uint8Array(1 * MiB).fill(i));
  for (let i = 0; i < 4; i++) writer.write((await pair.client.lease(512 * KiB)).fill(i));
  await waitFor(() => backend.busy && pair.client.stats().bytes.io_uring > 0, "requests in the kernel");
  await sleep(50);
  report({ when, busy: backend.busy, inflight: backend.inflight, stats: pair.client.stats() });
  exit(0);
};

const mode = argv[0];
if (mode === "blackhole") await blackhole();
else if (mode === "blackhole-memlock") await blackholeMemlock();
else if (mode === "seccomp") await seccomp();
else if (mode === "memlock") await memlock();
else if (mode === "exit") await exitWithRequestsInFlight(argv[1] ?? "now");
else {
  console.error(`unknown mode ${mode}`);
  exit(2);
}
exit(0);

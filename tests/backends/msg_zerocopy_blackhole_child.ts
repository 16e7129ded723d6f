/**
 * Not a test file: msg_zerocopy_test.ts runs this in a private network namespace whose loopback
 * drops every packet at its qdisc (`tc qdisc add dev lo root pfifo limit 0`), a sink the kernel
 * really zero-copies to (docs/kernel.md, 'Zero-copy sinks'). It sends owned UDP datagrams to 127.0.0.1:9 inside that
 * namespace with backend msg_zerocopy and prints, as one JSON line, the connection's stats and what
 * it observed of the pinned buffers along the way. The parent asserts on that report.
 *
 * Phases: "idle" writes, one at a time on an idle connection (sent at once, synchronously inside
 * write()), each observed right after its write; a "burst" of back-to-back writes; "lease" writes
 * of leased buffers, idle ones observed like the first phase, then a burst.
 */
import { zcConnect } from "../../mod.ts";
import { POLLERR } from "../../ffi/constants.ts";
import { assertPrivateNetns } from "../child_process.ts";
import { internals, sleep, sys, waitFor, XorShift } from "../helpers.ts";

assertPrivateNetns();

const KiB = 1024;
const IDLE = 12, BURST = 300, LEASE_IDLE = 8, LEASE_BURST = 60;

const conn = await zcConnect({ hostname: "127.0.0.1", port: 9, transport: "udp", backend: "msg_zerocopy", transferBuffers: true });
const inner = internals(conn);
const backend = inner.outbox.backend;
const writer = conn.writable.getWriter();
const sizes = new XorShift(0xb1ac4);
const content = new XorShift(0xb1ac5);
/** 16 KiB (stageBelow, so owned) to 60 KiB: under the 64 KiB MTU of lo, so never fragmented. */
const nextSize = () => 16 * KiB + sizes.below(44 * KiB + 1);

/** poll(fd, events 0): the revents, POLLERR while notifications wait in the error queue. */
const pollfd = new Uint8Array(8), pollView = new DataView(pollfd.buffer);
const revents = (): number => {
  pollView.setInt32(0, inner.fd, true);
  pollView.setUint32(4, 0, true);
  const r = sys.poll(pollfd, 1, 0);
  return r > 0 ? pollView.getInt16(6, true) : 0;
};

/** Bytes released from the pin registry never exceed the bytes notifications have covered. */
let invariantBroken = 0, checks = 0;
const check = () => {
  const s = conn.stats();
  const released = s.bytes.msg_zerocopy - backend.inflightBytes;
  if (released > s.zeroCopiedBytes + s.copiedBytes) invariantBroken++;
  checks++;
};

/** Waits until nothing is queued or pinned and the send fiber has parked. */
const idle = async () => {
  await waitFor(() => backend.inflight === 0 && inner.outbox.queue.length === 0, "every buffer released");
  await sleep(2);
};

export interface IdleObservation {
  size: number;
  /** byteLength of the written view right after write() resolved. */
  lengthAfterWrite: number;
  /** Buffers and bytes pinned right after write(), and whether POLLERR was pending then. */
  inflight: number;
  inflightBytes: number;
  pollerr: boolean;
  /** Notifications read before the write, right after it, and once it was released. */
  notificationsBefore: number;
  notificationsAfterWrite: number;
  notificationsReleased: number;
}

const observeIdle = async (chunk: Uint8Array): Promise<IdleObservation> => {
  await idle();
  const size = chunk.byteLength;
  const before = conn.stats().notifications;
  await writer.write(chunk);
  // The blackhole drops the datagram at the qdisc within the send, so the kernel has queued its
  // notification before sendmmsg returns, and the submission reads it at once: the buffer is
  // released, with its notification read, before write() resolves, and no POLLERR is left.
  const o: IdleObservation = {
    size,
    lengthAfterWrite: chunk.byteLength,
    inflight: backend.inflight,
    inflightBytes: backend.inflightBytes,
    pollerr: (revents() & POLLERR) !== 0,
    notificationsBefore: before,
    notificationsAfterWrite: conn.stats().notifications,
    notificationsReleased: 0,
  };
  check();
  await waitFor(() => backend.inflight === 0, "the notification of an idle write");
  o.notificationsReleased = conn.stats().notifications;
  check();
  return o;
};

// Phase 1: whole-buffer chunks on an idle connection.
const idleWrites: IdleObservation[] = [];
let idleBytes = 0;
for (let i = 0; i < IDLE; i++) {
  const chunk = new Uint8Array(nextSize());
  content.fill(chunk);
  idleBytes += chunk.byteLength;
  idleWrites.push(await observeIdle(chunk));
}

// Phase 2: a burst of whole-buffer chunks, written back to back.
await idle();
let burstBytes = 0, burstDetached = 0;
for (let i = 0; i < BURST; i++) {
  const chunk = new Uint8Array(nextSize());
  content.fill(chunk);
  burstBytes += chunk.byteLength;
  const alias = new Uint8Array(chunk.buffer);
  await writer.write(chunk);
  if (chunk.byteLength === 0 && alias.byteLength === 0) burstDetached++;
  check();
  if (i % 50 === 49) {
    // The fiber was woken (setImmediate) by the first of these writes: one macrotask later it has
    // sent all 50, each its own send id, and read the notifications the kernel queued meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    check();
  }
}
const burstStats = (await idle(), conn.stats());

// Phase 3: leased buffers, idle then in a burst.
const leaseStart = conn.stats();
const leaseWrites: IdleObservation[] = [];
let leaseBytes = 0, leaseDetached = 0;
const leased = async (): Promise<Uint8Array> => {
  const view = await conn.lease(nextSize());
  content.fill(view);
  leaseBytes += view.byteLength;
  return view;
};
for (let i = 0; i < LEASE_IDLE; i++) {
  const view = await leased();
  leaseWrites.push(await observeIdle(view));
  if (view.byteLength === 0) leaseDetached++;
}
const burst = await Promise.all(Array.from({ length: LEASE_BURST }, leased));
for (const view of burst) {
  await writer.write(view);
  if (view.byteLength === 0) leaseDetached++;
  check();
}
await idle();
const leaseEnd = conn.stats();

await writer.close();
const inflightAfterWriterClose = backend.inflight;
await conn.close();

console.log(JSON.stringify({
  stats: conn.stats(),
  counts: { idle: IDLE, burst: BURST, leaseIdle: LEASE_IDLE, leaseBurst: LEASE_BURST },
  idleBytes,
  burstBytes,
  burstDetached,
  burstStats,
  idleWrites,
  leaseWrites,
  leaseBytes,
  leaseDetached,
  lease: {
    chunks: leaseEnd.chunks - leaseStart.chunks,
    msgZerocopy: leaseEnd.bytes.msg_zerocopy - leaseStart.bytes.msg_zerocopy,
    zeroCopied: leaseEnd.zeroCopiedBytes - leaseStart.zeroCopiedBytes,
    copied: leaseEnd.copiedBytes - leaseStart.copiedBytes + leaseEnd.bytes.copy - leaseStart.bytes.copy,
  },
  invariantBroken,
  checks,
  inflightAfterWriterClose,
  inflightAfterClose: backend.inflight,
}));

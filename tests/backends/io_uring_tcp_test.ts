/**
 * The io_uring backend over loopback TCP, in this process: 256 MiB of seeded chunks from 1 B to
 * 4 MiB (staged, borrowed, owned and leased) to a reader that pauses now and then so the socket
 * buffers fill up; and many owned chunks in flight at once through tiny socket buffers, closed
 * while notifications are still due. Over loopback every SEND_ZC is copied after all (docs/kernel.md,
 * 'Loopback always copies' and 'SEND_ZC completion protocol'), so the stats must show the COPIED notifications, the downgrade and the re-probes.
 */
import { type IoUringSender, URING_COPIED_REASON } from "../../backends/io_uring.ts";
import { UringDispatcher } from "../../backends/uring_dispatcher.ts";
import { SO_RCVBUF, SO_SNDBUF, SOL_SOCKET } from "../../ffi/constants.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, int32, internals, type Pair, processWaiter, RunningHash, sleep, sys, withTimeout, XorShift } from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20;
const STAGE_BELOW = 16 * KiB; // the default

const leasePool = async () => {
  const shared = UringDispatcher.shared(sys, await processWaiter());
  assert(shared.ok, `io_uring is available here: ${shared.ok ? "" : shared.reason}`);
  const leases = shared.dispatcher.leases;
  assert(leases !== undefined, `the lease pool is registered: ${shared.dispatcher.leaseUnavailableReason}`);
  return leases.buffers;
};

/**
 * Reads `pair.server` to its end, hashing every byte; after every `pauseEvery` bytes it sleeps
 * `pauseMs`, and counts the pauses during which the writer made no progress while it had bytes
 * queued (the socket buffers were full).
 */
const slowReader = (pair: Pair, pauseEvery: number, pauseMs: () => number) => {
  const hash = new RunningHash();
  const outbox = internals(pair.client).outbox;
  let stalls = 0, pauses = 0;
  const done = (async () => {
    let sincePause = 0;
    for await (const bytes of pair.server.readable) {
      hash.update(bytes);
      sincePause += bytes.length;
      if (sincePause >= pauseEvery) {
        sincePause = 0;
        pauses++;
        const before = pair.client.stats().bytes.io_uring;
        await sleep(pauseMs());
        if (pair.client.stats().bytes.io_uring === before && outbox.queue.length > 0) stalls++;
      }
    }
  })();
  return { hash, done, stalls: () => stalls, pauses: () => pauses };
};

const variants = [
  { name: "staged, borrowed and owned chunks", seed: 0x10a1, leases: false },
  { name: "leases mixed in", seed: 0x10a2, leases: true },
];

for (const { name, seed, leases } of variants) {
  test(`io_uring tcp (${name}): 256 MiB from 1 B to 4 MiB to a reader that pauses arrive whole and in order; the stats show the COPIED notifications and the downgrade`, async () => {
    const TOTAL = 256 * MiB, MAX_CHUNK = 4 * MiB;
    const pool = await leasePool();
    const pair = await connectedPair("127.0.0.1", { backend: "io_uring", transferBuffers: true });
    // Socket buffers the writer fills within one of the reader's pauses.
    assertEquals(sys.setsockopt(internals(pair.client).fd, SOL_SOCKET, SO_SNDBUF, int32(256 * KiB)), 0);
    assertEquals(sys.setsockopt(internals(pair.server).fd, SOL_SOCKET, SO_RCVBUF, int32(256 * KiB)), 0);
    const reader = slowReader(pair, 8 * MiB, () => 20 + (reader.pauses() % 4) * 10);
    const writer = pair.client.writable.getWriter();
    const sizes = new XorShift(seed), content = new XorShift(seed * 31);
    const sent = new RunningHash();
    // Borrowed chunks are views of one buffer refilled as soon as their write resolves.
    const scratch = new Uint8Array(MAX_CHUNK);
    const kinds = { staged: 0, borrowed: 0, owned: 0, leased: 0 };
    const large = leases ? (["borrowed", "owned", "leased"] as const) : (["borrowed", "owned"] as const);
    let chunks = 0, registeredLeases = 0;
    while (sent.length < TOTAL) {
      const small = chunks < 3 || sizes.below(100) < 80;
      const size = small ? sizes.logUniform(1, STAGE_BELOW - 1) : sizes.logUniform(STAGE_BELOW, MAX_CHUNK);
      const kind = small ? "staged" : large[chunks % large.length];
      let chunk: Uint8Array;
      if (kind === "leased") {
        chunk = await pair.client.lease(size);
        const address = sys.addressOf(chunk);
        if (address >= pool.addr && address + size <= pool.addr + pool.size) registeredLeases++;
      } else chunk = kind === "borrowed" ? scratch.subarray(0, size) : new Uint8Array(size);
      content.fill(chunk);
      sent.update(chunk);
      kinds[kind]++;
      chunks++;
      await writer.write(chunk);
    }
    await writer.close();
    await reader.done;
    const stats = pair.client.stats();
    const backend = internals(pair.client).outbox.backend as IoUringSender;
    await pair.close();

    assertEquals(reader.hash.length, sent.length, "total length");
    assertEquals(reader.hash.value.toString(16), sent.value.toString(16), "running hash over every byte, in order");
    assert(kinds.staged >= 1000 && kinds.borrowed >= 50 && kinds.owned >= 50, `every kind used: ${JSON.stringify(kinds)}`);
    if (leases) {
      assert(kinds.leased >= 50 && registeredLeases === kinds.leased, `leases from the registered pool: ${registeredLeases} of ${JSON.stringify(kinds)}`);
    }
    assert(reader.stalls() >= 3, `the reader's pauses filled the socket buffers: ${reader.stalls()} of ${reader.pauses()} pauses`);

    // Borrowed chunks (the caller's memory) go by plain send between chains, never into the ring.
    assertEquals(stats.bytes.copy + stats.bytes.io_uring, sent.length, "every byte sent once");
    assertEquals(stats.bytes.msg_zerocopy, 0, "no MSG_ZEROCOPY");
    assert(
      stats.bytes.io_uring > sent.length / 4 && stats.bytes.copy > 0,
      `staged and owned through the ring, borrowed by send: ${JSON.stringify(stats.bytes)}`,
    );
    assert(stats.notifications > 0, "SEND_ZC notifications came");
    assert(
      stats.copiedBytes > 0 && stats.zeroCopiedBytes === 0,
      `loopback: every notification says copied: ${stats.copiedBytes} copied, ${stats.zeroCopiedBytes} not`,
    );
    assertEquals(stats.downgradeReasons, [URING_COPIED_REASON], "the downgrade and its reason");
    // reprobeBytes is 64 MiB: zero-copy is tried again (and given up again) during 256 MiB.
    assert(stats.downgrades >= 2, `downgraded, re-probed, downgraded again: ${stats.downgrades}`);
    assertEquals([backend.inflight, backend.busy], [0, false], "nothing in flight after close");
    assertEquals(pool.usedBytes, 0, "every lease is back in the pool");
  });
}

test("io_uring tcp: many owned chunks in flight at once through tiny socket buffers keep their order; close() resolves only after every notification", async () => {
  // reprobeBytes 0: after each chain sent by copy, SEND_ZC is tried again, so zero-copy and copy
  // chains alternate and notifications are outstanding all along.
  const pair = await connectedPair("127.0.0.1", { backend: "io_uring", reprobeBytes: 0, transferBuffers: true });
  const client = internals(pair.client), server = internals(pair.server);
  // Small buffers make every large request a series of short sends that the kernel retries
  // (MSG_WAITALL) as the reader drains, while the rest of the chain waits behind it.
  assertEquals(sys.setsockopt(client.fd, SOL_SOCKET, SO_SNDBUF, int32(32 * KiB)), 0);
  assertEquals(sys.setsockopt(server.fd, SOL_SOCKET, SO_RCVBUF, int32(32 * KiB)), 0);
  const backend = client.outbox.backend as IoUringSender;
  const reader = slowReader(pair, 1 * MiB, () => 3);
  const writer = pair.client.writable.getWriter();
  const sizes = new XorShift(0x0dde), content = new XorShift(0x0ddf);
  const sent = new RunningHash();
  let maxInflight = 0, busySeen = 0;
  const sampler = setInterval(() => {
    maxInflight = Math.max(maxInflight, backend.inflight);
    if (backend.busy) busySeen++;
  }, 2);
  const CHUNKS = 800;
  for (let i = 0; i < CHUNKS; i++) {
    const chunk = new Uint8Array(sizes.logUniform(STAGE_BELOW, 512 * KiB));
    content.fill(chunk);
    sent.update(chunk);
    await writer.write(chunk);
  }
  // Close at once: queued chunks, a chain in the kernel and notifications are all outstanding.
  const outstandingAtClose = { queued: client.outbox.queue.length, busy: backend.busy, inflight: backend.inflight };
  writer.releaseLock();
  await pair.client.close();
  const afterClose = { inflight: backend.inflight, busy: backend.busy, inflightBytes: backend.inflightBytes };
  clearInterval(sampler);
  await reader.done;
  const stats = pair.client.stats();
  await pair.close();

  assertEquals(reader.hash.length, sent.length, "total length");
  assertEquals(reader.hash.value.toString(16), sent.value.toString(16), "running hash over every byte, in order");
  assert(
    outstandingAtClose.queued > 0 || outstandingAtClose.busy || outstandingAtClose.inflight > 0,
    `close() had something to wait for: ${JSON.stringify(outstandingAtClose)}`,
  );
  assertEquals(afterClose, { inflight: 0, busy: false, inflightBytes: 0 }, "after close() resolved, no request or notification is left");
  assertEquals(stats.chunks, CHUNKS);
  // One io_uring_enter-submitted chain per pass: here tens of linked requests each.
  assert(stats.syscalls * 8 <= CHUNKS, `chains of many requests: ${stats.syscalls} chains for ${CHUNKS} chunks`);
  assert(maxInflight >= 2, `several SEND_ZC notifications outstanding at once: at most ${maxInflight} seen`);
  assert(busySeen > 0 && reader.stalls() >= 3, `requests waited in the kernel for room: ${reader.stalls()} stalled pauses`);
  assert(stats.notifications > 0 && stats.downgrades >= 2, `zero-copy and copy chains alternated: ${JSON.stringify(stats)}`);
  assertEquals(stats.bytes, { copy: 0, msg_zerocopy: 0, io_uring: sent.length });
});

test("io_uring tcp: when the last send completes before its notification (a slow reader holds the ACKs), writer.close() and close() still resolve, after the notification", async () => {
  const pair = await connectedPair("127.0.0.1", { backend: "io_uring", transferBuffers: true });
  const backend = internals(pair.client).outbox.backend as IoUringSender;
  const received = new RunningHash();
  const reading = (async () => {
    for await (const bytes of pair.server.readable) {
      received.update(bytes);
      await sleep(10); // slow: the last bytes are acknowledged long after they were queued
    }
  })();
  const writer = pair.client.writable.getWriter();
  const sent = new RunningHash();
  // One chain of SEND_ZC (the first chain of a connection is zero-copy): every notification comes
  // after the chain's last completion, so only a notification can wake the finishing send fiber.
  for (let i = 0; i < 8; i++) {
    const chunk = new Uint8Array(1 * MiB).fill(i + 1);
    sent.update(chunk);
    await writer.write(chunk);
  }
  await withTimeout(writer.close(), 20_000, "writer.close() with notifications outstanding");
  assertEquals([backend.inflight, backend.busy], [0, false], "closed only after every notification");
  await withTimeout(pair.client.close(), 20_000, "close()");
  await reading;
  assertEquals([received.length, received.value], [sent.length, sent.value], "every byte, in order");
  const stats = pair.client.stats();
  assertEquals(stats.notifications, 8, "one notification per SEND_ZC");
  await pair.close();
});

test("io_uring tcp: abort() with a chain waiting in the kernel drops the queue; the chain's completions then leave the emptied queue alone, and its notifications still come", async () => {
  const pair = await connectedPair("127.0.0.1", { backend: "io_uring", transferBuffers: true });
  const client = internals(pair.client);
  const backend = client.outbox.backend as IoUringSender, queue = client.outbox.queue;
  const writer = pair.client.writable.getWriter();
  // Nobody reads yet: the first chain fills the socket buffers and waits in the kernel.
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 24; i++) writes.push(writer.write(new Uint8Array(1 * MiB).fill(i)).catch(() => {}));
  const deadline = Date.now() + 10_000;
  while (!(backend.busy && pair.client.stats().bytes.io_uring > 0) && Date.now() < deadline) await sleep(5);
  assert(backend.busy, "a chain is in the kernel");
  await pair.client.abort();
  let minLength = queue.length, minBytes = queue.queuedBytes;
  const reading = (async () => {
    let n = 0;
    for await (const bytes of pair.server.readable) {
      n += bytes.length;
      minLength = Math.min(minLength, queue.length);
      minBytes = Math.min(minBytes, queue.queuedBytes);
    }
    return n;
  })();
  const received = await reading;
  while ((backend.busy || backend.inflight > 0) && Date.now() < deadline) await sleep(5);
  await Promise.all(writes);
  assertEquals([backend.busy, backend.inflight], [false, 0], "the chain ended and every notification came");
  assertEquals([queue.length, queue.queuedBytes, minLength, minBytes], [0, 0, 0, 0], "the emptied queue stayed empty");
  assert(received > 0 && received === pair.client.stats().bytes.io_uring, `what the kernel took arrived: ${received}`);
  await pair.close();
});

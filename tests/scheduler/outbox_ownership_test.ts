/**
 * With backend "msg_zerocopy", the caller cannot change bytes the kernel has yet to send: once a
 * write() has resolved, mutating or reusing what it passed changes nothing the receiver gets.
 * Leases are handed over (the caller's view is detached) and go zero-copy; the caller's own memory,
 * whole buffers included, is borrowed (sent by copy; the write resolves once the kernel has the
 * bytes, and the buffer is left attached) or staged. Over loopback TCP the kernel keeps reading a zero-copy send's pages until it delivers
 * them, so a buffer given back too early, or a borrowed view sent with MSG_ZEROCOPY, would show up
 * in the receiver's hash as the poison the test writes right after each write resolves. The
 * receiver reads slowly now and then, so sent bytes wait in the socket.
 */
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import { zcConnect } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, connectedPair, RunningHash, sleep, sys, XorShift } from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20;
const TOTAL = 64 * MiB;
const STAGE_BELOW = 16 * KiB; // the default
const POISON = 0xee;

/** Overwrites `view` with poison however it can; a detached view ignores or refuses it. */
const poison = (view: Uint8Array): void => {
  try {
    view.fill(POISON);
  } catch {
    // a detached view throws on fill() in some runtimes
  }
  for (let i = 0; i < view.length; i += 4096) view[i] = POISON;
  if (view.length > 0) view[view.length - 1] = POISON;
};

test("outbox ownership (msg_zerocopy): after write() resolves, reusing or mutating what was passed never changes what the receiver gets", async () => {
  // reprobeBytes 0: after each COPIED report zero-copy resumes with the next copy send, so owned
  // chunks keep going with MSG_ZEROCOPY throughout.
  const pair = await connectedPair("127.0.0.1", { backend: "msg_zerocopy", reprobeBytes: 0 });
  const received = new RunningHash();
  const reading = (async () => {
    let reads = 0;
    for await (const bytes of pair.server.readable) {
      received.update(bytes);
      if (++reads % 16 === 0) await sleep(1);
    }
  })();

  const writer = pair.client.writable.getWriter();
  const rng = new XorShift(0x0c0ffee);
  const content = new XorShift(0x5eed5);
  const sent = new RunningHash();
  const reused = new Uint8Array(2 * MiB);
  const sharedReused = new Uint8Array(new SharedArrayBuffer(2 * MiB));
  const counts = { leased: 0, whole: 0, partial: 0, sharedWhole: 0, sharedPartial: 0, staged: 0 };
  let ownedBytes = 0, detached = 0, sharedIntact = 0, wholeIntact = 0;
  while (sent.length < TOTAL) {
    const size = rng.logUniform(STAGE_BELOW, MiB);
    const kind = rng.below(6);
    let chunk: Uint8Array, alias: Uint8Array | undefined;
    if (kind === 0) {
      chunk = pair.client.tryLease(size) ?? await pair.client.lease(size); // handed over: detached
      alias = new Uint8Array(chunk.buffer, 0, size);
      counts.leased++;
      ownedBytes += size;
    } else if (kind === 5) {
      chunk = new Uint8Array(size); // all of its own ArrayBuffer: still borrowed
      counts.whole++;
    } else if (kind === 1) {
      const at = rng.below(reused.length - size); // part of a bigger buffer: borrowed
      chunk = reused.subarray(at, at + size);
      counts.partial++;
    } else if (kind === 2) {
      chunk = new Uint8Array(new SharedArrayBuffer(size)); // all of a SharedArrayBuffer: borrowed
      counts.sharedWhole++;
    } else if (kind === 3) {
      const at = rng.below(sharedReused.length - size);
      chunk = sharedReused.subarray(at, at + size);
      counts.sharedPartial++;
    } else {
      const small = rng.logUniform(1, STAGE_BELOW - 1); // staged: copied at write()
      const at = rng.below(reused.length - small);
      chunk = reused.subarray(at, at + small);
      counts.staged++;
    }
    content.fill(chunk);
    sent.update(chunk);
    await writer.write(chunk);
    // The write has resolved: the caller reuses everything at once.
    poison(chunk);
    if (alias !== undefined) {
      poison(alias);
      if (chunk.byteLength === 0 && alias.byteLength === 0 && chunk.buffer.byteLength === 0) detached++;
    }
    if (kind === 2 || kind === 3) {
      if (chunk.byteLength > 0 && chunk[0] === POISON) sharedIntact++;
    }
    if (kind === 5 && chunk.byteLength === size && chunk[0] === POISON) wholeIntact++;
  }
  await writer.close();
  await reading;
  const stats = pair.client.stats();

  assertEquals(received.length, sent.length, "total length");
  assertEquals(received.value.toString(16), sent.value.toString(16), "the receiver got the bytes as written, none of the poison");
  for (const [kind, n] of Object.entries(counts)) assert(n >= 20, `enough ${kind} chunks: ${JSON.stringify(counts)}`);
  assertEquals(detached, counts.leased, "every lease, and every other view of its buffer, was detached by its write");
  assertEquals(wholeIntact, counts.whole, "a whole-buffer chunk of the caller's stays the caller's (not detached)");
  assertEquals(sharedIntact, counts.sharedWhole + counts.sharedPartial, "SharedArrayBuffer views stay the caller's (not detached)");
  // Leases went zero-copy (reported COPIED on loopback); nothing borrowed or staged did.
  assert(stats.bytes.msg_zerocopy > 0, "zero-copy sends happened");
  assert(stats.bytes.msg_zerocopy <= ownedBytes, `only owned bytes went zero-copy: ${stats.bytes.msg_zerocopy} <= ${ownedBytes}`);
  assertEquals(stats.copiedBytes + stats.zeroCopiedBytes, stats.bytes.msg_zerocopy, "every zero-copy send was notified");
  assertEquals(stats.bytes.copy + stats.bytes.msg_zerocopy, sent.length);
  await pair.close();
});

test("outbox: leases whose writes all complete at once are sent while the writer goes on, not once maxOwnedBytes have queued", async () => {
  // A UDP peer that never reads: datagrams it has no room for are dropped, so sends never block.
  const peer = boundSocket(SOCK_DGRAM);
  try {
    for (const backend of ["msg_zerocopy", "io_uring"] as const) {
      const conn = await zcConnect({ hostname: "127.0.0.1", port: peer.port, transport: "udp", backend });
      const writer = conn.writable.getWriter();
      const chunks = 64, size = 60 * KiB;
      // Each write resolves at once, so this loop never lets a macrotask (the send fiber's wake) run.
      for (let i = 0; i < chunks; i++) await writer.write((conn.tryLease(size) ?? await conn.lease(size)).fill(i));
      const { bytes } = conn.stats();
      const sent = bytes.copy + bytes.msg_zerocopy + bytes.io_uring;
      assert(sent >= 3 * MiB, `${backend}: ${sent} of ${chunks * size} bytes had gone to the kernel when the loop ended`);
      await writer.close();
      const after = conn.stats().bytes;
      assertEquals(after.copy + after.msg_zerocopy + after.io_uring, chunks * size, `${backend}: every byte went`);
      await conn.close();
    }
  } finally {
    sys.close(peer.fd);
  }
});

test("outbox: at maxOwnedBytes, write() reads the notifications that have come instead of waiting for the send fiber", async () => {
  // Over loopback the kernel copies a MSG_ZEROCOPY datagram as it delivers (or drops) it, and
  // queues its notification within the send: the limit is free again as soon as someone reads it.
  const peer = boundSocket(SOCK_DGRAM);
  try {
    // reprobeBytes 0: after each COPIED report the next send tries zero-copy again, so notifications
    // keep coming.
    const conn = await zcConnect({
      hostname: "127.0.0.1",
      port: peer.port,
      transport: "udp",
      backend: "msg_zerocopy",
      maxOwnedBytes: 256 * KiB,
      reprobeBytes: 0,
    });
    const writer = conn.writable.getWriter();
    const chunks = 64, size = 60 * KiB;
    // Each turn of the event loop while the loop runs is a write that waited for the fiber.
    let turns = 0, writing = true;
    const count = () => {
      turns++;
      if (writing) setImmediate(count);
    };
    setImmediate(count);
    for (let i = 0; i < chunks; i++) await writer.write((conn.tryLease(size) ?? await conn.lease(size)).fill(i));
    writing = false;
    const waits = turns;
    await writer.close();
    const stats = conn.stats();
    assertEquals(stats.bytes.copy + stats.bytes.msg_zerocopy, chunks * size, "every byte went");
    assert(stats.bytes.msg_zerocopy > 16 * size && stats.notifications >= 4, `zero-copy sends kept being notified: ${JSON.stringify(stats)}`);
    // Without reading them in write(), the 3.75 MiB pass the 256 KiB limit about 14 times, each a wait.
    assert(waits <= 2, `${waits} turns of the event loop while 64 writes went over a 256 KiB limit`);
    await conn.close();
  } finally {
    sys.close(peer.fd);
  }
});

/**
 * Leases over real loopback TCP, with every backend: writing one hands it over (its view is
 * detached), writing it again, a view of it, or writing it on another connection rejects with
 * LEASE_MISUSE, and the peer gets exactly the bytes of the accepted writes. Lease memory is bounded,
 * and a closed connection's leases reject with CLOSED.
 */
import { BACKEND_NAMES, ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { concat, connectedPair, readAll, stateAfter, withTimeout } from "../helpers.ts";

const KiB = 1024;
const BACKENDS = ["auto", ...BACKEND_NAMES] as const;

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  const e = await rejection(promise);
  assert(e instanceof ZcioError, `a ZcioError, got ${e}`);
  return e.code;
};

for (const backend of BACKENDS) {
  test(`lease_pool (${backend}): a lease written twice, or a view of it after, rejects; the peer gets the first write only`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend });
    const received = readAll(pair.server.readable);
    const writer = pair.client.writable.getWriter();
    const expected: Uint8Array[] = [];
    for (const size of [4 * KiB, 64 * KiB, 512 * KiB]) {
      const lease = pair.client.tryLease(size) ?? await pair.client.lease(size);
      assertEquals(lease.byteLength, size, "a lease is the size asked for");
      lease.fill(size & 0xff ^ 0x5a);
      const view = lease.subarray(0, 100);
      expected.push(lease.slice());
      await writer.write(lease);
      assertEquals(lease.byteLength, 0, `${size}: the written lease's view is detached`);
      assertEquals(view.byteLength, 0, `${size}: every view of it is detached too`);
      let error = await rejection(writer.write(lease));
      assert(error instanceof ZcioError && error.code === "LEASE_MISUSE", `${size}: writing it again: ${error}`);
      assert(/written already/.test(error.message), `the message says why: ${error.message}`);
      error = await rejection(writer.write(view));
      assert(error instanceof ZcioError && error.code === "LEASE_MISUSE", `${size}: a view of it after: ${error}`);
    }
    // A lease is handed over from its first byte; part of it from the middle is refused.
    const lease = pair.client.tryLease(64 * KiB) ?? await pair.client.lease(64 * KiB);
    assertEquals(await codeOf(writer.write(lease.subarray(1000))), "LEASE_MISUSE", "a view from the middle");
    lease.fill(7);
    expected.push(lease.slice(0, 20 * KiB));
    await writer.write(lease.subarray(0, 20 * KiB));
    assertEquals(lease.byteLength, 0, "a lease written in part is handed over whole");
    await writer.close();
    const got = await received, sent = concat(expected);
    assertEquals(got.length, sent.length, "the peer got the accepted writes' bytes, no more");
    assert(got.every((b, i) => b === sent[i]), "and exactly those bytes");
    await pair.close();
  });

  test(`lease_pool (${backend}): a lease written on another connection rejects and stays its own connection's`, async () => {
    const a = await connectedPair("127.0.0.1", { backend });
    const b = await connectedPair("127.0.0.1", { backend });
    const receivedA = readAll(a.server.readable), receivedB = readAll(b.server.readable);
    const lease = a.client.tryLease(64 * KiB) ?? await a.client.lease(64 * KiB);
    lease.fill(0x42);
    const writerA = a.client.writable.getWriter(), writerB = b.client.writable.getWriter();
    assertEquals(await codeOf(writerB.write(lease)), "LEASE_MISUSE", "written on another connection");
    assertEquals(lease.byteLength, 64 * KiB, "refused, it is still the caller's");
    await writerA.write(lease);
    await writerB.close();
    await writerA.close();
    assertEquals((await receivedB).length, 0, "nothing of it reached the other connection's peer");
    const got = await receivedA;
    assertEquals(got.length, 64 * KiB);
    assert(got.every((x) => x === 0x42), "its own connection sent it");
    await a.close();
    await b.close();
  });

  test(`lease_pool (${backend}): lease() and tryLease() on a closed connection reject with CLOSED`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend });
    await pair.client.close();
    assertEquals(await codeOf(pair.client.lease(64 * KiB)), "CLOSED");
    let thrown: unknown;
    try {
      pair.client.tryLease(64 * KiB);
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof ZcioError && thrown.code === "CLOSED", `tryLease throws CLOSED: ${thrown}`);
    await pair.close();
  });
}

for (const backend of ["copy", "msg_zerocopy"] as const) {
  test(`lease_pool (${backend}): plain lease memory is bounded by maxLeaseBytes; lease() waits for room and rejects on close`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend, maxLeaseBytes: 1 << 20 });
    const received = readAll(pair.server.readable);
    const client = pair.client;
    assertEquals(await codeOf(client.lease(2 << 20)), "INVALID_OPTION", "larger than the bound");
    const first = client.tryLease(512 * KiB), second = client.tryLease(512 * KiB);
    assert(first !== undefined && second !== undefined, "two halves fit");
    assertEquals(client.tryLease(512 * KiB), undefined, "a third does not");
    const waiting = client.lease(512 * KiB);
    assertEquals(await stateAfter(waiting, 50), "pending", "lease() waits while the pool is full");
    const writer = client.writable.getWriter();
    await writer.write(first.fill(1));
    const third = await withTimeout(waiting, 10_000, "the waiting lease once the first was sent");
    assertEquals(third.byteLength, 512 * KiB);
    const closing = client.lease(512 * KiB);
    assertEquals(await stateAfter(closing, 50), "pending", "full again");
    await writer.write(second.fill(2));
    await writer.write(third.fill(3));
    const fourth = await withTimeout(closing, 10_000, "the waiting lease once the second was sent");
    const fifth = client.tryLease(512 * KiB) ?? await withTimeout(client.lease(512 * KiB), 10_000, "room for a fifth");
    const pending = client.lease(512 * KiB);
    assertEquals(await stateAfter(pending, 50), "pending", "full with two unwritten leases");
    await writer.close();
    await client.close();
    assertEquals(await codeOf(pending), "CLOSED", "a lease still waiting when the connection closed");
    assertEquals(fourth.byteLength + fifth.byteLength, 1 << 20, "unwritten leases stay readable");
    assertEquals((await received).length, 3 * 512 * KiB);
    await pair.close();
  });
}

test("lease_pool (io_uring): a lease waiting on the exhausted registered pool rejects with CLOSED when its connection closes", async () => {
  const holder = await connectedPair("127.0.0.1", { backend: "io_uring" });
  const waiter = await connectedPair("127.0.0.1", { backend: "io_uring" });
  const received = readAll(holder.server.readable);
  // The registered region is the thread's ring's, shared by both connections: one takes it all.
  const held: Uint8Array[] = [];
  for (let lease; (lease = holder.client.tryLease(256 * KiB)) !== undefined;) held.push(lease);
  assert(held.length > 0, "the registered pool had room");
  const waiting = waiter.client.lease(256 * KiB);
  assertEquals(await stateAfter(waiting, 50), "pending", "lease() waits on the exhausted pool");
  await waiter.client.close();
  assertEquals(await codeOf(waiting), "CLOSED", "the waiting lease rejects when its connection closes");
  // Give the region back: each lease goes (one byte of it), and returns once the kernel is done.
  const writer = holder.client.writable.getWriter();
  for (const lease of held) await writer.write(lease.subarray(0, 1));
  await writer.close();
  assertEquals((await received).length, held.length);
  await holder.close();
  await waiter.close();
});

// msg_zerocopy over loopback: the kernel's first notification says it copied, and the socket sends
// the leases after it by copy.
for (const backend of ["copy", "msg_zerocopy"] as const) {
  test(`lease_pool (${backend}): plain lease memory sent by copy is leased again once the kernel has it, and every write arrives as written`, async () => {
    // At most 1 MiB of leases queued or in flight: writes wait for the kernel, as a long stream's do.
    const pair = await connectedPair("127.0.0.1", { backend, maxOwnedBytes: 1 << 20 });
    const received = readAll(pair.server.readable);
    const writer = pair.client.writable.getWriter();
    const size = 64 * KiB, writes = 128;
    let reused = 0;
    for (let i = 0; i < writes; i++) {
      const lease = pair.client.tryLease(size) ?? await pair.client.lease(size);
      // A new ArrayBuffer is zeroed; reused memory still holds an earlier write's bytes (never 0).
      if (lease[0] !== 0) reused++;
      lease.fill(i % 255 + 1);
      await writer.write(lease);
    }
    await writer.close();
    if (backend === "msg_zerocopy") assert(pair.client.stats().downgrades > 0, "the kernel's copies downgraded the socket");
    assert(reused >= writes / 2, `most leases reused released memory: ${reused} of ${writes}`);
    const got = await withTimeout(received, 10_000, "the peer's bytes");
    assertEquals(got.length, size * writes, "bytes");
    assert(got.every((b, i) => b === Math.floor(i / size) % 255 + 1), "each write's contents");
    await pair.client.close();
    await pair.server.close();
  });
}

/**
 * OwnedBuffers: one record per buffer zcio owns, ended (its view given back) once it has left the
 * queue and every send the kernel may read it through is over, in whichever order those come. Then
 * over loopback TCP with each zero-copy backend: leases large enough to go in several sends, some
 * zero-copy and some by copy once the kernel reports that loopback copies, all come back.
 */
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, connectedPair, hashOf, internals, readAll, withTimeout } from "../helpers.ts";

const KiB = 1024;

test("owned_buffers: a record ends once it has left the queue and its last hold is over, in either order", () => {
  const released: Uint8Array[] = [];
  const owned = new OwnedBuffers((view) => released.push(view));
  const a = new Uint8Array(100), b = new Uint8Array(200), c = new Uint8Array(300);
  const ra = owned.add(a), rb = owned.add(b), rc = owned.add(c);
  assertEquals(owned.bytes, 600, "every buffer counts from the write that handed it over");

  // a: two zero-copy sends read it, then it leaves the queue, then both are notified.
  owned.hold(ra);
  owned.hold(ra);
  owned.sent(ra);
  owned.unhold(ra);
  assertEquals(released.length, 0, "one send may still read it");
  owned.unhold(ra);
  assert(released[0] === a, "released at its last notification");

  // b: notified while part of it is still queued (a send of its first part), then the rest leaves by copy.
  owned.hold(rb);
  owned.unhold(rb);
  assertEquals(released.length, 1, "still queued");
  owned.sent(rb);
  assert(released[1] === b, "released when it left the queue");

  // c: sent by copy only: released as it leaves the queue.
  owned.sent(rc);
  assert(released[2] === c);
  assertEquals(owned.bytes, 0);
  assertEquals(owned.add(new Uint8Array(1)), rc, "an ended record's number is taken again");
});

test("owned_buffers: the table grows past its first arrays and keeps every record", () => {
  const released: Uint8Array[] = [];
  const owned = new OwnedBuffers((view) => released.push(view));
  const views = Array.from({ length: 100 }, (_, i) => new Uint8Array(i + 1));
  const records = views.map((v) => owned.add(v));
  assertEquals(new Set(records).size, 100, "100 records alive at once");
  records.forEach((r, i) => assert(owned.view(r) === views[i], `record ${r} keeps its view`));
  for (const r of records) owned.hold(r);
  for (const r of records) owned.sent(r);
  for (const r of [...records].reverse()) owned.unhold(r);
  assertEquals(released.length, 100);
  assertEquals(owned.bytes, 0);
});

for (const backend of ["msg_zerocopy", "io_uring"] as const) {
  test(`owned_buffers (${backend}): 1 MiB leases over loopback, partly zero-copy and partly copied after the kernel reports copies, all come back and arrive whole`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend });
    const received = readAll(pair.server.readable);
    const client = internals(pair.client);
    const writer = pair.client.writable.getWriter();
    const written: Uint8Array[] = [];
    for (let i = 0; i < 16; i++) {
      const lease = pair.client.tryLease(1024 * KiB) ?? await pair.client.lease(1024 * KiB);
      lease.fill(i + 1);
      written.push(lease.slice());
      await writer.write(lease);
    }
    await withTimeout(writer.close(), 20_000, "close, after every notification");
    const stats = pair.client.stats();
    assert(stats.copiedBytes > 0, `some went in zero-copy sends (which loopback copies): ${JSON.stringify(stats)}`);
    assert(stats.copiedBecause.downgraded > 0, `some went by copy once loopback's copies were reported: ${JSON.stringify(stats.copiedBecause)}`);
    assertEquals(client.outbox.queue.owned.bytes, 0, "every lease's record ended");
    assertEquals(hashOf(await received), hashOf(concat(written)), "the peer got every lease whole");
    await pair.close();
  });
}

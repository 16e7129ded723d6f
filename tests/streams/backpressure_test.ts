/**
 * Backpressure end to end: when the reader stops, the socket buffers fill, a write stays pending,
 * nothing more is accepted, and memory stays bounded; when it reads again, every byte arrives.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, internals, rssBytes, RunningHash, sleep, stalled, stateAfter, XorShift } from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20;

for (
  const { name, chunkSize, planned, stagingBytes } of [
    { name: "borrowed 256 KiB chunks", chunkSize: 256 * KiB, planned: 128 * MiB, stagingBytes: 256 * KiB },
    { name: "staged 1 KiB chunks", chunkSize: 1 * KiB, planned: 32 * MiB, stagingBytes: 256 * KiB },
  ]
) {
  test(`backpressure (${name}): a stopped reader makes a write wait, memory stays bounded, and resuming delivers all`, async () => {
    const pair = await connectedPair("127.0.0.1", { stagingBytes, backend: "copy" });
    const client = pair.client;
    const writer = client.writable.getWriter();
    const content = new XorShift(chunkSize);
    const sent = new RunningHash();
    // One buffer, refilled after each write resolves: a write that resolved early would corrupt the stream.
    const buffer = new Uint8Array(chunkSize);
    const chunks = planned / chunkSize;
    let resolved = 0;
    let current: Promise<void> = Promise.resolve();
    const rssBefore = rssBytes();
    const producing = (async () => {
      for (let i = 0; i < chunks; i++) {
        content.fill(buffer);
        sent.update(buffer);
        current = writer.write(buffer);
        await current;
        resolved++;
      }
      await writer.close();
    })();

    // Nobody reads: the kernel's buffers fill and writes stop completing.
    const outbox = internals(client).outbox;
    await stalled(() => resolved, () => outbox.queue.queuedBytes > 0 && outbox.hasWork);
    assert(resolved < chunks, `writes stopped before the end: ${resolved} of ${chunks}`);
    const accepted = client.stats().bytes.copy;
    const queued = internals(client).outbox.queue.queuedBytes;
    assertEquals(await stateAfter(current, 300), "pending", "the write in progress stays pending");
    assert(writer.desiredSize !== null && writer.desiredSize <= 0, `desiredSize ${writer.desiredSize} <= 0`);
    const resolvedWhileStopped = resolved;
    await sleep(300);
    assertEquals(resolved, resolvedWhileStopped, "no write completes while nobody reads");
    assertEquals(client.stats().bytes.copy, accepted, "the kernel takes nothing more");
    assert(client.stats().waits >= 1, "the send fiber waited for POLLOUT");
    // What zcio holds: at most the staging ring, or the one borrowed chunk in progress.
    assert(queued > 0 && queued <= Math.max(stagingBytes, chunkSize), `outbox holds ${queued} bytes`);
    assertEquals(internals(client).outbox.queue.queuedBytes, queued, "and it does not grow");
    // Every byte of every completed write is in the kernel or in the outbox, and so is the pending
    // write when it is borrowed (a staged one waits outside the outbox for staging room).
    const written = resolved * chunkSize + (chunkSize >= 16 * KiB ? chunkSize : 0);
    assertEquals(accepted + queued, written, "bytes in the kernel + bytes queued");
    assert(accepted < 64 * MiB, `the kernel holds a bounded amount: ${accepted} bytes`);
    const rssGrowth = rssBytes() - rssBefore;
    assert(rssGrowth < 64 * MiB, `RSS grew ${rssGrowth >> 20} MiB while the writer was blocked`);

    // Read again: every byte arrives, whole and in order, and the pending writes complete.
    const received = new RunningHash();
    for await (const bytes of pair.server.readable) received.update(bytes);
    await producing;
    assertEquals(resolved, chunks);
    assertEquals(received.length, planned, "total length");
    assertEquals(received.value.toString(16), sent.value.toString(16), "hash of every byte");
    assertEquals(client.stats().bytes.copy, planned);
    await pair.close();
  });
}

test("backpressure: writer.ready waits while the socket is full and the queue holds one chunk", async () => {
  const pair = await connectedPair();
  const writer = pair.client.writable.getWriter();
  const sent = new RunningHash();
  const content = new XorShift(99);
  let writes = 0;
  const pending: Promise<void>[] = [];
  // The WHATWG producer pattern: wait for ready, write without awaiting the write.
  const producing = (async () => {
    for (let i = 0; i < 256; i++) {
      await writer.ready;
      const chunk = new Uint8Array(512 * KiB);
      content.fill(chunk);
      sent.update(chunk);
      pending.push(writer.write(chunk));
      writes++;
    }
    await Promise.all(pending);
    await writer.close();
  })();
  const outbox = internals(pair.client).outbox;
  await stalled(() => writes, () => outbox.queue.queuedBytes > 0);
  assert(writes < 256, `the producer stopped at ${writes} writes`);
  assertEquals(await stateAfter(writer.ready, 300), "pending", "ready stays pending while the socket is full");
  assert(writer.desiredSize! <= 0, `desiredSize ${writer.desiredSize}`);
  const received = new RunningHash();
  for await (const bytes of pair.server.readable) received.update(bytes);
  await producing;
  assertEquals(received.length, 256 * 512 * KiB);
  assertEquals(received.value, sent.value);
  await pair.close();
});

/**
 * The Outbox between the sink and the send fiber, driven by hand over a real loopback TCP pair with
 * the real copy backend: when writes complete, in which order bytes leave, and how failures end it.
 */
import { INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "../../backends/backend.ts";
import { STREAM_SENDER_CONTROL_BYTES, StreamSender } from "../../backends/stream_sender.ts";
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { SendQueue } from "../../backends/send_queue.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { Slab } from "../../ffi/slab.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { LeasePool } from "../../scheduler/lease_pool.ts";
import { Outbox } from "../../scheduler/outbox.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { concat, detach, drainFd, hashOf, randomBytes, rawTcpPair, sleep, stateAfter, sys } from "../helpers.ts";

const MiB = 1 << 20;

interface Rig {
  outbox: Outbox;
  stats: SendStats;
  backend: StreamSender;
  /** Everything the peer has received so far. */
  received: Uint8Array[];
  /** Reads what the peer has now. */
  drain(): number;
  /** Submits and drains until the queue is empty. */
  flush(): Promise<void>;
  close(): void;
}

const rig = (stagingBytes = 64 * 1024, stageBelow = 16 * 1024): Rig => {
  const { a, b } = rawTcpPair();
  const slab = Slab.map(sys, STREAM_SENDER_CONTROL_BYTES + stagingBytes);
  const backend = new StreamSender(sys, a, slab, 0, undefined);
  const stats = new SendStats();
  const queue = new SendQueue(
    slab.bytes.subarray(STREAM_SENDER_CONTROL_BYTES, STREAM_SENDER_CONTROL_BYTES + stagingBytes),
    slab.addr + STREAM_SENDER_CONTROL_BYTES,
    true,
    (view) => outbox.borrowedDone(view),
    new OwnedBuffers((view) => outbox.leases.giveBack(view)),
  );
  const outbox: Outbox = new Outbox(
    queue,
    stats,
    backend,
    stageBelow,
    false,
    false,
    16 * MiB,
    new LeasePool(sys, undefined, 64 * MiB, () => queue.owned.bytes),
  );
  const received: Uint8Array[] = [];
  const buffer = new Uint8Array(4 * MiB);
  const drain = () => {
    const got = drainFd(b, buffer);
    received.push(...got);
    return got.reduce((n, c) => n + c.length, 0);
  };
  return {
    outbox,
    stats,
    backend,
    received,
    drain,
    flush: async () => {
      while (outbox.hasWork) {
        const r = backend.submit(queue, stats);
        outbox.admitWaiting();
        assert(r === SUBMITTED || r === WOULD_BLOCK, `submit result ${r}`);
        if (drain() === 0 && r === WOULD_BLOCK) await sleep(1);
      }
      drain();
    },
    close: () => {
      sys.close(a);
      sys.close(b);
      slab.unmap();
    },
  };
};

test("outbox: a staged write completes at once; a borrowed one only when the kernel has taken its last byte", async () => {
  const r = rig();
  const small = randomBytes(100, 1), big = randomBytes(16 * MiB, 2);
  assertEquals(r.outbox.write(small), undefined, "a staged write is complete when write() returns");
  small.fill(0); // and the caller may reuse it at once
  const p = r.outbox.write(big);
  assert(p instanceof Promise, "a borrowed write returns a promise");
  let copiedAtResolve = -1;
  p.then(() => (copiedAtResolve = r.stats.bytes.copy));
  assertEquals(await stateAfter(p, 10), "pending", "nothing was sent yet");

  // Nobody reads: the kernel takes only part of the big chunk.
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), WOULD_BLOCK);
  const firstPass = r.stats.bytes.copy;
  assert(firstPass > 100 && firstPass < 100 + big.length, `the kernel took part: ${firstPass}`);
  assertEquals(await stateAfter(p, 10), "pending", "a partly sent borrowed write is not complete");

  // Drain and resubmit until the kernel has taken it all; the write completes only then.
  let passes = 0;
  for (;;) {
    const before = r.stats.bytes.copy;
    const result = r.backend.submit(r.outbox.queue, r.stats);
    passes++;
    if (result === SUBMITTED) break;
    assertEquals(result, WOULD_BLOCK);
    if (r.stats.bytes.copy < 100 + big.length) {
      await Promise.resolve();
      assert(copiedAtResolve < 0, `resolved at ${copiedAtResolve} after ${before} bytes: before the kernel had all of it`);
    }
    if (r.drain() === 0) await sleep(1);
  }
  await p;
  assertEquals(copiedAtResolve, 100 + big.length, "resolved when the kernel had every byte");
  assert(passes > 1, "it took several passes");
  await r.flush();
  const got = concat(r.received);
  assertEquals(got.length, 100 + big.length);
  assertEquals(hashOf(got.subarray(0, 100)), hashOf(randomBytes(100, 1)), "staged bytes first, as they were at write()");
  assertEquals(hashOf(got.subarray(100)), hashOf(big), "then the borrowed chunk");
  r.close();
});

test("outbox: when staging is full a small write waits, and is staged after what was queued", async () => {
  const r = rig(4096, 1024);
  const chunks = Array.from({ length: 6 }, (_, i) => randomBytes(1000, 10 + i));
  for (let i = 0; i < 4; i++) assertEquals(r.outbox.write(chunks[i]), undefined, `chunk ${i} staged`);
  const waiting = r.outbox.write(chunks[4]);
  assert(waiting instanceof Promise, "no room: the fifth write waits");
  assertEquals(r.outbox.queue.queuedBytes, 4000, "the waiting chunk is not in the queue");
  r.outbox.admitWaiting();
  assertEquals(await stateAfter(waiting, 10), "pending", "still no room before a pass");
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), SUBMITTED);
  r.outbox.admitWaiting();
  assertEquals(await stateAfter(waiting, 10), "fulfilled", "staged once the pass freed room");
  chunks[4].fill(0); // copied by then
  assertEquals(r.outbox.write(chunks[5]), undefined);
  await r.flush();
  const got = concat(r.received);
  const expected = concat(Array.from({ length: 6 }, (_, i) => randomBytes(1000, 10 + i)));
  assertEquals(got.length, 6000);
  assertEquals(hashOf(got), hashOf(expected), "all six, in write order");
  assertEquals(r.stats.chunks, 6);
  r.close();
});

test("outbox: a parked fiber is woken by a write, and a borrowed chunk on an idle connection goes at once", async () => {
  const r = rig();
  let wakes = 0;
  r.outbox.park(() => wakes++);
  assertEquals(r.outbox.write(randomBytes(10, 1)), undefined);
  assertEquals(wakes, 0, "the wake is deferred so that later writes join the batch");
  await sleep(5);
  assertEquals(wakes, 1);
  await r.flush();
  r.outbox.park(() => wakes++);
  const submissions = r.stats.submissions;
  const big = randomBytes(64 * 1024, 2);
  assertEquals(r.outbox.write(big), undefined, "sent within write(): nothing is left to wait for");
  assertEquals(r.stats.bytes.copy, 10 + big.length, "the kernel already has it");
  assertEquals(r.stats.submissions, submissions + 1);
  assertEquals(r.outbox.queue.length, 0);
  await r.flush();
  assertEquals(hashOf(concat(r.received).subarray(10)), hashOf(big));
  // A parked fiber is woken by close() too, so it can finish.
  let woke = false;
  r.outbox.park(() => (woke = true));
  r.outbox.close();
  await sleep(5);
  assert(woke, "close() wakes the parked fiber");
  r.close();
});

test("outbox: a borrowed chunk detached before any of it left fails alone with INVALID_CHUNK", async () => {
  const r = rig();
  const a = randomBytes(500, 1), b = randomBytes(100000, 2), c = randomBytes(700, 3);
  r.outbox.write(a);
  const p = r.outbox.write(b)!;
  detach(b.buffer);
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), INVALID_HEAD, "the staged bytes went, then the head is invalid");
  assertEquals(r.stats.bytes.copy, 500);
  assertEquals(r.outbox.rejectHead(), undefined, "nothing of it was sent: the stream goes on");
  const e = await rejection(p);
  assert(e instanceof ZcioError && e.code === "INVALID_CHUNK", `INVALID_CHUNK: ${e}`);
  assertEquals(r.outbox.error, undefined, "the outbox has not failed");
  assertEquals(r.outbox.write(c), undefined);
  await r.flush();
  const got = concat(r.received);
  assertEquals(got.length, 1200, "the detached chunk's bytes never left");
  assertEquals(hashOf(got), hashOf(concat([a, c])));
  r.close();
});

test("outbox: a borrowed chunk detached after part of it left ends the stream", async () => {
  const r = rig();
  const big = randomBytes(16 * MiB, 4);
  const p = r.outbox.write(big)!;
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), WOULD_BLOCK);
  assert(r.outbox.queue.headStarted, "part of it left");
  detach(big.buffer);
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), INVALID_HEAD);
  const error = r.outbox.rejectHead();
  assert(error instanceof ZcioError && error.code === "INVALID_CHUNK", "the error that must end the stream");
  r.outbox.fail(error);
  assert((await rejection(p)) === error, "the write fails with it");
  assert((await rejection(r.outbox.write(new Uint8Array(5))!)) === error, "and so does every later write");
  assertEquals(r.outbox.queue.queuedBytes, 0, "the queue was dropped");
  r.close();
});

test("outbox: fail() rejects the waiting write and later ones; close() makes later writes CLOSED", async () => {
  const r = rig();
  const p = r.outbox.write(randomBytes(16 * MiB, 5))!;
  assertEquals(r.backend.submit(r.outbox.queue, r.stats), WOULD_BLOCK);
  let wakes = 0;
  r.outbox.park(() => wakes++);
  const error = new ZcioError({ code: "ECONNRESET", message: "test" });
  r.outbox.fail(error);
  assert((await rejection(p)) === error, "the pending write fails with the error");
  assert((await rejection(r.outbox.write(new Uint8Array(1))!)) === error, "a later small write too");
  assert(!r.outbox.hasWork, "nothing is left to send");
  r.outbox.fail(new ZcioError({ code: "EPIPE", message: "second" }));
  assert(r.outbox.error === error, "the first failure is the one kept");
  await sleep(5);
  assertEquals(wakes, 1, "fail() woke the parked fiber so that it can stop");

  const r2 = rig();
  r2.outbox.write(new Uint8Array([1, 2, 3]));
  r2.outbox.close();
  assert(r2.outbox.closing && r2.outbox.hasWork, "closing, with bytes still to send");
  const e = await rejection(r2.outbox.write(new Uint8Array(1))!);
  assert(e instanceof ZcioError && e.code === "CLOSED", `CLOSED: ${e}`);
  await r2.flush();
  assertEquals(Array.from(concat(r2.received)), [1, 2, 3], "what was accepted before close still goes");
  r.close();
  r2.close();
});

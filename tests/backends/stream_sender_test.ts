/** The TCP copy backend over a real loopback pair: one sendmsg gathers many segments. */
import { SUBMITTED, WOULD_BLOCK } from "../../backends/backend.ts";
import { STREAM_SENDER_CONTROL_BYTES, StreamSender } from "../../backends/stream_sender.ts";
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { SendQueue } from "../../backends/send_queue.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { Slab } from "../../ffi/slab.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, drainFd, hashOf, randomBytes, rawTcpPair, sleep, sys } from "../helpers.ts";

const setup = (stagingBytes = 1 << 20) => {
  const { a, b } = rawTcpPair();
  const slab = Slab.map(sys, STREAM_SENDER_CONTROL_BYTES + stagingBytes);
  const done: Uint8Array[] = [];
  const queue = new SendQueue(
    slab.bytes.subarray(STREAM_SENDER_CONTROL_BYTES),
    slab.addr + STREAM_SENDER_CONTROL_BYTES,
    true,
    (v) => done.push(v),
    new OwnedBuffers(() => {}),
  );
  return {
    queue,
    done,
    stats: new SendStats(),
    backend: new StreamSender(sys, a, slab, 0, undefined),
    b,
    close: () => (sys.close(a), sys.close(b), slab.unmap()),
  };
};

test("stream_sender: staged runs and borrowed views leave in one sendmsg, in order", () => {
  const s = setup();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const part = randomBytes(i % 2 === 0 ? 1 + i : 16384 + i, i);
    parts.push(part);
    if (i % 2 === 0) s.queue.stage(part);
    else s.queue.borrow(part);
  }
  assertEquals(s.queue.length, 200, "staged chunks between borrowed views stay separate segments");
  const total = parts.reduce((n, p) => n + p.length, 0);
  assertEquals(s.backend.submit(s.queue, s.stats), SUBMITTED);
  assertEquals(s.stats.syscalls, 1, "one sendmsg for 200 segments");
  assertEquals(s.stats.bytes.copy, total);
  assertEquals(s.done.length, 100, "every borrowed view reported done");
  const got = concat(drainFd(s.b));
  assertEquals(got.length, total);
  assertEquals(hashOf(got), hashOf(concat(parts)));
  s.close();
});

test("stream_sender: more than IOV_MAX segments take one sendmsg per 1024", () => {
  const s = setup();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 2500; i++) {
    const part = randomBytes(1 + (i % 7), i);
    parts.push(part);
    if (i % 2 === 0) s.queue.stage(part);
    else s.queue.borrow(part);
  }
  assertEquals(s.backend.submit(s.queue, s.stats), SUBMITTED);
  assertEquals(s.stats.syscalls, 3, "1024 + 1024 + 452 segments");
  const got = concat(drainFd(s.b));
  assertEquals(hashOf(got), hashOf(concat(parts)));
  s.close();
});

test("stream_sender: a full socket is WOULD_BLOCK with exactly the sent bytes consumed", async () => {
  const s = setup();
  const big = randomBytes(24 << 20, 1);
  s.queue.borrow(big);
  assertEquals(s.backend.submit(s.queue, s.stats), WOULD_BLOCK);
  const sent = s.stats.bytes.copy;
  assert(sent > 0 && sent < big.length, `partial: ${sent}`);
  assertEquals(s.queue.remaining(0), big.length - sent, "consumed exactly what the kernel took");
  assertEquals(s.done.length, 0);
  const got: Uint8Array[] = [];
  while (s.queue.length > 0) {
    const r = s.backend.submit(s.queue, s.stats);
    const drained = drainFd(s.b);
    got.push(...drained);
    if (r === WOULD_BLOCK && drained.length === 0) await sleep(1);
  }
  got.push(...drainFd(s.b));
  assertEquals(s.done.length, 1);
  const all = concat(got);
  assertEquals(all.length, big.length);
  assertEquals(hashOf(all), hashOf(big));
  assertEquals(s.stats.bytes.copy, big.length);
  s.close();
});

/** SendQueue over real mmap'd staging memory (a Slab): staging, merging, wrap-around, borrowing, consuming, file segments. */
import { FileSend } from "../../backends/file_send.ts";
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { BORROWED, FILE, SendQueue, STAGED } from "../../backends/send_queue.ts";
import { Slab } from "../../ffi/slab.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { detach, randomBytes, RunningHash, sys } from "../helpers.ts";

interface Fixture {
  slab: Slab;
  queue: SendQueue;
  done: Uint8Array[];
  /** The bytes the kernel would read for segment `i` (staged ones from the slab, at their address). */
  bytesOf(i: number): Uint8Array;
}

const fixture = (capacity: number, merge = true): Fixture => {
  const slab = Slab.map(sys, capacity);
  const done: Uint8Array[] = [];
  const queue = new SendQueue(slab.bytes.subarray(0, capacity), slab.addr, merge, (v) => done.push(v), new OwnedBuffers(() => {}));
  return {
    slab,
    queue,
    done,
    bytesOf: (i) => {
      const n = queue.remaining(i);
      if (queue.kind(i) === BORROWED) {
        const v = queue.view(i)!;
        return v.subarray(v.length - n);
      }
      const at = queue.address(i, () => -1) - slab.addr;
      return slab.bytes.subarray(at, at + n);
    },
  };
};

const addressOf = (v: Uint8Array): number => sys.addressOf(v);

test("send_queue: consecutive staged chunks of a stream merge into one segment in staging memory", () => {
  const f = fixture(4096);
  const a = randomBytes(10, 1), b = randomBytes(20, 2);
  assert(f.queue.stage(a) && f.queue.stage(b), "both fit");
  assertEquals(f.queue.length, 1, "merged");
  assertEquals(f.queue.kind(0), STAGED);
  assertEquals(f.queue.remaining(0), 30);
  assertEquals(f.queue.queuedBytes, 30);
  assertEquals(f.queue.address(0, addressOf), f.slab.addr, "staged bytes start at the staging address");
  assertEquals(Array.from(f.bytesOf(0)), [...a, ...b]);
  a.fill(0); // staged chunks were copied: the caller may reuse them
  assertEquals(Array.from(f.bytesOf(0).subarray(0, 10)), Array.from(randomBytes(10, 1)));
  f.slab.unmap();
});

test("send_queue: datagram queues keep every staged chunk its own segment", () => {
  const f = fixture(4096, false);
  f.queue.stage(randomBytes(5, 1));
  f.queue.stage(randomBytes(7, 2));
  f.queue.stage(randomBytes(1, 3));
  assertEquals(f.queue.length, 3);
  assertEquals([0, 1, 2].map((i) => f.queue.remaining(i)), [5, 7, 1]);
  assertEquals([0, 1, 2].map((i) => f.queue.address(i, addressOf) - f.slab.addr), [0, 5, 12]);
  assertEquals(Array.from(f.bytesOf(1)), Array.from(randomBytes(7, 2)));
  f.queue.consumeSegment();
  assertEquals(f.queue.length, 2);
  assertEquals(f.queue.queuedBytes, 8);
  assertEquals(Array.from(f.bytesOf(0)), Array.from(randomBytes(7, 2)));
  f.slab.unmap();
});

test("send_queue: a borrowed view sits between staged runs and is reported done only when fully consumed", () => {
  const f = fixture(4096);
  const a = randomBytes(100, 1), v = randomBytes(20000, 2), b = randomBytes(50, 3);
  f.queue.stage(a);
  f.queue.borrow(v);
  f.queue.stage(b);
  assertEquals(f.queue.length, 3, "a staged chunk after a borrowed one does not merge across it");
  assertEquals([0, 1, 2].map((i) => f.queue.kind(i)), [STAGED, BORROWED, STAGED]);
  assert(f.queue.view(1) === v, "the borrowed view is queued as is, not copied");
  assertEquals(f.queue.queuedBytes, 20150);
  let asked = 0;
  const counting = (view: Uint8Array) => (asked++, sys.addressOf(view));
  const base = f.queue.address(1, counting);
  assertEquals(base, sys.addressOf(v));
  assertEquals(f.queue.address(2, counting) - f.slab.addr, 100, "the second staged run follows the first");

  // Partial consume inside the first segment.
  f.queue.consume(40);
  assert(f.queue.headStarted, "head started");
  assertEquals(f.queue.remaining(0), 60);
  assertEquals(f.queue.address(0, counting) - f.slab.addr, 40);
  assertEquals(Array.from(f.bytesOf(0)), Array.from(a.subarray(40)));
  // Across the rest of it and into the borrowed view.
  f.queue.consume(60 + 5000);
  assertEquals(f.queue.length, 2);
  assertEquals(f.queue.kind(0), BORROWED);
  assertEquals(f.queue.remaining(0), 15000);
  assertEquals(f.queue.address(0, counting), base + 5000, "progress moves the address");
  assertEquals(asked, 1, "a borrowed view's address is taken once");
  assertEquals(f.done.length, 0, "not done while bytes of it remain");
  assertEquals(f.queue.queuedBytes, 15050);
  f.queue.consume(14999);
  assertEquals(f.done.length, 0);
  f.queue.consume(1);
  assertEquals(f.done.length, 1);
  assert(f.done[0] === v, "told with the very view");
  assertEquals(f.queue.length, 1);
  assertEquals(Array.from(f.bytesOf(0)), Array.from(b));
  f.queue.consume(50);
  assertEquals([f.queue.length, f.queue.queuedBytes, f.done.length], [0, 0, 1]);
  assert(!f.queue.headStarted, "an empty queue has no started head");
  f.slab.unmap();
});

test("send_queue: staging wraps around to the front and refuses what does not fit", () => {
  const cap = 4096;
  const f = fixture(cap);
  const c1 = randomBytes(3000, 1), v = randomBytes(20000, 2), c2 = randomBytes(1000, 3);
  f.queue.stage(c1);
  f.queue.borrow(v);
  f.queue.stage(c2); // [3000, 4000)
  assertEquals(f.queue.address(2, addressOf) - f.slab.addr, 3000);
  assert(!f.queue.stage(randomBytes(200, 9)), "no room at the end (96 bytes) nor at the front (head is 0)");
  assertEquals([f.queue.length, f.queue.queuedBytes], [3, 24000], "a refused stage changes nothing");
  f.queue.consume(3000); // frees [0, 3000)
  const c3 = randomBytes(2000, 4);
  assert(f.queue.stage(c3), "wraps to the front");
  assertEquals(f.queue.length, 3);
  assertEquals(f.queue.address(2, addressOf) - f.slab.addr, 0, "the wrapped chunk starts at offset 0");
  assertEquals(Array.from(f.bytesOf(2)), Array.from(c3));
  assert(!f.queue.stage(randomBytes(1001, 5)), "between the wrapped tail (2000) and head (3000) only 1000 fit");
  const c4 = randomBytes(1000, 6);
  assert(f.queue.stage(c4), "exactly 1000 fit");
  assertEquals(f.queue.length, 3, "it merges with the wrapped run it continues");
  assertEquals(Array.from(f.bytesOf(2)), [...c3, ...c4]);
  assert(!f.queue.stage(new Uint8Array(1)), "staging is full");
  // Drain in order: borrowed, the pre-wrap run, then the wrapped run.
  assertEquals(Array.from(f.bytesOf(0)), Array.from(v));
  f.queue.consume(20000);
  assert(f.done[0] === v);
  assertEquals(Array.from(f.bytesOf(0)), Array.from(c2));
  f.queue.consume(1000); // head reaches the wrap point and jumps to the front
  assertEquals(f.queue.address(0, addressOf) - f.slab.addr, 0);
  assert(f.queue.stage(randomBytes(1000, 7)), "the tail end freed by the wrap is usable again");
  f.queue.consume(3000);
  assertEquals(f.queue.address(0, addressOf) - f.slab.addr, 3000);
  f.queue.consume(1000);
  assertEquals([f.queue.length, f.queue.queuedBytes], [0, 0]);
  const whole = randomBytes(cap, 8);
  assert(f.queue.stage(whole), "an empty staging ring takes a chunk of its whole capacity");
  assertEquals(f.queue.address(0, addressOf), f.slab.addr);
  assertEquals(Array.from(f.bytesOf(0)), Array.from(whole));
  f.queue.consume(cap);
  assert(!f.queue.stage(randomBytes(cap + 1, 9)), "larger than the capacity never fits");
  assertEquals([f.queue.length, f.queue.queuedBytes], [0, 0]);
  f.slab.unmap();
});

// A merged staged run frees its staging only once all of it is sent, so the ring wraps with bytes
// still queued when runs are separate segments: datagrams, or stream runs split by borrowed views.
for (const mode of ["datagram", "stream with borrowed views"] as const) {
  test(`send_queue: many wrap-arounds keep every byte in order (${mode})`, () => {
    const cap = 8192;
    const f = fixture(cap, mode !== "datagram");
    const sizes = randomBytes(6000, 42);
    const sent = new RunningHash(), expected = new RunningHash();
    let wraps = 0, seed = 1;
    for (let round = 0; round < 2000; round++) {
      if (mode !== "datagram" && round % 3 === 0) {
        const v = randomBytes(16384 + sizes[3 * round + 2], seed++);
        f.queue.borrow(v);
        expected.update(v);
      }
      const chunk = randomBytes(1 + sizes[3 * round] * 6, seed++);
      const wasEmpty = f.queue.length === 0;
      if (f.queue.stage(chunk)) {
        expected.update(chunk);
        const last = f.queue.length - 1;
        const end = f.queue.address(last, addressOf) - f.slab.addr + f.queue.remaining(last);
        if (!wasEmpty && end === chunk.length) wraps++;
      }
      // Consume a pseudo-random part of what is queued, reading it through the addresses first.
      let take = Math.min(f.queue.queuedBytes, sizes[3 * round + 1] * (mode === "datagram" ? 5 : 120));
      while (take > 0) {
        const part = f.bytesOf(0).subarray(0, take);
        sent.update(part);
        f.queue.consume(part.length);
        take -= part.length;
      }
    }
    while (f.queue.length > 0) {
      const part = f.bytesOf(0);
      sent.update(part);
      f.queue.consume(part.length);
    }
    assertEquals(sent.length, expected.length, "every byte queued was read back once");
    assertEquals(sent.value, expected.value, "the bytes read back through the addresses are the queued bytes, in order");
    assert(wraps >= 100, `the ring wrapped around with bytes still queued many times (${wraps})`);
    f.slab.unmap();
  });
}

test("send_queue: a borrowed view detached or shrunk after queueing has address -1", () => {
  const f = fixture(4096);
  const detached = randomBytes(32768, 1);
  const resizable = new ArrayBuffer(65536, { maxByteLength: 65536 });
  const shrunk = new Uint8Array(resizable, 0, 32768);
  const intact = randomBytes(32768, 2);
  f.queue.borrow(detached);
  f.queue.borrow(shrunk);
  f.queue.borrow(intact);
  detach(detached.buffer);
  resizable.resize(1000);
  assertEquals(f.queue.address(0, addressOf), -1, "detached");
  assertEquals(f.queue.address(1, addressOf), -1, "shrunk");
  assert(f.queue.address(2, addressOf) > 0, "an intact view has its address");
  f.slab.unmap();
});

test("send_queue: dropHead drops without telling; clear drops every waiting view and resets staging", () => {
  const f = fixture(4096);
  const v1 = randomBytes(20000, 1), v2 = randomBytes(30000, 2);
  f.queue.borrow(v1);
  f.queue.stage(randomBytes(100, 3));
  f.queue.borrow(v2);
  f.queue.stage(randomBytes(100, 4));
  assert(f.queue.dropHead() === v1, "dropHead returns the borrowed view");
  assertEquals(f.done.length, 0, "a dropped view is not reported done");
  assertEquals(f.queue.queuedBytes, 30200);
  f.queue.consume(50);
  f.queue.clear();
  assertEquals([f.queue.length, f.queue.queuedBytes, f.done.length], [0, 0, 0]);
  assert(f.queue.stage(randomBytes(4096, 5)), "staging is empty again");
  assertEquals(f.queue.address(0, addressOf), f.slab.addr);
  f.slab.unmap();
});

test("send_queue: the segment ring grows past 16 with the order kept, also when the head is mid-ring", () => {
  const f = fixture(1 << 16, false);
  const views: Uint8Array[] = [];
  let next = 0;
  const push = () => {
    const i = next++;
    if (i % 2 === 0) f.queue.stage(randomBytes(1 + (i % 50), i));
    else {
      const v = randomBytes(100 + i, i);
      views.push(v);
      f.queue.borrow(v);
    }
  };
  for (let i = 0; i < 10; i++) push();
  for (let i = 0; i < 6; i++) f.queue.consumeSegment(); // head moves to slot 6
  for (let i = 0; i < 100; i++) push(); // 104 waiting: the ring grows three times
  assertEquals(f.queue.length, 104);
  for (let k = 0; k < 104; k++) {
    const i = 6 + k;
    assertEquals(f.queue.kind(k), i % 2 === 0 ? STAGED : BORROWED, `kind of segment ${k}`);
    assertEquals(f.queue.remaining(k), i % 2 === 0 ? 1 + (i % 50) : 100 + i, `length of segment ${k}`);
    assertEquals(Array.from(f.bytesOf(k)), Array.from(randomBytes(f.queue.remaining(k), i)), `bytes of segment ${k}`);
  }
  while (f.queue.length > 0) f.queue.consumeSegment();
  assertEquals(f.done.length, views.length);
  assert(f.done.every((v, i) => v === views[i]), "every borrowed view reported done, in order");
  f.slab.unmap();
});

test("send_queue: an empty chunk is an empty segment of a datagram queue, holding no staging bytes; a stream queue adds nothing", () => {
  const f = fixture(100, false);
  const a = randomBytes(60, 1), b = randomBytes(50, 2);
  assert(f.queue.stage(a) && f.queue.stage(new Uint8Array(0)), "both fit");
  assertEquals([f.queue.length, f.queue.remaining(1), f.queue.queuedBytes], [2, 0, 60]);
  f.queue.consumeSegment();
  assert(f.queue.stage(b), "staging is empty again");
  f.queue.consumeSegment(); // the empty datagram, queued before b
  assertEquals([f.queue.length, f.queue.remaining(0), f.queue.queuedBytes], [1, 50, 50]);
  // b holds [0, 50): 60 more bytes fit neither after it nor before it.
  assert(!f.queue.stage(randomBytes(60, 3)), "60 bytes do not fit beside b's 50");
  assert(f.queue.stage(randomBytes(40, 4)), "40 bytes fit after b");
  assertEquals(Array.from(f.bytesOf(0)), Array.from(b), "b's staged bytes are intact");
  f.slab.unmap();

  const stream = fixture(100);
  assert(stream.queue.stage(new Uint8Array(0)), "an empty chunk is taken");
  assertEquals([stream.queue.length, stream.queue.queuedBytes], [0, 0]);
  stream.slab.unmap();
});

test("send_queue: a file is a segment in its place: staged chunks do not merge across it, it survives growth, and consuming it completes it", () => {
  const f = fixture(1 << 20);
  const files: FileSend[] = [];
  assertEquals(f.queue.beforeFirstFile(), -1, "no file queued");
  // Enough segments to grow the ring (16 slots) twice, each file between two staged chunks.
  for (let i = 0; i < 20; i++) {
    f.queue.stage(randomBytes(10, i));
    const file = new FileSend(-1, i * 100, 1000 + i, () => {});
    files.push(file);
    f.queue.file(file);
  }
  f.queue.stage(randomBytes(10, 99));
  assertEquals(f.queue.length, 41, "staged chunks never merged across a file");
  assertEquals(f.queue.beforeFirstFile(), 1, "one staged segment is ahead of the first file");
  for (let i = 0; i < 20; i++) {
    assertEquals(f.queue.kind(2 * i + 1), FILE);
    assert(f.queue.fileAt(2 * i + 1) === files[i], `file ${i} kept its place through growth`);
    assertEquals(f.queue.fileAt(2 * i), undefined, "a staged segment has no file");
  }
  const fileBytes = files.reduce((n, file) => n + file.length, 0);
  assertEquals(f.queue.queuedBytes, 21 * 10 + fileBytes, "a file's range counts as queued");
  f.queue.consume(10 + 400);
  assertEquals(f.queue.remaining(0), 600, "part of the first file was sent");
  assertEquals(f.queue.beforeFirstFile(), 0, "the file is at the head");
  f.queue.consume(600);
  assertEquals(f.queue.kind(0), STAGED, "the whole file was sent");
  assertEquals(f.queue.beforeFirstFile(), 1);
  f.queue.consume(10);
  assert(f.queue.dropHead() === undefined, "dropping a file returns no view");
  assertEquals(f.queue.beforeFirstFile(), 1);
  f.queue.clear();
  assertEquals(f.queue.beforeFirstFile(), -1, "clearing forgets every file");
  assertEquals(f.queue.queuedBytes, 0);
  f.slab.unmap();
});

/**
 * Hostile chunks, property-based (fast-check), for every backend in BACKENDS: random sequences of
 * writes of Uint8Array views at random offsets and lengths over ArrayBuffers, SharedArrayBuffers,
 * resizable and growable buffers, Buffers and subclasses (some with lying getters); views of
 * detached or shrunk buffers; buffers transferred, shrunk or grown right after write() accepted
 * them (while they may still be queued); pipelined writes; other typed arrays, DataViews,
 * look-alikes, arrays, strings and null. Every byte of every buffer outside its view is a canary
 * (all >= 0x80; view bytes are all < 0x80).
 *
 * The receiver (a zcListen-accepted connection in this process) must get exactly the concatenation
 * of the accepted views, in order, and nothing else: no canary byte ever. A rejected chunk fails
 * with ZcioError INVALID_CHUNK and the stream stays usable. One case may end the stream instead:
 * a borrowed chunk changed after the kernel already took part of it (its write and the stream
 * then fail with INVALID_CHUNK, and the peer has exactly a prefix of it); it is counted.
 *
 * ZCIO_HOSTILE_RUNS sets numRuns per backend (default 300: a few seconds per backend in each
 * runtime); ZCIO_FC_SEED replays a seed (each run prints the one it used).
 */
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { type BackendChoice, zcConnect, ZcioError, zcListen, type ZcListener } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, connectedPair, detach, internals, openFds, sleep, waitFor, warmUp, withTimeout, XorShift } from "../helpers.ts";
import { BACKENDS, env, gc } from "../reliability.ts";

const KiB = 1024;
const CANARY = Uint8Array.of(0xca, 0xfe, 0xba, 0xbe, 0xde, 0xad, 0xbe, 0xef);
const NUM_RUNS = Number(env("ZCIO_HOSTILE_RUNS") ?? 300);
const SEED = env("ZCIO_FC_SEED") !== undefined ? Number(env("ZCIO_FC_SEED")) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;

// The intrinsic view of a typed array, whatever getters it or its class define.
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get!;
const bufferOf = intrinsic("buffer"), offsetOf = intrinsic("byteOffset"), lengthOf = intrinsic("byteLength");
/** A copy of the bytes a Uint8Array (of any class) really views. */
const snapshot = (view: Uint8Array): Uint8Array => new Uint8Array(bufferOf.call(view), offsetOf.call(view), lengthOf.call(view)).slice();

type Backing = "array" | "shared" | "resizable" | "tracking" | "growable" | "buffer" | "subclass" | "liar" | "ownLiar" | "statefulLiar";
type After = "await" | "pipeline" | "transfer" | "shrink" | "grow";
type Bad =
  | "Uint16Array"
  | "Int16Array"
  | "Int8Array"
  | "Uint8ClampedArray"
  | "Int32Array"
  | "Float32Array"
  | "Float64Array"
  | "BigUint64Array"
  | "DataView"
  | "ArrayBuffer"
  | "SharedArrayBuffer"
  | "array"
  | "string"
  | "null"
  | "undefined"
  | "number"
  | "bufferJson"
  | "duckView"
  | "proxy"
  | "fakeProto";

type Op =
  | { kind: "valid"; backing: Backing; size: number; before: number; after: number; then: After; lead: boolean }
  | { kind: "detached"; size: number; before: number; after: number; shared: boolean }
  | { kind: "shrunk"; size: number; before: number; after: number; tracking: boolean }
  | { kind: "bad"; what: Bad; size: number; before: number }
  | { kind: "pause"; ms: number }
  | { kind: "stall"; ms: number };

const sizeArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 1023 }), weight: 2 },
  { arbitrary: fc.integer({ min: 1024, max: 16 * KiB - 1 }), weight: 2 },
  { arbitrary: fc.constantFrom(16 * KiB - 1, 16 * KiB, 16 * KiB + 1), weight: 1 },
  { arbitrary: fc.integer({ min: 16 * KiB, max: 256 * KiB }), weight: 3 },
);
const marginArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 8 * KiB }));
const backingArb = fc.constantFrom<Backing>(
  "array",
  "array",
  "shared",
  "resizable",
  "tracking",
  "growable",
  "buffer",
  "subclass",
  "liar",
  "ownLiar",
  "statefulLiar",
);
const afterArb = fc.constantFrom<After>("await", "await", "pipeline", "pipeline", "transfer", "transfer", "shrink", "grow");
const badArb = fc.constantFrom<Bad>(
  "Uint16Array",
  "Int16Array",
  "Int8Array",
  "Uint8ClampedArray",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigUint64Array",
  "DataView",
  "ArrayBuffer",
  "SharedArrayBuffer",
  "array",
  "string",
  "null",
  "undefined",
  "number",
  "bufferJson",
  "duckView",
  "proxy",
  "fakeProto",
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("valid" as const),
      backing: backingArb,
      size: sizeArb,
      before: marginArb,
      after: marginArb,
      then: afterArb,
      lead: fc.boolean(),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ kind: fc.constant("detached" as const), size: sizeArb, before: marginArb, after: marginArb, shared: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("shrunk" as const), size: sizeArb, before: marginArb, after: marginArb, tracking: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("bad" as const), what: badArb, size: fc.integer({ min: 1, max: 64 * KiB }), before: marginArb }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("pause" as const), ms: fc.integer({ min: 0, max: 5 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("stall" as const), ms: fc.integer({ min: 1, max: 30 }) }), weight: 1 },
);

/** Whether `buffer` is detached (Node 20 has no `detached` getter: a view over it then throws). */
const isDetached = (buffer: ArrayBuffer): boolean => {
  const d = (buffer as { detached?: boolean }).detached;
  if (d !== undefined) return d;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
};

/** Canary everywhere in `bytes`, then payload (< 0x80) in [from, from + n). */
const paint = (bytes: Uint8Array, from: number, n: number, rng: XorShift): void => {
  for (let i = 0; i < bytes.length; i++) bytes[i] = CANARY[i & 7];
  const payload = bytes.subarray(from, from + n);
  rng.fill(payload);
  for (let i = 0; i < payload.length; i++) payload[i] &= 0x7f;
};

interface Made {
  view: Uint8Array;
  /** The buffer the test may transfer, resize or grow afterwards. */
  buffer: ArrayBufferLike;
}

class Sub extends Uint8Array {}

/** A view of `size` payload bytes with `before` and `after` canary bytes around it in its buffer. */
const makeView = (backing: Backing, size: number, before: number, after: number, rng: XorShift): Made => {
  const total = before + size + after;
  let buffer: ArrayBufferLike;
  let view: Uint8Array;
  switch (backing) {
    case "shared":
      buffer = new SharedArrayBuffer(total);
      break;
    case "resizable":
      buffer = new ArrayBuffer(Math.max(1, total >> 1), { maxByteLength: total * 2 });
      (buffer as ArrayBuffer).resize(total);
      break;
    case "tracking":
      buffer = new ArrayBuffer(before + size, { maxByteLength: (before + size) * 2 });
      after = 0;
      break;
    case "growable":
      buffer = new SharedArrayBuffer(Math.max(1, total >> 1), { maxByteLength: total * 2 });
      (buffer as SharedArrayBuffer).grow(total);
      break;
    default:
      buffer = new ArrayBuffer(total);
  }
  paint(new Uint8Array(buffer), before, size, rng);
  switch (backing) {
    case "tracking":
      view = new Uint8Array(buffer, before); // length-tracking
      break;
    case "buffer":
      view = Buffer.from(buffer as ArrayBuffer, before, size);
      break;
    case "subclass":
      view = new Sub(buffer as ArrayBuffer, before, size);
      break;
    case "liar": {
      // Claims to be all of its buffer.
      const len = buffer.byteLength;
      class Liar extends Uint8Array {
        override get byteOffset(): number {
          return 0;
        }
        override get byteLength(): number {
          return len + 4096;
        }
        override get length(): number {
          return len + 4096;
        }
      }
      view = new Liar(buffer as ArrayBuffer, before, size);
      break;
    }
    case "ownLiar":
      view = new Uint8Array(buffer, before, size);
      Object.defineProperty(view, "byteLength", { get: () => size + before + after + 4096 });
      Object.defineProperty(view, "byteOffset", { get: () => 0 });
      break;
    case "statefulLiar": {
      // Honest the first few times it is asked, then claims more than there is.
      view = new Uint8Array(buffer, before, size);
      let asked = 0;
      Object.defineProperty(view, "byteLength", { get: () => (++asked <= 2 ? size : size + after + 4096) });
      break;
    }
    default:
      view = new Uint8Array(buffer, before, size);
  }
  return { view, buffer };
};

/** A chunk write() must reject, over a canary-filled buffer where it has one. */
const makeBad = (what: Bad, size: number, before: number): unknown => {
  const ab = new ArrayBuffer(before + size * 8 + 16);
  new Uint8Array(ab).forEach((_, i, a) => (a[i] = CANARY[i & 7]));
  const at = (align: number) => Math.ceil(before / align) * align;
  switch (what) {
    case "Uint16Array":
      return new Uint16Array(ab, at(2), size);
    case "Int16Array":
      return new Int16Array(ab, at(2), size);
    case "Int8Array":
      return new Int8Array(ab, before, size);
    case "Uint8ClampedArray":
      return new Uint8ClampedArray(ab, before, size);
    case "Int32Array":
      return new Int32Array(ab, at(4), Math.max(1, size >> 1));
    case "Float32Array":
      return new Float32Array(ab, at(4), Math.max(1, size >> 1));
    case "Float64Array":
      return new Float64Array(ab, at(8), Math.max(1, size >> 3));
    case "BigUint64Array":
      return new BigUint64Array(ab, at(8), Math.max(1, size >> 3));
    case "DataView":
      return new DataView(ab, before, size);
    case "ArrayBuffer":
      return ab;
    case "SharedArrayBuffer":
      return new SharedArrayBuffer(size);
    case "array":
      return Array.from({ length: Math.min(size, 4096) }, (_, i) => CANARY[i & 7]);
    case "string":
      return "\xca\xfe".repeat(Math.min(size, 4096));
    case "null":
      return null;
    case "undefined":
      return undefined;
    case "number":
      return size;
    case "bufferJson":
      return { type: "Buffer", data: [0xca, 0xfe, 0xba, 0xbe] };
    case "duckView":
      return { buffer: ab, byteOffset: before, byteLength: size, length: size, BYTES_PER_ELEMENT: 1 };
    case "proxy":
      return new Proxy(new Uint8Array(ab, before, size), {});
    case "fakeProto":
      return Object.create(Uint8Array.prototype);
  }
};

interface Tally {
  runs: number;
  writes: number;
  acceptedBytes: number;
  rejectedBad: number;
  rejectedChanged: number;
  sentDespiteChange: number;
  endedMidChunk: number;
  liarsAccepted: number;
  takenOver: number;
}

const errorCode = (e: unknown): string => e instanceof ZcioError ? e.code : `not a ZcioError: ${String(e)}`;

/** Writes `ops` over one fresh connection and checks what the receiver got. */
const runOps = async (listener: ZcListener, backend: BackendChoice, ops: Op[], tally: Tally, seed: number): Promise<void> => {
  const accepted = listener.accept();
  const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, backend });
  const server = (await accepted)!;
  const rng = new XorShift(seed);
  const received: Uint8Array[] = [];
  let stalledUntil = 0;
  const reading = (async () => {
    const reader = server.readable.getReader();
    for (;;) {
      while (Date.now() < stalledUntil) await sleep(1);
      const { value, done } = await reader.read();
      if (done) return;
      received.push(value);
    }
  })();

  const writer = client.writable.getWriter();
  // Per write, in order: what it held when written, the promise, and what outcomes are allowed.
  const writes: { op: string; bytes: Uint8Array; done: Promise<unknown>; mayChange: boolean; mustReject: boolean; liar: boolean }[] = [];
  const outcome = (p: Promise<void>): Promise<unknown> => p.then(() => "ok", (e: unknown) => e);
  for (const op of ops) {
    if (op.kind === "pause") {
      await sleep(op.ms);
      continue;
    }
    if (op.kind === "stall") {
      stalledUntil = Date.now() + op.ms;
      continue;
    }
    if (op.kind === "bad") {
      const chunk = makeBad(op.what, op.size, op.before);
      let p: Promise<void>;
      try {
        p = writer.write(chunk as Uint8Array);
      } catch (e) {
        throw new Error(`write(${op.what}) threw synchronously instead of rejecting: ${e}`);
      }
      writes.push({ op: `bad ${op.what}`, bytes: new Uint8Array(0), done: outcome(p), mayChange: false, mustReject: true, liar: false });
      continue;
    }
    if (op.kind === "detached" || op.kind === "shrunk") {
      const backing = op.kind === "shrunk" ? (op.tracking ? "tracking" : "resizable") : "array";
      const { view, buffer } = makeView(backing, op.size, op.before, op.after, rng);
      if (op.kind === "detached") detach(buffer);
      // Shrunk so the view no longer fits: a tracking view's start lies past the end.
      else (buffer as ArrayBuffer).resize(op.tracking ? Math.max(0, op.before - 1) : op.before + (op.size >> 1));
      writes.push({
        op: `${op.kind} ${op.size}`,
        bytes: new Uint8Array(0),
        done: outcome(writer.write(view)),
        mayChange: false,
        mustReject: op.kind === "detached" || !op.tracking || op.before > 0,
        liar: false,
      });
      continue;
    }
    if (op.lead) {
      const lead = new Uint8Array(1 + rng.below(64));
      paint(lead, 0, lead.length, rng);
      writes.push({ op: "lead", bytes: lead.slice(), done: outcome(writer.write(lead)), mayChange: false, mustReject: false, liar: false });
    }
    const { view, buffer } = makeView(op.backing, op.size, op.before, op.after, rng);
    const bytes = snapshot(view);
    const liar = op.backing.includes("iar");
    const written = writer.write(view);
    let changed = false;
    // A buffer zcio took over (a whole-buffer chunk on a zero-copy backend) is detached already:
    // transferring or resizing it then throws, and the write goes on untouched.
    const owned = buffer instanceof ArrayBuffer && isDetached(buffer);
    if (op.then === "transfer" && !(buffer instanceof SharedArrayBuffer) && !owned) {
      detach(buffer);
      changed = true;
    } else if (op.then === "shrink" && (op.backing === "resizable" || op.backing === "tracking") && !owned) {
      (buffer as ArrayBuffer).resize(op.before + (op.size >> 1));
      changed = true;
    } else if (op.then === "grow" && (op.backing === "tracking" || op.backing === "resizable" || op.backing === "growable") && !owned) {
      const b = buffer as { byteLength: number; maxByteLength: number; grow?: (n: number) => void; resize?: (n: number) => void };
      if (b.byteLength < b.maxByteLength) {
        if (op.backing === "growable") b.grow!(b.maxByteLength);
        else b.resize!(b.maxByteLength);
        changed = op.backing === "tracking";
      }
    }
    if (owned) tally.takenOver++;
    const done = outcome(written);
    writes.push({ op: `${op.backing} ${op.size} [${op.before},${op.after}] ${op.then}`, bytes, done, mayChange: changed, mustReject: false, liar });
    if (op.then !== "pipeline" && !changed) await done;
  }
  const closing = await withTimeout(outcome(writer.close()), 30_000, "writer.close()");
  const outcomes = await withTimeout(Promise.all(writes.map((w) => w.done)), 30_000, "every write settling");
  const outboxError = internals(client).outbox.error;
  await withTimeout(client.close().catch(() => {}), 30_000, "client.close()");
  await withTimeout(reading, 30_000, "the receiver reaching end of stream");
  await server.close();

  const got = concat(received);
  const canaryAt = got.findIndex((b) => b >= 0x80);
  assert(canaryAt < 0, `a canary byte (0x${got[canaryAt]?.toString(16)}) reached the peer at offset ${canaryAt} of ${got.length}`);

  // Which writes must have arrived: every one that resolved, in order, up to the one (if any)
  // that ended the stream part-way.
  const expected: Uint8Array[] = [];
  let endedBy = -1;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i], o = outcomes[i];
    tally.writes++;
    if (endedBy >= 0) {
      assert(o !== "ok", `write ${i} (${w.op}) resolved after the stream ended at write ${endedBy}`);
      continue;
    }
    if (o === "ok") {
      assert(!w.mustReject, `write ${i} (${w.op}) was accepted, but must be rejected`);
      expected.push(w.bytes);
      tally.acceptedBytes += w.bytes.length;
      if (w.mayChange) tally.sentDespiteChange++;
      if (w.liar) tally.liarsAccepted++;
      continue;
    }
    const code = errorCode(o);
    assert(code === "INVALID_CHUNK", `write ${i} (${w.op}) failed with ${code}; ${o}`);
    if (w.mustReject) tally.rejectedBad++;
    else if (w.mayChange && o === outboxError) {
      // Changed after the kernel had part of it: the stream ended here.
      endedBy = i;
      tally.endedMidChunk++;
      const before = concat(expected);
      assert(
        got.length >= before.length && got.length < before.length + w.bytes.length,
        `the stream ended inside write ${i}: got ${got.length} bytes, ${before.length} before it, ${w.bytes.length} in it`,
      );
      expected.push(w.bytes.subarray(0, got.length - before.length));
    } else if (w.mayChange) tally.rejectedChanged++;
    else if (!w.liar) throw new Error(`write ${i} (${w.op}), a valid chunk left alone, was rejected: ${o}`);
  }
  if (endedBy < 0) assertEquals(closing, "ok", `writer.close() (${errorCode(closing)})`);
  const want = concat(expected);
  if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
    const at = got.findIndex((b, i) => b !== want[i]);
    throw new Error(`the peer got ${got.length} bytes, expected ${want.length}; first difference at ${at < 0 ? Math.min(got.length, want.length) : at}`);
  }
  tally.runs++;
};

for (const backend of BACKENDS) {
  test(`hostile chunks (${backend}): random views, detached/shrunk/transferred buffers and non-byte chunks; the peer gets exactly the accepted views`, async () => {
    await warmUp();
    const fdsBefore = openFds();
    const listener = await zcListen({ port: 0 });
    const tally: Tally = {
      runs: 0,
      writes: 0,
      acceptedBytes: 0,
      rejectedBad: 0,
      rejectedChanged: 0,
      sentDespiteChange: 0,
      endedMidChunk: 0,
      liarsAccepted: 0,
      takenOver: 0,
    };
    const started = Date.now();
    let run = 0;
    const result = await fc.check(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        await runOps(listener, backend, ops, tally, SEED + run++);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    listener.close();
    console.log(
      `hostile chunks (${backend}): seed ${SEED}, ${tally.runs} runs, ${tally.writes} writes, ${tally.acceptedBytes} bytes accepted and verified exactly, ` +
        `${tally.rejectedBad} bad chunks rejected, ${tally.rejectedChanged} changed-after-write rejected with nothing sent, ${tally.sentDespiteChange} sent whole before the change, ` +
        `${tally.endedMidChunk} changed mid-send (stream ended), ${tally.liarsAccepted} lying views sent as their real bytes, ${tally.takenOver} buffers taken over by write(), ${
          Date.now() - started
        } ms`,
    );
    if (result.failed) throw new Error(`${fc.defaultReportMessage(result) ?? "property failed"}\n${String(result.errorInstance)}`);
    assert(tally.rejectedBad > NUM_RUNS, `bad chunks were tried: ${tally.rejectedBad}`);
    assert(tally.rejectedChanged > 0, "some chunks changed after write() were rejected before any byte left");
    await waitFor(() => openFds() === fdsBefore, `every fd closed again (${openFds()} open, ${fdsBefore} before)`, 10_000);
  });
}

for (const backend of BACKENDS) {
  test(`hostile chunks (${backend}): a borrowed chunk transferred (and its new owner dropped and collected) while the kernel is part-way through it: the peer gets exactly a prefix or all of it`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend });
    const size = 32 << 20;
    // A window of a buffer (borrowed, never taken over), larger than the socket can hold.
    const made: Partial<Made> = makeView("array", size, 64, 64, new XorShift(0xbad));
    const bytes = snapshot(made.view!);
    const writer = pair.client.writable.getWriter();
    const written = writer.write(made.view!).then(() => "ok", (e: unknown) => e);
    // Nobody reads yet: the kernel takes part of it and the rest waits for room.
    await sleep(200);
    detach(made.buffer!);
    made.view = made.buffer = undefined;
    // The memory now belongs to nobody: a sender still reading it would send freed, reused bytes.
    for (let round = 0; round < 4; round++) {
      gc();
      const garbage: Uint8Array[] = [];
      for (let i = 0; i < 16; i++) garbage.push(new Uint8Array(4 << 20).fill(0xa5));
      garbage.length = 0;
      gc();
      await sleep(10);
    }
    const reading = readAllBytes(pair.server.readable);
    const outcome = await withTimeout(written, 10_000, "the write settling");
    const later = await writer.write(new Uint8Array(10)).then(() => "ok", (e: unknown) => e);
    const closed = await withTimeout(pair.client.close().then(() => "ok", (e: unknown) => e), 10_000, "the client's close()");
    const got = await withTimeout(reading, 10_000, "the reader reaching the end");
    const wrong = got.subarray(0, size).findIndex((b, i) => b !== bytes[i]);
    assert(wrong < 0, `the peer got ${got.length} bytes, wrong from offset ${wrong} on (0x${got[wrong]?.toString(16)} for 0x${bytes[wrong]?.toString(16)})`);
    if (outcome === "ok") {
      // The sender kept the memory alive, or had taken all of it already.
      assertEquals(later, "ok", "a later write goes on");
      assertEquals(got.length, size + 10, "a write that resolved delivered all of it, and the later one");
      assertEquals(closed, "ok", "and the stream closes cleanly");
    } else {
      assertEquals(errorCode(outcome), "INVALID_CHUNK", "the changed chunk's write");
      assert(got.length < size, `only part of it arrived: ${got.length} of ${size} bytes`);
      assertEquals(errorCode(later), "INVALID_CHUNK", "a later write fails with it");
      assertEquals(errorCode(closed), "INVALID_CHUNK", "close() reports how the stream ended");
    }
    console.log(
      `changed mid-send (${backend}): the write ${
        outcome === "ok" ? "resolved" : "failed INVALID_CHUNK"
      }; ${got.length} of ${size} bytes arrived, all of them right`,
    );
    await pair.close();
  });
}

const readAllBytes = async (readable: ReadableStream<Uint8Array>): Promise<Uint8Array> => {
  const chunks: Uint8Array[] = [];
  for await (const c of readable) chunks.push(c);
  return concat(chunks);
};

import { checkLength, validateChunk } from "../../streams/validate_chunk.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { detach } from "../helpers.ts";

const code = (chunk: unknown): string | undefined => {
  const e = validateChunk(chunk);
  if (typeof e === "number") return undefined;
  assert(e instanceof ZcioError, "the error is a ZcioError");
  return e.code;
};

test("validate_chunk: Uint8Array views of live memory pass, whatever their offset or backing", () => {
  assertEquals(code(new Uint8Array(0)), undefined, "empty");
  assertEquals(code(new Uint8Array(10)), undefined);
  assertEquals(code(new Uint8Array(new ArrayBuffer(64), 8, 16)), undefined, "a window of a buffer");
  assertEquals(validateChunk(new Uint8Array(new ArrayBuffer(64), 8, 16)), 16, "a valid chunk's length is returned");
  assertEquals(code(new Uint8Array(100).subarray(99)), undefined, "the last byte");
  assertEquals(code(new Uint8Array(new SharedArrayBuffer(32))), undefined, "shared memory");
  class Sub extends Uint8Array {}
  assertEquals(code(new Sub(4)), undefined, "a Uint8Array subclass (Buffer is one)");
  const rab = new ArrayBuffer(16, { maxByteLength: 64 });
  rab.resize(48);
  assertEquals(code(new Uint8Array(rab, 8, 40)), undefined, "a view inside a grown resizable buffer");
});

test("validate_chunk: anything but a Uint8Array is INVALID_CHUNK, with a message naming what came", () => {
  const bad: [unknown, string][] = [
    ["text", "string"],
    [42, "number"],
    [null, "null"],
    [undefined, "undefined"],
    [{ byteLength: 1 }, "Object"],
    [new ArrayBuffer(8), "ArrayBuffer"],
    [new DataView(new ArrayBuffer(8)), "DataView"],
    [new Uint16Array(4), "Uint16Array"],
    [new Int8Array(4), "Int8Array"],
    [new Uint8ClampedArray(4), "Uint8ClampedArray"],
    [[1, 2, 3], "Array"],
  ];
  for (const [chunk, name] of bad) {
    const e = validateChunk(chunk);
    assert(e instanceof ZcioError, `${name} is rejected`);
    assertEquals(e.code, "INVALID_CHUNK", name);
    assert(e.message.includes(name), `message names ${name}: ${e.message}`);
  }
});

test("validate_chunk: views of detached or shrunk buffers are INVALID_CHUNK", () => {
  const whole = new Uint8Array(32);
  const part = new Uint8Array(new ArrayBuffer(64), 16, 16);
  detach(whole.buffer);
  detach(part.buffer);
  assertEquals(code(whole), "INVALID_CHUNK", "transferred");
  const known = checkLength(whole);
  assert(known instanceof ZcioError && known.code === "INVALID_CHUNK", "checkLength, for a view known to be a Uint8Array, rejects it too");
  assertEquals(checkLength(new Uint8Array(new ArrayBuffer(64), 8, 16)), 16, "and returns a live view's length");
  assertEquals(code(part), "INVALID_CHUNK", "a window of a transferred buffer");
  const rab = new ArrayBuffer(64, { maxByteLength: 64 });
  const fixed = new Uint8Array(rab, 16, 32);
  const tracking = new Uint8Array(rab, 8);
  rab.resize(20);
  assertEquals(code(fixed), "INVALID_CHUNK", "a fixed-length view the buffer shrank below");
  assertEquals(code(tracking), undefined, "a length-tracking view that still fits just got shorter");
  assertEquals(tracking.byteLength, 12);
  rab.resize(4);
  assertEquals(code(tracking), "INVALID_CHUNK", "a length-tracking view whose start is past the end");
});

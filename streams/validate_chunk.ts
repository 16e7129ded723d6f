/**
 * The check every chunk passes before zcio records it, so that no address outside the caller's
 * view can ever reach the kernel.
 *
 * @module
 */
import { bufferOf, byteLengthOf, byteOffsetOf, elementAt, typedArrayNameOf, Uint8ArrayCtor } from "../ffi/intrinsics.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { writtenLeaseError } from "../scheduler/lease_pool.ts";

// zcio never asks a chunk's own getters (a subclass's, ones defined on the view itself, or ones put
// on %TypedArray%.prototype after zcio loaded) where its bytes are, since a getter that lied would
// make the kernel read outside the view: it reads them through the intrinsics taken at load.

/**
 * Returns the length in bytes of `chunk` when it may be written, else the error that rejects it. A
 * valid chunk is a `Uint8Array` (or a subclass, such as Buffer) whose buffer is neither detached nor
 * shrunk below the view.
 */
export const validateChunk = (chunk: unknown): number | ZcioError => {
  // A brand check: a Proxy of a Uint8Array or an object with its prototype is not one.
  if (typedArrayNameOf(chunk) !== "Uint8Array") return invalid(`write Uint8Array chunks; got ${describe(chunk)}`);
  return checkLength(chunk as Uint8Array);
};

/**
 * {@link validateChunk} for a view known to be a Uint8Array already (a brand never changes): its
 * length in bytes, or the error for a view of a detached buffer or one shrunk below it.
 */
export const checkLength = (view: Uint8Array): number | ZcioError => {
  const length = byteLengthOf(view);
  // A view of a detached buffer, and a fixed-length view of a resizable buffer shrunk below it,
  // read as empty: only an empty chunk needs checking, or its bytes would be dropped without a word.
  if (length === 0 && outOfBounds(view)) {
    const buffer = bufferOf(view);
    return isDetached(buffer)
      ? writtenLeaseError(buffer) ?? invalid("the chunk's ArrayBuffer is detached (transferred); write a view of live memory")
      : invalid("the chunk's view reaches past the end of its (resized) buffer");
  }
  return length;
};

/**
 * A validated chunk as a plain Uint8Array that zcio can trust: the chunk itself when it is one
 * (no subclass, no getters of its own), else a new view of exactly the bytes it really views.
 */
export const plainView = (chunk: Uint8Array): Uint8Array =>
  Object.getPrototypeOf(chunk) === Uint8Array.prototype && !Object.hasOwn(chunk, "byteLength") &&
    !Object.hasOwn(chunk, "byteOffset") && !Object.hasOwn(chunk, "buffer")
    ? chunk
    : new Uint8ArrayCtor(bufferOf(chunk), byteOffsetOf(chunk), byteLengthOf(chunk));

/** True for a view whose buffer is detached or shrank below it (element access then throws). */
const outOfBounds = (view: Uint8Array): boolean => {
  try {
    elementAt(view, 0);
    return false;
  } catch {
    return true;
  }
};

/**
 * `ArrayBuffer.prototype.detached` where the runtime has it; Node 20 does not, but constructing a
 * view over a detached buffer throws a TypeError in every runtime.
 */
const isDetached = (buffer: ArrayBufferLike): boolean => {
  const detached = (buffer as { detached?: boolean }).detached;
  if (detached !== undefined) return detached;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
};

const invalid = (message: string): ZcioError => new ZcioError({ code: "INVALID_CHUNK", message });

const describe = (value: unknown): string => {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "an object that only looks like a Uint8Array (a Proxy, or made from its prototype)";
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
};

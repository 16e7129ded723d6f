/**
 * The check every chunk passes before zcio records it, so that no address outside the caller's
 * view can ever reach the kernel.
 *
 * @module
 */
import { ZcioError } from "../ffi/zcio_error.ts";

/**
 * Returns the error that rejects `chunk`, or undefined when it may be written. A valid chunk is a
 * `Uint8Array` whose buffer is neither detached nor shrunk below the view.
 */
export const validateChunk = (chunk: unknown): ZcioError | undefined => {
  if (!(chunk instanceof Uint8Array)) return invalid(`write Uint8Array chunks; got ${describe(chunk)}`);
  const buffer = chunk.buffer;
  // A view of a detached buffer reads as empty, so only an empty chunk needs the detach check.
  if (chunk.byteLength === 0 && isDetached(buffer)) {
    return invalid("the chunk's ArrayBuffer is detached (transferred); write a view of live memory");
  }
  // A fixed-length view of a resizable buffer shrunk below it reports byteOffset and byteLength 0,
  // so it would pass as an empty chunk and its bytes would be dropped without a word.
  if (chunk.byteOffset + chunk.byteLength > buffer.byteLength || (chunk.byteLength === 0 && outOfBounds(chunk))) {
    return invalid("the chunk's view reaches past the end of its (resized) buffer");
  }
  return undefined;
};

/** True for a view whose buffer shrank below it (element access then throws a TypeError). */
const outOfBounds = (view: Uint8Array): boolean => {
  try {
    view.at(0);
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
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
};

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
  const buffer = chunk.buffer as ArrayBuffer & { detached?: boolean };
  if (buffer.detached === true) {
    return invalid("the chunk's ArrayBuffer is detached (transferred); write a view of live memory");
  }
  if (chunk.byteOffset + chunk.byteLength > buffer.byteLength) {
    return invalid("the chunk's view reaches past the end of its (resized) buffer");
  }
  return undefined;
};

const invalid = (message: string): ZcioError => new ZcioError({ code: "INVALID_CHUNK", message });

const describe = (value: unknown): string => {
  if (value === null) return "null";
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
};

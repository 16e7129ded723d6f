/**
 * Detaches an ArrayBuffer by transferring it away (Bun and Deno; it works there on memory mapped
 * through their FFI too). The transferred copy is dropped: the memory it names stays where it is.
 *
 * @module
 */

// Taken at load, as every intrinsic zcio relies on.
const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;
const clone = structuredClone;

/**
 * `Sys.detach` for runtimes that detach every ArrayBuffer they transfer: through
 * `ArrayBuffer.prototype.transfer` where there is one (it moves the memory, a few times cheaper
 * than a structured clone), else through a structured clone that transfers it.
 */
export const detachByTransfer = (buffer: ArrayBuffer): boolean => {
  try {
    if (transfer !== undefined) transfer.call(buffer);
    else clone(buffer, { transfer: [buffer] });
    return true;
  } catch {
    return false;
  }
};

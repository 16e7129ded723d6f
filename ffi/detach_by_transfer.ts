/**
 * Detaches an ArrayBuffer of mapped memory by transferring it to an empty one (Bun and Deno; it
 * works there on memory mapped through their FFI too). The memory stays where it is.
 *
 * @module
 */
import { letGo } from "./intrinsics.ts";

/** `Sys.detach` for runtimes that detach every ArrayBuffer they transfer. */
export const detachByTransfer = (buffer: ArrayBuffer): boolean => {
  try {
    letGo(buffer);
    return true;
  } catch {
    return false;
  }
};

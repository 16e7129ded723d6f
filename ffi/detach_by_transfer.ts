/**
 * Detaches an ArrayBuffer by moving its memory away (Bun and Deno; it works there on memory mapped
 * through their FFI too). The moved copy is dropped: the memory it names stays where it is.
 *
 * @module
 */
import { moveOut } from "./intrinsics.ts";

/** `Sys.detach` for runtimes that detach every ArrayBuffer they transfer. */
export const detachByTransfer = (buffer: ArrayBuffer): boolean => {
  try {
    moveOut(buffer);
    return true;
  } catch {
    return false;
  }
};

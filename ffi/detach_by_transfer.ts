/**
 * Detaches an ArrayBuffer by transferring it away (Bun and Deno; it works there on memory mapped
 * through their FFI too). The transferred copy is dropped: the memory it names stays where it is.
 *
 * @module
 */

/** `Sys.detach` for runtimes whose structured clone detaches every ArrayBuffer it transfers. */
export const detachByTransfer = (buffer: ArrayBuffer): boolean => {
  try {
    structuredClone(buffer, { transfer: [buffer] });
    return true;
  } catch {
    return false;
  }
};

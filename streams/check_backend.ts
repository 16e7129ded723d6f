/**
 * Refuses a backend this build cannot use yet, before any socket is opened.
 *
 * @module
 */
import { ZcioError } from "../ffi/zcio_error.ts";
import type { BackendChoice } from "./options.ts";

/** Throws BACKEND_UNAVAILABLE for a backend that cannot serve the stream. */
export const checkBackend = (backend: BackendChoice): void => {
  if (backend !== "io_uring") return;
  throw new ZcioError({
    code: "BACKEND_UNAVAILABLE",
    backend,
    message: `the ${backend} backend is not available in this version; use backend "copy" or "auto"`,
  });
};

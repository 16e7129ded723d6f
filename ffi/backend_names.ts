/**
 * The send strategies zcio has, in one list: the kernel's three ways to hand it bytes. Every type
 * and check that names a backend (options, policies, stats, errors) comes from this list, so a new
 * backend is added here once.
 *
 * @example
 * ```ts
 * import { BACKEND_NAMES } from "@zcio/zcio";
 *
 * console.log(BACKEND_NAMES.join(", ")); // copy, msg_zerocopy, io_uring
 * ```
 *
 * @module
 */

/**
 * - `copy`: `sendmsg`/`sendmmsg`; the kernel copies the bytes during the call.
 * - `msg_zerocopy`: `sendmsg(MSG_ZEROCOPY)`; the kernel pins the pages and reports on the socket's
 *   error queue when it is done with them.
 * - `io_uring`: `IORING_OP_SEND_ZC` on a ring, from registered buffers where the memory is a lease.
 */
export const BACKEND_NAMES = ["copy", "msg_zerocopy", "io_uring"] as const;

/** Which send strategy bytes went by, or an error came from. */
export type BackendName = typeof BACKEND_NAMES[number];

/** Which send strategy a stream uses: one of {@link BACKEND_NAMES}, or `auto`, which picks per chunk. */
export type BackendChoice = "auto" | BackendName;

/** A record with a number per backend, all zero. */
export const perBackend = (): Record<BackendName, number> => Object.fromEntries(BACKEND_NAMES.map((name) => [name, 0])) as Record<BackendName, number>;

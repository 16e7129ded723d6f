/**
 * What every send strategy provides to the scheduler. A backend takes what it can from the front of
 * a connection's {@link SendQueue} in as few syscalls as it can, and reports how far it got.
 *
 * @module
 */
import type { BackendName } from "../ffi/zcio_error.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** {@link Backend.submit} result: everything queued was handed to the kernel. */
export const SUBMITTED = 0;
/** {@link Backend.submit} result: the socket is full; wait until it is writable, then submit again. */
export const WOULD_BLOCK = 1;

/**
 * {@link Backend.submit} result: the oldest segment is a borrowed view whose buffer was detached or
 * shrunk after `write()` accepted it, and none of it was sent. Its write is rejected; the rest goes on.
 */
export const INVALID_HEAD = 2;

export interface Backend {
  /** The strategy bytes are counted under in stats. */
  readonly name: BackendName;
  /** Buffers the kernel may still read: zero-copy sends whose notification has not come. */
  readonly inflight: number;
  /** Bytes of those buffers. */
  readonly inflightBytes: number;
  /** Reads every notification available and releases what it covers; returns how many, or -errno. */
  reap(stats: SendStats): number;
  /** Whether notifications come through the socket's error queue (POLLERR), so the scheduler watches it. */
  readonly watchesErrorQueue: boolean;
  /** Whether submitted work is still in the kernel's hands, so no new submission can start yet. */
  readonly busy: boolean;
  /**
   * Whether the stream's close may resolve while zero-copy notifications are still to come (every
   * byte is in the kernel; the buffers stay pinned until the connection's release lets them go).
   * `auto` does: zero-copy is its choice, not the caller's, so its close behaves as copy's. The
   * zero-copy backends (absent: false) wait for every notification.
   */
  readonly closesBeforeNotified?: boolean;
  /**
   * Runs `done` once the backend holds nothing the kernel may read (for backends that learn it
   * without the error queue; the others run `done` at once when nothing is in flight).
   */
  whenIdle(done: () => void): void;
  /**
   * Hands the kernel as much of the oldest `limit` segments of `queue` (all of them by default) as
   * it takes now. Returns {@link SUBMITTED}, {@link WOULD_BLOCK}, {@link INVALID_HEAD}, or -errno
   * for a failure that ends the connection's sending.
   */
  submit(queue: SendQueue, stats: SendStats, limit?: number): number;
  /** Frees what the backend holds (control memory). The socket is not the backend's. */
  close(): void;
}

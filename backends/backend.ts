/**
 * What every send strategy provides to the scheduler. A backend takes what it can from the front of
 * a connection's {@link SendQueue} in as few syscalls as it can, and reports how far it got.
 *
 * @module
 */
import type { BackendName } from "../ffi/backend_names.ts";
import type { Slab } from "../ffi/slab.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Waiter } from "../ffi/waiter.ts";
import type { RegisteredLeases } from "./registered_leases.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/**
 * {@link Backend.submit} result: the kernel has taken everything it was given, or, with segments
 * left in the queue, the backend holds them until work it already gave the kernel is over (an
 * io_uring chain still running, or no room in the ring yet) and then wakes the send fiber itself.
 */
export const SUBMITTED = 0;
/** {@link Backend.submit} result: the socket is full; wait until it is writable, then submit again. */
export const WOULD_BLOCK = 1;

/**
 * {@link Backend.submit} result: the oldest segment is a borrowed view whose buffer was detached or
 * shrunk after `write()` accepted it, and none of it was sent. Its write is rejected; the rest goes on.
 */
export const INVALID_HEAD = 2;

/**
 * Submit result (of the file sender): it stopped after its share of one pass, so that timers and
 * other connections run while a fast peer takes a large file; submit again after a macrotask.
 */
export const PAUSED = 3;

export interface Backend {
  /** The strategy bytes are counted under in stats. */
  readonly name: BackendName;
  /** Buffers the kernel may still read: zero-copy sends whose notification has not come. */
  readonly inflight: number;
  /** Bytes of those buffers. */
  readonly inflightBytes: number;
  /**
   * Reads, without blocking, every notification that has come through the socket's error queue and
   * releases what it covers; returns how many, or -errno. A backend with notifications owed there
   * keeps POLLERR armed itself; one told through its ring reads them as they come.
   */
  reap(stats: SendStats): number;
  /** Runs `done` once the backend holds nothing the kernel may read, at once if it holds nothing now. */
  whenIdle(done: () => void): void;
  /** Registered memory the backend sends best, which the connection's leases come from, if it has any. */
  readonly leases?: RegisteredLeases;
  /**
   * Hands the kernel as much of the oldest `limit` segments of `queue` (all of them by default) as
   * it takes now. Returns {@link SUBMITTED}, {@link WOULD_BLOCK}, {@link INVALID_HEAD}, or -errno
   * for a failure that ends the connection's sending.
   */
  submit(queue: SendQueue, stats: SendStats, limit?: number): number;
  /** Frees what the backend holds (control memory). The socket is not the backend's. */
  close(): void;
}

/** A connected socket, and what its connection lends the backend opened on it. */
export interface BackendSocket {
  readonly sys: Sys;
  readonly waiter: Waiter;
  readonly fd: number;
  readonly udp: boolean;
  /** The connection's control memory for backends, `BACKEND_CONTROL_BYTES` (backends/registry.ts) from byte 0. */
  readonly control: Slab;
  readonly queue: SendQueue;
  readonly stats: SendStats;
  /** After the kernel reports copies, bytes sent by copy before zero-copy is tried again. */
  readonly reprobeBytes: number;
  /** Arms POLLERR on the socket while error-queue notifications are owed, and disarms it after. */
  readonly watchErrorQueue: (owed: boolean) => void;
  /** Wakes the connection's send fiber: a completion came, or the backend can take more. */
  readonly wake: () => void;
}

/** Why a backend cannot run on a socket, and the backend to try there instead. */
export class BackendUnavailable {
  constructor(readonly reason: string, readonly instead: BackendName) {}
}

/** Opens a backend on a socket; a backend's file exports one, and `backends/registry.ts` lists it. */
export type OpenBackend = (socket: BackendSocket) => Backend | BackendUnavailable;

/**
 * The meeting point of a connection's sink (per chunk, plain TypeScript) and its send fiber (per
 * batch, Effect). `write()` records a chunk and at most wakes the parked fiber; the fiber takes
 * everything recorded in one pass. Some batches go from `write()` itself, never from the middle of
 * a pass: an idle connection's; every {@link INLINE_BATCH_BYTES} of owned chunks, which a writer
 * whose writes all complete at once would otherwise queue up to `maxOwnedBytes` before the fiber
 * ran; and, at that limit, what is queued, after which `write()` reads the notifications that have
 * come before it waits.
 *
 * Ownership, decided per chunk:
 * - A chunk smaller than `stageBelow` is copied into staging; its write resolves at once and the
 *   caller may reuse it.
 * - With a zero-copy backend, a larger chunk that spans its whole (non-shared) ArrayBuffer is
 *   taken: the buffer is transferred, so the caller's view becomes detached and can never change
 *   bytes the kernel has not sent. A leased chunk is zcio's already. Either write resolves at once,
 *   unless owned bytes in the queue and in flight exceed `maxOwnedBytes`.
 * - Any other larger chunk is borrowed: it goes by copy and its write resolves once the kernel has
 *   taken all of it; until then the caller must leave it alone (if it detaches or shrinks the
 *   buffer meanwhile, that write fails with INVALID_CHUNK and nothing of it is sent).
 * - With `auto`, the route {@link ChunkRoutes.route} gives a larger chunk decides: a zero-copy route
 *   takes it as above, a copy route borrows it (a lease routed to copy is owned, and its memory
 *   goes back to the pool once the kernel has taken it, as does a staged lease's at once).
 *
 * @module
 */
import type { ChunkRoutes } from "../backends/auto_backend.ts";
import { type Backend, SUBMITTED } from "../backends/backend.ts";
import { ROUTE_COPY, ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY, type SendQueue } from "../backends/send_queue.ts";
import type { SendStats } from "../backends/send_stats.ts";
import { ZcioError } from "../ffi/zcio_error.ts";

export class Outbox {
  #error: ZcioError | undefined;
  #closing = false;
  #wake: (() => void) | undefined;
  /** Owned bytes queued since the queue was last submitted. */
  #ownedSinceSubmit = 0;
  // The one write that waits (WritableStream hands the sink one chunk at a time).
  #waiting: Uint8Array | undefined;
  #borrowed: Uint8Array | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;

  #ownedOver = false;

  constructor(
    readonly queue: SendQueue,
    readonly stats: SendStats,
    readonly backend: Backend,
    /** Chunks below this many bytes are staged (copied); the rest are owned or borrowed. */
    readonly stageBelow: number,
    /** Whether large chunks are taken over (zero-copy backends) rather than borrowed. */
    readonly takesOwnership: boolean,
    /** Owned bytes queued and in flight above which write() waits. */
    readonly maxOwnedBytes: number,
    /** Takes a chunk over if it is a lease (zcio memory already): true if it was. */
    private readonly takeLease: (chunk: Uint8Array) => boolean,
    /** `auto`: the route of each chunk of `stageBelow` bytes or more. */
    private readonly routes?: ChunkRoutes,
  ) {}

  /** Told which borrowed and owned views a failure or abort dropped from the queue unsent. */
  onDropped: (views: Uint8Array[]) => void = () => {};

  /**
   * Hands the queue to the backend: from the fiber's pass, or from `write()` (the fiber is then
   * parked or waiting, never in the middle of a pass, which runs without yielding).
   */
  submit(): number {
    this.stats.submissions++;
    this.#ownedSinceSubmit = 0;
    return this.backend.submit(this.queue, this.stats);
  }

  /**
   * Submits the queue from `write()`. True when everything went; otherwise the fiber, once it
   * runs, waits for room or reports the failure.
   */
  #submitNow(): boolean {
    return this.submit() === SUBMITTED && this.queue.length === 0;
  }

  /** The failure that ended sending, if any. */
  get error(): ZcioError | undefined {
    return this.#error;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Copies a small chunk into staging if that completes its write at once; false (nothing changed)
   * when the chunk is not small, staging is full, or sending has ended.
   */
  stageNow(chunk: Uint8Array): boolean {
    if (chunk.byteLength >= this.stageBelow || this.#error !== undefined || this.#closing) return false;
    if (!this.#stage(chunk)) return false;
    this.stats.chunks++;
    if (this.routes !== undefined) this.stats.routed.copy++;
    this.#kick();
    return true;
  }

  /**
   * Records a validated, non-empty chunk. Returns undefined when the write is complete, or the
   * promise that settles when it is.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#closing) return Promise.reject(closedError());
    this.stats.chunks++;
    const size = chunk.byteLength;
    if (size < this.stageBelow) {
      if (this.routes !== undefined) this.stats.routed.copy++;
      if (this.#stage(chunk)) {
        this.#kick();
        return undefined;
      }
      this.#waiting = chunk;
    } else if (this.routes !== undefined ? this.#route(chunk, size) : this.takesOwnership && this.#own(chunk)) {
      // As below: an idle connection sends at once. Otherwise every INLINE_BATCH_BYTES go at once
      // too: a writer whose writes all complete at once never lets the fiber run, and would queue
      // up to maxOwnedBytes before the kernel sent anything.
      if (this.#wake !== undefined || (this.#ownedSinceSubmit += size) >= INLINE_BATCH_BYTES) this.#submitNow();
      if (!this.#overOwnedLimit() || this.#freedAtLimit()) {
        this.#kick();
        return undefined;
      }
      this.#ownedOver = true;
    } else {
      this.#borrowed = chunk;
      this.queue.borrow(chunk);
      // An idle connection sends a large chunk at once: the pass would hold just this chunk and
      // whatever staged bytes precede it, so waiting a macrotask for the fiber gains nothing.
      if (this.#wake !== undefined && this.#submitNow()) return undefined;
    }
    const settled = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#kick();
    return settled;
  }

  /** Called by the queue when the kernel has taken all of a borrowed view. */
  readonly borrowedDone = (view: Uint8Array): void => {
    if (view === this.#borrowed) {
      this.#borrowed = undefined;
      this.#settle(undefined);
    }
  };

  /**
   * After a pass freed staging or notifications freed owned memory: moves a waiting small chunk in,
   * or lets a write held back by the owned-bytes limit complete.
   */
  admitWaiting(): void {
    const chunk = this.#waiting;
    if (chunk !== undefined && this.#stage(chunk)) {
      this.#waiting = undefined;
      this.#settle(undefined);
    } else if (this.#ownedOver && !this.#overOwnedLimit()) {
      this.#ownedOver = false;
      this.#settle(undefined);
    }
  }

  /** Queues a large chunk as owned if it can be: a lease as it is, a whole buffer transferred. */
  #own(chunk: Uint8Array): boolean {
    if (this.takeLease(chunk)) this.queue.own(chunk);
    else if (spansWholeBuffer(chunk)) this.queue.own(takeOver(chunk));
    else return false;
    return true;
  }

  /** Copies a small chunk into staging; a registered lease staged goes straight back to its pool. */
  #stage(chunk: Uint8Array): boolean {
    if (!this.queue.stage(chunk)) return false;
    this.routes?.releaseStaged(chunk);
    return true;
  }

  /**
   * `auto`: queues a large chunk on the route chosen for it. True if it was owned (its write may
   * resolve at once); false if it must be borrowed (a copy route, or a chunk that cannot be owned).
   */
  #route(chunk: Uint8Array, size: number): boolean {
    const routes = this.routes!, stats = this.stats;
    let route = routes.route(size);
    if (route === ROUTE_COPY) {
      // A lease is zcio's already: owned, sent by copy, and back in its pool once the kernel has it.
      if (!this.takeLease(chunk)) return (stats.routed.copy++, false);
      this.queue.own(chunk, ROUTE_COPY);
    } else if (this.takeLease(chunk)) {
      route = routes.leaseRoute(chunk, route);
      this.queue.own(chunk, route);
    } else if (spansWholeBuffer(chunk)) {
      this.queue.own(takeOver(chunk), route);
    } else {
      return (stats.routed.copy++, false);
    }
    if (route === ROUTE_IO_URING) stats.routed.io_uring++;
    else if (route === ROUTE_MSG_ZEROCOPY) stats.routed.msg_zerocopy++;
    else stats.routed.copy++;
    return true;
  }

  /** Called by the queue when the kernel has taken all of an owned view routed to copy (a lease). */
  readonly ownedCopied = (view: Uint8Array): void => {
    this.routes?.releaseLease(view);
  };

  /**
   * At the owned limit, sends what is queued (a copied send frees its chunk at once) and reads the
   * notifications that have come: the kernel queues one as it frees each send, often within the
   * send itself, and the fiber would only hear of them through the waiter. True if that brought the
   * owned bytes under the limit. (A failed read is left to the fiber, which reads the queue again.)
   */
  #freedAtLimit(): boolean {
    if (this.#ownedSinceSubmit > 0) this.#submitNow();
    if (this.backend.watchesErrorQueue) this.backend.reap(this.stats);
    return !this.#overOwnedLimit();
  }

  #overOwnedLimit(): boolean {
    return this.queue.ownedBytes + this.backend.inflightBytes > this.maxOwnedBytes;
  }

  /**
   * Handles an oldest segment that is a borrowed view changed after it was accepted: its write
   * fails with INVALID_CHUNK and, if none of it was sent, the stream goes on. Returns the error
   * that must end the stream instead when part of it had already left.
   */
  rejectHead(): ZcioError | undefined {
    const error = new ZcioError({
      code: "INVALID_CHUNK",
      message: "the chunk's buffer was detached or resized after write() accepted it; " +
        "leave a written chunk alone until its write() resolves",
    });
    if (this.queue.headStarted) return error;
    const view = this.queue.dropHead();
    if (view !== undefined && view === this.#borrowed) {
      this.#borrowed = undefined;
      this.#settle(error);
    }
    return undefined;
  }

  /** Whether the fiber has anything to do. */
  get hasWork(): boolean {
    return this.queue.length > 0 || this.#waiting !== undefined;
  }

  /** Parks the fiber: `wake` runs on the next write, close, failure or {@link wakeUp}. */
  park(wake: () => void): void {
    if ((this.hasWork && !this.backend.busy) || this.#error !== undefined) wake();
    else this.#wake = wake;
  }

  /** Wakes a parked fiber (a notification arrived). */
  wakeUp(): void {
    this.#kick();
  }

  /** No more writes; the fiber finishes what is queued and stops. */
  close(): void {
    this.#closing = true;
    this.#kick();
  }

  /** Ends sending with `error`: the waiting write and every later one fail with it. */
  fail(error: ZcioError): void {
    if (this.#error === undefined) this.#error = error;
    this.onDropped(this.queue.clear());
    this.#waiting = this.#borrowed = undefined;
    this.#ownedOver = false;
    this.#settle(this.#error);
    this.#kick();
  }

  // Resuming a parked fiber runs it at once; deferring the wake to the next macrotask lets every
  // chunk the producer writes before it yields join the same batch.
  #kick(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      setImmediate(wake);
    }
  }

  #settle(error: unknown): void {
    const resolve = this.#resolve, reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    if (error === undefined) resolve?.();
    else reject?.(error);
  }
}

/**
 * Owned bytes `write()` lets queue before it submits them itself: enough for one syscall to carry
 * many chunks, and sending starts long before `maxOwnedBytes` have queued.
 */
const INLINE_BATCH_BYTES = 1 << 20;

/** The error for using a stream or connection after it was closed. */
export const closedError = (): ZcioError =>
  new ZcioError({ code: "CLOSED", message: "the stream is closed; open a new connection to send more" });

/** Whether `chunk` is all of a buffer that can be transferred (not a SharedArrayBuffer). */
const spansWholeBuffer = (chunk: Uint8Array): boolean =>
  chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength &&
  !(typeof SharedArrayBuffer !== "undefined" && chunk.buffer instanceof SharedArrayBuffer);

/**
 * Moves the chunk's buffer into zcio: the caller's views of it become detached, so nothing the
 * caller does can change bytes the kernel has yet to send. No bytes are copied.
 */
const takeOver = (chunk: Uint8Array): Uint8Array => {
  const buffer = chunk.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
  // Node 20 has no ArrayBuffer.prototype.transfer; structuredClone with a transfer list moves it too.
  return new Uint8Array(buffer.transfer ? buffer.transfer() : structuredClone(buffer, { transfer: [buffer] }));
};

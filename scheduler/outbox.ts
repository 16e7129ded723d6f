/**
 * The meeting point of a connection's sink (per chunk, plain TypeScript) and its send fiber (per
 * batch, Effect). `write()` records a chunk and at most wakes the parked fiber; the fiber takes
 * everything recorded in one pass. Some batches go from `write()` itself, never from the middle of
 * a pass: an idle connection's; every {@link INLINE_BATCH_BYTES} of owned chunks, which a writer
 * whose writes all complete at once would otherwise queue up to `maxOwnedBytes` before the fiber
 * ran; and, at that limit, what is queued. Every submission with zero-copy sends in flight then
 * reads the notifications that have come, without blocking.
 *
 * Ownership, decided per chunk, the same for every backend:
 * - The caller's memory is borrowed, never taken. A chunk smaller than `stageBelow` is copied into
 *   staging and its write resolves at once; a larger one is sent from the caller's view by copy and
 *   its write resolves once the kernel has taken all of it (if the caller detaches or shrinks the
 *   buffer meanwhile, that write fails with INVALID_CHUNK and nothing of it is sent). Either way the
 *   chunk is the caller's again when its write resolves.
 * - A lease is handed over ({@link LeasePool.take}): the caller's view is detached, and zcio's view
 *   of the same memory is owned; a zero-copy backend sends it without copying. Its write resolves at
 *   once, unless owned bytes in the queue and in flight exceed `maxOwnedBytes`. A lease below
 *   {@link OWNED_STAGE_BELOW} is staged and its memory goes back to the pool at once.
 * - Only with the `transferBuffers` option is a chunk of {@link OWNED_STAGE_BELOW} or more that spans
 *   its whole (non-shared) ArrayBuffer taken over like a lease (transferred, so the caller's views
 *   are detached), and only where its route is zero-copy; otherwise it is staged or borrowed.
 * - With `auto`, the route {@link ChunkRoutes.route} gives a larger owned chunk decides how it goes
 *   (a lease routed to copy goes back to the pool once the kernel has taken it); borrowed chunks
 *   always go by copy.
 * - A `sendFile` ({@link FileSend}) takes its place in the queue like a borrowed chunk: what was
 *   queued before it goes first (the backend is given only the segments ahead of it), then the
 *   {@link FileSender} moves the file, then what came after.
 *
 * @module
 */
import type { ChunkRoutes } from "../backends/auto_backend.ts";
import { type Backend, SUBMITTED } from "../backends/backend.ts";
import type { FileSend } from "../backends/file_send.ts";
import type { FileSender } from "../backends/file_sender.ts";
import { ROUTE_COPY, ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY, type SendQueue } from "../backends/send_queue.ts";
import type { SendStats } from "../backends/send_stats.ts";
import { arrayBufferByteLengthOf, bufferOf, byteLengthOf, byteOffsetOf, moveOut } from "../ffi/intrinsics.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { type LeasePool, leasesOut, OWNED_STAGE_BELOW } from "./lease_pool.ts";

export class Outbox {
  #error: ZcioError | undefined;
  #closing = false;
  #wake: (() => void) | undefined;
  /** Owned bytes queued since the queue was last submitted. */
  #ownedSinceSubmit = 0;
  // The one write that waits (WritableStream hands the sink one chunk at a time).
  #waiting: Uint8Array | undefined;
  /** Whether the waiting chunk is a lease's memory, to give back once it is staged. */
  #waitingLease = false;
  #borrowed: Uint8Array | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;

  #ownedOver = false;
  /** The backend holds queued segments until its kernel work is over, and wakes the fiber then. */
  #held = false;
  /** Owned chunks below this many bytes are staged: {@link OWNED_STAGE_BELOW}, or less with a smaller `stageBelow`. */
  readonly #ownedStageBelow: number;

  constructor(
    readonly queue: SendQueue,
    readonly stats: SendStats,
    readonly backend: Backend,
    /** The caller's chunks below this many bytes are staged (copied); larger ones are borrowed. */
    readonly stageBelow: number,
    /** Whether owned chunks go to a zero-copy sender (else they go by copy, as borrowed ones do). */
    readonly zerocopy: boolean,
    /** Whether large whole-buffer chunks of the caller's are taken over (the `transferBuffers` option). */
    readonly transfersBuffers: boolean,
    /** Owned bytes queued and in flight above which write() waits. */
    readonly maxOwnedBytes: number,
    /** The connection's leases: a chunk that is one is handed over. */
    readonly leases: LeasePool,
    /** `auto`: the route of each chunk of `stageBelow` bytes or more. */
    private readonly routes?: ChunkRoutes,
    /** Sends queued files (TCP only). */
    private readonly files?: FileSender,
  ) {
    this.#ownedStageBelow = Math.min(stageBelow, OWNED_STAGE_BELOW);
  }

  /**
   * Hands the queue to the backend: from the fiber's pass, or from `write()` (the fiber is then
   * parked or waiting, never in the middle of a pass, which runs without yielding).
   */
  submit(): number {
    this.stats.submissions++;
    this.#ownedSinceSubmit = 0;
    const result = this.#submitAll();
    this.#held = result === SUBMITTED && this.queue.length > 0;
    // Notifications are read when they are there: the kernel queues one as it frees each zero-copy
    // send, often within the send itself, and leases then recycle without waiting for a POLLERR
    // wake. (A failed read is left to the fiber, which reads the queue again on POLLERR.)
    if (this.backend.inflight > 0) this.backend.reap(this.stats);
    return result;
  }

  #submitAll(): number {
    const queue = this.queue;
    for (;;) {
      const ahead = queue.beforeFirstFile();
      if (ahead < 0) return this.backend.submit(queue, this.stats);
      if (ahead > 0) {
        // An io_uring chain completes later: the file waits until the segments ahead of it are sent.
        const result = this.backend.submit(queue, this.stats, ahead);
        if (result !== SUBMITTED || queue.fileAt(0) === undefined) return result;
      }
      const result = this.files!.submit(queue, this.stats);
      if (result !== SUBMITTED || queue.length === 0) return result;
    }
  }

  /** Whether the backend holds what is queued and will wake the fiber (see {@link SUBMITTED}). */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Whether the stream's close may resolve while zero-copy notifications are still to come (every
   * byte is in the kernel; the connection's release holds the buffers until they are notified).
   * With `auto` it does, as with copy: zero-copy was auto's choice, and over TCP its notifications
   * wait for the peer's acknowledgements (a peer in the same program that reads only after close
   * would never send them). A zero-copy backend the caller chose waits for every notification.
   */
  get closesBeforeNotified(): boolean {
    return this.routes !== undefined;
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
   * Records a validated chunk (empty only over UDP, as an empty datagram) of `size` bytes (its
   * length as the intrinsics read it). Returns undefined when the write is complete, or the promise
   * that settles when it is.
   */
  write(chunk: Uint8Array, size: number = byteLengthOf(chunk)): Promise<void> | undefined {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#closing) return Promise.reject(closedError());
    let lease: Uint8Array | undefined;
    if (leasesOut.count > 0) {
      const taken = this.leases.take(chunk, size);
      if (taken instanceof ZcioError) return Promise.reject(taken);
      lease = taken;
    }
    this.stats.chunks++;
    const transferable = lease === undefined && this.transfersBuffers && size >= this.#ownedStageBelow &&
      spansWholeBuffer(chunk);
    // Owned memory is staged only below the zero-copy crossover; the caller's own up to stageBelow,
    // even when transferBuffers could take it but its route goes by copy.
    const owned = (lease !== undefined || transferable) && size >= this.#ownedStageBelow &&
      this.#own(lease, chunk, size, transferable);
    if (!owned && size < this.stageBelow) {
      if (this.routes !== undefined) this.stats.routed.copy++;
      if (this.queue.stage(lease ?? chunk)) {
        if (lease !== undefined) this.leases.giveBack(lease);
        this.#kick();
        return undefined;
      }
      this.#waiting = lease ?? chunk;
      this.#waitingLease = lease !== undefined;
    } else if (owned) {
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
      if (this.routes !== undefined) this.stats.routed.copy++;
      this.#borrowed = chunk;
      this.queue.borrow(chunk, size);
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

  /**
   * Queues a file after everything written so far. The promise settles with the send (it rejects
   * only when the error ended sending; the send's own outcome is in `send.done`).
   */
  sendFile(send: FileSend): Promise<void> {
    const error = this.#error ?? (this.#closing ? closedError() : undefined);
    if (error !== undefined) {
      send.fail(error);
      return Promise.reject(error);
    }
    this.stats.files++;
    this.queue.file(send);
    // As for a large chunk: an idle connection starts sending at once.
    if (this.#wake !== undefined) this.#submitNow();
    this.#kick();
    return send.settled.then(() => {
      if (this.#error !== undefined) throw this.#error;
    });
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
    this.leases.admit();
    const chunk = this.#waiting;
    if (chunk !== undefined && this.queue.stage(chunk)) {
      this.#waiting = undefined;
      if (this.#waitingLease) this.leases.giveBack(chunk);
      this.#waitingLease = false;
      this.#settle(undefined);
    } else if (this.#ownedOver && !this.#overOwnedLimit()) {
      this.#ownedOver = false;
      this.#settle(undefined);
    }
  }

  /**
   * Queues a chunk of {@link OWNED_STAGE_BELOW} bytes or more as owned: a lease (handed over
   * already) always; a whole buffer the `transferBuffers` option lets zcio take (`transferable`)
   * only where it goes zero-copy, transferred now. True if it was owned (its write may resolve at
   * once); false if the caller's chunk goes by copy after all (staged or borrowed).
   */
  #own(lease: Uint8Array | undefined, chunk: Uint8Array, size: number, transferable: boolean): boolean {
    const routes = this.routes, stats = this.stats;
    // A caller's buffer is taken over only with the option, and only to go zero-copy.
    if (routes === undefined) {
      if (lease === undefined && !this.zerocopy) return false;
      this.queue.own(lease ?? takeOver(chunk), this.zerocopy ? ROUTE_MSG_ZEROCOPY : ROUTE_COPY);
      return true;
    }
    let route = routes.route(size);
    if (lease !== undefined) {
      if (route !== ROUTE_COPY) route = routes.leaseRoute(lease, route);
      this.queue.own(lease, route);
    } else if (transferable && route !== ROUTE_COPY) {
      this.queue.own(takeOver(chunk), route);
    } else {
      return false;
    }
    if (route === ROUTE_IO_URING) stats.routed.io_uring++;
    else if (route === ROUTE_MSG_ZEROCOPY) stats.routed.msg_zerocopy++;
    else stats.routed.copy++;
    return true;
  }

  /**
   * At the owned limit, sends what is queued (a copied send frees its chunk at once) or else reads
   * the notifications that have come since the last send. True if that brought the owned bytes
   * under the limit.
   */
  #freedAtLimit(): boolean {
    if (this.#ownedSinceSubmit > 0) this.#submitNow();
    else this.backend.reap(this.stats);
    return !this.#overOwnedLimit();
  }

  #overOwnedLimit(): boolean {
    return this.queue.owned.bytes > this.maxOwnedBytes;
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
    if ((this.hasWork && !this.#held) || this.#error !== undefined) wake();
    else this.#wake = wake;
  }

  /** Wakes a parked fiber: a notification or completion arrived, or the backend can take more. */
  wakeUp(): void {
    this.#held = false;
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
    const queue = this.queue;
    for (let i = 0; i < queue.length; i++) queue.fileAt(i)?.fail(this.#error);
    // Owned buffers go back to the leases as the kernel lets go of them.
    queue.clear();
    if (this.#waitingLease) this.leases.giveBack(this.#waiting!);
    this.#waiting = this.#borrowed = undefined;
    this.#waitingLease = false;
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
export const closedError = (): ZcioError => new ZcioError({ code: "CLOSED", message: "the stream is closed; open a new connection to send more" });

/** Whether `chunk` is all of a buffer that can be transferred (not a SharedArrayBuffer). */
const spansWholeBuffer = (chunk: Uint8Array): boolean => {
  let length: number;
  try {
    length = arrayBufferByteLengthOf(bufferOf(chunk) as ArrayBuffer);
  } catch {
    return false; // a SharedArrayBuffer
  }
  return byteOffsetOf(chunk) === 0 && byteLengthOf(chunk) === length;
};

/**
 * Moves the chunk's buffer into zcio: the caller's views of it become detached, so nothing the
 * caller does can change bytes the kernel has yet to send. No bytes are copied.
 */
const takeOver = (chunk: Uint8Array): Uint8Array => new Uint8Array(moveOut(bufferOf(chunk) as ArrayBuffer));

/**
 * The one io_uring ring of this thread, shared by every io_uring connection: connections prepare
 * SQEs during their passes, and one `io_uring_enter` (queued as a microtask, so it runs after every
 * fiber of the current macrotask has prepared its batch) submits them all. Completions and
 * notifications are reaped in bulk right after that enter and whenever the ring's eventfd fires,
 * and handed to their connection by the high half of `user_data`.
 *
 * The ring is made with SINGLE_ISSUER|DEFER_TASKRUN where the kernel allows it, so SEND_ZC
 * notifications appear only after `io_uring_enter(GETEVENTS)` from this thread: the eventfd
 * registered with the ring tells when that is needed (ffi/io_uring/README.md).
 *
 * @module
 */
import { EAGAIN, EBUSY, EINTR, ENOMEM, POLLIN } from "../ffi/constants.ts";
import { type BufferRegistration, RegisteredBuffers } from "../ffi/io_uring/registered_buffers.ts";
import { Ring } from "../ffi/io_uring/ring.ts";
import { RingEventfd } from "../ffi/io_uring/ring_eventfd.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";
import { RegisteredLeases } from "./registered_leases.ts";

/** SQEs in the ring; a connection's chain is at most a quarter of it. */
export const RING_ENTRIES = 256;
/** Registered memory for leases. */
export const LEASE_POOL_BYTES = 8 << 20;
const TWO_32 = 4294967296;

/** The smallest lease pool worth registering. */
const MIN_LEASE_POOL_BYTES = 1 << 20;

/**
 * Registers the lease pool: LEASE_POOL_BYTES, or half of that again while the kernel answers
 * ENOMEM (RLIMIT_MEMLOCK, which on 6.18 also counts the ring's own memory), down to 1 MiB.
 */
export const registerLeasePool = (sys: Sys, ring: Ring): BufferRegistration => {
  let registration = RegisteredBuffers.register(sys, ring, LEASE_POOL_BYTES);
  for (let size = LEASE_POOL_BYTES / 2; !registration.ok && registration.errno === ENOMEM && size >= MIN_LEASE_POOL_BYTES; size /= 2) {
    registration = RegisteredBuffers.register(sys, ring, size);
  }
  return registration;
};

/** What a connection's io_uring sender gets told. */
export interface UringClient {
  /** A CQE of this client's: `slot` is the low half of user_data. */
  complete(slot: number, res: number, flags: number): void;
}

/** The shared ring, or why there is none. */
export type UringAvailability =
  | { readonly ok: true; readonly dispatcher: UringDispatcher }
  | { readonly ok: false; readonly reason: string };

let shared: UringAvailability | undefined;

export class UringDispatcher {
  /** Leases from registered memory, or undefined (and why) when registration failed. */
  readonly leases: RegisteredLeases | undefined;
  readonly leaseUnavailableReason: string | undefined;
  /** One line on how the ring was set up. */
  readonly setupReport: string;
  readonly #clients: (UringClient | undefined)[] = [];
  readonly #freeIds: number[] = [];
  readonly #watch: FdWatch;
  #enterQueued = false;
  /** Senders that found no room in the SQ, woken once a pass has run. */
  #waitingForRoom: (() => void)[] = [];
  #passQueued = false;
  /** Requests whose last CQE has not come yet; the eventfd is watched while there are any. */
  #outstanding = 0;

  private constructor(
    private readonly sys: Sys,
    readonly ring: Ring,
    private readonly eventfd: RingEventfd,
    private readonly waiter: Waiter,
    report: string,
  ) {
    this.setupReport = report;
    const registration = registerLeasePool(sys, ring);
    this.leases = registration.ok ? new RegisteredLeases(registration.buffers) : undefined;
    this.leaseUnavailableReason = registration.ok
      ? undefined
      : `io_uring: registering lease memory failed (${registration.reason}); leases are plain memory sent by unregistered SEND_ZC`;
    this.#watch = waiter.watch(eventfd.fd);
    this.#watch.onReadable = () => {
      this.#pass();
      if (this.#outstanding > 0) this.waiter.arm(this.#watch, POLLIN);
    };
  }

  /** This thread's ring, made on first use; the same answer after. */
  static shared(sys: Sys, waiter: Waiter): UringAvailability {
    if (shared !== undefined) return shared;
    const setup = Ring.setup(sys, RING_ENTRIES);
    if (!setup.ok) return (shared = { ok: false, reason: `io_uring: ${setup.reason}` });
    const eventfd = RingEventfd.register(sys, setup.ring);
    if (!eventfd.ok) {
      setup.ring.close();
      return (shared = { ok: false, reason: `io_uring: ${eventfd.reason}` });
    }
    return (shared = {
      ok: true,
      dispatcher: new UringDispatcher(sys, setup.ring, eventfd.eventfd, waiter, setup.report),
    });
  }

  /** Registers a connection; its CQEs carry the returned id in the high half of user_data. */
  attach(client: UringClient): number {
    const id = this.#freeIds.length > 0 ? this.#freeIds.pop()! : this.#clients.length;
    this.#clients[id] = client;
    return id;
  }

  /** Forgets a connection that has no request left in the ring. */
  detach(id: number): void {
    this.#clients[id] = undefined;
    this.#freeIds.push(id);
  }

  /** The user_data of request `slot` of client `id`. */
  userData(id: number, slot: number): number {
    return id * TWO_32 + slot;
  }

  /**
   * Room for a chain of up to `n` SQEs. When the SQ is too full, what is prepared goes to the kernel
   * first (without reaping, so no completion runs inside the caller's pass). 0 when even that
   * cannot make room now (the CQ is backed up): the caller tries again on a later pass.
   */
  reserve(n: number): number {
    if (this.ring.sqSpace() < n) this.ring.submit(0, false);
    return Math.min(n, this.ring.sqSpace());
  }

  /** Runs `wake` after the next pass over the CQ: the SQ had no room for a sender's chain. */
  whenRoom(wake: () => void): void {
    this.#waitingForRoom.push(wake);
  }

  /** `requests` more requests were prepared; they go with this macrotask's enter. */
  submitted(requests: number): void {
    this.#outstanding += requests;
    if (this.#enterQueued) return;
    this.#enterQueued = true;
    queueMicrotask(this.#enterNow);
  }

  /** A request's last CQE came. */
  finished(): void {
    this.#outstanding--;
  }

  readonly #enterNow = (): void => {
    this.#enterQueued = false;
    this.#enter();
  };

  #enter(): void {
    for (;;) {
      const r = this.ring.submit(0, false);
      if (r >= 0 || (r !== -EINTR && r !== -EAGAIN && r !== -EBUSY)) break;
      // The CQ is full (EBUSY/EAGAIN): reap to make room, then submit again.
      this.#pass();
    }
    // Sends that completed inline have their first CQE in the ring already.
    this.#pass();
    if (this.#outstanding > 0) this.waiter.arm(this.#watch, POLLIN);
  }

  #pass(): void {
    this.eventfd.pass(this.#dispatch);
    if (this.#waitingForRoom.length > 0) {
      const waiting = this.#waitingForRoom;
      this.#waitingForRoom = [];
      for (const wake of waiting) wake();
    }
    // Work the pass could not finish yet (it does not spin on it): another pass in a millisecond,
    // since the eventfd may not signal it again.
    if (this.eventfd.pending() && !this.#passQueued) {
      this.#passQueued = true;
      const timer = setTimeout(this.#passLater, 1);
      (timer as { unref?: () => void }).unref?.();
    }
  }

  readonly #passLater = (): void => {
    this.#passQueued = false;
    this.#pass();
    if (this.#outstanding > 0) this.waiter.arm(this.#watch, POLLIN);
  };

  readonly #dispatch = (userData: number, res: number, flags: number): void => {
    const id = Math.floor(userData / TWO_32);
    this.#clients[id]?.complete(userData >>> 0, res, flags);
  };
}

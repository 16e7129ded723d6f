/**
 * An eventfd registered with a {@link Ring} (IORING_REGISTER_EVENTFD), so that the process Waiter
 * (ffi/waiter.ts, one epoll set) can wait for completions like for any other fd, and a completion
 * pass that reaps everything without losing a wake-up.
 *
 * What this kernel does (Linux 6.18; ffi/io_uring/README.md, tests/ffi/io_uring/eventfd_test.ts): with DEFER_TASKRUN the
 * eventfd is signalled as soon as a completion is queued as deferred task work, before any
 * enter(GETEVENTS), while the CQ is still empty; the ring fd itself is not usable for this, because
 * deferred work never wakes a poll or epoll sleeping on it. REGISTER_EVENTFD_ASYNC is not signalled
 * for deferred work at all, so only the plain registration is used here.
 *
 * @example
 * ```ts
 * const made = RingEventfd.register(sys, ring);
 * if (!made.ok) throw new Error(made.reason);
 * const watch = waiter.watch(made.eventfd.fd);
 * watch.onReadable = () => { made.eventfd.pass(onCqe); waiter.arm(watch, POLLIN); };
 * waiter.arm(watch, POLLIN);
 * ```
 *
 * @module
 */
import { EAGAIN, EBUSY, EFD_CLOEXEC, EFD_NONBLOCK, IORING_SETUP_TASKRUN_FLAG } from "../constants.ts";
import { errnoName } from "../errno_name.ts";
import { bufferOf } from "../intrinsics.ts";
import type { Sys } from "../sys.ts";
import type { Ring } from "./ring.ts";

export type RingEventfdResult =
  | { readonly ok: true; readonly eventfd: RingEventfd }
  | { readonly ok: false; readonly errno: number; readonly code: string; readonly reason: string };

export class RingEventfd {
  readonly #sys: Sys;
  readonly #ring: Ring;
  readonly #counter = new Uint8Array(8);
  readonly #counterView = new DataView(bufferOf(this.#counter));
  /** Whether signals may be paused during a pass: only if missed deferred work shows in the SQ flags. */
  readonly #quietPass: boolean;
  #closed = false;

  private constructor(sys: Sys, ring: Ring, readonly fd: number) {
    this.#sys = sys;
    this.#ring = ring;
    this.#quietPass = !ring.deferTaskrun || (ring.flags & IORING_SETUP_TASKRUN_FLAG) !== 0;
  }

  /** Makes a non-blocking eventfd and registers it with `ring`; a failure result says why. */
  static register(sys: Sys, ring: Ring): RingEventfdResult {
    const fd = sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return { ok: false, errno: -fd, code: errnoName(-fd), reason: `eventfd failed: ${errnoName(-fd)}` };
    const r = ring.registerEventfd(fd);
    if (r < 0) {
      sys.close(fd);
      return {
        ok: false,
        errno: -r,
        code: errnoName(-r),
        reason: `IORING_REGISTER_EVENTFD failed: ${errnoName(-r)}` +
          (r === -EBUSY ? " (the ring already has an eventfd)" : ""),
      };
    }
    return { ok: true, eventfd: new RingEventfd(sys, ring, fd) };
  }

  /** Reads and resets the eventfd counter; returns it (0 when it was not signalled). */
  clear(): number {
    const n = this.#sys.read(this.fd, this.#counter);
    if (n === -EAGAIN || n !== 8) return 0;
    return this.#counterView.getUint32(0, true) + this.#counterView.getUint32(4, true) * 4294967296;
  }

  /**
   * One completion pass, for when the eventfd is readable: resets it, runs deferred task work
   * (enter(GETEVENTS) under DEFER_TASKRUN, or when CQEs overflowed), hands every CQE to
   * `handler(userData, res, flags)` and repeats while that finds CQEs and more is flagged. Returns
   * the CQEs handled; {@link pending} says whether work was left for another pass.
   *
   * With TASKRUN_FLAG (or without DEFER_TASKRUN) the eventfd is paused during the pass, so the
   * CQEs the pass itself posts do not signal it again; work queued meanwhile shows in the SQ flags
   * (IORING_SQ_TASKRUN) or the CQ tail and is picked up before returning. Otherwise the eventfd
   * stays live and may report one spurious readiness after the pass.
   *
   * If `handler` throws, the pass stops there (signals back on) and the error propagates; CQEs not
   * yet handled stay in the CQ, so call pass() again rather than waiting for the eventfd.
   */
  pass(handler: (userData: number, res: number, flags: number) => void): number {
    const ring = this.#ring;
    const quiet = this.#quietPass;
    let total = 0;
    if (quiet) ring.setEventfdEnabled(false);
    try {
      this.clear();
      for (;;) {
        if (ring.deferTaskrun || ring.cqOverflowPending()) ring.getEvents();
        const reaped = ring.reap(handler);
        total += reaped;
        if (quiet) ring.setEventfdEnabled(true);
        // Work still flagged that this round could not turn into CQEs is left to a later pass
        // (see pending()) rather than spun on: once, in a 5-minute benchmark on 6.18, the main
        // thread made nothing but enter(GETEVENTS) calls for minutes, which only this loop does.
        if (!this.pending() || reaped === 0) return total;
        if (quiet) ring.setEventfdEnabled(false);
      }
    } finally {
      if (quiet) ring.setEventfdEnabled(true);
    }
  }

  /** Whether a pass has work left: deferred task work, overflowed CQEs, or CQEs to read. */
  pending(): boolean {
    const ring = this.#ring;
    return ring.taskrunPending() || ring.cqOverflowPending() || ring.peekCqe() > 0;
  }

  /** Unregisters the eventfd from the ring (if it is still open) and closes it. Forget its Waiter watch first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ring.closed) this.#ring.unregisterEventfd();
    this.#sys.close(this.fd);
  }
}

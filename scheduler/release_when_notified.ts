/**
 * Holds a finished connection's socket and memory until the kernel has released every zero-copy
 * buffer, then runs its release. A buffer whose address the kernel still reads must stay alive:
 * freed and reused memory would go out on the wire. This runs after `close()` or `abort()` has
 * resolved, so the caller never waits for a peer that stopped acknowledging.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import type { SendStats } from "../backends/send_stats.ts";
import { POLLERR } from "../ffi/constants.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";

/** How long notifications are awaited before zcio gives up reading them. */
const GIVE_UP_MS = 60_000;

/** Backends whose notifications never came: their buffers stay pinned for the life of the process. */
const neverReleased: Backend[] = [];

/** Runs `release` once `backend` holds no buffer, reading notifications as they come. */
export const releaseWhenNotified = (
  backend: Backend,
  stats: SendStats,
  waiter: Waiter,
  watch: FdWatch,
  release: () => void,
): void => {
  // Nothing in flight, nothing to be notified of: no read of the error queue (a syscall per close).
  if (backend.inflight > 0 && backend.watchesErrorQueue) backend.reap(stats);
  if (backend.inflight === 0 && !backend.busy) return release();
  let released = false;
  const releaseOnce = () => {
    if (released) return;
    released = true;
    clearTimeout(timer);
    release();
  };
  const timer = setTimeout(() => {
    neverReleased.push(backend);
    waiter.disarm(watch, POLLERR);
    releaseOnce();
  }, GIVE_UP_MS);
  (timer as { unref?: () => void }).unref?.();
  if (!backend.watchesErrorQueue) return backend.whenIdle(releaseOnce);
  // A backend with both (auto: the ring's sender and MSG_ZEROCOPY) empties the ring first.
  backend.whenIdle(() => {
    if (released) return;
    backend.reap(stats);
    if (backend.inflight === 0) return releaseOnce();
    watch.onError = () => {
      backend.reap(stats);
      if (backend.inflight > 0) return waiter.arm(watch, POLLERR);
      releaseOnce();
    };
    waiter.arm(watch, POLLERR);
  });
};

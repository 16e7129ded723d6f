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

/**
 * How long notifications are awaited before zcio gives up reading them. A property so that tests
 * can shorten it.
 */
export const releaseLimits = { giveUpMs: 60_000 };

/** Backends whose notifications never came: their buffers stay pinned for the life of the process. */
const neverReleased: Backend[] = [];

/**
 * Runs `release` once `backend` holds no buffer, reading notifications as they come. If they have
 * not all come after {@link releaseLimits}.giveUpMs, `release(true)` runs: the kernel may still read
 * the connection's memory (a request still in the ring, a send not yet notified), so it must stay
 * mapped for the life of the process; everything else is released.
 */
export const releaseWhenNotified = (
  backend: Backend,
  stats: SendStats,
  waiter: Waiter,
  watch: FdWatch,
  release: (memoryStillRead: boolean) => void,
): void => {
  // Nothing in flight, nothing to be notified of: no read of the error queue (a syscall per close).
  if (backend.inflight > 0) backend.reap(stats);
  let released = false;
  const releaseOnce = (memoryStillRead: boolean) => {
    if (released) return;
    released = true;
    clearTimeout(timer);
    release(memoryStillRead);
  };
  const timer = setTimeout(() => {
    neverReleased.push(backend);
    waiter.disarm(watch, POLLERR);
    releaseOnce(true);
  }, releaseLimits.giveUpMs);
  (timer as { unref?: () => void }).unref?.();
  // The backend keeps POLLERR armed while it owes error-queue notifications; ring completions come
  // to it directly.
  watch.onError = () => backend.reap(stats);
  backend.whenIdle(() => releaseOnce(false));
};

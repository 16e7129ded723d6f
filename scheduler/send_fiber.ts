/**
 * The Effect program that sends for one connection, one batch per pass: it parks until the sink
 * has recorded something or the kernel has news (a notification, an io_uring completion), reads
 * every error-queue notification available in one go, hands everything recorded to the backend in
 * as few syscalls as it can, waits for POLLOUT when the socket is full, and stops once the outbox
 * is closed, empty, and the kernel has released every buffer.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { INVALID_HEAD, PAUSED, SUBMITTED, WOULD_BLOCK } from "../backends/backend.ts";
import { ECONNREFUSED, POLLOUT, SO_ERROR, SOL_SOCKET } from "../ffi/constants.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";
import { errnoError, type ZcioError } from "../ffi/zcio_error.ts";
import type { Outbox } from "./outbox.ts";

/** Sends until the outbox is closed and drained; fails with the error that ended sending. */
export const sendFiber = (
  sys: Sys,
  outbox: Outbox,
  waiter: Waiter,
  watch: FdWatch,
): Effect.Effect<void, ZcioError> => {
  let notified = false;
  watch.onError = () => {
    notified = true;
    outbox.wakeUp();
  };
  const parked = Effect.callback<void>((resume) => {
    outbox.park(() => resume(Effect.void));
  });
  const writable = Effect.callback<void>((resume) => {
    watch.onWritable = () => resume(Effect.void);
    waiter.arm(watch, POLLOUT);
    return Effect.sync(() => waiter.disarm(watch, POLLOUT));
  });
  const nextMacrotask = Effect.callback<void>((resume) => {
    setImmediate(() => resume(Effect.void));
  });
  const socketError = new Int32Array(1);
  return Effect.gen(function* () {
    const { stats, backend } = outbox;
    for (;;) {
      // Aborted: the queue was dropped and every pending write failed; nothing is left to send, and
      // a POLLOUT interest left from a wait the abort cut short must not keep the waiter busy.
      if (outbox.error !== undefined) return waiter.disarm(watch, POLLOUT);
      if (notified) {
        notified = false;
        const reaped = backend.reap(stats);
        if (reaped < 0) return yield* Effect.fail(errnoError("recvmsg(MSG_ERRQUEUE)", reaped, backend.name));
        if (reaped === 0) {
          // POLLERR with no notification: the socket itself failed.
          sys.getsockopt(watch.fd, SOL_SOCKET, SO_ERROR, new Uint8Array(socketError.buffer));
          // ECONNREFUSED is a datagram socket's ICMP port unreachable for an earlier datagram: it
          // ends nothing (a stream socket reports refusals only while connecting).
          if (socketError[0] !== 0 && socketError[0] !== ECONNREFUSED) {
            return yield* Effect.fail(errnoError("send", -socketError[0], backend.name));
          }
        }
      }
      outbox.admitWaiting();
      if (!outbox.hasWork || outbox.held) {
        if (outbox.closing && !outbox.hasWork && (backend.inflight === 0 || outbox.closesBeforeNotified)) return;
        yield* parked;
        continue;
      }
      const result = outbox.submit();
      outbox.admitWaiting();
      if (result === SUBMITTED) continue;
      if (result === WOULD_BLOCK) {
        stats.waits++;
        yield* writable;
      } else if (result === PAUSED) {
        yield* nextMacrotask;
      } else if (result === INVALID_HEAD) {
        const error = outbox.rejectHead();
        if (error !== undefined) return yield* Effect.fail(error);
      } else {
        return yield* Effect.fail(errnoError("send", result, backend.name));
      }
    }
  });
};

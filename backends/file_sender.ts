/**
 * Sends the {@link FileSend} at the head of a TCP connection's queue with `sendfile(2)`: the kernel
 * moves the bytes from the page cache to the socket, never through user space. The socket is
 * non-blocking, so a call takes what fits in the socket buffer; a short one means it is full and
 * the scheduler waits for POLLOUT, as it does for any send. A call that takes nothing although
 * bytes of the range remain means the file ended early (it shrank while being sent): that send
 * fails with FILE_TRUNCATED and the stream goes on. An error of the socket ends the connection's
 * sending; any other (the file's) fails only that send.
 *
 * @module
 */
import { EAGAIN, ECONNABORTED, ECONNRESET, EHOSTUNREACH, EINTR, ENETDOWN, ENETUNREACH, ENOTCONN, EPIPE, ETIMEDOUT } from "../ffi/constants.ts";
import type { Sys } from "../ffi/sys.ts";
import { errnoError, ZcioError } from "../ffi/zcio_error.ts";
import { PAUSED, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/**
 * The most one pass asks sendfile(2) for. A peer that reads as fast as the kernel sends (loopback,
 * a fast link) would otherwise keep one call going for hundreds of MiB, and the event loop with it.
 */
export const FILE_PASS_BYTES = 8 << 20;

/** errnos that say the connection, not the file, failed. */
const SOCKET_ERRORS = new Set([EPIPE, ECONNRESET, ECONNABORTED, ENOTCONN, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN]);

export class FileSender {
  constructor(private readonly sys: Sys, private readonly fd: number) {}

  /**
   * Sends the file at the head of `queue`, {@link FILE_PASS_BYTES} at most. Returns {@link SUBMITTED}
   * once that send is over (all of it went, or it failed on its own), {@link PAUSED} when the pass's
   * share went and more is left, {@link WOULD_BLOCK} when the socket is full, or -errno for a socket
   * error that ends sending.
   */
  submit(queue: SendQueue, stats: SendStats): number {
    const file = queue.fileAt(0)!;
    for (;;) {
      // Aborted while it waited: nothing more of it goes.
      if (file.isSettled) {
        queue.dropHead();
        return SUBMITTED;
      }
      const left = file.length - file.sent;
      const asked = Math.min(left, FILE_PASS_BYTES);
      const sent = this.sys.sendfile(this.fd, file.fd, file.offset(), asked);
      stats.syscalls++;
      if (sent > 0) {
        file.sent += sent;
        stats.fileBytes += sent;
        queue.consume(sent);
        if (sent === left) {
          file.finish();
          return SUBMITTED;
        }
        return sent < asked ? WOULD_BLOCK : PAUSED;
      }
      if (sent === -EINTR) continue;
      if (sent === -EAGAIN) return WOULD_BLOCK;
      if (sent < 0 && SOCKET_ERRORS.has(-sent)) return sent;
      queue.dropHead();
      file.fail(
        sent === 0
          ? new ZcioError({
            code: "FILE_TRUNCATED",
            message: `the file ended at byte ${file.start + file.sent}, before the range sendFile was given; ` +
              "a file must not shrink while it is being sent",
          })
          : errnoError("sendfile", sent),
      );
      return SUBMITTED;
    }
  }
}

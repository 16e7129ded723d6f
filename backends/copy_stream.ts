/**
 * The copy backend for byte streams (TCP): every queued segment, staged or borrowed, leaves in one
 * `sendmsg` with an iovec array (up to IOV_MAX), and the kernel copies it. A short send means the
 * socket buffer is full, so the scheduler waits for POLLOUT instead of trying again at once.
 *
 * @module
 */
import { EAGAIN, EINTR, IOV_MAX, MSG_DONTWAIT, MSG_NOSIGNAL } from "../ffi/constants.ts";
import type { Slab } from "../ffi/slab.ts";
import { IOVEC_SIZE, MSGHDR_SIZE, setIovec, setMsghdr } from "../ffi/structs.ts";
import type { Ptr, Sys } from "../ffi/sys.ts";
import { type Backend, INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** Control memory one {@link CopyStream} needs: a msghdr and IOV_MAX iovecs. */
export const COPY_STREAM_CONTROL_BYTES = MSGHDR_SIZE + 8 + IOV_MAX * IOVEC_SIZE;

export class CopyStream implements Backend {
  readonly name = "copy" as const;
  readonly #msg: Ptr;
  readonly #iovAddress: number;
  readonly #data: DataView;
  readonly #iovOffset: number;

  /** @param control `COPY_STREAM_CONTROL_BYTES` of mmap'd memory at `controlOffset`, for this backend only */
  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    control: Slab,
    controlOffset: number,
  ) {
    this.#data = control.data;
    this.#msg = control.pointerAt(controlOffset);
    this.#iovOffset = controlOffset + MSGHDR_SIZE + 8;
    this.#iovAddress = control.addr + this.#iovOffset;
  }

  submit(queue: SendQueue, stats: SendStats): number {
    const sys = this.sys, d = this.#data;
    for (;;) {
      const segments = Math.min(queue.length, IOV_MAX);
      if (segments === 0) return SUBMITTED;
      let iovs = 0, total = 0;
      for (; iovs < segments; iovs++) {
        const address = queue.address(iovs, sys.addressOf);
        if (address < 0) break;
        const length = queue.remaining(iovs);
        setIovec(d, this.#iovOffset + iovs * IOVEC_SIZE, address, length);
        total += length;
      }
      if (iovs === 0) return INVALID_HEAD;
      setMsghdr(d, this.#iovOffset - MSGHDR_SIZE - 8, 0, 0, this.#iovAddress, iovs, 0, 0);
      const sent = sys.sendmsg(this.fd, this.#msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      stats.syscalls++;
      if (sent < 0) {
        if (sent === -EINTR) continue;
        return sent === -EAGAIN ? WOULD_BLOCK : sent;
      }
      stats.bytes.copy += sent;
      queue.consume(sent);
      if (sent < total) return WOULD_BLOCK;
    }
  }

  close(): void {}
}

/**
 * The copy backend for datagram sockets (UDP): each queued segment is one datagram, and a batch of
 * them leaves in one `sendmmsg`. The socket is connected, so no address travels with them.
 *
 * @module
 */
import { EAGAIN, ECONNREFUSED, EINTR, MSG_DONTWAIT, MSG_NOSIGNAL } from "../ffi/constants.ts";
import type { Slab } from "../ffi/slab.ts";
import { IOVEC_SIZE, MMSGHDR_SIZE, setIovec, setMsghdr } from "../ffi/structs.ts";
import type { Ptr, Sys } from "../ffi/sys.ts";
import { type Backend, INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** Datagrams one sendmmsg carries at most. */
const BATCH = 256;

/** Control memory one {@link CopyDatagram} needs: BATCH mmsghdrs and BATCH iovecs. */
export const COPY_DATAGRAM_CONTROL_BYTES = BATCH * (MMSGHDR_SIZE + IOVEC_SIZE);

export class CopyDatagram implements Backend {
  readonly name = "copy" as const;
  readonly #vec: Ptr;
  readonly #data: DataView;
  readonly #msgOffset: number;
  readonly #iovOffset: number;
  readonly #iovAddress: number;

  /** @param control `COPY_DATAGRAM_CONTROL_BYTES` of mmap'd memory at `controlOffset`, for this backend only */
  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    control: Slab,
    controlOffset: number,
  ) {
    this.#data = control.data;
    this.#vec = control.pointerAt(controlOffset);
    this.#msgOffset = controlOffset;
    this.#iovOffset = controlOffset + BATCH * MMSGHDR_SIZE;
    this.#iovAddress = control.addr + this.#iovOffset;
  }

  submit(queue: SendQueue, stats: SendStats): number {
    const sys = this.sys, d = this.#data;
    for (;;) {
      const segments = Math.min(queue.length, BATCH);
      if (segments === 0) return SUBMITTED;
      let messages = 0;
      for (; messages < segments; messages++) {
        const address = queue.address(messages, sys.addressOf);
        if (address < 0) break;
        const iov = this.#iovOffset + messages * IOVEC_SIZE;
        setIovec(d, iov, address, queue.remaining(messages));
        setMsghdr(d, this.#msgOffset + messages * MMSGHDR_SIZE, 0, 0, this.#iovAddress + messages * IOVEC_SIZE, 1, 0, 0);
      }
      if (messages === 0) return INVALID_HEAD;
      const sent = sys.sendmmsg(this.fd, this.#vec, messages, MSG_NOSIGNAL | MSG_DONTWAIT);
      stats.syscalls++;
      if (sent < 0) {
        // A refused earlier datagram (ICMP port unreachable) is reported once, on a later send that
        // did not happen: send that one again.
        if (sent === -EINTR || sent === -ECONNREFUSED) continue;
        return sent === -EAGAIN ? WOULD_BLOCK : sent;
      }
      for (let i = 0; i < sent; i++) {
        stats.bytes.copy += queue.remaining(0);
        queue.consumeSegment();
      }
      if (sent < messages) return WOULD_BLOCK;
    }
  }

  close(): void {}
}

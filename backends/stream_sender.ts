/**
 * The send path for byte streams (TCP), serving the copy and msg_zerocopy backends. Queued
 * segments leave in runs, one `sendmsg` with an iovec array (up to IOV_MAX) per run: with a
 * {@link MsgZerocopy} enabled, a run of owned segments goes with MSG_ZEROCOPY and each of its
 * buffers stays pinned until the kernel's notification; everything else goes by copy. Runs leave
 * one after another on the same socket, so bytes keep their order. A short send means the socket
 * buffer is full, so the scheduler waits for POLLOUT instead of trying again at once.
 *
 * @module
 */
import { EAGAIN, EINTR, ENOBUFS, IOV_MAX, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_ZEROCOPY } from "../ffi/constants.ts";
import type { Slab } from "../ffi/slab.ts";
import { IOVEC_SIZE, MSGHDR_SIZE, setIovec, setMsghdr } from "../ffi/structs.ts";
import type { Ptr, Sys } from "../ffi/sys.ts";
import { INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import { countCopied, DirectSender, zerocopyRoute } from "./direct_sender.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import type { SendQueue } from "./send_queue.ts";
import { COPIED_DOWNGRADED, COPIED_NO_BUFFERS, type SendStats } from "./send_stats.ts";

/** Control memory one {@link StreamSender} needs: a msghdr and IOV_MAX iovecs. */
export const STREAM_SENDER_CONTROL_BYTES = MSGHDR_SIZE + 8 + IOV_MAX * IOVEC_SIZE;

export class StreamSender extends DirectSender {
  readonly #msg: Ptr;
  readonly #msgOffset: number;
  readonly #iovAddress: number;
  readonly #data: DataView;
  readonly #iovOffset: number;

  /**
   * @param control `STREAM_SENDER_CONTROL_BYTES` of mmap'd memory at `controlOffset`, for this sender only
   * @param zerocopy the socket's MSG_ZEROCOPY state, or undefined for copy only
   */
  constructor(
    sys: Sys,
    fd: number,
    control: Slab,
    controlOffset: number,
    zerocopy: MsgZerocopy | undefined,
  ) {
    super(sys, fd, zerocopy);
    this.#data = control.data;
    this.#msg = control.pointerAt(controlOffset);
    this.#msgOffset = controlOffset;
    this.#iovOffset = controlOffset + MSGHDR_SIZE + 8;
    this.#iovAddress = control.addr + this.#iovOffset;
  }

  override submit(queue: SendQueue, stats: SendStats, limit = Infinity): number {
    const sys = this.sys, d = this.#data, zc = this.zerocopy;
    // Segments past this many from the end are not this call's.
    const leave = Math.max(0, queue.length - limit);
    let copyOnce = false;
    for (;;) {
      const segments = Math.min(queue.length - leave, IOV_MAX);
      if (segments <= 0) return SUBMITTED;
      const zerocopy = zc !== undefined && zc.enabled && !copyOnce && zerocopyRoute(queue, 0);
      let iovs = 0, total = 0;
      for (; iovs < segments; iovs++) {
        if (iovs > 0 && zerocopy !== zerocopyRoute(queue, iovs)) break;
        const address = queue.address(iovs, sys.addressOf);
        if (address < 0) break;
        const length = queue.remaining(iovs);
        setIovec(d, this.#iovOffset + iovs * IOVEC_SIZE, address, length);
        total += length;
      }
      if (iovs === 0) return INVALID_HEAD;
      setMsghdr(d, this.#msgOffset, 0, 0, this.#iovAddress, iovs, 0, 0);
      const flags = MSG_NOSIGNAL | MSG_DONTWAIT | (zerocopy ? MSG_ZEROCOPY : 0);
      const sent = sys.sendmsg(this.fd, this.#msg, flags);
      stats.syscalls++;
      if (sent < 0) {
        if (sent === -EINTR) continue;
        if (sent === -EAGAIN) return WOULD_BLOCK;
        if (sent === -ENOBUFS && zerocopy) {
          copyOnce = zc!.refused(stats);
          continue;
        }
        return sent;
      }
      copyOnce = false;
      if (zerocopy) {
        stats.bytes.msg_zerocopy += sent;
        zc!.recordSend(queue, sent);
      } else {
        stats.bytes.copy += sent;
        if (zc !== undefined) {
          countCopied(queue, iovs, sent, zc.enabled ? COPIED_NO_BUFFERS : COPIED_DOWNGRADED, stats);
          zc.countCopied(sent);
        }
      }
      queue.consume(sent);
      if (sent < total) return WOULD_BLOCK;
    }
  }
}

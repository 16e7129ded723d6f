/**
 * The send path for datagram sockets (UDP), serving the copy and msg_zerocopy backends: each
 * queued segment is one datagram, and a batch of them leaves in one `sendmmsg`. With a
 * {@link MsgZerocopy} enabled, a batch of owned datagrams goes with MSG_ZEROCOPY (each takes its
 * own send id) and its buffers stay pinned until their notifications; everything else goes by
 * copy. The socket is connected, so no address travels with the datagrams.
 *
 * @module
 */
import { EAGAIN, ECONNREFUSED, EINTR, ENOBUFS, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_ZEROCOPY } from "../ffi/constants.ts";
import type { Slab } from "../ffi/slab.ts";
import { IOVEC_SIZE, MMSGHDR_SIZE, setIovec, setMsghdr } from "../ffi/structs.ts";
import type { Ptr, Sys } from "../ffi/sys.ts";
import { INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import { countCopied, DirectSender, zerocopyRoute } from "./direct_sender.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import type { SendQueue } from "./send_queue.ts";
import { COPIED_DOWNGRADED, COPIED_NO_BUFFERS, type SendStats } from "./send_stats.ts";

/** Datagrams one sendmmsg carries at most. */
const BATCH = 256;

/** Control memory one {@link DatagramSender} needs: BATCH mmsghdrs and BATCH iovecs. */
export const DATAGRAM_SENDER_CONTROL_BYTES = BATCH * (MMSGHDR_SIZE + IOVEC_SIZE);

export class DatagramSender extends DirectSender {
  readonly #vec: Ptr;
  readonly #data: DataView;
  readonly #iovOffset: number;

  /**
   * @param control `DATAGRAM_SENDER_CONTROL_BYTES` of mmap'd memory at `controlOffset`, for this sender only
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
    this.#vec = control.pointerAt(controlOffset);
    this.#iovOffset = controlOffset + BATCH * MMSGHDR_SIZE;
    // Message i always carries iovec i alone (no address, no control): only the iovecs change per
    // send, and sendmmsg writes nothing into the headers but msg_len.
    const iovAddress = control.addr + this.#iovOffset;
    for (let i = 0; i < BATCH; i++) {
      setMsghdr(this.#data, controlOffset + i * MMSGHDR_SIZE, 0, 0, iovAddress + i * IOVEC_SIZE, 1, 0, 0);
    }
  }

  override submit(queue: SendQueue, stats: SendStats, limit = Infinity): number {
    const sys = this.sys, d = this.#data, zc = this.zerocopy;
    // Segments past this many from the end are not this call's.
    const leave = Math.max(0, queue.length - limit);
    let copyOnce = false;
    for (;;) {
      const segments = Math.min(queue.length - leave, BATCH);
      if (segments <= 0) return SUBMITTED;
      const zerocopy = zc !== undefined && zc.enabled && !copyOnce && zerocopyRoute(queue, 0);
      let messages = 0;
      for (; messages < segments; messages++) {
        if (messages > 0 && zerocopy !== zerocopyRoute(queue, messages)) break;
        const address = queue.address(messages, sys.addressOf);
        if (address < 0) break;
        setIovec(d, this.#iovOffset + messages * IOVEC_SIZE, address, queue.remaining(messages));
      }
      if (messages === 0) return INVALID_HEAD;
      const flags = MSG_NOSIGNAL | MSG_DONTWAIT | (zerocopy ? MSG_ZEROCOPY : 0);
      const sent = sys.sendmmsg(this.fd, this.#vec, messages, flags);
      stats.syscalls++;
      if (sent < 0) {
        // A refused earlier datagram (ICMP port unreachable) is reported once, on a later send that
        // did not happen: send that one again.
        if (sent === -EINTR || sent === -ECONNREFUSED) continue;
        if (sent === -EAGAIN) return WOULD_BLOCK;
        if (sent === -ENOBUFS && zerocopy) {
          copyOnce = zc!.refused(stats);
          continue;
        }
        return sent;
      }
      copyOnce = false;
      for (let i = 0; i < sent; i++) {
        const bytes = queue.remaining(0);
        if (zerocopy) {
          stats.bytes.msg_zerocopy += bytes;
          zc!.recordSend(queue, bytes);
        } else {
          stats.bytes.copy += bytes;
          if (zc !== undefined) {
            countCopied(queue, 1, bytes, zc.enabled ? COPIED_NO_BUFFERS : COPIED_DOWNGRADED, stats);
            zc.countCopied(bytes);
          }
        }
        queue.consumeSegment();
      }
      if (sent < messages) return WOULD_BLOCK;
    }
  }
}

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
import { type Backend, INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import { OWNED, ROUTE_COPY, type SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** Datagrams one sendmmsg carries at most. */
const BATCH = 256;

/** Control memory one {@link DatagramSender} needs: BATCH mmsghdrs and BATCH iovecs. */
export const DATAGRAM_SENDER_CONTROL_BYTES = BATCH * (MMSGHDR_SIZE + IOVEC_SIZE);

export class DatagramSender implements Backend {
  readonly #vec: Ptr;
  readonly #data: DataView;
  readonly #msgOffset: number;
  readonly #iovOffset: number;
  readonly #iovAddress: number;

  /**
   * @param control `DATAGRAM_SENDER_CONTROL_BYTES` of mmap'd memory at `controlOffset`, for this sender only
   * @param zerocopy the socket's MSG_ZEROCOPY state (SO_ZEROCOPY already set), or undefined for copy only
   */
  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    control: Slab,
    controlOffset: number,
    readonly zerocopy: MsgZerocopy | undefined,
  ) {
    this.#data = control.data;
    this.#vec = control.pointerAt(controlOffset);
    this.#msgOffset = controlOffset;
    this.#iovOffset = controlOffset + BATCH * MMSGHDR_SIZE;
    this.#iovAddress = control.addr + this.#iovOffset;
  }

  get name(): "copy" | "msg_zerocopy" {
    return this.zerocopy === undefined ? "copy" : "msg_zerocopy";
  }

  get inflight(): number {
    return this.zerocopy?.inflight ?? 0;
  }

  get inflightBytes(): number {
    return this.zerocopy?.inflightBytes ?? 0;
  }

  reap(stats: SendStats): number {
    return this.zerocopy?.drain(stats) ?? 0;
  }

  get watchesErrorQueue(): boolean {
    return this.zerocopy !== undefined;
  }

  /** Sends finish within the syscall; zero-copy notifications are awaited through the error queue. */
  readonly busy = false;

  whenIdle(done: () => void): void {
    done();
  }

  /**
   * Sends the oldest `limit` segments at most (all of them by default): `auto` hands this sender
   * runs of the routes it serves.
   */
  submit(queue: SendQueue, stats: SendStats, limit = Infinity): number {
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
        const iov = this.#iovOffset + messages * IOVEC_SIZE;
        setIovec(d, iov, address, queue.remaining(messages));
        setMsghdr(d, this.#msgOffset + messages * MMSGHDR_SIZE, 0, 0, this.#iovAddress + messages * IOVEC_SIZE, 1, 0, 0);
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
          stats.noBufferFallbacks++;
          const pinned = zc!.inflight;
          zc!.drain(stats);
          copyOnce = zc!.inflight === pinned;
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
          zc?.countCopied(bytes);
        }
        queue.consumeSegment();
      }
      if (sent < messages) return WOULD_BLOCK;
    }
  }

  close(): void {}
}

/** Whether the `i`-th segment is one to send with MSG_ZEROCOPY: owned, and not routed to copy. */
const zerocopyRoute = (queue: SendQueue, i: number): boolean =>
  queue.kind(i) === OWNED && queue.route(i) !== ROUTE_COPY;

/**
 * The io_uring backend of one connection, on the thread's shared ring ({@link UringDispatcher}).
 *
 * A pass turns the queued segments into one chain of linked requests (IOSQE_IO_LINK, MSG_WAITALL):
 * owned segments go as SEND_ZC with REPORT_USAGE (from registered memory with FIXED_BUF when they
 * are leases), staged ones as plain SEND. A borrowed segment (the caller's memory) never goes into
 * the ring: it is sent with a plain `send` between chains. Linked requests run one after another, so
 * bytes keep their order on a stream even with many requests in flight; a chain that breaks (a
 * short send, an error) cancels the rest, which go again in the next chain. Only one chain per
 * connection is in flight at a time. On a datagram socket, ECONNREFUSED (an ICMP port unreachable
 * for an earlier datagram, reported on this send, which sent nothing) ends nothing: the refused
 * datagram goes again too, as with the direct sender.
 *
 * Completion is decided on IORING_CQE_F_MORE, never on the result: a failed SEND_ZC can still have
 * a notification coming, and its buffer stays pinned until it does. One exception, seen on 6.18: a
 * SEND_ZC cancelled because an earlier request of its chain failed completes without F_MORE and is
 * notified all the same, so every SEND_ZC past the kernel's prep waits for its notification. A
 * notification whose result has the ZC_COPIED bit makes the connection send by copy (and re-probe
 * later), unless its request sent nothing (cancelled and refused ones report ZC_COPIED too). ENOMEM
 * in a CQE (RLIMIT_MEMLOCK for unregistered memory, charged at submission, where a refusal fails
 * the whole chain) makes the next chain send unregistered memory by copy. Every request that reads
 * an owned buffer holds its record in {@link OwnedBuffers} until the request is over (its
 * notification, for a SEND_ZC), so a lease returns to the pool only once all of it was sent and its
 * last request is over.
 *
 * @module
 */
import {
  EAGAIN,
  ECANCELED,
  ECONNREFUSED,
  EINTR,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_SEND_ZC_REPORT_USAGE,
  IOSQE_IO_LINK,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_WAITALL,
} from "../ffi/constants.ts";
import { bufferOf, byteLengthOf, subarrayOf } from "../ffi/intrinsics.ts";
import type { Sys } from "../ffi/sys.ts";
import { type Backend, type BackendSocket, BackendUnavailable, INVALID_HEAD, SUBMITTED, WOULD_BLOCK } from "./backend.ts";
import { CopiedDowngrade } from "./copied_downgrade.ts";
import type { OwnedBuffers } from "./owned_buffers.ts";
import { BORROWED, OWNED, type SendQueue } from "./send_queue.ts";
import { COPIED_BORROWED, COPIED_DOWNGRADED, COPIED_NO_BUFFERS, COPIED_STAGED, type SendStats } from "./send_stats.ts";
import type { RegisteredLeases } from "./registered_leases.ts";
import { type UringClient, UringDispatcher } from "./uring_dispatcher.ts";

/** Requests one chain holds at most. */
const MAX_CHAIN = 64;

/** Why an io_uring socket sends by copy after the kernel reported copies. */
export const URING_COPIED_REASON = "io_uring: SEND_ZC notifications report IORING_NOTIF_USAGE_ZC_COPIED (loopback, or a device " +
  "without scatter-gather), so zero-copy only adds work; sending by copy through the ring";

/** Why a socket's SEND_ZC requests go by copy after the kernel refused one for the socket's kind. */
export const URING_UNSUPPORTED_REASON = "io_uring: SEND_ZC failed with EOPNOTSUPP (a socket, such as AF_UNIX, that cannot send " +
  "zero-copy); sending by copy through the ring";

/** Slot states: a SEND; a SEND_ZC before its first CQE; a SEND_ZC whose notification is due. */
const COPY = 0, ZEROCOPY = 1, NOTIF_DUE = 2;

/** Opens `io_uring` on the thread's shared ring, made at the first open. */
export const openIoUring = (socket: BackendSocket): IoUringSender | BackendUnavailable => {
  const shared = UringDispatcher.shared(socket.sys, socket.waiter);
  if (!shared.ok) return new BackendUnavailable(shared.reason, "msg_zerocopy");
  const sender = new IoUringSender(socket.sys, socket.fd, socket.udp, shared.dispatcher, socket.queue.owned, socket.reprobeBytes);
  sender.bind(socket.queue, socket.stats, socket.wake);
  return sender;
};

export class IoUringSender implements Backend, UringClient {
  readonly name = "io_uring" as const;
  readonly #id: number;
  readonly #downgrade: CopiedDowngrade;
  // Request slots, reused through a free list.
  #kinds = new Uint8Array(MAX_CHAIN * 2);
  /** For a SEND: why it copies (a `COPIED_*` index of `stats.copied`). */
  #copiedBecause = new Uint8Array(MAX_CHAIN * 2);
  #bytes = new Float64Array(MAX_CHAIN * 2);
  /** The record in {@link OwnedBuffers} of the owned buffer a request reads, or -1. */
  #records = new Int32Array(MAX_CHAIN * 2).fill(-1);
  #free: number[] = Array.from({ length: MAX_CHAIN * 2 }, (_, i) => MAX_CHAIN * 2 - 1 - i);
  #chain = 0;
  #notifications = 0;
  #notificationBytes = 0;
  #error = 0;
  /** The last chain hit ENOMEM: the next one sends unregistered owned memory by copy. */
  #copyUnregistered = false;
  #queue: SendQueue | undefined;
  #stats: SendStats | undefined;
  #wake: () => void = () => {};
  #onIdle: (() => void) | undefined;

  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    private readonly datagrams: boolean,
    private readonly dispatcher: UringDispatcher,
    private readonly owned: OwnedBuffers,
    reprobeBytes: number,
  ) {
    this.#id = dispatcher.attach(this);
    this.#downgrade = new CopiedDowngrade(URING_COPIED_REASON, reprobeBytes);
  }

  /** Connects the sender to its connection's queue and stats, and to the wake of its fiber. */
  bind(queue: SendQueue, stats: SendStats, wake: () => void): void {
    this.#queue = queue;
    this.#stats = stats;
    this.#wake = wake;
  }

  /** The ring's registered memory, if registering it worked. */
  get leases(): RegisteredLeases | undefined {
    return this.dispatcher.leases;
  }

  /** Whether a chain of this connection's is in the ring: nothing else may go on the socket until it ends. */
  get busy(): boolean {
    return this.#chain > 0;
  }

  /** What the kernel has reported for this socket's SEND_ZC requests (`auto` routes by it). */
  get downgrade(): CopiedDowngrade {
    return this.#downgrade;
  }

  get inflight(): number {
    return this.#notifications;
  }

  get inflightBytes(): number {
    return this.#notificationBytes;
  }

  reap(): number {
    return 0;
  }

  /** Runs `done` once no request of this connection is left in the ring. */
  whenIdle(done: () => void): void {
    if (this.#chain === 0 && this.#notifications === 0) return done();
    this.#onIdle = done;
  }

  /** Chains the oldest `limit` segments at most (all of them by default; `auto` hands it runs). */
  submit(queue: SendQueue, stats: SendStats, limit = Infinity): number {
    if (this.#error !== 0) return this.#error;
    if (this.#chain > 0) return SUBMITTED;
    const sys = this.sys, ring = this.dispatcher.ring;
    if (queue.length > 0 && queue.kind(0) === BORROWED) return this.#sendBorrowed(queue, stats);
    let n = 0;
    const wanted = Math.min(queue.length, MAX_CHAIN, limit);
    while (n < wanted && queue.kind(n) !== BORROWED && queue.address(n, sys.addressOf) >= 0) n++;
    if (n === 0) return queue.length === 0 ? SUBMITTED : INVALID_HEAD;
    n = this.dispatcher.reserve(n);
    if (n === 0) {
      // The ring is full and the kernel takes nothing now: wait for room there, not on the socket.
      this.dispatcher.submitted(0);
      this.dispatcher.whenRoom(this.#wake);
      return SUBMITTED;
    }
    const leases = this.dispatcher.leases;
    const registered = leases === undefined ? undefined : bufferOf(leases.buffers.bytes);
    for (let i = 0; i < n; i++) {
      const slot = this.#free.length > 0 ? this.#free.pop()! : this.#grow();
      const address = queue.address(i, sys.addressOf), length = queue.remaining(i);
      const sqe = ring.getSqe();
      const userData = this.dispatcher.userData(this.#id, slot);
      const owned = queue.kind(i) === OWNED ? queue.view(i) : undefined;
      const fixed = owned !== undefined && bufferOf(owned) === registered;
      // The kernel charges unregistered memory at submission, and a request refused there fails its
      // whole chain (even requests before it): after an ENOMEM, one chain goes without it.
      const zerocopy = owned !== undefined && this.#downgrade.enabled && !(this.#copyUnregistered && !fixed);
      if (zerocopy && fixed) {
        ring.prepSendZcFixed(sqe, this.fd, address, length, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE, userData, leases!.buffers.bufIndex);
      } else if (zerocopy) {
        ring.prepSendZc(sqe, this.fd, address, length, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE, userData);
      } else {
        ring.prepSend(sqe, this.fd, address, length, MSG_WAITALL | MSG_NOSIGNAL, userData);
      }
      // A request reads its memory until it is over, a SEND too (the ring may run it later).
      if (owned !== undefined) {
        this.#records[slot] = queue.record(i);
        this.owned.hold(this.#records[slot]);
      }
      this.#kinds[slot] = zerocopy ? ZEROCOPY : COPY;
      this.#copiedBecause[slot] = owned === undefined ? COPIED_STAGED : this.#downgrade.enabled ? COPIED_NO_BUFFERS : COPIED_DOWNGRADED;
      this.#bytes[slot] = length;
      if (i < n - 1) ring.setSqeFlags(sqe, IOSQE_IO_LINK);
    }
    this.#copyUnregistered = false;
    this.#chain = n;
    stats.syscalls++;
    this.dispatcher.submitted(n);
    return SUBMITTED;
  }

  /**
   * Sends the oldest segment, the caller's own (borrowed) memory, with a plain `send` while no
   * request of this connection is in the ring: the kernel reads that memory only during the call.
   * A request in the ring would read it later, after the caller may have transferred and freed it.
   */
  #sendBorrowed(queue: SendQueue, stats: SendStats): number {
    if (queue.address(0, this.sys.addressOf) < 0) return INVALID_HEAD;
    const view = queue.view(0)!;
    // The caller's view: its unsent part is made from the intrinsics, never from its getters.
    const length = byteLengthOf(view);
    const unsent = subarrayOf(view, length - queue.remaining(0), length);
    for (;;) {
      const sent = this.sys.send(this.fd, unsent, MSG_NOSIGNAL | MSG_DONTWAIT);
      stats.syscalls++;
      // On a datagram socket, a refusal (ICMP port unreachable) of an earlier datagram, reported on
      // this send, which sent nothing: send this one again, as the direct sender does.
      if (sent === -EINTR || (sent === -ECONNREFUSED && this.datagrams)) continue;
      if (sent === -EAGAIN) return WOULD_BLOCK;
      if (sent < 0) return sent;
      stats.bytes.copy += sent;
      stats.copied[COPIED_BORROWED] += sent;
      if (this.datagrams) queue.consumeSegment();
      else queue.consume(sent);
      return sent < byteLengthOf(unsent) ? WOULD_BLOCK : SUBMITTED;
    }
  }

  complete(slot: number, res: number, flags: number): void {
    const queue = this.#queue!, stats = this.#stats!;
    if ((flags & IORING_CQE_F_NOTIF) !== 0) {
      if (this.#kinds[slot] !== NOTIF_DUE) return;
      stats.notifications++;
      // #bytes is what the request sent: one that sent nothing (cancelled with its chain, refused)
      // is notified with the ZC_COPIED bit too, which says nothing about the route.
      if (this.#bytes[slot] > 0) this.#downgrade.report(res < 0, this.#bytes[slot], stats);
      this.#notifications--;
      this.#notificationBytes -= this.#bytes[slot];
      this.#finish(slot);
      if (this.#notifications === 0) stats.notificationBatches++;
      // The fiber may be parked on this: a close waiting for the last notification, or a write
      // held back by maxOwnedBytes until in-flight bytes drop.
      this.#wake();
      return;
    }
    this.#chain--;
    const zerocopy = this.#kinds[slot] === ZEROCOPY;
    // On a datagram socket, ECONNREFUSED reports an ICMP port unreachable for an earlier datagram,
    // and this request sent nothing: like a cancelled one (and the rest of its chain, which the
    // kernel cancels), its datagram stays queued and goes again in the next chain. The socket lives
    // on, as with the direct sender; a refusal no later send picks up is reported by a read.
    const refused = res === -ECONNREFUSED && this.datagrams;
    if (res >= 0) {
      stats.bytes.io_uring += res;
      if (!zerocopy) {
        stats.copied[this.#copiedBecause[slot]] += res;
        this.#downgrade.countCopied(res);
      }
      // An abort empties the queue while requests are still in the ring: then nothing is consumed.
      if (queue.length > 0) {
        if (this.datagrams) queue.consumeSegment();
        else queue.consume(res);
      }
    } else if (res === -ENOMEM && zerocopy) {
      // Pinning unregistered memory went over RLIMIT_MEMLOCK: this chunk goes again, by copy.
      stats.noBufferFallbacks++;
      this.#copyUnregistered = true;
    } else if (res === -EOPNOTSUPP && zerocopy) {
      // The socket's kind cannot send zero-copy: this chunk goes again, by copy, as do the next
      // ones until the re-probe.
      this.#downgrade.startCopying(stats, URING_UNSUPPORTED_REASON);
    } else if (res !== -ECANCELED && res !== -EINTR && res !== -EAGAIN && !refused && this.#error === 0) {
      this.#error = res;
    }
    // A SEND_ZC that got past the kernel's prep has a notification coming, even without F_MORE: one
    // cancelled because an earlier request of its chain failed completes with -ECANCELED (or that
    // request's error) and flags 0, then is notified (Linux 6.18). Only a request refused at prep
    // (EINVAL, no F_MORE) has none.
    if ((flags & IORING_CQE_F_MORE) !== 0 || (zerocopy && res !== -EINVAL)) {
      // The buffer stays pinned: the kernel may read it until the notification.
      this.#kinds[slot] = NOTIF_DUE;
      this.#bytes[slot] = Math.max(res, 0);
      this.#notifications++;
      this.#notificationBytes += this.#bytes[slot];
    } else {
      this.#finish(slot);
    }
    if (this.#chain === 0) this.#wake();
  }

  #finish(slot: number): void {
    const record = this.#records[slot];
    if (record >= 0) {
      this.#records[slot] = -1;
      this.owned.unhold(record);
    }
    this.#kinds[slot] = COPY; // so a duplicate notification for a free slot is ignored
    this.#free.push(slot);
    this.dispatcher.finished();
    if (this.#onIdle !== undefined && this.#chain === 0 && this.#notifications === 0) {
      const done = this.#onIdle;
      this.#onIdle = undefined;
      done();
    }
  }

  /** Doubles the slot table (notifications outstanding from earlier chains hold slots); returns a free slot. */
  #grow(): number {
    const size = this.#kinds.length;
    const kinds = new Uint8Array(size * 2), copiedBecause = new Uint8Array(size * 2), bytes = new Float64Array(size * 2);
    const records = new Int32Array(size * 2).fill(-1);
    kinds.set(this.#kinds);
    copiedBecause.set(this.#copiedBecause);
    bytes.set(this.#bytes);
    records.set(this.#records);
    this.#kinds = kinds;
    this.#copiedBecause = copiedBecause;
    this.#bytes = bytes;
    this.#records = records;
    for (let i = size * 2 - 1; i > size; i--) this.#free.push(i);
    return size;
  }

  /** Leaves the ring once no request is left in it (a late CQE must never reach another connection). */
  close(): void {
    this.whenIdle(() => this.dispatcher.detach(this.#id));
  }
}

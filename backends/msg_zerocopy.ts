/**
 * The msg_zerocopy backend's own part, the MSG_ZEROCOPY state of one socket: the u32 send counter, every send the kernel may still
 * read (each holding its buffer's record in {@link OwnedBuffers} until a notification range covers
 * it), the error-queue drain that lets them go, and the decision to stop using zero-copy once the
 * kernel reports that it copied anyway.
 *
 * Sends sit in parallel arrays used as a ring in send-id order, so recording and releasing
 * allocate nothing once the ring has grown to the peak number in flight. Ranges may arrive out of
 * order; a send is let go only once it and every older one are covered, which is conservative.
 *
 * @module
 */
import { EAGAIN, EINTR, MSG_DONTWAIT, MSG_ERRQUEUE, SO_ZEROCOPY, SOL_SOCKET } from "../ffi/constants.ts";
import { errnoName } from "../ffi/errno_name.ts";
import type { Slab } from "../ffi/slab.ts";
import { MSGHDR_SIZE, setMsghdr } from "../ffi/structs.ts";
import type { Ptr, Sys } from "../ffi/sys.ts";
import { decodeZerocopyNotification, NOTIFICATION_CONTROL_BYTES, type ZerocopyRange } from "../ffi/zerocopy_notification.ts";
import { type BackendSocket, BackendUnavailable } from "./backend.ts";
import { CopiedDowngrade } from "./copied_downgrade.ts";
import { DIRECT_CONTROL_BYTES, directSender } from "./copy.ts";
import type { DirectSender } from "./direct_sender.ts";
import type { OwnedBuffers } from "./owned_buffers.ts";
import type { SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** Control memory one tracker needs: a msghdr and the cmsg buffer for one notification. */
export const MSG_ZEROCOPY_CONTROL_BYTES = MSGHDR_SIZE + 8 + NOTIFICATION_CONTROL_BYTES;

/** Why a socket stops sending zero-copy when the kernel copies. */
export const COPIED_REASON = "msg_zerocopy: the kernel reported SO_EE_CODE_ZEROCOPY_COPIED (loopback, or a device without " +
  "scatter-gather), so zero-copy only adds work; sending by copy";

/** Why a socket stops sending zero-copy when the kernel refuses a zero-copy send with nothing pinned. */
export const NO_BUFFERS_REASON = "msg_zerocopy: ENOBUFS with no zero-copy send in flight: net.core.optmem_max, or RLIMIT_MEMLOCK " +
  "(without CAP_IPC_LOCK), is too small for one; sending by copy";

/**
 * Opens `msg_zerocopy`: opts the socket in with SO_ZEROCOPY (without it the kernel ignores
 * MSG_ZEROCOPY and never notifies) and attaches the state to the socket's direct sender, its
 * control memory right after the sender's.
 */
export const openMsgZerocopy = (socket: BackendSocket): DirectSender | BackendUnavailable => {
  const { sys, fd } = socket;
  const r = sys.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, new Uint8Array(new Int32Array([1]).buffer));
  if (r !== 0) return new BackendUnavailable(`msg_zerocopy: SO_ZEROCOPY failed with ${errnoName(-r)}`, "copy");
  const zerocopy = new MsgZerocopy(sys, fd, socket.control, DIRECT_CONTROL_BYTES, socket.queue.owned, socket.reprobeBytes);
  zerocopy.watchErrorQueue = socket.watchErrorQueue;
  return directSender(socket, zerocopy);
};

const NO_NUMBERS = new Float64Array(0);
const NO_FLAGS = new Uint8Array(0);
const NO_RECORDS = new Int32Array(0);

export class MsgZerocopy {
  // Made at the first zero-copy send, not at connect: many `auto` sockets never make one, and a
  // connect should not pay for them.
  #ids = NO_NUMBERS;
  #bytes = NO_NUMBERS;
  #done = NO_FLAGS;
  /** The record in {@link OwnedBuffers} of the buffer each send read. */
  #records = NO_RECORDS;
  #head = 0;
  #count = 0;
  #mask = -1;
  #inflightBytes = 0;
  /** The id the next successful zero-copy send takes (the kernel's per-socket u32 counter). */
  #nextId = 0;
  readonly #range: ZerocopyRange = { lo: 0, hi: 0, copied: false };
  readonly #data: DataView;
  readonly #msg: Ptr;
  readonly #msgOffset: number;
  readonly #controlOffset: number;
  readonly #controlAddress: number;

  readonly #downgrade: CopiedDowngrade;
  /**
   * Told whether notifications are owed (POLLERR is then watched for them): after a zero-copy send,
   * and after every read of the error queue, since the waiter's interest ends when it fires.
   */
  watchErrorQueue: (owed: boolean) => void = () => {};
  #onIdle: (() => void) | undefined;

  /**
   * @param control `MSG_ZEROCOPY_CONTROL_BYTES` of mmap'd memory at `controlOffset`
   * @param owned the connection's owned buffers, which the sends hold
   * @param reprobeBytes after a downgrade, how many bytes go by copy before zero-copy is tried again
   */
  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    control: Slab,
    controlOffset: number,
    private readonly owned: OwnedBuffers,
    reprobeBytes: number,
  ) {
    this.#downgrade = new CopiedDowngrade(COPIED_REASON, reprobeBytes);
    this.#data = control.data;
    this.#msg = control.pointerAt(controlOffset);
    this.#msgOffset = controlOffset;
    this.#controlOffset = controlOffset + MSGHDR_SIZE + 8;
    this.#controlAddress = control.addr + this.#controlOffset;
  }

  /** Buffers the kernel may still read. */
  get inflight(): number {
    return this.#count;
  }

  /** Bytes of those buffers. */
  get inflightBytes(): number {
    return this.#inflightBytes;
  }

  /**
   * Records a zero-copy send that just succeeded with `sent` bytes from the front of `queue` (all
   * owned segments): it takes the next send id, and holds every buffer it read until a notification
   * covers that id. Call before the queue consumes those bytes.
   */
  recordSend(queue: SendQueue, sent: number): void {
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0;
    for (let i = 0; sent > 0; i++) {
      const bytes = Math.min(queue.remaining(i), sent);
      const record = queue.record(i);
      this.owned.hold(record);
      this.#record(id, record, bytes);
      sent -= bytes;
    }
    this.watchErrorQueue(true);
  }

  /** Runs `done` once every zero-copy send is notified, at once if none is owed. */
  whenIdle(done: () => void): void {
    if (this.#count === 0) return done();
    this.#onIdle = done;
  }

  #record(id: number, record: number, bytes: number): void {
    if (this.#count === this.#mask + 1) this.#grow();
    const s = (this.#head + this.#count) & this.#mask;
    this.#ids[s] = id;
    this.#bytes[s] = bytes;
    this.#done[s] = 0;
    this.#records[s] = record;
    this.#count++;
    this.#inflightBytes += bytes;
  }

  /** What the kernel has reported for this socket's zero-copy sends (`auto` routes by it). */
  get downgrade(): CopiedDowngrade {
    return this.#downgrade;
  }

  /** Whether owned chunks go out with MSG_ZEROCOPY now (false after the kernel reported copies). */
  get enabled(): boolean {
    return this.#downgrade.enabled;
  }

  /**
   * The kernel refused a zero-copy send with ENOBUFS: option memory or locked memory is full.
   * Releases what the kernel is done with; true if the refused run should go by copy, because
   * nothing was released. With no send pinned at all, zero-copy cannot work on this socket now: it
   * sends by copy until the re-probe, as after a copy, rather than fail a syscall per run.
   */
  refused(stats: SendStats): boolean {
    stats.noBufferFallbacks++;
    const pinned = this.#count;
    if (pinned === 0) {
      this.#downgrade.startCopying(stats, NO_BUFFERS_REASON);
      return true;
    }
    this.drain(stats);
    return this.#count === pinned;
  }

  /** Counts bytes sent by copy while downgraded, toward the next re-probe. */
  countCopied(bytes: number): void {
    this.#downgrade.countCopied(bytes);
  }

  /**
   * Reads every queued notification (never blocks) and releases what they cover. Returns the
   * number of notifications read, or -errno if the error queue failed for another reason.
   */
  drain(stats: SendStats): number {
    const d = this.#data, sys = this.sys;
    let notifications = 0;
    for (;;) {
      setMsghdr(d, this.#msgOffset, 0, 0, 0, 0, this.#controlAddress, NOTIFICATION_CONTROL_BYTES);
      const r = sys.recvmsg(this.fd, this.#msg, MSG_ERRQUEUE | MSG_DONTWAIT);
      if (r < 0) {
        if (r === -EINTR) continue;
        if (r === -EAGAIN) break;
        return r;
      }
      const controlLength = d.getUint32(this.#msgOffset + 40, true);
      if (!decodeZerocopyNotification(d, this.#controlOffset, controlLength, this.#range)) continue;
      notifications++;
      this.#complete(this.#range, stats);
    }
    if (notifications > 0) {
      stats.notifications += notifications;
      stats.notificationBatches++;
      this.#releaseDone();
    }
    this.watchErrorQueue(this.#count > 0);
    if (this.#count === 0 && this.#onIdle !== undefined) {
      const done = this.#onIdle;
      this.#onIdle = undefined;
      done();
    }
    return notifications;
  }

  #complete(range: ZerocopyRange, stats: SendStats): void {
    const span = (range.hi - range.lo) >>> 0;
    let bytes = 0;
    for (let i = 0; i < this.#count; i++) {
      const s = (this.#head + i) & this.#mask;
      if (this.#done[s] === 0 && ((this.#ids[s] - range.lo) >>> 0) <= span) {
        this.#done[s] = 1;
        bytes += this.#bytes[s];
      }
    }
    this.#downgrade.report(range.copied, bytes, stats);
  }

  #releaseDone(): void {
    while (this.#count > 0 && this.#done[this.#head] === 1) this.#shift();
  }

  #shift(): void {
    const s = this.#head;
    this.#inflightBytes -= this.#bytes[s];
    this.#head = (this.#head + 1) & this.#mask;
    this.#count--;
    this.owned.unhold(this.#records[s]);
  }

  #grow(): void {
    const size = Math.max(16, (this.#mask + 1) * 2);
    const order = (i: number) => (this.#head + i) & this.#mask;
    const ids = new Float64Array(size), bytes = new Float64Array(size), done = new Uint8Array(size), records = new Int32Array(size);
    for (let i = 0; i < this.#count; i++) {
      const s = order(i);
      ids[i] = this.#ids[s];
      bytes[i] = this.#bytes[s];
      done[i] = this.#done[s];
      records[i] = this.#records[s];
    }
    [this.#ids, this.#bytes, this.#done, this.#records] = [ids, bytes, done, records];
    this.#head = 0;
    this.#mask = size - 1;
  }
}

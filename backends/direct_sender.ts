/**
 * What the two senders that call the socket directly ({@link StreamSender}: `sendmsg`,
 * {@link DatagramSender}: `sendmmsg`) share: sends finish within the syscall, and with a
 * {@link MsgZerocopy} attached, owned segments not routed to copy go with MSG_ZEROCOPY and their
 * buffers stay held until their error-queue notifications.
 *
 * @module
 */
import type { BackendName } from "../ffi/backend_names.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Backend } from "./backend.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import { BORROWED, OWNED, ROUTE_COPY, type SendQueue, STAGED } from "./send_queue.ts";
import { COPIED_BORROWED, COPIED_ROUTED, COPIED_STAGED, type SendStats } from "./send_stats.ts";

export abstract class DirectSender implements Backend {
  /** @param zerocopy the socket's MSG_ZEROCOPY state (SO_ZEROCOPY already set), or undefined for copy only */
  constructor(
    protected readonly sys: Sys,
    protected readonly fd: number,
    readonly zerocopy: MsgZerocopy | undefined,
  ) {}

  get name(): BackendName {
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

  whenIdle(done: () => void): void {
    if (this.zerocopy === undefined) done();
    else this.zerocopy.whenIdle(done);
  }

  /**
   * Sends the oldest `limit` segments at most (all of them by default): `auto` hands this sender
   * runs of the routes it serves.
   */
  abstract submit(queue: SendQueue, stats: SendStats, limit?: number): number;

  close(): void {}
}

/** Whether the `i`-th segment is one to send with MSG_ZEROCOPY: owned, and not routed to copy. */
export const zerocopyRoute = (queue: SendQueue, i: number): boolean => queue.kind(i) === OWNED && queue.route(i) !== ROUTE_COPY;

/**
 * Counts the first `sent` bytes of the oldest `segments` segments, just sent by copy on a socket
 * that can send zero-copy, under why they were copied (`stats.copied`); `ownedReason` is why owned
 * segments routed to zero-copy were not (`COPIED_DOWNGRADED` or `COPIED_NO_BUFFERS`).
 */
export const countCopied = (queue: SendQueue, segments: number, sent: number, ownedReason: number, stats: SendStats): void => {
  for (let i = 0; i < segments && sent > 0; i++) {
    const bytes = Math.min(queue.remaining(i), sent);
    const kind = queue.kind(i);
    const reason = kind === STAGED ? COPIED_STAGED : kind === BORROWED ? COPIED_BORROWED : queue.route(i) === ROUTE_COPY ? COPIED_ROUTED : ownedReason;
    stats.copied[reason] += bytes;
    sent -= bytes;
  }
};

/**
 * What the two senders that call the socket directly ({@link StreamSender}: `sendmsg`,
 * {@link DatagramSender}: `sendmmsg`) share: sends finish within the syscall, and with a
 * {@link MsgZerocopy} attached, owned segments not routed to copy go with MSG_ZEROCOPY and stay
 * pinned until their error-queue notifications.
 *
 * @module
 */
import type { Sys } from "../ffi/sys.ts";
import type { Backend } from "./backend.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import { OWNED, ROUTE_COPY, type SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

export abstract class DirectSender implements Backend {
  /** @param zerocopy the socket's MSG_ZEROCOPY state (SO_ZEROCOPY already set), or undefined for copy only */
  constructor(
    protected readonly sys: Sys,
    protected readonly fd: number,
    readonly zerocopy: MsgZerocopy | undefined,
  ) {}

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
  abstract submit(queue: SendQueue, stats: SendStats, limit?: number): number;

  close(): void {}
}

/** Whether the `i`-th segment is one to send with MSG_ZEROCOPY: owned, and not routed to copy. */
export const zerocopyRoute = (queue: SendQueue, i: number): boolean =>
  queue.kind(i) === OWNED && queue.route(i) !== ROUTE_COPY;

/**
 * Counters of one connection's sending, as `stats()` reports them. Plain numbers that the per-chunk
 * path and the backends bump in place; `snapshot()` copies them out for the user.
 *
 * @module
 */
import type { BackendName } from "../ffi/zcio_error.ts";

export class SendStats {
  /** Bytes the kernel accepted, per backend. */
  readonly bytes: Record<BackendName, number> = { copy: 0, msg_zerocopy: 0, io_uring: 0 };
  /** Chunks accepted by `write()`. */
  chunks = 0;
  /** `auto` only: chunks per route chosen at `write()` (staged chunks are copy). */
  readonly routed: Record<BackendName, number> = { copy: 0, msg_zerocopy: 0, io_uring: 0 };
  /** Bytes the kernel reported as sent without a copy, and as copied after all. */
  zeroCopiedBytes = 0;
  copiedBytes = 0;
  /** Zero-copy notifications received, and the passes that handled them. */
  notifications = 0;
  notificationBatches = 0;
  /** Send syscalls made (sendmsg, sendmmsg, io_uring_enter). */
  syscalls = 0;
  /** Scheduler passes that submitted something. */
  submissions = 0;
  /** Times the socket was full and the scheduler waited for POLLOUT. */
  waits = 0;
  /** Zero-copy sends refused with ENOBUFS (option memory or RLIMIT_MEMLOCK full) and retried or copied. */
  noBufferFallbacks = 0;
  /** Downgrades to a cheaper backend, and why. */
  downgrades = 0;
  readonly downgradeReasons: string[] = [];

  snapshot(): SendStatsSnapshot {
    return {
      bytes: { ...this.bytes },
      chunks: this.chunks,
      routed: { ...this.routed },
      zeroCopiedBytes: this.zeroCopiedBytes,
      copiedBytes: this.copiedBytes,
      notifications: this.notifications,
      notificationBatches: this.notificationBatches,
      syscalls: this.syscalls,
      submissions: this.submissions,
      waits: this.waits,
      noBufferFallbacks: this.noBufferFallbacks,
      downgrades: this.downgrades,
      downgradeReasons: [...this.downgradeReasons],
    };
  }
}

/** A copy of {@link SendStats} at one moment. */
export interface SendStatsSnapshot {
  readonly bytes: Readonly<Record<BackendName, number>>;
  readonly chunks: number;
  readonly routed: Readonly<Record<BackendName, number>>;
  readonly zeroCopiedBytes: number;
  readonly copiedBytes: number;
  readonly notifications: number;
  readonly notificationBatches: number;
  readonly syscalls: number;
  readonly submissions: number;
  readonly waits: number;
  readonly noBufferFallbacks: number;
  readonly downgrades: number;
  readonly downgradeReasons: readonly string[];
}

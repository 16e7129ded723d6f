/**
 * Counters of one connection's sending, as `stats()` reports them. Plain numbers that the per-chunk
 * path and the backends bump in place; `snapshot()` copies them out for the user.
 *
 * @module
 */
import { type BackendName, perBackend } from "../ffi/backend_names.ts";

/**
 * Why a connection that can send zero-copy sent bytes by copy, as the keys of
 * {@link SendStatsSnapshot.copiedBecause}:
 * - `staged`: small chunks, gathered in the staging memory (below `stageBelow`, and owned chunks
 *   below the zero-copy crossover);
 * - `borrowed`: the caller's memory, which zcio never pins, so it is the caller's again when its
 *   write resolves (only leases, and buffers taken with `transferBuffers`, go zero-copy);
 * - `routed`: owned memory `auto` sent by copy: below its crossover, or while it holds zero-copy
 *   off after ENOBUFS/ENOMEM until the socket's pinned sends are released;
 * - `downgraded`: owned memory sent while zero-copy was off on the socket (`downgradeReasons` says
 *   why), until the re-probe;
 * - `noBuffers`: owned memory sent by copy after the kernel refused its zero-copy send with ENOBUFS
 *   (option memory, or RLIMIT_MEMLOCK without CAP_IPC_LOCK) or ENOMEM (io_uring), with sends still
 *   pinned.
 */
export const COPY_REASONS = ["staged", "borrowed", "routed", "downgraded", "noBuffers"] as const;
/** One of {@link COPY_REASONS}. */
export type CopyReason = typeof COPY_REASONS[number];
/** Indices into {@link SendStats.copied}, in the order of {@link COPY_REASONS}. */
export const COPIED_STAGED = 0;
export const COPIED_BORROWED = 1;
export const COPIED_ROUTED = 2;
export const COPIED_DOWNGRADED = 3;
export const COPIED_NO_BUFFERS = 4;

export class SendStats {
  /** Bytes the kernel accepted, per backend. */
  readonly bytes: Record<BackendName, number> = perBackend();
  /** Chunks accepted by `write()`. */
  chunks = 0;
  /** `sendFile` calls queued, and the bytes sendfile(2) moved from their files. */
  files = 0;
  fileBytes = 0;
  /** `auto` only: chunks per route chosen at `write()` (staged chunks are copy). */
  readonly routed: Record<BackendName, number> = perBackend();
  /**
   * Bytes a connection that can send zero-copy sent by copy, indexed by `COPIED_*` (see
   * {@link COPY_REASONS}); a copy-only connection counts none.
   */
  readonly copied: Float64Array = new Float64Array(COPY_REASONS.length);
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
      files: this.files,
      fileBytes: this.fileBytes,
      routed: { ...this.routed },
      copiedBecause: {
        staged: this.copied[COPIED_STAGED],
        borrowed: this.copied[COPIED_BORROWED],
        routed: this.copied[COPIED_ROUTED],
        downgraded: this.copied[COPIED_DOWNGRADED],
        noBuffers: this.copied[COPIED_NO_BUFFERS],
      },
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
  /** Bytes the kernel accepted, per backend. */
  readonly bytes: Readonly<Record<BackendName, number>>;
  /** Chunks accepted by `write()`. */
  readonly chunks: number;
  /** `sendFile` calls queued. */
  readonly files: number;
  /** Bytes sendfile(2) moved from those files. */
  readonly fileBytes: number;
  /** `auto` only: chunks per route chosen at `write()` (staged chunks are copy). */
  readonly routed: Readonly<Record<BackendName, number>>;
  /**
   * On a connection that can send zero-copy: the bytes it sent by copy, by why (see
   * {@link COPY_REASONS}). Zero-copy sends the kernel copied after all are `copiedBytes`.
   */
  readonly copiedBecause: Readonly<Record<CopyReason, number>>;
  /** Bytes the kernel reported as sent without a copy. */
  readonly zeroCopiedBytes: number;
  /** Bytes of zero-copy sends the kernel reported as copied after all. */
  readonly copiedBytes: number;
  /** Zero-copy notifications received. */
  readonly notifications: number;
  /** The passes that handled the notifications. */
  readonly notificationBatches: number;
  /** Send syscalls made (sendmsg, sendmmsg, io_uring_enter). */
  readonly syscalls: number;
  /** Scheduler passes that submitted something. */
  readonly submissions: number;
  /** Times the socket was full and the scheduler waited for POLLOUT. */
  readonly waits: number;
  /** Zero-copy sends refused with ENOBUFS (option memory or RLIMIT_MEMLOCK full) and retried or copied. */
  readonly noBufferFallbacks: number;
  /** Downgrades to a cheaper backend. */
  readonly downgrades: number;
  /** Why each downgrade happened. */
  readonly downgradeReasons: readonly string[];
}

/**
 * The decision both zero-copy backends make from what the kernel reports: once a notification says
 * the data was copied after all (loopback, a device without scatter-gather), zero-copy only adds
 * work, so the socket sends by copy; after `reprobeBytes` more bytes it tries zero-copy again, in
 * case the route has changed. Each re-probe the kernel copies again doubles the wait before the
 * next (up to {@link MAX_REPROBE_DOUBLINGS} times): a path that has always copied is not worth a
 * probe as often as one that copied once.
 *
 * @example
 * ```ts
 * const stats = new SendStats();
 * const d = new CopiedDowngrade("copied", 64 << 20);
 * d.report(true, 1 << 20, stats); // COPIED: by copy for the next 64 MiB
 * d.countCopied(64 << 20); // d.enabled: the re-probe
 * d.report(true, 1 << 20, stats); // copied again: by copy for the next 128 MiB
 * ```
 *
 * @module
 */
import type { SendStats } from "./send_stats.ts";

/**
 * How many times a path that keeps copying doubles the wait before a re-probe: at most
 * 16 × `reprobeBytes` (1 GiB by default), so a route that changes is still found.
 */
export const MAX_REPROBE_DOUBLINGS = 4;

export class CopiedDowngrade {
  /** Whether zero-copy is used now. */
  enabled = true;
  /**
   * Whether the kernel has reported a zero-copied send since zero-copy was last (re-)enabled: until
   * then `auto` sends only a probe's worth of bytes zero-copy, so a path that copies costs little.
   */
  confirmed = false;
  /**
   * The kernel's answers in a row that said copied, since one said zero-copied: on this socket, or
   * for `auto` on earlier connections to the same peer too (see `PathVerdicts`).
   */
  copiedInARow = 0;
  /** Told each time the kernel's answer for this socket is new: its {@link copiedInARow}, 0 for zero-copied. */
  onVerdict: ((copiedInARow: number) => void) | undefined;
  #sinceDowngrade = 0;
  #reprobeAfter = 0;

  /**
   * @param reason what stats record when the kernel first reports a copy
   * @param reprobeBytes bytes sent by copy after the first downgrade before zero-copy is tried again
   */
  constructor(private readonly reason: string, private readonly reprobeBytes: number) {}

  /** The kernel reported `bytes` as copied (or, with `copied` false, as zero-copied). */
  report(copied: boolean, bytes: number, stats: SendStats): void {
    if (!copied) {
      stats.zeroCopiedBytes += bytes;
      if (this.enabled && !this.confirmed) {
        this.confirmed = true;
        this.copiedInARow = 0;
        this.onVerdict?.(0);
      }
      return;
    }
    stats.copiedBytes += bytes;
    if (!this.enabled) return;
    this.copiedInARow++;
    this.startCopying(stats, this.reason);
    this.onVerdict?.(this.copiedInARow);
  }

  /**
   * Sends by copy from now on, as after a COPIED report, recording `reason` (also used by `auto` for
   * a peer an earlier connection learnt copies). The re-probe waits `reprobeBytes`, doubled for each
   * answer in a row after the first that said copied.
   */
  startCopying(stats: SendStats, reason: string): void {
    this.enabled = false;
    this.confirmed = false;
    this.#sinceDowngrade = 0;
    this.#reprobeAfter = this.reprobeBytes * 2 ** Math.min(Math.max(this.copiedInARow - 1, 0), MAX_REPROBE_DOUBLINGS);
    stats.downgrades++;
    if (!stats.downgradeReasons.includes(reason)) stats.downgradeReasons.push(reason);
  }

  /** Counts bytes sent by copy while downgraded; re-enables zero-copy once the wait is over. */
  countCopied(bytes: number): void {
    if (this.enabled) return;
    this.#sinceDowngrade += bytes;
    if (this.#sinceDowngrade >= this.#reprobeAfter) {
      this.enabled = true;
      this.confirmed = false;
    }
  }
}

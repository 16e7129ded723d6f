/**
 * The decision both zero-copy backends make from what the kernel reports: once a notification says
 * the data was copied after all (loopback, a device without scatter-gather), zero-copy only adds
 * work, so the socket sends by copy; after `reprobeBytes` more bytes it tries zero-copy again, in
 * case the route has changed.
 *
 * @module
 */
import type { SendStats } from "./send_stats.ts";

export class CopiedDowngrade {
  /** Whether zero-copy is used now. */
  enabled = true;
  /**
   * Whether the kernel has reported a zero-copied send since zero-copy was last (re-)enabled: until
   * then `auto` sends only a probe's worth of bytes zero-copy, so a path that copies costs little.
   */
  confirmed = false;
  /** Told each time the kernel's answer for this socket is new: copied (a downgrade) or zero-copied (confirmed). */
  onVerdict: ((copied: boolean) => void) | undefined;
  #sinceDowngrade = 0;

  /**
   * @param reason what stats record when the kernel first reports a copy
   * @param reprobeBytes bytes sent by copy after a downgrade before zero-copy is tried again
   */
  constructor(private readonly reason: string, private readonly reprobeBytes: number) {}

  /** The kernel reported `bytes` as copied (or, with `copied` false, as zero-copied). */
  report(copied: boolean, bytes: number, stats: SendStats): void {
    if (!copied) {
      stats.zeroCopiedBytes += bytes;
      if (this.enabled && !this.confirmed) {
        this.confirmed = true;
        this.onVerdict?.(false);
      }
      return;
    }
    stats.copiedBytes += bytes;
    if (!this.enabled) return;
    this.startCopying(stats, this.reason);
    this.onVerdict?.(true);
  }

  /**
   * Sends by copy from now on, as after a COPIED report, recording `reason` (also used by `auto` for
   * a peer an earlier connection learnt copies).
   */
  startCopying(stats: SendStats, reason: string): void {
    this.enabled = false;
    this.confirmed = false;
    this.#sinceDowngrade = 0;
    stats.downgrades++;
    if (!stats.downgradeReasons.includes(reason)) stats.downgradeReasons.push(reason);
  }

  /** Counts bytes sent by copy while downgraded; re-enables zero-copy once `reprobeBytes` have gone. */
  countCopied(bytes: number): void {
    if (this.enabled) return;
    this.#sinceDowngrade += bytes;
    if (this.#sinceDowngrade >= this.reprobeBytes) {
      this.enabled = true;
      this.confirmed = false;
    }
  }
}

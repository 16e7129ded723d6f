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
      return;
    }
    stats.copiedBytes += bytes;
    if (!this.enabled) return;
    this.enabled = false;
    this.#sinceDowngrade = 0;
    stats.downgrades++;
    if (!stats.downgradeReasons.includes(this.reason)) stats.downgradeReasons.push(this.reason);
  }

  /** Counts bytes sent by copy while downgraded; re-enables zero-copy once `reprobeBytes` have gone. */
  countCopied(bytes: number): void {
    if (this.enabled) return;
    this.#sinceDowngrade += bytes;
    if (this.#sinceDowngrade >= this.reprobeBytes) this.enabled = true;
  }
}

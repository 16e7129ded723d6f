/**
 * What the kernel last said about zero-copy sends to each peer (address and port), shared by the
 * `auto` connections of this process: whether it copied them anyway (loopback, a local receiver, a
 * device without scatter-gather), and how many times in a row, or really sent them without a copy.
 * A new connection to a peer with a fresh answer starts from it: sending by copy (and re-probing
 * after `reprobeBytes`, doubled for each copied answer in a row after the first, like a socket
 * whose re-probes keep being copied), or zero-copy without a probe window, so short connections do
 * not each pay a probe. An answer is fresh for {@link VERDICT_TTL_MS}; after that a new connection
 * probes again, still counting the copied answers before. At most {@link MAX_PEERS} peers are kept.
 *
 * @example
 * ```ts
 * const verdicts = new PathVerdicts();
 * verdicts.record("tcp 127.0.0.1:9000", 1); // copied once
 * verdicts.get("tcp 127.0.0.1:9000"); // PATH_COPIES
 * ```
 *
 * @module
 */
import type { CopiedDowngrade } from "./copied_downgrade.ts";
import type { SendStats } from "./send_stats.ts";

/** No fresh answer for the peer. */
export const PATH_UNKNOWN = 0;
/** The kernel copied zero-copy sends to the peer. */
export const PATH_COPIES = 1;
/** The kernel sent to the peer without copying. */
export const PATH_ZERO_COPIES = 2;

/** How long an answer stays fresh. */
export const VERDICT_TTL_MS = 60_000;
/** Peers remembered at most; the least recently answered goes first. */
export const MAX_PEERS = 256;

/** Why a new connection starts by copy. */
export const PEER_COPIES_REASON = "auto: the kernel copied zero-copy sends to this peer on a connection less than a minute ago (loopback, or a " +
  "device without scatter-gather); sending by copy, and trying zero-copy again after reprobeBytes (doubled for " +
  "each re-probe it copied too)";

export class PathVerdicts {
  readonly #entries = new Map<string, { copiedInARow: number; at: number }>();

  /** This process's answers. */
  static readonly shared = new PathVerdicts();

  /** {@link PATH_COPIES}, {@link PATH_ZERO_COPIES}, or {@link PATH_UNKNOWN} when none is fresh. */
  get(peer: string, now = Date.now()): number {
    const entry = this.#entries.get(peer);
    if (entry === undefined || now - entry.at > VERDICT_TTL_MS) return PATH_UNKNOWN;
    return entry.copiedInARow > 0 ? PATH_COPIES : PATH_ZERO_COPIES;
  }

  /**
   * Starts a new socket's zero-copy routes (their `downgrades`) from the answer for `peer`, and
   * keeps that answer up to date from what the kernel tells them.
   */
  follow(peer: string, downgrades: readonly CopiedDowngrade[], stats: SendStats, now = Date.now()): void {
    const verdict = this.get(peer, now);
    const copiedInARow = this.#entries.get(peer)?.copiedInARow ?? 0;
    for (const d of downgrades) {
      d.copiedInARow = copiedInARow;
      if (verdict === PATH_COPIES) d.startCopying(stats, PEER_COPIES_REASON);
      else if (verdict === PATH_ZERO_COPIES) d.confirmed = true;
      d.onVerdict = (answer) => this.record(peer, answer);
    }
  }

  /** Records the kernel's latest answer for `peer`: the copied answers in a row, 0 for zero-copied. */
  record(peer: string, copiedInARow: number, now = Date.now()): void {
    this.#entries.delete(peer);
    this.#entries.set(peer, { copiedInARow, at: now });
    if (this.#entries.size > MAX_PEERS) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/**
 * The reference bench's timed runs on one sink: at each chunk size, every sender runs once per
 * round, the rounds in the orders of a Williams design (`williams_orders.ts`) so that each sender
 * runs at every place and after every other sender alike: one untimed round, then two cycles of
 * the orders. A run sends a fixed number of bytes from connect to close (and, over TCP, the sink's
 * count); its speed is those bytes over its time.
 *
 * @module
 */
import { label } from "./size_label.ts";
import { williamsOrders } from "./williams_orders.ts";

/** What one run sent and how long it took. */
export interface Run {
  readonly bytes: number;
  readonly ms: number;
  /** The share of the bytes the kernel reported as sent without copying, for zero-copy senders. */
  readonly zeroCopied?: number;
}

export interface Sender {
  /** A stable key, as the aims name it (e.g. `default`, `c_send`). */
  readonly id: string;
  /** As the table prints it. */
  readonly label: string;
  /** Sends `times` chunks of `size` bytes in one run. */
  readonly send: (size: number, times: number) => Promise<Run>;
}

/** A sender left out, and why. */
export interface Skipped {
  readonly id: string;
  readonly label: string;
  readonly why: string;
}

/** One sender's timed runs at one size. */
export interface Row {
  readonly id: string;
  readonly label: string;
  readonly size: number;
  /** MB/s (10^6 bytes per second) of every timed run, in order. */
  readonly samples: readonly number[];
  /** The median run's share of zero-copied bytes, where the sender reports one. */
  readonly zeroCopied?: number;
}

export interface RoundsPlan {
  readonly sizes: readonly number[];
  /** Bytes one run sends at `size` (rounded to whole chunks). */
  readonly bytesPerRun: (size: number) => number;
  /** Timed rounds per size; default two cycles of the orders. */
  readonly rounds?: number;
}

/** Runs every sender at every size; `onProgress` hears each finished round. */
export const runRounds = async (
  senders: readonly Sender[],
  plan: RoundsPlan,
  onProgress: (line: string) => void,
): Promise<Row[]> => {
  const orders = williamsOrders(senders.length);
  const rounds = plan.rounds ?? 2 * orders.length;
  const rows: Row[] = [];
  for (const size of plan.sizes) {
    const times = Math.max(1, Math.round(plan.bytesPerRun(size) / size));
    const runs = senders.map(() => [] as Run[]);
    // The untimed round runs the cycle's last order, so the first timed run follows its last run.
    for (let round = -1; round < rounds; round++) {
      const order = orders[(round + orders.length) % orders.length];
      for (const s of order) {
        const run = await senders[s].send(size, times);
        if (run.bytes !== size * times) {
          throw new Error(`${senders[s].label} at ${label(size)}: ${run.bytes} bytes sent, expected ${size * times}`);
        }
        if (round >= 0) runs[s].push(run);
      }
      onProgress(`${label(size)} ${round < 0 ? "warm-up round" : `round ${round + 1}/${rounds}`}`);
    }
    senders.forEach((sender, s) => {
      const byTime = [...runs[s]].sort((a, b) => a.ms - b.ms);
      rows.push({
        id: sender.id,
        label: sender.label,
        size,
        samples: runs[s].map((r) => r.bytes / 1e6 / (r.ms / 1000)),
        zeroCopied: byTime[byTime.length >> 1].zeroCopied,
      });
    });
  }
  return rows;
};

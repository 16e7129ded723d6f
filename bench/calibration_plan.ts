/**
 * How much the calibration measures: chunk sizes per sink, rounds and bytes per run, for `--quick`
 * (the README's main job, 85-95 s for both runtimes on a 2-core machine) and `--full`.
 *
 * Runs are noisy here (see `calibration_runs.ts`), so cells are medians of many rounds, and each
 * plan's rounds are whole cycles of the balanced orders (6 for zcio's four backends).
 * `--quick` runs the runtime's socket 9 times per size instead of the rounds' 24 and spends the
 * time on up to 36 rounds where the acceptance check is in doubt (README): with 24, in a clean
 * clone, the added rounds went to two other sizes and a 0.93x miss at Bun loopback 512 B (interval
 * 0.87-0.98) got none.
 *
 * Over loopback TCP, copy at 64 KiB spread by a median absolute deviation of 5%, 14% and 9% over
 * runs of 8, 32 and 128 MiB (Bun, 10 runs each): `--full` sends 128 MiB per run from 16 KiB up,
 * which `--quick` cannot afford; it sends 16 MiB per run below 16 KiB. Connecting weighs on such a
 * run: inside the runs it took 0.6-0.8 ms at 4 KiB and, under Deno, 1.7 ms at 512 B (against
 * 0.2-0.3 ms alone), and `auto` 0.07-0.16 ms more than copy (1-2% of a 16 MiB run) until it did
 * less at connect (7808b27): 0.02 ms more under Bun, about 0.05 under Deno.
 *
 * Under Deno, runs that free 32 MiB each take turns: every other one holds the mark-compact the
 * freed buffers started (64 KiB chunks: 1.4-2.1 against 3.0-3.7 GB/s), so a cell's median there
 * depends on how its runs fell; forcing a full collection before every run made all of them slow.
 *
 * Over the UDP blackhole, runs from 16 KiB up send 64 MiB. Under Deno, a run whose fresh buffers
 * pass V8's 64 MB external-memory limit starts a full collection, which then lands inside about
 * one run in three and takes 10-25 ms there: at 16 KiB (20 rounds), 64 MiB runs took 26 full
 * collections and every zero-copy sender's runs were bimodal, at half speed or full; 32 and 48 MiB
 * runs took 4 and 6 and were not. But Bun's zero-copy runs of 32 MiB ran at half the speed of its
 * 64 MiB runs (3.2 against 6.3 GB/s, after io_uring had run in the process), and of 48 MiB at 4.1,
 * so runs stay at 64 MiB and, under V8, wait for that collection first (`settle_heap.ts`).
 *
 * @module
 */
import type { SinkPlan } from "./calibration_runs.ts";

export type Mode = "quick" | "full";

const KiB = 1024, MiB = 1 << 20;

/** The largest datagram the UDP blackhole sends: a 64 KiB datagram does not fit (65507 B over IPv4). */
export const UDP_MAX = 60 * KiB;

export interface Plan {
  readonly tcpSizes: readonly number[];
  readonly udpSizes: readonly number[];
  readonly tcp: SinkPlan;
  readonly udp: SinkPlan;
}

/** Powers of two from 512 B to `max`. */
const powers = (max: number): number[] => {
  const out: number[] = [];
  for (let s = 512; s <= max; s *= 2) out.push(s);
  return out;
};

export const PLANS: Record<Mode, Plan> = {
  quick: {
    tcpSizes: [512, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB],
    udpSizes: [512, 4 * KiB, 16 * KiB, 32 * KiB, UDP_MAX],
    tcp: {
      rounds: 24,
      runtimeRuns: 9,
      warmupRuns: 2,
      bytesPerRun: (size) => (size < 16 * KiB ? 16 : 32) * MiB,
      followUpRounds: 36,
    },
    udp: {
      rounds: 24,
      runtimeRuns: 9,
      warmupRuns: 3,
      bytesPerRun: (size) => (size < 4 * KiB ? 8 : size < 16 * KiB ? 16 : 64) * MiB,
      followUpRounds: 36,
    },
  },
  full: {
    tcpSizes: powers(MiB),
    udpSizes: [...powers(32 * KiB), UDP_MAX],
    tcp: {
      rounds: 24,
      runtimeRuns: 21,
      warmupRuns: 4,
      bytesPerRun: (size) => (size < 4 * KiB ? 32 : size < 16 * KiB ? 64 : 128) * MiB,
      followUpRounds: 42,
    },
    udp: {
      rounds: 42,
      runtimeRuns: 21,
      warmupRuns: 6,
      bytesPerRun: (size) => (size < 4 * KiB ? 16 : size < 16 * KiB ? 32 : 64) * MiB,
      followUpRounds: 42,
    },
  },
};

/**
 * How much the calibration measures: chunk sizes per sink, rounds and bytes per run, for `--quick`
 * (the README's main job, about a minute for both runtimes on a 2-core machine) and `--full`.
 *
 * `--quick` spends its minute where the policy and the acceptance check need it: 12 rounds of
 * zcio's backends per size (3 cycles of the orders in `calibration_runs.ts`), a few runs of the
 * runtime's socket (shown for comparison, not checked), and a size whose check fails measured
 * again. Most of a run's cost is preparing its fresh buffers, not sending them, so fewer runs is
 * what makes it shorter; each run stays long enough that connecting is a small part of it.
 *
 * Runs grow with the chunk size so that each one lasts a few milliseconds or more. Over the UDP
 * blackhole, runs from 16 KiB up send 64 MiB: past V8's 64 MB external-memory limit, so under
 * V8 they wait for the full collection that starts (`settle_heap.ts`) instead of taking it inside
 * the run, and shorter zero-copy runs are slower in Bun after io_uring has run in the process.
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
      rounds: 12,
      runtimeRuns: 5,
      warmupRuns: 2,
      bytesPerRun: (size) => (size < 16 * KiB ? 16 : 32) * MiB,
      retestRounds: 12,
      retestSizes: 2,
    },
    udp: {
      rounds: 12,
      runtimeRuns: 5,
      warmupRuns: 3,
      bytesPerRun: (size) => (size < 4 * KiB ? 8 : size < 16 * KiB ? 16 : 64) * MiB,
      retestRounds: 12,
      retestSizes: 2,
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
      retestRounds: 24,
      retestSizes: 4,
    },
    udp: {
      rounds: 40,
      runtimeRuns: 21,
      warmupRuns: 6,
      bytesPerRun: (size) => (size < 4 * KiB ? 16 : size < 16 * KiB ? 32 : 64) * MiB,
      retestRounds: 24,
      retestSizes: 4,
    },
  },
};

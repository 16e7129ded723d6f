/**
 * How much the calibration measures: chunk sizes per sink, rounds and bytes per run, for `--quick`
 * (the README's main job, 71-80 s for both runtimes on a 2-core machine) and `--full`.
 *
 * Runs are noisy here (see `calibration_runs.ts`). Over loopback TCP, copy at 64 KiB spread by a
 * median absolute deviation of 12% over 8 MiB runs, 20% over 32 MiB runs and 3.5% over 128 MiB
 * runs into a sink that read every byte into JavaScript, and by 5%, 14% and 9% into
 * `sink_server.ts`, which drops them in the kernel (Bun, 10 runs each): `--full` sends 128 MiB per
 * run from 16 KiB up, which `--quick` cannot afford. Over the UDP blackhole, zero-copy runs were
 * bimodal (see `acceptance.ts`) until each run waited for the garbage collector
 * (`settle_heap.ts`); they still take many rounds there.
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
      rounds: 21,
      warmupRuns: 2,
      bytesPerRun: (size) => (size < 4 * KiB ? 4 : size < 16 * KiB ? 8 : 32) * MiB,
    },
    udp: {
      rounds: 25,
      warmupRuns: 3,
      bytesPerRun: (size) => (size < 4 * KiB ? 4 : size < 16 * KiB ? 16 : 64) * MiB,
    },
  },
  full: {
    tcpSizes: powers(MiB),
    udpSizes: [...powers(32 * KiB), UDP_MAX],
    tcp: {
      rounds: 21,
      warmupRuns: 4,
      bytesPerRun: (size) => (size < 4 * KiB ? 32 : size < 16 * KiB ? 64 : 128) * MiB,
    },
    udp: {
      rounds: 41,
      warmupRuns: 6,
      bytesPerRun: (size) => (size < 4 * KiB ? 16 : size < 16 * KiB ? 32 : 64) * MiB,
    },
  },
};

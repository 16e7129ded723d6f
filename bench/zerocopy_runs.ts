/**
 * copy against msg_zerocopy into one sink, at each chunk size, three ways back to back so the
 * ratios compare like with like on a noisy machine:
 * - `copy`: the copy backend with default tuning (chunks under 16 KiB staged and gathered, larger
 *   ones sent from the caller's buffer), one buffer reused for every write;
 * - `msg_zerocopy`: `stageBelow` 1 KiB so every chunk is owned and goes with MSG_ZEROCOPY; each
 *   write gets a fresh whole buffer from a pool allocated before the timed run (writing transfers
 *   it, so a buffer cannot be written twice), the transfer itself being timed;
 * - `msg_zerocopy + lease`: the same, but `await conn.lease(size)` per write inside the timed run,
 *   which is what a program without a pool pays (a fresh zero-filled buffer per write).
 * Each run opens a connection, writes, closes (which, for msg_zerocopy, waits for every
 * notification), and checks the byte count. A cell reports its median run.
 *
 * @module
 */
import { Bench } from "tinybench";
import type { ConnectionStats } from "../mod.ts";
import { settleAfterPreparing, settleHeap } from "./settle_heap.ts";
import { sendChunks, type SendResult, type SinkTarget } from "./zerocopy_sender.ts";

const MiB = 1 << 20;

export const MODES = ["copy", "msg_zerocopy", "msg_zerocopy + lease"] as const;
export type Mode = typeof MODES[number];

export interface ModeResult {
  /** From the median run, in MB/s (10^6 bytes per second). */
  readonly mbps: number;
  /** Sender CPU time (user + system) per MB sent, in microseconds, mean over the runs. */
  readonly cpuMicrosPerMB: number;
  /** Stats of the last run. */
  readonly stats: ConnectionStats;
}

export interface SizeResult {
  readonly size: number;
  readonly bytesPerRun: number;
  readonly modes: Record<Mode, ModeResult>;
}

/** Timed runs per cell, after {@link WARMUPS} untimed ones. */
export const runs = (quick: boolean): number => (quick ? 5 : 15);
const WARMUPS = 2;

/** Bytes one run sends: enough that connection setup is noise; small chunks send a quarter. */
export const bytesPerRun = (size: number, quick: boolean): number => (quick ? 64 : 256) * MiB / (size < 4096 ? 4 : 1);

/** Runs every mode at every size into `target`; `onProgress` hears about each finished task. */
export const runZerocopyModes = async (
  target: SinkTarget,
  sizes: readonly number[],
  quick: boolean,
  onProgress: (what: string) => void,
): Promise<SizeResult[]> => {
  const bench = new Bench({ iterations: runs(quick), time: 0, warmupIterations: WARMUPS, warmupTime: 0 });
  const last = new Map<string, SendResult>();
  const cpu = new Map<string, number[]>();
  for (const size of sizes) {
    const total = bytesPerRun(size, quick);
    const times = Math.ceil(total / size);
    const record = (name: string, result: SendResult) => {
      if (result.count !== size * times) throw new Error(`${name}: ${result.count} bytes arrived, expected ${size * times}`);
      last.set(name, result);
      cpu.set(name, [...(cpu.get(name) ?? []), result.cpuMicros / (size * times / 1e6)]);
    };
    const copyChunk = new Uint8Array(size).map((_, i) => i);
    bench.add(`copy ${size}`, async () => {
      record(`copy ${size}`, await sendChunks(target, { backend: "copy" }, times, () => copyChunk));
    }, { beforeEach: settleHeap });
    let pool: Uint8Array[] = [];
    bench.add(`msg_zerocopy ${size}`, async () => {
      const chunks = pool;
      pool = [];
      record(`msg_zerocopy ${size}`, await sendChunks(target, owned, times, (_, i) => chunks[i]));
    }, {
      beforeEach: async () => {
        await settleHeap();
        pool = Array.from({ length: times }, () => new Uint8Array(size).fill(size & 0xff));
        await settleAfterPreparing(times * size);
      },
    });
    bench.add(`msg_zerocopy + lease ${size}`, async () => {
      record(`msg_zerocopy + lease ${size}`, await sendChunks(target, owned, times, (conn) => conn.lease(size)));
    }, { beforeEach: settleHeap });
  }
  bench.addEventListener("cycle", (e) => {
    onProgress(`${target.transport}: done ${(e as unknown as { task: { name: string } }).task.name}`);
  });
  await bench.run();

  return sizes.map((size) => {
    const total = Math.ceil(bytesPerRun(size, quick) / size) * size;
    const modes = {} as Record<Mode, ModeResult>;
    for (const mode of MODES) {
      const name = `${mode} ${size}`;
      const task = bench.tasks.find((t) => t.name === name)!;
      const result = task.result as { latency?: { p50: number }; error?: unknown };
      if (result.latency === undefined) throw new Error(`${name} failed: ${String(result.error)}`);
      const samples = cpu.get(name)!.slice(WARMUPS);
      modes[mode] = {
        mbps: total / 1e6 / (result.latency.p50 / 1000),
        cpuMicrosPerMB: samples.reduce((a, b) => a + b, 0) / samples.length,
        stats: last.get(name)!.stats,
      };
    }
    return { size, bytesPerRun: total, modes };
  });
};

/** msg_zerocopy with every chunk owned: nothing is staged, down to 1 KiB chunks. */
const owned = { backend: "msg_zerocopy", stageBelow: 1024 } as const;

/**
 * The timed runs of the calibration for one sink in this process: at each chunk size, the
 * runtime's own socket and every zcio backend (copy, msg_zerocopy, io_uring, auto) send the same
 * workload, one run each per round. The orders of the rounds are balanced for carryover
 * (`carryover_balanced_orders.ts`): over each cycle of 4 rounds, each sender runs right after
 * each other one exactly once, counting the runs that end one round and start the next, so what a
 * run leaves behind for the next favors none of them. A cell reports its median run (and its
 * fastest).
 *
 * On the 2-vCPU VM this was built on, runs are noisy: a process needs about a gigabyte of sends
 * before its paths are warm, and loopback TCP varies by 10–20% from run to run whatever the sender
 * (a loop of blocking `send` calls through FFI as much). So every sink starts with untimed warm-up
 * runs of every sender, every size with one more untimed round, and the cells are medians of many
 * rounds.
 *
 * The workload is the same for every sender: a run writes fresh whole buffers, each its own
 * ArrayBuffer, prepared (allocated and filled) before the timed region and never written twice,
 * so a zero-copy route may take each one over and a copy route borrows it. A run opens a
 * connection, writes every chunk (awaiting each write), closes (which for the msg_zerocopy and
 * io_uring backends waits for every notification, and for auto, as for copy, only until every byte
 * is in the kernel) and, over TCP, waits for the sink's byte count. Each run is one tinybench
 * task iteration.
 *
 * Before its buffers are prepared, every run collects the garbage of the runs before it
 * (`settle_heap.ts`: a full collection in Bun, a minor one in V8 runtimes). Otherwise a run pays,
 * at random, for collecting the buffers of the runs before it: zero-copy runs over the UDP
 * blackhole spread from a third to all of their speed, and under Deno every other loopback TCP run
 * of 32 MiB in 64 KiB chunks took 2-3 times as long as the others, each of them stalled for 3-8 ms
 * in one wait. It does not take out the full collections V8 starts once freed buffers reach 64 MB:
 * under Deno, runs of 32 MiB in 64 KiB chunks still alternate between 1.4-2.1 and 3.0-3.7 GB/s
 * (`calibration_plan.ts`).
 *
 * @module
 */
import { Bench } from "tinybench";
import type { BackendChoice, ConnectionStats } from "../mod.ts";
import { carryoverBalancedOrders } from "./carryover_balanced_orders.ts";
import { sendWithRuntimeSocket } from "./runtime_socket_sender.ts";
import { sendUdpWithRuntimeSocket } from "./runtime_udp_sender.ts";
import { settleAfterPreparing, settleHeap } from "./settle_heap.ts";
import { sendChunks, type SinkTarget } from "./zerocopy_sender.ts";

/** zcio's backends, as the table lists them. */
export const BACKENDS = ["copy", "msg_zerocopy", "io_uring", "auto"] as const satisfies readonly BackendChoice[];
/** Every sender of a cell: the runtime's own socket, then zcio's backends. */
export const SENDERS = ["runtime", ...BACKENDS] as const;
export type Sender = typeof SENDERS[number];

/** What a zcio run's connection reported (of the median run). */
export interface RunStats {
  readonly bytes: ConnectionStats["bytes"];
  readonly routed: ConnectionStats["routed"];
  readonly zeroCopiedBytes: number;
  readonly copiedBytes: number;
  readonly downgrades: number;
  readonly noBufferFallbacks: number;
  readonly downgradeReasons: readonly string[];
}

export interface Cell {
  readonly sender: Sender;
  readonly size: number;
  /** MB/s (10^6 bytes per second) of the median run. */
  readonly mbps: number;
  /** MB/s of the fastest run. */
  readonly fastest: number;
  /** MB/s of every timed run, in round order. */
  readonly samples: readonly number[];
  readonly stats?: RunStats;
}

export interface SinkPlan {
  /** Timed rounds per size (after one untimed warm-up round). */
  readonly rounds: number;
  /** Untimed runs of every sender before the first size, at {@link WARMUP_SIZE}: paths get warm. */
  readonly warmupRuns: number;
  /** Bytes one run sends at `size`. */
  readonly bytesPerRun: (size: number) => number;
}

/** The order of the senders in each round (indices into {@link SENDERS}); rounds cycle through them. */
const ORDERS = carryoverBalancedOrders(SENDERS.length);

/** The size and bytes of a warm-up run. */
const WARMUP_SIZE = 16 * 1024, WARMUP_BYTES = 32 << 20;

/** Progress: what just finished, and how many runs of this sink are done out of how many. */
export type Progress = (what: string, done: number, total: number) => void;

/** Runs every sender at every size into `target`. */
export const runSink = async (
  target: SinkTarget,
  sizes: readonly number[],
  plan: SinkPlan,
  onProgress: Progress,
): Promise<Cell[]> => {
  const total = (sizes.length * (plan.rounds + 1) + plan.warmupRuns) * SENDERS.length;
  let done = 0;
  const cells: Cell[] = [];
  for (let i = 0; i < plan.warmupRuns; i++) {
    for (const sender of SENDERS) {
      const times = Math.round(WARMUP_BYTES / WARMUP_SIZE);
      const pool = Array.from({ length: times }, () => new Uint8Array(WARMUP_SIZE).fill(WARMUP_SIZE & 0xff));
      await send(target, sender, times, (k) => pool[k]);
      onProgress(`${target.transport} warm-up ${sender} (${i + 1}/${plan.warmupRuns})`, ++done, total);
    }
  }
  for (const size of sizes) {
    const times = Math.max(1, Math.round(plan.bytesPerRun(size) / size));
    const bytes = times * size;
    const samples = new Map<Sender, number[]>(SENDERS.map((s) => [s, []]));
    const stats = new Map<Sender, RunStats[]>();
    for (let round = 0; round <= plan.rounds; round++) {
      const bench = new Bench({ iterations: 1, time: 0, warmup: false, throws: true });
      // The warm-up round takes the cycle's last order, so the first timed run follows its last run.
      for (const k of ORDERS[(round + ORDERS.length - 1) % ORDERS.length]) {
        const sender = SENDERS[k];
        let pool: Uint8Array[] = [];
        bench.add(sender, async () => {
          const chunks = pool;
          pool = [];
          const sent = await send(target, sender, times, (i) => chunks[i]);
          if (sent.count !== bytes) throw new Error(`${sender} at ${size} B: ${sent.count} bytes counted, expected ${bytes}`);
          if (round > 0 && sent.stats !== undefined) stats.set(sender, [...(stats.get(sender) ?? []), compact(sent.stats)]);
        }, {
          beforeEach: async () => {
            await settleHeap();
            pool = Array.from({ length: times }, (_, i) => new Uint8Array(size).fill((i * 31 + size) & 0xff));
            await settleAfterPreparing(bytes);
          },
        });
      }
      bench.addEventListener("cycle", (e) => {
        const task = (e as unknown as { task: { name: string } }).task;
        onProgress(`${target.transport} ${label(size)} ${task.name} (round ${round === 0 ? "warm-up" : `${round}/${plan.rounds}`})`, ++done, total);
      });
      await bench.run();
      if (round === 0) continue;
      for (const task of bench.tasks) {
        const result = task.result as { state: string; latency?: { mean: number }; error?: unknown };
        if (result.latency === undefined) throw new Error(`${task.name} at ${size} B failed: ${String(result.error)}`);
        samples.get(task.name as Sender)!.push(bytes / 1e6 / (result.latency.mean / 1000));
      }
    }
    for (const sender of SENDERS) {
      const runs = samples.get(sender)!;
      const m = median(runs);
      // The stats of the run closest to the median.
      const at = runs.reduce((best, v, i) => (Math.abs(v - m) < Math.abs(runs[best] - m) ? i : best), 0);
      cells.push({ sender, size, mbps: m, fastest: Math.max(...runs), samples: runs, stats: stats.get(sender)?.[at] });
    }
  }
  return cells;
};

/** A size as the table and progress print it. */
export const label = (size: number): string =>
  size >= 1 << 20 ? `${size / (1 << 20)} MiB` : size >= 1024 ? `${+(size / 1024).toFixed(1)} KiB` : `${size} B`;

export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const send = async (
  target: SinkTarget,
  sender: Sender,
  times: number,
  chunkAt: (i: number) => Uint8Array,
): Promise<{ count: number; stats?: ConnectionStats }> => {
  if (sender === "runtime") {
    const count = target.transport === "tcp"
      ? await sendWithRuntimeSocket(target.port, times, chunkAt)
      : await sendUdpWithRuntimeSocket(target.port, times, chunkAt);
    return { count };
  }
  const r = await sendChunks(target, { backend: sender }, times, (_, i) => chunkAt(i));
  const count = target.transport === "tcp" ? r.count : r.stats.bytes.copy + r.stats.bytes.msg_zerocopy + r.stats.bytes.io_uring;
  return { count, stats: r.stats };
};

const compact = (s: ConnectionStats): RunStats => ({
  bytes: s.bytes,
  routed: s.routed,
  zeroCopiedBytes: s.zeroCopiedBytes,
  copiedBytes: s.copiedBytes,
  downgrades: s.downgrades,
  noBufferFallbacks: s.noBufferFallbacks,
  downgradeReasons: s.downgradeReasons,
});

/**
 * The timed runs of the calibration for one sink in this process: at each chunk size, the
 * runtime's own socket and every zcio backend (copy, msg_zerocopy, io_uring, auto) send the same
 * workload. The runtime's runs come first, then the rounds of zcio's backends, one run of each per
 * round, so that whatever drifts over a size's runs drifts for every backend alike. The rounds
 * cycle through {@link ORDERS}, in which each backend runs once at every place of a round and
 * right after each other backend once, so neither what a run leaves behind for the next nor runs
 * taking turns favors any of them. A cell reports its median run (and its fastest).
 *
 * The runtime's socket runs apart because what its runs leave behind lasts for several runs,
 * which no order of the rounds could even out; it is not in the acceptance check, so it takes
 * fewer runs ({@link SinkPlan.runtimeRuns}).
 *
 * After every size has run, a size whose acceptance check fails (`acceptance.ts`) is measured
 * again ({@link SinkPlan.retestRounds} more rounds, pooled with its others), so that a failure the
 * calibration reports is not one unlucky stretch of runs.
 *
 * Runs on a small VM are noisy: a process needs many sends before its paths are warm, and
 * loopback TCP varies from run to run whatever the sender. So every sink starts with untimed
 * warm-up runs of every sender, every size with one more untimed run of the runtime and round of
 * zcio's backends, and the cells are medians of many rounds.
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
 * (`settle_heap.ts`), so that no run pays at random for the buffers of earlier ones.
 *
 * @module
 */
import { Bench } from "tinybench";
import { BACKEND_NAMES, type BackendChoice, type BackendName, type ConnectionStats } from "../mod.ts";
import { failedSizes } from "./acceptance.ts";
import { median } from "./median.ts";
import { sendWithRuntimeSocket } from "./runtime_socket_sender.ts";
import { sendUdpWithRuntimeSocket } from "./runtime_udp_sender.ts";
import { settleAfterPreparing, settleHeap } from "./settle_heap.ts";
import { label } from "./size_label.ts";
import { williamsOrders } from "./williams_orders.ts";
import { sendChunks, type SinkTarget } from "./zerocopy_sender.ts";

/** zcio's backends, as the table lists them. */
export const BACKENDS: readonly BackendChoice[] = [...BACKEND_NAMES, "auto"];
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
  /**
   * Runs per cycle of orders: `samples` come in cycles, each run at one go, the next cycle of
   * this size maybe minutes later. All of them for the runtime's socket, which runs apart.
   */
  readonly cycleRuns: number;
  readonly stats?: RunStats;
  /** The backend that carried every byte of every timed run, when one did (zcio's senders only). */
  readonly route?: BackendName;
}

export interface SinkPlan {
  /** Timed rounds of zcio's backends per size (after one untimed warm-up round), whole cycles of {@link ORDERS}. */
  readonly rounds: number;
  /** Timed runs of the runtime's own socket per size (after one untimed run). */
  readonly runtimeRuns: number;
  /** Untimed runs of every sender before the first size, at {@link WARMUP_SIZE}: paths get warm. */
  readonly warmupRuns: number;
  /** Bytes one run sends at `size`. */
  readonly bytesPerRun: (size: number) => number;
  /** Timed rounds added to a size whose acceptance check failed, whole cycles of {@link ORDERS}. */
  readonly retestRounds: number;
  /** At most this many sizes of the sink are measured again, those nearest the bar first. */
  readonly retestSizes: number;
}

/**
 * The orders of zcio's backends in the rounds, cycled through (`williams_orders.ts`): each backend
 * takes every place of a round once and, within the rounds, runs right after each other backend once.
 */
const ORDERS: readonly (readonly Sender[])[] = williamsOrders(BACKENDS.length).map((o) => o.map((i) => BACKENDS[i]));

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
  // The warm-up, then per size the runtime's runs and the rounds, each after an untimed one (the
  // sizes measured again add to this).
  let total = plan.warmupRuns * SENDERS.length + sizes.length * (plan.runtimeRuns + 1 + (plan.rounds + 1) * BACKENDS.length);
  let done = 0;
  for (let i = 0; i < plan.warmupRuns; i++) {
    for (const sender of SENDERS) {
      const times = Math.round(WARMUP_BYTES / WARMUP_SIZE);
      const pool = Array.from({ length: times }, () => new Uint8Array(WARMUP_SIZE).fill(WARMUP_SIZE & 0xff));
      await send(target, sender, times, (k) => pool[k]);
      onProgress(`${target.transport} warm-up ${sender} (${i + 1}/${plan.warmupRuns})`, ++done, total);
    }
  }
  const runs = new Map(sizes.map((size) => [size, new Map(SENDERS.map((s) => [s, { samples: [] as number[], stats: [] as RunStats[] }]))]));
  /** Runs `orders` at `size`, one run of each sender in each order; `timed` is whether they count. */
  const runOrders = async (size: number, orders: readonly (readonly Sender[])[], timed: boolean, what: (k: number) => string) => {
    const times = Math.max(1, Math.round(plan.bytesPerRun(size) / size));
    const bytes = times * size;
    for (let k = 0; k < orders.length; k++) {
      const bench = new Bench({ iterations: 1, time: 0, warmup: false, throws: true });
      for (const sender of orders[k]) {
        let pool: Uint8Array[] = [];
        bench.add(sender, async () => {
          const chunks = pool;
          pool = [];
          const sent = await send(target, sender, times, (i) => chunks[i]);
          if (sent.count !== bytes) throw new Error(`${sender} at ${size} B: ${sent.count} bytes counted, expected ${bytes}`);
          if (timed && sent.stats !== undefined) runs.get(size)!.get(sender)!.stats.push(compact(sent.stats));
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
        onProgress(`${target.transport} ${label(size)} ${task.name} (${what(k)})`, ++done, total);
      });
      await bench.run();
      if (!timed) continue;
      for (const task of bench.tasks) {
        const result = task.result as { state: string; latency?: { mean: number }; error?: unknown };
        if (result.latency === undefined) throw new Error(`${task.name} at ${size} B failed: ${String(result.error)}`);
        runs.get(size)!.get(task.name as Sender)!.samples.push(bytes / 1e6 / (result.latency.mean / 1000));
      }
    }
  };
  const cycles = (rounds: number) => Array.from({ length: rounds }, (_, k) => ORDERS[k % ORDERS.length]);
  for (const size of sizes) {
    await runOrders(size, [["runtime"]], false, () => "warm-up");
    await runOrders(size, Array.from({ length: plan.runtimeRuns }, () => ["runtime"]), true, (k) => `run ${k + 1}/${plan.runtimeRuns}`);
    // The warm-up round takes the cycle's last order, so the first timed run follows its last run.
    await runOrders(size, [ORDERS[ORDERS.length - 1]], false, () => "round warm-up");
    await runOrders(size, cycles(plan.rounds), true, (k) => `round ${k + 1}/${plan.rounds}`);
  }
  // Sizes whose check failed, measured again, each led in by the cycle's last run as above.
  const retests = failedSizes(cells(runs)).slice(0, plan.retestSizes);
  total += retests.length * (plan.retestRounds * BACKENDS.length + 1);
  for (const size of retests) {
    const last = ORDERS[ORDERS.length - 1];
    await runOrders(size, [last.slice(-1)], false, () => "lead-in of the rounds measured again");
    const rounds = runs.get(size)!.get("auto")!.samples.length;
    await runOrders(size, cycles(plan.retestRounds), true, (k) => `round ${rounds + k + 1}, measured again: auto missed the bar`);
  }
  return cells(runs);
};

/** The cells of `runs` (per size, per sender: each timed run's MB/s, and its connection's stats). */
const cells = (runs: ReadonlyMap<number, ReadonlyMap<Sender, { samples: number[]; stats: RunStats[] }>>): Cell[] =>
  [...runs].flatMap(([size, bySender]) =>
    SENDERS.map((sender) => {
      const { samples, stats } = bySender.get(sender)!;
      const m = median(samples);
      // The stats of the run closest to the median.
      const at = samples.reduce((best, v, i) => (Math.abs(v - m) < Math.abs(samples[best] - m) ? i : best), 0);
      const cycleRuns = sender === "runtime" ? samples.length : ORDERS.length;
      return { sender, size, mbps: m, fastest: Math.max(...samples), samples, cycleRuns, stats: stats[at], route: onlyRoute(stats) };
    })
  );

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
  // Each chunk is a fresh buffer zcio may take over, so the zero-copy routes are measured with memory
  // that is zcio's, as a lease is; the copy route sends it by copy either way.
  const r = await sendChunks(target, { backend: sender, transferBuffers: true }, times, (_, i) => chunkAt(i));
  const count = target.transport === "tcp" ? r.count : r.stats.bytes.copy + r.stats.bytes.msg_zerocopy + r.stats.bytes.io_uring;
  return { count, stats: r.stats };
};

/** The one backend whose bytes are all the bytes of every run in `stats`, if there is one. */
const onlyRoute = (stats: readonly RunStats[]): BackendName | undefined => {
  const routes = new Set(stats.map((s) => {
    const used = BACKEND_NAMES.filter((name) => s.bytes[name] > 0);
    return used.length === 1 ? used[0] : undefined;
  }));
  const [route] = routes;
  return routes.size === 1 ? route : undefined;
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

/**
 * The timed runs of the calibration for one sink in this process: at each chunk size, the
 * runtime's own socket and every zcio backend (copy, msg_zerocopy, io_uring, auto) send the same
 * workload. The runtime's runs come first, then the rounds of zcio's backends, one run of each per
 * round. The orders of the rounds are balanced (`balanced_orders.ts`): over each cycle of 6 rounds,
 * each backend runs right after each other one exactly twice, counting the runs that end one round
 * and start the next, and half of its runs at even places, so neither what a run leaves behind for
 * the next nor runs taking turns favors any of them. A cell reports its median run (and its fastest).
 *
 * The runtime's socket runs apart because what its runs leave behind lasts for several runs, which
 * balancing the run right before cannot even out. Under Deno over loopback TCP at 512 B, with the
 * runtime as a fifth sender in the rounds (200 rounds), copy ran at 1938 MB/s right after the
 * runtime's run, 1773 one run later and 1630 two runs later; `auto`, which the orders put further
 * from the runtime's run on average, came out at 0.969x copy (interval 0.95-1.00), while in A/B
 * runs of the two alone it ran at 1.000 and 0.999x. (The rounds there ran at about 1250 MB/s
 * without the runtime's runs.)
 *
 * After every size has run, rounds are added where this run's noise left the acceptance check in
 * doubt (`acceptance.ts`: its interval holds the bar), one cycle at a time, each to the size
 * {@link mostDoubtful} picks then (a miss before a pass), up to {@link SinkPlan.followUpRounds}.
 * They pool with the size's other rounds. The runtime's socket, which the check leaves out, takes
 * fewer runs ({@link SinkPlan.runtimeRuns}) to pay for them.
 *
 * On the 2-vCPU VM this was built on, runs are noisy: a process needs about a gigabyte of sends
 * before its paths are warm, and loopback TCP varies by 10–20% from run to run whatever the sender
 * (a loop of blocking `send` calls through FFI as much). So every sink starts with untimed warm-up
 * runs of every sender, every size with one more untimed run of the runtime and round of zcio's
 * backends, and the cells are medians of many rounds.
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
import { mostDoubtful } from "./acceptance.ts";
import { balancedOrders } from "./balanced_orders.ts";
import { median } from "./median.ts";
import { sendWithRuntimeSocket } from "./runtime_socket_sender.ts";
import { sendUdpWithRuntimeSocket } from "./runtime_udp_sender.ts";
import { settleAfterPreparing, settleHeap } from "./settle_heap.ts";
import { label } from "./size_label.ts";
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
  /**
   * Runs per cycle of orders: `samples` come in cycles, each run at one go, the next cycle of
   * this size maybe minutes later. All of them for the runtime's socket, which runs apart.
   */
  readonly cycleRuns: number;
  readonly stats?: RunStats;
}

export interface SinkPlan {
  /** Timed rounds of zcio's backends per size (after one untimed warm-up round), whole cycles of orders. */
  readonly rounds: number;
  /**
   * Timed runs of the runtime's own socket per size (after one untimed run). It is not in the
   * acceptance check, so it takes fewer runs than the rounds, and the time goes to
   * {@link followUpRounds}.
   */
  readonly runtimeRuns: number;
  /** Untimed runs of every sender before the first size, at {@link WARMUP_SIZE}: paths get warm. */
  readonly warmupRuns: number;
  /** Bytes one run sends at `size`. */
  readonly bytesPerRun: (size: number) => number;
  /**
   * Timed rounds to add after every size has run, whole cycles of orders at a time, each to the
   * size `mostDoubtful` (`acceptance.ts`) picks then; none once no check is in doubt.
   */
  readonly followUpRounds: number;
}

/** The order of zcio's backends in each round; rounds cycle through them. */
const ORDERS: readonly (readonly Sender[])[] = balancedOrders(BACKENDS.length).map((o) => o.map((i) => BACKENDS[i]));

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
  // At most: the warm-up; per size, the runtime's runs and the rounds, each after an untimed one;
  // and the follow-up blocks, each led in by one run.
  const followUpBlocks = Math.ceil(plan.followUpRounds / ORDERS.length);
  const total = plan.warmupRuns * SENDERS.length + sizes.length * (plan.runtimeRuns + 1 + (plan.rounds + 1) * BACKENDS.length) +
    followUpBlocks * (ORDERS.length * BACKENDS.length + 1);
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
  // Rounds where this run's noise left the acceptance check in doubt, one cycle at a time to the
  // size mostDoubtful picks then, led in by the cycle's last run (as the warm-up round above).
  for (let extra = 0; extra < plan.followUpRounds; extra += ORDERS.length) {
    const size = mostDoubtful(cells(runs));
    if (size === undefined) break;
    const last = ORDERS[ORDERS.length - 1];
    await runOrders(size, [last.slice(-1)], false, () => "lead-in of rounds for the acceptance check");
    const rounds = runs.get(size)!.get("auto")!.samples.length;
    await runOrders(size, cycles(ORDERS.length), true, (k) => `round ${rounds + k + 1}, the acceptance check in doubt`);
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
      return { sender, size, mbps: m, fastest: Math.max(...samples), samples, cycleRuns, stats: stats[at] };
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

const compact = (s: ConnectionStats): RunStats => ({
  bytes: s.bytes,
  routed: s.routed,
  zeroCopiedBytes: s.zeroCopiedBytes,
  copiedBytes: s.copiedBytes,
  downgrades: s.downgrades,
  noBufferFallbacks: s.noBufferFallbacks,
  downgradeReasons: s.downgradeReasons,
});

/**
 * Collects the garbage of the runs before a timed run, so that no run pays for the buffers of the
 * runs before it. Call it before the run's buffers are prepared: the last run's buffers are dead by
 * then and are freed, their memory goes to the new ones, and the run starts with an empty young
 * generation that its own allocations do not fill.
 *
 * - Bun: a full collection (`Bun.gc(true)`). Over the UDP blackhole at 60 KiB, zero-copy runs of
 *   64 MiB spread from 5 to 18 GB/s without it, and ran at 12-16 GB/s with it.
 * - V8 (Deno, Node): a minor collection, brought on by filling the young generation with garbage
 *   (V8 has no call for one without `--expose-gc`); about 1.5 ms with a 16 MiB semi-space. Without
 *   it, under Deno, one loopback TCP run of 4 MiB in 512 B chunks in five paid for the collection
 *   at its connect, 5-9 ms on a 4 ms run. An earlier 10 ms pause before every run (waiting for
 *   V8's concurrent collector) let the CPU go idle: Deno's half of `--quick` then ran 10-25%
 *   slower (loopback TCP 512 B 1070 against 1357 MB/s, 1 MiB 3963 against 4797; UDP 60 KiB
 *   msg_zerocopy 11776 against 13369), and {@link settleAfterPreparing} now pauses only after
 *   large runs' buffers. Full collections forced with `gc()` made every run after them 2-3x slower
 *   (Deno, `--quick`, loopback TCP 512 B: 253 against 851 MB/s), before or after the buffers were
 *   prepared.
 *
 * @example
 * ```ts
 * await settleHeap();
 * const pool = Array.from({ length: 1024 }, () => new Uint8Array(65536).fill(1));
 * await settleAfterPreparing(1024 * 65536);
 * const started = performance.now(); // then send the pool
 * ```
 *
 * @module
 */
import v8 from "node:v8";

const bun = (globalThis as { Bun?: { gc(full: boolean): void } }).Bun;

/** Collects garbage now: a full collection in Bun, a minor one in V8. */
export const settleHeap = (): Promise<void> => {
  if (bun !== undefined) bun.gc(true);
  else emptyYoungGeneration();
  return Promise.resolve();
};

/** V8's external-memory limit: fresh buffers past it since the last full collection start one. */
const V8_EXTERNAL_LIMIT_BYTES = 64 << 20;

/** How long V8 runtimes wait after preparing buffers past {@link V8_EXTERNAL_LIMIT_BYTES}. */
const V8_PAUSE_MS = 10;

/**
 * Call after preparing `bytes` of fresh buffers for a run (after {@link settleHeap}). If they
 * passed V8's external-memory limit (64 MiB runs and longer), V8 has just started a full
 * collection, which otherwise finishes inside the run and takes 10-25 ms there; a pause of
 * {@link V8_PAUSE_MS} lets it finish first. (The caller says how much it prepared: the growth of
 * `process.memoryUsage().external` read 0 or less for 64 MiB in one preparation of three, when that
 * collection had already freed older buffers.) Without the pause, Deno's UDP runs of 64 MiB at
 * 16 KiB fell into a half-speed and a full-speed group, and in one `--full` run `auto` missed 0.95x
 * there (0.92x); with it, every UDP check of the next `--full` run passed. Smaller runs do not
 * pause: an idle CPU before a run slowed short runs by 10-25%.
 */
export const settleAfterPreparing = (bytes: number): Promise<void> =>
  bun !== undefined || bytes < V8_EXTERNAL_LIMIT_BYTES
    ? Promise.resolve()
    : new Promise((resolve) => setTimeout(resolve, V8_PAUSE_MS));

/** Where {@link emptyYoungGeneration}'s garbage goes, so that allocating it is not optimized away. */
let garbage: unknown;

/** Elements of one garbage array: 8 KiB, well below V8's large-object size. */
const GARBAGE_ELEMENTS = 1022;

/** Allocates garbage until V8 has collected its young generation (its used size drops). */
const emptyYoungGeneration = (): void => {
  const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  let used = young()?.space_used_size;
  for (let attempt = 0; used !== undefined && attempt < 8; attempt++) {
    const arrays = Math.ceil((young()!.space_available_size + 1) / (8 * GARBAGE_ELEMENTS)) + 1;
    for (let i = 0; i < arrays; i++) garbage = new Array(GARBAGE_ELEMENTS);
    const now = young()!.space_used_size;
    if (now < used) break;
    used = now;
  }
  garbage = undefined;
};

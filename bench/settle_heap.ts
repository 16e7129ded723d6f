/**
 * Collects the garbage of the runs before a timed run, so that no run pays for the buffers of the
 * runs before it. Call it before the run's buffers are prepared: the last run's buffers are dead by
 * then and are freed, their memory goes to the new ones, and the run starts with an empty young
 * generation that its own allocations do not fill.
 *
 * - Bun: a full collection (`Bun.gc(true)`): without it, zero-copy runs over the UDP blackhole
 *   paid at random for collecting earlier runs' buffers and spread widely.
 * - V8 (Deno, Node): a minor collection, brought on by filling the young generation with garbage
 *   (V8 has no call for one without `--expose-gc`); about a millisecond. Without it, a short run
 *   now and then paid for the collection at its connect. It does not wait: an idle CPU before a
 *   run slows the run (so {@link settleAfterPreparing} pauses only after large runs' buffers), and
 *   a forced full collection (`gc()`) slows every run after it.
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
 * collection, which otherwise finishes inside the run and splits its runs into a slow and a fast
 * group; a pause of {@link V8_PAUSE_MS} lets it finish first. The caller says how much it prepared:
 * the growth of `process.memoryUsage().external` can read 0 when that collection has already freed
 * older buffers. Smaller runs do not pause, since an idle CPU before a run slows short runs.
 */
export const settleAfterPreparing = (bytes: number): Promise<void> =>
  bun !== undefined || bytes < V8_EXTERNAL_LIMIT_BYTES ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, V8_PAUSE_MS));

/** Where {@link emptyYoungGeneration}'s garbage goes, so that allocating it is not optimized away. */
// deno-lint-ignore no-unused-vars -- written only, which is its purpose
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

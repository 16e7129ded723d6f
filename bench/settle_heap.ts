/**
 * Lets the runtime's garbage collector catch up before a timed run: every run of a benchmark
 * allocates its own buffers, so without this a run pays, at random, for collecting the buffers of
 * the runs before it. Call it after the run's buffers are prepared, so that allocating them does
 * not start the next collection during the run.
 *
 * - Bun: a full collection (`Bun.gc(true)`). Over the UDP blackhole at 60 KiB, zero-copy runs of
 *   64 MiB spread from 5 to 18 GB/s without it, and ran at 12-16 GB/s with it.
 * - V8 (Deno, Node): a pause of {@link V8_PAUSE_MS}, in which V8's concurrent collector finishes
 *   the work the earlier runs left. Forcing a collection instead (`gc()` with --expose-gc) made the
 *   runs after it slower: a full one about twice as slow (Deno, 60 KiB zero-copy: 6.1 against 13.2
 *   GB/s; Node: 4.1 against 6.2), a minor one 1.4x inside the calibration. Without the pause, a
 *   Deno msg_zerocopy run that followed a copy run stalled for 5-14 ms in one write (3.4-5.7
 *   GB/s, against 8.9-11.5 after another msg_zerocopy run); with 10-20 ms, none did.
 *
 * @example
 * ```ts
 * const pool = Array.from({ length: 1024 }, () => new Uint8Array(65536).fill(1));
 * await settleHeap();
 * const started = performance.now(); // then send the pool
 * ```
 *
 * @module
 */

/** How long V8 runtimes wait before a run. */
export const V8_PAUSE_MS = 10;

/** Collects garbage (Bun) or waits for the collector (V8); see above. */
export const settleHeap = (): Promise<void> => {
  const bun = (globalThis as { Bun?: { gc(full: boolean): void } }).Bun;
  if (bun !== undefined) {
    bun.gc(true);
    return Promise.resolve();
  }
  return new Promise((resolve) => setTimeout(resolve, V8_PAUSE_MS));
};

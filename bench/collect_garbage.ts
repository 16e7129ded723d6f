/**
 * A full garbage collection before a timed run, in Bun: every run of a benchmark allocates its own
 * buffers, so without it a run pays, at random, for collecting the buffers of the runs before it.
 * Call it after the run's buffers are prepared, so that allocating them does not start the next
 * collection during the run.
 *
 * Measured over the UDP blackhole with 64 MiB runs of 60 KiB datagrams (`bench/main.ts --quick`):
 * - Bun: zero-copy runs spread from 5 to 18 GB/s without it, and ran at 12-16 GB/s with it.
 * - Deno (V8, `--v8-flags=--expose-gc`): a collection made the runs after it slower, a full one
 *   about twice as slow (6.1 against 13.2 GB/s), a minor one too inside the calibration (io_uring
 *   12.0 against 8.3 GB/s; copy at 16 KiB 4.2 against 3.3). So V8 runtimes (Deno, Node) collect
 *   when they decide to, which adds noise but no bias.
 *
 * @example
 * ```ts
 * const pool = Array.from({ length: 1024 }, () => new Uint8Array(65536).fill(1));
 * collectGarbage();
 * const started = performance.now(); // then send the pool
 * ```
 *
 * @module
 */

/** Collects garbage in Bun (see above); does nothing in other runtimes. */
export const collectGarbage = (): void => {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
};

/**
 * Orders of `n` senders, one per round, from a Williams design: over the cycle, every sender runs
 * once at every place of a round, and right after every other sender equally often within rounds
 * (once for even `n`, twice for odd `n`, whose cycle is `2n` rounds), so that what a run leaves
 * behind for the next favors no sender. The calibration (`calibration_runs.ts`) and the reference
 * bench (`reference_rounds.ts`, up to 11 senders) interleave their senders this way.
 *
 * @example
 * ```ts
 * williamsOrders(4); // [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]
 * ```
 *
 * @module
 */
export const williamsOrders = (n: number): number[][] => {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`williamsOrders needs a whole number of senders, got ${n}`);
  // 0, 1, n-1, 2, n-2, ...: the differences between neighbours cover every nonzero step once.
  const first = Array.from({ length: n }, (_, j) => (j === 0 ? 0 : j % 2 === 1 ? (j + 1) / 2 : n - j / 2));
  const rows = Array.from({ length: n }, (_, r) => first.map((s) => (s + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
};

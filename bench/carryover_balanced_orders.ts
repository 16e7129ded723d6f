/**
 * Orders of `n` senders, one per round, balanced for carryover (a Williams design): over every
 * full cycle of them, each sender runs right after each other sender equally often, and each
 * sender runs in each position equally often. A run can slow down the one after it, so in a plain
 * rotation (0 1 2 3 4, then 1 2 3 4 0, ...) the sender that always follows a costly one pays for
 * it: under Deno over the UDP blackhole at 16 KiB, a run right after an io_uring run wrote its
 * 64 MiB in 12.2-12.4 ms, and in 10.3 ms right after a copy run, and in the calibration's rotation
 * `auto` always followed io_uring.
 *
 * For even `n` the cycle is `n` orders; for odd `n`, those and their mirror images, `2n`.
 *
 * @example
 * ```ts
 * carryoverBalancedOrders(4); // [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]
 * ```
 *
 * @module
 */

/** The cycle of orders of the senders 0 .. n-1. */
export const carryoverBalancedOrders = (n: number): number[][] => {
  // The first order is 0, 1, n-1, 2, n-2, ...; each next one adds 1 to every entry (mod n).
  const first = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : i % 2 === 1 ? (i + 1) / 2 : n - i / 2));
  const orders = Array.from({ length: n }, (_, shift) => first.map((s) => (s + shift) % n));
  return n % 2 === 0 ? orders : [...orders, ...orders.map((o) => [...o].reverse())];
};

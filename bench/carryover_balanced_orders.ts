/**
 * Orders of `n` senders, one per round, balanced for carryover across the rounds: read as the runs
 * happen, one round after another (the last run of a round is followed by the first of the next,
 * and the cycle's last round by its first), every sender runs right after every other sender
 * exactly once per cycle of `n - 1` orders, and no two orders start with the same sender.
 *
 * A run can slow down the one after it. Under Deno over the UDP blackhole at 16 KiB, a zero-copy
 * run right after a copy run wrote at 4.0-4.9 GB/s, and at 5.0-5.6 after any other sender. A
 * design balanced only inside each round (a Williams design, used before) leaves the transitions
 * between rounds to chance: in one `--quick` run `auto` followed copy 6 times in 20 rounds and
 * msg_zerocopy 4 times, and auto's median came out at 0.92-0.95x msg_zerocopy's while the two
 * send the same way.
 *
 * Positions are not balanced: a sender may be last in most orders of a cycle. No cycle of `n - 1`
 * orders balances both (a search found none for 3 to 7 senders). The slowdown measured so far came
 * from the run before; a place in the round has not shown one of its own: in 200 rounds of
 * loopback TCP at 16 KiB under Bun, `auto` ran last in three of the four orders and came out at
 * 1.00, 0.96 and 1.00x copy there, and at 1.01x in the order where it ran third.
 *
 * @example
 * ```ts
 * carryoverBalancedOrders(4); // [[0, 1, 2, 3], [1, 3, 2, 0], [2, 1, 0, 3]]
 * // the runs 0 1 2 3 1 3 2 0 2 1 0 3, then 0 again: each of the 12 pairs a>b once
 * ```
 *
 * @module
 */

/** The cycle of orders of the senders 0 .. n-1 (a small depth-first search: instant up to 7 senders). */
export const carryoverBalancedOrders = (n: number): number[][] => {
  const orders = Array.from({ length: n - 1 }, () => new Array<number>(n));
  const follows = new Uint8Array(n * n); // follows[a * n + b]: b already runs right after a
  const starts = new Uint8Array(n);
  // Places sender `i` of order `o`, after `previous` (-1 before the first run); `used` is a bit mask
  // of the senders already in order `o`.
  const place = (o: number, i: number, previous: number, used: number): boolean => {
    if (i === n) {
      if (o < n - 2) return place(o + 1, 0, previous, 0);
      const first = orders[0][0];
      return previous !== first && follows[previous * n + first] === 0;
    }
    for (let s = 0; s < n; s++) {
      if ((used & (1 << s)) !== 0 || s === previous || (previous >= 0 && follows[previous * n + s] === 1)) continue;
      // The first order is 0 .. n-1: any cycle can be renamed into one that starts so.
      if (o === 0 && s !== i) continue;
      if (i === 0 && starts[s] === 1) continue;
      orders[o][i] = s;
      if (previous >= 0) follows[previous * n + s] = 1;
      if (i === 0) starts[s] = 1;
      if (place(o, i + 1, s, used | (1 << s))) return true;
      if (previous >= 0) follows[previous * n + s] = 0;
      if (i === 0) starts[s] = 0;
    }
    return false;
  };
  if (n < 2 || !place(0, 0, -1, 0)) throw new Error(`no carryover-balanced cycle of orders for ${n} senders`);
  return orders;
};

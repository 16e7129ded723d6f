/**
 * Orders of `n` senders, one per round, balanced for what a run leaves to the runs after it. Read
 * as the runs happen, one round after another (the last run of a round is followed by the first of
 * the next, and the cycle's last round by its first), over each cycle of `2 (n - 1)` orders:
 *
 * - every sender runs right after every other sender exactly twice (carryover);
 * - every sender runs `n - 1` times at an even place in the cycle and `n - 1` times at an odd one
 *   (parity);
 * - no sender starts more than two rounds.
 *
 * Carryover: a run can slow down the one after it. Under Deno over the UDP blackhole at 16 KiB, a
 * zero-copy run right after a copy run wrote at 4.0-4.9 GB/s, and at 5.0-5.6 after any other sender.
 *
 * Parity: runs take turns. Over loopback TCP under Bun at 8 KiB (a scratch change to the benchmark,
 * 120 rounds per process), with copy in every sender's place, the runs at odd places of the rounds
 * ran 1.5% and 4.6% faster than those at even places in two processes; with copy in three of the
 * four places and io_uring in its own, the even places ran about 5% faster in two others. The
 * cycle of `n - 1` orders used before balanced carryover only and put `auto` at an odd place in all
 * three of its orders: with copy in `auto`'s places as well, and io_uring in its own, copy there ran
 * at 0.93-0.99x copy in copy's places (five processes), and at 0.98-0.99x with these orders (three).
 *
 * There is no such cycle for 2 senders.
 *
 * @example
 * ```ts
 * balancedOrders(4); // [[0, 1, 2, 3], [0, 2, 3, 1], [3, 0, 1, 2], [1, 3, 2, 0], [2, 1, 0, 3], [1, 0, 3, 2]]
 * // in the 24 runs: each sender 3 times at an even place (0 or 2 of a round), each of the 12 pairs a>b twice
 * ```
 *
 * @module
 */

/** The cycle of orders of the senders 0 .. n-1 (a depth-first search: a few milliseconds up to 7 senders). */
export const balancedOrders = (n: number): number[][] => {
  const rounds = 2 * (n - 1);
  const orders = Array.from({ length: rounds }, () => new Array<number>(n));
  const follows = new Uint8Array(n * n); // follows[a * n + b]: times b runs right after a
  const atParity = [new Uint8Array(n), new Uint8Array(n)]; // runs of each sender at even and odd places
  const starts = new Uint8Array(n);
  // Places sender `i` of order `o`, after `previous` (-1 before the first run); `used` is a bit mask
  // of the senders already in order `o`.
  const place = (o: number, i: number, previous: number, used: number): boolean => {
    if (i === n) {
      if (o < rounds - 1) return place(o + 1, 0, previous, 0);
      const first = orders[0][0];
      return previous !== first && follows[previous * n + first] === 1;
    }
    const parity = atParity[(o * n + i) % 2];
    for (let s = 0; s < n; s++) {
      if ((used & (1 << s)) !== 0 || s === previous || (previous >= 0 && follows[previous * n + s] === 2)) continue;
      // The first order is 0 .. n-1: any cycle can be renamed into one that starts so.
      if (o === 0 && s !== i) continue;
      if (parity[s] === n - 1 || (i === 0 && starts[s] === 2)) continue;
      orders[o][i] = s;
      if (previous >= 0) follows[previous * n + s]++;
      parity[s]++;
      if (i === 0) starts[s]++;
      if (place(o, i + 1, s, used | (1 << s))) return true;
      if (previous >= 0) follows[previous * n + s]--;
      parity[s]--;
      if (i === 0) starts[s]--;
    }
    return false;
  };
  if (n < 3 || !place(0, 0, -1, 0)) throw new Error(`no balanced cycle of orders for ${n} senders`);
  return orders;
};

/**
 * How fast one sender's runs are against another's: the median of the ratios of every run of `a`
 * to every run of `b` that ran in the same stratum (the Hodges-Lehmann estimate, taken on ratios),
 * with the 90% interval that goes with it: the one the rank-sum test gives (Hollander and Wolfe,
 * "Nonparametric Statistical Methods", the large-sample form), its statistic summed over the
 * strata. The calibration's acceptance check uses the ratio alone; the interval is for the opt-in
 * reference bench, whose aims state it.
 *
 * The acceptance check compares senders this way rather than by the ratio of their medians because
 * a cell's runs can fall into two groups, a fast one and a slow one (a collection, or the kernel's
 * state, that overlaps some runs and not others). Each median then lands in whichever group holds
 * the middle runs, and the ratio of two medians can be far from what either group shows; among the
 * ratios of all pairs, those of two runs of one group are about half and sit in the middle, so
 * their median stays near the ratio without the split.
 *
 * A stratum is a cycle of the calibration's orders: its runs ran together, while the cycles of a
 * size measured again ran minutes later, and a process's speed drifts in between.
 *
 * @example
 * ```ts
 * pairwiseRatio([950, 950, 950], [1000, 1000, 1000]); // { ratio: 0.95, interval: [0.95, 0.95] }
 * pairwiseRatio([1, 3], [1, 2]).ratio; // 1.25: the median of 1, 0.5, 3 and 1.5
 * // Strata of 2 runs: [1, 3] against [1, 2], and [2, 6] against [2, 4].
 * pairwiseRatio([1, 3, 2, 6], [1, 2, 2, 4], 2).ratio; // 1.25
 * ```
 *
 * @module
 */
import { median } from "./median.ts";

/** The standard normal quantile for a two-sided 90% interval. */
const Z_90 = 1.6449;

export interface PairwiseRatio {
  /** The median of every `a[i] / b[j]` of one stratum. */
  readonly ratio: number;
  /** A 90% interval of `ratio`. */
  readonly interval: readonly [number, number];
}

/**
 * `a` and `b` are runs in the order they ran, split into strata of `stratum` runs each (the last
 * may hold fewer); by default all of them are one stratum.
 */
export const pairwiseRatio = (a: readonly number[], b: readonly number[], stratum = Math.max(a.length, b.length)): PairwiseRatio => {
  if (a.length === 0 || b.length === 0) throw new RangeError(`pairwiseRatio needs runs on both sides (${a.length} and ${b.length})`);
  if (!(Number.isInteger(stratum) && stratum > 0)) throw new RangeError(`a stratum is a whole number of runs, got ${stratum}`);
  const ratios: number[] = [];
  // The variance of the rank-sum statistic, summed over the strata.
  let variance = 0;
  for (let start = 0; start < Math.max(a.length, b.length); start += stratum) {
    const as = a.slice(start, start + stratum), bs = b.slice(start, start + stratum);
    for (const x of as) for (const y of bs) ratios.push(x / y);
    variance += (as.length * bs.length * (as.length + bs.length + 1)) / 12;
  }
  ratios.sort((x, y) => x - y);
  // The interval's ends are the c-th smallest and c-th largest ratio, c from the normal form of the
  // rank-sum statistic's distribution (at least 1: with few runs, the extremes).
  const c = Math.max(1, Math.round(ratios.length / 2 - Z_90 * Math.sqrt(variance)));
  return { ratio: median(ratios), interval: [ratios[c - 1], ratios[ratios.length - c]] };
};

/**
 * How fast one sender's runs are against another's: the median of the ratios of every run of `a`
 * to every run of `b` (the Hodges-Lehmann estimate, taken on ratios), with the 90% interval that
 * goes with it, the one the Wilcoxon rank-sum test gives (Hollander and Wolfe, "Nonparametric
 * Statistical Methods", the large-sample form). Runs are independent samples, not pairs.
 *
 * The calibration compares senders this way rather than by the ratio of their medians because
 * its cells can split into two groups of runs. Over loopback TCP at 128 KiB under Bun, in one
 * `--full` run, copy's and `auto`'s runs each fell into a group at about 4-5.2 GB/s and one at
 * 2.4-3.5 GB/s, 30 of copy's 66 runs slow and 35 of `auto`'s. Each median then lands in whichever
 * group holds the middle runs, and the ratio of medians was 0.80 (bootstrap interval 0.66-1.19). In
 * the ratios of all pairs, those of two runs of one group are about half, in the middle, and their
 * median is near what it would be without the split. Where runs do not split, the estimate is less noisy than
 * the ratio of medians: over the 176 checks of eight `--quick` runs here, the 90% interval was 0.060
 * wide on average against 0.077 for a bootstrap of the ratio of medians.
 *
 * @example
 * ```ts
 * pairwiseRatio([950, 950, 950], [1000, 1000, 1000]); // { ratio: 0.95, interval: [0.95, 0.95] }
 * pairwiseRatio([1, 3], [1, 2]).ratio; // 1.25: the median of 1, 0.5, 3 and 1.5
 * ```
 *
 * @module
 */
import { median } from "./median.ts";

/** The standard normal quantile for a two-sided 90% interval. */
const Z_90 = 1.6449;

export interface PairwiseRatio {
  /** The median of every `a[i] / b[j]`. */
  readonly ratio: number;
  /** A 90% interval of `ratio`. */
  readonly interval: readonly [number, number];
}

export const pairwiseRatio = (a: readonly number[], b: readonly number[]): PairwiseRatio => {
  const n = a.length, m = b.length, pairs = n * m;
  if (pairs === 0) throw new RangeError(`pairwiseRatio needs runs on both sides (${n} and ${m})`);
  const ratios = new Float64Array(pairs);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) ratios[i * m + j] = a[i] / b[j];
  ratios.sort();
  // The interval's ends are the c-th smallest and c-th largest ratio, c from the normal form of the
  // rank-sum statistic's distribution (at least 1: with few runs, the extremes).
  const c = Math.max(1, Math.round(pairs / 2 - Z_90 * Math.sqrt((pairs * (n + m + 1)) / 12)));
  return { ratio: median(Array.from(ratios)), interval: [ratios[c - 1], ratios[pairs - c]] };
};

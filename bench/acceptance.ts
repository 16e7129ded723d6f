/**
 * The calibration's acceptance check: on each sink, runtime and chunk size, `auto` reaches at
 * least {@link REQUIRED} of the best single backend (copy, msg_zerocopy, io_uring; the one with the
 * highest median) measured in the same run. The ratio is paired: each round ran every sender once,
 * back to back, so the check takes the median over rounds of auto's run divided by that backend's
 * run of the same round, which cancels the machine's drift between rounds. The ratio of the two
 * medians (what the table shows) is printed next to it, and so is a distribution-free confidence
 * interval of the paired median (order statistics, at least 90%): on a small VM one run's
 * throughput varies by 10-20%, so a check can miss the bar with the bar inside its interval, which
 * says the miss is within this run's noise.
 *
 * @module
 */
import type { Cell } from "./calibration_runs.ts";
import { label, median } from "./calibration_runs.ts";
import { type RuntimeResult, SINK_TITLES, SINKS } from "./runtime_calibration.ts";

export const REQUIRED = 0.95;

export interface Check {
  readonly sink: string;
  readonly runtime: string;
  readonly size: number;
  readonly best: string;
  readonly bestMbps: number;
  readonly autoMbps: number;
  /** Median over rounds of auto's throughput over the best backend's in the same round. */
  readonly ratio: number;
  /** auto's median over the best backend's median. */
  readonly medianRatio: number;
  /** A confidence interval of `ratio`, and its coverage. */
  readonly interval: readonly [number, number];
  readonly coverage: number;
  readonly pass: boolean;
}

/** The best single backend at `size` in `cells`. */
export const bestBackend = (cells: readonly Cell[], size: number): Cell =>
  cells.filter((c) => c.size === size && c.sender !== "runtime" && c.sender !== "auto")
    .reduce((a, b) => (b.mbps > a.mbps ? b : a));

export const acceptanceChecks = (results: readonly RuntimeResult[]): Check[] => {
  const checks: Check[] = [];
  for (const sink of SINKS) {
    for (const r of results) {
      const cells = r.sinks[sink];
      if (typeof cells === "string") continue;
      for (const size of [...new Set(cells.map((c) => c.size))]) {
        const best = bestBackend(cells, size);
        const auto = cells.find((c) => c.size === size && c.sender === "auto")!;
        const paired = auto.samples.map((v, i) => v / best.samples[i]);
        const ratio = median(paired);
        const { interval, coverage } = medianInterval(paired);
        checks.push({
          sink: SINK_TITLES[sink],
          runtime: r.runtime,
          size,
          best: best.sender,
          bestMbps: best.mbps,
          autoMbps: auto.mbps,
          ratio,
          medianRatio: auto.mbps / best.mbps,
          interval,
          coverage,
          pass: ratio >= REQUIRED,
        });
      }
    }
  }
  return checks;
};

/**
 * The narrowest order-statistic interval [r(k), r(n+1-k)] of the sorted values that still holds
 * the median with probability at least 90% (the full range for small samples).
 */
export const medianInterval = (values: readonly number[]): { interval: [number, number]; coverage: number } => {
  const s = [...values].sort((a, b) => a - b), n = s.length;
  const below = (k: number) => { // P(X <= k), X ~ Binomial(n, 1/2)
    let p = 0, c = 1;
    for (let i = 0; i <= k; i++) {
      p += c;
      c = (c * (n - i)) / (i + 1);
    }
    return p / 2 ** n;
  };
  let k = 1;
  while (k + 1 <= n / 2 && 1 - 2 * below(k) >= 0.9) k++;
  return { interval: [s[k - 1], s[n - k]], coverage: 1 - 2 * below(k - 1) };
};

/** One line per check, and a summary line. */
export const formatChecks = (checks: readonly Check[]): string => {
  const lines = checks.map((c) =>
    `${c.pass ? "PASS" : "FAIL"}  ${c.sink}, ${c.runtime}, ${label(c.size)}: auto = ${c.ratio.toFixed(2)}x the best single ` +
    `backend, ${c.best} (paired by round, ${(c.coverage * 100).toFixed(0)}% interval ${c.interval[0].toFixed(2)}-` +
    `${c.interval[1].toFixed(2)}; medians ${c.autoMbps.toFixed(0)} / ${c.bestMbps.toFixed(0)} MB/s = ` +
    `${c.medianRatio.toFixed(2)}x); needs ${REQUIRED}x`
  );
  const failed = checks.filter((c) => !c.pass);
  const noise = failed.filter((c) => c.interval[1] >= REQUIRED).length;
  lines.push(
    failed.length === 0
      ? `acceptance: all ${checks.length} checks pass (auto >= ${REQUIRED}x the best single backend on every sink, runtime and size)`
      : `acceptance: ${failed.length} of ${checks.length} checks FAIL (auto < ${REQUIRED}x the best single backend); ` +
        `for ${noise} of them ${REQUIRED}x is inside the interval (within this run's noise)`,
  );
  return lines.join("\n");
};

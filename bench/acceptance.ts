/**
 * The calibration's acceptance check: on each sink, runtime and chunk size, `auto` reaches at
 * least {@link REQUIRED} of the best single backend (copy, msg_zerocopy, io_uring) measured in the
 * same rounds. `auto` is compared with each of them by {@link pairwiseRatio} (the median of the
 * ratios of its runs to theirs, within each cycle of orders), and the best is the one it compares
 * worst with. The table shows each cell's median; the check does not divide the medians, because a
 * cell whose runs fall into two groups puts each median in either group (`pairwise_ratio.ts`).
 *
 * Where `auto` and that backend sent every byte of every run by the same backend (chunks small
 * enough to be staged, say), they ran the same path and their ratio is noise: the check passes and
 * says so. A size whose check fails is measured again before it is reported (`runSink`, with
 * {@link failedSizes}), and each check states how many runs it took.
 *
 * @module
 */
import type { Cell } from "./calibration_runs.ts";
import { pairwiseRatio } from "./pairwise_ratio.ts";
import { label } from "./size_label.ts";
import type { RuntimeResult } from "./runtime_calibration.ts";
import { SINK_TITLES, SINKS } from "./sinks.ts";

export const REQUIRED = 0.95;

/** The check at one chunk size of one sink and runtime. */
export interface SizeCheck {
  readonly size: number;
  readonly best: string;
  /** The best backend's median, as the table shows it. */
  readonly bestMbps: number;
  /** auto's median, as the table shows it. */
  readonly autoMbps: number;
  /** The median of the ratios of auto's runs to the best backend's ({@link pairwiseRatio}). */
  readonly ratio: number;
  /** auto's timed runs (the best backend has as many). */
  readonly runs: number;
  /** The backend both auto and the best one sent every byte by, if they did: then they ran the same path. */
  readonly sameRoute?: string;
  readonly pass: boolean;
}

export interface Check extends SizeCheck {
  readonly sink: string;
  readonly runtime: string;
}

/** auto against the best single backend at `size` in `cells` (one sink, one runtime). */
export const checkSize = (cells: readonly Cell[], size: number): SizeCheck => {
  const auto = cells.find((c) => c.size === size && c.sender === "auto")!;
  const [best, ratio] = cells
    .filter((c) => c.size === size && c.sender !== "runtime" && c.sender !== "auto")
    .map((c) => [c, pairwiseRatio(auto.samples, c.samples, auto.cycleRuns).ratio] as const)
    .reduce((a, b) => (b[1] < a[1] ? b : a));
  const sameRoute = auto.route !== undefined && auto.route === best.route ? auto.route : undefined;
  return {
    size,
    best: best.sender,
    bestMbps: best.mbps,
    autoMbps: auto.mbps,
    ratio,
    runs: auto.samples.length,
    sameRoute,
    pass: ratio >= REQUIRED || sameRoute !== undefined,
  };
};

export const acceptanceChecks = (results: readonly RuntimeResult[]): Check[] => {
  const checks: Check[] = [];
  for (const sink of SINKS) {
    for (const r of results) {
      const cells = r.sinks[sink];
      if (typeof cells === "string") continue;
      for (const size of [...new Set(cells.map((c) => c.size))]) {
        checks.push({ sink: SINK_TITLES[sink], runtime: r.runtime, ...checkSize(cells, size) });
      }
    }
  }
  return checks;
};

/**
 * The sizes in `cells` whose check fails, nearest the bar first: those are the likeliest to have
 * failed on this run's noise alone, so they are the ones worth measuring again first.
 */
export const failedSizes = (cells: readonly Cell[]): number[] =>
  [...new Set(cells.map((c) => c.size))]
    .map((size) => checkSize(cells, size))
    .filter((check) => !check.pass)
    .sort((a, b) => b.ratio - a.ratio)
    .map((check) => check.size);

/** A ratio to two decimals, rounded down so that a miss never shows as the bar (0.949 as 0.94). */
const shown = (ratio: number): string => (Math.floor(ratio * 100 + 1e-9) / 100).toFixed(2);

/** One line per check. */
export const formatChecks = (checks: readonly Check[]): string =>
  checks.map((c) =>
    `${c.pass ? "PASS" : "FAIL"}  ${c.sink}, ${c.runtime}, ${label(c.size)}: auto = ${shown(c.ratio)}x the best single ` +
    `backend, ${c.best} (median ratio of ${c.runs} runs each; medians ${c.autoMbps.toFixed(0)} / ${c.bestMbps.toFixed(0)} MB/s); ` +
    `needs ${REQUIRED}x` +
    (c.ratio < REQUIRED && c.sameRoute !== undefined ? `; both sent every byte by ${c.sameRoute}, the same path, so the gap is noise` : "")
  ).join("\n");

/** Whether the calibration passed: some check ran, and every one passed. */
export const accepted = (checks: readonly Check[]): boolean => checks.length > 0 && checks.every((c) => c.pass);

/** The verdict, one line that starts with PASSED or FAILED. */
export const verdict = (checks: readonly Check[]): string => {
  const failed = checks.filter((c) => !c.pass);
  if (checks.length === 0) return "FAILED: no acceptance check ran (no sink was measured)";
  if (accepted(checks)) {
    return `PASSED: all ${checks.length} acceptance checks (auto >= ${REQUIRED}x the best single backend on every sink, runtime and size)`;
  }
  const where = failed.map((c) => `${c.sink}, ${c.runtime}, ${label(c.size)}: ${shown(c.ratio)}x ${c.best}`).join("; ");
  return `FAILED: ${failed.length} of ${checks.length} acceptance checks (auto < ${REQUIRED}x the best single backend): ${where}`;
};

/**
 * The calibration's acceptance check: on each sink, runtime and chunk size, `auto` reaches at
 * least {@link REQUIRED} of the best single backend (copy, msg_zerocopy, io_uring; the one with the
 * highest median) measured in the same run. The ratio is paired: each round ran every sender once,
 * back to back, so the check takes the median over rounds of auto's run divided by that backend's
 * run of the same round, which cancels the machine's drift between rounds. The ratio of the two
 * medians (what the table shows) is printed next to it.
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
        const ratio = median(auto.samples.map((v, i) => v / best.samples[i]));
        checks.push({
          sink: SINK_TITLES[sink],
          runtime: r.runtime,
          size,
          best: best.sender,
          bestMbps: best.mbps,
          autoMbps: auto.mbps,
          ratio,
          medianRatio: auto.mbps / best.mbps,
          pass: ratio >= REQUIRED,
        });
      }
    }
  }
  return checks;
};

/** One line per check, and a summary line. */
export const formatChecks = (checks: readonly Check[]): string => {
  const lines = checks.map((c) =>
    `${c.pass ? "PASS" : "FAIL"}  ${c.sink}, ${c.runtime}, ${label(c.size)}: auto = ${c.ratio.toFixed(2)}x the best single ` +
    `backend, ${c.best} (paired by round; medians ${c.autoMbps.toFixed(0)} / ${c.bestMbps.toFixed(0)} MB/s = ` +
    `${c.medianRatio.toFixed(2)}x); needs ${REQUIRED}x`
  );
  const failed = checks.filter((c) => !c.pass).length;
  lines.push(
    failed === 0
      ? `acceptance: all ${checks.length} checks pass (auto >= ${REQUIRED}x the best single backend on every sink, runtime and size)`
      : `acceptance: ${failed} of ${checks.length} checks FAIL (auto < ${REQUIRED}x the best single backend)`,
  );
  return lines.join("\n");
};

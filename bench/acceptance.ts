/**
 * The calibration's acceptance check: on each sink, runtime and chunk size, `auto` reaches at
 * least {@link REQUIRED} of the best single backend (copy, msg_zerocopy, io_uring; the one with the
 * highest median) measured in the same run, comparing the medians the table shows.
 *
 * Runs are not paired by round: on the 2-vCPU VM this was built on, the runs of different senders
 * in one round were not alike (rank correlation of copy's and auto's runs over the rounds of a
 * cell: -0.5 to 0.5, about 0 on average, in one `--quick` run), so there is no drift between rounds
 * for pairing to cancel. Runs are independent and, for zero-copy over the UDP blackhole, bimodal
 * (a third of the runs at a half or less of the others, when a collection of earlier runs' buffers
 * overlaps them): pairing then divides one run's noise by another's (a cell at 0.98x by medians was
 * 0.77x paired). A bootstrap interval of the ratio of medians (each sender's runs resampled on
 * their own, 90%) is printed with each check: a miss with the bar inside it is within this run's
 * noise.
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
  /** auto's median over the best backend's median. */
  readonly ratio: number;
  /** A 90% bootstrap interval of `ratio`. */
  readonly interval: readonly [number, number];
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
        const ratio = auto.mbps / best.mbps;
        checks.push({
          sink: SINK_TITLES[sink],
          runtime: r.runtime,
          size,
          best: best.sender,
          bestMbps: best.mbps,
          autoMbps: auto.mbps,
          ratio,
          interval: ratioInterval(auto.samples, best.samples),
          pass: ratio >= REQUIRED,
        });
      }
    }
  }
  return checks;
};

/** Resamples drawn for {@link ratioInterval}. */
const RESAMPLES = 2000;

/**
 * A 90% percentile-bootstrap interval of median(a) / median(b), each resampled on its own. The
 * generator is seeded, so the same runs give the same interval.
 */
export const ratioInterval = (a: readonly number[], b: readonly number[]): [number, number] => {
  let seed = 0x9e3779b9;
  const next = () => { // xorshift32
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const resampledMedian = (v: readonly number[]) => median(Array.from(v, () => v[Math.floor(next() * v.length)]));
  const ratios = Array.from({ length: RESAMPLES }, () => resampledMedian(a) / resampledMedian(b)).sort((x, y) => x - y);
  return [ratios[Math.floor(RESAMPLES * 0.05)], ratios[Math.ceil(RESAMPLES * 0.95) - 1]];
};

/** One line per check, and a summary line. */
export const formatChecks = (checks: readonly Check[]): string => {
  const lines = checks.map((c) =>
    `${c.pass ? "PASS" : "FAIL"}  ${c.sink}, ${c.runtime}, ${label(c.size)}: auto = ${c.ratio.toFixed(2)}x the best single ` +
    `backend, ${c.best} (medians ${c.autoMbps.toFixed(0)} / ${c.bestMbps.toFixed(0)} MB/s; 90% interval ` +
    `${c.interval[0].toFixed(2)}-${c.interval[1].toFixed(2)}); needs ${REQUIRED}x`
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

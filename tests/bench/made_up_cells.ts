/** Made-up calibration cells for the bench's tests. */
import type { Cell } from "../../bench/calibration_runs.ts";
import { median } from "../../bench/median.ts";
import type { RuntimeResult } from "../../bench/runtime_calibration.ts";

/**
 * Cells at each size from MB/s per sender; every run of a cell is its median (or `samples`). The
 * runs of a cell are one cycle, or cycles of `cycleRuns`.
 */
export const cells = (table: Record<number, Record<string, number | number[]>>, cycleRuns?: number): Cell[] =>
  Object.entries(table).flatMap(([size, row]) =>
    Object.entries(row).map(([sender, v]) => {
      const samples = Array.isArray(v) ? v : [v, v, v];
      const cell = { sender, size: Number(size), mbps: median(samples), fastest: Math.max(...samples), samples, cycleRuns: cycleRuns ?? samples.length };
      return cell as Cell;
    })
  );

export const result = (runtime: string, udp: Cell[] | string, tcp: Cell[] | string = "not measured"): RuntimeResult => ({
  runtime,
  version: "test",
  sinks: { tcp, udp },
});

/**
 * Turns calibration results into a size policy (`backends/size_policy.ts`): per sink and runtime,
 * which backend wins at each measured chunk size, and the crossover sizes where the winner changes.
 *
 * - A zero-copy backend is chosen for a size only if it beats copy there by {@link MARGIN}
 *   (median against median); a band lists such backends best first, then copy. Chunks below
 *   {@link OWNED_STAGE_BELOW} (where owned chunks start to leave unstaged) are staged and go by copy whatever the
 *   policy says, so those sizes are copy.
 * - Where the winner changes between two measured sizes, the new band starts where the two winners'
 *   throughput ratio crosses 1, interpolated on a log scale between them and rounded to 1 KiB (never
 *   below {@link OWNED_STAGE_BELOW}). That start is the crossover: the chart and the summary show
 *   the policy's own band starts ({@link policyBands}).
 * - Each runtime measured gets bands of its own (Bun, Deno and Node pay differently per chunk);
 *   the shared bands, for a runtime not measured, weigh every measured runtime equally (geometric
 *   mean of each backend's throughput relative to copy).
 * - UDP bands come from the UDP blackhole. TCP has no sink here where the kernel zero-copies (over
 *   loopback every zero-copy send is copied, docs/kernel.md, 'Loopback always copies'), so the TCP bands take the
 *   blackhole's crossovers, extended past its largest datagram; over loopback `auto` learns from
 *   the first COPIED notification and sends by copy. The loopback winners are recorded in
 *   `measured` all the same.
 *
 * @module
 */
import { BACKEND_NAMES, type BackendName, type PolicyBand, type PolicyRuntime, SizePolicy, type SizePolicyJson } from "../mod.ts";
import { OWNED_STAGE_BELOW } from "../scheduler/lease_pool.ts";
import type { Cell } from "./calibration_runs.ts";
import type { RuntimeResult } from "./runtime_calibration.ts";
import type { SinkName } from "./sinks.ts";

/** How much better than copy a zero-copy backend must be to be chosen. */
export const MARGIN = 0.05;

/** Where a policy's first choice changes from one band to the next. */
export interface Crossover {
  readonly from: BackendName;
  readonly to: BackendName;
  /** The size in bytes from which `to` is used: the band's start. */
  readonly size: number;
}

export interface SinkCalibration {
  readonly sink: SinkName;
  /** The runtime measured, or "all" for the shared bands. */
  readonly runtime: string;
  /** Per measured size, the backends a band would use there, best first. */
  readonly winners: readonly { readonly size: number; readonly use: readonly BackendName[] }[];
  readonly bands: readonly { readonly from: number; readonly use: readonly BackendName[] }[];
  readonly crossovers: readonly Crossover[];
}

export interface CalibratedPolicy {
  readonly policy: SizePolicyJson;
  readonly sinks: readonly SinkCalibration[];
}

/** The policy the results call for, with what each sink showed. */
export const calibratedPolicy = (results: readonly RuntimeResult[], mode: string): CalibratedPolicy => {
  const sinks: SinkCalibration[] = [];
  for (const sink of ["udp", "tcp"] as const) {
    const measured = results.filter((r) => typeof r.sinks[sink] !== "string");
    if (measured.length === 0) continue;
    if (measured.length > 1) sinks.push(calibrateSink(measured.map((r) => r.sinks[sink] as Cell[]), sink, "all"));
    for (const r of measured) sinks.push(calibrateSink([r.sinks[sink] as Cell[]], sink, r.runtime));
  }
  const udp = (runtime: string) => sinks.find((s) => s.sink === "udp" && s.runtime === runtime);
  const shared = udp("all") ?? udp(results.find((r) => typeof r.sinks.udp !== "string")?.runtime ?? "");
  const runtimes: Partial<Record<PolicyRuntime, { tcp: SinkCalibration["bands"]; udp: SinkCalibration["bands"] }>> = {};
  for (const r of results) {
    const own = udp(r.runtime);
    if (own !== undefined && ["bun", "deno", "node"].includes(r.runtime)) {
      runtimes[r.runtime as PolicyRuntime] = { tcp: own.bands, udp: own.bands };
    }
  }
  const measured = {
    by: `bench/main.ts --${mode}, ${results.map((r) => `${r.runtime} ${r.version}`).join(", ")}, ${new Date().toISOString()}`,
    note: "udp: the UDP blackhole; tcp: the blackhole's crossovers too (loopback TCP always copies); see sinks",
    sinks: sinks.map((s) => ({ sink: s.sink, runtime: s.runtime, winners: s.winners, crossovers: s.crossovers })),
  };
  if (shared === undefined) {
    // No zero-copy sink was measured: the built-in bands stay.
    const builtIn = SizePolicy.builtIn;
    const note = "no UDP blackhole was measured: the built-in bands are kept";
    return { policy: { version: 1, tcp: builtIn.bands("tcp"), udp: builtIn.bands("udp"), measured: { ...measured, note } }, sinks };
  }
  return { policy: { version: 1, tcp: shared.bands, udp: shared.bands, runtimes, measured }, sinks };
};

const calibrateSink = (runs: readonly Cell[][], sink: SinkName, runtime: string): SinkCalibration => {
  const sizes = [...new Set(runs.flatMap((cells) => cells.map((c) => c.size)))].sort((a, b) => a - b);
  const mbps = (cells: Cell[], sender: string, size: number) => cells.find((c) => c.sender === sender && c.size === size)?.mbps ?? NaN;
  /** Geometric mean over the runtimes of a's throughput over b's at `size`. */
  const ratio = (a: BackendName, b: BackendName, size: number): number => {
    const logs = runs.map((cells) => Math.log(mbps(cells, a, size) / mbps(cells, b, size))).filter(Number.isFinite);
    return logs.length === 0 ? NaN : Math.exp(logs.reduce((x, y) => x + y, 0) / logs.length);
  };
  const winners = sizes.map((size) => {
    const better = BACKEND_NAMES
      .filter((b) => b !== "copy" && size >= OWNED_STAGE_BELOW && ratio(b, "copy", size) >= 1 + MARGIN)
      .sort((a, b) => ratio(b, "copy", size) - ratio(a, "copy", size));
    return { size, use: [...better, "copy"] as BackendName[] };
  });
  const bands: { from: number; use: BackendName[] }[] = [];
  winners.forEach((w, i) => {
    if (i === 0) return void bands.push({ from: 0, use: w.use });
    const last = bands[bands.length - 1];
    if (w.use[0] === last.use[0]) return;
    const s1 = winners[i - 1].size, s2 = w.size;
    const r1 = ratio(w.use[0], last.use[0], s1), r2 = ratio(w.use[0], last.use[0], s2);
    // Where log(ratio) crosses 0 between log2(s1) and log2(s2); at s2 if it never does in between.
    const t = r1 < 1 && r2 > 1 ? Math.log(r1) / (Math.log(r1) - Math.log(r2)) : 1;
    const size = Math.round(2 ** (Math.log2(s1) + t * (Math.log2(s2) - Math.log2(s1))));
    const from = Math.max(last.from + 1024, OWNED_STAGE_BELOW, Math.round(size / 1024) * 1024);
    bands.push({ from, use: w.use });
  });
  return { sink, runtime, winners, bands, crossovers: bandChanges(bands) };
};

/** Where the first choice changes in `bands`. */
const bandChanges = (bands: readonly PolicyBand[]): Crossover[] => bands.slice(1).map((b, i) => ({ from: bands[i].use[0], to: b.use[0], size: b.from }));

/**
 * The bands `policy` puts in force for `transport` in `runtime` (its own, or the shared ones for a
 * runtime it has none for), read back from the policy as `zcConnect` reads it.
 */
export const policyBands = (policy: SizePolicyJson, transport: "tcp" | "udp", runtime: string): readonly PolicyBand[] => {
  const own = (["bun", "deno", "node"] as const).find((r) => r === runtime);
  return SizePolicy.parse(policy, "the calibrated policy").bands(transport, own);
};

/** The crossovers of {@link policyBands}: where its first choice changes. */
export const policyCrossovers = (policy: SizePolicyJson, transport: "tcp" | "udp", runtime: string): Crossover[] =>
  bandChanges(policyBands(policy, transport, runtime));

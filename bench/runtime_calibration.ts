/**
 * One runtime's half of the calibration, in this process: loopback TCP into the sink process
 * (`start_sink.ts`), then the UDP blackhole in a private network namespace
 * (`calibration_worker.ts` under `blackhole_netns.ts`), which is skipped with its reason when the
 * namespace cannot be made.
 *
 * @module
 */
import { blackholeUnavailable, runInBlackhole } from "./blackhole_netns.ts";
import { type Mode, PLANS } from "./calibration_plan.ts";
import { type Cell, runSink } from "./calibration_runs.ts";
import type { SinkName } from "./sinks.ts";
import { startSink } from "./start_sink.ts";

export interface RuntimeResult {
  /** "bun", "deno" or "node", and its version. */
  readonly runtime: string;
  readonly version: string;
  /** Per sink: the cells, or why the sink was skipped. */
  readonly sinks: Record<SinkName, Cell[] | string>;
}

/** The name and version of this runtime. */
export const thisRuntime = (): { runtime: string; version: string } => {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return { runtime: "bun", version: g.Bun.version };
  if (g.Deno !== undefined) return { runtime: "deno", version: g.Deno.version.deno };
  return { runtime: "node", version: (globalThis as unknown as { process: { version: string } }).process.version.slice(1) };
};

/** Runs both sinks; `onProgress` hears each finished run. */
export const calibrateRuntime = async (mode: Mode, onProgress: (line: string) => void): Promise<RuntimeResult> => {
  const plan = PLANS[mode];
  const { runtime, version } = thisRuntime();
  const sink = await startSink();
  let tcp: Cell[];
  try {
    tcp = await runSink({ transport: "tcp", port: sink.port }, plan.tcpSizes, plan.tcp, (what, done, total) => {
      onProgress(`${runtime} ${done}/${total} ${what}`);
    });
  } finally {
    sink.stop();
  }
  if (blackholeUnavailable() === undefined) onProgress(`${runtime} UDP blackhole: starting the worker in a private network namespace`);
  const udp = await runInBlackhole<Cell[]>(
    "calibration_worker",
    [mode],
    (line) => onProgress(`${runtime} ${line.replace(/^\[calibration\] /, "")}`),
    "[calibration]",
    { denoFlags: ["--unstable-net"] },
  );
  return { runtime, version, sinks: { tcp, udp } };
};

/**
 * The benchmark entry point, and the main job: the calibration. Every backend and `auto`, side by
 * side with the runtime's own socket, at chunk sizes from 512 B to 1 MiB, on two sinks (loopback
 * TCP into a sink process; a UDP blackhole in a private network namespace), under Bun and Deno:
 * this process runs its own runtime's half and then runs the other runtime's half as a child
 * (`--half`), one after the other so they never share the CPU. It prints a markdown table and the
 * acceptance checks (auto against the best single backend), writes the table, an SVG chart and
 * the calibrated policy under bench/out/, and ends with a summary whose last line is the verdict
 * (PASSED or FAILED). Progress goes to stderr. The exit status is 1 when a check fails.
 *
 * - `--quick` (README's main job): a subset of sizes; about a minute on 2 cores.
 * - `--full`: every power of two, more rounds and longer runs: the real calibration. How many
 *   rounds and bytes each mode measures is in `calibration_plan.ts`.
 * - `--runtimes=bun,deno` picks the halves (default: this runtime, Bun and Deno).
 * - `--calibrate-only`: the run is for the policy alone; a failed check is still reported, but
 *   the exit status is 0.
 * - `--zerocopy-sinks` adds `zerocopy_sinks.ts` (copy vs msg_zerocopy with leases, CPU per GB), and
 *   `--io-uring-sinks` adds `io_uring_sinks.ts` (the io_uring variants on the blackhole), for this
 *   runtime, after the calibration.
 *
 * Run: `bun bench/main.ts --quick`, `deno run -A bench/main.ts --quick`, or (Node, after
 * `npm run build`) `node dist/bench/main.js --quick`.
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { acceptanceChecks, accepted, formatChecks, verdict } from "./acceptance.ts";
import { calibratedPolicy } from "./calibrated_policy.ts";
import type { Mode } from "./calibration_plan.ts";
import { calibrationSummary } from "./calibration_summary.ts";
import { resultsTable } from "./results_table.ts";
import { runReportingChild } from "./reporting_child.ts";
import { ioUringSinks } from "./io_uring_sinks.ts";
import { referenceBench } from "./reference.ts";
import { calibrateRuntime, type RuntimeResult, thisRuntime } from "./runtime_calibration.ts";
import { throughputChart } from "./throughput_chart.ts";
import { zerocopySinks } from "./zerocopy_sinks.ts";

const g = globalThis as { Deno?: { args: string[] } };
const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
const mode: Mode = args.includes("--full") ? "full" : "quick";
const started = performance.now();
const elapsed = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
const progress = (line: string) => console.error(`${elapsed()} ${line}`);

/** The repository root (the bench runs from bench/ as source, or from dist/bench/ compiled). */
const root = fileURLToPath(new URL(import.meta.url.endsWith(".js") ? "../../" : "../", import.meta.url));

if (args.includes("--half")) {
  // A child of the main job: this runtime's half, as JSON on stdout.
  const result = await calibrateRuntime(mode, (line) => console.error(`[half] ${line}`));
  console.log(JSON.stringify(result));
  process.exit(0);
}

if (args.includes("--reference")) {
  // Instead of the calibration: zcio against the runtime's socket and C senders (reference.ts).
  console.log(`\n${await referenceBench(args, progress)}\n`);
  process.exit(0);
}

const self = thisRuntime().runtime;
const wanted = args.find((a) => a.startsWith("--runtimes="))?.slice("--runtimes=".length).split(",") ??
  [...new Set([self, "bun", "deno"])];
console.error(
  `zcio calibration (--${mode}): ${wanted.join(" then ")}; each runs loopback TCP, then the UDP blackhole`,
);

const results: RuntimeResult[] = [];
for (const runtime of wanted) {
  if (runtime === self) results.push(await calibrateRuntime(mode, progress));
  else results.push(await otherRuntime(runtime));
}

const calibrated = calibratedPolicy(results, mode);
const table = resultsTable(results, mode);
const checks = acceptanceChecks(results);
const outDir = join(root, "bench", "out");
mkdirSync(outDir, { recursive: true });
const files = {
  table: join(outDir, "table.md"),
  chart: join(outDir, "chart.svg"),
  policy: join(outDir, "policy.json"),
  results: join(outDir, "results.json"),
};
const title = `zcio calibration (--${mode}): ${results.map((r) => `${r.runtime} ${r.version}`).join(", ")}`;
writeFileSync(files.table, `# ${title}\n\n${table}\n\n## Acceptance\n\n\`\`\`\n${formatChecks(checks)}\n${verdict(checks)}\n\`\`\`\n`);
writeFileSync(files.chart, throughputChart(results, title, calibrated.policy));
writeFileSync(files.policy, `${JSON.stringify(calibrated.policy, null, 2)}\n`);
writeFileSync(files.results, `${JSON.stringify({ mode, results, calibrated, checks }, null, 2)}\n`);

console.log(`\n## ${title}\n\n${table}\n\n${formatChecks(checks)}\n`);
if (args.includes("--zerocopy-sinks")) console.log(`${await zerocopySinks(mode === "quick", progress)}\n`);
if (args.includes("--io-uring-sinks")) console.log(`${await ioUringSinks(mode === "quick", progress)}\n`);
const show = (path: string) => relative(process.cwd(), path) || path;
const shown = { table: show(files.table), chart: show(files.chart), policy: show(files.policy), results: show(files.results) };
const seconds = (performance.now() - started) / 1000;
console.log(calibrationSummary({ results, policy: calibrated.policy, checks, files: shown, seconds }));
process.exit(accepted(checks) || args.includes("--calibrate-only") ? 0 : 1);

/** Runs `runtime`'s half in a child process; a runtime that is missing or fails is skipped with why. */
async function otherRuntime(runtime: string): Promise<RuntimeResult> {
  const script = join(root, "bench", "main.ts");
  const commands: Record<string, string[]> = {
    bun: [join(root, "node_modules", ".bin", "bun"), script],
    deno: [join(root, "node_modules", "@deno", "linux-x64-glibc", "deno"), "run", "-A", script],
    node: ["node", join(root, "dist", "bench", "main.js")],
  };
  const skipped = (why: string): RuntimeResult => {
    progress(`${runtime}: skipped, ${why}`);
    return { runtime, version: "?", sinks: { tcp: why, udp: why } };
  };
  const command = commands[runtime];
  if (command === undefined) return skipped(`unknown runtime (bun, deno or node)`);
  if (command[0] !== "node" && !existsSync(command[0])) return skipped(`${command[0]} is missing (npm ci installs it)`);
  progress(`${runtime}: starting its half`);
  const half = await runReportingChild<RuntimeResult>(
    command[0],
    [...command.slice(1), `--${mode}`, "--half"],
    "[half] ",
    (line) => progress(line.slice("[half] ".length)),
  );
  return typeof half === "string" ? skipped(`its half: ${half}`) : half;
}

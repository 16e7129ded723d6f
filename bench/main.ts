/**
 * The benchmark entry point. `--quick` (what README's first command runs) takes about a minute;
 * without it the runs are longer and steadier.
 *
 * Run: `bun bench/main.ts [--quick]`, `deno run -A bench/main.ts [--quick]`, or (Node, after
 * `npm run build`) `node dist/bench/main.js [--quick]`.
 *
 * @module
 */
import { copyVsRuntime } from "./copy_vs_runtime.ts";

const argv = (globalThis as { process?: { argv: string[] } }).process?.argv ?? [];
const quick = argv.includes("--quick");
const started = performance.now();
const table = await copyVsRuntime(quick, (what) => {
  console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${what}`);
});
console.log(`\n${table}\n`);

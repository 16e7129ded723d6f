/**
 * The UDP blackhole half of the zero-copy benchmark, run by `zerocopy_sinks.ts` in a private
 * network namespace whose loopback drops every packet at its qdisc (`unshare -n`, `ip link set lo
 * up`, `tc qdisc add dev lo root pfifo limit 0`): datagrams to 127.0.0.1 there are never delivered,
 * so the kernel really zero-copies them (docs/kernel.md, 'Zero-copy sinks'). Runs every mode at every size and
 * prints the results as one JSON line on stdout; progress goes to stderr.
 *
 * Arguments: `--quick`, then the chunk sizes in bytes.
 *
 * @module
 */
import process from "node:process";
import { assertInBlackhole } from "./blackhole_netns.ts";
import { runZerocopyModes } from "./zerocopy_runs.ts";

const g = globalThis as { Deno?: { args: string[] } };
const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
const quick = args.includes("--quick");
const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);

// Never send anywhere but into a namespace of our own: the parent names its namespace.
assertInBlackhole();

const started = performance.now();
const results = await runZerocopyModes({ transport: "udp", port: 9 }, sizes, quick, (what) => {
  console.error(`[blackhole ${((performance.now() - started) / 1000).toFixed(0)} s] ${what}`);
});
console.log(JSON.stringify(results));

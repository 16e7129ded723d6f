/**
 * The UDP blackhole half of one runtime's calibration, run by `runtime_calibration.ts` in a
 * private network namespace whose loopback drops every packet (`blackhole_netns.ts`): every sender
 * at every datagram size to 127.0.0.1:9 there. Prints its cells as one JSON line on stdout;
 * progress lines ("[calibration ...") go to stderr.
 *
 * Argument: the mode, `quick` or `full`.
 *
 * @module
 */
import process from "node:process";
import { assertInBlackhole } from "./blackhole_netns.ts";
import { type Mode, PLANS } from "./calibration_plan.ts";
import { runSink } from "./calibration_runs.ts";

assertInBlackhole();
const g = globalThis as { Deno?: { args: string[] } };
const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
const plan = PLANS[(args[0] === "full" ? "full" : "quick") as Mode];
const cells = await runSink({ transport: "udp", port: 9 }, plan.udpSizes, plan.udp, (what, done, total) => {
  console.error(`[calibration] ${done}/${total} ${what}`);
});
console.log(JSON.stringify(cells));

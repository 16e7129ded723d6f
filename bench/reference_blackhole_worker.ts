/**
 * The UDP blackhole half of the reference bench (`reference.ts`), run in a private network
 * namespace whose loopback drops every packet (`blackhole_netns.ts`): every sender of
 * `reference_lineup.ts` sends 65000-byte datagrams to 127.0.0.1:9 there, in interleaved rounds.
 * Prints its `SinkResult` (`reference_report.ts`) as one JSON line on stdout; progress lines
 * ("[reference udp] ...") go to stderr.
 *
 * Arguments: `--binaries=<JSON of the built C senders>`, and `--rounds=N` to change the number of
 * timed rounds (default two cycles of the orders).
 *
 * @module
 */
import process from "node:process";
import { assertInBlackhole } from "./blackhole_netns.ts";
import { referenceLineup } from "./reference_lineup.ts";
import { runRounds } from "./reference_rounds.ts";
import type { SinkResult } from "./reference_report.ts";
import type { CBinaries } from "./reference_senders.ts";

/** 64 KiB in the aims' terms: the largest round datagram that fits lo's MTU unfragmented. */
const UDP_DATAGRAM = 65000;
/** Bytes per run: the fastest sender (C SEND_ZC from a registered buffer) takes about 25 ms. */
const UDP_BYTES_PER_RUN = 1 << 30;

assertInBlackhole();
const g = globalThis as { Deno?: { args: string[] } };
const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const binaries = JSON.parse(value("binaries") ?? "{}") as CBinaries;
const rounds = value("rounds") === undefined ? undefined : Number(value("rounds"));
const { senders, skipped } = referenceLineup({ transport: "udp", port: 9 }, binaries);
const rows = await runRounds(senders, { sizes: [UDP_DATAGRAM], bytesPerRun: () => UDP_BYTES_PER_RUN, rounds }, (line) => {
  console.error(`[reference udp] ${line}`);
});
const result: SinkResult = { rows, skipped, bytesPerRun: "1 GiB" };
console.log(JSON.stringify(result));

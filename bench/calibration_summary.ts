/**
 * The few lines the main job ends with, for a user to act on: the calibrated policy's crossovers per
 * sink and runtime, where the policy went and how to use it, where the table and chart are, and,
 * last, the acceptance verdict (PASSED or FAILED first).
 *
 * @example
 * ```ts
 * console.log(calibrationSummary({ results, policy, checks, files, seconds: 58 }));
 * // ...
 * // PASSED: all 22 acceptance checks (auto >= 0.95x the best single backend on every sink, runtime and size)
 * ```
 *
 * @module
 */
import type { PolicyBand, SizePolicyJson } from "../mod.ts";
import { type Check, verdict } from "./acceptance.ts";
import { policyBands } from "./calibrated_policy.ts";
import type { RuntimeResult } from "./runtime_calibration.ts";
import { label } from "./size_label.ts";
import { SINK_TITLES, SINKS } from "./sinks.ts";

/** Where the main job wrote its files (paths as the user should type them). */
export interface SummaryFiles {
  readonly table: string;
  readonly chart: string;
  readonly policy: string;
  readonly results: string;
}

export interface SummaryInput {
  readonly results: readonly RuntimeResult[];
  readonly policy: SizePolicyJson;
  readonly checks: readonly Check[];
  readonly files: SummaryFiles;
  readonly seconds: number;
}

export const calibrationSummary = ({ results, policy, checks, files, seconds }: SummaryInput): string => {
  const lines = [`## Summary (${seconds.toFixed(0)} s)`, "", "The calibrated policy's crossovers (where `auto` changes backend):"];
  // The shared bands are the ones a runtime that was not measured (say Node) uses.
  for (const { runtime, sinks } of [...results, { runtime: "any other runtime", sinks: undefined }]) {
    const [udp, tcp] = (["udp", "tcp"] as const).map((transport) => choices(policyBands(policy, transport, runtime)));
    if (typeof sinks?.udp === "string") {
      lines.push(`- ${runtime}: UDP ${udp}; TCP ${tcp} (not from this run: its UDP blackhole was not measured)`);
    } else if (udp === tcp) {
      lines.push(
        `- ${runtime}: UDP and TCP ${udp}${
          sinks === undefined ? "" : " (TCP takes the UDP blackhole's: over loopback the kernel copies every zero-copy send)"
        }`,
      );
    } else {
      lines.push(`- ${runtime}: UDP ${udp}; TCP ${tcp}`);
    }
  }
  for (const r of results) {
    for (const sink of SINKS) {
      const why = r.sinks[sink];
      if (typeof why === "string") lines.push(`Not measured: ${SINK_TITLES[sink]}, ${r.runtime}: ${why}`);
    }
  }
  lines.push(
    "",
    `Policy: ${files.policy}; use it with zcConnect({ policy: "${files.policy}" }) or ZCIO_POLICY=${files.policy}`,
    `Table and checks: ${files.table}; chart: ${files.chart}; every run: ${files.results}`,
    "",
    verdict(checks),
  );
  return lines.join("\n");
};

/** The backend each band uses first, smallest sizes first: "copy, then msg_zerocopy from 16 KiB". */
const choices = (bands: readonly PolicyBand[]): string =>
  bands.length === 1 ? `${bands[0].use[0]} at every size` : bands.map((b, i) => (i === 0 ? b.use[0] : `${b.use[0]} from ${label(b.from)}`)).join(", then ");

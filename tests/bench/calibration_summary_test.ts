/** The main job's closing summary, on made-up cells: nothing here sends or times anything. */
import { acceptanceChecks } from "../../bench/acceptance.ts";
import { calibratedPolicy } from "../../bench/calibrated_policy.ts";
import { calibrationSummary } from "../../bench/calibration_summary.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { cells, result } from "./made_up_cells.ts";

const KiB = 1024;
const files = { table: "bench/out/table.md", chart: "bench/out/chart.svg", policy: "bench/out/policy.json", results: "bench/out/results.json" };

test("calibration_summary: the crossovers per runtime, where the policy, table and chart are, and the verdict last", () => {
  const udp = (auto: number) =>
    cells({
      [4 * KiB]: { runtime: 700, copy: 1000, msg_zerocopy: 900, io_uring: 800, auto: 1000 },
      [16 * KiB]: { runtime: 2000, copy: 3000, msg_zerocopy: 4500, io_uring: 4000, auto },
    });
  const results = [result("bun", udp(4400)), result("deno", udp(4000))];
  const { policy } = calibratedPolicy(results, "quick");
  const text = calibrationSummary({ results, policy, checks: acceptanceChecks(results), files, seconds: 61 });
  const lines = text.split("\n");
  assert(
    lines.includes(
      "- bun: UDP and TCP copy, then msg_zerocopy from 16 KiB (TCP takes the UDP blackhole's: over loopback the kernel copies every zero-copy send)",
    ),
    text,
  );
  assert(lines.some((l) => l.startsWith("- deno: UDP and TCP copy, then msg_zerocopy from 16 KiB")), text);
  assert(lines.includes("- any other runtime: UDP and TCP copy, then msg_zerocopy from 16 KiB"), text);
  assert(text.includes('zcConnect({ policy: "bench/out/policy.json" }) or ZCIO_POLICY=bench/out/policy.json'), text);
  assert(text.includes("bench/out/table.md") && text.includes("bench/out/chart.svg"), text);
  assertEquals(lines[lines.length - 1].slice(0, 40), "FAILED: 1 of 4 acceptance checks (auto <", "deno's auto at 0.89x msg_zerocopy fails");
});

test("calibration_summary: without a UDP blackhole, it says the crossovers are not from this run, and why", () => {
  const tcp = cells({ [4 * KiB]: { runtime: 900, copy: 2300, msg_zerocopy: 2200, io_uring: 1200, auto: 2290 } });
  const results = [result("bun", "needs root", tcp)];
  const text = calibrationSummary({ results, policy: calibratedPolicy(results, "quick").policy, checks: acceptanceChecks(results), files, seconds: 30 });
  assert(
    text.includes(
      "- bun: UDP copy, then msg_zerocopy from 16 KiB; TCP copy, then msg_zerocopy from 16 KiB (not from this run: its UDP blackhole was not measured)",
    ),
    text,
  );
  assert(text.includes("Not measured: UDP blackhole, bun: needs root"), text);
  assert(text.split("\n").pop()!.startsWith("PASSED: all 1 acceptance checks"), text);
});

/**
 * The calibration chart, on made-up cells: its y axes fit the data and the crossovers it marks are
 * the policy's. Nothing here sends or times anything.
 */
import { calibratedPolicy } from "../../bench/calibrated_policy.ts";
import { throughputChart } from "../../bench/throughput_chart.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { cells, result } from "./made_up_cells.ts";

const KiB = 1024;

test("throughput_chart: each y axis ends just above its fastest cell, and the crossovers marked are the policy's band starts", () => {
  const udp = cells({
    [4 * KiB]: { runtime: 700, copy: 1000, msg_zerocopy: 900, io_uring: 800, auto: 1000 },
    [16 * KiB]: { runtime: 2000, copy: 3000, msg_zerocopy: 4500, io_uring: 4000, auto: 4400 },
    [60 * KiB]: { runtime: 5000, copy: 6000, msg_zerocopy: 11265, io_uring: 9000, auto: 11000 },
  });
  const tcp = cells({
    [4 * KiB]: { runtime: 900, copy: 2300, msg_zerocopy: 2200, io_uring: 1200, auto: 2290 },
    [64 * KiB]: { runtime: 3000, copy: 3700, msg_zerocopy: 3600, io_uring: 3000, auto: 3690 },
  });
  const results = [result("bun", udp, tcp)];
  const { policy } = calibratedPolicy(results, "quick");
  const svg = throughputChart(results, "test", policy);
  // The y tick labels are the only right-aligned numbers: one list per panel (TCP, then UDP).
  const ticks = [...svg.matchAll(/text-anchor="end">(\d+)<\/text>/g)].map((m) => Number(m[1]));
  const tops = ticks.filter((_, i) => i + 1 === ticks.length || ticks[i + 1] === 0);
  assertEquals(tops.length, 2, `two panels: ${ticks}`);
  for (const [top, fastest] of [[tops[0], 3700], [tops[1], 11265]]) {
    assert(top >= fastest && top <= fastest * 1.25, `axis to ${top} for a fastest cell of ${fastest}`);
  }
  // The policy: copy, then msg_zerocopy from 16 KiB, on both transports (TCP takes the blackhole's).
  const marks = [...svg.matchAll(/fill="#d62728"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
  assertEquals(marks, ["copy→msg_zerocopy 16 KiB", "copy→msg_zerocopy 16 KiB"]);
});

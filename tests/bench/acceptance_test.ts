/**
 * The calibration's acceptance check, its verdict and the sizes it measures again, on made-up
 * cells: nothing here sends or times anything.
 */
import { acceptanceChecks, checkSize, failedSizes, formatChecks, verdict } from "../../bench/acceptance.ts";
import type { BackendName } from "../../mod.ts";
import { pairwiseRatio } from "../../bench/pairwise_ratio.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { cells, result } from "./made_up_cells.ts";

const KiB = 1024;

test("acceptance: auto passes at 0.95x the best single backend, the one it compares worst with run by run, and fails below", () => {
  const udp = cells({
    [16 * KiB]: { copy: [1000, 1000, 1000], msg_zerocopy: [900, 900, 900], io_uring: [500, 500, 500], auto: [950, 950, 950] },
    // msg_zerocopy's median is the highest, but auto's runs compare worse with io_uring's: io_uring is the best.
    [32 * KiB]: { copy: [1000, 1000, 1000], msg_zerocopy: [1000, 1450, 1450], io_uring: [1400, 1400, 1500], auto: [1300, 1350, 1400] },
  });
  const checks = acceptanceChecks([result("bun", udp)]);
  assertEquals(checks.length, 2);
  const [small, large] = checks;
  assertEquals(small.best, "copy");
  assertEquals(small.ratio, 0.95, "each of auto's runs is 0.95x each of copy's");
  assertEquals([small.autoMbps, small.bestMbps], [950, 1000], "the medians the table shows");
  assert(small.pass, "0.95x passes");
  assertEquals(large.best, "io_uring");
  assertEquals(large.ratio, 1400 / 1500, "the median of auto's runs over io_uring's (0.966x over msg_zerocopy's)");
  assert(!large.pass, "0.93x fails");
});

test("acceptance: a cell whose runs fall into two groups passes when auto's runs are copy's, wherever the medians land", () => {
  // 30 of copy's 66 runs slow, 35 of auto's: the medians fall in different groups.
  const runs = (slow: number) => Array.from({ length: 66 }, (_, i) => (i < slow ? 2900 : 4600) + ((i * 37) % 11) * 20);
  const split = cells({ [128 * KiB]: { copy: runs(30), msg_zerocopy: 2000, io_uring: 2000, auto: runs(35) } });
  const check = checkSize(split, 128 * KiB);
  assert(check.autoMbps / check.bestMbps < 0.8, `the medians ${check.autoMbps} / ${check.bestMbps} fall in different groups`);
  assert(check.pass && check.ratio > 0.98, `auto = ${check.ratio}x copy run by run`);
  const slower = cells({ [128 * KiB]: { copy: runs(30), msg_zerocopy: 2000, io_uring: 2000, auto: runs(30).map((v) => v * 0.9) } });
  assert(!checkSize(slower, 128 * KiB).pass, "auto 10% slower in both groups still fails");
});

test("acceptance: auto's runs are compared with the backend's of the same cycle", () => {
  // Two cycles of 6 rounds; the second ran 25% slower for every sender.
  const copy = [1000, 1040, 980, 1020, 990, 1010, 750, 780, 735, 765, 742, 758];
  const auto = copy.map((v) => v * 0.97);
  const drifted = cells({ [4 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto } }, 6);
  const check = checkSize(drifted, 4 * KiB);
  assertEquals(check.ratio, pairwiseRatio(auto, copy, 6).ratio);
  assert(check.pass, `within cycles, auto = ${check.ratio}x copy`);
});

test("acceptance: the sizes whose check fails are measured again, nearest the bar first", () => {
  const copy = [1000, 1000, 1000];
  const runs = cells({
    [4 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [800, 800, 800] },
    [16 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [960, 960, 960] },
    [64 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [940, 940, 940] },
  });
  assertEquals(failedSizes(runs), [64 * KiB, 4 * KiB], "0.94x before 0.80x; 0.96x passes");
  assertEquals(failedSizes(runs.filter((c) => c.size === 16 * KiB)), [], "none when every check passes");
});

test("acceptance: the verdict starts with PASSED only when every check passed, and names each failure", () => {
  const copy = [1000, 1000, 1000];
  const pass = cells({ [4 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: copy } });
  const fail = cells({ [16 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [930, 930, 930] } });
  assert(verdict(acceptanceChecks([result("bun", pass)])).startsWith("PASSED: all 1 acceptance checks"));
  const failed = verdict(acceptanceChecks([result("bun", pass), result("deno", fail)]));
  assert(failed.startsWith("FAILED: 1 of 2 acceptance checks"), failed);
  assert(failed.includes("UDP blackhole, deno, 16 KiB: 0.93x copy"), failed);
  const justBelow = cells({ [16 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [949, 949, 949] } });
  const shown = verdict(acceptanceChecks([result("bun", justBelow)]));
  assert(shown.includes("16 KiB: 0.94x copy"), `a miss at 0.949x never shows as the bar: ${shown}`);
  assert(verdict([]).startsWith("FAILED: no acceptance check ran"));
});

test("acceptance: auto and the best backend that sent every byte by the same backend pass whatever their ratio, and the line says why", () => {
  const copy = [1000, 1000, 1000];
  const staged = cells({ [16 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [890, 890, 890] } });
  const routed = (route: Record<string, BackendName>) => staged.map((c) => ({ ...c, route: route[c.sender] }));
  const same = checkSize(routed({ copy: "copy", auto: "copy" }), 16 * KiB);
  assert(same.pass && same.sameRoute === "copy", `both by copy: ${JSON.stringify(same)}`);
  const line = formatChecks([{ sink: "loopback TCP", runtime: "bun", ...same }]);
  assert(line.startsWith("PASS") && line.includes("both sent every byte by copy, the same path, so the gap is noise"), line);
  const other = checkSize(routed({ copy: "copy", auto: "msg_zerocopy" }), 16 * KiB);
  assert(!other.pass && other.sameRoute === undefined, "auto by another backend is held to 0.95x");
  assert(!checkSize(staged, 16 * KiB).pass, "without routes (mixed runs), the ratio decides");
});

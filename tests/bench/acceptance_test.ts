/**
 * The calibration's acceptance check and how it picks the size to measure again, on made-up cells:
 * nothing here sends or times anything.
 */
import { acceptanceChecks, checkSize, doubt, mostDoubtful } from "../../bench/acceptance.ts";
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
  assert(large.interval[0] <= large.ratio && large.ratio <= large.interval[1], `the interval ${large.interval} holds the ratio`);
});

test("acceptance: a cell whose runs fall into two groups passes when auto's runs are copy's, wherever the medians land", () => {
  // Loopback TCP at 128 KiB in one --full run: 30 of copy's 66 runs slow, 35 of auto's, the medians 0.80x apart.
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
  assertEquals(check.interval, pairwiseRatio(auto, copy, 6).interval);
  assert(check.interval[0] >= 0.95, `within cycles, 0.97x is clear of the bar: [${check.interval}]`);
  assert(pairwiseRatio(auto, copy).interval[0] < 0.95, "across them it would be in doubt");
});

test("acceptance: rounds are added to a miss in doubt first, then to the pass most in doubt, and to none once every interval clears the bar", () => {
  const copy = [1000, 1000, 1000, 1000, 1000];
  const runs = cells({
    // A clear miss: no spread, so the interval is the ratio itself.
    [4 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [900, 900, 900, 900, 900] },
    // A pass at 0.951x whose interval reaches below the bar: nearly all doubt.
    [16 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [891, 921, 951, 981, 1011] },
    // A miss at 0.93x whose interval reaches above the bar: less in doubt than that pass.
    [64 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [870, 900, 930, 960, 990] },
    // A pass at 0.96x, in doubt, but less than the one at 0.951x.
    [256 * KiB]: { copy, msg_zerocopy: 500, io_uring: 500, auto: [900, 930, 960, 990, 1020] },
  });
  const [clearMiss, doubtfulPass, doubtfulMiss, lessDoubtfulPass] = [4, 16, 64, 256].map((k) => checkSize(runs, k * KiB));
  assertEquals(doubt(clearMiss), Infinity, "0.90x with no spread is decided");
  assert(doubtfulPass.pass && doubt(doubtfulPass) < 0.1, `0.951x, interval ${doubtfulPass.interval}: deep in doubt`);
  assert(
    !doubtfulMiss.pass && doubt(doubtfulMiss) > doubt(doubtfulPass) && doubt(doubtfulMiss) < 1,
    `0.93x, interval ${doubtfulMiss.interval}: in doubt (${doubt(doubtfulMiss)}), less than 0.951x`,
  );
  assert(lessDoubtfulPass.pass && doubt(lessDoubtfulPass) > doubt(doubtfulPass) && doubt(lessDoubtfulPass) < 1, "0.96x: in doubt, less");
  assertEquals(mostDoubtful(runs), 64 * KiB, "the miss goes first");
  const passes = runs.filter((c) => c.size !== 64 * KiB);
  assertEquals(mostDoubtful(passes), 16 * KiB, "then the pass most in doubt");
  assertEquals(mostDoubtful(passes.filter((c) => c.size !== 16 * KiB)), 256 * KiB, "and a pass in doubt is measured again too");
  assertEquals(mostDoubtful(runs.filter((c) => c.size === 4 * KiB)), undefined, "nothing when every check is decided");
  assertEquals(checkSize(runs, 16 * KiB).runs, 5, "a check counts auto's runs");
});

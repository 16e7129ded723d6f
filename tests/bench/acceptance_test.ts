/**
 * The calibration's acceptance check and how it picks the size to measure again, on made-up cells:
 * nothing here sends or times anything.
 */
import { acceptanceChecks, checkSize, doubt, mostDoubtful, ratioInterval } from "../../bench/acceptance.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { cells, result } from "./made_up_cells.ts";

const KiB = 1024;

test("acceptance: auto passes at 0.95x the best single backend's median, and fails below", () => {
  const udp = cells({
    // Copy's median is 1000 (its 2000 is one run), msg_zerocopy's 900: copy is the best.
    [16 * KiB]: { copy: [1000, 2000, 1000], msg_zerocopy: [900, 1800, 900], io_uring: [500, 500, 500], auto: [950, 400, 960] },
    [32 * KiB]: { copy: [1000, 1000, 1000], msg_zerocopy: [1500, 1500, 1500], io_uring: [500, 500, 500], auto: [1400, 1500, 1380] },
  });
  const checks = acceptanceChecks([result("bun", udp)]);
  assertEquals(checks.length, 2);
  const [small, large] = checks;
  assertEquals(small.best, "copy");
  assertEquals(small.ratio, 0.95, "auto's median 950 over copy's 1000");
  assert(small.pass, "0.95x passes");
  assertEquals(large.best, "msg_zerocopy");
  assertEquals(large.ratio, 1400 / 1500);
  assert(!large.pass, "0.93x fails");
  assert(large.interval[0] <= large.ratio && large.ratio <= large.interval[1], `the interval ${large.interval} holds the ratio`);
});

test("acceptance: the bootstrap interval of a ratio of medians is reproducible, and narrows with more runs", () => {
  const a = Array.from({ length: 31 }, (_, i) => 1000 + ((i * 37) % 31) * 10);
  const b = Array.from({ length: 31 }, (_, i) => 1000 + ((i * 17) % 31) * 10);
  const [lo, hi] = ratioInterval(a, b);
  assertEquals(ratioInterval(a, b), [lo, hi], "seeded: the same runs give the same interval");
  assert(lo < 1 && hi > 1, `equal medians: the interval [${lo}, ${hi}] holds 1`);
  assert(lo >= 0.9 && hi <= 1.12, `and it is no wider than the runs' spread: [${lo}, ${hi}]`);
  const [lo3, hi3] = ratioInterval(a.slice(0, 5), b.slice(0, 5));
  assert(hi3 - lo3 > hi - lo, `5 runs give a wider interval than 31: [${lo3}, ${hi3}] vs [${lo}, ${hi}]`);
  assertEquals(ratioInterval([5, 5, 5], [2, 2, 2]), [2.5, 2.5], "no spread, no width");
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

/** The median ratio of two senders' runs, taken over every pair of runs of one stratum, and its interval. */
import { median } from "../../bench/median.ts";
import { pairwiseRatio } from "../../bench/pairwise_ratio.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("pairwise_ratio: the median of every run's ratio to every other's", () => {
  assertEquals(pairwiseRatio([1, 3], [1, 2]).ratio, 1.25, "the median of 1, 0.5, 3 and 1.5");
  assertEquals(pairwiseRatio([950, 950, 950], [1000, 1000, 1000]), { ratio: 0.95, interval: [0.95, 0.95] }, "no spread, no width");
  let error: unknown;
  try {
    pairwiseRatio([], [1]);
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError && error.message.includes("0 and 1"), `threw: ${String(error)}`);
});

test("pairwise_ratio: runs are compared only within their stratum", () => {
  // Four strata of 4 runs; the process ran at different speeds in each, and a's runs are about 0.96x b's.
  const b = [1400, 1320, 1480, 1390, 1000, 1090, 950, 1010, 900, 860, 940, 910, 1000, 1060, 970, 1030];
  const a = [1330, 1390, 1300, 1420, 960, 920, 1010, 950, 880, 850, 900, 830, 940, 1010, 960, 990];
  const within = [0, 4, 8, 12].flatMap((s) => a.slice(s, s + 4).flatMap((x) => b.slice(s, s + 4).map((y) => x / y)));
  assertEquals(pairwiseRatio(a, b, 4).ratio, median(within));
  assert(pairwiseRatio(a, b).ratio !== pairwiseRatio(a, b, 4).ratio, "pairs across strata would count too");
});

test("pairwise_ratio: the 90% interval is the rank-sum test's: 28th smallest and largest of 100 ratios for 10 runs each", () => {
  // 10 x 10 runs whose 100 ratios are distinct: the interval's ends are ranks 28 and 73 (Hollander and Wolfe's table gives 28).
  const a = Array.from({ length: 10 }, (_, i) => 2 ** i);
  const b = Array.from({ length: 10 }, (_, j) => 3 ** (j / 10));
  const ratios = a.flatMap((x) => b.map((y) => x / y)).sort((x, y) => x - y);
  assertEquals(pairwiseRatio(a, b).interval, [ratios[27], ratios[72]]);
});

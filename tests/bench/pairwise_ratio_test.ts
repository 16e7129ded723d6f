/** The median ratio of two senders' runs, taken over every pair of runs, and its interval. */
import { pairwiseRatio } from "../../bench/pairwise_ratio.ts";
import { assert, assertEquals, test } from "../harness.ts";

const spread = (n: number, step: number) => Array.from({ length: n }, (_, i) => 1000 + ((i * step) % n) * 10);

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

test("pairwise_ratio: runs are compared only within their stratum, so drift between strata drops out", () => {
  assertEquals(pairwiseRatio([1, 3, 2, 6], [1, 2, 2, 4], 2).ratio, 1.25, "the doc's example");
  // Two cycles of 6 runs; the second ran 30% slower for every sender, and a's runs are 0.96x b's in each.
  const b = [...spread(6, 1), ...spread(6, 5).map((v) => v * 0.7)];
  const a = b.map((v, i) => (i < 6 ? b[(i + 1) % 6] : b[6 + ((i + 1) % 6)]) * 0.96);
  const within = pairwiseRatio(a, b, 6), across = pairwiseRatio(a, b);
  assert(Math.abs(within.ratio - 0.96) < 0.01 && within.interval[0] > 0.9, `within cycles: ${within.ratio}, [${within.interval}]`);
  assert(across.interval[1] - across.interval[0] > 2 * (within.interval[1] - within.interval[0]), `across them the drift widens [${across.interval}]`);
});

test("pairwise_ratio: the interval holds 1 for alike runs, narrows with more runs, and leaves out a real gap", () => {
  const a = spread(31, 7), b = spread(31, 17);
  const { ratio, interval: [lo, hi] } = pairwiseRatio(a, b);
  assertEquals(ratio, 1, "the same runs in another order");
  assert(lo < 1 && hi > 1 && lo >= 0.9 && hi <= 1.12, `alike runs: [${lo}, ${hi}] holds 1, within the runs' spread`);
  const [lo5, hi5] = pairwiseRatio(a.slice(0, 5), b.slice(0, 5)).interval;
  assert(hi5 - lo5 > hi - lo, `5 runs give a wider interval than 31: [${lo5}, ${hi5}] vs [${lo}, ${hi}]`);
  const slower = pairwiseRatio(a.map((v) => v * 0.9), b);
  assert(Math.abs(slower.ratio - 0.9) < 1e-9 && slower.interval[1] < 0.95, `10% slower: ${slower.ratio}, [${slower.interval}]`);
});

test("pairwise_ratio: the 90% interval is the rank-sum test's: 28th smallest and largest of 100 ratios for 10 runs each", () => {
  // 10 x 10 runs whose 100 ratios are distinct: the interval's ends are ranks 28 and 73 (Hollander and Wolfe's table gives 28).
  const a = Array.from({ length: 10 }, (_, i) => 2 ** i);
  const b = Array.from({ length: 10 }, (_, j) => 3 ** (j / 10));
  const ratios = a.flatMap((x) => b.map((y) => x / y)).sort((x, y) => x - y);
  assertEquals(pairwiseRatio(a, b).interval, [ratios[27], ratios[72]]);
});

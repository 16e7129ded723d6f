/** The calibration's run orders: read as the runs happen, across rounds, balanced for carryover and for the parity of each run's place. */
import { balancedOrders } from "../../bench/balanced_orders.ts";
import { assert, assertEquals, test } from "../harness.ts";

for (const n of [3, 4, 5, 6, 7]) {
  test(`balanced_orders: ${n} senders, 2(n-1) orders, each sender right after each other one twice and at even places half the time`, () => {
    const orders = balancedOrders(n);
    assertEquals(orders.length, 2 * (n - 1));
    for (const order of orders) assertEquals([...order].sort(), Array.from({ length: n }, (_, i) => i));
    // The runs of two cycles in a row: the pairs of the second cover the wrap from the last order to the first.
    const cycle = orders.flat();
    const runs = [...cycle, ...cycle];
    const follows = new Map<string, number>();
    for (let i = cycle.length; i < runs.length; i++) {
      const pair = `${runs[i - 1]}>${runs[i]}`;
      follows.set(pair, (follows.get(pair) ?? 0) + 1);
    }
    const pairs = Array.from({ length: n * n }, (_, k) => [Math.floor(k / n), k % n]).filter(([a, b]) => a !== b);
    assertEquals([...follows.keys()].sort(), pairs.map(([a, b]) => `${a}>${b}`).sort(), "every ordered pair of two senders");
    assertEquals([...follows.values()], Array(n * (n - 1)).fill(2), "twice each");
    for (let s = 0; s < n; s++) {
      assertEquals(cycle.filter((x, place) => x === s && place % 2 === 0).length, n - 1, `sender ${s} at even places`);
      assert(orders.filter((o) => o[0] === s).length <= 2, `sender ${s} starts at most two rounds`);
    }
  });
}

test("balanced_orders: the example in the doc comment", () => {
  assertEquals(balancedOrders(4), [[0, 1, 2, 3], [0, 2, 3, 1], [3, 0, 1, 2], [1, 3, 2, 0], [2, 1, 0, 3], [1, 0, 3, 2]]);
});

test("balanced_orders: none for 2 senders", () => {
  let error: unknown;
  try {
    balancedOrders(2);
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message.includes("2 senders"), `threw: ${String(error)}`);
});

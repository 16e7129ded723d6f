/** The calibration's run orders: read as the runs happen, across rounds, every sender follows every other once per cycle. */
import { carryoverBalancedOrders } from "../../bench/carryover_balanced_orders.ts";
import { assertEquals, test } from "../harness.ts";

for (const n of [2, 3, 4, 5, 6, 7]) {
  test(`carryover_balanced_orders: ${n} senders, n-1 orders, each sender right after each other one once, across rounds too`, () => {
    const orders = carryoverBalancedOrders(n);
    assertEquals(orders.length, n - 1);
    for (const order of orders) assertEquals([...order].sort(), Array.from({ length: n }, (_, i) => i));
    // The runs of two cycles in a row: the pairs of the second cover the wrap from the last order to the first.
    const runs = [...orders.flat(), ...orders.flat()];
    const follows = new Map<string, number>();
    for (let i = n * (n - 1); i < runs.length; i++) {
      const pair = `${runs[i - 1]}>${runs[i]}`;
      follows.set(pair, (follows.get(pair) ?? 0) + 1);
    }
    const pairs = Array.from({ length: n * n }, (_, k) => [Math.floor(k / n), k % n]).filter(([a, b]) => a !== b);
    assertEquals([...follows.keys()].sort(), pairs.map(([a, b]) => `${a}>${b}`).sort(), "every ordered pair of two senders");
    assertEquals([...follows.values()], Array(n * (n - 1)).fill(1), "once each");
    assertEquals(new Set(orders.map((o) => o[0])).size, n - 1, "no two orders start with the same sender");
  });
}

test("carryover_balanced_orders: the example in the doc comment", () => {
  assertEquals(carryoverBalancedOrders(4), [[0, 1, 2, 3], [1, 3, 2, 0], [2, 1, 0, 3]]);
});

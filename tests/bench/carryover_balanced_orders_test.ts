/** The calibration's run orders: every sender follows every other equally often, in every position alike. */
import { carryoverBalancedOrders } from "../../bench/carryover_balanced_orders.ts";
import { assertEquals, test } from "../harness.ts";

for (const n of [2, 4, 5]) {
  test(`carryover_balanced_orders: ${n} senders, each follows each other one equally often and holds each position equally often`, () => {
    const orders = carryoverBalancedOrders(n);
    assertEquals(orders.length, n % 2 === 0 ? n : 2 * n);
    const follows = new Map<string, number>();
    const positions = new Map<string, number>();
    for (const order of orders) {
      assertEquals([...order].sort(), Array.from({ length: n }, (_, i) => i));
      order.forEach((s, i) => positions.set(`${s}@${i}`, (positions.get(`${s}@${i}`) ?? 0) + 1));
      for (let i = 1; i < order.length; i++) {
        const pair = `${order[i - 1]}>${order[i]}`;
        follows.set(pair, (follows.get(pair) ?? 0) + 1);
      }
    }
    const each = n % 2 === 0 ? 1 : 2;
    assertEquals(follows.size, n * (n - 1));
    assertEquals([...follows.values()], Array(n * (n - 1)).fill(each));
    assertEquals(positions.size, n * n);
    assertEquals([...positions.values()], Array(n * n).fill(each));
  });
}

test("carryover_balanced_orders: the example in the doc comment", () => {
  assertEquals(carryoverBalancedOrders(4), [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]);
});

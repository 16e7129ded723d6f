import { Pins } from "../../ffi/pins.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("pins: pin keeps each buffer reachable by its slot, and counts them", () => {
  const pins = new Pins();
  const a = new Uint8Array(4), b = new Uint8Array(8), c = new ArrayBuffer(2);
  const sa = pins.pin(a), sb = pins.pin(b), sc = pins.pin(c);
  assertEquals(new Set([sa, sb, sc]).size, 3, "distinct slots");
  assert(pins.get(sa) === a && pins.get(sb) === b && pins.get(sc) === c, "get returns the pinned object");
  assertEquals(pins.count, 3);
});

test("pins: release lets go, reuses the slot, and a second release is a no-op", () => {
  const pins = new Pins();
  const a = new Uint8Array(1), b = new Uint8Array(2), c = new Uint8Array(3);
  const sa = pins.pin(a);
  const sb = pins.pin(b);
  pins.release(sa);
  assertEquals(pins.count, 1);
  assert(pins.get(sa) === undefined, "released slot holds nothing");
  assert(pins.get(sb) === b, "other pins are untouched");
  pins.release(sa);
  assertEquals(pins.count, 1, "double release does not count twice");
  const sc = pins.pin(c);
  assertEquals(sc, sa, "the freed slot is reused");
  assert(pins.get(sc) === c, "the reused slot holds the new buffer");
  assertEquals(pins.count, 2);
  pins.release(sb);
  pins.release(sc);
  assertEquals(pins.count, 0);
});

test("pins: the table grows only to the peak in flight", () => {
  const pins = new Pins();
  const slots = new Set<number>();
  for (let round = 0; round < 100; round++) {
    const held = [pins.pin({}), pins.pin({}), pins.pin({})];
    for (const s of held) slots.add(s);
    for (const s of held) pins.release(s);
  }
  assertEquals(slots.size, 3, "100 rounds of 3 pins use only 3 slots");
  assertEquals(pins.count, 0);
});

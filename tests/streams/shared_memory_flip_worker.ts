/**
 * Not a test file: the Worker shared_memory_flip_test.ts starts. Until told to stop, it keeps
 * rewriting every byte of every view the test writes (`views`: start, length pairs into `memory`,
 * a SharedArrayBuffer), each view with the next value below 0x80, and counts its sweeps. It never
 * writes outside the views, and never a byte of 0x80 or more.
 */
import { workerData } from "node:worker_threads";

const { memory, views, control } = workerData as { memory: SharedArrayBuffer; views: Int32Array; control: SharedArrayBuffer };
const bytes = new Uint8Array(memory);
/** [0]: set to 1 to stop; [1]: sweeps over every view so far. */
const state = new Int32Array(control);
let value = 0;
while (Atomics.load(state, 0) === 0) {
  for (let v = 0; v < views.length; v += 2) {
    bytes.fill(value, views[v], views[v] + views[v + 1]);
    value = (value + 1) & 0x7f;
  }
  Atomics.add(state, 1, 1);
}

/**
 * The Bun waiter thread: blocks in poll() on the fd the main thread names, then wakes it.
 * Protocol over a shared Int32Array: [0] state (0 idle, 1 requested, 2 ready), [1] fd.
 *
 * @module
 */
import { dlopen } from "bun:ffi";

declare const self: Worker;

const { symbols } = dlopen("libc.so.6", { poll: { args: ["ptr", "u64", "i32"], returns: "i32" } });
const REQUESTED = 1, READY = 2;
const POLLIN = 1;

self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  const control = new Int32Array(event.data);
  const pollfd = new Int32Array(2);
  for (;;) {
    const state = Atomics.load(control, 0);
    if (state !== REQUESTED) {
      Atomics.wait(control, 0, state);
      continue;
    }
    pollfd[0] = Atomics.load(control, 1);
    pollfd[1] = POLLIN;
    // A failed poll (EINTR) wakes the main thread too; it finds nothing ready and asks again.
    symbols.poll(pollfd, 1, -1);
    Atomics.store(control, 0, READY);
    Atomics.notify(control, 0);
  }
};

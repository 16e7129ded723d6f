/**
 * The process Waiter (ffi/waiter.ts: one epoll set waited on off-thread) waking for io_uring
 * completions through the ring's eventfd, under DEFER_TASKRUN, with the event loop free: the
 * notification is queued by a timer that uncorks the socket, and nothing enters the ring until the
 * eventfd fires. The ring fd is armed in the same set for comparison: on Linux 6.18 deferred task
 * work does not wake a poll or epoll waiting on the ring fd, which is why zcio waits on the eventfd.
 */
import * as Effect from "effect/Effect";
import { IORING_CQE_F_NOTIF, IORING_SEND_ZC_REPORT_USAGE, IPPROTO_TCP, POLLIN } from "../../../ffi/constants.ts";
import { Ring } from "../../../ffi/io_uring/ring.ts";
import { RingEventfd } from "../../../ffi/io_uring/ring_eventfd.ts";
import { Slab } from "../../../ffi/slab.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { WaiterService } from "../../../scheduler/waiter_service.ts";
import { zcRuntime } from "../../../scheduler/zc_runtime.ts";
import { drainInto, sleep, sys, tcpPair } from "./loopback.ts";

/** The process's Waiter, the one every zcio connection uses (as tests/helpers.ts gets it, without the stream layers). */
const processWaiter = () =>
  zcRuntime().runPromise(Effect.gen(function* () {
    return yield* WaiterService;
  }));

const TCP_CORK = 3;
const cork = (fd: number, on: boolean) => assertEquals(sys.setsockopt(fd, IPPROTO_TCP, TCP_CORK, new Uint8Array(new Int32Array([on ? 1 : 0]).buffer)), 0);

test("waiter + eventfd: the process Waiter wakes for a deferred SEND_ZC notification; the ring fd stays silent", async () => {
  const waiter = await processWaiter();
  const s = Ring.setup(sys, 8);
  if (!s.ok) throw new Error(s.reason);
  const ring = s.ring;
  assert(ring.deferTaskrun);
  const made = RingEventfd.register(sys, ring);
  if (!made.ok) throw new Error(made.reason);
  const ev = made.eventfd;
  const { a, b, close } = tcpPair();
  const slab = Slab.map(sys, 4096);
  cork(a, true);
  ring.prepSendZc(ring.getSqe(), a, slab.addr, 64, 0, IORING_SEND_ZC_REPORT_USAGE, 0x77);
  ring.submit();
  assertEquals(ev.pass(() => {}), 1, "the first CQE");

  const events: string[] = [];
  const notifs: number[] = [];
  const evWatch = waiter.watch(ev.fd);
  evWatch.onReadable = () => {
    events.push(`eventfd (cq ${ring.peekCqe()}, taskrun ${ring.taskrunPending()})`);
    ev.pass((ud, _res, flags) => void ((flags & IORING_CQE_F_NOTIF) !== 0 && notifs.push(ud)));
  };
  const ringWatch = waiter.watch(ring.fd);
  ringWatch.onReadable = () => events.push("ring fd");
  waiter.arm(evWatch, POLLIN);
  waiter.arm(ringWatch, POLLIN);

  const t0 = performance.now();
  setTimeout(() => cork(a, false), 30);
  const deadline = Date.now() + 5000;
  while (notifs.length === 0 && Date.now() < deadline) await sleep(2);
  const ms = performance.now() - t0;
  await sleep(100); // give the ring fd every chance to report too
  console.log(`  events: ${events.join(", ")}; notification after ${ms.toFixed(1)} ms (uncork at 30 ms)`);
  assertEquals(notifs, [0x77], "the eventfd wake-up led to the notification");
  assert(events[0].startsWith("eventfd (cq 0, taskrun true)"), "the eventfd fired first, before anything entered the ring");
  assert(!events.includes("ring fd"), "deferred task work did not wake the epoll wait on the ring fd");
  waiter.forget(evWatch);
  waiter.forget(ringWatch);
  assertEquals(drainInto(b, new Uint8Array(128), 0), 64);
  close();
  slab.unmap();
  ev.close();
  ring.close();
});

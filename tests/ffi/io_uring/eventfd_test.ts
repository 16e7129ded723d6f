/**
 * The eventfd registered with a ring: readable after completions, and, with DEFER_TASKRUN,
 * readable as soon as a notification is queued as deferred work, while the CQ is still empty and
 * before any enter(GETEVENTS). The notification is held back with TCP_CORK so that the first CQE
 * and the notification can be told apart.
 */
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_SEND_ZC_REPORT_USAGE,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_TASKRUN_FLAG,
  IPPROTO_TCP,
  POLLIN,
} from "../../../ffi/constants.ts";
import { Ring } from "../../../ffi/io_uring/ring.ts";
import { RingEventfd } from "../../../ffi/io_uring/ring_eventfd.ts";
import { Slab } from "../../../ffi/slab.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { drainInto, sys, tcpPair } from "./loopback.ts";

/** TCP_CORK (<netinet/tcp.h>): hold partial segments until uncorked. */
const TCP_CORK = 3;
const cork = (fd: number, on: boolean) => assertEquals(sys.setsockopt(fd, IPPROTO_TCP, TCP_CORK, new Uint8Array(new Int32Array([on ? 1 : 0]).buffer)), 0);

const pollfd = new Uint8Array(8);
/** poll() one fd for POLLIN with `timeoutMs`; returns revents (0 when not ready). */
const readable = (fd: number, timeoutMs = 0): number => {
  const d = new DataView(pollfd.buffer);
  d.setInt32(0, fd, true);
  d.setUint16(4, POLLIN, true);
  d.setUint16(6, 0, true);
  return sys.poll(pollfd, 1, timeoutMs) > 0 ? d.getUint16(6, true) : 0;
};

const setup = (chain?: readonly number[]): { ring: Ring; ev: RingEventfd } => {
  const s = Ring.setup(sys, 8, chain ? { flagChain: chain } : {});
  if (!s.ok) throw new Error(s.reason);
  const made = RingEventfd.register(sys, s.ring);
  if (!made.ok) throw new Error(made.reason);
  return { ring: s.ring, ev: made.eventfd };
};

test("eventfd: becomes readable after completions; a pass reaps them and leaves it quiet", () => {
  const { ring, ev } = setup();
  assertEquals(readable(ev.fd), 0, "not readable with nothing done");
  for (let i = 0; i < 3; i++) ring.prepNop(ring.getSqe(), 40 + i);
  ring.submit();
  assert((readable(ev.fd) & POLLIN) !== 0, "readable once the NOPs completed");
  const got: number[] = [];
  assertEquals(ev.pass((ud) => got.push(ud)), 3);
  assertEquals(got, [40, 41, 42]);
  assertEquals(readable(ev.fd), 0, "the pass reset it, and its own GETEVENTS did not signal it again");
  assertEquals(ev.clear(), 0);
  // A second registration on the same ring is refused with a reason.
  const other = sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  assert(ring.registerEventfd(other) === -16, "EBUSY");
  sys.close(other);
  ev.close();
  ev.close(); // idempotent
  ring.close();
});

test("eventfd: with DEFER_TASKRUN a queued notification signals it before any GETEVENTS, with the CQ still empty", () => {
  const { ring, ev } = setup();
  assert(ring.deferTaskrun, "DEFER_TASKRUN granted");
  const { a, b, close } = tcpPair();
  const slab = Slab.map(sys, 4096);
  cork(a, true);
  ring.prepSendZc(ring.getSqe(), a, slab.addr, 100, 0, IORING_SEND_ZC_REPORT_USAGE, 0xabc);
  ring.submit();
  const firsts: number[][] = [];
  assertEquals(ev.pass((ud, res, flags) => firsts.push([ud, res, flags])), 1, "the first CQE, alone");
  assertEquals(firsts, [[0xabc, 100, IORING_CQE_F_MORE]]);
  assertEquals(readable(ev.fd, 20), 0, "corked: no notification yet, the eventfd stays quiet");
  cork(a, false); // the segment leaves, loopback copies it, the notification is queued as deferred work
  assert((readable(ev.fd) & POLLIN) !== 0, "the eventfd is readable ...");
  assertEquals(ring.peekCqe(), 0, "... while the CQ is still empty (no GETEVENTS yet)");
  assert(ring.taskrunPending(), "IORING_SQ_TASKRUN is set");
  const notifs: number[][] = [];
  assertEquals(ev.pass((ud, res, flags) => notifs.push([ud, res >>> 0, flags])), 1, "the pass entered and reaped it");
  assertEquals(notifs, [[0xabc, 0x80000000, IORING_CQE_F_NOTIF]]);
  assertEquals(readable(ev.fd), 0, "quiet after the pass");
  assert(!ring.taskrunPending());
  assertEquals(drainInto(b, new Uint8Array(200), 0), 100);
  close();
  slab.unmap();
  ev.close();
  ring.close();
});

test("eventfd: without DEFER_TASKRUN the notification is posted on the next kernel exit and signals it", () => {
  const { ring, ev } = setup([IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG]);
  assert(!ring.deferTaskrun);
  const { a, b, close } = tcpPair();
  const slab = Slab.map(sys, 4096);
  cork(a, true);
  ring.prepSendZc(ring.getSqe(), a, slab.addr, 100, 0, IORING_SEND_ZC_REPORT_USAGE, 7);
  ring.submit();
  assertEquals(ev.pass(() => {}), 1);
  cork(a, false);
  assert((readable(ev.fd) & POLLIN) !== 0, "readable");
  assertEquals(ring.peekCqe(), 1, "the notification is already in the CQ: task work ran on the way out of setsockopt");
  const notifs: number[] = [];
  ev.pass((ud, _res, flags) => void ((flags & IORING_CQE_F_NOTIF) !== 0 && notifs.push(ud)));
  assertEquals(notifs, [7]);
  assertEquals(drainInto(b, new Uint8Array(200), 0), 100);
  close();
  slab.unmap();
  ev.close();
  ring.close();
});

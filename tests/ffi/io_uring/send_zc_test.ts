/**
 * SEND_ZC, SENDMSG_ZC and SEND through the ring over loopback TCP on 127.0.0.1, asserting on the
 * bytes the receiver got and on the two-CQE protocol (docs/kernel.md, 'SEND_ZC completion protocol'): a first CQE with F_MORE,
 * then a notification (F_NOTIF) with the COPIED bit (loopback always copies); notifications matched
 * by user_data, not order; failed sends still notified; DEFER_TASKRUN needing GETEVENTS.
 */
import {
  EPIPE,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_NOTIF_USAGE_ZC_COPIED,
  IORING_SEND_ZC_REPORT_USAGE,
  MSG_WAITALL,
  SO_RCVBUF,
  SO_SNDBUF,
  SOL_SOCKET,
} from "../../../ffi/constants.ts";
import { RegisteredBuffers } from "../../../ffi/io_uring/registered_buffers.ts";
import { Ring } from "../../../ffi/io_uring/ring.ts";
import { Slab } from "../../../ffi/slab.ts";
import { IOVEC_SIZE, MSGHDR_SIZE, setIovec, setMsghdr } from "../../../ffi/structs.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { drainInto, pattern, receiveAll, sameBytes, sys, tcpPair, unconnectedTcp } from "./loopback.ts";

const newRing = (entries: number): Ring => {
  const setup = Ring.setup(sys, entries);
  if (!setup.ok) throw new Error(`io_uring setup failed: ${setup.reason}`);
  return setup.ring;
};

/** One CQE, copied out of the ring. */
interface Cqe {
  userData: number;
  res: number;
  flags: number;
}

/**
 * Waits (entering with GETEVENTS, which DEFER_TASKRUN needs) until `done()` holds, handing every CQE
 * to `onCqe` and draining the receiver into `rx` meanwhile; returns the receiver's fill level.
 */
const pump = (
  ring: Ring,
  done: () => boolean,
  onCqe: (c: Cqe) => void,
  rxFd = -1,
  rx?: Uint8Array,
  at = 0,
): number => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (rx !== undefined) at = drainInto(rxFd, rx, at);
    ring.getEvents();
    ring.reap((userData, res, flags) => onCqe({ userData, res, flags }));
    if (done()) return at;
    if (Date.now() > deadline) throw new Error("timed out waiting for CQEs");
    ring.submitAndWait(5, 1);
  }
};

test("send_zc: a registered slice over loopback TCP with REPORT_USAGE: bytes, F_MORE, then a COPIED notification", async () => {
  const ring = newRing(8);
  const reg = RegisteredBuffers.register(sys, ring, 1 << 20);
  assert(reg.ok, `registration failed: ${reg.ok ? "" : reg.reason}`);
  const bufs = reg.buffers;
  const { a, b, close } = tcpPair();
  const LEN = 65536;
  bufs.alloc(4096); // so that the slice does not start at the region's first byte
  const off = bufs.alloc(LEN);
  assertEquals(off, 4096);
  const payload = pattern(LEN, 7);
  bufs.bytes.set(payload, off);
  const USER_DATA = 2 ** 33 + 17;
  ring.prepSendZcFixed(ring.getSqe(), a, bufs.addr + off, LEN, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE, USER_DATA, bufs.bufIndex);
  assertEquals(ring.submit(), 1);
  const cqes: Cqe[] = [];
  const rx = new Uint8Array(LEN);
  const got = pump(ring, () => cqes.length === 2, (c) => cqes.push(c), b, rx);
  await receiveAll(b, rx.subarray(got));
  assert(sameBytes(rx, payload), "the receiver got exactly the slice's bytes");
  assertEquals(cqes[0], { userData: USER_DATA, res: LEN, flags: IORING_CQE_F_MORE }, "first CQE: bytes sent, F_MORE");
  assertEquals(cqes[1].userData, USER_DATA, "the notification carries the same user_data");
  assertEquals(cqes[1].flags, IORING_CQE_F_NOTIF, "F_NOTIF without F_MORE");
  assert(cqes[1].res < 0 && ((cqes[1].res >>> 0) & IORING_NOTIF_USAGE_ZC_COPIED) !== 0, "loopback: ZC_COPIED");
  assertEquals(cqes[1].res >>> 0, IORING_NOTIF_USAGE_ZC_COPIED, "no other usage bits");
  assert(bufs.free(off), "the slice goes back on its notification");
  close();
  bufs.close();
  ring.close();
});

test("send_zc: with DEFER_TASKRUN the notification shows only after an enter(GETEVENTS)", () => {
  const ring = newRing(8);
  assert(ring.deferTaskrun, "this kernel grants DEFER_TASKRUN");
  const { a, b, close } = tcpPair();
  const slab = Slab.map(sys, 4096);
  slab.bytes.set(pattern(4096, 3));
  ring.prepSendZc(ring.getSqe(), a, slab.addr, 4096, 0, IORING_SEND_ZC_REPORT_USAGE, 5);
  ring.submit();
  assertEquals(ring.peekCqe(), 1, "the send completed inline: its first CQE is there");
  assertEquals([ring.cqeRes(0), ring.cqeFlags(0)], [4096, IORING_CQE_F_MORE]);
  ring.advance(1);
  const t0 = performance.now();
  while (performance.now() - t0 < 20) { /* spin without syscalls */ }
  assertEquals(ring.peekCqe(), 0, "no notification without entering the kernel");
  assert(ring.taskrunPending(), "TASKRUN_FLAG: IORING_SQ_TASKRUN says deferred work waits");
  assertEquals(ring.getEvents(), 0);
  assertEquals(ring.peekCqe(), 1, "GETEVENTS ran the deferred work");
  assertEquals([ring.cqeUserData(0), ring.cqeFlags(0)], [5, IORING_CQE_F_NOTIF]);
  assert(!ring.taskrunPending(), "nothing deferred is left");
  ring.advance(1);
  assertEquals(drainInto(b, new Uint8Array(8192), 0), 4096);
  close();
  slab.unmap();
  ring.close();
});

test("send_zc: 64 requests in flight from one submit; every first CQE and every notification reaped", async () => {
  const N = 64, LEN = 2048, BASE = 2 ** 36;
  const ring = newRing(N);
  const reg = RegisteredBuffers.register(sys, ring, N * LEN, { unit: LEN });
  assert(reg.ok, `registration failed: ${reg.ok ? "" : reg.reason}`);
  const bufs = reg.buffers;
  const { a, b, close } = tcpPair();
  // Room for everything in the socket buffers, so every send completes inline.
  const big = new Uint8Array(new Int32Array([1 << 20]).buffer);
  sys.setsockopt(a, SOL_SOCKET, SO_SNDBUF, big);
  sys.setsockopt(b, SOL_SOCKET, SO_RCVBUF, big);
  const offsets: number[] = [];
  for (let i = 0; i < N; i++) {
    const off = bufs.alloc(LEN);
    assert(off >= 0, "a slice for every request");
    const bytes = pattern(LEN, 1000 + i);
    new DataView(bytes.buffer).setUint32(0, i, true); // each request's bytes start with its index
    bufs.bytes.set(bytes, off);
    offsets.push(off);
    ring.prepSendZcFixed(ring.getSqe(), a, bufs.addr + off, LEN, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE, BASE + i, 0);
  }
  assertEquals(ring.getSqe(), -1, "all 64 SQEs are in use");
  assertEquals(ring.submit(), N, "one io_uring_enter took all 64");
  const firstRes = new Array<number>(N).fill(NaN);
  const notifs = new Array<number>(N).fill(0);
  const notifOrder: number[] = [];
  let firsts = 0, notifCount = 0, notifBeforeFirst = 0, copied = 0;
  const rx = new Uint8Array(N * LEN);
  const got = pump(
    ring,
    () => firsts === N && notifCount === N,
    (c) => {
      const i = c.userData - BASE;
      assert(i >= 0 && i < N, `user_data ${c.userData} is one of ours`);
      if ((c.flags & IORING_CQE_F_NOTIF) !== 0) {
        notifs[i]++;
        notifCount++;
        notifOrder.push(i);
        if (Number.isNaN(firstRes[i])) notifBeforeFirst++;
        if (((c.res >>> 0) & IORING_NOTIF_USAGE_ZC_COPIED) !== 0) copied++;
        assert(bufs.free(offsets[i]), "a slice is freed once, on its notification");
      } else {
        assertEquals(c.flags & IORING_CQE_F_MORE, IORING_CQE_F_MORE, "F_MORE on the first CQE");
        firstRes[i] = c.res;
        firsts++;
      }
    },
    b,
    rx,
  );
  assertEquals(firstRes, new Array(N).fill(LEN), "every request sent all its bytes");
  assertEquals(notifs, new Array(N).fill(1), "exactly one notification per request");
  assertEquals(notifBeforeFirst, 0, "no notification before its own first CQE");
  assertEquals(copied, N, "loopback: every notification says COPIED");
  assertEquals(bufs.usedBytes, 0, "every slice is back");
  await receiveAll(b, rx.subarray(got));
  // The receiver got each request's bytes whole; say whether they also came in submission order.
  const seen = new Array<number>(N).fill(0);
  const order: number[] = [];
  for (let at = 0; at < N * LEN; at += LEN) {
    const i = new DataView(rx.buffer, at, 4).getUint32(0, true);
    assert(i < N, `a request index at ${at}`);
    const expect = pattern(LEN, 1000 + i);
    new DataView(expect.buffer).setUint32(0, i, true);
    assert(sameBytes(rx.subarray(at, at + LEN), expect), `request ${i}'s bytes arrived whole`);
    seen[i]++;
    order.push(i);
  }
  assertEquals(seen, new Array(N).fill(1), "every request's bytes arrived once");
  const inOrder = order.every((v, k) => v === k);
  const notifsInOrder = notifOrder.every((v, k) => v === k);
  console.log(`  64 in flight: data in submission order: ${inOrder}; notifications in submission order: ${notifsInOrder}; enters so far ${ring.enters}`);
  close();
  bufs.close();
  ring.close();
});

test("send_zc: a failed SEND_ZC (unconnected TCP socket) is -EPIPE with F_MORE and still gets its notification", () => {
  const ring = newRing(8);
  const fd = unconnectedTcp();
  const slab = Slab.map(sys, 4096);
  ring.prepSendZc(ring.getSqe(), fd, slab.addr, 100, 0, IORING_SEND_ZC_REPORT_USAGE, 77);
  ring.prepSendZc(ring.getSqe(), fd, slab.addr, 100, 0, 0, 78); // without REPORT_USAGE
  ring.submit();
  const cqes: Cqe[] = [];
  pump(ring, () => cqes.length === 4, (c) => cqes.push(c));
  const firsts = cqes.filter((c) => (c.flags & IORING_CQE_F_NOTIF) === 0);
  const notifs = cqes.filter((c) => (c.flags & IORING_CQE_F_NOTIF) !== 0);
  assertEquals(firsts.map((c) => [c.userData, c.res, c.flags]), [[77, -EPIPE, IORING_CQE_F_MORE], [78, -EPIPE, IORING_CQE_F_MORE]]);
  assertEquals(notifs.map((c) => c.userData).sort(), [77, 78], "both failed sends are notified");
  const n77 = notifs.find((c) => c.userData === 77)!, n78 = notifs.find((c) => c.userData === 78)!;
  assertEquals(n77.res >>> 0, IORING_NOTIF_USAGE_ZC_COPIED, "REPORT_USAGE: nothing went zerocopy");
  assertEquals(n78.res, 0, "without REPORT_USAGE the notification's res is 0");
  sys.close(fd);
  slab.unmap();
  ring.close();
});

test("send_zc: unregistered SEND_ZC, SENDMSG_ZC and a plain copying SEND through the ring", async () => {
  const ring = newRing(8);
  const { a, b, close } = tcpPair();
  const slab = Slab.map(sys, 3 * 8192 + 4096);
  const p1 = pattern(8000, 11), p2a = pattern(3000, 12), p2b = pattern(5000, 13), p3 = pattern(8192, 14);
  slab.bytes.set(p1, 0);
  slab.bytes.set(p2a, 8192);
  slab.bytes.set(p2b, 8192 + 3000);
  slab.bytes.set(p3, 16384);
  // A msghdr with two iovecs over the second block, in the slab's last page.
  const MSG = 24576, IOV = MSG + MSGHDR_SIZE;
  setIovec(slab.data, IOV, slab.addr + 8192, 3000);
  setIovec(slab.data, IOV + IOVEC_SIZE, slab.addr + 8192 + 3000, 5000);
  setMsghdr(slab.data, MSG, 0, 0, slab.addr + IOV, 2, 0, 0);
  ring.prepSendZc(ring.getSqe(), a, slab.addr, 8000, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE, 1);
  ring.prepSendmsgZc(ring.getSqe(), a, slab.addr + MSG, MSG_WAITALL, 2, IORING_SEND_ZC_REPORT_USAGE);
  ring.prepSend(ring.getSqe(), a, slab.addr + 16384, 8192, MSG_WAITALL, 3);
  assertEquals(ring.submit(), 3);
  const cqes: Cqe[] = [];
  const total = 8000 + 8000 + 8192;
  const rx = new Uint8Array(total);
  const got = pump(ring, () => cqes.length === 5, (c) => cqes.push(c), b, rx);
  await receiveAll(b, rx.subarray(got));
  const byId = (id: number, notif: boolean) =>
    cqes.filter((c) => c.userData === id && ((c.flags & IORING_CQE_F_NOTIF) !== 0) === notif).map((c) => [c.res, c.flags]);
  assertEquals(byId(1, false), [[8000, IORING_CQE_F_MORE]], "SEND_ZC");
  assertEquals(byId(2, false), [[8000, IORING_CQE_F_MORE]], "SENDMSG_ZC sends both iovecs");
  assertEquals(byId(3, false), [[8192, 0]], "SEND: one CQE, no F_MORE");
  assertEquals(byId(1, true).length + byId(2, true).length, 2, "one notification for each zerocopy send");
  assertEquals(byId(3, true).length, 0, "no notification for a copying send");
  assert(sameBytes(rx.subarray(0, 8000), p1), "SEND_ZC bytes");
  assert(sameBytes(rx.subarray(8000, 11000), p2a) && sameBytes(rx.subarray(11000, 16000), p2b), "SENDMSG_ZC bytes");
  assert(sameBytes(rx.subarray(16000), p3), "SEND bytes");
  close();
  slab.unmap();
  ring.close();
});

/**
 * IoUringSender's bookkeeping when a chain breaks. First the kernel behaviour it relies on, seen on
 * the real kernel: a SEND_ZC cancelled because an earlier request of its chain failed completes
 * with -ECANCELED and *no* F_MORE, and is still notified afterwards (with the ZC_COPIED bit). Then
 * the sender driven through exactly such a sequence with a scripted ring (the refusal this needs
 * for leases, ENOMEM on unregistered memory while the lease pool is registered, takes an
 * RLIMIT_MEMLOCK above the 8 MiB pool, which a test cannot raise without CAP_SYS_RESOURCE): leases
 * chained behind a refused request stay out of the pool until they are really sent, the next chain
 * makes progress, and the "copied" notifications of requests that sent nothing change no stats.
 * And a sender that finds no room in the SQ waits for the ring's next pass over the CQ, which wakes
 * it (a full SQ the kernel will not take cannot be made on 6.18, so the sender meets a scripted one).
 */
import { IoUringSender } from "../../backends/io_uring.ts";
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { RegisteredLeases } from "../../backends/registered_leases.ts";
import { SendQueue } from "../../backends/send_queue.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { UringDispatcher } from "../../backends/uring_dispatcher.ts";
import {
  AF_INET,
  ECANCELED,
  ECONNREFUSED,
  ENOMEM,
  EPIPE,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IOSQE_IO_LINK,
  MSG_NOSIGNAL,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { RegisteredBuffers } from "../../ffi/io_uring/registered_buffers.ts";
import { Ring } from "../../ffi/io_uring/ring.ts";
import { Slab } from "../../ffi/slab.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { sys, tcpPair, unconnectedTcp } from "../ffi/io_uring/loopback.ts";
import { boundSocket, processWaiter } from "../helpers.ts";

const COPIED = 0x80000000 | 0; // IORING_NOTIF_USAGE_ZC_COPIED as the s32 cqe.res
const REPORT_USAGE = 0x8;

const newRing = (entries = 16): Ring => {
  const setup = Ring.setup(sys, entries);
  if (!setup.ok) throw new Error(`io_uring setup failed: ${setup.reason}`);
  return setup.ring;
};

test("io_uring kernel: a SEND_ZC cancelled by an earlier failure in its chain completes with -ECANCELED and no F_MORE, then is notified anyway", () => {
  const ring = newRing();
  const { a, close } = tcpPair();
  const dead = unconnectedTcp();
  const slab = Slab.map(sys, 4096);
  let sqe = ring.getSqe();
  ring.prepSend(sqe, dead, slab.addr, 100, MSG_NOSIGNAL, 1); // EPIPE: breaks the chain
  ring.setSqeFlags(sqe, IOSQE_IO_LINK);
  sqe = ring.getSqe();
  ring.prepSendZc(sqe, a, slab.addr, 100, 0, REPORT_USAGE, 2);
  ring.submit();
  const cqes: number[][] = [];
  for (let i = 0; i < 100 && cqes.length < 3; i++) {
    ring.submitAndWait(10, 1);
    ring.getEvents();
    ring.reap((ud, res, flags) => cqes.push([ud, res, flags]));
  }
  assertEquals(cqes, [[1, -EPIPE, 0], [2, -ECANCELED, 0], [2, COPIED, IORING_CQE_F_NOTIF]], "CQEs (user_data, res, flags)");
  close();
  sys.close(dead);
  ring.close();
  slab.unmap();
});

/** The parts of UringDispatcher and Ring that IoUringSender.submit() uses, recording each request. */
class ScriptedRing {
  readonly sqes: { op: "send" | "send_zc" | "send_zc_fixed"; len: number; userData: number; link: boolean }[] = [];
  getSqe(): number {
    return this.sqes.push({ op: "send", len: 0, userData: 0, link: false }) - 1;
  }
  prepSend(sqe: number, _fd: number, _addr: number, len: number, _flags: number, userData: number): void {
    Object.assign(this.sqes[sqe], { op: "send", len, userData });
  }
  prepSendZc(sqe: number, _fd: number, _addr: number, len: number, _flags: number, _zc: number, userData: number): void {
    Object.assign(this.sqes[sqe], { op: "send_zc", len, userData });
  }
  prepSendZcFixed(sqe: number, _fd: number, _addr: number, len: number, _f: number, _zc: number, userData: number): void {
    Object.assign(this.sqes[sqe], { op: "send_zc_fixed", len, userData });
  }
  setSqeFlags(sqe: number, flags: number): void {
    this.sqes[sqe].link = (flags & IOSQE_IO_LINK) !== 0;
  }
  /** The requests of the chain submitted last. */
  take() {
    return this.sqes.splice(0);
  }
}

test("io_uring sender: leases chained behind a request refused with ENOMEM stay out of the pool until sent; the next chain copies unregistered memory; empty 'copied' notifications change no stats", () => {
  const ring = newRing();
  const registration = RegisteredBuffers.register(sys, ring, 1 << 20);
  assert(registration.ok, "registering 1 MiB (as root)");
  const leases = new RegisteredLeases(registration.buffers);
  const pool = registration.buffers;
  const scripted = new ScriptedRing();
  let outstanding = 0;
  const dispatcher = {
    ring: scripted,
    leases,
    attach: () => 7,
    detach: () => {},
    userData: (_id: number, slot: number) => slot,
    reserve: (n: number) => n,
    submitted: (n: number) => void (outstanding += n),
    finished: () => void outstanding--,
  } as unknown as UringDispatcher;
  const staging = Slab.map(sys, 65536);
  // As a connection's lease pool does: a registered lease goes back to the region.
  const owned = new OwnedBuffers((view) => {
    if (view.buffer === pool.bytes.buffer) leases.release(view);
  });
  const queue = new SendQueue(staging.bytes, staging.addr, true, () => {}, owned);
  const stats = new SendStats();
  let wakes = 0;
  const sender = new IoUringSender(sys, 99, false, dispatcher, owned, 64 << 20);
  sender.bind(queue, stats, () => wakes++);

  const unregistered = new Uint8Array(256 * 1024); // the kernel charges it at submission
  const lease1 = leases.view(leases.take(64 * 1024), 64 * 1024), lease2 = leases.view(leases.take(32 * 1024), 32 * 1024);
  queue.own(unregistered);
  queue.own(lease1);
  queue.own(lease2);
  const leased = 96 * 1024;
  assertEquals(pool.usedBytes, leased);

  // Chain 1: all SEND_ZC; the owned chunk is refused at submission, which fails the whole chain.
  assertEquals(sender.submit(queue, stats), 0);
  const chain1 = scripted.take();
  assertEquals(chain1.map((r) => [r.op, r.len, r.link]), [
    ["send_zc", unregistered.length, true],
    ["send_zc_fixed", lease1.length, true],
    ["send_zc_fixed", lease2.length, false],
  ]);
  const [o, a, b] = chain1.map((r) => r.userData);
  sender.complete(o, -ENOMEM, IORING_CQE_F_MORE);
  sender.complete(a, -ECANCELED, 0); // no F_MORE, yet a notification follows
  sender.complete(b, -ECANCELED, 0);
  assert(!sender.busy, "the chain is over");
  assertEquals(sender.inflight, 3, "three notifications are due");
  assertEquals(pool.usedBytes, leased, "the cancelled leases are still queued: not back in the pool");
  sender.complete(o, COPIED, IORING_CQE_F_NOTIF);
  sender.complete(a, COPIED, IORING_CQE_F_NOTIF);
  sender.complete(b, COPIED, IORING_CQE_F_NOTIF);
  assertEquals([sender.inflight, sender.inflightBytes, outstanding], [0, 0, 0], "every request is over");
  assertEquals(pool.usedBytes, leased, "still queued, still not in the pool");
  assertEquals(queue.length, 3, "nothing was sent");
  assertEquals(
    [stats.noBufferFallbacks, stats.copiedBytes, stats.zeroCopiedBytes, stats.downgrades, stats.notifications],
    [1, 0, 0, 0, 3],
    "one refusal; the notifications of requests that sent nothing report no copy and cause no downgrade",
  );
  sender.complete(a, COPIED, IORING_CQE_F_NOTIF); // a stray duplicate is ignored
  assertEquals([sender.inflight, stats.notifications], [0, 3]);

  // Chain 2: the unregistered chunk goes by copy (SEND), the leases still zero-copy.
  assertEquals(sender.submit(queue, stats), 0);
  const chain2 = scripted.take();
  assertEquals(chain2.map((r) => r.op), ["send", "send_zc_fixed", "send_zc_fixed"]);
  const [o2, a2, b2] = chain2.map((r) => r.userData);
  sender.complete(o2, unregistered.length, 0);
  sender.complete(a2, lease1.length, IORING_CQE_F_MORE);
  sender.complete(b2, lease2.length, IORING_CQE_F_MORE);
  assertEquals(queue.length, 0, "all sent");
  assertEquals(pool.usedBytes, leased, "sent, but the kernel may read the leases until their notifications");
  sender.complete(b2, 0, IORING_CQE_F_NOTIF);
  assertEquals(pool.usedBytes, 64 * 1024, "lease 2 back at its notification");
  sender.complete(a2, 0, IORING_CQE_F_NOTIF);
  assertEquals(pool.usedBytes, 0, "lease 1 back at its notification");
  assertEquals([sender.inflight, outstanding, stats.zeroCopiedBytes, stats.copiedBytes], [0, 0, lease1.length + lease2.length, 0]);
  assertEquals(stats.bytes.io_uring, unregistered.length + lease1.length + lease2.length);
  assertEquals(owned.bytes, 0, "every owned buffer's record ended");
  assert(wakes >= 2, "the fiber is woken when chains end and notifications come");

  // Chain 3: zero-copy for unregistered memory again after the one copied chain.
  const again = new Uint8Array(65536);
  queue.own(again);
  assertEquals(sender.submit(queue, stats), 0);
  assertEquals(scripted.take().map((r) => r.op), ["send_zc"]);
  staging.unmap();
  pool.close();
  ring.close();
});

/** A sender of datagrams over a scripted ring (as above), with its queue and stats. */
const datagramSender = (fd = 99) => {
  const scripted = new ScriptedRing();
  const dispatcher = {
    ring: scripted,
    leases: undefined,
    attach: () => 7,
    detach: () => {},
    userData: (_id: number, slot: number) => slot,
    reserve: (n: number) => n,
    submitted: () => {},
    finished: () => {},
  } as unknown as UringDispatcher;
  const staging = Slab.map(sys, 65536);
  const done: Uint8Array[] = [];
  const owned = new OwnedBuffers(() => {});
  const queue = new SendQueue(staging.bytes, staging.addr, false, (v) => done.push(v), owned);
  const stats = new SendStats();
  const sender = new IoUringSender(sys, fd, true, dispatcher, owned, 64 << 20);
  sender.bind(queue, stats, () => {});
  return { scripted, queue, stats, sender, done, staging };
};

test("io_uring sender: on a datagram socket a request refused with ECONNREFUSED (an ICMP port unreachable) ends nothing; it and the rest of its chain go again; a refused SEND_ZC stays pinned until notified", () => {
  const { scripted, queue, stats, sender, staging } = datagramSender();
  for (const n of [10, 20, 30]) queue.stage(new Uint8Array(n));
  const owned = new Uint8Array(20000);
  queue.own(owned);
  assertEquals(sender.submit(queue, stats), 0);
  const chain1 = scripted.take();
  assertEquals(chain1.map((r) => [r.op, r.len, r.link]), [["send", 10, true], ["send", 20, true], ["send", 30, true], ["send_zc", 20000, false]]);
  const [a, b, c, d] = chain1.map((r) => r.userData);
  sender.complete(a, 10, 0);
  sender.complete(b, -ECONNREFUSED, 0); // reported on this send, which sent nothing
  sender.complete(c, -ECANCELED, 0);
  sender.complete(d, -ECANCELED, 0); // a SEND_ZC past prep: notified all the same
  assertEquals([queue.length, queue.remaining(0)], [3, 20], "the refused datagram and those after it are still queued");
  assertEquals(sender.inflight, 1, "the cancelled SEND_ZC waits for its notification");
  sender.complete(d, COPIED, IORING_CQE_F_NOTIF);
  assertEquals(sender.inflight, 0);

  // The next chain sends them; the SEND_ZC is refused this time, with its notification to come.
  assertEquals(sender.submit(queue, stats), 0, "submitting again is no failure");
  const chain2 = scripted.take();
  assertEquals(chain2.map((r) => [r.op, r.len]), [["send", 20], ["send", 30], ["send_zc", 20000]]);
  const [b2, c2, d2] = chain2.map((r) => r.userData);
  sender.complete(b2, 20, 0);
  sender.complete(c2, 30, 0);
  sender.complete(d2, -ECONNREFUSED, IORING_CQE_F_MORE);
  assertEquals([queue.length, queue.view(0) === owned, sender.inflight], [1, true, 1], "the refused owned datagram stays queued, its buffer pinned");
  sender.complete(d2, COPIED, IORING_CQE_F_NOTIF);
  assertEquals(sender.submit(queue, stats), 0);
  const [d3] = scripted.take().map((r) => r.userData);
  sender.complete(d3, 20000, IORING_CQE_F_MORE);
  sender.complete(d3, 0, IORING_CQE_F_NOTIF);
  assertEquals([queue.length, sender.inflight, stats.bytes.io_uring], [0, 0, 20060], "every datagram went once");
  staging.unmap();
});

test("io_uring sender: with no room in the SQ it waits for the ring's next pass over the CQ, not for the socket, then chains what is queued", () => {
  let room = 0;
  const roomWaiters: (() => void)[] = [];
  const enters: number[] = [];
  const scripted = new ScriptedRing();
  const dispatcher = {
    ring: scripted,
    leases: undefined,
    attach: () => 7,
    userData: (_id: number, slot: number) => slot,
    reserve: (n: number) => Math.min(n, room),
    whenRoom: (wake: () => void) => void roomWaiters.push(wake),
    submitted: (n: number) => void enters.push(n),
    finished: () => {},
  } as unknown as UringDispatcher;
  const staging = Slab.map(sys, 65536);
  const owned = new OwnedBuffers(() => {});
  const queue = new SendQueue(staging.bytes, staging.addr, true, () => {}, owned);
  const stats = new SendStats();
  let wakes = 0;
  const sender = new IoUringSender(sys, 99, false, dispatcher, owned, 64 << 20);
  sender.bind(queue, stats, () => wakes++);
  queue.stage(new Uint8Array(100));
  queue.own(new Uint8Array(32 * 1024));

  assertEquals(sender.submit(queue, stats), 0, "SUBMITTED, not WOULD_BLOCK: the socket has room, the ring has none");
  assertEquals([scripted.take().length, queue.length, roomWaiters.length], [0, 2, 1], "nothing prepared; the sender waits for room");
  assertEquals(enters, [0], "what others prepared goes to the kernel");
  room = 64;
  roomWaiters[0]();
  assertEquals(wakes, 1, "the ring's pass wakes the send fiber");
  assertEquals(sender.submit(queue, stats), 0);
  assertEquals(scripted.take().map((r) => [r.op, r.len]), [["send", 100], ["send_zc", 32 * 1024]], "then the queue goes as one chain");
  staging.unmap();
});

test("io_uring dispatcher: a sender waiting for room in the SQ is woken by the next pass over the CQ", async () => {
  const shared = UringDispatcher.shared(sys, await processWaiter());
  assert(shared.ok, `io_uring is available here: ${shared.ok ? "" : shared.reason}`);
  let woken = 0;
  shared.dispatcher.whenRoom(() => woken++);
  assertEquals(woken, 0, "not before the pass");
  shared.dispatcher.submitted(0); // the enter this macrotask's senders would queue
  await Promise.resolve();
  assertEquals(woken, 1, "the pass after the enter woke it, once");
  shared.dispatcher.submitted(0);
  await Promise.resolve();
  assertEquals(woken, 1, "a wake is for one pass");
});

test("io_uring sender: a borrowed datagram sent with a plain send to a port that refuses goes again, never a failure", () => {
  const closed = boundSocket(SOCK_DGRAM);
  sys.close(closed.fd);
  const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", closed.port)!), 0);
  const { queue, stats, sender, done, staging } = datagramSender(fd);
  const DATAGRAMS = 20;
  for (let i = 0; i < DATAGRAMS; i++) {
    queue.borrow(new Uint8Array(2000).fill(i));
    // Each send brings back an ICMP port unreachable, which the next send reports.
    assertEquals(sender.submit(queue, stats), 0, `datagram ${i}`);
  }
  assertEquals([queue.length, done.length, stats.bytes.copy], [0, DATAGRAMS, DATAGRAMS * 2000], "every datagram went");
  assert(stats.syscalls > DATAGRAMS, `refused sends were met and sent again (${stats.syscalls} sends)`);
  sys.close(fd);
  staging.unmap();
});

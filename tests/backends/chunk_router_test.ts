/**
 * `auto`'s per-chunk choice without sockets: the policy band of a size, availability fallbacks, the
 * downgrade after COPIED and the re-probe after reprobeBytes (doubled per peer for each re-probe
 * copied again), the probe window before the kernel has confirmed zero-copy, the pause after
 * ENOBUFS/ENOMEM, and the per-peer answers that let a new connection skip the probe. Nothing here
 * sends or times anything.
 */
import { ChunkRouter, PROBE_BYTES, PROBE_POLL_EVERY, routeTable, type ZeroCopyRoute } from "../../backends/chunk_router.ts";
import { CopiedDowngrade } from "../../backends/copied_downgrade.ts";
import { MAX_PEERS, PATH_COPIES, PATH_UNKNOWN, PATH_ZERO_COPIES, PathVerdicts, PEER_COPIES_REASON, VERDICT_TTL_MS } from "../../backends/path_verdicts.ts";
import { ROUTE_COPY, ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY } from "../../backends/send_queue.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { SizePolicy } from "../../backends/size_policy.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { reprobesAfter } from "./reprobes_after.ts";

const KiB = 1024, MiB = 1 << 20;
const REPROBE = 4 * MiB;

/** copy below 16 KiB, msg_zerocopy from 16 KiB, io_uring from 64 KiB (each falling back along the list). */
const POLICY = SizePolicy.parse({
  version: 1,
  tcp: [
    { from: 0, use: "copy" },
    { from: 16 * KiB, use: ["msg_zerocopy", "io_uring"] },
    { from: 64 * KiB, use: ["io_uring", "msg_zerocopy"] },
  ],
}, "test");
const BANDS = POLICY.bands("tcp");

/** A zero-copy route as the router sees it: a real downgrade state and in-flight bytes set by hand. */
class FakeRoute implements ZeroCopyRoute {
  readonly downgrade = new CopiedDowngrade("copied (test)", REPROBE);
  inflightBytes = 0;
}

const rig = (available = { msgZerocopy: true, ioUring: true }) => {
  const stats = new SendStats();
  const mz = available.msgZerocopy ? new FakeRoute() : undefined;
  const uring = available.ioUring ? new FakeRoute() : undefined;
  let queued = 0;
  const router = new ChunkRouter(routeTable(BANDS, available), mz, uring, stats, () => queued);
  return { stats, mz, uring, router, queue: (bytes: number) => (queued = bytes) };
};

test("chunk_router: each size takes its band's first available backend", () => {
  assertEquals(Array.from(routeTable(BANDS, { msgZerocopy: true, ioUring: true }).routes), [ROUTE_COPY, ROUTE_MSG_ZEROCOPY, ROUTE_IO_URING]);
  assertEquals(Array.from(routeTable(BANDS, { msgZerocopy: false, ioUring: true }).routes), [ROUTE_COPY, ROUTE_IO_URING, ROUTE_IO_URING]);
  assertEquals(Array.from(routeTable(BANDS, { msgZerocopy: true, ioUring: false }).routes), [ROUTE_COPY, ROUTE_MSG_ZEROCOPY, ROUTE_MSG_ZEROCOPY]);
  assertEquals(Array.from(routeTable(BANDS, { msgZerocopy: false, ioUring: false }).routes), [ROUTE_COPY, ROUTE_COPY, ROUTE_COPY]);

  const { router, mz, uring } = rig();
  // Confirmed zero-copy on both routes: the policy alone decides.
  mz!.downgrade.confirmed = uring!.downgrade.confirmed = true;
  const expect: [number, number][] = [
    [1, ROUTE_COPY],
    [16 * KiB - 1, ROUTE_COPY],
    [16 * KiB, ROUTE_MSG_ZEROCOPY],
    [64 * KiB - 1, ROUTE_MSG_ZEROCOPY],
    [64 * KiB, ROUTE_IO_URING],
    [1 << 30, ROUTE_IO_URING],
  ];
  for (const [size, route] of expect) {
    assertEquals(router.planned(size), route, `planned(${size})`);
    assertEquals(router.route(size), route, `route(${size})`);
  }
  const none = rig({ msgZerocopy: false, ioUring: false });
  for (const [size] of expect) assertEquals(none.router.route(size), ROUTE_COPY, `nothing zero-copy: ${size} by copy`);
});

test("chunk_router: a policy's route table is made once per availability and shared by every connection", () => {
  const every = routeTable(BANDS, { msgZerocopy: true, ioUring: true });
  assert(routeTable(BANDS, { msgZerocopy: true, ioUring: true }) === every, "the same bands and availability: the same table");
  assertEquals(Array.from(every.from), [0, 16 * KiB, 64 * KiB]);
  assertEquals([every.msgZerocopy, every.ioUring], [true, true]);
  const copyOnly = routeTable(BANDS, { msgZerocopy: false, ioUring: false });
  assert(copyOnly !== every, "another availability: another table");
  assertEquals([copyOnly.msgZerocopy, copyOnly.ioUring], [false, false]);
  const other = SizePolicy.parse({ version: 1, tcp: [{ from: 0, use: "copy" }, { from: 16 * KiB, use: "io_uring" }] }, "other");
  const otherTable = routeTable(other.bands("tcp"), { msgZerocopy: true, ioUring: true });
  assertEquals(Array.from(otherTable.routes), [ROUTE_COPY, ROUTE_IO_URING], "another policy's bands: their own table");
  assertEquals([otherTable.msgZerocopy, otherTable.ioUring], [false, true]);
});

test("chunk_router: a route the kernel reported COPIED goes by copy until reprobeBytes have gone by copy, then probes again", () => {
  const { router, uring, mz, stats } = rig();
  const d = uring!.downgrade;
  d.confirmed = true;
  assertEquals(router.route(MiB), ROUTE_IO_URING);
  d.report(true, MiB, stats); // a notification with ZC_COPIED
  assertEquals(d.enabled, false);
  assertEquals(stats.downgrades, 1);
  assertEquals(stats.downgradeReasons, ["copied (test)"]);
  assertEquals(router.route(MiB), ROUTE_COPY, "downgraded: large chunks go by copy");
  assertEquals(router.route(32 * KiB), ROUTE_MSG_ZEROCOPY, "the other route is not downgraded by this one");
  d.countCopied(REPROBE - 1);
  assertEquals(router.route(MiB), ROUTE_COPY, "one byte short of reprobeBytes");
  d.countCopied(1);
  assertEquals(d.enabled, true);
  assertEquals(d.confirmed, false, "re-probing: not confirmed yet");
  assertEquals(router.route(MiB), ROUTE_IO_URING, "the re-probe sends zero-copy again");
  // The re-probe is copied again: back to copy, counted as a second downgrade.
  d.report(true, MiB, stats);
  assertEquals(router.route(MiB), ROUTE_COPY);
  assertEquals(stats.downgrades, 2);
  // msg_zerocopy downgrades on its own.
  mz!.downgrade.report(true, 32 * KiB, stats);
  assertEquals(router.route(32 * KiB), ROUTE_COPY);
  assertEquals(stats.copiedBytes, 2 * MiB + 32 * KiB);
});

test("chunk_router: until the kernel confirms zero-copy, only a probe window goes that way at a time", () => {
  const { router, uring, queue, stats } = rig();
  const d = uring!.downgrade;
  assertEquals(d.confirmed, false);
  // Nothing pending: the first chunk probes, however large.
  assertEquals(router.route(4 * MiB), ROUTE_IO_URING);
  queue(4 * MiB);
  assertEquals(router.route(64 * KiB), ROUTE_COPY, "a probe is pending: the next chunk goes by copy");
  queue(0);
  uring!.inflightBytes = PROBE_BYTES - 64 * KiB;
  assertEquals(router.route(64 * KiB), ROUTE_IO_URING, "still within the window");
  assertEquals(router.route(64 * KiB + 1), ROUTE_COPY, "past the window");
  // A notification without ZC_COPIED confirms: no window any more.
  d.report(false, 64 * KiB, stats);
  assertEquals(d.confirmed, true);
  assertEquals(stats.zeroCopiedBytes, 64 * KiB);
  uring!.inflightBytes = 64 * MiB;
  assertEquals(router.route(MiB), ROUTE_IO_URING);
});

/** A route whose notifications the router may read itself (MSG_ZEROCOPY's error queue), answering as set. */
class DrainingRoute extends FakeRoute {
  drains = 0;
  answer: "none" | "zero-copied" | "copied" = "none";
  drain(stats: SendStats): number {
    this.drains++;
    if (this.answer === "none") return 0;
    this.downgrade.report(this.answer === "copied", this.inflightBytes, stats);
    this.inflightBytes = 0;
    return 1;
  }
}

test("chunk_router: while a probe is unanswered, one held-back chunk in PROBE_POLL_EVERY reads the notifications, and an answer found takes effect at once", () => {
  for (const answer of ["zero-copied", "copied"] as const) {
    const stats = new SendStats();
    const mz = new DrainingRoute();
    const router = new ChunkRouter(routeTable(BANDS, { msgZerocopy: true, ioUring: false }), mz, undefined, stats, () => 0);
    assertEquals(router.route(32 * KiB), ROUTE_MSG_ZEROCOPY, "the probe");
    mz.inflightBytes = PROBE_BYTES;
    for (let i = 1; i < PROBE_POLL_EVERY; i++) assertEquals(router.route(32 * KiB), ROUTE_COPY, `held back ${i}`);
    assertEquals(mz.drains, 0, "no reads before the PROBE_POLL_EVERY-th held-back chunk");
    assertEquals(router.route(32 * KiB), ROUTE_COPY, "read, but no answer yet");
    assertEquals(mz.drains, 1);
    mz.answer = answer;
    for (let i = 1; i < PROBE_POLL_EVERY; i++) router.route(32 * KiB);
    assertEquals(mz.drains, 1);
    const expected = answer === "zero-copied" ? ROUTE_MSG_ZEROCOPY : ROUTE_COPY;
    assertEquals(router.route(32 * KiB), expected, `${answer}: the chunk that read the answer follows it`);
    assertEquals(mz.drains, 2);
    assertEquals(mz.downgrade.confirmed, answer === "zero-copied");
    assertEquals(stats.downgrades, answer === "copied" ? 1 : 0);
    assertEquals(router.route(32 * KiB), expected, `${answer}: and so do the next`);
    assertEquals(mz.drains, 2, "no more reads once answered");
  }
});

test("chunk_router: after ENOBUFS or ENOMEM, chunks go by copy until no zero-copy buffer is in flight", () => {
  const { router, mz, uring, stats } = rig();
  mz!.downgrade.confirmed = uring!.downgrade.confirmed = true;
  mz!.inflightBytes = 3 * MiB;
  uring!.inflightBytes = MiB;
  assertEquals(router.route(MiB), ROUTE_IO_URING);
  stats.noBufferFallbacks++; // what a sender counts on ENOBUFS (MSG_ZEROCOPY) or ENOMEM (SEND_ZC)
  assertEquals(router.route(MiB), ROUTE_COPY);
  assertEquals(router.route(32 * KiB), ROUTE_COPY);
  mz!.inflightBytes = 0;
  assertEquals(router.route(MiB), ROUTE_COPY, "io_uring still holds buffers");
  uring!.inflightBytes = 0;
  assertEquals(router.route(MiB), ROUTE_IO_URING, "everything released: zero-copy again");
  assertEquals(router.route(32 * KiB), ROUTE_MSG_ZEROCOPY);
});

test("chunk_router: a router over a band whose backend is missing is a programming error", () => {
  let threw = false;
  try {
    new ChunkRouter(routeTable(BANDS, { msgZerocopy: true, ioUring: true }), undefined, undefined, new SendStats(), () => 0);
  } catch {
    threw = true;
  }
  assert(threw, "the connection must set up every backend its routes name");
});

test("path_verdicts: answers per peer, fresh for a minute, the least recently answered forgotten first", () => {
  const v = new PathVerdicts();
  const t = 1_000_000;
  assertEquals(v.get("tcp 127.0.0.1 9", t), PATH_UNKNOWN);
  v.record("tcp 127.0.0.1 9", 1, t);
  v.record("udp 10.0.0.1 53", 0, t);
  assertEquals(v.get("tcp 127.0.0.1 9", t + 1), PATH_COPIES);
  assertEquals(v.get("udp 10.0.0.1 53", t + 1), PATH_ZERO_COPIES);
  assertEquals(v.get("tcp 127.0.0.1 10", t + 1), PATH_UNKNOWN, "another port is another peer");
  assertEquals(v.get("tcp 127.0.0.1 9", t + VERDICT_TTL_MS), PATH_COPIES);
  assertEquals(v.get("tcp 127.0.0.1 9", t + VERDICT_TTL_MS + 1), PATH_UNKNOWN, "stale");
  for (let i = 0; i <= MAX_PEERS; i++) v.record(`tcp 10.1.0.${i} 1`, 1, t + 2);
  assertEquals(v.get("udp 10.0.0.1 53", t + 3), PATH_UNKNOWN, "evicted, the oldest");
  assertEquals(v.get("tcp 10.1.0.1 1", t + 3), PATH_COPIES);
});

test("chunk_router: the peer's answer is looked up once, at the first chunk the policy sends zero-copy, and decides that chunk", () => {
  const v = new PathVerdicts();
  v.record("tcp 127.0.0.1 8", 1);
  const stats = new SendStats();
  const mz = new FakeRoute(), uring = new FakeRoute();
  let lookups = 0;
  const router = new ChunkRouter(routeTable(BANDS, { msgZerocopy: true, ioUring: true }), mz, uring, stats, () => 0, () => {
    lookups++;
    v.follow("tcp 127.0.0.1 8", [mz.downgrade, uring.downgrade], stats);
  });
  for (let i = 0; i < 3; i++) assertEquals(router.route(4 * KiB), ROUTE_COPY);
  assertEquals(lookups, 0, "chunks the policy sends by copy never look");
  assertEquals(router.route(MiB), ROUTE_COPY, "the first zero-copy chunk already follows the peer's answer (copies)");
  assertEquals(lookups, 1);
  assertEquals(stats.downgradeReasons, [PEER_COPIES_REASON]);
  router.route(32 * KiB);
  router.route(MiB);
  assertEquals(lookups, 1, "once per connection");
});

test("path_verdicts: a new connection starts from its peer's answer, and teaches the next one", () => {
  const v = new PathVerdicts();
  // Unknown peer: routes start probing, and their first answer is recorded.
  const first = rig();
  v.follow("tcp 127.0.0.1 7", [first.uring!.downgrade, first.mz!.downgrade], first.stats);
  assertEquals(first.router.route(MiB), ROUTE_IO_URING, "probing");
  first.uring!.downgrade.report(true, MiB, first.stats);
  assertEquals(v.get("tcp 127.0.0.1 7"), PATH_COPIES);
  // The next connection to that peer sends by copy from the start, and says why.
  const second = rig();
  v.follow("tcp 127.0.0.1 7", [second.uring!.downgrade, second.mz!.downgrade], second.stats);
  assertEquals(second.router.route(MiB), ROUTE_COPY);
  assertEquals(second.router.route(32 * KiB), ROUTE_COPY);
  assertEquals(second.stats.downgradeReasons, [PEER_COPIES_REASON]);
  // ... and re-probes after reprobeBytes like any downgraded socket; a zero-copied answer is shared too.
  second.uring!.downgrade.countCopied(REPROBE);
  assertEquals(second.router.route(MiB), ROUTE_IO_URING);
  second.uring!.downgrade.report(false, MiB, second.stats);
  assertEquals(v.get("tcp 127.0.0.1 7"), PATH_ZERO_COPIES);
  const third = rig();
  v.follow("tcp 127.0.0.1 7", [third.uring!.downgrade, third.mz!.downgrade], third.stats);
  assertEquals(third.uring!.downgrade.confirmed, true, "no probe window for a peer known to zero-copy");
  third.uring!.inflightBytes = 64 * MiB;
  assertEquals(third.router.route(MiB), ROUTE_IO_URING);
  assertEquals(third.stats.downgrades, 0);
});

test("path_verdicts: a peer whose re-probes keep being copied is re-probed less often, on every new connection to it", () => {
  const v = new PathVerdicts();
  const peer = "tcp 127.0.0.1 6";
  const connect = (now = Date.now()) => {
    const c = rig();
    v.follow(peer, [c.uring!.downgrade, c.mz!.downgrade], c.stats, now);
    return c;
  };
  // The first connection probes, is copied (1 in a row), and re-probes after reprobeBytes.
  const first = connect();
  assertEquals(first.router.route(MiB), ROUTE_IO_URING, "probing");
  first.uring!.downgrade.report(true, MiB, first.stats);
  assert(reprobesAfter(first.uring!.downgrade, REPROBE));
  // Its re-probe is copied too (2 in a row): the next connection starts by copy and waits twice as long.
  first.uring!.downgrade.report(true, MiB, first.stats);
  const second = connect();
  assertEquals(second.router.route(MiB), ROUTE_COPY);
  assert(reprobesAfter(second.uring!.downgrade, 2 * REPROBE));
  assert(reprobesAfter(second.mz!.downgrade, 2 * REPROBE), "both routes");
  // A connection that never re-probes leaves the answer as it was; after a minute it is stale, and
  // a new connection probes again, still counting: copied once more, it waits four times as long.
  const later = Date.now() + VERDICT_TTL_MS + 1;
  assertEquals(v.get(peer, later), PATH_UNKNOWN);
  const stale = connect(later);
  assertEquals(stale.router.route(MiB), ROUTE_IO_URING, "a stale answer: probing");
  stale.uring!.downgrade.report(true, MiB, stale.stats);
  assert(reprobesAfter(stale.uring!.downgrade, 4 * REPROBE));
  // A zero-copied answer resets the count for the peer.
  stale.uring!.downgrade.report(false, MiB, stale.stats);
  assertEquals(v.get(peer), PATH_ZERO_COPIES);
  const zeroCopying = connect();
  zeroCopying.uring!.downgrade.report(true, MiB, zeroCopying.stats);
  assert(reprobesAfter(zeroCopying.uring!.downgrade, REPROBE));
});

/**
 * MSG_ZEROCOPY where the kernel really zero-copies: UDP to a blackhole, 127.0.0.1 inside a private
 * network namespace this test creates (`unshare -n`; it disappears with the child) whose loopback
 * qdisc drops every packet (docs/kernel.md, 'Zero-copy sinks'). The child process (msg_zerocopy_blackhole_child.ts,
 * same runtime) sends and reports; this side asserts on notifications, zero-copied bytes, and that
 * each buffer stayed pinned until its notification was read.
 */
import { COPIED_REASON } from "../../backends/msg_zerocopy.ts";
import type { ConnectionStats } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import type { IdleObservation } from "./msg_zerocopy_blackhole_child.ts";
import { currentNetns, describe, privateNetns, runChild, runtimeCommand } from "../child_process.ts";

interface Report {
  stats: ConnectionStats;
  counts: { idle: number; burst: number; leaseIdle: number; leaseBurst: number };
  idleBytes: number;
  burstBytes: number;
  burstDetached: number;
  burstStats: ConnectionStats;
  idleWrites: IdleObservation[];
  leaseWrites: IdleObservation[];
  leaseBytes: number;
  leaseDetached: number;
  lease: { chunks: number; msgZerocopy: number; zeroCopied: number; copied: number };
  invariantBroken: number;
  checks: number;
  inflightAfterWriterClose: number;
  inflightAfterClose: number;
}

/** The child's report; one run serves every test here. */
let ran: Report | undefined;
const blackhole = (): Report => (ran ??= runBlackhole());
const runBlackhole = (): Report => {
  const r = runChild(runtimeCommand(import.meta.url, "msg_zerocopy_blackhole_child"), {
    wrapper: privateNetns(["ip link set lo up", "tc qdisc add dev lo root pfifo limit 0"]),
    env: { ZCIO_PARENT_NETNS: currentNetns() },
  });
  assert(r.status === 0 && r.report !== undefined, `the blackhole child ran to the end: ${describe(r)}`);
  return r.report as unknown as Report;
};

test("msg_zerocopy: UDP to a blackhole in a private netns is zero-copied, every send notified, no COPIED bit, no downgrade", () => {
  const report = blackhole();
  const { stats, counts } = report;
  const total = report.idleBytes + report.burstBytes + report.leaseBytes;
  const chunks = counts.idle + counts.burst + counts.leaseIdle + counts.leaseBurst;
  assertEquals(stats.chunks, chunks, "every chunk counted");
  assertEquals(stats.bytes.msg_zerocopy, total, "every byte went with MSG_ZEROCOPY");
  assertEquals(stats.bytes.copy, 0, "nothing went by copy");
  assert(stats.notifications > 0, "notifications came");
  // The idle writes were each notified alone; bursts share ranges, so there are fewer than sends.
  assert(stats.notifications >= counts.idle + counts.leaseIdle, `one notification per idle write at least: ${stats.notifications}`);
  assert(stats.notifications <= chunks, `no more notifications than sends: ${stats.notifications}`);
  assertEquals(stats.zeroCopiedBytes, stats.bytes.msg_zerocopy, "notifications covered every byte sent, none COPIED");
  assertEquals(stats.copiedBytes, 0, "no notification had SO_EE_CODE_ZEROCOPY_COPIED");
  assertEquals(stats.downgrades, 0, "no downgrade");
  assert(!stats.downgradeReasons.includes(COPIED_REASON), "no COPIED downgrade reason");
  assertEquals(stats.noBufferFallbacks, 0, "no ENOBUFS");
  assert(stats.notificationBatches > 0 && stats.notificationBatches <= stats.notifications, "batches counted");
});

test("msg_zerocopy: a buffer sent zero-copy stays pinned until zcio has read its notification, which the send's own submission reads when the kernel has queued it", () => {
  const report = blackhole();
  for (const o of [...report.idleWrites, ...report.leaseWrites]) {
    const at = JSON.stringify(o);
    assertEquals(o.notificationsAfterWrite, o.notificationsBefore + 1, `the notification, queued during the send, was read before write() resolved: ${at}`);
    assertEquals([o.inflight, o.inflightBytes], [0, 0], `and the buffer released with it: ${at}`);
    assert(!o.pollerr, `nothing was left on the error queue to wake the waiter: ${at}`);
  }
  assert(report.checks > report.counts.burst, `the invariant was checked after every write: ${report.checks}`);
  assertEquals(report.invariantBroken, 0, "bytes released never exceeded bytes notified");
  assertEquals(report.inflightAfterWriterClose, 0, "writer.close() resolved only once every buffer was released");
  assertEquals(report.inflightAfterClose, 0, "nothing pinned after close()");
  // Whole-buffer chunks were taken over: the caller's views are detached.
  for (const o of report.idleWrites) assertEquals(o.lengthAfterWrite, 0, "an idle whole-buffer chunk is detached");
  assertEquals(report.burstDetached, report.counts.burst, "every burst chunk and its alias were detached");
  assertEquals(report.burstStats.zeroCopiedBytes, report.burstStats.bytes.msg_zerocopy, "bursts: every byte notified zero-copied");
});

test("msg_zerocopy: leased views over the blackhole are handed over (detached) and zero-copied", () => {
  const report = blackhole();
  const { lease, counts } = report;
  assertEquals(lease.chunks, counts.leaseIdle + counts.leaseBurst, "every lease written");
  assertEquals(report.leaseDetached, counts.leaseIdle + counts.leaseBurst, "every leased view was detached by its write");
  for (const o of report.leaseWrites) assertEquals(o.lengthAfterWrite, 0, "a written lease's view reads as empty");
  assertEquals(lease.msgZerocopy, report.leaseBytes, "every leased byte went with MSG_ZEROCOPY");
  assertEquals(lease.zeroCopied, report.leaseBytes, "and was notified zero-copied");
  assertEquals(lease.copied, 0, "nothing of it copied");
});

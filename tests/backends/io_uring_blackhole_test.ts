/**
 * The io_uring backend where the kernel really sends without copying: UDP to 127.0.0.1:9 in a
 * private network namespace whose loopback drops every packet at the qdisc (docs/kernel.md, 'Zero-copy sinks'), in
 * a child process (io_uring_child.ts, modes `blackhole` and `blackhole-memlock`). Root only, as CI
 * runs; nothing leaves the namespace.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { childOutput, type ChildReport, runUringChild } from "./io_uring_spawn.ts";

interface Stats {
  bytes: { copy: number; msg_zerocopy: number; io_uring: number };
  zeroCopiedBytes: number;
  copiedBytes: number;
  notifications: number;
  noBufferFallbacks: number;
  downgrades: number;
  downgradeReasons: string[];
}

test("io_uring blackhole: datagrams under 64 KiB are notified without the copied bit; leases return to the pool at their notification; an exhausted pool makes lease() wait", () => {
  const r = runUringChild("blackhole", { blackhole: true });
  const c = r.report as ChildReport | undefined;
  assert(r.status === 0 && c !== undefined, `the child ran to the end: ${childOutput(r)}`);
  const stats = c.stats as Stats;

  // Every byte went through the ring, and every notification said "not copied".
  assertEquals(stats.bytes, { copy: 0, msg_zerocopy: 0, io_uring: c.bytes }, "bytes per backend");
  assertEquals(stats.zeroCopiedBytes, stats.bytes.io_uring, "zeroCopiedBytes is every byte sent");
  assertEquals([stats.copiedBytes, stats.downgrades, stats.downgradeReasons.length], [0, 0, 0], "no copy reported, no downgrade");
  assertEquals(stats.notifications, c.datagrams, "one notification per datagram");
  assertEquals(stats.noBufferFallbacks, 0);
  const owned = c.owned as Stats;
  assert(owned.bytes.io_uring > 5_000_000 && owned.zeroCopiedBytes === owned.bytes.io_uring, `owned datagrams zero-copied: ${JSON.stringify(owned)}`);

  // Leases are registered memory, and each one's memory is in use until its notification.
  assert(c.leasesRegistered, "leases are slices of the registered pool");
  assertEquals(c.usedBeforeLeaseWrites, c.leaseCount * c.unit, "the leases' units are in use once leased");
  const events = c.events as { notif: boolean; res: number; before: number; after: number }[];
  const sends = events.filter((e) => !e.notif), notifs = events.filter((e) => e.notif);
  assertEquals([sends.length, notifs.length], [c.leaseCount, c.leaseCount], "one completion and one notification per lease");
  assert(sends.every((e) => e.res === c.leaseBytes), "every lease sent whole");
  assert(sends.every((e) => e.before === e.after), "a send's completion returns nothing to the pool");
  assert(notifs.every((e) => e.before - e.after === c.unit), `each notification returns exactly one lease: ${JSON.stringify(notifs.slice(0, 4))}`);
  assertEquals(c.usedAfterLeaseNotifications, 0, "all back after the notifications");

  // Exhaustion: lease() waits (nothing in flight could free memory), then gets the released lease.
  assertEquals(c.usedWhenExhausted, c.poolSize, "the whole 8 MiB pool leased out");
  assertEquals(c.poolSize, 8 << 20);
  assertEquals(c.heldCount, 128);
  assertEquals([c.stateWhileExhausted, c.inflightWhileExhausted], ["pending", 0], "lease() waits instead of failing");
  assert(c.lateReusesReleased, "the waiting lease got the memory released by the notification");

  // close() waited for every notification and every lease is back.
  assertEquals([c.usedAfterClose, c.inflightAfterClose, c.busyAfterClose], [0, 0, false], "after close");
});

test("io_uring blackhole under a 64 KiB RLIMIT_MEMLOCK: SEND_ZC refused with ENOMEM goes again by copy, and its notification triggers no downgrade", () => {
  const r = runUringChild("blackhole-memlock", { blackhole: true });
  const c = r.report as ChildReport | undefined;
  assert(r.status === 0 && c !== undefined, `the child ran to the end: ${childOutput(r)}`);
  assertEquals(c.lowered, { capget: 0, capset: 0, prlimit: 0 }, "CAP_IPC_LOCK dropped and the limit lowered");
  assertEquals(c.backend, "io_uring");
  const stats = c.stats as Stats;
  assertEquals(stats.bytes, { copy: 0, msg_zerocopy: 0, io_uring: c.bytes }, "every datagram sent, through the ring");
  assert(stats.noBufferFallbacks > 0, `ENOMEM fallbacks counted: ${JSON.stringify(stats)}`);
  // A refused (or cancelled) SEND_ZC is notified with the ZC_COPIED bit although nothing was sent:
  // that must not count as a copy on the route, which drops every packet uncopied.
  assertEquals([stats.copiedBytes, stats.downgrades, stats.downgradeReasons.length], [0, 0, 0], "no copy reported, no downgrade");
  assert(stats.notifications >= stats.noBufferFallbacks, "refused requests are still notified");
  assertEquals(c.inflightAfterClose, 0);
});

/**
 * When io_uring cannot be used as configured, connections with backend "io_uring" still deliver
 * every byte and say why in stats and probe(). Each case runs in a child process
 * (io_uring_child.ts), because what it changes cannot be undone: a seccomp filter that makes
 * io_uring_setup fail with EPERM, and RLIMIT_MEMLOCK lowered to 256 KiB without CAP_IPC_LOCK.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { childOutput, type ChildReport, runUringChild } from "./io_uring_spawn.ts";

interface Transfer {
  backend: string;
  inflightAfterClose: number;
  kinds: { staged: number; borrowed: number; owned: number; leased: number };
  leasesRegistered: boolean;
  sent: { length: number; hash: number };
  received: { length: number; hash: number };
  stats: {
    bytes: { copy: number; msg_zerocopy: number; io_uring: number };
    noBufferFallbacks: number;
    downgrades: number;
    downgradeReasons: string[];
    zeroCopiedBytes: number;
  };
}

const checkTransfer = (t: Transfer): void => {
  assertEquals(t.received, t.sent, "every byte arrived, in order (length and hash)");
  assert(t.sent.length >= 48 << 20, `48 MiB at least: ${t.sent.length}`);
  for (const [kind, n] of Object.entries(t.kinds)) assert(n >= 5, `${kind} chunks used: ${JSON.stringify(t.kinds)}`);
  assertEquals(t.inflightAfterClose, 0, "nothing in flight after close");
};

test("io_uring fallback: with io_uring_setup denied (seccomp, EPERM) the connection uses msg_zerocopy, probe() and stats say why, and every byte arrives", () => {
  const r = runUringChild("seccomp");
  const c = r.report as (Transfer & ChildReport) | undefined;
  assert(r.status === 0 && c !== undefined, `the child ran to the end: ${childOutput(r)}`);
  assertEquals(c.installed, { noNewPrivs: 0, seccomp: 0 }, "no_new_privs and the TSYNC filter installed");
  assertEquals(c.ioUring.available, false, "probe().ioUring");
  assert(/EPERM/.test(c.ioUring.reason), `the reason names EPERM: ${c.ioUring.reason}`);
  assertEquals(c.ioUringRing.available, false);
  checkTransfer(c);
  assertEquals(c.backend, "msg_zerocopy", "the connection fell back to msg_zerocopy");
  assertEquals(c.stats.bytes.io_uring, 0);
  assertEquals(c.stats.bytes.copy + c.stats.bytes.msg_zerocopy, c.sent.length, "bytes per backend add up");
  const why = c.stats.downgradeReasons[0] ?? "";
  assert(why.startsWith("io_uring:") && why.includes("EPERM") && why.includes("using msg_zerocopy"), `downgradeReasons explains the fallback: ${why}`);
  assert(c.stats.downgrades >= 1);
  assertEquals(c.leasesRegistered, false, "leases are plain memory without a ring");
});

test("io_uring fallback: over a 256 KiB RLIMIT_MEMLOCK the lease pool is not registered (probe says why), leases are plain memory, big SEND_ZC get ENOMEM and go by copy, and every byte arrives", () => {
  const r = runUringChild("memlock");
  const c = r.report as (Transfer & ChildReport) | undefined;
  assert(r.status === 0 && c !== undefined, `the child ran to the end: ${childOutput(r)}`);
  assertEquals(c.lowered, { capget: 0, capset: 0, prlimit: 0 }, "CAP_IPC_LOCK dropped and the limit lowered");
  assertEquals(c.memlockBytes, 256 * 1024, "probe().memlockBytes");
  assertEquals(c.ioUring.available, true, "io_uring itself works");
  assertEquals(c.registeredBuffers.available, false, "probe().registeredBuffers");
  assert(/ENOMEM/.test(c.registeredBuffers.reason) && /RLIMIT_MEMLOCK/.test(c.registeredBuffers.reason), `it says why: ${c.registeredBuffers.reason}`);
  checkTransfer(c);
  assertEquals(c.backend, "io_uring", "still the io_uring backend");
  assertEquals(c.leasesRegistered, false, "leases fall back to plain memory");
  // Borrowed chunks go by plain send between chains; everything else through the ring.
  assertEquals(c.stats.bytes.copy + c.stats.bytes.io_uring, c.sent.length, "every byte sent once");
  assert(c.stats.bytes.msg_zerocopy === 0 && c.stats.bytes.io_uring > 0, `the ring carried the owned and staged chunks: ${JSON.stringify(c.stats.bytes)}`);
  assert(c.stats.noBufferFallbacks > 0, `unregistered SEND_ZC refused with ENOMEM and sent by copy: ${JSON.stringify(c.stats)}`);
});

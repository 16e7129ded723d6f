/**
 * `stats()` explains every byte a connection that can send zero-copy sent another way: each is
 * counted in `copiedBecause` under why (staged, borrowed, routed, downgraded, noBuffers), or is a
 * zero-copy send the kernel reported (`zeroCopiedBytes`, `copiedBytes`). On loopback with every
 * zero-copy backend, with leases, caller buffers and small chunks; in a private network namespace
 * whose net.core.optmem_max is too small for one zero-copy send; and without CAP_IPC_LOCK under a
 * 64 KiB RLIMIT_MEMLOCK. A copy-only connection counts nothing there. Each run is a child process
 * (send_stats_child.ts), so what one learns about the peer does not steer the next.
 */
import type { ConnectionStats } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { type ChildOptions, runChild } from "../reliability.ts";

const TOTAL = 8 << 20;
const ZERO_COPY_BACKENDS = ["msg_zerocopy", "io_uring", "auto"] as const;
const NO_BUFFERS_REASON = /ENOBUFS with no zero-copy send in flight/;

const sum = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((a, b) => a + b, 0);

/** Runs send_stats_child.ts; the stats of its connection, which delivered every byte. */
const send = async (backend: string, writes: string, limits: ChildOptions = {}): Promise<ConnectionStats> => {
  const r = await runChild(new URL("./send_stats_child.ts", import.meta.url), { args: [backend, writes], ...limits, timeoutMs: 60_000 });
  assertEquals(r.status, 0, `${backend}, ${writes}: the child delivered every byte: ${r.stdout}${r.stderr}`);
  const { stats } = r.report as { stats: ConnectionStats };
  assertEquals(sum(stats.bytes), TOTAL, `${backend}, ${writes}: bytes sent (${JSON.stringify(stats)})`);
  if (backend !== "copy") {
    assertEquals(
      stats.zeroCopiedBytes + stats.copiedBytes + sum(stats.copiedBecause),
      TOTAL,
      `${backend}, ${writes}: zero-copy sends notified plus bytes copied for a reason (${JSON.stringify(stats)})`,
    );
  }
  return stats;
};

for (const backend of ZERO_COPY_BACKENDS) {
  test(`send stats (${backend}): on loopback every byte is a notified zero-copy send or copied for a reason`, async () => {
    const leases = await send(backend, "leases");
    assertEquals(leases.copiedBecause.borrowed + leases.copiedBecause.staged, 0, "leases are neither borrowed nor staged");
    assert(leases.zeroCopiedBytes + leases.copiedBytes > 0, `some leases went zero-copy: ${JSON.stringify(leases)}`);
    // Loopback copies every zero-copy send: once the kernel says so, leases go by copy.
    assert(leases.copiedBecause.downgraded + leases.copiedBecause.routed > 0, `leases copied after the kernel's copy: ${JSON.stringify(leases)}`);
    assertEquals((await send(backend, "caller buffers")).copiedBecause.borrowed, TOTAL, "the caller's 256 KiB buffers are borrowed and copied");
    assertEquals((await send(backend, "small chunks")).copiedBecause.staged, TOTAL, "1 KiB chunks are staged and copied");
  });
}

test("send stats (copy): a copy-only connection counts no copy reasons", async () => {
  const stats = await send("copy", "leases");
  assertEquals(stats.bytes.copy, TOTAL, "bytes by copy");
  assertEquals(sum(stats.copiedBecause), 0, "no reasons");
});

/** Leases under a limit too small for one zero-copy send: the copies say ENOBUFS. */
const underLimit = async (backend: string, limits: ChildOptions): Promise<ConnectionStats> => {
  const stats = await send(backend, "leases", limits);
  assert(stats.noBufferFallbacks > 0, `ENOBUFS was met: ${JSON.stringify(stats)}`);
  assert(stats.downgradeReasons.some((r) => NO_BUFFERS_REASON.test(r)), `the reason names ENOBUFS: ${JSON.stringify(stats)}`);
  assertEquals(stats.zeroCopiedBytes + stats.copiedBytes, 0, "nothing went zero-copy");
  return stats;
};

for (const backend of ["msg_zerocopy", "auto"]) {
  test(`send stats (${backend}): with net.core.optmem_max too small for one zero-copy send, the copies say ENOBUFS`, async () => {
    const stats = await underLimit(backend, { netns: { sysctls: { "net/core/optmem_max": "512" } } });
    // One refused send, then the socket copies until the re-probe instead of failing a syscall a run.
    assert(stats.syscalls < 2 * (TOTAL / (256 << 10)), `about one syscall per write, not two: ${stats.syscalls}`);
  });
}

for (const backend of ZERO_COPY_BACKENDS) {
  test(`send stats (${backend}): without CAP_IPC_LOCK under a 64 KiB RLIMIT_MEMLOCK, the copies say why`, async () => {
    const stats = await underLimit(backend, { memlockBytes: 64 * 1024 });
    if (backend === "io_uring") {
      assert(stats.downgradeReasons.some((r) => /io_uring_setup failed: ENOMEM/.test(r)), `io_uring says why it is not used: ${JSON.stringify(stats)}`);
    }
  });
}

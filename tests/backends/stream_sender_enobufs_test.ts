/**
 * ENOBUFS from MSG_ZEROCOPY (docs/kernel.md, 'ENOBUFS limits') is a reason to fall back, never to lose or reorder
 * data. Each case runs stream_sender_enobufs_child.ts (same runtime) where the kernel refuses
 * zero-copy sends, and checks the receiver's hash and the ENOBUFS counter:
 * - option memory: a private network namespace (`unshare -n`, gone when the child exits) whose
 *   net.core.optmem_max the child lowers to 300, then 1000;
 * - RLIMIT_MEMLOCK: a child without CAP_IPC_LOCK (root skips the charge with it), limited to 64 KiB:
 *   as nobody when it can read the checkout, else as root with just that capability dropped.
 */
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionStats } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { currentNetns, describe, privateNetns, runChild, runtimeCommand } from "../child_process.ts";

interface Transfer {
  chunks: number;
  owned: number;
  sentLength: number;
  sentHash: number;
  receivedLength: number;
  receivedHash: number;
  stats: ConnectionStats;
}
interface RawSends {
  soZerocopy: number;
  zerocopyBig: number;
  copyBig: number;
  zerocopySmall: number;
}

const ENOBUFS = 105;
const MiB = 1 << 20;

const child = (mode: string, wrapper: string[], env: Record<string, string> = {}): Record<string, unknown> => {
  const r = runChild(runtimeCommand(import.meta.url, "stream_sender_enobufs_child", [mode]), { wrapper, env });
  assert(r.status === 0 && r.report !== undefined, `the ${mode} child ran to the end: ${describe(r)}`);
  return r.report;
};

/** Every byte arrived, in order, and each was counted under one backend. */
const assertIntact = (t: Transfer, what: string): void => {
  assertEquals(t.receivedLength, t.sentLength, `${what}: length`);
  assertEquals(t.receivedHash.toString(16), t.sentHash.toString(16), `${what}: running hash over every byte, in order`);
  assertEquals(t.stats.bytes.copy + t.stats.bytes.msg_zerocopy, t.sentLength, `${what}: every byte counted once`);
  assertEquals(t.stats.chunks, t.chunks, `${what}: chunks`);
  assertEquals(t.stats.copiedBytes + t.stats.zeroCopiedBytes, t.stats.bytes.msg_zerocopy, `${what}: every zero-copy send notified`);
};

test("stream_sender: ENOBUFS from a tiny net.core.optmem_max (private netns) falls back to copy; all data arrives in order", () => {
  const report = child("optmem", privateNetns(["ip link set lo up"]), { ZCIO_PARENT_NETNS: currentNetns() });
  const phases = report.phases as Record<string, Transfer & { optmemMax: number }>;

  const refused = phases.refused;
  assertEquals(refused.optmemMax, 300, "the namespace's optmem_max was lowered");
  assertIntact(refused, "optmem 300");
  assert(refused.owned > 50, `owned chunks offered for zero-copy: ${refused.owned}`);
  assert(refused.stats.noBufferFallbacks > 0, `ENOBUFS fallbacks: ${refused.stats.noBufferFallbacks}`);
  assertEquals(refused.stats.bytes.msg_zerocopy, 0, "with optmem 300 every zero-copy send was refused");
  assertEquals(refused.stats.notifications, 0, "so no notification came");

  const mixed = phases.mixed;
  assertEquals(mixed.optmemMax, 1000);
  assertIntact(mixed, "optmem 1000");
  assert(mixed.stats.noBufferFallbacks > 0, `ENOBUFS fallbacks: ${mixed.stats.noBufferFallbacks}`);
  assert(mixed.stats.bytes.msg_zerocopy > 0, "some zero-copy sends fit between the refused ones");
  assert(mixed.stats.notifications > 0, "and were notified");
});

/** uid and gid of the user the memlock child runs as when it can read the checkout: nobody. */
const NOBODY = 65534;

/**
 * How to run a child without CAP_IPC_LOCK. The pinned-page charge goes to the user, shared by all
 * of that user's processes, so the child runs as nobody (a user of its own here) if it can read the
 * checkout and runtime as nobody, with a scratch home for the runtime's caches; otherwise as root
 * with only CAP_IPC_LOCK dropped (root's charge is then shared with root processes that pin pages
 * without the capability, which is why nobody comes first).
 */
const withoutIpcLock = (run: (wrapper: string[], env: Record<string, string>) => void): void => {
  const home = mkdtempSync(join(tmpdir(), "zcio-memlock-"));
  try {
    chownSync(home, NOBODY, NOBODY);
    const env = {
      HOME: home,
      XDG_CACHE_HOME: join(home, "cache"),
      DENO_DIR: join(home, "deno"),
      BUN_INSTALL_CACHE_DIR: join(home, "bun"),
    };
    const asNobody = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all"];
    const check = runChild(runtimeCommand(import.meta.url, "stream_sender_enobufs_child", ["can-run"]), {
      wrapper: asNobody,
      env,
      timeoutMs: 60_000,
    });
    if (check.status === 0 && check.report?.ok === true) return run(asNobody, env);
    run(["setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock"], {});
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
};

test("stream_sender: ENOBUFS from RLIMIT_MEMLOCK (64 KiB, no CAP_IPC_LOCK) falls back to copy; 1 MiB chunks all arrive in order", () => {
  const limit = ["prlimit", "--memlock=65536:65536"];
  let report: Record<string, unknown> = {};
  withoutIpcLock((wrapper, env) => (report = child("memlock", [...wrapper, ...limit], env)));
  assertEquals(report.ipcLock, false, `the child runs without CAP_IPC_LOCK (uid ${report.uid})`);
  assertEquals(report.memlockBytes, 65536, "probe() sees the 64 KiB limit");
  const raw = report.raw as RawSends;
  assertEquals(raw.soZerocopy, 0, "SO_ZEROCOPY set");
  assertEquals(raw.zerocopyBig, -ENOBUFS, "a raw 1 MiB MSG_ZEROCOPY send fails with ENOBUFS");
  assert(raw.copyBig > 0, `the same send without MSG_ZEROCOPY works: ${raw.copyBig}`);
  assertEquals(raw.zerocopySmall, 16384, "a 16 KiB MSG_ZEROCOPY send fits the limit");

  const t = report.transfer as Transfer;
  assertIntact(t, "memlock 64 KiB");
  assert(t.sentLength >= 64 * MiB && t.owned > 30, `1 MiB chunks, most owned: ${t.chunks} chunks, ${t.owned} owned`);
  assert(t.stats.noBufferFallbacks > 0, `ENOBUFS fallbacks: ${t.stats.noBufferFallbacks}`);
  // Only the tail of a partly sent chunk (a few pages) can fit the limit; the 1 MiB sends cannot.
  assert(t.stats.bytes.copy > 0.9 * t.sentLength, `the 1 MiB sends went by copy: ${JSON.stringify(t.stats.bytes)}`);

  // Control: the same limit and workload with CAP_IPC_LOCK kept, where nothing is charged: the raw
  // 1 MiB MSG_ZEROCOPY send works and zcio meets no ENOBUFS, so the refusals above were the memlock.
  const control = child("memlock-control", limit);
  assertEquals(control.ipcLock, true, "the control keeps CAP_IPC_LOCK");
  const zerocopyBig = (control.raw as RawSends).zerocopyBig;
  assert(zerocopyBig > 0, `with CAP_IPC_LOCK the 1 MiB MSG_ZEROCOPY send is not charged: ${zerocopyBig}`);
  const c = control.transfer as Transfer;
  assertIntact(c, "control");
  assertEquals(c.stats.noBufferFallbacks, 0, "no ENOBUFS with CAP_IPC_LOCK");
  assert(c.stats.bytes.msg_zerocopy > 0, "and zero-copy sends went through");
});

/**
 * Not a test file: stream_sender_enobufs_test.ts runs this where MSG_ZEROCOPY sends fail with ENOBUFS
 * (docs/kernel.md, 'ENOBUFS limits') and asserts on the JSON line it prints. Modes:
 *
 * - `optmem`: in a private network namespace of its own (lo up), the child sets that namespace's
 *   net.core.optmem_max (per namespace since 6.8) to 300, where every zero-copy send is refused,
 *   then to 1000, where only about one tracking object fits at a time, and each time sends seeded
 *   chunks over 127.0.0.1 TCP with backend msg_zerocopy to a listener in the same process.
 * - `memlock`: run without CAP_IPC_LOCK (as another user, or as root without that capability) and
 *   with RLIMIT_MEMLOCK at 64 KiB, so each zero-copy send charges `(len >> 12) + 2` pages to the
 *   user's pinned pages (shared by all of that user's processes) against that limit. It first
 *   shows with raw sockets that a 1 MiB MSG_ZEROCOPY send fails with ENOBUFS (and works without
 *   the flag) while a 16 KiB one fits, then sends 1 MiB chunks through zcio over 127.0.0.1 TCP.
 *   `memlock-control` does the same in a run that keeps CAP_IPC_LOCK, where nothing is charged.
 * - `can-run`: loads everything and says so, for the parent to learn whether a user can run it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { connectedPair, drainFd, rawTcpPair, RunningHash, sleep, sys, XorShift } from "../helpers.ts";
import { assertPrivateNetns } from "../child_process.ts";
import { probe } from "../../mod.ts";
import { ENOBUFS, MSG_DONTWAIT, MSG_ZEROCOPY, SO_ZEROCOPY, SOL_SOCKET } from "../../ffi/constants.ts";

const KiB = 1024, MiB = 1 << 20;
const g = globalThis as { Deno?: { args: string[] } };
const mode = g.Deno !== undefined ? g.Deno.args[0] : process.argv[2];

/** A field of /proc/self/status. */
const status = (field: string): string =>
  readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith(`${field}:`))!.slice(field.length + 1).trim();

/** Whether this process has CAP_IPC_LOCK (bit 14) in its effective set. */
const hasIpcLock = (): boolean => (BigInt(`0x${status("CapEff")}`) & (1n << 14n)) !== 0n;

/**
 * Sends seeded chunks totalling `total` bytes through a msg_zerocopy connection to a listener on
 * 127.0.0.1 in this process, which hashes every byte; `size()` picks each chunk's size. Four in
 * five chunks are whole buffers of their own (owned from 16 KiB up), one in five a view of part of
 * a reused buffer (borrowed, or staged when small).
 */
const transfer = async (
  total: number,
  seed: number,
  size: (rng: XorShift) => number,
  tuning: Record<string, unknown> = {},
) => {
  const pair = await connectedPair("127.0.0.1", { backend: "msg_zerocopy", transferBuffers: true, ...tuning });
  const received = new RunningHash();
  const reading = (async () => {
    for await (const bytes of pair.server.readable) received.update(bytes);
  })();
  const writer = pair.client.writable.getWriter();
  const rng = new XorShift(seed), content = new XorShift(seed * 7);
  const scratch = new Uint8Array(2 * MiB);
  const sent = new RunningHash();
  let chunks = 0, owned = 0;
  while (sent.length < total) {
    const n = size(rng);
    const chunk = rng.below(5) === 0 ? scratch.subarray(4096, 4096 + n) : new Uint8Array(n);
    if (chunk.buffer !== scratch.buffer && n >= 16 * KiB) owned++;
    content.fill(chunk);
    sent.update(chunk);
    await writer.write(chunk);
    chunks++;
  }
  await writer.close();
  await reading;
  const stats = pair.client.stats();
  await pair.close();
  return {
    chunks,
    owned,
    sentLength: sent.length,
    sentHash: sent.value,
    receivedLength: received.length,
    receivedHash: received.value,
    stats,
  };
};

/** Buffers handed to the kernel by raw zero-copy sends, kept alive until the process exits. */
const keep: Uint8Array[] = [];

/** A raw TCP pair over 127.0.0.1 with SO_ZEROCOPY on the sender: what send() returns for each case. */
const rawSends = async () => {
  const { a, b } = rawTcpPair();
  const on = sys.setsockopt(a, SOL_SOCKET, SO_ZEROCOPY, new Uint8Array(new Int32Array([1]).buffer));
  const big = new Uint8Array(MiB), small = new Uint8Array(16 * KiB);
  const zerocopyBig = sys.send(a, big, MSG_ZEROCOPY | MSG_DONTWAIT);
  drainFd(b);
  const copyBig = sys.send(a, big, MSG_DONTWAIT);
  drainFd(b);
  // The limit is per user: pages another process of this user has just pinned (an io_uring ring
  // being torn down, which takes ~100 ms) count too, so a refused small send is tried again.
  let zerocopySmall = -ENOBUFS;
  for (let tries = 0; zerocopySmall === -ENOBUFS && tries < 30; tries++) {
    if (tries > 0) await sleep(100);
    zerocopySmall = sys.send(a, small, MSG_ZEROCOPY | MSG_DONTWAIT);
  }
  drainFd(b);
  sys.close(a);
  sys.close(b);
  // The kernel may read a zero-copy send's buffer until its notification: keep them referenced.
  keep.push(big, small);
  return { soZerocopy: on, zerocopyBig, copyBig, zerocopySmall };
};

if (mode === "can-run") {
  // The parent checks that this runtime can load everything as the user it means to run as.
  console.log(JSON.stringify({ mode, ok: true, uid: status("Uid").split(/\s+/)[0] }));
} else if (mode === "optmem") {
  assertPrivateNetns();
  const sizes = (rng: XorShift) => rng.below(4) === 0 ? rng.logUniform(1, 16 * KiB - 1) : rng.logUniform(16 * KiB, MiB);
  const phases: Record<string, unknown> = {};
  for (
    const [name, optmem, seed, tuning] of [
      ["refused", 300, 0x0e1, {}],
      ["mixed", 1000, 0x0e2, { reprobeBytes: 0 }],
    ] as const
  ) {
    writeFileSync("/proc/sys/net/core/optmem_max", String(optmem));
    const optmemMax = Number(readFileSync("/proc/sys/net/core/optmem_max", "utf8"));
    phases[name] = { optmemMax, ...(await transfer(48 * MiB, seed, sizes, tuning)) };
  }
  console.log(JSON.stringify({ mode, phases }));
} else if (mode === "memlock" || mode === "memlock-control") {
  // Before probe(): its io_uring ring pins pages against this user's limit until it is torn down.
  const raw = await rawSends();
  const p = await probe();
  const transferred = await transfer(64 * MiB, 0x3e3, () => MiB);
  const uid = status("Uid").split(/\s+/)[0];
  console.log(JSON.stringify({ mode, uid, ipcLock: hasIpcLock(), memlockBytes: p.memlockBytes, raw, transfer: transferred }));
} else {
  throw new Error(`unknown mode ${mode}`);
}

/**
 * The io_uring backend on a UDP blackhole, where the kernel really sends without copying: 127.0.0.1
 * in a private network namespace whose loopback qdisc drops everything (docs/kernel.md, 'Zero-copy sinks'). Only a
 * process inside that namespace can send there, so this runs `io_uring_blackhole_worker.ts` (same
 * runtime) under `unshare -n`; that needs root, and without it the table says so and is empty.
 *
 * Modes at 1, 4, 16 and 64 KiB (65507-byte datagrams for 64 KiB: the largest UDP payload, under
 * lo's 65536 MTU so never fragmented), side by side with the C figures of docs/kernel.md, 'C reference figures':
 * - `copy`: zcio's copy backend (sendmmsg), one buffer reused;
 * - `io_uring SEND`: every chunk staged (copied into zcio's memory at write()) and sent by SEND
 *   through the ring, many requests per chain: the copy path through the ring;
 * - `io_uring SEND, borrowed`: views of part of a buffer (never owned), default tuning: staged
 *   below 16 KiB, from 16 KiB sent by SEND from the caller's memory one write at a time;
 * - `io_uring SEND_ZC`: owned fresh buffers (allocated and touched before the timed run);
 * - `io_uring SEND_ZC + lease`: `await conn.lease(size)` per write, SEND_ZC with FIXED_BUF from the
 *   registered 8 MiB pool.
 * Each run includes connect and close (which waits for every notification).
 *
 * @example
 * ```ts
 * console.log(await ioUringSinks(true));   // the markdown table
 * ```
 *
 * @module
 */
import { blackholeUnavailable, runInBlackhole } from "./blackhole_netns.ts";
import { URING_MODES, type UringMode, uringRuns, type UringSizeResult } from "./io_uring_blackhole_worker.ts";

const KiB = 1024;
const SIZES = [1 * KiB, 4 * KiB, 16 * KiB, 65507];

/** docs/kernel.md, 'C reference figures': UDP blackhole, MB/s (median of 3), C programs on this class of machine. */
const C_REFERENCE: Record<string, readonly number[]> = {
  "sendmsg copy": [579, 2378, 10195, 15534],
  "io_uring SEND (copy), 8 in flight": [841, 3951, 13817, 18334],
  "io_uring SEND_ZC, plain memory": [712, 3611, 10206, 37380],
  "io_uring SEND_ZC, registered buffer": [843, 4395, 14545, 63967],
};
/** Which C figure each mode is held against. */
const C_OF: Record<UringMode, string> = {
  "copy": "sendmsg copy",
  "io_uring SEND": "io_uring SEND (copy), 8 in flight",
  "io_uring SEND, borrowed": "io_uring SEND (copy), 8 in flight",
  "io_uring SEND_ZC": "io_uring SEND_ZC, plain memory",
  "io_uring SEND_ZC + lease": "io_uring SEND_ZC, registered buffer",
};

/**
 * Runs the io_uring blackhole benchmark and returns its markdown table (or a line saying why it
 * was skipped). `quick`: 5 runs of 64 MiB per cell instead of 11 of 256 MiB.
 */
export const ioUringSinks = async (quick: boolean, onProgress: (what: string) => void = () => {}): Promise<string> => {
  const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
  const title = `io_uring on a UDP blackhole, ${runtime}, MB/s (median of ${uringRuns(quick)} runs of ${quick ? 64 : 256} MiB ` +
    "per cell, 1 KiB a quarter of that; each run connects, writes, closes)";
  const results = await runWorker(quick, onProgress);
  if (typeof results === "string") return `${title}\n\nskipped: ${results}`;

  const lines = [title, "", `| chunk | ${URING_MODES.join(" | ")} | lease / C registered | lease / zcio copy |`];
  lines.push(`|---|${URING_MODES.map(() => "---|").join("")}---|---|`);
  results.forEach((r, i) => {
    const cells = URING_MODES.map((mode) => {
      const c = C_REFERENCE[C_OF[mode]][i];
      return `${r.modes[mode].mbps.toFixed(0)} (${(r.modes[mode].mbps / c).toFixed(2)}x C)`;
    });
    const lease = r.modes["io_uring SEND_ZC + lease"].mbps;
    lines.push(
      `| ${label(r.size)} | ${cells.join(" | ")} | ${(lease / C_REFERENCE[C_OF["io_uring SEND_ZC + lease"]][i]).toFixed(2)}x | ` +
        `${(lease / r.modes.copy.mbps).toFixed(2)}x |`,
    );
  });
  lines.push(
    "",
    "Where the time goes: µs per datagram (median run), sender CPU (user + system) in ms per GB, and requests per",
    "io_uring_enter'd chain (chunks / chains; the copy backend: chunks per sendmmsg). Ring floor: the leased mode's",
    "SEND_ZC FIXED_BUF requests written straight into a ring from JS, 64 per enter (kernel + FFI, no zcio layers);",
    "C: the registered-buffer figure of docs/kernel.md (C reference) as µs per datagram.",
    "",
    `| chunk | ${URING_MODES.map((m) => `${m}: µs / CPU / per call`).join(" | ")} | ring floor µs | C µs | lease − floor µs |`,
    `|---|${URING_MODES.map(() => "---|").join("")}---|---|---|`,
  );
  results.forEach((r, i) => {
    const cells = URING_MODES.map((mode) => {
      const m = r.modes[mode];
      return `${m.microsPerChunk.toFixed(2)} / ${m.cpuMicrosPerMB.toFixed(0)} / ${(m.stats.chunks / Math.max(1, m.stats.syscalls)).toFixed(0)}`;
    });
    const c = r.size / C_REFERENCE[C_OF["io_uring SEND_ZC + lease"]][i];
    const lease = r.modes["io_uring SEND_ZC + lease"].microsPerChunk;
    lines.push(
      `| ${label(r.size)} | ${cells.join(" | ")} | ${r.ringFloorMicros.toFixed(2)} | ${c.toFixed(2)} | ${(lease - r.ringFloorMicros).toFixed(2)} |`,
    );
  });
  const zc = results.map((r) => {
    const s = r.modes["io_uring SEND_ZC + lease"].stats;
    return s.bytes.io_uring === 0 ? "0%" : `${((100 * s.zeroCopiedBytes) / s.bytes.io_uring).toFixed(0)}%`;
  });
  lines.push(
    "",
    `Kernel reports (SEND_ZC + lease, per size): ${zc.join(" / ")} of the bytes notified as zero-copied.`,
    "C reference (docs/kernel.md, MB/s at 1/4/16/64 KiB): " +
      Object.entries(C_REFERENCE).map(([k, v]) => `${k} ${v.join("/")}`).join("; ") + ".",
  );
  return lines.join("\n");
};

const label = (size: number): string => (size === 65507 ? "64 KiB (65507 B)" : `${size / KiB} KiB`);

/** Runs the worker in a private netns; resolves with its results, or why it did not run. */
const runWorker = (quick: boolean, onProgress: (what: string) => void): Promise<UringSizeResult[] | string> => {
  if (blackholeUnavailable() === undefined) onProgress("io_uring blackhole: starting the worker in a private network namespace");
  return runInBlackhole<UringSizeResult[]>(
    "io_uring_blackhole_worker",
    [...(quick ? ["--quick"] : []), ...SIZES.map(String)],
    onProgress,
    "[io_uring blackhole",
    { env: { ZCIO_URING_BENCH_WORKER: "1" } },
  );
};

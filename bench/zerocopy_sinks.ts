/**
 * copy against msg_zerocopy at 1, 4, 16 and 64 KiB chunks on two sinks, side by side:
 * - a UDP blackhole, where the kernel really zero-copies: 127.0.0.1 in a private network namespace
 *   whose loopback qdisc drops everything. Only a process inside that namespace can send there, so
 *   this runs `blackhole_worker.ts` (same runtime) under `unshare -n`; it needs root, and without it
 *   the sink is skipped with the reason. A UDP datagram holds at most 65507 bytes, so the 64 KiB
 *   column sends 65507-byte datagrams there (under lo's 65536 MTU: never fragmented).
 * - loopback TCP into the sink process, where the kernel copies every zero-copy send after all and
 *   says so; msg_zerocopy then downgrades to copy and re-probes every 64 MiB.
 * See `zerocopy_runs.ts` for what each mode does with its buffers.
 *
 * @module
 */
import { blackholeUnavailable, runInBlackhole } from "./blackhole_netns.ts";
import { startSink } from "./start_sink.ts";
import { type Mode, MODES, runs, runZerocopyModes, type SizeResult } from "./zerocopy_runs.ts";

const KiB = 1024;
const sizes = [1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB];
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65507;

/** Runs both sinks and returns the markdown table (and notes) to print. */
export const zerocopySinks = async (quick: boolean, onProgress: (what: string) => void): Promise<string> => {
  const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
  const blackhole = await runBlackhole(quick, onProgress);
  const sink = await startSink();
  let tcp: SizeResult[];
  try {
    tcp = await runZerocopyModes({ transport: "tcp", port: sink.port }, sizes, quick, onProgress);
  } finally {
    sink.stop();
  }

  const lines = [
    `copy vs msg_zerocopy, ${runtime}, MB/s (median of ${runs(quick)} runs of ${quick ? 64 : 256} MiB per cell; ` +
    `1 KiB runs a quarter of that); sender CPU (user + system) in ms per GB, mean of the runs`,
    "",
    "| sink | chunk | copy | msg_zerocopy | zc / copy | msg_zerocopy + lease | lease / copy | CPU copy / zc / lease | kernel reported |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const row = (sink: string, r: SizeResult) => {
    const m = (mode: Mode) => r.modes[mode];
    const copy = m("copy").mbps;
    const cpu = MODES.map((mode) => m(mode).cpuMicrosPerMB.toFixed(0)).join(" / ");
    const label = r.size === MAX_DATAGRAM ? "64 KiB (65507 B)" : `${r.size / KiB} KiB`;
    lines.push(
      `| ${sink} | ${label} | ${copy.toFixed(0)} | ${m("msg_zerocopy").mbps.toFixed(0)} | ` +
        `${(m("msg_zerocopy").mbps / copy).toFixed(2)}x | ${m("msg_zerocopy + lease").mbps.toFixed(0)} | ` +
        `${(m("msg_zerocopy + lease").mbps / copy).toFixed(2)}x | ${cpu} | ${reported(m("msg_zerocopy").stats)} |`,
    );
  };
  if (typeof blackhole === "string") lines.push(`| UDP blackhole | — | skipped: ${blackhole} | | | | | | |`);
  else for (const r of blackhole) row("UDP blackhole", r);
  for (const r of tcp) row("loopback TCP", r);
  lines.push(
    "",
    "copy: default tuning (chunks under 16 KiB staged and gathered, larger ones sent from the caller's buffer), one buffer reused.",
    "msg_zerocopy: stageBelow 1 KiB so every chunk is owned and sent with MSG_ZEROCOPY; a fresh whole buffer per write from a",
    "pool allocated and touched before the timed run (write() transfers it, so no buffer is written twice; the transfer is timed).",
    "msg_zerocopy + lease: the same with `await conn.lease(size)` per write inside the timed run (a fresh zero-filled buffer each time).",
    "Every run includes connect and close; msg_zerocopy's close waits for every notification. 'kernel reported': share of",
    "msg_zerocopy bytes the notifications called zero-copied (the rest COPIED), downgrades, ENOBUFS fallbacks (last run).",
    "C reference (docs/kernel.md, UDP blackhole, MB/s at 1/4/16/64 KiB): sendmsg copy 579/2378/10195/15534;",
    "MSG_ZEROCOPY (errqueue every 32 sends) 429/1850/7631/18935.",
  );
  return lines.join("\n");
};

/** What the notifications of the last msg_zerocopy run said. */
const reported = (s: SizeResult["modes"]["copy"]["stats"]): string => {
  const zc = s.bytes.msg_zerocopy;
  const share = zc === 0 ? "no zero-copy sends" : `${((100 * s.zeroCopiedBytes) / zc).toFixed(0)}% zero-copied`;
  return `${share}, ${s.downgrades} downgrades, ${s.noBufferFallbacks} ENOBUFS`;
};

/** Runs the blackhole worker in a private netns; resolves with its results or why it was skipped. */
const runBlackhole = (quick: boolean, onProgress: (what: string) => void): Promise<SizeResult[] | string> => {
  if (blackholeUnavailable() === undefined) onProgress("UDP blackhole: starting the worker in a private network namespace");
  const udpSizes = sizes.map((s) => Math.min(s, MAX_DATAGRAM));
  return runInBlackhole<SizeResult[]>(
    "blackhole_worker",
    [...(quick ? ["--quick"] : []), ...udpSizes.map(String)],
    onProgress,
    "[blackhole",
  );
};

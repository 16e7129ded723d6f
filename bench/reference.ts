/**
 * The reference bench (`npm run bench -- --reference`): zcio against the runtime's own socket and
 * against small C senders, side by side and interleaved into the same sink, with the ratios the
 * project's aims name. Every writer reuses one buffer (or takes leases) and awaits each write.
 *
 * - Loopback TCP into the sink process (`sink_server.ts`) at 1 KiB, 16 KiB, 64 KiB, 256 KiB and
 *   1 MiB: zcio's default, each backend, the runtime's socket, and a C loop of blocking `send()`.
 * - The UDP blackhole (`blackhole_netns.ts`, needs root) with 65000-byte datagrams: the same zcio
 *   senders and runtime socket, and C `sendmsg`, `sendmsg(MSG_ZEROCOPY)`, io_uring SEND, SEND_ZC and
 *   SEND_ZC from a registered buffer (`reference_blackhole_worker.ts`).
 *
 * Who runs is in `reference_lineup.ts`, the C senders in `reference/` (built at start,
 * `reference_senders.ts`), the rounds in `reference_rounds.ts`, the table and aims in
 * `reference_report.ts`. `--rounds=N` sets the timed rounds per size (default: two cycles of the
 * orders, 12 rounds over TCP and 20 over UDP when every sender runs).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { blackholeUnavailable, runInBlackhole } from "./blackhole_netns.ts";
import { referenceLineup } from "./reference_lineup.ts";
import { referenceReport, type ReferenceResult, type SinkResult } from "./reference_report.ts";
import { runRounds } from "./reference_rounds.ts";
import { buildCSenders } from "./reference_senders.ts";
import { thisRuntime } from "./runtime_calibration.ts";
import { startSink } from "./start_sink.ts";

const KiB = 1024, MiB = 1 << 20;
const TCP_SIZES = [1 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB];
/** Bytes per TCP run: 128 MiB, 32 MiB below 4 KiB (where every sender is slowest). */
const tcpBytesPerRun = (size: number) => (size < 4 * KiB ? 32 : 128) * MiB;

/** The repository root (the bench runs from bench/ as source, or from dist/bench/ compiled). */
const root = fileURLToPath(new URL(import.meta.url.endsWith(".js") ? "../../" : "../", import.meta.url));

/** Runs both sinks and returns the report; `args` are the bench's arguments. */
export const referenceBench = async (args: readonly string[], onProgress: (line: string) => void): Promise<string> => {
  const roundsArg = args.find((a) => a.startsWith("--rounds="));
  const rounds = roundsArg === undefined ? undefined : Number(roundsArg.slice("--rounds=".length));
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) throw new Error(`${roundsArg}: the rounds are a whole number above 0`);
  const { runtime, version } = thisRuntime();
  const title = `zcio reference bench: ${runtime} ${version}, ${commit()}, load average ${loadavg()[0].toFixed(2)} at start`;
  onProgress(`${title}; building the C senders`);
  const { binaries, remove } = buildCSenders();
  for (const [program, built] of Object.entries(binaries)) {
    if ("skipped" in built) onProgress(`C ${program}: left out, ${built.skipped}`);
  }
  try {
    const sink = await startSink();
    let tcp: SinkResult;
    try {
      const { senders, skipped } = referenceLineup({ transport: "tcp", port: sink.port }, binaries);
      const rows = await runRounds(senders, { sizes: TCP_SIZES, bytesPerRun: tcpBytesPerRun, rounds }, (line) => {
        onProgress(`loopback TCP ${line}`);
      });
      tcp = { rows, skipped, bytesPerRun: "128 MiB (32 MiB at 1 KiB)", placement: sink.placement };
    } finally {
      sink.stop();
    }
    if (blackholeUnavailable() === undefined) onProgress("UDP blackhole: starting the worker in a private network namespace");
    const udp = await runInBlackhole<SinkResult>(
      "reference_blackhole_worker",
      [`--binaries=${JSON.stringify(binaries)}`, ...(rounds === undefined ? [] : [`--rounds=${rounds}`])],
      (line) => onProgress(line.replace(/^\[reference udp\] /, "UDP blackhole ")),
      "[reference udp]",
      { denoFlags: ["--unstable-net"] },
    );
    const result: ReferenceResult = { title, sinks: { tcp, udp } };
    return referenceReport(result);
  } finally {
    remove();
  }
};

/** The checkout's commit, and whether it has changes on top. */
const commit = (): string => {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" });
  if (head.status !== 0) return "commit unknown";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).stdout.trim();
  return `commit ${head.stdout.trim()}${dirty === "" ? "" : " with uncommitted changes"}`;
};

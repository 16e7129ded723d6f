/**
 * The calibration's markdown table: per sink, one row per chunk size and runtime, MB/s of the
 * runtime's own socket and of every zcio backend, each with its ratio to the best single backend
 * (copy, msg_zerocopy, io_uring) of that row: the one with the highest median, in bold.
 *
 * @module
 */
import { type Mode, PLANS, UDP_MAX } from "./calibration_plan.ts";
import { type Cell, SENDERS } from "./calibration_runs.ts";
import { label } from "./size_label.ts";
import type { RuntimeResult } from "./runtime_calibration.ts";
import { SINK_TITLES, SINKS } from "./sinks.ts";

const HEADINGS: Record<string, string> = {
  runtime: "runtime socket",
  copy: "copy",
  msg_zerocopy: "msg_zerocopy",
  io_uring: "io_uring",
  auto: "auto",
};

/** The single backend with the highest median at `size` in `cells`. */
const bestBackend = (cells: readonly Cell[], size: number): Cell =>
  cells.filter((c) => c.size === size && c.sender !== "runtime" && c.sender !== "auto")
    .reduce((a, b) => (b.mbps > a.mbps ? b : a));

/** A count that may differ between the sinks. */
const perSink = (tcp: number, udp: number): string => (tcp === udp ? `${tcp}` : `${tcp} (loopback TCP) or ${udp} (UDP)`);

export const resultsTable = (results: readonly RuntimeResult[], mode: Mode): string => {
  const plan = PLANS[mode];
  const lines: string[] = [
    `MB/s (10^6 bytes/s), median of ${perSink(plan.tcp.rounds, plan.udp.rounds)} runs per cell of zcio's backends and ` +
    `${perSink(plan.tcp.runtimeRuns, plan.udp.runtimeRuns)} of the runtime's socket, ` +
    "after warm-up runs: the runtime's socket first, then zcio's backends in interleaved rounds, with more rounds " +
    "at a size whose acceptance check failed (the checks give each count; every run is in bench/out/results.json). " +
    "In brackets, the ratio to the best single backend of the row (in bold). The acceptance check compares every run " +
    "of auto with every run of each backend instead, so its ratio can differ from the table's.",
    "",
  ];
  for (const sink of SINKS) {
    lines.push(`### ${SINK_TITLES[sink]}`, "");
    if (sink === "udp") {
      lines.push(
        `One chunk is one datagram: sizes stop at ${label(UDP_MAX)}, since 64 KiB does not fit in a UDP datagram (65507 bytes).`,
        "",
      );
    }
    const header = ["chunk", "runtime", ...SENDERS.map((s) => HEADINGS[s])];
    lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    const skipped = results.filter((r) => typeof r.sinks[sink] === "string");
    const measured = results.filter((r) => typeof r.sinks[sink] !== "string");
    const sizes = [...new Set(measured.flatMap((r) => (r.sinks[sink] as { size: number }[]).map((c) => c.size)))]
      .sort((a, b) => a - b);
    for (const size of sizes) {
      for (const r of measured) {
        const cells = r.sinks[sink] as Exclude<typeof r.sinks[typeof sink], string>;
        const best = bestBackend(cells, size);
        const row = SENDERS.map((sender) => {
          const c = cells.find((x) => x.size === size && x.sender === sender)!;
          const text = `${c.mbps.toFixed(0)} (${(c.mbps / best.mbps).toFixed(2)})`;
          return c === best ? `**${text}**` : text;
        });
        lines.push(`| ${label(size)} | ${r.runtime} | ${row.join(" | ")} |`);
      }
    }
    for (const r of skipped) lines.push(`| — | ${r.runtime} | skipped: ${r.sinks[sink]} |${" |".repeat(SENDERS.length - 1)}`);
    lines.push("");
  }
  lines.push(
    "Every sender writes the same thing: fresh whole buffers (each its own ArrayBuffer, never written twice), prepared " +
      "before the timed run; a run connects, writes them all, closes (msg_zerocopy and io_uring: once every " +
      "notification is in; auto, as copy: once every byte is in the kernel) and, " +
      "over TCP, waits for the sink's byte count. Loopback TCP goes into a sink process of the same runtime that " +
      "drops what arrives in the kernel (recv with MSG_TRUNC, woken per MiB), so the cells measure the senders; the UDP " +
      "blackhole is 127.0.0.1 in a private network namespace whose qdisc drops every packet, so the kernel really " +
      "zero-copies there. Over loopback the kernel copies every zero-copy send and says so: zero-copy backends " +
      "downgrade to copy after the first notification, as `auto` does after one probe.",
  );
  return lines.join("\n");
};

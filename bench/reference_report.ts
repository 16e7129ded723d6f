/**
 * The reference bench's report: per sink, a table of MB/s (each cell the median of its timed runs),
 * and the project's speed aims, each a ratio of two senders with its 90% interval
 * (`pairwise_ratio.ts`: the median of the ratios of every run of one to every run of the other, all
 * from the same interleaved rounds), marked met or missed against its bar.
 *
 * @module
 */
import { median } from "./median.ts";
import { pairwiseRatio } from "./pairwise_ratio.ts";
import type { Row, Skipped } from "./reference_rounds.ts";
import { label } from "./size_label.ts";
import { SINK_TITLES, type SinkName } from "./sinks.ts";

/** One sink's results: its rows and the senders left out, or why the sink did not run. */
export interface SinkResult {
  readonly rows: readonly Row[];
  readonly skipped: readonly Skipped[];
  /** What one run sends, as the title says it. */
  readonly bytesPerRun: string;
  /** Where the sink and the senders ran, for a sink process. */
  readonly placement?: string;
}

export interface ReferenceResult {
  /** Runtime, version, commit, load: the title's words. */
  readonly title: string;
  readonly sinks: Record<SinkName, SinkResult | string>;
}

interface Aim {
  readonly sink: SinkName;
  readonly size: number;
  readonly sender: string;
  readonly against: string;
  /** The ratio to reach; undefined for a ratio shown for comparison. */
  readonly bar?: number;
  readonly note?: string;
}

const KiB = 1024;

/** The aims at the sizes each sink ran. */
const aims = (tcpSizes: readonly number[], udpSizes: readonly number[]): Aim[] => [
  ...tcpSizes.flatMap((size): Aim[] => [
    { sink: "tcp", size, sender: "default", against: "runtime", bar: 1.0 },
    ...(size >= 64 * KiB ? [{ sink: "tcp", size, sender: "default", against: "c_send", bar: 0.9 } as const] : []),
  ]),
  ...udpSizes.flatMap((size): Aim[] => [
    { sink: "udp", size, sender: "copy", against: "c_sendmsg", bar: 0.9 },
    { sink: "udp", size, sender: "msg_zerocopy", against: "c_msg_zerocopy", bar: 0.9 },
    { sink: "udp", size, sender: "io_uring", against: "c_uring_send_zc_fixed", bar: 0.8, note: "1.0x is the real aim" },
    { sink: "udp", size, sender: "msg_zerocopy", against: "copy", bar: 2.0 },
    { sink: "udp", size, sender: "io_uring", against: "copy", bar: 2.0 },
    { sink: "udp", size, sender: "c_msg_zerocopy", against: "c_sendmsg", note: "C's own gain, for comparison" },
    { sink: "udp", size, sender: "c_uring_send_zc_fixed", against: "c_sendmsg", note: "C's own gain, for comparison" },
  ]),
];

/** The report, in markdown. */
export const referenceReport = (result: ReferenceResult): string => {
  const lines = [`## ${result.title}`, ""];
  const sizesOf = (sink: SinkName) => {
    const r = result.sinks[sink];
    return typeof r === "string" ? [] : [...new Set(r.rows.map((row) => row.size))];
  };
  for (const sink of ["tcp", "udp"] as const) {
    const r = result.sinks[sink];
    if (typeof r === "string") {
      lines.push(`${SINK_TITLES[sink]}: skipped, ${r}`, "");
      continue;
    }
    const sizes = sizesOf(sink);
    const runs = r.rows[0]?.samples.length ?? 0;
    lines.push(
      `${SINK_TITLES[sink]}, MB/s (median of ${runs} interleaved rounds of ${r.bytesPerRun} per run; each run connects, writes, closes${
        r.placement === undefined ? "" : `; ${r.placement}`
      }):`,
      "",
      `| sender | ${sizes.map(sizeLabel).join(" | ")} |`,
      `|---|${sizes.map(() => "---:|").join("")}`,
    );
    const senders = [...new Map(r.rows.map((row) => [row.id, row.label]))];
    for (const [id, name] of senders) {
      const cells = sizes.map((size) => {
        const row = r.rows.find((x) => x.id === id && x.size === size);
        return row === undefined ? "" : median(row.samples).toFixed(0);
      });
      lines.push(`| ${name} | ${cells.join(" | ")} |`);
    }
    for (const s of r.skipped) lines.push(`| ${s.label} | skipped: ${s.why} |`);
    // Over loopback the kernel copies every zero-copy send (docs/kernel.md, 'Loopback always copies'): only the blackhole's shares say anything.
    const zeroCopy = sink === "udp" ? r.rows.filter((row) => row.zeroCopied !== undefined) : [];
    if (zeroCopy.length > 0) {
      lines.push(
        "",
        `Zero-copied, as the kernel reported it (median run): ${
          zeroCopy.map((row) => `${row.label} ${sizeLabel(row.size)} ${(100 * row.zeroCopied!).toFixed(0)}%`).join("; ")
        }.`,
      );
    }
    lines.push("");
  }
  lines.push(
    "Aims (ratio: the median of the ratios of every run of one sender to every run of the other, with its 90% interval):",
    "",
    "| sink | size | senders | ratio | 90% interval | aim | |",
    "|---|---|---|---:|---|---|---|",
  );
  for (const aim of aims(sizesOf("tcp"), sizesOf("udp"))) {
    const r = result.sinks[aim.sink];
    if (typeof r === "string") continue;
    const find = (id: string) => r.rows.find((row) => row.id === id && row.size === aim.size);
    const name = (id: string) => find(id)?.label ?? r.skipped.find((s) => s.id === id)?.label ?? id;
    const a = find(aim.sender), b = find(aim.against);
    const what = `| ${SINK_TITLES[aim.sink]} | ${sizeLabel(aim.size)} | ${name(aim.sender)} / ${name(aim.against)} |`;
    const bar = aim.bar === undefined ? "" : `≥ ${aim.bar.toFixed(1)}x`;
    if (a === undefined || b === undefined) {
      const why = r.skipped.find((s) => s.id === aim.sender || s.id === aim.against)?.why ?? "no runs";
      lines.push(`${what} | | ${bar} | not measured: ${why} |`);
      continue;
    }
    const { ratio, interval } = pairwiseRatio(a.samples, b.samples);
    const verdict = aim.bar === undefined ? aim.note ?? "" : `${ratio >= aim.bar ? "met" : "**missed**"}${aim.note === undefined ? "" : ` (${aim.note})`}`;
    lines.push(`${what} ${ratio.toFixed(2)}x | ${interval[0].toFixed(2)}-${interval[1].toFixed(2)} | ${bar} | ${verdict} |`);
  }
  return lines.join("\n");
};

/** 65000-byte datagrams are the aims' "64 KiB". */
const sizeLabel = (size: number): string => (size === 65000 ? "64 KiB (65000 B)" : label(size));

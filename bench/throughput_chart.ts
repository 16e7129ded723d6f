/**
 * The calibration chart as a hand-written SVG: one panel per runtime (rows) and sink (columns),
 * throughput against chunk size on a log2 x axis, one line per sender, and each crossover of the
 * calibrated policy for that transport and runtime (where the backend its bands use first changes,
 * read back from the policy written: `calibrated_policy.ts`) marked with a dashed line and its size.
 * The y axis runs from 0 to a round value just above the fastest cell of the panel.
 *
 * @module
 */
import type { SizePolicyJson } from "../mod.ts";
import { type Crossover, policyCrossovers } from "./calibrated_policy.ts";
import { SENDERS } from "./calibration_runs.ts";
import { label } from "./size_label.ts";
import type { RuntimeResult } from "./runtime_calibration.ts";
import { SINK_TITLES, SINKS } from "./sinks.ts";

const COLORS: Record<string, string> = {
  runtime: "#888888",
  copy: "#1f77b4",
  msg_zerocopy: "#ff7f0e",
  io_uring: "#2ca02c",
  auto: "#000000",
};
const NAMES: Record<string, string> = { runtime: "runtime socket", copy: "copy", msg_zerocopy: "msg_zerocopy", io_uring: "io_uring", auto: "auto" };

const PANEL_W = 560, PANEL_H = 340;
const M = { left: 64, right: 16, top: 34, bottom: 44 };
const LEGEND_H = 36;

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (n: number): string => n.toFixed(1);

export const throughputChart = (
  results: readonly RuntimeResult[],
  title: string,
  policy: SizePolicyJson,
): string => {
  const rows = results.length, cols = SINKS.length;
  const width = cols * PANEL_W, height = LEGEND_H + rows * PANEL_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="15" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  // Legend.
  SENDERS.forEach((s, i) => {
    const x = 8 + i * 130, y = 28;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${COLORS[s]}" stroke-width="${s === "auto" ? 3 : 2}"${
        s === "runtime" ? ' stroke-dasharray="4 3"' : ""
      }/>`,
      `<text x="${x + 27}" y="${y + 4}">${esc(NAMES[s])}</text>`,
    );
  });
  out.push(
    `<line x1="${8 + SENDERS.length * 130}" y1="28" x2="${30 + SENDERS.length * 130}" y2="28" stroke="#d62728" stroke-width="1" stroke-dasharray="3 3"/>`,
    `<text x="${35 + SENDERS.length * 130}" y="32">crossover (the calibrated policy's choice changes)</text>`,
  );
  results.forEach((r, row) => {
    SINKS.forEach((sink, col) => {
      const x0 = col * PANEL_W, y0 = LEGEND_H + row * PANEL_H;
      out.push(panel(r, sink, x0, y0, policyCrossovers(policy, sink, r.runtime)));
    });
  });
  out.push("</svg>");
  return out.join("\n");
};

const panel = (
  r: RuntimeResult,
  sink: typeof SINKS[number],
  x0: number,
  y0: number,
  crossovers: readonly Crossover[],
): string => {
  const out: string[] = [];
  const heading = `${SINK_TITLES[sink]}, ${r.runtime} ${r.version}`;
  out.push(`<text x="${x0 + M.left}" y="${y0 + 20}" font-size="12" font-weight="bold">${esc(heading)}</text>`);
  const cells = r.sinks[sink];
  const pw = PANEL_W - M.left - M.right, ph = PANEL_H - M.top - M.bottom;
  const px = x0 + M.left, py = y0 + M.top;
  out.push(`<rect x="${px}" y="${py}" width="${pw}" height="${ph}" fill="none" stroke="#cccccc"/>`);
  if (typeof cells === "string") {
    out.push(`<text x="${px + 10}" y="${py + ph / 2}">${esc(`skipped: ${cells}`.slice(0, 90))}</text>`);
    return out.join("\n");
  }
  const sizes = [...new Set(cells.map((c) => c.size))].sort((a, b) => a - b);
  const lx0 = Math.log2(sizes[0]), lx1 = Math.log2(sizes[sizes.length - 1]);
  const xOf = (size: number) => px + ((Math.log2(size) - lx0) / Math.max(1, lx1 - lx0)) * pw;
  const { step, ticks } = yAxis(Math.max(...cells.map((c) => c.mbps)));
  const top = ticks * step;
  const yOf = (mbps: number) => py + ph - (mbps / top) * ph;
  // Grid and axes.
  for (let i = 0; i <= ticks; i++) {
    const v = step * i, y = yOf(v);
    out.push(
      `<line x1="${px}" y1="${f(y)}" x2="${px + pw}" y2="${f(y)}" stroke="#eeeeee"/>`,
      `<text x="${px - 6}" y="${f(y + 4)}" text-anchor="end">${v.toFixed(0)}</text>`,
    );
  }
  for (let l = Math.ceil(lx0); l <= lx1; l++) {
    const size = 2 ** l, x = xOf(size);
    out.push(
      `<line x1="${f(x)}" y1="${py + ph}" x2="${f(x)}" y2="${py + ph + 4}" stroke="#666666"/>`,
      `<text x="${f(x)}" y="${py + ph + 16}" text-anchor="middle">${esc(label(size).replace(" ", ""))}</text>`,
    );
  }
  if (!sizes.every((s) => Number.isInteger(Math.log2(s)))) {
    for (const s of sizes.filter((s) => !Number.isInteger(Math.log2(s)))) {
      out.push(`<text x="${f(xOf(s))}" y="${py + ph + 28}" text-anchor="middle" fill="#666666">${esc(label(s).replace(" ", ""))}</text>`);
    }
  }
  out.push(
    `<text x="${px + pw / 2}" y="${y0 + PANEL_H - 4}" text-anchor="middle">chunk size (log scale)</text>`,
    `<text x="${x0 + 14}" y="${py + ph / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${py + ph / 2})">MB/s</text>`,
  );
  // Crossovers inside the measured sizes.
  crossovers.filter((c) => c.size >= sizes[0] && c.size <= sizes[sizes.length - 1]).forEach((c, k) => {
    const x = xOf(c.size);
    // Labels step down so neighbours never overlap, and turn left near the right edge.
    const right = x > px + pw - 150;
    out.push(
      `<line x1="${f(x)}" y1="${py}" x2="${f(x)}" y2="${py + ph}" stroke="#d62728" stroke-width="1" stroke-dasharray="3 3"/>`,
      `<text x="${f(right ? x - 3 : x + 3)}" y="${py + 12 + 13 * k}" fill="#d62728"${right ? ' text-anchor="end"' : ""}>` +
        `${esc(`${c.from}→${c.to} ${label(c.size)}`)}</text>`,
    );
  });
  // One line per sender.
  for (const sender of SENDERS) {
    const points = sizes.map((s) => {
      const c = cells.find((x) => x.size === s && x.sender === sender)!;
      return [xOf(s), yOf(c.mbps)] as const;
    });
    const dash = sender === "runtime" ? ' stroke-dasharray="4 3"' : "";
    out.push(
      `<polyline fill="none" stroke="${COLORS[sender]}" stroke-width="${sender === "auto" ? 2.5 : 1.5}"${dash} points="${
        points.map(([x, y]) => `${f(x)},${f(y)}`).join(" ")
      }"/>`,
      ...points.map(([x, y]) => `<circle cx="${f(x)}" cy="${f(y)}" r="2.5" fill="${COLORS[sender]}"/>`),
    );
  }
  return out.join("\n");
};

/**
 * The y axis for data up to `max`: a round step (1, 2, 2.5 or 5 times a power of ten) and 4 to 8
 * of them, ending closest above `max` (with the fewest steps on a tie).
 */
const yAxis = (max: number): { step: number; ticks: number } => {
  let best = { step: 1, ticks: Math.max(1, Math.ceil(max)) };
  const p = 10 ** Math.floor(Math.log10(Math.max(max / 8, 1)));
  for (const step of [1, 2, 2.5, 5, 10, 20, 25, 50].map((m) => m * p)) {
    const ticks = Math.max(1, Math.ceil(max / step));
    if (ticks >= 4 && ticks <= 8 && (best.ticks > 8 || ticks * step <= best.ticks * best.step)) best = { step, ticks };
  }
  return best;
};

/**
 * How the calibration turns measurements into a policy (band thresholds and backend order) and
 * into the acceptance check, on made-up cells: nothing here sends or times anything.
 */
import { acceptanceChecks, ratioInterval } from "../../bench/acceptance.ts";
import { calibratedPolicy, MARGIN } from "../../bench/calibrated_policy.ts";
import type { Cell } from "../../bench/calibration_runs.ts";
import type { RuntimeResult } from "../../bench/runtime_calibration.ts";
import { SizePolicy } from "../../backends/size_policy.ts";
import { DEFAULT_STAGE_BELOW } from "../../streams/options.ts";
import { assert, assertEquals, test } from "../harness.ts";

const KiB = 1024;

/** Cells at each size from MB/s per sender; every run of a cell is its median (or `samples`). */
const cells = (table: Record<number, Record<string, number | number[]>>): Cell[] =>
  Object.entries(table).flatMap(([size, row]) =>
    Object.entries(row).map(([sender, v]) => {
      const samples = Array.isArray(v) ? v : [v, v, v];
      const sorted = [...samples].sort((a, b) => a - b);
      return { sender, size: Number(size), mbps: sorted[sorted.length >> 1], fastest: sorted[sorted.length - 1], samples } as Cell;
    })
  );

const result = (runtime: string, udp: Cell[] | string, tcp: Cell[] | string = "not measured"): RuntimeResult => ({
  runtime,
  version: "test",
  sinks: { tcp, udp },
});

test("calibrated_policy: a zero-copy band starts at the interpolated crossover, lists winners best first, and never below the staging size", () => {
  const udp = cells({
    // Below the staging size zero-copy "wins", but such chunks are staged and copied anyway.
    [4 * KiB]: { copy: 1000, msg_zerocopy: 2000, io_uring: 1500 },
    [16 * KiB]: { copy: 1000, msg_zerocopy: 900, io_uring: 800 },
    [32 * KiB]: { copy: 1000, msg_zerocopy: 1300, io_uring: 1400 },
    [60 * KiB]: { copy: 1000, msg_zerocopy: 1500, io_uring: 1200 },
  });
  const { policy, sinks } = calibratedPolicy([result("bun", udp)], "quick");
  const bun = sinks.find((s) => s.sink === "udp" && s.runtime === "bun")!;
  assertEquals(bun.winners.map((w) => w.use), [["copy"], ["copy"], ["io_uring", "msg_zerocopy", "copy"], ["msg_zerocopy", "io_uring", "copy"]]);
  // copy -> io_uring between 16 and 32 KiB: io_uring/copy goes 0.8 -> 1.4, log-linear in log2(size).
  const t = Math.log(0.8) / (Math.log(0.8) - Math.log(1.4));
  const crossing = Math.round(2 ** (14 + t));
  assertEquals(bun.crossovers[0], { from: "copy", to: "io_uring", size: crossing });
  assertEquals(bun.bands[0], { from: 0, use: ["copy"] });
  assertEquals(bun.bands[1], { from: Math.round(crossing / 1024) * 1024, use: ["io_uring", "msg_zerocopy", "copy"] });
  // Where the best zero-copy backend changes, so does the band: msg_zerocopy/io_uring goes 13/14 -> 15/12.
  const u = Math.log(13 / 14) / (Math.log(13 / 14) - Math.log(15 / 12));
  const second = Math.round(2 ** (15 + u * (Math.log2(60 * KiB) - 15)));
  assertEquals(bun.crossovers[1], { from: "io_uring", to: "msg_zerocopy", size: second });
  assertEquals(bun.bands[2], { from: Math.round(second / 1024) * 1024, use: ["msg_zerocopy", "io_uring", "copy"] });
  assert(bun.bands.every((b) => b.from === 0 || b.from >= DEFAULT_STAGE_BELOW), "no zero-copy band below the staging size");
  // The policy is one SizePolicy accepts, with Bun's bands as its own and TCP taking UDP's.
  const parsed = SizePolicy.parse(policy, "calibrated");
  assertEquals(parsed.bandFor("udp", 34 * KiB, "bun").use, ["io_uring", "msg_zerocopy", "copy"]);
  assertEquals(parsed.bandFor("tcp", 34 * KiB, "bun").use, ["io_uring", "msg_zerocopy", "copy"]);
  assertEquals(parsed.bandFor("udp", 16 * KiB, "bun").use, ["copy"]);
});

test("calibrated_policy: a zero-copy backend must beat copy by the margin to be chosen", () => {
  const just = 1000 * (1 + MARGIN);
  const udp = cells({
    [16 * KiB]: { copy: 1000, msg_zerocopy: just - 1, io_uring: 900 },
    [32 * KiB]: { copy: 1000, msg_zerocopy: just + 1, io_uring: 900 },
  });
  const bun = calibratedPolicy([result("bun", udp)], "quick").sinks.find((s) => s.runtime === "bun")!;
  assertEquals(bun.winners.map((w) => w.use), [["copy"], ["msg_zerocopy", "copy"]]);
});

test("calibrated_policy: two runtimes get shared bands from their geometric mean, and each its own", () => {
  const bun = cells({ [16 * KiB]: { copy: 1000, msg_zerocopy: 800, io_uring: 1200 }, [32 * KiB]: { copy: 1000, msg_zerocopy: 900, io_uring: 1500 } });
  const deno = cells({ [16 * KiB]: { copy: 1000, msg_zerocopy: 900, io_uring: 800 }, [32 * KiB]: { copy: 1000, msg_zerocopy: 1200, io_uring: 1100 } });
  const { policy, sinks } = calibratedPolicy([result("bun", bun), result("deno", deno)], "quick");
  const parsed = SizePolicy.parse(policy, "calibrated");
  assertEquals(parsed.bandFor("udp", 16 * KiB, "bun").use, ["io_uring", "copy"]);
  assertEquals(parsed.bandFor("udp", 16 * KiB, "deno").use, ["copy"]);
  assertEquals(parsed.bandFor("udp", 32 * KiB, "deno").use, ["msg_zerocopy", "io_uring", "copy"]);
  // Shared: io_uring at 16 KiB is sqrt(1.2 * 0.8) = 0.98x copy, so copy; at 32 KiB sqrt(1.5 * 1.1) =
  // 1.28x, and msg_zerocopy sqrt(0.9 * 1.2) = 1.04x, short of the margin.
  const all = sinks.find((s) => s.sink === "udp" && s.runtime === "all")!;
  assertEquals(all.winners[0].use, ["copy"]);
  assertEquals(all.winners[1].use, ["io_uring", "copy"]);
  assertEquals(parsed.bandFor("udp", 32 * KiB, "node").use, ["io_uring", "copy"], "a runtime not measured takes the shared bands");
});

test("calibrated_policy: without a UDP blackhole (not root), the built-in bands are kept", () => {
  const { policy } = calibratedPolicy([result("bun", "needs root")], "quick");
  const parsed = SizePolicy.parse(policy, "calibrated");
  for (const transport of ["tcp", "udp"] as const) assertEquals(parsed.bands(transport), SizePolicy.builtIn.bands(transport));
});

test("acceptance: auto passes at 0.95x the best single backend's median, and fails below", () => {
  const udp = cells({
    // Copy's median is 1000 (its 2000 is one run), msg_zerocopy's 900: copy is the best.
    [16 * KiB]: { copy: [1000, 2000, 1000], msg_zerocopy: [900, 1800, 900], io_uring: [500, 500, 500], auto: [950, 400, 960] },
    [32 * KiB]: { copy: [1000, 1000, 1000], msg_zerocopy: [1500, 1500, 1500], io_uring: [500, 500, 500], auto: [1400, 1500, 1380] },
  });
  const checks = acceptanceChecks([result("bun", udp)]);
  assertEquals(checks.length, 2);
  const [small, large] = checks;
  assertEquals(small.best, "copy");
  assertEquals(small.ratio, 0.95, "auto's median 950 over copy's 1000");
  assert(small.pass, "0.95x passes");
  assertEquals(large.best, "msg_zerocopy");
  assertEquals(large.ratio, 1400 / 1500);
  assert(!large.pass, "0.93x fails");
  assert(large.interval[0] <= large.ratio && large.ratio <= large.interval[1], `the interval ${large.interval} holds the ratio`);
});

test("acceptance: the bootstrap interval of a ratio of medians is reproducible, and narrows with more runs", () => {
  const a = Array.from({ length: 31 }, (_, i) => 1000 + ((i * 37) % 31) * 10);
  const b = Array.from({ length: 31 }, (_, i) => 1000 + ((i * 17) % 31) * 10);
  const [lo, hi] = ratioInterval(a, b);
  assertEquals(ratioInterval(a, b), [lo, hi], "seeded: the same runs give the same interval");
  assert(lo < 1 && hi > 1, `equal medians: the interval [${lo}, ${hi}] holds 1`);
  assert(lo >= 0.9 && hi <= 1.12, `and it is no wider than the runs' spread: [${lo}, ${hi}]`);
  const [lo3, hi3] = ratioInterval(a.slice(0, 5), b.slice(0, 5));
  assert(hi3 - lo3 > hi - lo, `5 runs give a wider interval than 31: [${lo3}, ${hi3}] vs [${lo}, ${hi}]`);
  assertEquals(ratioInterval([5, 5, 5], [2, 2, 2]), [2.5, 2.5], "no spread, no width");
});

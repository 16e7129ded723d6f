/**
 * How the calibration turns measurements into a policy (band thresholds and backend order), on
 * made-up cells: nothing here sends or times anything.
 */
import { calibratedPolicy, MARGIN, policyCrossovers } from "../../bench/calibrated_policy.ts";
import { SizePolicy } from "../../backends/size_policy.ts";
import { OWNED_STAGE_BELOW } from "../../scheduler/lease_pool.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { cells, result } from "./made_up_cells.ts";

const KiB = 1024;

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
  assertEquals(bun.crossovers[0], { from: "copy", to: "io_uring", size: Math.round(crossing / 1024) * 1024 });
  assertEquals(bun.bands[0], { from: 0, use: ["copy"] });
  assertEquals(bun.bands[1], { from: Math.round(crossing / 1024) * 1024, use: ["io_uring", "msg_zerocopy", "copy"] });
  // Where the best zero-copy backend changes, so does the band: msg_zerocopy/io_uring goes 13/14 -> 15/12.
  const u = Math.log(13 / 14) / (Math.log(13 / 14) - Math.log(15 / 12));
  const second = Math.round(2 ** (15 + u * (Math.log2(60 * KiB) - 15)));
  assertEquals(bun.crossovers[1], { from: "io_uring", to: "msg_zerocopy", size: Math.round(second / 1024) * 1024 });
  assertEquals(bun.bands[2], { from: Math.round(second / 1024) * 1024, use: ["msg_zerocopy", "io_uring", "copy"] });
  assert(bun.bands.every((b) => b.from === 0 || b.from >= OWNED_STAGE_BELOW), "no zero-copy band below the staging size");
  // The policy is one SizePolicy accepts, with Bun's bands as its own and TCP taking UDP's.
  const parsed = SizePolicy.parse(policy, "calibrated");
  assertEquals(parsed.bandFor("udp", 34 * KiB, "bun").use, ["io_uring", "msg_zerocopy", "copy"]);
  assertEquals(parsed.bandFor("tcp", 34 * KiB, "bun").use, ["io_uring", "msg_zerocopy", "copy"]);
  assertEquals(parsed.bandFor("udp", 16 * KiB, "bun").use, ["copy"]);
});

test("calibrated_policy: the crossovers are the written policy's band starts, for UDP and TCP alike", () => {
  // msg_zerocopy/copy goes 0.9 -> 1.3 between 4 and 16 KiB: the ratio crosses 1 near 6 KiB, but
  // chunks below the staging size go by copy, so the band (and the crossover) starts there.
  const udp = cells({ [4 * KiB]: { copy: 1000, msg_zerocopy: 900, io_uring: 800 }, [16 * KiB]: { copy: 1000, msg_zerocopy: 1300, io_uring: 800 } });
  const { policy, sinks } = calibratedPolicy([result("bun", udp)], "quick");
  const expected = [{ from: "copy", to: "msg_zerocopy", size: OWNED_STAGE_BELOW }];
  assertEquals(sinks.find((s) => s.runtime === "bun")!.crossovers, expected);
  assertEquals(policyCrossovers(policy, "udp", "bun"), expected);
  assertEquals(policyCrossovers(policy, "tcp", "bun"), expected, "TCP takes the blackhole's bands");
  assertEquals(policyCrossovers(policy, "udp", "node"), expected, "a runtime not measured takes the shared bands");
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

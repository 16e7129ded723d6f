/**
 * Side by side over loopback TCP: zcio's copy backend against the runtime's own socket, at 1 KiB,
 * 16 KiB and 256 KiB writes, into the same sink process. Each size runs the two senders back to
 * back, so the ratio compares like with like on a noisy machine.
 *
 * @module
 */
import { Bench } from "tinybench";
import { sendWithRuntimeSocket } from "./runtime_socket_sender.ts";
import { startSink } from "./start_sink.ts";
import { sendWithZcio } from "./zcio_sender.ts";

const MiB = 1 << 20;
const sizes = [1024, 16 * 1024, 256 * 1024];

/** Runs the comparison and returns its markdown table. */
export const copyVsRuntime = async (quick: boolean, onProgress: (what: string) => void): Promise<string> => {
  /** Bytes per iteration: enough that one connection's setup is noise. */
  const bytesPerRun = (size: number) => (quick ? 16 : 64) * MiB / (size < 4096 ? 4 : 1);

  const sink = await startSink();
  const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
  const bench = new Bench({ iterations: quick ? 3 : 8, time: 0, warmupIterations: 1, warmupTime: 0 });
  for (const size of sizes) {
    const chunk = new Uint8Array(size).map((_, i) => i);
    const times = bytesPerRun(size) / size;
    const check = (n: number) => {
      if (n !== size * times) throw new Error(`sink got ${n} bytes, expected ${size * times}`);
    };
    bench.add(
      `${runtime} socket ${size}`,
      async () => check(await sendWithRuntimeSocket(sink.port, chunk, times)),
    );
    bench.add(`zcio copy ${size}`, async () => check(await sendWithZcio(sink.port, chunk, times, "copy")));
  }
  bench.addEventListener(
    "cycle",
    (e) => onProgress(`done: ${(e as unknown as { task: { name: string } }).task.name}`),
  );
  try {
    await bench.run();
  } finally {
    sink.stop();
  }

  const mbps = (name: string, size: number): number => {
    const task = bench.tasks.find((t) => t.name === name)!;
    const result = task.result as { latency?: { mean: number }; error?: unknown };
    if (result.latency === undefined) throw new Error(`${name} failed: ${String(result.error)}`);
    return bytesPerRun(size) / 1e6 / (result.latency.mean / 1000);
  };
  const lines = [
    `loopback TCP, ${runtime}, MB/s (mean of ${quick ? 3 : 8} runs of ${
      quick ? 16 : 64
    } MiB; 1 KiB runs a quarter of that)`,
    "",
    `| chunk | ${runtime} socket | zcio copy | zcio / ${runtime} |`,
    "|---|---|---|---|",
  ];
  for (const size of sizes) {
    const base = mbps(`${runtime} socket ${size}`, size), ours = mbps(`zcio copy ${size}`, size);
    lines.push(
      `| ${size / 1024} KiB | ${base.toFixed(0)} | ${ours.toFixed(0)} | ${(ours / base).toFixed(2)}x |`,
    );
  }
  return lines.join("\n");
};

/**
 * Sending a cached file over loopback TCP into the sink process, four ways side by side:
 * - `sendFile`: zcio's sendfile(2) path;
 * - read + write: the file read into one reused 256 KiB buffer and each read written through a
 *   zcio writer (what a zcio user does without sendFile);
 * - pipeTo: the runtime's own file stream piped into `conn.writable` (`Bun.file(p).stream()`,
 *   `(await Deno.open(p)).readable`, Node's `Readable.toWeb(createReadStream(p))`);
 * - C sendfile: a loop of blocking sendfile(2) calls, `reference/tcp_sendfile.c`, built at start
 *   as the reference bench builds its C senders (left out, with the reason, when that fails).
 * Each cell is the median of the runs in MB/s, and the sender's CPU time (user + system, from
 * getrusage of its process) per GiB sent. The sink has a CPU to itself (`start_sink.ts` says why).
 *
 * Run: `bun bench/send_file_bench.ts`, `deno run -A bench/send_file_bench.ts`, or under Node the
 * compiled `node dist/bench/send_file_bench.js`; `--quick` sends a 64 MiB file once (a smoke run),
 * `--size-mib N` and `--runs N` change the defaults (1024 MiB, 5 runs).
 *
 * @module
 */
import { closeSync, createReadStream, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Readable } from "node:stream";
import { zcConnect, type ZcConnection } from "../mod.ts";
import { median } from "./median.ts";
import { buildCSenders, runCSender } from "./reference_senders.ts";
import { settleHeap } from "./settle_heap.ts";
import { startSink } from "./start_sink.ts";

const MiB = 1 << 20, GiB = 1 << 30;
const g = globalThis as {
  Bun?: { file(path: string): { stream(): ReadableStream<Uint8Array> } };
  Deno?: { open(path: string): Promise<{ readable: ReadableStream<Uint8Array> }>; args: string[] };
};
const runtime = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const quick = args.includes("--quick");
const sizeBytes = Number(flag("--size-mib") ?? (quick ? 64 : 1024)) * MiB;
const runCount = Number(flag("--runs") ?? (quick ? 1 : 5));

/** One timed send: bytes the sink counted, wall time and the sender's CPU time. */
interface Sample {
  readonly bytes: number;
  readonly seconds: number;
  readonly cpuMicros: number;
}

/** Reads the sink's answer (the bytes it counted, a float64) once the stream has ended. */
const sinkCount = async (conn: ZcConnection): Promise<number> => {
  const answer: number[] = [];
  for await (const chunk of conn.readable) answer.push(...chunk);
  return new DataView(new Uint8Array(answer).buffer).getFloat64(0, true);
};

/** Times one zcio send: connect, `send`, close the writable side, wait for the sink's count. */
const timed = async (port: number, send: (conn: ZcConnection) => Promise<void>): Promise<Sample> => {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const conn = await zcConnect({ hostname: "127.0.0.1", port });
  await send(conn);
  await conn.writable.finish();
  const bytes = await sinkCount(conn);
  await conn.close();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { bytes, seconds, cpuMicros: used.user + used.system };
};

const sendFileRun = (port: number, path: string) =>
  timed(port, async (conn) => {
    await conn.sendFile(path);
  });

const readWriteRun = (port: number, path: string) =>
  timed(port, async (conn) => {
    const writer = conn.writable.getWriter();
    const buffer = new Uint8Array(256 * 1024);
    const fd = openSync(path, "r");
    try {
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) break;
        await writer.write(n === buffer.length ? buffer : buffer.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    writer.releaseLock();
  });

const fileStream = async (path: string): Promise<ReadableStream<Uint8Array>> => {
  if (g.Bun !== undefined) return g.Bun.file(path).stream();
  if (g.Deno !== undefined) return (await g.Deno.open(path)).readable;
  return Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
};

const pipeToRun = (port: number, path: string) =>
  timed(port, async (conn) => {
    await (await fileStream(path)).pipeTo(conn.writable, { preventClose: true });
  });

/** One run of the C sendfile(2) loop (`bench/reference/tcp_sendfile.c`), which times itself. */
const cRun = async (program: string, port: number, path: string): Promise<Sample> => {
  const run = await runCSender(program, [String(port), path]);
  return { bytes: run.bytes, seconds: run.ns / 1e9, cpuMicros: run.cpuNs / 1000 };
};

const main = async (): Promise<void> => {
  const path = join(tmpdir(), `zcio-sendfile-bench-${process.pid}.bin`);
  // Pseudo-random 1 MiB blocks; reading the file once afterwards leaves it in the page cache.
  const block = new Uint8Array(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const fd = openSync(path, "w");
  for (let i = 0; i < sizeBytes / MiB; i++) {
    block[0] = i;
    writeFileSync(fd, block);
  }
  closeSync(fd);
  const warm = openSync(path, "r");
  while (readSync(warm, block, 0, block.length, null) > 0);
  closeSync(warm);
  const { binaries, remove } = buildCSenders();
  const c = binaries.tcp_sendfile;
  const sink = await startSink();
  const variants: [string, () => Promise<Sample>][] = [
    ["sendFile", () => sendFileRun(sink.port, path)],
    ["read + write (256 KiB buffer)", () => readWriteRun(sink.port, path)],
    [`pipeTo (${runtime}'s file stream)`, () => pipeToRun(sink.port, path)],
  ];
  if ("path" in c) variants.push(["C sendfile(2) loop", () => cRun(c.path, sink.port, path)]);
  const samples = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
  try {
    // What zcio sets up once per process (the probe, the waiter thread) is not any variant's cost.
    await timed(sink.port, (conn) => conn.writable.getWriter().write(new Uint8Array(MiB)));
    for (let run = 0; run < runCount; run++) {
      // Each run in another order, so that no variant always follows the same one.
      for (let i = 0; i < variants.length; i++) {
        const [name, send] = variants[(i + run) % variants.length];
        // The collector's threads count in this process's CPU time: no run pays for the garbage of
        // the one before.
        await settleHeap();
        const sample = await send();
        if (sample.bytes !== sizeBytes) throw new Error(`${name}: the sink counted ${sample.bytes} of ${sizeBytes} bytes`);
        samples.get(name)!.push(sample);
      }
    }
  } finally {
    sink.stop();
    rmSync(path, { force: true });
    remove();
  }
  const lines = [
    `sending a cached ${sizeBytes / MiB} MiB file over loopback TCP into the sink, ${runtime}, median of ${runCount} run(s); ` +
    sink.placement,
    "",
    "| sender | MB/s | sender CPU, ms per GiB | MB/s vs read + write | CPU vs read + write | MB/s vs C sendfile |",
    "|---|---|---|---|---|---|",
  ];
  const mbps = (s: Sample[]) => median(s.map((x) => x.bytes / x.seconds / 1e6));
  const cpuPerGiB = (s: Sample[]) => median(s.map((x) => x.cpuMicros / 1000 / (x.bytes / GiB)));
  const base = samples.get("read + write (256 KiB buffer)")!;
  const cLoop = samples.get("C sendfile(2) loop");
  for (const [name, s] of samples) {
    lines.push(
      `| ${name} | ${mbps(s).toFixed(0)} | ${cpuPerGiB(s).toFixed(0)} | ${(mbps(s) / mbps(base)).toFixed(2)}x | ` +
        `${(cpuPerGiB(s) / cpuPerGiB(base)).toFixed(2)}x | ${cLoop === undefined ? "—" : `${(mbps(s) / mbps(cLoop)).toFixed(2)}x`} |`,
    );
  }
  if ("skipped" in c) lines.push(`| C sendfile(2) loop | skipped: ${c.skipped} | | | | |`);
  console.log(lines.join("\n"));
};

await main();

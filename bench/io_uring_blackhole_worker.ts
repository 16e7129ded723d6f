/**
 * The timed half of `io_uring_sinks.ts`, run by it in a private network namespace whose loopback
 * drops every packet at its qdisc (`unshare -n`, `ip link set lo up`, `tc qdisc add dev lo root
 * pfifo limit 0`): UDP datagrams to 127.0.0.1:9 there are never delivered, so the kernel really
 * sends without copying (docs/kernel.md, 'Zero-copy sinks'). Runs every mode at every size and prints one JSON line
 * on stdout; progress goes to stderr.
 *
 * Arguments: `--quick`, then the datagram sizes in bytes.
 *
 * @module
 */
import { readlinkSync } from "node:fs";
import process from "node:process";
import { type ConnectionStats, type TuningOptions, zcConnect, type ZcConnection } from "../mod.ts";
import { RegisteredBuffers } from "../ffi/io_uring/registered_buffers.ts";
import { Ring } from "../ffi/io_uring/ring.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { encodeSockaddr } from "../ffi/sockaddr.ts";
import { median } from "./median.ts";
import { settleHeap } from "./settle_heap.ts";

const MiB = 1 << 20;

/** The modes, in table order. */
export const URING_MODES = ["copy", "io_uring SEND", "io_uring SEND, borrowed", "io_uring SEND_ZC", "io_uring SEND_ZC + lease"] as const;
export type UringMode = typeof URING_MODES[number];

export interface UringModeResult {
  /** MB/s (10^6 bytes per second) of the median run. */
  readonly mbps: number;
  /** Sender CPU time (user + system) per MB, microseconds, mean over the timed runs. */
  readonly cpuMicrosPerMB: number;
  /** Wall time per datagram in the median run, microseconds. */
  readonly microsPerChunk: number;
  /** Stats of the median run. */
  readonly stats: ConnectionStats;
}

export interface UringSizeResult {
  readonly size: number;
  readonly bytesPerRun: number;
  readonly modes: Record<UringMode, UringModeResult>;
  /**
   * The floor under the leased mode, µs per datagram (median run): the same SEND_ZC with FIXED_BUF
   * from the registered pool written straight into a ring of our own (ffi/io_uring/ring.ts), 64
   * per io_uring_enter(GETEVENTS), no streams, scheduler or leases: kernel work plus FFI.
   */
  readonly ringFloorMicros: number;
}

/** Timed runs per cell (after one untimed warm-up run). */
export const uringRuns = (quick: boolean): number => (quick ? 5 : 11);
/** Bytes per run: enough that opening and closing the connection is noise; 1 KiB sends a quarter. */
export const uringBytesPerRun = (size: number, quick: boolean): number => (quick ? 64 : 256) * MiB / (size < 4096 ? 4 : 1);

interface ModeSetup {
  readonly options: TuningOptions;
  /** Makes what one run writes, outside the timed region (owned buffers: one fresh buffer per write). */
  readonly prepare: (size: number, times: number) => (conn: ZcConnection, i: number) => Uint8Array | Promise<Uint8Array>;
}

const reused = (size: number) => {
  const chunk = new Uint8Array(size).map((_, i) => i);
  return () => chunk;
};

const SETUPS: Record<UringMode, ModeSetup> = {
  // zcio's copy backend: staged and gathered below 16 KiB (sendmmsg), larger chunks one sendmmsg
  // each from the caller's buffer; one buffer reused.
  "copy": { options: { backend: "copy" }, prepare: reused },
  // Every chunk staged (copied into zcio's staging memory at write()), then sent by SEND from there:
  // the copy path through the ring, many requests per chain. stageBelow 65536 needs 1 MiB staging,
  // small enough to stay in cache.
  "io_uring SEND": { options: { backend: "io_uring", stagingBytes: MiB, stageBelow: 65536 }, prepare: reused },
  // Default tuning with views of part of a buffer (never owned): below 16 KiB staged as above; from
  // 16 KiB borrowed, sent by SEND from the caller's memory, and each write resolves only once its
  // datagram is sent, so one request is in flight at a time.
  "io_uring SEND, borrowed": {
    options: { backend: "io_uring" },
    prepare: (size) => {
      const backing = new Uint8Array(size + 1);
      const view = backing.subarray(1);
      return () => view;
    },
  },
  // Owned fresh whole buffers (write() transfers each, with transferBuffers), allocated and touched
  // before the timed run; stageBelow 1 KiB so even 1 KiB chunks are owned: SEND_ZC from plain memory.
  "io_uring SEND_ZC": {
    options: { backend: "io_uring", stageBelow: 1024, transferBuffers: true },
    prepare: (size, times) => {
      const pool = Array.from({ length: times }, () => new Uint8Array(size).fill(size & 0xff));
      return (_, i) => pool[i];
    },
  },
  // `await conn.lease(size)` per write, inside the timed run: SEND_ZC with FIXED_BUF from the
  // registered 8 MiB pool; a lease waits while the pool is exhausted and returns at its notification.
  "io_uring SEND_ZC + lease": {
    options: { backend: "io_uring", stageBelow: 1024 },
    prepare: (size) => (conn) => conn.lease(size),
  },
};

/** One run: connect, write `times` chunks, close (waits for every notification); wall and CPU time. */
const runOnce = async (mode: UringMode, size: number, times: number) => {
  const setup = SETUPS[mode];
  await settleHeap();
  const chunkAt = setup.prepare(size, times);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const conn = await zcConnect({ hostname: "127.0.0.1", port: 9, transport: "udp", ...setup.options });
  const writer = conn.writable.getWriter();
  for (let i = 0; i < times; i++) {
    const chunk = chunkAt(conn, i);
    await writer.write(chunk instanceof Promise ? await chunk : chunk);
  }
  await writer.close();
  const stats = conn.stats();
  await conn.close();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const sent = stats.bytes.copy + stats.bytes.msg_zerocopy + stats.bytes.io_uring;
  if (sent !== size * times) throw new Error(`${mode} ${size}: the kernel took ${sent} bytes, expected ${size * times}`);
  return { ms, cpuMicros: used.user + used.system, stats };
};

/** One floor run (see {@link UringSizeResult.ringFloorMicros}); returns its wall time in ms. */
const ringFloorOnce = async (size: number, times: number): Promise<number> => {
  const sys = await loadSys();
  const setup = Ring.setup(sys, 256);
  if (!setup.ok) throw new Error(`ring floor: ${setup.reason}`);
  const ring = setup.ring;
  const registration = RegisteredBuffers.register(sys, ring, 8 * MiB);
  if (!registration.ok) throw new Error(`ring floor: ${registration.reason}`);
  const buffers = registration.buffers;
  buffers.bytes.fill(1);
  const fd = sys.socket(2, /* AF_INET */ 2, /* SOCK_DGRAM */ 0);
  sys.connect(fd, encodeSockaddr("127.0.0.1", 9)!);
  const slots = Math.floor(buffers.size / 65536), noop = () => {};
  const started = performance.now();
  let sent = 0, completions = 0;
  while (completions < times * 2) {
    const n = Math.min(64, times - sent);
    for (let i = 0; i < n; i++, sent++) {
      ring.prepSendZcFixed(ring.getSqe(), fd, buffers.addr + (sent % slots) * 65536, size, 0, 8, /* REPORT_USAGE */ sent, 0);
    }
    ring.submit(0, true);
    completions += ring.reap(noop);
  }
  const ms = performance.now() - started;
  sys.close(fd);
  buffers.close();
  ring.close();
  return ms;
};

/** Every mode at every size, modes interleaved per size so that each row compares like with like. */
export const runUringModes = async (sizes: readonly number[], quick: boolean, onProgress: (what: string) => void): Promise<UringSizeResult[]> => {
  const results: UringSizeResult[] = [];
  for (const size of sizes) {
    const times = Math.ceil(uringBytesPerRun(size, quick) / size);
    const samples = new Map<UringMode, Awaited<ReturnType<typeof runOnce>>[]>();
    const floor: number[] = [];
    for (const mode of URING_MODES) await runOnce(mode, size, times); // warm-up
    await ringFloorOnce(size, times);
    for (let run = 0; run < uringRuns(quick); run++) {
      for (const mode of URING_MODES) samples.set(mode, [...(samples.get(mode) ?? []), await runOnce(mode, size, times)]);
      floor.push(await ringFloorOnce(size, times));
    }
    const modes = {} as Record<UringMode, UringModeResult>;
    for (const mode of URING_MODES) {
      const runs = samples.get(mode)!;
      const medianRun = [...runs].sort((a, b) => a.ms - b.ms)[runs.length >> 1];
      modes[mode] = {
        mbps: (size * times) / 1e6 / (medianRun.ms / 1000),
        cpuMicrosPerMB: runs.reduce((s, r) => s + r.cpuMicros, 0) / runs.length / ((size * times) / 1e6),
        microsPerChunk: (medianRun.ms * 1000) / times,
        stats: medianRun.stats,
      };
    }
    const floorMs = median(floor);
    results.push({ size, bytesPerRun: size * times, modes, ringFloorMicros: (floorMs * 1000) / times });
    onProgress(`${size} B done`);
  }
  return results;
};

// Run as the worker (not when imported for its types): only inside a namespace of our own.
if (process.env.ZCIO_URING_BENCH_WORKER === "1") {
  const g = globalThis as { Deno?: { args: string[] } };
  const args = g.Deno !== undefined ? g.Deno.args : process.argv.slice(2);
  const own = readlinkSync("/proc/self/ns/net");
  if (process.env.ZCIO_PARENT_NETNS === undefined || process.env.ZCIO_PARENT_NETNS === own) {
    throw new Error(`io_uring_blackhole_worker: not in a private network namespace (${own}); refusing to send`);
  }
  const started = performance.now();
  const results = await runUringModes(args.filter((a) => /^\d+$/.test(a)).map(Number), args.includes("--quick"), (what) => {
    console.error(`[io_uring blackhole ${((performance.now() - started) / 1000).toFixed(0)} s] ${what}`);
  });
  console.log(JSON.stringify(results));
}

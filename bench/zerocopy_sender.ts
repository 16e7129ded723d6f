/**
 * Sends a run of chunks through one zcio connection (TCP into the sink process, or UDP datagrams
 * to a blackhole) and reports what it cost: the sender's CPU time, the connection's stats and, over
 * TCP, the byte count the sink answers with.
 *
 * @module
 */
import process from "node:process";
import { type ConnectionStats, type TuningOptions, zcConnect, type ZcConnection } from "../mod.ts";

/** Where a run goes: TCP into the sink on 127.0.0.1:`port`, or UDP to 127.0.0.1:`port`. */
export interface SinkTarget {
  readonly transport: "tcp" | "udp";
  readonly port: number;
}

export interface SendResult {
  /** Bytes the TCP sink counted (for UDP, the bytes the kernel accepted: nobody counts a blackhole). */
  readonly count: number;
  /** Process CPU time (user + system) spent from connect to the end of close, in microseconds. */
  readonly cpuMicros: number;
  readonly stats: ConnectionStats;
}

/**
 * Writes `times` chunks, the `i`-th from `chunkAt(conn, i)`, closes (for a zero-copy backend that
 * waits for every notification), and resolves with the result.
 */
export const sendChunks = async (
  target: SinkTarget,
  options: TuningOptions,
  times: number,
  chunkAt: (conn: ZcConnection, i: number) => Uint8Array | Promise<Uint8Array>,
): Promise<SendResult> => {
  const cpu = process.cpuUsage();
  const conn = await zcConnect({ hostname: "127.0.0.1", port: target.port, transport: target.transport, ...options });
  const writer = conn.writable.getWriter();
  for (let i = 0; i < times; i++) {
    const chunk = chunkAt(conn, i);
    await writer.write(chunk instanceof Promise ? await chunk : chunk);
  }
  await writer.close();
  let count = 0;
  if (target.transport === "tcp") {
    const reader = conn.readable.getReader();
    const answer: number[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      answer.push(...value);
    }
    count = new DataView(new Uint8Array(answer).buffer).getFloat64(0, true);
  }
  const stats = conn.stats();
  await conn.close();
  const used = process.cpuUsage(cpu);
  if (target.transport === "udp") count = stats.bytes.copy + stats.bytes.msg_zerocopy;
  return { count, cpuMicros: used.user + used.system, stats };
};

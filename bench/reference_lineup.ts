/**
 * Who the reference bench runs on a sink, side by side: zcio's default, each backend (copy from
 * one reused buffer; msg_zerocopy and io_uring with leases, `tryLease()` and `lease()` when the
 * pool is full), the runtime's own socket, and the C senders (`reference_senders.ts`): over TCP a
 * loop of blocking `send()`; over the UDP blackhole `sendmsg`, `sendmsg(MSG_ZEROCOPY)` and io_uring
 * SEND, SEND_ZC and SEND_ZC from a registered buffer. Every writer reuses one buffer per size (or
 * takes leases) and awaits each write; the runtime's sockets are driven as the calibration drives
 * them (`runtime_socket_sender.ts`, `runtime_udp_sender.ts`).
 *
 * @module
 */
import type { TuningOptions, ZcConnection } from "../mod.ts";
import type { Run, Sender, Skipped } from "./reference_rounds.ts";
import { type CBinaries, type CProgram, runCSender } from "./reference_senders.ts";
import { thisRuntime } from "./runtime_calibration.ts";
import { sendWithRuntimeSocket } from "./runtime_socket_sender.ts";
import { sendUdpWithRuntimeSocket } from "./runtime_udp_sender.ts";
import { settleHeap } from "./settle_heap.ts";
import { sendChunks, type SinkTarget } from "./zerocopy_sender.ts";

/** The runtime's own sockets, as the table names them. */
const RUNTIME_SOCKETS: Record<string, { tcp: string; udp: string }> = {
  bun: { tcp: "Bun.connect", udp: "Bun.udpSocket" },
  deno: { tcp: "Deno.connect", udp: "Deno.listenDatagram" },
  node: { tcp: "node:net", udp: "node:dgram" },
};

/** The C senders of each sink: id, label, program and its mode argument. */
const C_SENDERS: Record<SinkTarget["transport"], readonly (readonly [string, string, CProgram, string?])[]> = {
  tcp: [["c_send", "C send()", "tcp_send"]],
  udp: [
    ["c_sendmsg", "C sendmsg", "udp_sendmsg", "copy"],
    ["c_msg_zerocopy", "C sendmsg(MSG_ZEROCOPY)", "udp_sendmsg", "zerocopy"],
    ["c_uring_send", "C io_uring SEND", "udp_io_uring", "send"],
    ["c_uring_send_zc", "C io_uring SEND_ZC", "udp_io_uring", "send_zc"],
    ["c_uring_send_zc_fixed", "C io_uring SEND_ZC, registered buffer", "udp_io_uring", "send_zc_fixed"],
  ],
};

/** The senders of `target`'s sink, and the C senders left out with why. */
export const referenceLineup = (target: SinkTarget, binaries: CBinaries): { senders: Sender[]; skipped: Skipped[] } => {
  const runtimeLabel = RUNTIME_SOCKETS[thisRuntime().runtime][target.transport];
  const runtimeSocket = reusedBuffer();
  const senders: Sender[] = [
    zcioSender(target, "default", "zcio default", {}, false),
    zcioSender(target, "copy", "zcio copy", { backend: "copy" }, false),
    zcioSender(target, "msg_zerocopy", "zcio msg_zerocopy + leases", { backend: "msg_zerocopy" }, true),
    zcioSender(target, "io_uring", "zcio io_uring + leases", { backend: "io_uring" }, true),
    {
      id: "runtime",
      label: runtimeLabel,
      send: async (size, times) => {
        const chunk = runtimeSocket(size);
        await settleHeap();
        const started = performance.now();
        const bytes = target.transport === "tcp"
          ? await sendWithRuntimeSocket(target.port, times, () => chunk)
          : await sendUdpWithRuntimeSocket(target.port, times, () => chunk);
        return { bytes, ms: performance.now() - started };
      },
    },
  ];
  const skipped: Skipped[] = [];
  for (const [id, label, program, mode] of C_SENDERS[target.transport]) {
    const binary = binaries[program];
    if ("skipped" in binary) {
      skipped.push({ id, label, why: binary.skipped });
      continue;
    }
    senders.push({
      id,
      label,
      send: async (size, times): Promise<Run> => {
        const run = await runCSender(binary.path, [...(mode === undefined ? [] : [mode]), String(target.port), String(size), String(times)]);
        return { bytes: run.bytes, ms: run.ns / 1e6, zeroCopied: run.copiedSends < 0 ? undefined : 1 - run.copiedSends / times };
      },
    });
  }
  return { senders, skipped };
};

/** One buffer per size, made once and filled with a pattern, reused by every run of one sender. */
const reusedBuffer = (): (size: number) => Uint8Array => {
  const buffers = new Map<number, Uint8Array>();
  return (size) => {
    let buffer = buffers.get(size);
    if (buffer === undefined) buffers.set(size, buffer = new Uint8Array(size).map((_, i) => (i * 31) & 0xff));
    return buffer;
  };
};

/** A zcio connection with `options`, writing one reused buffer, or a fresh lease per write with `leases`. */
const zcioSender = (target: SinkTarget, id: string, label: string, options: TuningOptions, leases: boolean): Sender => {
  const buffer = reusedBuffer();
  return {
    id,
    label,
    send: async (size, times) => {
      const chunk = buffer(size);
      const chunkAt = leases ? (conn: ZcConnection) => conn.tryLease(size) ?? conn.lease(size) : () => chunk;
      await settleHeap();
      const started = performance.now();
      const sent = await sendChunks(target, options, times, chunkAt);
      const ms = performance.now() - started;
      const { bytes } = sent.stats;
      const handed = bytes.copy + bytes.msg_zerocopy + bytes.io_uring;
      return {
        bytes: target.transport === "tcp" ? sent.count : handed,
        ms,
        zeroCopied: leases ? sent.stats.zeroCopiedBytes / Math.max(1, handed) : undefined,
      };
    },
  };
};

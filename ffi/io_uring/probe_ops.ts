/**
 * What this kernel's io_uring can do for zero-copy sends: IORING_REGISTER_PROBE for the opcodes
 * (SEND_ZC 47, SENDMSG_ZC 48, SEND 26), and a live check of IORING_SEND_ZC_REPORT_USAGE, which the
 * probe cannot answer: one 1-byte SEND_ZC with the flag over a connected loopback UDP pair on
 * 127.0.0.1 (no handshake, so it answers at once even where loopback drops every packet; a TCP pair
 * if UDP fails), supported unless its first CQE is -EINVAL (docs/kernel.md, 'Probing'). The probe makes and closes
 * its own small ring, so it never reaps anyone else's completions.
 *
 * @example
 * ```ts
 * const ops = probeOps(sys);
 * if (ops.sendZc && ops.reportUsage) useSendZc();
 * else console.log(ops.reason);
 * ```
 *
 * @module
 */
import {
  AF_INET,
  EINTR,
  EINVAL,
  ETIME,
  IO_URING_OP_SUPPORTED,
  IO_URING_PROBE_OP_SIZE,
  IO_URING_PROBE_SIZE,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_SENDMSG_ZC,
  IORING_REGISTER_PROBE,
  IORING_SEND_ZC_REPORT_USAGE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from "../constants.ts";
import { errnoName } from "../errno_name.ts";
import { Slab } from "../slab.ts";
import { decodeSockaddr, encodeSockaddr } from "../sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../structs.ts";
import type { Sys } from "../sys.ts";
import { Ring } from "./ring.ts";

/** How many `io_uring_probe_op` entries the probe asks for (the kernel caps it at IORING_OP_LAST). */
const PROBE_OPS = 256;
const PROBE_BYTES = IO_URING_PROBE_SIZE + PROBE_OPS * IO_URING_PROBE_OP_SIZE;
/** How long the live REPORT_USAGE check waits for each of its two CQEs. */
const CQE_WAIT_MS = 1000;

export interface OpsProbe {
  /** The probe ran: io_uring works and REGISTER_PROBE answered. */
  readonly ok: boolean;
  /** Why not, or what the live check saw; empty when everything is supported. */
  readonly reason: string;
  /** Highest opcode the kernel knows (62 on 6.18); -1 if the probe failed. */
  readonly lastOp: number;
  readonly send: boolean;
  readonly sendZc: boolean;
  readonly sendmsgZc: boolean;
  /**
   * IORING_SEND_ZC_REPORT_USAGE works: true, false (the first CQE was -EINVAL), or undefined when
   * it was not checked (SEND_ZC missing, the check was skipped, or the loopback pair failed).
   */
  readonly reportUsage: boolean | undefined;
  /** The live check's two CQEs, for the record: first res and flags, notification res (or undefined). */
  readonly reportUsageCqes?: { readonly res: number; readonly flags: number; readonly notifRes?: number };
  /** Whether opcode `op` is supported, from the probe's answer. */
  supports(op: number): boolean;
}

export interface ProbeOptions {
  /** Run the live REPORT_USAGE check over loopback (default true). */
  readonly reportUsage?: boolean;
}

const failed = (reason: string): OpsProbe => ({
  ok: false,
  reason,
  lastOp: -1,
  send: false,
  sendZc: false,
  sendmsgZc: false,
  reportUsage: undefined,
  supports: () => false,
});

/** Which of the opcodes in a REGISTER_PROBE answer are supported. */
export const supportedOps = (answer: Uint8Array): (op: number) => boolean => {
  const lastOp = answer[0], opsLen = answer[1];
  return (op) =>
    Number.isInteger(op) && op >= 0 && op <= lastOp && op < opsLen &&
    (answer[IO_URING_PROBE_SIZE + op * IO_URING_PROBE_OP_SIZE + 2] & IO_URING_OP_SUPPORTED) !== 0;
};

/** Probes this kernel's io_uring opcodes and, unless told not to, the REPORT_USAGE send flag. */
export const probeOps = (sys: Sys, options: ProbeOptions = {}): OpsProbe => {
  const setup = Ring.setup(sys, 8);
  if (!setup.ok) return failed(setup.reason);
  const ring = setup.ring;
  try {
    const answer = new Uint8Array(PROBE_BYTES); // must be zeroed, or the kernel says EINVAL
    const r = ring.register(IORING_REGISTER_PROBE, answer, PROBE_OPS);
    if (r < 0) {
      return failed(
        `IORING_REGISTER_PROBE failed: ${errnoName(-r)}` + (r === -EINVAL ? " (the kernel is older than 5.6)" : ""),
      );
    }
    const supports = supportedOps(answer);
    const sendZc = supports(IORING_OP_SEND_ZC);
    const base = {
      ok: true,
      lastOp: answer[0],
      send: supports(IORING_OP_SEND),
      sendZc,
      sendmsgZc: supports(IORING_OP_SENDMSG_ZC),
      supports,
    };
    if (!sendZc) return { ...base, reason: "IORING_OP_SEND_ZC is not supported (Linux 6.0+)", reportUsage: undefined };
    if (options.reportUsage === false) return { ...base, reason: "", reportUsage: undefined };
    const check = checkReportUsage(sys, ring);
    return { ...base, ...check };
  } finally {
    ring.close();
  }
};

type UsageCheck = Pick<OpsProbe, "reason" | "reportUsage" | "reportUsageCqes">;

/** One 1-byte SEND_ZC with REPORT_USAGE on a fresh loopback pair (UDP, else TCP); drains its notification. */
const checkReportUsage = (sys: Sys, ring: Ring): UsageCheck => {
  // UDP first: it needs no handshake, so it works (and never blocks) where loopback drops packets.
  const udp = loopbackPair(sys, SOCK_DGRAM);
  const pair = typeof udp === "string" ? loopbackPair(sys, SOCK_STREAM) : udp;
  if (typeof pair === "string") return { reason: `REPORT_USAGE not checked: ${udp}; over TCP, ${pair}`, reportUsage: undefined };
  const payload = Slab.map(sys, 1);
  try {
    payload.bytes[0] = 0x7a;
    const USER_DATA = 0x5a5a;
    ring.prepSendZc(ring.getSqe(), pair.a, payload.addr, 1, 0, IORING_SEND_ZC_REPORT_USAGE, USER_DATA);
    const first = waitCqe(ring, USER_DATA, false);
    if (first === undefined) return { reason: "REPORT_USAGE not checked: no CQE for the test send", reportUsage: undefined };
    let notifRes: number | undefined;
    if ((first.flags & IORING_CQE_F_MORE) !== 0) notifRes = waitCqe(ring, USER_DATA, true)?.res;
    const reportUsageCqes = { res: first.res, flags: first.flags, notifRes };
    if (first.res === -EINVAL) {
      return { reason: "IORING_SEND_ZC_REPORT_USAGE is not supported (the test send got EINVAL)", reportUsage: false, reportUsageCqes };
    }
    if (first.res < 0) {
      return {
        reason: `REPORT_USAGE not decided: the test send failed with ${errnoName(-first.res)}`,
        reportUsage: undefined,
        reportUsageCqes,
      };
    }
    return { reason: "", reportUsage: true, reportUsageCqes };
  } finally {
    sys.close(pair.a);
    sys.close(pair.b);
    // The notification (or the ring's close) ends the kernel's use of the payload.
    ring.close();
    payload.unmap();
  }
};

/** Waits for the next CQE with `userData` (a notification or not); other CQEs are dropped. */
const waitCqe = (
  ring: Ring,
  userData: number,
  notif: boolean,
): { res: number; flags: number } | undefined => {
  const deadline = Date.now() + CQE_WAIT_MS;
  for (;;) {
    const n = ring.peekCqe();
    for (let i = 0; i < n; i++) {
      const flags = ring.cqeFlags(i);
      if (ring.cqeUserData(i) === userData && ((flags & IORING_CQE_F_NOTIF) !== 0) === notif) {
        const res = ring.cqeRes(i);
        ring.advance(i + 1);
        return { res, flags };
      }
    }
    ring.advance(n);
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const r = ring.submitAndWait(Math.min(left, 100), 1);
    if (r < 0 && r !== -ETIME && r !== -EINTR) return undefined;
  }
};

/** A connected TCP (or UDP) pair on 127.0.0.1 (a: sender, b: receiver), or why not. */
const loopbackPair = (sys: Sys, type: number): { a: number; b: number } | string => {
  const l = sys.socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (l < 0) return `socket: ${errnoName(-l)}`;
  const fail = (what: string, r: number, ...fds: number[]): string => {
    for (const fd of [l, ...fds]) sys.close(fd);
    return `${what}: ${errnoName(-r)}`;
  };
  let r = sys.bind(l, encodeSockaddr("127.0.0.1", 0)!);
  if (r < 0) return fail("bind 127.0.0.1:0", r);
  if (type === SOCK_STREAM) r = sys.listen(l, 1);
  if (r < 0) return fail("listen", r);
  const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  r = sys.getsockname(l, addr);
  if (r < 0) return fail("getsockname", r);
  const port = decodeSockaddr(addr.subarray(0, r)).port;
  const a = sys.socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (a < 0) return fail("socket", a);
  r = sys.connect(a, encodeSockaddr("127.0.0.1", port)!);
  if (r < 0) return fail("connect 127.0.0.1", r, a);
  // A datagram pair is connected already; the bound socket is the receiver.
  if (type === SOCK_DGRAM) return { a, b: l };
  const b = sys.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (b < 0) return fail("accept4", b, a);
  sys.close(l);
  return { a, b };
};

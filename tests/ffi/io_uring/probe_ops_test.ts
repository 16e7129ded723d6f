/**
 * The io_uring capability probe on this kernel (IORING_REGISTER_PROBE plus the live REPORT_USAGE
 * check over loopback), and the reading of a probe answer as a unit.
 */
import { readdirSync } from "node:fs";
import { IORING_CQE_F_MORE, IORING_OP_NOP, IORING_OP_SEND, IORING_OP_SEND_ZC, IORING_OP_SENDMSG_ZC } from "../../../ffi/constants.ts";
import { probeOps, supportedOps } from "../../../ffi/io_uring/probe_ops.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { sys } from "./loopback.ts";

test("probe_ops: this kernel has SEND, SEND_ZC and SENDMSG_ZC, and REPORT_USAGE works", () => {
  const before = readdirSync("/proc/self/fd").length;
  const p = probeOps(sys);
  assert(p.ok, p.reason);
  assertEquals(p.reason, "");
  assert(p.lastOp >= IORING_OP_SENDMSG_ZC, `last_op ${p.lastOp}`);
  assertEquals([p.send, p.sendZc, p.sendmsgZc, p.reportUsage], [true, true, true, true]);
  assert(p.supports(IORING_OP_NOP) && p.supports(IORING_OP_SEND) && p.supports(IORING_OP_SEND_ZC));
  assert(!p.supports(p.lastOp + 1) && !p.supports(255) && !p.supports(-1), "nothing past last_op");
  const c = p.reportUsageCqes!;
  assertEquals([c.res, c.flags], [1, IORING_CQE_F_MORE], "the 1-byte test send went out, with F_MORE");
  assert(c.notifRes !== undefined && c.notifRes < 0, "its notification was drained, COPIED over loopback");
  console.log(`  last_op ${p.lastOp}; REPORT_USAGE test send: res ${c.res}, notification res 0x${(c.notifRes! >>> 0).toString(16)}`);
  assertEquals(readdirSync("/proc/self/fd").length, before, "the probe closed its ring and sockets");
  const quick = probeOps(sys, { reportUsage: false });
  assert(quick.ok && quick.sendZc && quick.reportUsage === undefined, "the live check can be skipped");
});

test("probe_ops: reading a probe answer (unit)", () => {
  const answer = new Uint8Array(16 + 256 * 8);
  assert(!supportedOps(answer)(0), "a zeroed answer supports nothing");
  answer[0] = 47; // last_op
  answer[1] = 48; // ops_len
  answer[16 + 47 * 8 + 2] = 1; // ops[47].flags = IO_URING_OP_SUPPORTED
  answer[16 + 26 * 8 + 2] = 0; // listed, not supported
  answer[16 + 48 * 8 + 2] = 1; // beyond last_op: ignored
  const s = supportedOps(answer);
  assertEquals([s(47), s(26), s(48), s(0.5)], [true, false, false, false]);
});

/**
 * The io_uring ring on the real kernel: setup and the flag fallback report, NOP round trips with
 * user_data echo (above 2^32 too), a full SQ, the timed wait, and the cost of a NOP when 64 are
 * submitted and reaped per batch.
 */
import { readdirSync } from "node:fs";
import {
  EINVAL,
  ENOSYS,
  EPERM,
  ETIME,
  IORING_FEAT_EXT_ARG,
  IORING_FEAT_SINGLE_MMAP,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_NO_SQARRAY,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SETUP_TASKRUN_FLAG,
  IOSQE_IO_LINK,
} from "../../../ffi/constants.ts";
import { DEFAULT_SETUP_CHAIN, Ring, setupFailureReason, setupFlagNames } from "../../../ffi/io_uring/ring.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { sys } from "./loopback.ts";

const openFds = (): number => readdirSync("/proc/self/fd").length;

const ring = (entries: number, chain?: readonly number[]): Ring => {
  const setup = Ring.setup(sys, entries, chain ? { flagChain: chain } : {});
  if (!setup.ok) throw new Error(`io_uring setup failed: ${setup.reason}`);
  return setup.ring;
};

test("ring: setup takes the best flag set this kernel accepts and reports it", () => {
  const setup = Ring.setup(sys, 64);
  assert(setup.ok, `setup failed: ${setup.ok ? "" : setup.reason}`);
  const r = setup.ring;
  const best = DEFAULT_SETUP_CHAIN[0] | IORING_SETUP_CQSIZE;
  // Linux 6.18 accepts the first set of the chain (docs/kernel.md, 'io_uring setup flags').
  assertEquals(setup.attempts.length, 1, `one io_uring_setup call: ${setup.report}`);
  assertEquals(setup.flags, best);
  assertEquals(r.flags, best);
  for (const f of [IORING_SETUP_SUBMIT_ALL, IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_NO_SQARRAY]) {
    assert((r.flags & f) !== 0, `${setupFlagNames(f)} granted: ${setup.report}`);
  }
  assert(r.deferTaskrun && r.hasExtArg, "DEFER_TASKRUN and EXT_ARG");
  assertEquals([r.sqEntries, r.cqEntries], [64, 256], "CQ defaults to 4 × entries");
  assert((r.features & IORING_FEAT_SINGLE_MMAP) !== 0 && (r.features & IORING_FEAT_EXT_ARG) !== 0, "features");
  assert(setup.report.includes("DEFER_TASKRUN") && !setup.report.includes("refused"), setup.report);
  console.log(`  ${setup.report}`);
  r.close();
  assert(r.closed);
  r.close(); // a second close is a no-op
});

test("ring: falls back on EINVAL, one flag set at a time, and says what each refused set got", () => {
  const bogus = 0x80000000; // an undefined setup flag: EINVAL on any kernel
  const setup = Ring.setup(sys, 8, {
    flagChain: [bogus | IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG],
  });
  assert(setup.ok, `setup failed: ${setup.ok ? "" : setup.reason}`);
  assertEquals(setup.attempts.map((a) => a.errno), [EINVAL, EINVAL, 0]);
  assertEquals(setup.flags, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE);
  assert(!setup.ring.deferTaskrun, "no DEFER_TASKRUN");
  assertEquals(setup.attempts[1].names, "CQSIZE|DEFER_TASKRUN");
  assert(setup.report.includes("refused first: CQSIZE|SINGLE_ISSUER|0x80000000: EINVAL; CQSIZE|DEFER_TASKRUN: EINVAL"), setup.report);
  console.log(`  ${setup.report}`);
  setup.ring.close();
  // Each set of the default chain is accepted on its own by this kernel.
  for (const flags of DEFAULT_SETUP_CHAIN) {
    const one = Ring.setup(sys, 8, { flagChain: [flags] });
    assert(one.ok && one.flags === (flags | IORING_SETUP_CQSIZE), `${setupFlagNames(flags)} accepted`);
    one.ring.close();
  }
});

test("ring: bad sizes and refused setups are failure results with a reason, never throws", () => {
  for (const entries of [0, -1, 1.5, 32769]) {
    const s = Ring.setup(sys, entries);
    assert(!s.ok && s.errno === EINVAL && s.code === "EINVAL" && s.reason.includes("entries"), `entries ${entries}`);
  }
  const s = Ring.setup(sys, 64, { cqEntries: 32 });
  assert(!s.ok && s.reason.includes("cqEntries"), "a CQ smaller than the SQ");
  // ENOSYS and EPERM cannot be provoked here (kernel.io_uring_disabled = 0, no seccomp): the words.
  assert(setupFailureReason(ENOSYS).includes("not available in this kernel"));
  assert(setupFailureReason(EPERM).includes("io_uring_disabled"));
  assert(setupFailureReason(EPERM).includes("copy or MSG_ZEROCOPY"));
});

test("ring: NOP round trip echoes user_data, above 2^32 and up to 2^53 - 1", () => {
  // Every set of the chain: with and without the SQ index array, with and without DEFER_TASKRUN.
  for (const flags of DEFAULT_SETUP_CHAIN) {
    const r = ring(8, [flags]);
    const values = [0, 1, 0xffffffff, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
    for (const v of values) r.prepNop(r.getSqe(), v);
    const split = r.getSqe();
    r.prepNop(split, 0);
    r.setUserData(split, 0x89abcdef, 0xfedcba98); // 2^64 territory, as two halves
    assertEquals(r.submitAndWait(1000, values.length + 1), values.length + 1, `submitted (${setupFlagNames(r.flags)})`);
    assertEquals(r.peekCqe(), values.length + 1, "every NOP completed");
    const got: number[] = [];
    for (let i = 0; i < values.length; i++) {
      got.push(r.cqeUserData(i));
      assertEquals([r.cqeRes(i), r.cqeFlags(i)], [0, 0]);
    }
    assertEquals(got, values, "user_data echoed in order");
    const last = values.length;
    assertEquals([r.cqeUserDataLo(last), r.cqeUserDataHi(last)], [0x89abcdef, 0xfedcba98]);
    assertEquals([r.cqeUserDataLo(4), r.cqeUserDataHi(4)], [5, 2 ** 8], "2^40 + 5 as halves");
    r.advance(r.peekCqe());
    assertEquals(r.peekCqe(), 0);
    r.close();
  }
});

test("ring: getSqe says -1 when the SQ is full; a submit frees the slots; linked SQEs complete", () => {
  const r = ring(8);
  const slots: number[] = [];
  for (let i = 0; i < 8; i++) slots.push(r.getSqe());
  assertEquals(slots, [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(r.getSqe(), -1, "full");
  assertEquals(r.sqSpace(), 0);
  assertEquals(r.pending(), 8);
  for (const s of slots) r.prepNop(s, s + 100);
  r.setSqeFlags(slots[0], IOSQE_IO_LINK);
  assertEquals(r.submit(), 8);
  assertEquals(r.pending(), 0);
  assertEquals(r.sqSpace(), 8);
  assertEquals(r.getSqe(), 0, "the ring wraps to slot 0");
  r.prepNop(0, 200);
  assertEquals(r.submitAndWait(1000, 1), 1);
  const seen: number[] = [];
  assertEquals(r.reap((ud, res) => seen.push(ud + res)), 9);
  assertEquals(seen.sort((a, b) => a - b), [100, 101, 102, 103, 104, 105, 106, 107, 200]);
  assertEquals(r.submit(), 0, "nothing to submit and nothing to wait for: no syscall");
  r.close();
});

test("ring: a timed wait on an empty ring ends with ETIME, a normal outcome", () => {
  const r = ring(8);
  const t0 = performance.now();
  assertEquals(r.submitAndWait(30), -ETIME);
  const waited = performance.now() - t0;
  assert(waited >= 25 && waited < 1000, `waited ${waited.toFixed(1)} ms for a 30 ms timeout`);
  assertEquals(r.submitAndWait(0), -ETIME, "a zero timeout does not block");
  assertEquals(r.submitAndWait(1.9999999999), -ETIME, "fractions of a millisecond make a valid timespec");
  assertEquals(r.getEvents(), 0, "GETEVENTS with nothing pending");
  r.close();
});

test("ring: a handler that throws consumes the CQEs it saw and leaves the rest", () => {
  const r = ring(8);
  for (let i = 0; i < 3; i++) r.prepNop(r.getSqe(), i);
  r.submit(3, true);
  const seen: number[] = [];
  let thrown: unknown;
  try {
    r.reap((ud) => {
      seen.push(ud);
      if (ud === 1) throw new Error("handler failed");
    });
  } catch (e) {
    thrown = e;
  }
  assert(thrown instanceof Error, "the error propagates");
  assertEquals(seen, [0, 1]);
  assertEquals(r.peekCqe(), 1, "the CQE after the throwing one is still there");
  assertEquals(r.cqeUserData(0), 2);
  r.advance(1);
  r.close();
});

test("ring: close unmaps and closes the fd", () => {
  const before = openFds();
  const rings = [ring(64), ring(8, [0]), ring(256)];
  assertEquals(openFds(), before + 3);
  for (const r of rings) r.close();
  assertEquals(openFds(), before, "every ring fd closed");
});

test("ring: NOP round-trip cost, 64 SQEs per submit and reap", () => {
  const r = ring(64);
  const BATCH = 64;
  let reaped = 0;
  const onCqe = (_ud: number, _res: number, _flags: number) => void reaped++;
  const round = () => {
    for (let i = 0; i < BATCH; i++) r.prepNop(r.getSqe(), i);
    r.submit(BATCH, true);
    r.reap(onCqe);
  };
  for (let i = 0; i < 200; i++) round(); // warm up the JIT
  const results: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const rounds = 2000;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) round();
    results.push(((performance.now() - t0) * 1e6) / (rounds * BATCH));
  }
  assertEquals(reaped, (200 + 5 * 2000) * BATCH, "every NOP reaped");
  const sorted = [...results].sort((a, b) => a - b);
  console.log(
    `  ${sys.runtime}: NOP submit+reap, 64 per io_uring_enter: median ${sorted[2].toFixed(1)} ns/SQE ` +
      `(min ${sorted[0].toFixed(1)}, max ${sorted[4].toFixed(1)})`,
  );
  assert(sorted[2] < 20_000, `a NOP costs ${sorted[2]} ns`);
  r.close();
});

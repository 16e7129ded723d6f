/**
 * One io_uring instance: setup with the best flags this kernel accepts, the SQ/CQ rings and the SQE
 * array mapped as ArrayBuffers, liburing-style SQE helpers, submit/wait, and CQE reaping.
 *
 * The per-entry path (getSqe, prep*, peekCqe, cqe*, advance) makes no BigInt and allocates nothing:
 * SQEs are written as sixteen u32 words, u64 fields (addresses, user_data) as two u32 halves, and
 * head/tail go through Atomics on a Uint32Array view of the ring (docs/kernel.md, 'Ring memory and ordering'). Every kernel
 * failure is a `-errno` result or a failure object, never a throw.
 *
 * @example
 * ```ts
 * const setup = Ring.setup(sys, 64);
 * if (!setup.ok) throw new Error(setup.reason);
 * const ring = setup.ring;
 * const slot = ring.getSqe();
 * ring.prepNop(slot, 42);
 * ring.submitAndWait(1000);
 * for (let n = ring.peekCqe(), i = 0; i < n; i++) console.log(ring.cqeUserData(i), ring.cqeRes(i));
 * ring.advance(ring.peekCqe());
 * ring.close();
 * ```
 *
 * @module
 */
import {
  EINVAL,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  IO_URING_GETEVENTS_ARG_SIZE,
  IO_URING_PARAMS_SIZE,
  IO_URING_SQE_SIZE,
  IORING_CQ_EVENTFD_DISABLED,
  IORING_ENTER_EXT_ARG,
  IORING_ENTER_GETEVENTS,
  IORING_FEAT_EXT_ARG,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OFF_CQ_RING,
  IORING_OFF_SQ_RING,
  IORING_OFF_SQES,
  IORING_OP_NOP,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_SENDMSG_ZC,
  IORING_RECVSEND_FIXED_BUF,
  IORING_REGISTER_EVENTFD,
  IORING_REGISTER_EVENTFD_ASYNC,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_CQE32,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_NO_MMAP,
  IORING_SETUP_NO_SQARRAY,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQPOLL,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SETUP_TASKRUN_FLAG,
  IORING_SQ_CQ_OVERFLOW,
  IORING_SQ_TASKRUN,
  IORING_UNREGISTER_EVENTFD,
  MAP_POPULATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SYS_io_uring_enter,
  SYS_io_uring_register,
  SYS_io_uring_setup,
} from "../constants.ts";
import { errnoName } from "../errno_name.ts";
import { bufferOf, byteLengthOf, setBytes, subarrayOf } from "../intrinsics.ts";
import { Slab } from "../slab.ts";
import type { Sys } from "../sys.ts";

const TWO_32 = 4294967296;
/** Largest SQ size io_uring_setup takes without CLAMP; the CQ may be twice that. */
const MAX_ENTRIES = 32768;
const MAX_CQ_ENTRIES = 2 * MAX_ENTRIES;

// The ring's scratch page: io_uring_params during setup, then the timed-wait argument, and the
// argument area that register() copies through.
const SCRATCH_SIZE = 4096;
const PARAMS_OFF = 0;
const GETEVENTS_ARG_OFF = 128;
const TIMESPEC_OFF = 160;
const REGISTER_ARG_OFF = 256;
/** Largest argument {@link Ring.register} copies through its scratch page (a full probe is 2064). */
export const REGISTER_ARG_MAX = SCRATCH_SIZE - REGISTER_ARG_OFF;

/**
 * The flag sets {@link Ring.setup} tries, best first; each gets IORING_SETUP_CQSIZE added, and the
 * chain moves on only on EINVAL:
 * SUBMIT_ALL|SINGLE_ISSUER|DEFER_TASKRUN|NO_SQARRAY → without NO_SQARRAY (6.1–6.5) →
 * SINGLE_ISSUER|DEFER_TASKRUN → COOP_TASKRUN|TASKRUN_FLAG (5.19) → none.
 * TASKRUN_FLAG rides along with DEFER_TASKRUN (accepted wherever DEFER_TASKRUN is): it sets
 * IORING_SQ_TASKRUN while deferred completions wait for an enter(GETEVENTS), which is how a
 * completion pass knows, without a syscall, that it must enter once more (README.md).
 */
export const DEFAULT_SETUP_CHAIN: readonly number[] = [
  IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
  IORING_SETUP_NO_SQARRAY,
  IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
  IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
  0,
];

const FLAG_NAMES: readonly [number, string][] = [
  [IORING_SETUP_SQPOLL, "SQPOLL"],
  [IORING_SETUP_CQSIZE, "CQSIZE"],
  [IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"],
  [IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"],
  [IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"],
  [IORING_SETUP_CQE32, "CQE32"],
  [IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"],
  [IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"],
  [IORING_SETUP_NO_MMAP, "NO_MMAP"],
  [IORING_SETUP_NO_SQARRAY, "NO_SQARRAY"],
];

/** `IORING_SETUP_*` flags as `A|B|C` ("none" for 0; unknown bits in hex). */
export const setupFlagNames = (flags: number): string => {
  const names: string[] = [];
  let rest = flags >>> 0;
  for (const [bit, name] of FLAG_NAMES) {
    if ((rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length === 0 ? "none" : names.join("|");
};

/** One io_uring_setup call: the flags asked for, and the errno the kernel gave (0: accepted). */
export interface SetupAttempt {
  readonly flags: number;
  readonly names: string;
  readonly errno: number;
}

export interface RingOptions {
  /** CQ ring size (rounded up to a power of two by the kernel). Default 4 × entries: SEND_ZC takes two CQEs. */
  readonly cqEntries?: number;
  /** Flag sets to try in order instead of {@link DEFAULT_SETUP_CHAIN}; CQSIZE is added to each. */
  readonly flagChain?: readonly number[];
}

/** What {@link Ring.setup} gives: a ring and how it was made, or why there is none. */
export type RingSetup =
  | {
    readonly ok: true;
    readonly ring: Ring;
    /** The IORING_SETUP_* flags the ring has. */
    readonly flags: number;
    /** Every io_uring_setup call made, in order; the last one succeeded. */
    readonly attempts: readonly SetupAttempt[];
    /** One line: which flags were granted, and what each refused set got. */
    readonly report: string;
  }
  | {
    readonly ok: false;
    /** The errno that decided it (ENOSYS, EPERM, EINVAL, ENOMEM, EMFILE, ...). */
    readonly errno: number;
    /** Its name. */
    readonly code: string;
    /** A sentence a caller can log or show: why there is no ring and what to do. */
    readonly reason: string;
    readonly attempts: readonly SetupAttempt[];
  };

const describeAttempts = (attempts: readonly SetupAttempt[]): string =>
  attempts.map((a) => `${a.names}: ${a.errno === 0 ? "ok" : errnoName(a.errno)}`).join("; ");

const failure = (errno: number, reason: string, attempts: readonly SetupAttempt[]): RingSetup => ({
  ok: false,
  errno,
  code: errnoName(errno),
  reason,
  attempts,
});

/** Why io_uring_setup failed with `errno`, in words. */
export const setupFailureReason = (errno: number): string => {
  switch (errno) {
    case ENOSYS:
      return "io_uring is not available in this kernel (io_uring_setup: ENOSYS); use the copy or MSG_ZEROCOPY backend";
    case EPERM:
      return "io_uring is blocked for this process (io_uring_setup: EPERM): kernel.io_uring_disabled is set, " +
        "or a seccomp or container profile forbids it; use the copy or MSG_ZEROCOPY backend";
    case EINVAL:
      return "the kernel refused every io_uring flag set tried (EINVAL)";
    default:
      return `io_uring_setup failed: ${errnoName(errno)} (errno ${errno})`;
  }
};

/** The 40-byte `io_sqring_offsets` / `io_cqring_offsets`, read from io_uring_params. */
interface RingOffsets {
  readonly head: number;
  readonly tail: number;
  readonly ringMask: number;
  readonly ringEntries: number;
  /** sq: flags; cq: overflow. */
  readonly f16: number;
  /** sq: dropped; cq: cqes. */
  readonly f20: number;
  /** sq: array; cq: flags. */
  readonly f24: number;
}

const readOffsets = (d: DataView, at: number): RingOffsets => ({
  head: d.getUint32(at, true),
  tail: d.getUint32(at + 4, true),
  ringMask: d.getUint32(at + 8, true),
  ringEntries: d.getUint32(at + 12, true),
  f16: d.getUint32(at + 16, true),
  f20: d.getUint32(at + 20, true),
  f24: d.getUint32(at + 24, true),
});

/** The mappings a ring is made of, unmapped by close(). */
interface Mapping {
  readonly addr: number;
  readonly length: number;
}

export class Ring {
  /** The ring fd. */
  readonly fd: number;
  /** IORING_SETUP_* flags granted. */
  readonly flags: number;
  /** IORING_FEAT_* bits the kernel reported. */
  readonly features: number;
  /** SQ and CQ sizes after the kernel's rounding. */
  readonly sqEntries: number;
  readonly cqEntries: number;
  /** Completion task work runs only in enter(GETEVENTS): SEND_ZC notifications need {@link getEvents}. */
  readonly deferTaskrun: boolean;
  /** submitAndWait with a finite timeout works (IORING_FEAT_EXT_ARG). */
  readonly hasExtArg: boolean;
  /** io_uring_enter calls made, for stats. */
  enters = 0;

  readonly #sys: Sys;
  readonly #scratch: Slab;
  readonly #mappings: readonly Mapping[];
  readonly #sq: Uint32Array;
  readonly #cq: Uint32Array;
  readonly #cqi: Int32Array;
  readonly #sqe: Uint32Array;
  // Word (u32) indexes into #sq / #cq.
  readonly #sqHeadW: number;
  readonly #sqTailW: number;
  readonly #sqFlagsW: number;
  readonly #sqMask: number;
  readonly #cqHeadW: number;
  readonly #cqTailW: number;
  readonly #cqFlagsW: number;
  readonly #cqOverflowW: number;
  readonly #cqesW: number;
  readonly #cqMask: number;
  readonly #timespec: Uint32Array;
  readonly #argAddr: number;
  /** Next SQE to hand out (free-running), the tail last published, and the SQ head last read. */
  #tail = 0;
  #published = 0;
  #head = 0;
  /** The CQ head as this side knows it (only this side moves it). */
  #cqHead = 0;
  #lastTimeoutMs = -1;
  #closed = false;

  private constructor(
    sys: Sys,
    scratch: Slab,
    fd: number,
    flags: number,
    mappings: readonly Mapping[],
    sqMem: ArrayBuffer,
    cqMem: ArrayBuffer,
    sqeMem: ArrayBuffer,
  ) {
    const p = scratch.data;
    const sqOff = readOffsets(p, PARAMS_OFF + 40);
    const cqOff = readOffsets(p, PARAMS_OFF + 80);
    this.#sys = sys;
    this.#scratch = scratch;
    this.fd = fd;
    this.flags = flags;
    this.sqEntries = p.getUint32(PARAMS_OFF, true);
    this.cqEntries = p.getUint32(PARAMS_OFF + 4, true);
    this.features = p.getUint32(PARAMS_OFF + 20, true);
    this.deferTaskrun = (flags & IORING_SETUP_DEFER_TASKRUN) !== 0;
    this.hasExtArg = (this.features & IORING_FEAT_EXT_ARG) !== 0;
    this.#mappings = mappings;
    this.#sq = new Uint32Array(sqMem);
    this.#cq = new Uint32Array(cqMem);
    this.#cqi = new Int32Array(cqMem);
    this.#sqe = new Uint32Array(sqeMem);
    this.#sqHeadW = sqOff.head >>> 2;
    this.#sqTailW = sqOff.tail >>> 2;
    this.#sqFlagsW = sqOff.f16 >>> 2;
    this.#sqMask = this.#sq[sqOff.ringMask >>> 2];
    this.#cqHeadW = cqOff.head >>> 2;
    this.#cqTailW = cqOff.tail >>> 2;
    this.#cqOverflowW = cqOff.f16 >>> 2;
    this.#cqesW = cqOff.f20 >>> 2;
    this.#cqFlagsW = cqOff.f24 >>> 2;
    this.#cqMask = this.#cq[cqOff.ringMask >>> 2];
    // Without NO_SQARRAY the kernel reads SQE indexes from array[]: fill it with the identity once
    // (as liburing does), so an SQE's slot is always `tail & mask`.
    if ((flags & IORING_SETUP_NO_SQARRAY) === 0) {
      const arrayW = sqOff.f24 >>> 2;
      for (let i = 0; i < this.sqEntries; i++) this.#sq[arrayW + i] = i;
    }
    this.#tail = this.#published = this.#head = Atomics.load(this.#sq, this.#sqTailW);
    this.#cqHead = Atomics.load(this.#cq, this.#cqHeadW);
    // The timed wait's argument lives in the scratch page: sigmask NULL, sigmask_sz 8, ts → timespec.
    const arg = new DataView(bufferOf(scratch.bytes), GETEVENTS_ARG_OFF, IO_URING_GETEVENTS_ARG_SIZE);
    for (let i = 0; i < IO_URING_GETEVENTS_ARG_SIZE; i += 4) arg.setUint32(i, 0, true);
    arg.setUint32(8, 8, true);
    const ts = scratch.addr + TIMESPEC_OFF;
    arg.setUint32(16, ts >>> 0, true);
    arg.setUint32(20, Math.floor(ts / TWO_32), true);
    this.#timespec = new Uint32Array(bufferOf(scratch.bytes), TIMESPEC_OFF, 4);
    this.#argAddr = scratch.addr + GETEVENTS_ARG_OFF;
  }

  /**
   * Makes a ring of `entries` SQEs (1..32768, rounded up to a power of two), trying the flag sets of
   * the chain in order and moving on only on EINVAL. ENOSYS, EPERM and other errors end the chain
   * with a failure result that says why.
   */
  static setup(sys: Sys, entries: number, options: RingOptions = {}): RingSetup {
    const attempts: SetupAttempt[] = [];
    if (!Number.isInteger(entries) || entries < 1 || entries > MAX_ENTRIES) {
      return failure(EINVAL, `ring entries must be a whole number in 1..${MAX_ENTRIES}, got ${entries}`, attempts);
    }
    const cqWanted = options.cqEntries ?? Math.min(MAX_CQ_ENTRIES, 4 * entries);
    if (!Number.isInteger(cqWanted) || cqWanted < entries || cqWanted > MAX_CQ_ENTRIES) {
      return failure(EINVAL, `cqEntries must be a whole number in ${entries}..${MAX_CQ_ENTRIES}, got ${cqWanted}`, attempts);
    }
    let scratch: Slab;
    try {
      scratch = Slab.map(sys, SCRATCH_SIZE);
    } catch (e) {
      const errno = (e as { errno?: number }).errno ?? 12;
      return failure(errno, `could not map the ring's scratch page: ${(e as Error).message}`, attempts);
    }
    const chain = [...(options.flagChain ?? DEFAULT_SETUP_CHAIN).map((f) => f | IORING_SETUP_CQSIZE)];
    // A last resort for a kernel that knows none of these, CQSIZE included.
    if (!chain.includes(0)) chain.push(0);
    const p = scratch.data;
    let fd = -EINVAL, flags = 0;
    for (const want of chain) {
      scratch.bytes.fill(0, PARAMS_OFF, PARAMS_OFF + IO_URING_PARAMS_SIZE);
      p.setUint32(PARAMS_OFF + 8, want, true);
      if ((want & IORING_SETUP_CQSIZE) !== 0) p.setUint32(PARAMS_OFF + 4, cqWanted, true);
      fd = sys.syscall6(SYS_io_uring_setup, entries, scratch.addr + PARAMS_OFF, 0, 0, 0, 0);
      attempts.push({ flags: want, names: setupFlagNames(want), errno: fd < 0 ? -fd : 0 });
      flags = want;
      if (fd !== -EINVAL) break;
    }
    if (fd < 0) {
      scratch.unmap();
      const reason = setupFailureReason(-fd);
      return failure(-fd, fd === -EINVAL ? `${reason}: ${describeAttempts(attempts)}` : reason, attempts);
    }
    const mapped = Ring.#map(sys, fd, flags, scratch);
    if (typeof mapped === "number") {
      sys.close(fd);
      scratch.unmap();
      return failure(-mapped, `mmap of the io_uring rings failed: ${errnoName(-mapped)}`, attempts);
    }
    const ring = new Ring(sys, scratch, fd, flags, mapped.mappings, mapped.sq, mapped.cq, mapped.sqes);
    const refused = attempts.filter((a) => a.errno !== 0);
    const report = `io_uring flags ${setupFlagNames(flags)} (features 0x${ring.features.toString(16)}, ` +
      `sq ${ring.sqEntries}, cq ${ring.cqEntries})` +
      (refused.length > 0 ? `; refused first: ${describeAttempts(refused)}` : "");
    return { ok: true, ring, flags, attempts, report };
  }

  /** Maps the SQ ring, CQ ring and SQE array; returns -errno if a mapping fails (the rest is undone). */
  static #map(
    sys: Sys,
    fd: number,
    flags: number,
    scratch: Slab,
  ): number | { mappings: Mapping[]; sq: ArrayBuffer; cq: ArrayBuffer; sqes: ArrayBuffer } {
    const p = scratch.data;
    const sqEntries = p.getUint32(PARAMS_OFF, true);
    const cqEntries = p.getUint32(PARAMS_OFF + 4, true);
    const features = p.getUint32(PARAMS_OFF + 20, true);
    const sqOff = readOffsets(p, PARAMS_OFF + 40);
    const cqOff = readOffsets(p, PARAMS_OFF + 80);
    const noSqArray = (flags & IORING_SETUP_NO_SQARRAY) !== 0;
    // liburing's sizes: the SQ ring ends after array[] (with NO_SQARRAY after its header fields).
    const sqHeader = Math.max(sqOff.head, sqOff.tail, sqOff.ringMask, sqOff.ringEntries, sqOff.f16, sqOff.f20) + 4;
    let sqBytes = Math.max(sqHeader, (noSqArray ? 0 : sqOff.f24) + sqEntries * 4);
    let cqBytes = cqOff.f20 + cqEntries * 16;
    const single = (features & IORING_FEAT_SINGLE_MMAP) !== 0;
    if (single) sqBytes = cqBytes = Math.max(sqBytes, cqBytes);
    const mappings: Mapping[] = [];
    const map = (length: number, offset: number): number => {
      const addr = sys.mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
      if (addr >= 0) mappings.push({ addr, length });
      return addr;
    };
    const undo = (negErrno: number): number => {
      for (const m of mappings) sys.munmap(m.addr, m.length);
      return negErrno;
    };
    const sqAddr = map(sqBytes, IORING_OFF_SQ_RING);
    if (sqAddr < 0) return undo(sqAddr);
    const cqAddr = single ? sqAddr : map(cqBytes, IORING_OFF_CQ_RING);
    if (cqAddr < 0) return undo(cqAddr);
    const sqeBytes = sqEntries * IO_URING_SQE_SIZE;
    const sqesAddr = map(sqeBytes, IORING_OFF_SQES);
    if (sqesAddr < 0) return undo(sqesAddr);
    const sq = sys.memory(sqAddr, sqBytes);
    return {
      mappings,
      sq,
      cq: single ? sq : sys.memory(cqAddr, cqBytes),
      sqes: sys.memory(sqesAddr, sqeBytes),
    };
  }

  // ── SQ side ─────────────────────────────────────────────────────────────────────────

  /**
   * The slot of a free SQE (fill it with one prep* helper), or -1 when the SQ is full: submit first.
   * Slots handed out are submitted, in order, by the next {@link submit}.
   */
  getSqe(): number {
    const tail = this.#tail;
    if (((tail - this.#head) >>> 0) >= this.sqEntries) {
      this.#head = Atomics.load(this.#sq, this.#sqHeadW); // acquire: the kernel is done with those slots
      if (((tail - this.#head) >>> 0) >= this.sqEntries) return -1;
    }
    this.#tail = (tail + 1) >>> 0;
    return tail & this.#sqMask;
  }

  /** Free SQE slots now. */
  sqSpace(): number {
    this.#head = Atomics.load(this.#sq, this.#sqHeadW);
    return this.sqEntries - ((this.#tail - this.#head) >>> 0);
  }

  /** SQEs handed out by getSqe and not yet consumed by the kernel. */
  pending(): number {
    return (this.#tail - Atomics.load(this.#sq, this.#sqHeadW)) >>> 0;
  }

  /**
   * io_uring_prep_rw: zeroes the 64-byte SQE and sets opcode, fd, addr, len and user_data. Every
   * word is written, so nothing of an earlier request survives in the slot.
   */
  #prep(slot: number, opcode: number, fd: number, addr: number, len: number, userData: number): number {
    const s = this.#sqe, b = slot << 4;
    s[b] = opcode; // opcode u8, flags u8 (IOSQE_*) = 0, ioprio u16 = 0
    s[b + 1] = fd;
    s[b + 2] = 0; // off / addr2 (u64)
    s[b + 3] = 0;
    s[b + 4] = addr >>> 0; // addr (u64)
    s[b + 5] = (addr / TWO_32) >>> 0;
    s[b + 6] = len;
    s[b + 7] = 0; // msg_flags / rw_flags
    s[b + 8] = userData >>> 0; // user_data (u64)
    s[b + 9] = (userData / TWO_32) >>> 0;
    s[b + 10] = 0; // buf_index u16, personality u16
    s[b + 11] = 0; // addr_len u16 / file_index, __pad3
    s[b + 12] = 0; // addr3 (must be 0 for SEND_ZC)
    s[b + 13] = 0;
    s[b + 14] = 0; // __pad2
    s[b + 15] = 0;
    return b;
  }

  /** IORING_OP_NOP: completes with res 0 and the same user_data. */
  prepNop(slot: number, userData: number): void {
    this.#prep(slot, IORING_OP_NOP, -1, 0, 0, userData);
  }

  /** IORING_OP_SEND: a copying `send(fd, addr, len, msgFlags)` through the ring (one CQE). */
  prepSend(slot: number, fd: number, addr: number, len: number, msgFlags: number, userData: number): void {
    const b = this.#prep(slot, IORING_OP_SEND, fd, addr, len, userData);
    this.#sqe[b + 7] = msgFlags;
  }

  /**
   * IORING_OP_SEND_ZC from unregistered memory. `zcFlags` go in sqe.ioprio: IORING_RECVSEND_POLL_FIRST,
   * IORING_SEND_ZC_REPORT_USAGE. Two CQEs: the result (with F_MORE), then the notification (F_NOTIF),
   * both with this user_data; the buffer is the kernel's until the notification.
   */
  prepSendZc(
    slot: number,
    fd: number,
    addr: number,
    len: number,
    msgFlags: number,
    zcFlags: number,
    userData: number,
  ): void {
    const b = this.#prep(slot, IORING_OP_SEND_ZC, fd, addr, len, userData);
    this.#sqe[b] = IORING_OP_SEND_ZC | ((zcFlags & 0xffff) << 16);
    this.#sqe[b + 7] = msgFlags;
  }

  /**
   * IORING_OP_SEND_ZC from registered buffer `bufIndex`: `addr` is an address inside it (the
   * region's address plus the slice offset). IORING_RECVSEND_FIXED_BUF is added to `zcFlags`.
   */
  prepSendZcFixed(
    slot: number,
    fd: number,
    addr: number,
    len: number,
    msgFlags: number,
    zcFlags: number,
    userData: number,
    bufIndex: number,
  ): void {
    const b = this.#prep(slot, IORING_OP_SEND_ZC, fd, addr, len, userData);
    this.#sqe[b] = IORING_OP_SEND_ZC | (((zcFlags | IORING_RECVSEND_FIXED_BUF) & 0xffff) << 16);
    this.#sqe[b + 7] = msgFlags;
    this.#sqe[b + 10] = bufIndex & 0xffff;
  }

  /**
   * IORING_OP_SENDMSG_ZC: `msghdrAddr` is a `struct msghdr` (and its iovecs) that must stay put
   * until the first CQE; the data until the notification. `zcFlags` as for {@link prepSendZc}.
   */
  prepSendmsgZc(slot: number, fd: number, msghdrAddr: number, msgFlags: number, userData: number, zcFlags = 0): void {
    const b = this.#prep(slot, IORING_OP_SENDMSG_ZC, fd, msghdrAddr, 1, userData);
    this.#sqe[b] = IORING_OP_SENDMSG_ZC | ((zcFlags & 0xffff) << 16);
    this.#sqe[b + 7] = msgFlags;
  }

  /** Sets the IOSQE_* byte of a prepared SQE (IO_LINK, ASYNC, ...; never CQE_SKIP_SUCCESS for SEND_ZC). */
  setSqeFlags(slot: number, iosqeFlags: number): void {
    const b = slot << 4;
    this.#sqe[b] = (this.#sqe[b] & 0xffff00ff) | ((iosqeFlags & 0xff) << 8);
  }

  /** Sets a prepared SQE's user_data from two u32 halves (for values of 2^53 and above). */
  setUserData(slot: number, lo: number, hi: number): void {
    const b = slot << 4;
    this.#sqe[b + 8] = lo;
    this.#sqe[b + 9] = hi;
  }

  /** Publishes the tail (release store) and returns how many SQEs the kernel has yet to consume. */
  #flush(): number {
    if (this.#published !== this.#tail) {
      this.#published = this.#tail;
      Atomics.store(this.#sq, this.#sqTailW, this.#tail);
    }
    return (this.#tail - Atomics.load(this.#sq, this.#sqHeadW)) >>> 0;
  }

  /**
   * io_uring_enter(to_submit = pending SQEs, minComplete, GETEVENTS if asked or minComplete > 0).
   * Returns the SQEs consumed, or -errno (EINTR, EBUSY when the CQ is backed up, EAGAIN, ...). With
   * nothing to submit and nothing to wait for it makes no syscall and returns 0.
   */
  submit(minComplete = 0, getEvents = false): number {
    const toSubmit = this.#flush();
    const flags = getEvents || minComplete > 0 ? IORING_ENTER_GETEVENTS : 0;
    if (toSubmit === 0 && flags === 0) return 0;
    this.enters++;
    return this.#sys.syscall6(SYS_io_uring_enter, this.fd, toSubmit, minComplete, flags, 0, 0);
  }

  /**
   * Submits what is pending and waits up to `timeoutMs` (a negative value waits without limit) for
   * `minComplete` CQEs, with IORING_ENTER_EXT_ARG. Returns the SQEs consumed (the wait's outcome is
   * then in the CQ: check {@link peekCqe}); with nothing submitted, -ETIME when the time ran out,
   * which is a normal outcome. -EOPNOTSUPP without IORING_FEAT_EXT_ARG (kernels before 5.11).
   */
  submitAndWait(timeoutMs: number, minComplete = 1): number {
    if (timeoutMs < 0) return this.submit(minComplete, true);
    if (!this.hasExtArg) return -EOPNOTSUPP;
    const toSubmit = this.#flush();
    if (timeoutMs !== this.#lastTimeoutMs) {
      this.#lastTimeoutMs = timeoutMs;
      const ns = Math.round(timeoutMs * 1e6);
      const sec = Math.floor(ns / 1e9);
      const ts = this.#timespec;
      ts[0] = sec >>> 0; // tv_sec (s64)
      ts[1] = (sec / TWO_32) >>> 0;
      ts[2] = ns - sec * 1e9; // tv_nsec (s64), always < 1e9
      ts[3] = 0;
    }
    this.enters++;
    return this.#sys.syscall6(
      SYS_io_uring_enter,
      this.fd,
      toSubmit,
      minComplete,
      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
      this.#argAddr,
      IO_URING_GETEVENTS_ARG_SIZE,
    );
  }

  /**
   * io_uring_enter(0, 0, GETEVENTS): runs pending completion task work and flushes overflowed CQEs,
   * without waiting. With DEFER_TASKRUN this is what makes SEND_ZC notifications appear; it must be
   * called from the thread that made the ring.
   */
  getEvents(): number {
    this.enters++;
    return this.#sys.syscall6(SYS_io_uring_enter, this.fd, 0, 0, IORING_ENTER_GETEVENTS, 0, 0);
  }

  /** The SQ ring flags word (IORING_SQ_NEED_WAKEUP, IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN). */
  sqFlags(): number {
    return Atomics.load(this.#sq, this.#sqFlagsW);
  }

  /** CQEs are waiting in the kernel's overflow list: reap, then {@link getEvents} to flush them in. */
  cqOverflowPending(): boolean {
    return (this.sqFlags() & IORING_SQ_CQ_OVERFLOW) !== 0;
  }

  /** With IORING_SETUP_TASKRUN_FLAG: completion task work waits for an enter(GETEVENTS). */
  taskrunPending(): boolean {
    return (this.sqFlags() & IORING_SQ_TASKRUN) !== 0;
  }

  // ── CQ side ─────────────────────────────────────────────────────────────────────────

  /** CQEs ready to read now (acquire load of the CQ tail). Read them with cqe*(i), i < the count. */
  peekCqe(): number {
    return (Atomics.load(this.#cq, this.#cqTailW) - this.#cqHead) >>> 0;
  }

  /** Word index of the i-th ready CQE. */
  #cqe(i: number): number {
    return this.#cqesW + (((this.#cqHead + i) & this.#cqMask) << 2);
  }

  /** user_data of the i-th ready CQE, as a number (exact below 2^53). */
  cqeUserData(i = 0): number {
    const w = this.#cqe(i);
    return this.#cq[w] + this.#cq[w + 1] * TWO_32;
  }

  /** Low 32 bits of the i-th ready CQE's user_data. */
  cqeUserDataLo(i = 0): number {
    return this.#cq[this.#cqe(i)];
  }

  /** High 32 bits of the i-th ready CQE's user_data. */
  cqeUserDataHi(i = 0): number {
    return this.#cq[this.#cqe(i) + 1];
  }

  /** res of the i-th ready CQE, signed: bytes or -errno; for a REPORT_USAGE NOTIF, negative means copied. */
  cqeRes(i = 0): number {
    return this.#cqi[this.#cqe(i) + 2];
  }

  /** flags of the i-th ready CQE (IORING_CQE_F_MORE, IORING_CQE_F_NOTIF, ...). */
  cqeFlags(i = 0): number {
    return this.#cq[this.#cqe(i) + 3];
  }

  /** Hands `n` read CQEs back to the kernel (release store of the CQ head). */
  advance(n: number): void {
    if (n <= 0) return;
    this.#cqHead = (this.#cqHead + n) >>> 0;
    Atomics.store(this.#cq, this.#cqHeadW, this.#cqHead);
  }

  /**
   * Calls `handler(userData, res, flags)` for every ready CQE, then advances past them all at once;
   * returns how many. Make the handler once, not per call. If the handler throws, the CQEs it was
   * given (the throwing one included) are consumed and the rest stay in the CQ.
   */
  reap(handler: (userData: number, res: number, flags: number) => void): number {
    let total = 0;
    for (;;) {
      const n = this.peekCqe();
      if (n === 0) return total;
      let i = 0;
      try {
        for (; i < n; i++) {
          const w = this.#cqe(i);
          handler(this.#cq[w] + this.#cq[w + 1] * TWO_32, this.#cqi[w + 2], this.#cq[w + 3]);
        }
      } finally {
        this.advance(i < n ? i + 1 : n);
      }
      total += n;
    }
  }

  /** CQEs the kernel dropped for want of room (without FEAT_NODROP; 0 on modern kernels). */
  cqOverflowCount(): number {
    return Atomics.load(this.#cq, this.#cqOverflowW);
  }

  // ── Registration ────────────────────────────────────────────────────────────────────

  /**
   * io_uring_register(fd, opcode, arg, nrArgs) with `arg` copied through the ring's scratch page
   * (at most {@link REGISTER_ARG_MAX} bytes) and copied back afterwards, so the kernel's answer
   * (a probe) lands in `arg`. Returns the kernel's result or -errno. Not for the hot path.
   */
  register(opcode: number, arg: Uint8Array | null, nrArgs: number): number {
    if (arg === null) return this.registerAt(opcode, 0, nrArgs);
    const length = byteLengthOf(arg);
    if (length > REGISTER_ARG_MAX) return -EINVAL;
    const area = subarrayOf(this.#scratch.bytes, REGISTER_ARG_OFF, REGISTER_ARG_OFF + length);
    setBytes(area, arg, 0);
    const r = this.registerAt(opcode, this.#scratch.addr + REGISTER_ARG_OFF, nrArgs);
    setBytes(arg, area, 0);
    return r;
  }

  /** io_uring_register with an argument already at `argAddr` (0 for NULL). */
  registerAt(opcode: number, argAddr: number, nrArgs: number): number {
    return this.#sys.syscall6(SYS_io_uring_register, this.fd, opcode, argAddr, nrArgs, 0, 0);
  }

  /**
   * Signals eventfd `efd` whenever CQEs are posted (`asyncOnly`: only for completions that did
   * not finish inline). EBUSY if one is registered already. See README.md for how this behaves
   * with DEFER_TASKRUN.
   */
  registerEventfd(efd: number, asyncOnly = false): number {
    const arg = new Uint8Array(4);
    new DataView(bufferOf(arg)).setInt32(0, efd, true);
    return this.register(asyncOnly ? IORING_REGISTER_EVENTFD_ASYNC : IORING_REGISTER_EVENTFD, arg, 1);
  }

  /** Stops signalling the registered eventfd. */
  unregisterEventfd(): number {
    return this.register(IORING_UNREGISTER_EVENTFD, null, 0);
  }

  /** Pauses (false) or resumes (true) eventfd signals without unregistering (IORING_CQ_EVENTFD_DISABLED). */
  setEventfdEnabled(enabled: boolean): void {
    const w = this.#cqFlagsW;
    const now = Atomics.load(this.#cq, w);
    Atomics.store(this.#cq, w, enabled ? now & ~IORING_CQ_EVENTFD_DISABLED : now | IORING_CQ_EVENTFD_DISABLED);
  }

  // ── Teardown ────────────────────────────────────────────────────────────────────────

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Unmaps the rings and closes the fd. The kernel then cancels what is in flight and releases
   * registered buffers on its own; memory a SEND_ZC still reads must outlive the notification, so
   * callers close only once every notification is in (or the process no longer cares).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#mappings) this.#sys.munmap(m.addr, m.length);
    this.#sys.close(this.fd);
    this.#scratch.unmap();
  }
}

/**
 * What this kernel and process allow, found once per process by asking the kernel, never by
 * version numbers.
 *
 * @module
 */
import {
  AF_INET,
  EFAULT,
  ENOPROTOOPT,
  MSG_DONTWAIT,
  MSG_ZEROCOPY,
  RLIMIT_MEMLOCK,
  SO_ZEROCOPY,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SYS_io_uring_setup,
} from "../ffi/constants.ts";
import { errnoName } from "../ffi/errno_name.ts";
import { loadSys } from "../ffi/load_sys.ts";
import type { RuntimeName, Sys } from "../ffi/sys.ts";
import { Slab } from "../ffi/slab.ts";
import { encodeSockaddr } from "../ffi/sockaddr.ts";
import { cmsgAlign, CMSGHDR_SIZE, getU64, setIovec, setMsghdr, setU64, SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { readFileSync } from "node:fs";
import { probeOps } from "../ffi/io_uring/probe_ops.ts";
import { Ring } from "../ffi/io_uring/ring.ts";
import { registerLeasePool, RING_ENTRIES } from "./uring_dispatcher.ts";

/** A capability and, when it is missing, why. */
export interface Capability {
  /** Whether this process can use it. */
  readonly available: boolean;
  /** Why not, when it is not available. */
  readonly reason?: string;
}

/** What {@link probe} found: the runtime, the kernel, and what this process may use of it. */
export interface ProbeResult {
  /** The JavaScript runtime this process runs in. */
  readonly runtime: RuntimeName;
  /** The kernel release (`/proc/sys/kernel/osrelease`), or "unknown". */
  readonly kernel: string;
  /** io_uring_setup works in this process. */
  readonly ioUring: Capability;
  /** The ops the io_uring backend uses: SEND_ZC, SENDMSG_ZC, SEND, and SEND_ZC_REPORT_USAGE (checked live). */
  readonly ioUringOps: {
    readonly sendZc: boolean;
    readonly sendmsgZc: boolean;
    readonly send: boolean;
    readonly reportUsage: boolean;
  };
  /** How the thread's shared ring was set up (flags granted), or why there is none. */
  readonly ioUringRing: Capability & { readonly setup?: string };
  /** Registered-buffer leases (IORING_REGISTER_BUFFERS under RLIMIT_MEMLOCK), or why not. */
  readonly registeredBuffers: Capability;
  /** SO_ZEROCOPY can be set on a TCP socket. */
  readonly msgZerocopy: Capability;
  /**
   * Whether sendmsg returns zero-copy notifications in an SCM_ZC_NOTIFICATION control message. The
   * proposal (netdev, 2024) was never merged and its number now means SO_DEVMEM_LINEAR, so kernels
   * answer EINVAL and zcio reads notifications from the socket error queue.
   */
  readonly scmZcNotification: Capability;
  /** RLIMIT_MEMLOCK soft limit in bytes (Infinity when unlimited): caps registered and zero-copy memory. */
  readonly memlockBytes: number;
  /** net.core.optmem_max in bytes, or undefined if unreadable: caps MSG_ZEROCOPY sends in flight. */
  readonly optmemMax: number | undefined;
}

let cached: ProbeResult | undefined;

/**
 * Probes once per process and returns the same answer after.
 *
 * @example
 * ```ts
 * import { probe } from "@zcio/zcio";
 *
 * const p = await probe();
 * if (!p.ioUring.available) console.log("io_uring:", p.ioUring.reason);
 * ```
 */
export const probe = (): Promise<ProbeResult> => loadSys().then(probeWith);

/**
 * {@link probe} with the system calls already loaded, without a promise: connecting with
 * `backend: "auto"` reads it in the middle of its setup, which need not wait for a turn of the
 * microtask queue.
 */
export const probeWith = (sys: Sys): ProbeResult => (cached ??= run(sys));

const run = (sys: Sys): ProbeResult => {
  const ioUring = probeIoUring(sys);
  const ops = ioUring.available ? probeOps(sys) : undefined;
  const ring = ioUring.available
    ? probeRing(sys)
    : { ring: { available: false, reason: ioUring.reason }, buffers: { available: false, reason: ioUring.reason } };
  return {
    runtime: sys.runtime,
    kernel: readText("/proc/sys/kernel/osrelease") ?? "unknown",
    ioUring,
    ioUringOps: {
      sendZc: ops?.sendZc ?? false,
      sendmsgZc: ops?.sendmsgZc ?? false,
      send: ops?.send ?? false,
      reportUsage: ops?.reportUsage ?? false,
    },
    ioUringRing: ring.ring,
    registeredBuffers: ring.buffers,
    msgZerocopy: probeZerocopy(sys),
    scmZcNotification: probeScmZcNotification(sys),
    memlockBytes: memlock(sys),
    optmemMax: Number(readText("/proc/sys/net/core/optmem_max") ?? NaN) || undefined,
  };
};

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
};

const probeIoUring = (sys: Sys): Capability => {
  // A NULL params pointer: a kernel with io_uring answers EFAULT without making a ring;
  // ENOSYS means no io_uring, EPERM that it is blocked (seccomp, kernel.io_uring_disabled).
  const r = sys.syscall6(SYS_io_uring_setup, 1, 0, 0, 0, 0, 0);
  if (r === -EFAULT) return { available: true };
  if (r >= 0) {
    sys.close(r);
    return { available: true };
  }
  const disabled = readText("/proc/sys/kernel/io_uring_disabled");
  return {
    available: false,
    reason: `io_uring_setup failed with ${errnoName(-r)}` +
      (disabled !== undefined && disabled !== "0" ? ` (kernel.io_uring_disabled = ${disabled})` : ""),
  };
};

const probeZerocopy = (sys: Sys): Capability => {
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return { available: false, reason: `socket failed with ${errnoName(-fd)}` };
  const r = sys.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, new Uint8Array(new Int32Array([1]).buffer));
  sys.close(fd);
  if (r === 0) return { available: true };
  return {
    available: false,
    reason: r === -ENOPROTOOPT ? "the kernel has no SO_ZEROCOPY (before 4.14)" : `SO_ZEROCOPY failed with ${errnoName(-r)}`,
  };
};

const memlock = (sys: Sys): number => {
  const limit = new Uint8Array(16);
  if (sys.prlimit(0, RLIMIT_MEMLOCK, null, limit) < 0) return 0;
  const d = new DataView(limit.buffer);
  if (d.getUint32(0, true) === 0xffffffff && d.getUint32(4, true) === 0xffffffff) return Infinity;
  return getU64(d, 0);
};

/** SCM_ZC_NOTIFICATION as proposed (v8): SOL_SOCKET cmsg type 78 carrying `struct zc_info`. */
const SCM_ZC_NOTIFICATION = 78;
/** `zc_info { u32 size; zc_info_elem arr[16] }`, 12 bytes per element. */
const ZC_INFO_BYTES = 4 + 16 * 12;

/**
 * One MSG_ZEROCOPY datagram over loopback with the proposed cmsg attached. The kernel counts as
 * supporting it only if it accepts the send and rewrites `size` (the number of elements it filled,
 * at most the 16 offered); an EINVAL, or an acceptance that leaves the cmsg alone, means no.
 */
const probeScmZcNotification = (sys: Sys): Capability => {
  const rx = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const tx = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  let slab: Slab | undefined;
  try {
    if (rx < 0 || tx < 0) return { available: false, reason: "no UDP socket to probe with" };
    const any = encodeSockaddr("127.0.0.1", 0)!;
    sys.bind(rx, any);
    const bound = new Uint8Array(SOCKADDR_STORAGE_SIZE);
    const length = sys.getsockname(rx, bound);
    if (length < 0 || sys.connect(tx, bound.subarray(0, length)) < 0) {
      return { available: false, reason: "no loopback UDP pair to probe with" };
    }
    if (sys.setsockopt(tx, SOL_SOCKET, SO_ZEROCOPY, new Uint8Array(new Int32Array([1]).buffer)) < 0) {
      return { available: false, reason: "SO_ZEROCOPY is unavailable" };
    }
    slab = Slab.map(sys, 4096);
    const d = slab.data;
    const payload = 1024, iov = 64, control = 128;
    setIovec(d, iov, slab.addr + payload, 1);
    setU64(d, control, CMSGHDR_SIZE + ZC_INFO_BYTES);
    d.setInt32(control + 8, SOL_SOCKET, true);
    d.setInt32(control + 12, SCM_ZC_NOTIFICATION, true);
    d.setUint32(control + CMSGHDR_SIZE, 16, true);
    setMsghdr(d, 0, 0, 0, slab.addr + iov, 1, slab.addr + control, cmsgAlign(CMSGHDR_SIZE + ZC_INFO_BYTES));
    const r = sys.sendmsg(tx, slab.pointerAt(0), MSG_ZEROCOPY | MSG_DONTWAIT);
    if (r < 0) {
      return { available: false, reason: `sendmsg with SCM_ZC_NOTIFICATION failed with ${errnoName(-r)}; notifications come from the error queue` };
    }
    const filled = d.getUint32(control + CMSGHDR_SIZE, true);
    if (filled > 15) {
      return { available: false, reason: "the kernel accepted the cmsg but did not answer in it; notifications come from the error queue" };
    }
    return { available: true };
  } finally {
    slab?.unmap();
    if (rx >= 0) sys.close(rx);
    if (tx >= 0) sys.close(tx);
  }
};

/** A ring made the way the io_uring backend makes its own, with the lease pool registered on it. */
const probeRing = (sys: Sys): { ring: Capability & { setup?: string }; buffers: Capability } => {
  const setup = Ring.setup(sys, RING_ENTRIES);
  if (!setup.ok) return { ring: { available: false, reason: setup.reason }, buffers: { available: false, reason: setup.reason } };
  try {
    const registration = registerLeasePool(sys, setup.ring);
    if (registration.ok) registration.buffers.close();
    return {
      ring: { available: true, setup: setup.report },
      buffers: registration.ok ? { available: true } : { available: false, reason: registration.reason },
    };
  } finally {
    setup.ring.close();
  }
};

/**
 * What this kernel and process allow, found once per process by asking the kernel, never by
 * version numbers.
 *
 * @example
 * ```ts
 * const p = await probe();
 * if (!p.ioUring.available) console.log("io_uring:", p.ioUring.reason);
 * ```
 *
 * @module
 */
import {
  AF_INET,
  EFAULT,
  ENOPROTOOPT,
  RLIMIT_MEMLOCK,
  SO_ZEROCOPY,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
  SYS_io_uring_setup,
} from "../ffi/constants.ts";
import { errnoName } from "../ffi/errno_name.ts";
import { loadSys } from "../ffi/load_sys.ts";
import type { RuntimeName, Sys } from "../ffi/sys.ts";
import { getU64 } from "../ffi/structs.ts";
import { readFileSync } from "node:fs";

/** A capability and, when it is missing, why. */
export interface Capability {
  readonly available: boolean;
  readonly reason?: string;
}

export interface ProbeResult {
  readonly runtime: RuntimeName;
  readonly kernel: string;
  /** io_uring_setup works in this process. */
  readonly ioUring: Capability;
  /** SO_ZEROCOPY can be set on a TCP socket. */
  readonly msgZerocopy: Capability;
  /** RLIMIT_MEMLOCK soft limit in bytes (Infinity when unlimited): caps registered and zero-copy memory. */
  readonly memlockBytes: number;
  /** net.core.optmem_max in bytes, or undefined if unreadable: caps MSG_ZEROCOPY sends in flight. */
  readonly optmemMax: number | undefined;
}

let cached: Promise<ProbeResult> | undefined;

/** Probes once per process and returns the same answer after. */
export const probe = (): Promise<ProbeResult> => (cached ??= loadSys().then(run));

const run = (sys: Sys): ProbeResult => ({
  runtime: sys.runtime,
  kernel: readText("/proc/sys/kernel/osrelease") ?? "unknown",
  ioUring: probeIoUring(sys),
  msgZerocopy: probeZerocopy(sys),
  memlockBytes: memlock(sys),
  optmemMax: Number(readText("/proc/sys/net/core/optmem_max") ?? NaN) || undefined,
});

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

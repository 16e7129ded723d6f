/**
 * Options of `zcConnect`, `zcListen` and `zcWritable`, checked up front: a bad option fails with
 * INVALID_OPTION before any socket is opened.
 *
 * @module
 */
import { SizePolicy, type SizePolicyJson } from "../backends/size_policy.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import type { ConnectionConfig } from "../scheduler/connection.ts";

/** Which send strategy a stream uses. `auto` picks per chunk. */
export type BackendChoice = "auto" | "copy" | "msg_zerocopy" | "io_uring";

/** Tuning shared by every way of opening a stream. */
export interface TuningOptions {
  /** Send strategy; default "auto". */
  readonly backend?: BackendChoice;
  /** Bytes of small chunks that may wait in staging before write() waits; default 256 KiB. */
  readonly stagingBytes?: number;
  /** Chunks below this size (at least 1 KiB) are copied into staging, and their write resolves at once; default 16 KiB. */
  readonly stageBelow?: number;
  /** Largest single read (for UDP: largest datagram received whole); default 64 KiB. */
  readonly readSize?: number;
  /**
   * Zero-copy: after the kernel reports that it copied, bytes sent by copy before zero-copy is tried
   * again, doubled for each re-probe it copies too (at most 16 times this); default 64 MiB.
   */
  readonly reprobeBytes?: number;
  /** Zero-copy: bytes of owned chunks queued and awaiting notification above which write() waits; default 16 MiB. */
  readonly maxOwnedBytes?: number;
  /**
   * Bytes of lease memory (leased and unwritten, plus written and not yet released by the kernel)
   * a connection may hold outside io_uring's registered region; `lease()` waits above it and
   * `tryLease()` returns undefined; default 64 MiB.
   */
  readonly maxLeaseBytes?: number;
  /**
   * Lets zcio take over (transfer, detaching) every written chunk of 16 KiB or more (`stageBelow`)
   * that spans its whole, non-shared ArrayBuffer, so that it can go zero-copy like a lease: the
   * caller's views of that buffer read as empty afterwards. Off by default: a written chunk is the
   * caller's again once its write resolves.
   */
  readonly transferBuffers?: boolean;
  /**
   * `auto`: which backend to prefer per chunk size, as a policy object or the path of a policy file
   * (`bench/out/policy.json` from `npm run bench`); default the file named by the ZCIO_POLICY
   * environment variable, else the built-in policy.
   */
  readonly policy?: SizePolicyJson | string;
}

/** Options of `zcConnect`. */
export interface ConnectOptions extends TuningOptions {
  readonly hostname: string;
  readonly port: number;
  readonly transport?: "tcp" | "udp";
}

/** Options of `zcListen`. */
export interface ListenOptions extends TuningOptions {
  /** Address to listen on; default "127.0.0.1". */
  readonly hostname?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Pending connections the kernel queues; default 511. */
  readonly backlog?: number;
}

const BACKENDS: readonly BackendChoice[] = ["auto", "copy", "msg_zerocopy", "io_uring"];

const invalid = (message: string): ZcioError => new ZcioError({ code: "INVALID_OPTION", message });

const size = (name: string, value: unknown, fallback: number, min: number, max: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
};

/** Checks a port number. */
export const checkPort = (port: unknown, allowZero: boolean): number => {
  if (typeof port !== "number" || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw invalid(`port must be a whole number from ${allowZero ? 0 : 1} to 65535; got ${String(port)}`);
  }
  return port;
};

/** Checks a host name. */
export const checkHostname = (hostname: unknown): string => {
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw invalid(`hostname must be a non-empty string; got ${String(hostname)}`);
  }
  return hostname;
};

/** Chunks below this many bytes are staged (copied) unless `stageBelow` says otherwise. */
export const DEFAULT_STAGE_BELOW = 16 * 1024;

/** Checks the tuning options and fills in defaults. */
export const connectionConfig = (
  options: TuningOptions | undefined,
  transport: unknown,
  ownsFd: boolean,
): ConnectionConfig => {
  const o = options ?? {};
  if (typeof o !== "object") throw invalid("options must be an object");
  const backend = o.backend ?? "auto";
  if (!BACKENDS.includes(backend)) {
    throw invalid(`backend must be one of ${BACKENDS.join(", ")}; got ${String(backend)}`);
  }
  const t = transport ?? "tcp";
  if (t !== "tcp" && t !== "udp") throw invalid(`transport must be "tcp" or "udp"; got ${String(t)}`);
  const stagingBytes = size("stagingBytes", o.stagingBytes, 256 * 1024, 4096, 1 << 30);
  // At least 1 KiB: Bun may move a smaller typed array's bytes, so only staged copies of them are sent.
  const stageBelow = size("stageBelow", o.stageBelow, DEFAULT_STAGE_BELOW, 1024, stagingBytes);
  const readSize = size("readSize", o.readSize, 64 * 1024, 1, 1 << 26);
  const reprobeBytes = size("reprobeBytes", o.reprobeBytes, 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER);
  const maxOwnedBytes = size("maxOwnedBytes", o.maxOwnedBytes, 16 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER);
  const maxLeaseBytes = size("maxLeaseBytes", o.maxLeaseBytes, 64 * 1024 * 1024, 1, 1 << 30);
  const transferBuffers = o.transferBuffers ?? false;
  if (typeof transferBuffers !== "boolean") throw invalid(`transferBuffers must be true or false; got ${String(transferBuffers)}`);
  // Only auto reads ZCIO_POLICY; a policy given as an option is checked whatever the backend.
  const policy = backend === "auto" || o.policy !== undefined ? SizePolicy.resolve(o.policy) : SizePolicy.builtIn;
  return {
    backend,
    transport: t,
    ownsFd,
    stagingBytes,
    stageBelow,
    readSize,
    reprobeBytes,
    maxOwnedBytes,
    maxLeaseBytes,
    transferBuffers,
    policy,
  };
};

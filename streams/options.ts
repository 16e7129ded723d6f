/**
 * Options of `zcConnect`, `zcListen` and `zcWritable`, checked up front: a bad option fails with
 * INVALID_OPTION before any socket is opened.
 *
 * @module
 */
import { SizePolicy, type SizePolicyJson } from "../backends/size_policy.ts";
import { BACKEND_NAMES, type BackendChoice } from "../ffi/backend_names.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import type { TcpSocketOptions } from "../scheduler/connect_socket.ts";
import type { ConnectionConfig } from "../scheduler/connection.ts";

/** Tuning shared by every way of opening a stream. */
export interface TuningOptions {
  /** Send strategy; default "auto". */
  readonly backend?: BackendChoice;
  /** Bytes of small chunks that may wait in staging before write() waits; default 512 KiB. */
  readonly stagingBytes?: number;
  /**
   * The caller's chunks below this size (at least 1 KiB) are copied into staging, their write
   * resolving at once, and gathered into one syscall; default 64 KiB + 1 (chunks up to 64 KiB) for
   * TCP and 16 KiB for UDP, or an eighth of `stagingBytes` + 1 when that is less.
   * Leases are staged below 16 KiB (or this, if smaller).
   */
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
   * Lets zcio take over (transfer, detaching) a written chunk of 16 KiB or more that spans its
   * whole, non-shared ArrayBuffer wherever it would go zero-copy, like a lease: the caller's views of
   * that buffer read as empty afterwards. Off by default: a written chunk is the caller's again once
   * its write resolves.
   */
  readonly transferBuffers?: boolean;
  /**
   * `auto`: which backend to prefer per chunk size, as a policy object or the path of a policy file
   * (`bench/out/policy.json` from `npm run bench`); default the file named by the ZCIO_POLICY
   * environment variable, else the built-in policy.
   */
  readonly policy?: SizePolicyJson | string;
}

/** Socket options of a TCP connection (`zcConnect`, and each connection `zcListen` accepts); ignored for UDP. */
export interface TcpOptions {
  /**
   * TCP_NODELAY: each send goes out at once instead of waiting for more (Nagle's algorithm off);
   * default true, since zcio gathers small writes into one send itself.
   */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE: the kernel probes an idle connection and ends it if the peer is gone; default false. */
  readonly keepAlive?: boolean;
}

/** Options of `zcConnect`. */
export interface ConnectOptions extends TuningOptions, TcpOptions {
  /** A host name or a numeric IPv4 or IPv6 address. */
  readonly hostname: string;
  /** The peer's port. */
  readonly port: number;
  /** "tcp" (the default) or "udp": a connected datagram socket that sends one datagram per chunk. */
  readonly transport?: "tcp" | "udp";
  /**
   * Gives up connecting once it aborts: `zcConnect` rejects with ABORTED and closes the socket. An
   * already aborted signal rejects at once. Once connected, the signal no longer matters.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, signal: AbortSignal.timeout(5000) });
   * ```
   */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds that resolving the host name and connecting may take: after that `zcConnect`
   * rejects with ETIMEDOUT and closes the socket. Default: no limit but the kernel's own (about
   * two minutes of unanswered TCP handshakes).
   */
  readonly timeout?: number;
}

/** Options of `zcListen` for TCP connections. */
export interface ListenOptions extends TuningOptions, TcpOptions {
  /** Address to listen on; default "127.0.0.1". */
  readonly hostname?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** "tcp", the default; `{ transport: "udp" }` takes {@link DatagramListenOptions}. */
  readonly transport?: "tcp";
  /** Pending connections the kernel queues; default 511. */
  readonly backlog?: number;
}

/** Options of `zcListen` for UDP: a socket that receives datagrams from, and sends them to, any peer. */
export interface DatagramListenOptions {
  /** "udp": what makes `zcListen` bind a datagram socket. */
  readonly transport: "udp";
  /** Address to receive on; default "127.0.0.1" ("::" takes IPv6 and IPv4 peers). */
  readonly hostname?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Largest datagram received whole, in bytes (the rest of a longer one is dropped); default 64 KiB. */
  readonly readSize?: number;
}

// Every option name each function takes, in one place. The mapped types make the compiler check
// that each list names every field of its interface, and nothing else.
const TUNING_OPTIONS: { readonly [K in keyof TuningOptions]-?: true } = {
  backend: true,
  stagingBytes: true,
  stageBelow: true,
  readSize: true,
  reprobeBytes: true,
  maxOwnedBytes: true,
  maxLeaseBytes: true,
  transferBuffers: true,
  policy: true,
};
const TCP_OPTIONS: { readonly [K in keyof TcpOptions]-?: true } = { noDelay: true, keepAlive: true };
const CONNECT_OPTIONS: { readonly [K in keyof ConnectOptions]-?: true } = {
  ...TUNING_OPTIONS,
  ...TCP_OPTIONS,
  hostname: true,
  port: true,
  transport: true,
  signal: true,
  timeout: true,
};
const LISTEN_OPTIONS: { readonly [K in keyof ListenOptions]-?: true } = {
  ...TUNING_OPTIONS,
  ...TCP_OPTIONS,
  hostname: true,
  port: true,
  transport: true,
  backlog: true,
};
const DATAGRAM_LISTEN_OPTIONS: { readonly [K in keyof DatagramListenOptions]-?: true } = {
  transport: true,
  hostname: true,
  port: true,
  readSize: true,
};

/** The names of the options `zcConnect`, `zcListen` (for TCP, and for UDP) and `zcWritable` take. */
export const OPTION_NAMES: Readonly<Record<"zcConnect" | "zcListen" | "zcListen (udp)" | "zcWritable", readonly string[]>> = {
  zcConnect: Object.keys(CONNECT_OPTIONS),
  zcListen: Object.keys(LISTEN_OPTIONS),
  "zcListen (udp)": Object.keys(DATAGRAM_LISTEN_OPTIONS),
  zcWritable: Object.keys(TUNING_OPTIONS),
};

const BACKENDS: readonly BackendChoice[] = ["auto", ...BACKEND_NAMES];

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

/** Checks `readSize` and fills in its default (64 KiB). */
export const checkReadSize = (readSize: unknown): number => size("readSize", readSize, 64 * 1024, 1, 1 << 26);

/** Checks a host name. */
export const checkHostname = (hostname: unknown): string => {
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw invalid(`hostname must be a non-empty string; got ${String(hostname)}`);
  }
  return hostname;
};

/**
 * Fails with INVALID_OPTION naming the first option `where` does not take (a misspelled one would
 * otherwise be silently ignored), and the option it most likely meant.
 */
export const checkOptionNames = (options: object, where: keyof typeof OPTION_NAMES): void => {
  const known = OPTION_NAMES[where];
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const meant = likelyOption(name, known);
    throw invalid(
      `${where} has no option ${JSON.stringify(name)}${meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`}` +
        ` (its options: ${known.join(", ")})`,
    );
  }
};

/** The known name `name` most likely misspells: the same but for case, else one at most 2 edits away. */
const likelyOption = (name: string, known: readonly string[]): string | undefined => {
  const lower = name.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase !== undefined || lower.length < 4) return sameCase;
  let best: string | undefined, bestDistance = 3;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
};

/** Levenshtein distance. */
const editDistance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
};

const flag = (name: string, value: unknown, fallback: boolean): boolean => {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalid(`${name} must be true or false; got ${String(value)}`);
  return value;
};

/** Checks `noDelay` and `keepAlive` and fills in their defaults (true and false). */
export const tcpOptions = (options: TcpOptions): TcpSocketOptions => ({
  noDelay: flag("noDelay", options.noDelay, true),
  keepAlive: flag("keepAlive", options.keepAlive, false),
});

/** Checks `signal` and `timeout` of `zcConnect`. */
export const connectLimits = (options: ConnectOptions): { signal?: AbortSignal; timeout?: number } => {
  const { signal, timeout } = options;
  if (
    signal !== undefined &&
    (signal === null || typeof signal !== "object" || typeof signal.aborted !== "boolean" ||
      typeof signal.addEventListener !== "function")
  ) {
    throw invalid(`signal must be an AbortSignal; got ${String(signal)}`);
  }
  if (timeout !== undefined && (typeof timeout !== "number" || !(timeout > 0) || timeout > MAX_TIMEOUT_MS)) {
    throw invalid(`timeout must be a number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS}; got ${String(timeout)}`);
  }
  return { signal, timeout };
};

/** The longest delay every runtime's setTimeout keeps (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The caller's chunks below this many bytes are staged (copied) unless `stageBelow` says otherwise:
 * up to 64 KiB, copying into staging and gathering into one syscall costs less than a syscall per
 * chunk; from about 96 KiB on it gains nothing.
 */
export const DEFAULT_STAGE_BELOW = 64 * 1024 + 1;

/**
 * The same for UDP: each datagram is its own message whichever way it goes, and staging a large
 * one only adds a copy (the UDP blackhole of the calibration ran slower with 32 and 60 KiB
 * datagrams staged).
 */
export const DEFAULT_DATAGRAM_STAGE_BELOW = 16 * 1024;

/** Checks the tuning options and fills in defaults. */
export const connectionConfig = (
  options: TuningOptions | undefined,
  transport: unknown,
  ownsSocket: boolean,
): ConnectionConfig => {
  const o = options ?? {};
  if (typeof o !== "object") throw invalid("options must be an object");
  const backend = o.backend ?? "auto";
  if (!BACKENDS.includes(backend)) {
    throw invalid(`backend must be one of ${BACKENDS.join(", ")}; got ${String(backend)}`);
  }
  const t = transport ?? "tcp";
  if (t !== "tcp" && t !== "udp") throw invalid(`transport must be "tcp" or "udp"; got ${String(t)}`);
  const stagingBytes = size("stagingBytes", o.stagingBytes, 512 * 1024, 4096, 1 << 30);
  // At least 1 KiB: Bun may move a smaller typed array's bytes, so only staged copies of them are sent.
  // By default staging holds at least eight chunks it takes: smaller staging stages smaller chunks.
  // Datagrams gain nothing from staging large ones (sendmmsg gathers them anyway).
  const defaultStageBelow = Math.max(
    1024,
    Math.min(t === "udp" ? DEFAULT_DATAGRAM_STAGE_BELOW : DEFAULT_STAGE_BELOW, Math.floor(stagingBytes / 8) + 1),
  );
  const stageBelow = size("stageBelow", o.stageBelow, defaultStageBelow, 1024, stagingBytes);
  const readSize = checkReadSize(o.readSize);
  const reprobeBytes = size("reprobeBytes", o.reprobeBytes, 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER);
  const maxOwnedBytes = size("maxOwnedBytes", o.maxOwnedBytes, 16 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER);
  const maxLeaseBytes = size("maxLeaseBytes", o.maxLeaseBytes, 64 * 1024 * 1024, 1, 1 << 30);
  const transferBuffers = flag("transferBuffers", o.transferBuffers, false);
  // Only auto reads ZCIO_POLICY; a policy given as an option is checked whatever the backend.
  const policy = backend === "auto" || o.policy !== undefined ? SizePolicy.resolve(o.policy) : SizePolicy.builtIn;
  return {
    backend,
    transport: t,
    ownsSocket,
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

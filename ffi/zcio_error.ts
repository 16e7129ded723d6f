/**
 * The one error type zcio raises, with a stable `code`, the errno and backend where they apply, and
 * a message that says what to do.
 *
 * @example
 * ```ts
 * try { await writer.write(chunk); }
 * catch (e) { if (e instanceof ZcioError && e.code === "ECONNRESET") reconnect(); }
 * ```
 *
 * @module
 */
import type { YieldableError } from "effect/Cause";
import * as Data from "effect/Data";
import { errnoName } from "./errno_name.ts";

/** Codes that are not an errno name. An errno failure uses the errno's name (`EPIPE`, `ECONNRESET`, ...). */
export type ZcioErrorCode =
  | "INVALID_CHUNK"
  | "INVALID_OPTION"
  | "LEASE_MISUSE"
  | "CLOSED"
  | "ABORTED"
  | "BACKEND_UNAVAILABLE"
  | "UNSUPPORTED_RUNTIME"
  | (string & {});

/** Which send strategy an error came from. */
export type BackendName = "copy" | "msg_zerocopy" | "io_uring";

/** What a {@link ZcioError} carries besides its `_tag`. */
type ZcioErrorFields = {
  readonly code: ZcioErrorCode;
  readonly message: string;
  readonly errno?: number;
  readonly backend?: BackendName;
};

// The superclass as a typed variable: JSR's fast check does not infer a call in `extends`.
const ZcioErrorBase: new (
  args: ZcioErrorFields,
) => YieldableError & { readonly _tag: "ZcioError" } & Readonly<ZcioErrorFields> = Data.TaggedError("ZcioError")<ZcioErrorFields>;

export class ZcioError extends ZcioErrorBase {
  override get name(): string {
    return "ZcioError";
  }
}

const advice: Record<string, string> = {
  EPIPE: "the peer closed the connection; open a new one",
  ECONNRESET: "the peer reset the connection; open a new one",
  ECONNREFUSED: "nothing listens at that address; check the host and port",
  ETIMEDOUT: "the peer did not answer in time",
  EHOSTUNREACH: "no route to that host",
  ENETUNREACH: "no route to that network",
  EADDRINUSE: "the address is in use; pick another port or 0 for a free one",
  EADDRNOTAVAIL: "that address is not on this machine",
  EMSGSIZE: "the datagram is larger than the socket allows (at most 65507 bytes over IPv4 UDP)",
  EMFILE: "the process has too many open files; close some or raise RLIMIT_NOFILE",
  ENOBUFS: "the kernel is out of socket buffer or option memory",
  ENOMEM: "the kernel is out of memory or over RLIMIT_MEMLOCK",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/** A {@link ZcioError} for a failed syscall: `what` names the operation, `negErrno` is its -errno result. */
export const errnoError = (what: string, negErrno: number, backend?: BackendName): ZcioError => {
  const errno = -negErrno;
  const code = errnoName(errno);
  const hint = advice[code];
  return new ZcioError({
    code,
    errno,
    backend,
    message: `${what} failed: ${code} (errno ${errno})${hint ? `: ${hint}` : ""}`,
  });
};

/**
 * The one error type zcio raises, with a stable `code`, the errno and backend where they apply, and
 * a message that says what to do.
 *
 * @module
 */
import * as Data from "effect/Data";
import type { BackendName } from "./backend_names.ts";
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
  | "FILE_RANGE"
  | "FILE_TRUNCATED"
  | "NOT_A_FILE"
  | "STREAM_LOCKED"
  | (string & Record<never, never>);

/**
 * The error zcio raises: an `Error` named "ZcioError" whose `code` is stable and whose message says
 * what to do. It is an Effect tagged error (`_tag`), so Effect programs can catch it by its tag.
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen, ZcioError } from "@zcio/zcio";
 *
 * const listener = await zcListen({ port: 0 });
 * listener.close(); // nothing listens on its port any more
 * try {
 *   await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
 * } catch (e) {
 *   if (!(e instanceof ZcioError && e.code === "ECONNREFUSED")) throw e;
 *   console.log(e.message); // says what happened and what to do
 * }
 * ```
 */
export interface ZcioError extends Error {
  /** Effect's tag of this error type. */
  readonly _tag: "ZcioError";
  /** An errno's name for a failed system call (`EPIPE`, `ECONNRESET`, ...), else one of {@link ZcioErrorCode}. */
  readonly code: ZcioErrorCode;
  /** The errno, when a system call failed. */
  readonly errno?: number;
  /** The send strategy the error came from, when one did. */
  readonly backend?: BackendName;
  /** For a failed `sendFile`: the bytes of the file the kernel had taken when it stopped. */
  readonly bytesSent?: number;
}

/** Makes a {@link ZcioError}; `e instanceof ZcioError` tells zcio's errors from others. */
export const ZcioError: new (fields: Pick<ZcioError, "code" | "message" | "errno" | "backend" | "bytesSent">) => ZcioError =
  // A typed constant rather than a class declaration: JSR's fast check does not infer a call in
  // `extends`, and the public type then names nothing private.
  class ZcioError extends Data.TaggedError("ZcioError")<ZcioErrorFields> {
    /** "ZcioError", as stack traces and `console.log` show it. */
    override get name(): string {
      return "ZcioError";
    }
  };

type ZcioErrorFields = ConstructorParameters<typeof ZcioError>[0];

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
  ENOENT: "no such file or directory",
  EISDIR: "that is a directory; give a regular file",
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

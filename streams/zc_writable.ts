/**
 * A WritableStream over a connected socket fd the program already owns (TCP or UDP). zcio never
 * closes that fd; closing the stream only waits until every accepted byte is in the kernel.
 *
 * @example
 * ```ts
 * const writable = zcWritable(fd);
 * await writable.getWriter().write(bytes);
 * console.log(writable.stats());
 * ```
 *
 * @module
 */
import { SendStats } from "../backends/send_stats.ts";
import { SO_TYPE, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from "../ffi/constants.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { errnoError, ZcioError } from "../ffi/zcio_error.ts";
import { Connection, type ConnectionStats } from "../scheduler/connection.ts";
import { ZcWritableStream } from "./connection_writable.ts";
import { checkOptionNames, connectionConfig, type TuningOptions } from "./options.ts";

/** The stream {@link zcWritable} returns: a {@link ZcWritableStream} that also reports its counters. */
export class ZcFdWritableStream extends ZcWritableStream {
  readonly #connection: () => Connection | undefined;

  /** @internal use {@link zcWritable} */
  constructor(connection: Promise<Connection>) {
    super(connection, true);
    let conn: Connection | undefined;
    // A failed opening errors the stream itself; stats() then stays all zeros.
    connection.then((c) => (conn = c), () => {});
    this.#connection = () => conn;
  }

  /**
   * Counters, as `ZcConnection.stats()` has them: bytes per backend, zero-copied vs copied,
   * notifications, syscalls, waits, downgrades. All zeros until the stream has set up its socket
   * (it does so as it starts, before its first write is sent), or if that failed.
   *
   * @example
   * ```ts
   * const writable = zcWritable(fd);
   * const writer = writable.getWriter();
   * await writer.write(bytes);
   * await writer.close();
   * console.log(writable.stats().bytes);
   * ```
   */
  stats(): ConnectionStats {
    return this.#connection()?.stats() ?? { ...new SendStats().snapshot(), bytesReceived: 0 };
  }
}

/** A WritableStream over `fd`, a connected stream or datagram socket. */
export const zcWritable = (fd: number, options?: TuningOptions): ZcFdWritableStream => {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new ZcioError({ code: "INVALID_OPTION", message: `fd must be an open file descriptor; got ${fd}` });
  }
  if (options !== null && typeof options === "object") checkOptionNames(options, "zcWritable");
  const base = connectionConfig(options, "tcp", false);
  return new ZcFdWritableStream(
    loadSys().then((sys) => {
      const type = new Int32Array(1);
      const r = sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(type.buffer));
      if (r < 0) throw errnoError(`getsockopt(SO_TYPE) of fd ${fd}`, r);
      if (type[0] !== SOCK_STREAM && type[0] !== SOCK_DGRAM) {
        throw new ZcioError({ code: "INVALID_OPTION", message: `fd ${fd} is neither a stream nor a datagram socket` });
      }
      return Connection.open(fd, { ...base, transport: type[0] === SOCK_DGRAM ? "udp" : "tcp" });
    }),
  );
};

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
import { SO_TYPE, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from "../ffi/constants.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { errnoError, ZcioError } from "../ffi/zcio_error.ts";
import { Connection } from "../scheduler/connection.ts";
import { ZcWritableStream } from "./connection_writable.ts";
import { checkOptionNames, connectionConfig, type TuningOptions } from "./options.ts";

/** A WritableStream over `fd`, a connected stream or datagram socket. */
export const zcWritable = (fd: number, options?: TuningOptions): ZcWritableStream => {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new ZcioError({ code: "INVALID_OPTION", message: `fd must be an open file descriptor; got ${fd}` });
  }
  if (options !== null && typeof options === "object") checkOptionNames(options, "zcWritable");
  // Checked now, so a bad option throws here; the defaults that depend on the transport come once
  // the socket's type is known.
  connectionConfig(options, "tcp", false);
  return new ZcWritableStream(
    loadSys().then((sys) => {
      const type = new Int32Array(1);
      const r = sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(type.buffer));
      if (r < 0) throw errnoError(`getsockopt(SO_TYPE) of fd ${fd}`, r);
      if (type[0] !== SOCK_STREAM && type[0] !== SOCK_DGRAM) {
        throw new ZcioError({ code: "INVALID_OPTION", message: `fd ${fd} is neither a stream nor a datagram socket` });
      }
      return Connection.open(fd, connectionConfig(options, type[0] === SOCK_DGRAM ? "udp" : "tcp", false));
    }),
    true,
  );
};

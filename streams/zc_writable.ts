/**
 * A WritableStream over a connected socket fd the program already owns (TCP or UDP). zcio works on
 * a duplicate of that fd, which it closes once the kernel has released every buffer it sent from;
 * it never closes or shuts down the program's fd, which the program may close whenever it likes
 * (the socket itself lives until both are closed). Closing the stream only waits until every
 * accepted byte is in the kernel.
 *
 * @module
 */
import { ENOTCONN, ENOTSOCK, F_DUPFD_CLOEXEC, SO_TYPE, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SYS_fcntl } from "../ffi/constants.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { errnoError, ZcioError } from "../ffi/zcio_error.ts";
import { Connection } from "../scheduler/connection.ts";
import { ZcWritableStream } from "./connection_writable.ts";
import { checkOptionNames, connectionConfig, type TuningOptions } from "./options.ts";

/**
 * A WritableStream over `fd`, a connected stream or datagram socket.
 *
 * @example
 * ```ts
 * import { zcListen, zcWritable } from "@zcio/zcio";
 *
 * // A socket the program opened itself: here through libc with Deno's FFI, connected to 127.0.0.1.
 * const libc = Deno.dlopen("libc.so.6", {
 *   socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
 *   connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
 *   close: { parameters: ["i32"], result: "i32" },
 * });
 * await using listener = await zcListen({ port: 0 });
 * const { port } = listener.addr;
 * const AF_INET = 2, SOCK_STREAM = 1;
 * const fd = libc.symbols.socket(AF_INET, SOCK_STREAM, 0);
 * const sockaddrIn = new Uint8Array([AF_INET, 0, port >> 8, port & 255, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
 * if (libc.symbols.connect(fd, sockaddrIn, sockaddrIn.length) !== 0) throw new Error("connect failed");
 *
 * const writable = zcWritable(fd);
 * const writer = writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close(); // every byte is in the kernel; the fd stays open: it is the program's
 * console.log(writable.stats().bytes);
 * libc.symbols.close(fd);
 * ```
 */
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
      if (r === -ENOTSOCK) {
        throw new ZcioError({
          code: "ENOTSOCK",
          errno: ENOTSOCK,
          message: `fd ${fd} is not a socket; zcWritable sends on a connected TCP, UDP or AF_UNIX socket`,
        });
      }
      if (r < 0) throw errnoError(`getsockopt(SO_TYPE) of fd ${fd}`, r);
      if (type[0] !== SOCK_STREAM && type[0] !== SOCK_DGRAM) {
        throw new ZcioError({ code: "INVALID_OPTION", message: `fd ${fd} is neither a stream nor a datagram socket` });
      }
      // Without a peer every send fails (EPIPE for a stream, EDESTADDRREQ for datagrams): say why now.
      const peer = sys.getpeername(fd, new Uint8Array(SOCKADDR_STORAGE_SIZE));
      if (peer === -ENOTCONN) {
        throw new ZcioError({
          code: "ENOTCONN",
          errno: ENOTCONN,
          message: `fd ${fd} is not connected; zcWritable sends on a connected socket: connect it first, or open one with zcConnect`,
        });
      }
      if (peer < 0) throw errnoError(`getpeername of fd ${fd}`, peer);
      // zcio's own fd: its number stays zcio's until the release, whenever the program closes its own.
      const own = sys.syscall6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0, 0, 0, 0);
      if (own < 0) throw errnoError(`fcntl(F_DUPFD_CLOEXEC) of fd ${fd}`, own);
      return Connection.open(own, connectionConfig(options, type[0] === SOCK_DGRAM ? "udp" : "tcp", false)).catch((e) => {
        sys.close(own);
        throw e;
      });
    }),
    true,
  );
};

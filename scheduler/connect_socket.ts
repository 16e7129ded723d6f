/**
 * Opens a non-blocking socket connected to an address, waiting for a TCP handshake through the
 * waiter. On failure nothing is left open.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  EINPROGRESS,
  IPPROTO_TCP,
  POLLOUT,
  SO_ERROR,
  SO_KEEPALIVE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "../ffi/constants.ts";
import { sockaddrFamily } from "../ffi/sockaddr.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Waiter } from "../ffi/waiter.ts";
import { errnoError, type ZcioError } from "../ffi/zcio_error.ts";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";

/** What a TCP socket is set to before it carries data. */
export interface TcpSocketOptions {
  /** TCP_NODELAY. */
  readonly noDelay: boolean;
  /** SO_KEEPALIVE. */
  readonly keepAlive: boolean;
}

/** zcio gathers small writes itself; Nagle's algorithm would only add delay. */
export const DEFAULT_TCP_OPTIONS: TcpSocketOptions = { noDelay: true, keepAlive: false };

/** Sets TCP_NODELAY and SO_KEEPALIVE of the TCP socket `fd`; returns 0, or the first failure's -errno. */
export const setTcpOptions = (sys: Sys, fd: number, tcp: TcpSocketOptions): number => {
  const r = sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(new Int32Array([tcp.noDelay ? 1 : 0]).buffer));
  if (r < 0) return r;
  return sys.setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, new Uint8Array(new Int32Array([tcp.keepAlive ? 1 : 0]).buffer));
};

/**
 * A connected, non-blocking socket fd for `address` (an encoded sockaddr). Interrupting it (a
 * timeout, an abort) closes the socket.
 */
export const connectSocket = (
  address: Uint8Array,
  transport: "tcp" | "udp",
  tcp: TcpSocketOptions = DEFAULT_TCP_OPTIONS,
): Effect.Effect<number, ZcioError, SysService | WaiterService> =>
  Effect.gen(function* () {
    const sys = yield* SysService;
    const waiter = yield* WaiterService;
    const type = (transport === "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    const fd = sys.socket(sockaddrFamily(address), type, 0);
    if (fd < 0) return yield* Effect.fail(errnoError("socket", fd));
    const connect = Effect.gen(function* () {
      if (transport === "tcp") {
        const set = setTcpOptions(sys, fd, tcp);
        if (set < 0) return yield* Effect.fail(errnoError("setsockopt", set));
      }
      const r = sys.connect(fd, address);
      if (r === -EINPROGRESS) {
        const watch = waiter.watch(fd);
        yield* Effect.callback<void>((resume) => {
          watch.onWritable = () => resume(Effect.void);
          waiter.arm(watch, POLLOUT);
          return Effect.sync(() => waiter.disarm(watch, POLLOUT));
        });
        const error = new Int32Array(1);
        sys.getsockopt(fd, SOL_SOCKET, SO_ERROR, new Uint8Array(error.buffer));
        if (error[0] !== 0) return yield* Effect.fail(errnoError("connect", -error[0]));
      } else if (r < 0) {
        return yield* Effect.fail(errnoError("connect", r));
      }
      return fd;
    });
    return yield* connect.pipe(
      Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : Effect.sync(() => closeSocket(sys, waiter, fd))),
    );
  });

/** Closes a socket zcio opened but hands to nobody, first dropping its watch in the waiter. */
export const closeSocket = (sys: Sys, waiter: Waiter, fd: number): void => {
  waiter.forget(waiter.watch(fd));
  sys.close(fd);
};

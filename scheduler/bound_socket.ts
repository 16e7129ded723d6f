/**
 * The socket a listener receives on: non-blocking, bound to an address (for TCP also listening,
 * with SO_REUSEADDR so that a restarted server gets its port back at once), and watched by the
 * process's waiter.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { SO_REUSEADDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "../ffi/constants.ts";
import { decodeSockaddr, type NetAddr, sockaddrFamily } from "../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";
import { errnoError } from "../ffi/zcio_error.ts";
import { closeSocket } from "./connect_socket.ts";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";
import { zcRuntime } from "./zc_runtime.ts";

export class BoundSocket {
  /** The socket's watch in the waiter. */
  readonly watch: FdWatch;

  private constructor(
    readonly sys: Sys,
    readonly waiter: Waiter,
    readonly fd: number,
    /** The bound address (with the real port when 0 was asked for). */
    readonly addr: NetAddr,
  ) {
    this.watch = waiter.watch(fd);
  }

  /**
   * A socket of `type` (SOCK_STREAM or SOCK_DGRAM) bound to `address` (an encoded sockaddr), a
   * stream socket listening with `backlog`. On failure nothing is left open.
   */
  static open(address: Uint8Array, type: number, backlog = 0): Promise<BoundSocket> {
    return zcRuntime().runPromise(
      Effect.gen(function* () {
        const sys = yield* SysService;
        const waiter = yield* WaiterService;
        const fd = sys.socket(sockaddrFamily(address), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return yield* Effect.fail(errnoError("socket", fd));
        const stream = type === SOCK_STREAM;
        if (stream) sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(new Int32Array([1]).buffer));
        let r = sys.bind(fd, address), failed = "bind";
        if (r >= 0 && stream) [r, failed] = [sys.listen(fd, backlog), "listen"];
        const bound = new Uint8Array(SOCKADDR_STORAGE_SIZE);
        if (r >= 0) [r, failed] = [sys.getsockname(fd, bound), "getsockname"];
        if (r < 0) {
          sys.close(fd);
          return yield* Effect.fail(errnoError(failed, r));
        }
        return new BoundSocket(sys, waiter, fd, decodeSockaddr(bound.subarray(0, r)));
      }),
    );
  }

  /** Takes the socket out of the waiter and closes it. */
  close(): void {
    closeSocket(this.sys, this.waiter, this.fd);
  }
}

/**
 * A listening TCP socket and its accept loop: `accept()` waits through the waiter for the next
 * connection and returns its non-blocking fd.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  EAGAIN,
  ECONNABORTED,
  EINTR,
  POLLIN,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { decodeSockaddr, type NetAddr, sockaddrFamily } from "../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";
import { errnoError } from "../ffi/zcio_error.ts";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";
import { zcRuntime } from "./zc_runtime.ts";

export class Listener {
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(
    private readonly sys: Sys,
    private readonly waiter: Waiter,
    private readonly watch: FdWatch,
    readonly fd: number,
    /** The bound address (with the real port when 0 was asked for). */
    readonly addr: NetAddr,
  ) {
    watch.onReadable = () => this.#wakeUp();
  }

  /** Binds and listens on `address` (an encoded sockaddr). */
  static open(address: Uint8Array, backlog: number): Promise<Listener> {
    return zcRuntime().runPromise(
      Effect.gen(function* () {
        const sys = yield* SysService;
        const waiter = yield* WaiterService;
        const fd = sys.socket(sockaddrFamily(address), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return yield* Effect.fail(errnoError("socket", fd));
        sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(new Int32Array([1]).buffer));
        let r = sys.bind(fd, address);
        if (r >= 0) r = sys.listen(fd, backlog);
        const bound = new Uint8Array(SOCKADDR_STORAGE_SIZE);
        if (r >= 0) r = sys.getsockname(fd, bound);
        if (r < 0) {
          sys.close(fd);
          return yield* Effect.fail(errnoError("listen", r));
        }
        return new Listener(sys, waiter, waiter.watch(fd), fd, decodeSockaddr(bound.subarray(0, r)));
      }),
    );
  }

  /** The next accepted connection's fd (non-blocking), or -1 once the listener is closed. */
  async accept(): Promise<number> {
    for (;;) {
      if (this.#closed) return -1;
      const fd = this.sys.accept4(this.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) return fd;
      if (fd === -EINTR || fd === -ECONNABORTED) continue;
      if (fd !== -EAGAIN) throw errnoError("accept", fd);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.waiter.arm(this.watch, POLLIN);
      });
    }
  }

  /** Stops listening; a pending accept returns -1. Connections already accepted stay open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.waiter.forget(this.watch);
    this.sys.close(this.fd);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}


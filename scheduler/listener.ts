/**
 * A listening TCP socket and its accept loop: `accept()` waits through the waiter for the next
 * connection and returns its non-blocking fd.
 *
 * @module
 */
import { EAGAIN, ECONNABORTED, EINTR, POLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../ffi/constants.ts";
import type { NetAddr } from "../ffi/sockaddr.ts";
import { errnoError } from "../ffi/zcio_error.ts";
import { BoundSocket } from "./bound_socket.ts";

export class Listener {
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(private readonly socket: BoundSocket) {
    socket.watch.onReadable = () => this.#wakeUp();
  }

  /** Binds and listens on `address` (an encoded sockaddr). */
  static async open(address: Uint8Array, backlog: number): Promise<Listener> {
    return new Listener(await BoundSocket.open(address, SOCK_STREAM, backlog));
  }

  /** The bound address (with the real port when 0 was asked for). */
  get addr(): NetAddr {
    return this.socket.addr;
  }

  /** The next accepted connection's fd (non-blocking), or -1 once the listener is closed. */
  async accept(): Promise<number> {
    for (;;) {
      if (this.#closed) return -1;
      const fd = this.socket.sys.accept4(this.socket.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) return fd;
      if (fd === -EINTR || fd === -ECONNABORTED) continue;
      if (fd !== -EAGAIN) throw errnoError("accept", fd);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.socket.waiter.arm(this.socket.watch, POLLIN);
      });
    }
  }

  /** Stops listening; a pending accept returns -1. Connections already accepted stay open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close();
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

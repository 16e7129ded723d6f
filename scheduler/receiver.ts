/**
 * The receiving side of a connection: reads what the kernel has, waiting for POLLIN through the
 * waiter when there is nothing, so a ReadableStream can pull from it with real backpressure (the
 * socket is read only when the stream wants more).
 *
 * @module
 */
import { EAGAIN, EINTR, MSG_DONTWAIT, POLLIN } from "../ffi/constants.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch, Waiter } from "../ffi/waiter.ts";
import { errnoError } from "../ffi/zcio_error.ts";

export class Receiver {
  readonly #buffer: Uint8Array;
  #wake: (() => void) | undefined;
  #ended = false;
  /** Bytes received so far. */
  bytes = 0;

  constructor(
    private readonly sys: Sys,
    private readonly fd: number,
    private readonly waiter: Waiter,
    private readonly watch: FdWatch,
    /** Largest read (for UDP: largest datagram) in bytes. */
    readSize: number,
    /** True for datagram sockets: an empty read is an empty datagram, not the end. */
    private readonly datagrams: boolean,
  ) {
    this.#buffer = new Uint8Array(readSize);
    watch.onReadable = () => {
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    };
  }

  /** The next bytes (for UDP, the next datagram), or null at end of stream. Throws a ZcioError. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#ended) return null;
      const n = this.sys.recv(this.fd, this.#buffer, MSG_DONTWAIT);
      if (n > 0 || (n === 0 && this.datagrams)) {
        this.bytes += n;
        return this.#buffer.slice(0, n);
      }
      if (n === 0) {
        this.#ended = true;
        return null;
      }
      if (n === -EINTR) continue;
      if (n !== -EAGAIN) throw errnoError("recv", n);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.waiter.arm(this.watch, POLLIN);
      });
    }
  }

  /** Stops reading: a pending read returns null. */
  end(): void {
    this.#ended = true;
    this.waiter.disarm(this.watch, POLLIN);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

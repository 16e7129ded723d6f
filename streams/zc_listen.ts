/**
 * Listens for TCP connections; each accepted one is a {@link ZcConnection}.
 *
 * @example
 * ```ts
 * const listener = await zcListen({ port: 0 });       // a free port on 127.0.0.1
 * console.log(listener.addr.port);
 * for await (const conn of listener) handle(conn);
 * ```
 *
 * @module
 */
import type { NetAddr } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import type { TcpSocketOptions } from "../scheduler/connect_socket.ts";
import { Listener } from "../scheduler/listener.ts";
import { asyncDispose } from "./async_dispose.ts";
import { checkHostname, checkOptionNames, checkPort, connectionConfig, type ListenOptions, tcpOptions } from "./options.ts";
import { openConnection } from "./open_connection.ts";
import { resolveAddress } from "./resolve_address.ts";
import type { ZcConnection } from "./zc_connection.ts";

export class ZcListener implements AsyncIterable<ZcConnection> {
  private constructor(
    private readonly listener: Listener,
    private readonly config: ReturnType<typeof connectionConfig>,
    private readonly tcp: TcpSocketOptions,
  ) {}

  /** @internal use {@link zcListen} */
  static async open(options: ListenOptions): Promise<ZcListener> {
    if (options === null || typeof options !== "object") {
      throw new ZcioError({ code: "INVALID_OPTION", message: "zcListen needs an options object: { port }" });
    }
    checkOptionNames(options, "zcListen");
    const hostname = checkHostname(options.hostname ?? "127.0.0.1");
    const port = checkPort(options.port, true);
    const config = connectionConfig(options, "tcp", true);
    const tcp = tcpOptions(options);
    const backlog = options.backlog ?? 511;
    if (!Number.isInteger(backlog) || backlog < 1) {
      throw new ZcioError({ code: "INVALID_OPTION", message: `backlog must be a positive whole number; got ${String(backlog)}` });
    }
    const listener = await Listener.open(await resolveAddress(hostname, port), backlog);
    return new ZcListener(listener, config, tcp);
  }

  /** The address listened on (with the real port when 0 was asked for). */
  get addr(): NetAddr {
    return this.listener.addr;
  }

  /**
   * The next accepted connection (set to the listener's `noDelay` and `keepAlive`), or null once the
   * listener is closed.
   */
  async accept(): Promise<ZcConnection | null> {
    const fd = await this.listener.accept();
    return fd < 0 ? null : openConnection(fd, this.config, this.tcp);
  }

  /** Stops accepting; connections already accepted stay open. */
  close(): void {
    this.listener.close();
  }

  /**
   * Closes the listener, as {@link close} does, when an `await using` block that holds it ends.
   * Connections already accepted stay open.
   *
   * @example
   * ```ts
   * await using listener = await zcListen({ port: 0 });
   * ```
   */
  [asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ZcConnection> {
    for (;;) {
      const conn = await this.accept();
      if (conn === null) return;
      yield conn;
    }
  }
}

/** Listens on `hostname:port` (default 127.0.0.1; port 0 picks a free one). */
export const zcListen = (options: ListenOptions): Promise<ZcListener> => ZcListener.open(options);

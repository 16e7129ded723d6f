/**
 * Listens for TCP connections, each accepted one a {@link ZcConnection}; or, with
 * `transport: "udp"`, for datagrams from any peer ({@link ZcDatagramListener}).
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen } from "@zcio/zcio";
 *
 * await using listener = await zcListen({ port: 0 }); // a free port on 127.0.0.1
 * await using client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
 * for await (const conn of listener) {
 *   console.log("accepted", conn.remoteAddr);
 *   await conn.close();
 *   break; // a server would go on accepting
 * }
 * ```
 *
 * @module
 */
import type { NetAddr } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import type { TcpSocketOptions } from "../scheduler/connect_socket.ts";
import { Listener } from "../scheduler/listener.ts";
import { asyncDispose } from "./async_dispose.ts";
import { checkHostname, checkOptionNames, checkPort, connectionConfig, type DatagramListenOptions, type ListenOptions, tcpOptions } from "./options.ts";
import { openConnection } from "./open_connection.ts";
import { resolveAddresses } from "./resolve_addresses.ts";
import type { ZcConnection } from "./zc_connection.ts";
import { ZcDatagramListener } from "./zc_datagram_listener.ts";

/** A TCP listener: `accept()` or `for await` gives each connection as it arrives. */
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
    const config = connectionConfig(options, options.transport, true);
    const tcp = tcpOptions(options);
    const backlog = options.backlog ?? 511;
    if (!Number.isInteger(backlog) || backlog < 1) {
      throw new ZcioError({ code: "INVALID_OPTION", message: `backlog must be a positive whole number; got ${String(backlog)}` });
    }
    const listener = await Listener.open((await resolveAddresses(hostname, port))[0], backlog);
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
   * import { zcListen } from "@zcio/zcio";
   *
   * {
   *   await using listener = await zcListen({ port: 0 });
   *   console.log(listener.addr.port);
   * } // closed here
   * ```
   */
  [asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Each accepted connection, until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<ZcConnection> {
    for (;;) {
      const conn = await this.accept();
      if (conn === null) return;
      yield conn;
    }
  }
}

/**
 * Receives UDP datagrams on `hostname:port` (default 127.0.0.1; port 0 picks a free one) from any
 * peer, and sends datagrams to any address.
 *
 * @example
 * ```ts
 * import { zcListen } from "@zcio/zcio";
 *
 * await using server = await zcListen({ transport: "udp", hostname: "::1", port: 0 });
 * await using peer = await zcListen({ transport: "udp", hostname: "::1", port: 0 });
 * await peer.send(new TextEncoder().encode("ping"), server.addr);
 * const { value } = await server.readable.getReader().read();
 * await server.send(value!.data, value!.remoteAddr); // the reply goes back to the peer
 * ```
 */
export function zcListen(options: DatagramListenOptions): Promise<ZcDatagramListener>;
/**
 * Listens for TCP connections on `hostname:port` (default 127.0.0.1; port 0 picks a free one).
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen } from "@zcio/zcio";
 *
 * await using listener = await zcListen({ port: 0 });
 * await using client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await using server = (await listener.accept())!;
 * console.log(server.remoteAddr.port === client.localAddr.port); // true
 * ```
 */
export function zcListen(options: ListenOptions): Promise<ZcListener>;
export function zcListen(options: ListenOptions | DatagramListenOptions): Promise<ZcListener | ZcDatagramListener> {
  return options !== null && typeof options === "object" && options.transport === "udp"
    ? ZcDatagramListener.open(options)
    : ZcListener.open(options as ListenOptions);
}

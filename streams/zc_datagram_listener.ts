/**
 * A UDP socket that serves many peers: `zcListen({ transport: "udp", ... })` binds it, its
 * `readable` yields each datagram with the address it came from, and `send()` answers any address.
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen } from "@zcio/zcio";
 *
 * await using server = await zcListen({ transport: "udp", port: 0 }); // a free port on 127.0.0.1
 * await using client = await zcConnect({ hostname: "127.0.0.1", port: server.addr.port, transport: "udp" });
 * await client.writable.getWriter().write(new TextEncoder().encode("ping"));
 * for await (const { data, remoteAddr } of server.readable) {
 *   await server.send(data, remoteAddr); // echo it to whoever sent it
 *   break; // a server would go on receiving
 * }
 * const { value } = await client.readable.getReader().read();
 * console.log(new TextDecoder().decode(value)); // "ping"
 * ```
 *
 * @module
 */
import { AF_INET6 } from "../ffi/constants.ts";
import { encodeSockaddr, type NetAddr, sockaddrFamily } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { type Datagram, DatagramSocket, MAX_DATAGRAM_BYTES } from "../scheduler/datagram_socket.ts";
import { asyncDispose } from "./async_dispose.ts";
import { checkHostname, checkOptionNames, checkPort, checkReadSize, type DatagramListenOptions } from "./options.ts";
import { resolveAddresses } from "./resolve_addresses.ts";
import { pullReadable } from "./pull_readable.ts";
import { validateChunk } from "./validate_chunk.ts";

/** A bound UDP socket: datagrams from any peer on `readable`, and `send()` to any address. */
export class ZcDatagramListener {
  /**
   * Each datagram that arrives, from any peer, with that peer's address (an empty datagram is an
   * empty `data`). It ends when the listener is closed; cancelling it stops receiving (datagrams
   * then wait in the kernel's buffer, and are dropped when it is full) but leaves `send()` working.
   */
  readonly readable: ReadableStream<Datagram>;

  private constructor(private readonly socket: DatagramSocket) {
    this.readable = pullReadable(socket);
  }

  /** @internal use {@link zcListen} */
  static async open(options: DatagramListenOptions): Promise<ZcDatagramListener> {
    checkOptionNames(options, "zcListen (udp)");
    const hostname = checkHostname(options.hostname ?? "127.0.0.1");
    const port = checkPort(options.port, true);
    const readSize = checkReadSize(options.readSize);
    return new ZcDatagramListener(await DatagramSocket.open((await resolveAddresses(hostname, port))[0], readSize));
  }

  /** The address listened on (with the real port when 0 was asked for). */
  get addr(): NetAddr {
    return this.socket.addr;
  }

  /**
   * Sends `data` as one datagram to `to`, a numeric address such as a received datagram's
   * `remoteAddr`; it resolves once the kernel has taken it (a copy), and `data` is yours again
   * then, as with a write. Sends that find the socket's buffer full wait for room, in order.
   * Rejects with INVALID_CHUNK, INVALID_OPTION (a bad address), EMSGSIZE, CLOSED or the kernel's
   * error.
   *
   * @example
   * ```ts
   * import { zcListen } from "@zcio/zcio";
   *
   * await using server = await zcListen({ transport: "udp", port: 0 });
   * await using peer = await zcListen({ transport: "udp", port: 0 });
   * await server.send(new TextEncoder().encode("pong"), { hostname: "127.0.0.1", port: peer.addr.port });
   * ```
   */
  send(data: Uint8Array, to: { readonly hostname: string; readonly port: number }): Promise<void> {
    try {
      return this.socket.send(data, this.#destination(data, to));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The encoded address of `to`, once `data` and `to` are known to be a datagram and an address it can go to. */
  #destination(data: Uint8Array, to: { readonly hostname: string; readonly port: number }): Uint8Array {
    const length = validateChunk(data);
    if (typeof length !== "number") throw length;
    if (length > MAX_DATAGRAM_BYTES) {
      throw new ZcioError({ code: "EMSGSIZE", message: `a datagram holds at most ${MAX_DATAGRAM_BYTES} bytes; this one has ${length}` });
    }
    const address = to !== null && typeof to === "object" && typeof to.hostname === "string"
      ? encodeSockaddr(to.hostname, checkPort(to.port, false))
      : undefined;
    if (address === undefined) {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message: "send() needs a numeric address { hostname, port } (such as a datagram's remoteAddr); got hostname " +
          String((to as { hostname?: unknown } | null | undefined)?.hostname),
      });
    }
    if (sockaddrFamily(address) === AF_INET6 && this.addr.family === "IPv4") {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message: `this listener is IPv4 and cannot send to the IPv6 address ${to.hostname}; listen on "::" for both families`,
      });
    }
    return address;
  }

  /** Closes the socket: the readable ends, and sends still waiting for room fail with CLOSED. */
  close(): void {
    this.socket.close();
  }

  /**
   * Closes the listener, as {@link close} does, when an `await using` block that holds it ends.
   *
   * @example
   * ```ts
   * import { zcListen } from "@zcio/zcio";
   *
   * {
   *   await using server = await zcListen({ transport: "udp", port: 0 });
   *   console.log(server.addr.port);
   * } // closed here
   * ```
   */
  [asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

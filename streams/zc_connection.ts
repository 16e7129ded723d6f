/**
 * A socket connection as a pair of WHATWG streams, plus its counters and addresses.
 *
 * @module
 */
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { decodeSockaddr, type NetAddr } from "../ffi/sockaddr.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Connection, ConnectionStats } from "../scheduler/connection.ts";
import { asyncDispose } from "./async_dispose.ts";
import { type SendFileOptions, ZcWritableStream } from "./connection_writable.ts";
import type { FileSource } from "./open_file.ts";
import { pullReadable } from "./pull_readable.ts";

/**
 * An open TCP or UDP socket as a pair of WHATWG streams, with its counters and addresses: what
 * `zcConnect` returns and what a listener accepts.
 */
export class ZcConnection {
  /** Bytes to the peer. `write()` takes ownership of each chunk; see README "Who owns a chunk". */
  readonly writable: ZcWritableStream;
  /** Bytes from the peer (for UDP: one chunk per datagram). */
  readonly readable: ReadableStream<Uint8Array>;
  /** This end's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /**
   * Settles once `close()` or `abort()` has released the connection (the socket and all memory),
   * whichever of them is called first: resolves if it ended cleanly (close() sent everything, or
   * abort() dropped what was queued), and rejects with the ZcioError that ended sending otherwise
   * (ECONNRESET, EPIPE, ...), as that close() or abort() does. It stays pending until one of them
   * is called. A rejection nobody awaits is not reported as unhandled.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * const conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
   * conn.closed.then(() => console.log("released"), (e) => console.error("ended by", e.code));
   * await conn.close();
   * ```
   */
  readonly closed: Promise<void>;
  readonly #settleClosed: (released: Promise<void>) => void;

  /** @internal made by `zcConnect` and a listener's `accept()` */
  constructor(private readonly connection: Connection, sys: Sys) {
    let settle!: (released: Promise<void>) => void;
    this.closed = new Promise<void>((resolve) => (settle = resolve));
    this.closed.catch(() => {});
    this.#settleClosed = settle;
    this.writable = new ZcWritableStream(connection);
    this.readable = pullReadable(connection.receiver);
    const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
    this.localAddr = decodeSockaddr(addr.subarray(0, Math.max(0, sys.getsockname(connection.fd, addr))));
    this.remoteAddr = decodeSockaddr(addr.subarray(0, Math.max(0, sys.getpeername(connection.fd, addr))));
  }

  /**
   * A buffer of `size` bytes in zcio-owned memory (for io_uring: registered with the ring), which a
   * zero-copy backend sends without copying it. Fill it, then write it (or `lease.subarray(0, n)`)
   * once: the write hands it to zcio and detaches your view, so nothing you do afterwards changes
   * what is sent; it returns to the pool when the kernel releases it. Writing it again, or on
   * another connection, rejects with LEASE_MISUSE. Waits while the pool is exhausted; rejects with
   * CLOSED once the connection is closed.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const writer = conn.writable.getWriter();
   * const payload = new TextEncoder().encode("sent from zcio's memory");
   * const lease = conn.tryLease(65536) ?? await conn.lease(65536);
   * lease.set(payload);
   * await writer.write(lease.subarray(0, payload.length)); // zcio's again: `lease` is now detached
   * console.log(lease.byteLength); // 0
   * ```
   */
  lease(size: number): Promise<Uint8Array> {
    return this.connection.leases.lease(size);
  }

  /**
   * {@link lease} without waiting: a lease of `size` bytes if the pool has room now, else undefined.
   * Throws INVALID_OPTION for a bad size and CLOSED once the connection is closed.
   */
  tryLease(size: number): Uint8Array | undefined {
    return this.connection.leases.tryLease(size);
  }

  /**
   * Sends a file (a path, an fd, a Node `FileHandle`, a `Deno.FsFile` or a `Bun.file(path)`) with
   * sendfile(2), in order with the stream's writes; resolves with the bytes sent. See
   * {@link ZcWritableStream.sendFile} for the options and errors.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "<html>hello</html>");
   * console.log(await conn.sendFile(path)); // 18
   * await Deno.remove(path);
   * ```
   */
  sendFile(file: FileSource, options?: SendFileOptions): Promise<number> {
    return this.writable.sendFile(file, options);
  }

  /** Counters: bytes per backend, zero-copied vs copied, notifications, syscalls, waits, downgrades. */
  stats(): ConnectionStats {
    return this.connection.stats();
  }

  /**
   * Finishes writing: every write the stream accepted, awaited or not, is sent first (as
   * `writer.close()` would), and the promise resolves once all of it is in the kernel; then it stops
   * reading and releases the socket and all memory. Pending reads end; writes after it fail. Rejects
   * with the error that ended sending, if one did. `abort()` is the way to drop queued writes.
   */
  async close(): Promise<void> {
    await this.writable.finish();
    return this.#released(this.connection.close());
  }

  /** Releases everything at once: queued bytes are dropped, pending writes fail with ABORTED. */
  abort(reason?: unknown): Promise<void> {
    return this.#released(this.connection.abort(reason));
  }

  /**
   * Closes the connection, as {@link close} does (and rejecting as it does), when an `await using`
   * block that holds it ends.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * {
   *   await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
   *   await conn.writable.getWriter().write(new Uint8Array(1000));
   * } // everything written is in the kernel, and the socket is closed
   * ```
   */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Settles {@link closed} as `released` (the connection's one release) settles. */
  #released(released: Promise<void>): Promise<void> {
    this.#settleClosed(released);
    return released;
  }
}

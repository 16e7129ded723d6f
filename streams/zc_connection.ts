/**
 * A socket connection as a pair of WHATWG streams, plus its counters and addresses.
 *
 * @example
 * ```ts
 * const conn = await zcConnect({ hostname: "127.0.0.1", port: 9000 });
 * const w = conn.writable.getWriter();
 * await w.write(new TextEncoder().encode("hello"));
 * await w.close();          // every byte is in the kernel; the peer reads end of stream
 * for await (const bytes of conn.readable) console.log(bytes.length);
 * await conn.close();
 * ```
 *
 * @module
 */
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { decodeSockaddr, type NetAddr } from "../ffi/sockaddr.ts";
import type { Sys } from "../ffi/sys.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import type { Connection, ConnectionStats } from "../scheduler/connection.ts";
import { ZcWritableStream } from "./connection_writable.ts";

export class ZcConnection {
  /** Bytes to the peer. `write()` takes ownership of each chunk; see README "Who owns a chunk". */
  readonly writable: ZcWritableStream;
  /** Bytes from the peer (for UDP: one chunk per datagram). */
  readonly readable: ReadableStream<Uint8Array>;
  /** This end's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;

  constructor(private readonly connection: Connection, sys: Sys) {
    this.writable = new ZcWritableStream(connection);
    const receiver = connection.receiver;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const bytes = await receiver.read();
        if (bytes === null) controller.close();
        else controller.enqueue(bytes);
      },
      cancel: () => receiver.end(),
    }, { highWaterMark: 0 });
    const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
    this.localAddr = decodeSockaddr(addr.subarray(0, Math.max(0, sys.getsockname(connection.fd, addr))));
    this.remoteAddr = decodeSockaddr(addr.subarray(0, Math.max(0, sys.getpeername(connection.fd, addr))));
  }

  /**
   * A buffer of `size` bytes in zcio-owned memory (for io_uring: registered with the ring), which a
   * zero-copy backend sends without copying or transferring it. Fill it, then write this same view
   * once: from then on it is zcio's and must not be touched or written again; it returns to the
   * pool when the kernel's notification arrives. Waits while the registered pool is exhausted.
   */
  lease(size: number): Promise<Uint8Array> {
    if (!Number.isInteger(size) || size <= 0 || size > 1 << 30) {
      return Promise.reject(
        new ZcioError({ code: "INVALID_OPTION", message: `lease size must be a whole number from 1 to 2^30; got ${size}` }),
      );
    }
    return this.connection.lease(size);
  }

  /** Counters: bytes per backend, zero-copied vs copied, notifications, syscalls, waits, downgrades. */
  stats(): ConnectionStats {
    return this.connection.stats();
  }

  /**
   * Finishes writing (resolves when every accepted byte is in the kernel), stops reading and
   * releases the socket and all memory. Pending reads end; writes after it fail with CLOSED.
   */
  close(): Promise<void> {
    return this.connection.close();
  }

  /** Releases everything at once: queued bytes are dropped, pending writes fail with ABORTED. */
  abort(reason?: unknown): Promise<void> {
    return this.connection.abort(reason);
  }
}

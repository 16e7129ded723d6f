/**
 * The WritableStream over a connection. Its sink does, per chunk, only what the hot path allows:
 * validate, record, and resolve or return the backpressure promise. The send fiber does the rest.
 *
 * A rejected chunk does not error the stream: the writer returned by `getWriter()` checks each
 * chunk before it enters the stream's queue, so `write()` of a bad chunk rejects with INVALID_CHUNK
 * and the stream stays usable. (Through `pipeTo`, which bypasses that writer, the sink's own check
 * errors the stream instead, as a WHATWG sink must.)
 *
 * @module
 */
import type { Connection } from "../scheduler/connection.ts";
import { closedError } from "../scheduler/outbox.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { validateChunk } from "./validate_chunk.ts";

/** The writable side of a zcio connection. */
export class ZcWritableStream extends WritableStream<Uint8Array> {
  readonly #isClosed: () => boolean;
  readonly #tooLarge: (chunk: Uint8Array) => ZcioError | undefined;

  /**
   * @param connection the connection, or its opening
   * @param owned true when this stream is all there is of the connection (`zcWritable(fd)`): closing
   *   or aborting the stream then releases the connection too
   */
  constructor(connection: Connection | Promise<Connection>, owned = false) {
    let conn: Connection | undefined = connection instanceof Promise ? undefined : connection;
    super({
      start: async (controller) => {
        conn ??= await connection;
        // WHATWG calls the sink's abort() only once the write in progress settles, and a write that
        // waits on a socket the peer never drains never settles: the signal fails it at once instead.
        controller.signal.addEventListener("abort", () => conn!.abortWrite(controller.signal.reason), { once: true });
      },
      write: (chunk) => {
        const error = validateChunk(chunk) ?? this.#tooLarge(chunk);
        if (error !== undefined) throw error;
        if (chunk.byteLength === 0) return;
        return conn!.write(chunk);
      },
      close: async () => {
        await conn!.closeWrite();
        if (owned) await conn!.close();
      },
      abort: async (reason) => {
        conn?.abortWrite(reason);
        if (owned) await conn?.close();
      },
    });
    this.#isClosed = () => conn?.writeClosed ?? false;
    this.#tooLarge = (chunk) =>
      conn !== undefined && chunk.byteLength > conn.maxChunkBytes
        ? new ZcioError({
          code: "EMSGSIZE",
          message: `a datagram holds at most ${conn.maxChunkBytes} bytes; this chunk has ${chunk.byteLength}`,
        })
        : undefined;
  }

  override getWriter(): WritableStreamDefaultWriter<Uint8Array> {
    return new CheckingWriter(super.getWriter(), this.#isClosed, this.#tooLarge);
  }
}

/** A writer that rejects a bad chunk, or any chunk after close, itself, leaving the stream as it was. */
class CheckingWriter implements WritableStreamDefaultWriter<Uint8Array> {
  constructor(
    private readonly inner: WritableStreamDefaultWriter<Uint8Array>,
    private readonly isClosed: () => boolean,
    private readonly tooLarge: (chunk: Uint8Array) => ZcioError | undefined,
  ) {}
  get closed(): Promise<undefined> {
    return this.inner.closed as Promise<undefined>;
  }
  get desiredSize(): number | null {
    return this.inner.desiredSize;
  }
  get ready(): Promise<undefined> {
    return this.inner.ready as Promise<undefined>;
  }
  abort(reason?: unknown): Promise<undefined> {
    return this.inner.abort(reason) as Promise<undefined>;
  }
  close(): Promise<undefined> {
    return this.inner.close() as Promise<undefined>;
  }
  releaseLock(): void {
    this.inner.releaseLock();
  }
  write(chunk?: Uint8Array): Promise<void> {
    if (this.isClosed()) return Promise.reject(closedError());
    const error = validateChunk(chunk) ?? this.tooLarge(chunk!);
    return error === undefined ? this.inner.write(chunk) : Promise.reject(error);
  }
}

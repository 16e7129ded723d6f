/**
 * The WritableStream over a connection. Its sink does, per chunk, only what the hot path allows:
 * validate, record, and resolve or return the backpressure promise. The send fiber does the rest.
 *
 * A rejected chunk does not error the stream: the writer returned by `getWriter()` checks each
 * chunk before it enters the stream's queue, so `write()` of a bad chunk rejects with INVALID_CHUNK
 * and the stream stays usable. A chunk it accepted that goes bad while it waits (its buffer is
 * detached or shrunk before the kernel has any of it) fails its own write the same way. (Through
 * `pipeTo`, which bypasses that writer, the sink's own check errors the stream instead, as a WHATWG
 * sink must.)
 *
 * @module
 */
import type { Connection } from "../scheduler/connection.ts";
import { closedError } from "../scheduler/outbox.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { plainView, validateChunk } from "./validate_chunk.ts";

/** The writable side of a zcio connection. */
export class ZcWritableStream extends WritableStream<Uint8Array> {
  readonly #isClosed: () => boolean;
  readonly #tooLarge: (chunk: Uint8Array) => ZcioError | undefined;
  readonly #connection: () => Connection | undefined;

  get #conn(): Connection | undefined {
    return this.#connection();
  }

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
      write: (chunk: Uint8Array | Accepted) => {
        const accepted = chunk instanceof Accepted ? chunk : undefined;
        const bytes = accepted?.chunk ?? (chunk as Uint8Array);
        const error = validateChunk(bytes) ?? accepted?.resized() ?? this.#tooLarge(bytes);
        if (error !== undefined) {
          if (accepted === undefined) throw error;
          accepted.error = error;
          return;
        }
        const view = plainView(bytes);
        if (view.byteLength === 0) return;
        const written = conn!.write(view);
        if (accepted === undefined || written === undefined) return written;
        // The outbox rejects a chunk that went bad before any of it was sent with an INVALID_CHUNK of
        // its own, and goes on; an error that ended sending (outbox.error) ends the stream too.
        return written.catch((e: unknown) => {
          if (!(e instanceof ZcioError) || e.code !== "INVALID_CHUNK" || e === conn!.outbox.error) throw e;
          accepted.error = e;
        });
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
    this.#connection = () => conn;
    this.#tooLarge = (chunk) =>
      conn !== undefined && chunk.byteLength > conn.maxChunkBytes
        ? new ZcioError({
          code: "EMSGSIZE",
          message: `a datagram holds at most ${conn.maxChunkBytes} bytes; this chunk has ${chunk.byteLength}`,
        })
        : undefined;
  }

  override getWriter(): WritableStreamDefaultWriter<Uint8Array> {
    return new CheckingWriter(super.getWriter(), this.#isClosed, this.#tooLarge, this.#stageNow);
  }

  readonly #stageNow = (chunk: Uint8Array): boolean => this.#conn?.outbox.stageNow(chunk) ?? false;
}

/** What every fast-path write returns: one settled promise, not a new one per chunk. */
const DONE: Promise<void> = Promise.resolve();

/**
 * A writer that rejects a bad chunk, or any chunk after close, itself, leaving the stream as it
 * was. While no write of its own is pending in the stream, a small chunk goes straight into the
 * connection's staging (order is kept: nothing is queued ahead of it), skipping the stream's
 * per-chunk queue steps; everything else goes through the stream.
 */
class CheckingWriter implements WritableStreamDefaultWriter<Uint8Array> {
  #pending = 0;
  #ended = false;
  readonly #settled = () => {
    this.#pending--;
  };

  constructor(
    private readonly inner: WritableStreamDefaultWriter<Uint8Array>,
    private readonly isClosed: () => boolean,
    private readonly tooLarge: (chunk: Uint8Array) => ZcioError | undefined,
    private readonly stageNow: (chunk: Uint8Array) => boolean,
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
    this.#ended = true;
    return this.inner.abort(reason) as Promise<undefined>;
  }
  close(): Promise<undefined> {
    this.#ended = true;
    return this.inner.close() as Promise<undefined>;
  }
  releaseLock(): void {
    this.inner.releaseLock();
  }
  write(chunk?: Uint8Array): Promise<void> {
    if (this.isClosed()) return Promise.reject(closedError());
    const invalid = validateChunk(chunk);
    if (invalid !== undefined) return Promise.reject(invalid);
    const view = plainView(chunk!);
    const error = this.tooLarge(view);
    if (error !== undefined) return Promise.reject(error);
    if (this.#pending === 0 && !this.#ended && view.byteLength > 0 && this.stageNow(view)) return DONE;
    this.#pending++;
    const accepted = new Accepted(view);
    const written = this.inner.write(accepted as unknown as Uint8Array).then(() => accepted.check());
    written.then(this.#settled, this.#settled);
    return written;
  }
}

/**
 * A chunk the checking writer accepted, as it travels through the stream's queue: if it turns out
 * bad by the time it is recorded or sent, the sink puts the error here and only this write fails.
 */
class Accepted {
  error: ZcioError | undefined;
  /** Its length when accepted: a length-tracking view of a resizable buffer may change it. */
  readonly length: number;
  constructor(readonly chunk: Uint8Array) {
    this.length = chunk.byteLength;
  }
  /** The error for a chunk whose buffer was resized since it was accepted. */
  resized(): ZcioError | undefined {
    if (this.chunk.byteLength === this.length) return undefined;
    return new ZcioError({
      code: "INVALID_CHUNK",
      message: "the chunk's buffer was resized after write() accepted it; leave a written chunk alone until its write() resolves",
    });
  }
  check(): void {
    if (this.error !== undefined) throw this.error;
  }
}

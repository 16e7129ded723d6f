/**
 * The WritableStream over a connection. Per chunk it does only what the hot path allows: validate,
 * hand the chunk to the connection (which stages it or sends it at once when nothing is queued), and
 * resolve or return the backpressure promise. The send fiber takes over only what must wait.
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
import { FileSend } from "../backends/file_send.ts";
import { SendStats } from "../backends/send_stats.ts";
import type { Connection, ConnectionStats } from "../scheduler/connection.ts";
import { closedError } from "../scheduler/outbox.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { byteLengthOf } from "../ffi/intrinsics.ts";
import { type FileSource, openFile } from "./open_file.ts";
import { checkLength, plainView, validateChunk } from "./validate_chunk.ts";

/** Options of `sendFile`. */
export interface SendFileOptions {
  /** Where in the file to start (default 0). The file's own position is neither used nor moved. */
  readonly offset?: number;
  /** How many bytes to send (default: from `offset` to the end of the file as it is now). */
  readonly length?: number;
  /** Stops the send at the next point between two sendfile(2) calls; it rejects with ABORTED and `bytesSent`. */
  readonly signal?: AbortSignal;
}

/** The writable side of a zcio connection. */
export class ZcWritableStream extends WritableStream<Uint8Array> {
  readonly #isClosed: () => boolean;
  readonly #tooLarge: (size: number) => ZcioError | undefined;
  readonly #connection: () => Connection | undefined;
  readonly #opening: Promise<Connection>;

  /**
   * @internal made by `ZcConnection` and `zcWritable`
   * @param connection the connection, or its opening
   * @param owned true when this stream is all there is of the connection (`zcWritable(fd)`): closing
   *   or aborting the stream then releases the connection too
   */
  constructor(connection: Connection | Promise<Connection>, owned = false) {
    let conn: Connection | undefined = connection instanceof Promise ? undefined : connection;
    const opening = Promise.resolve(connection);
    super({
      start: async (controller) => {
        conn ??= await connection;
        // WHATWG calls the sink's abort() only once the write in progress settles, and a write that
        // waits on a socket the peer never drains never settles: the signal fails it at once instead.
        controller.signal.addEventListener("abort", () => conn!.abortWrite(controller.signal.reason), { once: true });
      },
      write: (chunk: Uint8Array | Accepted | FileSend) => {
        if (chunk instanceof FileSend) return conn!.sendFile(chunk);
        const accepted = chunk instanceof Accepted ? chunk : undefined;
        // A write the writer started itself is in the outbox already; the stream only waits for it.
        let written = accepted?.written;
        if (written === undefined) {
          const bytes = accepted?.chunk ?? (chunk as Uint8Array);
          const size = validateChunk(bytes);
          const error = typeof size !== "number" ? size : accepted?.resized() ?? this.#tooLarge(size);
          if (typeof size !== "number" || error !== undefined) {
            if (accepted === undefined) throw error;
            accepted.error = error;
            return;
          }
          const view = plainView(bytes);
          // An empty chunk carries nothing on a byte stream (TCP); over UDP it is a datagram of its own.
          if (size === 0 && conn!.config.transport !== "udp") return;
          written = conn!.write(view, size);
        }
        if (accepted === undefined || written === undefined) return written;
        // The outbox rejects a chunk that went bad before any of it was sent (INVALID_CHUNK), or a
        // lease it may not take (LEASE_MISUSE), and goes on; an error that ended sending
        // (outbox.error) ends the stream too.
        return written.catch((e: unknown) => {
          if (!(e instanceof ZcioError) || (e.code !== "INVALID_CHUNK" && e.code !== "LEASE_MISUSE") || e === conn!.outbox.error) throw e;
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
    this.#opening = opening;
    this.#tooLarge = (size) =>
      conn !== undefined && size > conn.maxChunkBytes
        ? new ZcioError({
          code: "EMSGSIZE",
          message: `a datagram holds at most ${conn.maxChunkBytes} bytes; this chunk has ${size}`,
        })
        : undefined;
  }

  /**
   * Counters, as `ZcConnection.stats()` has them: bytes per backend, zero-copied vs copied,
   * notifications, syscalls, waits, downgrades. All zeros until the stream has its connection (a
   * `zcWritable(fd)` stream sets its socket up as it starts), or if that failed.
   */
  stats(): ConnectionStats {
    return this.#connection()?.stats() ?? { ...new SendStats().snapshot(), bytesReceived: 0 };
  }

  /**
   * Sends `length` bytes of a file from `offset` (the rest of the file by default) over this TCP
   * stream with sendfile(2): the kernel moves them from the page cache, never through JavaScript.
   * The send takes its place among the stream's writes: what was written before it goes first, what
   * is written after it waits for it, and its bytes count in `stats().fileBytes`. Resolves with the
   * bytes sent. Rejects before sending anything for a missing file (ENOENT), a directory (EISDIR),
   * no permission (EACCES), a range past the end (FILE_RANGE), or a locked stream being piped
   * into (STREAM_LOCKED); once started, with `bytesSent` set, when the file shrank (FILE_TRUNCATED,
   * the stream goes on), on `signal` (ABORTED, the stream goes on), or when the connection failed
   * (ECONNRESET, EPIPE, ..., which ends the stream). A file zcio opened is closed when it settles;
   * an fd or handle you gave stays yours and must stay open until then.
   *
   * @example
   * ```ts
   * import { zcConnect, zcListen } from "@zcio/zcio";
   *
   * await using listener = await zcListen({ port: 0 });
   * await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "the file's bytes");
   * const writer = conn.writable.getWriter();
   * writer.write(new TextEncoder().encode("header, then "));
   * const sent = await conn.writable.sendFile(path, { offset: 4, length: 6 }); // "file's", after the header
   * console.log(sent); // 6
   * await Deno.remove(path);
   * ```
   */
  async sendFile(file: FileSource, options: SendFileOptions = {}): Promise<number> {
    const conn = this.#connection() ?? await this.#opening;
    if (conn.config.transport !== "tcp") throw invalidOption("sendFile needs a TCP connection");
    const { offset = 0, length, signal } = options;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidOption(`offset must be a non-negative integer, not ${offset}`);
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw invalidOption(`length must be a non-negative integer, not ${length}`);
    }
    if (conn.writeClosed) throw conn.outbox.error ?? closedError();
    if (signal?.aborted) throw abortedSend(signal);
    const opened = openFile(conn.sys, file);
    if (opened instanceof ZcioError) throw opened;
    const end = length === undefined ? opened.size : offset + length;
    if (offset > opened.size || end > opened.size) {
      opened.release();
      throw new ZcioError({
        code: "FILE_RANGE",
        message: `bytes ${offset} to ${end} are past the end of the file (${opened.size} bytes); give a range inside it`,
      });
    }
    const send = new FileSend(opened.fd, offset, end - offset, opened.release);
    if (send.length === 0) {
      send.finish();
      return send.done;
    }
    if (signal !== undefined) {
      const abort = () => send.fail(abortedSend(signal));
      signal.addEventListener("abort", abort, { once: true });
      send.settled.then(() => signal.removeEventListener("abort", abort));
    }
    this.#enqueue(send).catch((e: unknown) =>
      send.fail(e instanceof ZcioError ? e : new ZcioError({ code: "CLOSED", message: `the stream ended: ${String(e)}` }))
    );
    return send.done;
  }

  /** Puts `send` in the stream's queue, through the writer that holds the lock or one made for it. */
  #enqueue(send: FileSend): Promise<void> {
    if (!this.locked) {
      const writer = this.getWriter() as ZcWriter;
      const written = writer.writeFile(send);
      writer.releaseLock();
      return written;
    }
    const writer = this.#writer;
    if (writer === undefined || !writer.holdsLock()) {
      return Promise.reject(
        new ZcioError({
          code: "STREAM_LOCKED",
          message: "the stream is being piped into; call sendFile once the pipe has ended, or write through getWriter()",
        }),
      );
    }
    return writer.writeFile(send);
  }

  /** A writer of this stream: a real `WritableStreamDefaultWriter` that starts sends in `write()`. */
  override getWriter(): WritableStreamDefaultWriter<Uint8Array> {
    const writer = new ZcWriter(this, this.#connection, this.#isClosed, this.#tooLarge);
    this.#writer = writer;
    return writer;
  }

  /**
   * Closes the stream through its queue, so that every write it accepted is sent first, and waits
   * for that: through the stream itself when it is unlocked, or through the writer `getWriter()`
   * made when that one holds the lock. Errors are the stream's writers' to report; this only waits.
   */
  async finish(): Promise<void> {
    const writer = this.#writer;
    try {
      if (!this.locked) await super.close();
      else if (writer !== undefined) await (writer.closing ??= writerClose.call(writer));
    } catch {
      // Already closed, closing through another writer, errored or aborted: nothing more to flush.
    }
  }

  #writer: ZcWriter | undefined;
}

const invalidOption = (message: string): ZcioError => new ZcioError({ code: "INVALID_OPTION", message });

/** The error of a send whose signal was aborted (its bytes sent are added as it fails). */
const abortedSend = (signal: AbortSignal): ZcioError =>
  new ZcioError({
    code: "ABORTED",
    message: `sendFile was aborted${signal.reason === undefined ? "" : `: ${String(signal.reason)}`}`,
    bytesSent: 0,
  });

/** What every fast-path write returns: one settled promise, not a new one per chunk. */
const DONE: Promise<void> = Promise.resolve();

// The platform's own methods, taken at load: the writer calls them for everything but the fast path.
const writerClose = WritableStreamDefaultWriter.prototype.close;

/**
 * The stream's writer: a real `WritableStreamDefaultWriter`, so the platform's brand checks pass and
 * every state (released, closing, closed, errored, aborted) behaves as WHATWG specifies; it only
 * adds two things to `write()`. It rejects a bad chunk itself (INVALID_CHUNK), leaving the stream as
 * it was. And while nothing is queued in the stream (its desired size is its whole high-water mark)
 * it hands the chunk to the connection at once: staged, or sent by the syscall `write()` makes, a
 * chunk the kernel took completely resolves with no allocation and no hop through the stream. A
 * chunk that must wait (the socket or staging is full, owned memory is at its limit) becomes the
 * stream's write in progress, so later writes queue behind it and close() waits for it; anything
 * written while the stream is busy goes through the stream, which keeps the order.
 */
class ZcWriter extends WritableStreamDefaultWriter<Uint8Array> {
  /** Set once `close()` was called through this writer. */
  closing: Promise<void> | undefined;
  /** The last chunk `write()` accepted: a Uint8Array (its brand checked). */
  #lastChunk: Uint8Array | undefined;

  constructor(
    stream: WritableStream<Uint8Array>,
    private readonly connection: () => Connection | undefined,
    private readonly isClosed: () => boolean,
    private readonly tooLarge: (size: number) => ZcioError | undefined,
  ) {
    super(stream);
  }

  override close(): Promise<void> {
    return (this.closing = super.close());
  }

  /** Whether this writer still holds the stream's lock. */
  holdsLock(): boolean {
    try {
      void super.desiredSize;
      return true;
    } catch {
      return false;
    }
  }

  /** Queues a file send behind every write so far (rejecting as the platform's write does). */
  writeFile(send: FileSend): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    return this.#platformWrite(send as unknown as Uint8Array);
  }

  override write(chunk?: Uint8Array): Promise<void> {
    let desired: number | null;
    try {
      desired = super.desiredSize;
    } catch {
      return Promise.reject(new TypeError("this writer was released; write through the stream's current writer"));
    }
    // Errored or aborted: the platform's write rejects with the stream's error.
    if (desired === null) return this.#platformWrite(chunk!);
    if (this.closing !== undefined) return this.#platformWrite(chunk!);
    if (this.isClosed()) return Promise.reject(closedError());
    // A brand never changes, and the brand check is the dearest of the intrinsics in JavaScriptCore:
    // the chunk this writer last accepted, written again, has only its length checked.
    const size = chunk !== undefined && chunk === this.#lastChunk ? checkLength(chunk) : validateChunk(chunk);
    if (typeof size !== "number") return Promise.reject(size);
    this.#lastChunk = chunk;
    const view = plainView(chunk!);
    const error = this.tooLarge(size);
    if (error !== undefined) return Promise.reject(error);
    const conn = this.connection();
    if (desired === 1 && conn !== undefined && size > 0) {
      const written = conn.write(view, size);
      if (written === undefined) return DONE;
      const waiting = new Accepted(view, size, written);
      return this.#platformWrite(waiting as unknown as Uint8Array).then(waiting.check);
    }
    const accepted = new Accepted(view, size);
    return this.#platformWrite(accepted as unknown as Uint8Array).then(accepted.check);
  }

  /**
   * The platform's own write. Node 20's throws an internal assertion (instead of rejecting with a
   * TypeError) when the stream is closing or closed; that becomes the TypeError WHATWG specifies.
   */
  #platformWrite(chunk: Uint8Array): Promise<void> {
    try {
      return super.write(chunk);
    } catch (e) {
      return Promise.reject(e instanceof TypeError ? e : new TypeError(`the stream is closing or closed: ${String(e)}`));
    }
  }
}

/**
 * A chunk the checking writer accepted, as it travels through the stream's queue: if it turns out
 * bad by the time it is recorded or sent, the sink puts the error here and only this write fails.
 */
class Accepted {
  error: ZcioError | undefined;
  /**
   * @param chunk the validated view
   * @param length its length when accepted: a length-tracking view of a resizable buffer may change it
   * @param written set when the writer handed the chunk to the connection itself: what the
   *   connection's write returned, which the stream then waits for
   */
  constructor(readonly chunk: Uint8Array, readonly length: number, readonly written?: Promise<void>) {}
  /** The error for a chunk whose buffer was resized since it was accepted. */
  resized(): ZcioError | undefined {
    if (byteLengthOf(this.chunk) === this.length) return undefined;
    return new ZcioError({
      code: "INVALID_CHUNK",
      message: "the chunk's buffer was resized after write() accepted it; leave a written chunk alone until its write() resolves",
    });
  }
  /** Fails the write with the error the sink put here, if any (a bound method: it is a `then` handler). */
  readonly check = (): void => {
    if (this.error !== undefined) throw this.error;
  };
}

/**
 * One `sendFile` as it waits in a connection's {@link SendQueue}: the file's fd and the byte range
 * the kernel is to move from it to the socket, how far it got, and the promise the caller holds.
 * It settles once: resolved with the bytes sent when the whole range went; rejected with a
 * {@link ZcioError} carrying `bytesSent` when it stopped early (the file shrank, it was aborted, the
 * connection failed). Its fd is let go as it settles, and nothing reads the fd afterwards.
 *
 * @module
 */
import { ZcioError } from "../ffi/zcio_error.ts";

export class FileSend {
  /** Bytes of the range the kernel has taken. */
  sent = 0;
  /** Resolves with the bytes sent, or rejects with a ZcioError carrying `bytesSent`. */
  readonly done: Promise<number>;
  /** Resolves once {@link done} has settled, either way. */
  readonly settled: Promise<void>;
  #isSettled = false;
  #resolve!: (bytes: number) => void;
  #reject!: (error: ZcioError) => void;
  /** The `off_t` sendfile(2) reads the file position from. */
  readonly #offset = new Uint32Array(2);
  readonly #offsetBytes = new Uint8Array(this.#offset.buffer);

  /**
   * @param fd the file, open for reading
   * @param start where the range starts in the file
   * @param length bytes in the range
   * @param release lets the fd go (closes it when zcio opened it); runs once, as the send settles
   */
  constructor(
    readonly fd: number,
    readonly start: number,
    readonly length: number,
    private readonly release: () => void,
  ) {
    this.done = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.settled = this.done.then(() => {}, () => {});
  }

  get isSettled(): boolean {
    return this.#isSettled;
  }

  /** The position of the first unsent byte, as the 8-byte `off_t` sendfile(2) takes. */
  offset(): Uint8Array {
    const at = this.start + this.sent;
    this.#offset[0] = at >>> 0;
    this.#offset[1] = Math.floor(at / 4294967296);
    return this.#offsetBytes;
  }

  /** The whole range went. */
  finish(): void {
    if (this.#settle()) this.#resolve(this.sent);
  }

  /** Stops here: rejects with `error` (its code, errno and message) and the bytes sent so far. */
  fail(error: ZcioError): void {
    if (!this.#settle()) return;
    this.#reject(
      new ZcioError({
        code: error.code,
        errno: error.errno,
        backend: error.backend,
        message: `${error.message} (sendFile: ${this.sent} of ${this.length} bytes sent)`,
        bytesSent: this.sent,
      }),
    );
  }

  #settle(): boolean {
    if (this.#isSettled) return false;
    this.#isSettled = true;
    this.release();
    return true;
  }
}

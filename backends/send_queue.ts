/**
 * The per-connection outbox: what the sink has accepted and the kernel has not taken yet.
 *
 * Small chunks are copied into a staging ring in mmap'd memory, so their `write()` resolves at
 * once and the caller may reuse them; consecutive staged chunks of a stream merge into one segment,
 * so a run of them leaves in one iovec. Large chunks are borrowed: the caller's view is queued as is
 * and its `write()` resolves only when the kernel has taken every byte of it. A view zcio owns (a
 * lease) is queued by its record in {@link OwnedBuffers}, which holds it until the kernel is done
 * with it, past the send when that was zero-copy. A `sendFile` is a
 * segment too, in its place among the writes, which no backend sends: the file sender (file_sender.ts) does.
 *
 * Segments sit in parallel arrays used as a ring, so queueing allocates nothing once the ring has
 * grown to the peak number of segments.
 *
 * @module
 */
import { byteLengthOf, setBytes } from "../ffi/intrinsics.ts";
import type { FileSend } from "./file_send.ts";
import type { OwnedBuffers } from "./owned_buffers.ts";

/** Segment kinds. */
/** Copied into staging at `write()`; the caller's buffer was free again at once. */
export const STAGED = 0;
/** The caller's view; its write resolves once the kernel has taken every byte. */
export const BORROWED = 1;
/** A view zcio owns (a transferred buffer or a lease), recorded in {@link OwnedBuffers}: the kernel may keep reading it after the send. */
export const OWNED = 2;
/** A range of a file ({@link FileSend}), which the kernel sends from the page cache. */
export const FILE = 3;

/**
 * Segment routes: which sender of a connection sends a segment. A single-backend connection sends
 * every segment with its one sender; `auto` ({@link AutoBackend}) hands each run of one route to
 * that route's sender.
 */
/** The direct sender (sendmsg/sendmmsg), by copy. */
export const ROUTE_COPY = 0;
/** The direct sender, with MSG_ZEROCOPY when the segment is owned and zero-copy is on. */
export const ROUTE_MSG_ZEROCOPY = 1;
/** The io_uring sender: SEND_ZC when the segment is owned and zero-copy is on, else SEND. */
export const ROUTE_IO_URING = 2;

export class SendQueue {
  // Segment ring.
  #kinds = new Uint8Array(16);
  #routes = new Uint8Array(16);
  /** An owned segment's record in {@link OwnedBuffers}. */
  #records = new Int32Array(16);
  #starts = new Float64Array(16);
  #lengths = new Float64Array(16);
  #progress = new Float64Array(16);
  #addresses = new Float64Array(16);
  #views: (Uint8Array | undefined)[] = new Array(16).fill(undefined);
  #files: (FileSend | undefined)[] = new Array(16).fill(undefined);
  #fileCount = 0;
  #head = 0;
  #count = 0;
  #mask = 15;

  // Staging byte ring over `[0, capacity)` of the slab: bytes live in [stageHead, stageTail), with a
  // gap at [wrapAt, capacity) once the tail has wrapped.
  readonly #staging: Uint8Array;
  readonly #stagingAddress: number;
  #stageHead = 0;
  #stageTail = 0;
  #stageUsed = 0;
  #wrapAt = -1;
  #queuedBytes = 0;
  #ownedBytes = 0;

  /**
   * @param staging mmap'd memory for staged bytes; its length is the staging capacity
   * @param stagingAddress the address of `staging[0]`
   * @param mergeStaged true for byte streams; false keeps each staged chunk its own segment (datagrams)
   * @param onBorrowedDone told when the kernel has taken every byte of a borrowed view
   * @param owned the connection's owned buffers, told when one leaves the queue
   */
  constructor(
    staging: Uint8Array,
    stagingAddress: number,
    private readonly mergeStaged: boolean,
    private readonly onBorrowedDone: (view: Uint8Array) => void,
    readonly owned: OwnedBuffers,
  ) {
    this.#staging = staging;
    this.#stagingAddress = stagingAddress;
    this.capacity = byteLengthOf(staging);
  }

  /** Staging capacity in bytes. */
  readonly capacity: number;

  /** Segments waiting. */
  get length(): number {
    return this.#count;
  }

  /** Bytes accepted and not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Copies `chunk` into staging; false (and nothing changed) if staging has no room for it. An
   * empty chunk takes no staging bytes: for datagrams it is a segment of its own (an empty
   * datagram); on a byte stream it adds nothing.
   */
  stage(chunk: Uint8Array): boolean {
    // Read through the intrinsics: the chunk is the caller's, and its getters may lie.
    const n = byteLengthOf(chunk);
    if (n === 0) {
      if (!this.mergeStaged) this.#push(STAGED, ROUTE_COPY, 0, 0, undefined);
      return true;
    }
    const at = this.#reserve(n);
    if (at < 0) return false;
    setBytes(this.#staging, chunk, at);
    this.#queuedBytes += n;
    if (this.mergeStaged && this.#count > 0) {
      const last = (this.#head + this.#count - 1) & this.#mask;
      if (this.#kinds[last] === STAGED && this.#starts[last] + this.#lengths[last] === at) {
        this.#lengths[last] += n;
        return true;
      }
    }
    this.#push(STAGED, ROUTE_COPY, at, n, undefined);
    return true;
  }

  /**
   * Queues the caller's view itself, of `length` bytes (as the intrinsics read it); `onBorrowedDone(view)`
   * runs once the kernel has all of it.
   */
  borrow(view: Uint8Array, length: number = byteLengthOf(view)): void {
    this.#queuedBytes += length;
    this.#push(BORROWED, ROUTE_COPY, 0, length, view);
  }

  /**
   * Queues a view zcio owns, recorded in {@link OwnedBuffers}; its record is told once the view
   * leaves the queue.
   */
  own(view: Uint8Array, route: number = ROUTE_MSG_ZEROCOPY): void {
    const n = byteLengthOf(view);
    this.#queuedBytes += n;
    this.#ownedBytes += n;
    this.#push(OWNED, route, 0, n, undefined);
    this.#records[(this.#head + this.#count - 1) & this.#mask] = this.owned.add(view, n);
  }

  /** Queues a range of a file; whoever sends it tells its {@link FileSend} how far it got. */
  file(send: FileSend): void {
    this.#queuedBytes += send.length;
    this.#push(FILE, ROUTE_COPY, 0, send.length, undefined);
    this.#files[(this.#head + this.#count - 1) & this.#mask] = send;
    this.#fileCount++;
  }

  /** The file of the `i`-th segment, if it is one. */
  fileAt(i: number): FileSend | undefined {
    return this.#files[(this.#head + i) & this.#mask];
  }

  /** How many segments come before the oldest file; -1 if no file is queued. */
  beforeFirstFile(): number {
    if (this.#fileCount === 0) return -1;
    let i = 0;
    while (this.kind(i) !== FILE) i++;
    return i;
  }

  /** Bytes of owned views still queued. */
  get ownedBytes(): number {
    return this.#ownedBytes;
  }

  /** The kind of the `i`-th waiting segment (0 is the oldest). */
  kind(i: number): number {
    return this.#kinds[(this.#head + i) & this.#mask];
  }

  /** The route of the `i`-th waiting segment: {@link ROUTE_COPY}, {@link ROUTE_MSG_ZEROCOPY} or {@link ROUTE_IO_URING}. */
  route(i: number): number {
    return this.#routes[(this.#head + i) & this.#mask];
  }

  /** Bytes of the `i`-th segment not yet sent. */
  remaining(i: number): number {
    const s = (this.#head + i) & this.#mask;
    return this.#lengths[s] - this.#progress[s];
  }

  /** The view of the `i`-th segment: the caller's (borrowed) or zcio's (owned). */
  view(i: number): Uint8Array | undefined {
    const s = (this.#head + i) & this.#mask;
    return this.#kinds[s] === OWNED ? this.owned.view(this.#records[s]) : this.#views[s];
  }

  /** The record in {@link OwnedBuffers} of the `i`-th segment, an owned one. */
  record(i: number): number {
    return this.#records[(this.#head + i) & this.#mask];
  }

  /**
   * Address of the first unsent byte of the `i`-th segment, or -1 if a borrowed view no longer
   * holds the bytes it held when queued (its buffer was detached or shrunk meanwhile). The address
   * of a borrowed view is taken once, the first time it is asked for.
   */
  address(i: number, addressOf: (view: Uint8Array) => number): number {
    const s = (this.#head + i) & this.#mask;
    const kind = this.#kinds[s];
    if (kind === STAGED) return this.#stagingAddress + this.#starts[s] + this.#progress[s];
    const view = kind === OWNED ? this.owned.view(this.#records[s]) : this.#views[s]!;
    if (byteLengthOf(view) !== this.#lengths[s]) return -1;
    if (this.#addresses[s] === 0) this.#addresses[s] = addressOf(view);
    return this.#addresses[s] + this.#progress[s];
  }

  /** Whether any byte of the oldest segment has been sent. */
  get headStarted(): boolean {
    return this.#count > 0 && this.#progress[this.#head] > 0;
  }

  /** Marks `n` bytes as taken by the kernel, oldest first, completing whole segments. */
  consume(n: number): void {
    this.#queuedBytes -= n;
    while (n > 0) {
      const s = this.#head;
      const left = this.#lengths[s] - this.#progress[s];
      if (n < left) {
        this.#progress[s] += n;
        if (this.#kinds[s] === OWNED) this.#ownedBytes -= n;
        return;
      }
      n -= left;
      this.#shift();
    }
  }

  /** Completes the oldest segment whole, as a datagram send does. */
  consumeSegment(): void {
    this.#queuedBytes -= this.#lengths[this.#head] - this.#progress[this.#head];
    this.#shift();
  }

  /**
   * Drops the oldest segment without telling a borrowed view's writer (it was rejected, or sending
   * ended); an owned view's record hears that it left the queue. Returns a borrowed view.
   */
  dropHead(): Uint8Array | undefined {
    const s = this.#head;
    const view = this.#views[s];
    this.#queuedBytes -= this.#lengths[s] - this.#progress[s];
    this.#views[s] = undefined;
    this.#release(s);
    return view;
  }

  /** Empties the queue (sending ended). */
  clear(): void {
    while (this.#count > 0) this.dropHead();
    this.#stageHead = this.#stageTail = this.#stageUsed = 0;
    this.#wrapAt = -1;
  }

  #shift(): void {
    const s = this.#head;
    const view = this.#views[s];
    this.#views[s] = undefined;
    this.#release(s);
    if (view !== undefined) this.onBorrowedDone(view);
  }

  #release(s: number): void {
    // An empty staged segment (an empty datagram) holds no staging bytes.
    if (this.#kinds[s] === STAGED) {
      if (this.#lengths[s] > 0) this.#unreserve(this.#starts[s], this.#lengths[s]);
    } else if (this.#kinds[s] === OWNED) this.#ownedBytes -= this.#lengths[s] - this.#progress[s];
    else if (this.#kinds[s] === FILE) {
      this.#files[s] = undefined;
      this.#fileCount--;
    }
    this.#addresses[s] = 0;
    this.#progress[s] = 0;
    this.#head = (this.#head + 1) & this.#mask;
    this.#count--;
    // Last: the record may end now, and its memory go back to the connection's leases.
    if (this.#kinds[s] === OWNED) this.owned.sent(this.#records[s]);
  }

  #push(kind: number, route: number, start: number, length: number, view: Uint8Array | undefined): void {
    if (this.#count === this.#mask + 1) this.#grow();
    const s = (this.#head + this.#count) & this.#mask;
    this.#kinds[s] = kind;
    this.#routes[s] = route;
    this.#starts[s] = start;
    this.#lengths[s] = length;
    this.#progress[s] = 0;
    this.#addresses[s] = 0;
    this.#views[s] = view;
    this.#count++;
  }

  #grow(): void {
    const size = (this.#mask + 1) * 2;
    const order = (i: number) => (this.#head + i) & this.#mask;
    const remap = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      for (let i = 0; i < this.#count; i++) b[i] = a[order(i)];
      return b;
    };
    this.#kinds = remap(this.#kinds, (n) => new Uint8Array(n));
    this.#routes = remap(this.#routes, (n) => new Uint8Array(n));
    this.#records = remap(this.#records, (n) => new Int32Array(n));
    this.#starts = remap(this.#starts, (n) => new Float64Array(n));
    this.#lengths = remap(this.#lengths, (n) => new Float64Array(n));
    this.#progress = remap(this.#progress, (n) => new Float64Array(n));
    this.#addresses = remap(this.#addresses, (n) => new Float64Array(n));
    const views = new Array<Uint8Array | undefined>(size).fill(undefined);
    const files = new Array<FileSend | undefined>(size).fill(undefined);
    for (let i = 0; i < this.#count; i++) {
      views[i] = this.#views[order(i)];
      files[i] = this.#files[order(i)];
    }
    this.#views = views;
    this.#files = files;
    this.#head = 0;
    this.#mask = size - 1;
  }

  /** Offset of `n` free contiguous staging bytes, or -1. */
  #reserve(n: number): number {
    const cap = this.capacity;
    if (n > cap) return -1;
    if (this.#stageUsed === 0) {
      this.#stageHead = this.#stageTail = 0;
      this.#wrapAt = -1;
    }
    if (this.#wrapAt < 0) {
      // Bytes are in [head, tail): room at the end, or after a wrap, at the start.
      if (cap - this.#stageTail >= n) {
        const at = this.#stageTail;
        this.#stageTail += n;
        this.#stageUsed += n;
        return at;
      }
      if (this.#stageHead >= n) {
        this.#wrapAt = this.#stageTail;
        this.#stageUsed += cap - this.#stageTail + n;
        this.#stageTail = n;
        return 0;
      }
      return -1;
    }
    // Wrapped: bytes are in [head, wrapAt) and [0, tail).
    if (this.#stageHead - this.#stageTail >= n) {
      const at = this.#stageTail;
      this.#stageTail += n;
      this.#stageUsed += n;
      return at;
    }
    return -1;
  }

  /** Frees the oldest staged bytes `[start, start + length)`. */
  #unreserve(start: number, length: number): void {
    this.#stageHead = start + length;
    this.#stageUsed -= length;
    if (this.#wrapAt >= 0 && this.#stageHead === this.#wrapAt) {
      this.#stageUsed -= this.capacity - this.#wrapAt;
      this.#stageHead = 0;
      this.#wrapAt = -1;
    }
    if (this.#stageUsed === 0) {
      this.#stageHead = this.#stageTail = 0;
      this.#wrapAt = -1;
    }
  }
}

/**
 * The leases of one connection: memory zcio owns, which the caller fills and writes once, and which
 * the zero-copy backends send without copying.
 *
 * Each lease is the whole of an ArrayBuffer of its own: registered memory of the ring (io_uring)
 * mapped as a fresh ArrayBuffer, or plain memory otherwise. Writing a lease (or a view of it from
 * its first byte) hands it over: zcio detaches the caller's ArrayBuffer, so no view of it can change
 * or resend bytes the kernel may still read, and sends its own view of the same memory. A second
 * write, or a write on another connection, is refused with LEASE_MISUSE, never a silent loss.
 *
 * Lease memory is bounded per connection: registered leases by the ring's region (shared by the
 * thread's connections), plain leases by `maxLeaseBytes` (leased and unwritten, plus owned bytes
 * queued or in flight). {@link LeasePool.tryLease} answers at once; {@link LeasePool.lease} waits
 * for room. Closing the connection rejects its waiters with CLOSED.
 *
 * @module
 */
import type { RegisteredLeases } from "../backends/registered_leases.ts";
import { arrayBufferByteLengthOf, bufferOf, byteOffsetOf, moveOut } from "../ffi/intrinsics.ts";
import type { Sys } from "../ffi/sys.ts";
import { ZcioError } from "../ffi/zcio_error.ts";

/** A lease handed out and not yet written. */
interface LeaseRecord {
  readonly pool: LeasePool;
  /** The slot's offset in the registered region, or -1 for a plain lease. */
  readonly offset: number;
  readonly size: number;
}

/** Every lease of the process handed out and not yet written, by its ArrayBuffer. */
const unwritten = new WeakMap<ArrayBuffer, LeaseRecord>();
/** ArrayBuffers of leases already written: only to say so when one is written again. */
const written = new WeakSet<ArrayBuffer>();

/**
 * Owned chunks (leases, and buffers taken over with `transferBuffers`) below this many bytes are
 * staged like the caller's small chunks: below it, zero-copy costs more than the copy it saves (the
 * calibration's crossover on every sink measured here), and Bun may move a small buffer's bytes.
 * The caller's own memory is staged up to the larger `stageBelow`.
 */
export const OWNED_STAGE_BELOW = 16 * 1024;

/**
 * How many leases of the process are out and unwritten. While none, a write needs no lookup to
 * know its chunk is not a lease.
 */
export const leasesOut = { count: 0 };

/** What a dropped, unwritten lease gives back. */
const collected = new FinalizationRegistry<LeaseRecord>((record) => {
  leasesOut.count--;
  record.pool.collected(record);
});

/** zcio's ArrayBuffers of written plain leases: the memory {@link LeasePool.giveBack} may keep to lease again. */
const plainMemory = new WeakSet<ArrayBuffer>();

export class LeasePool {
  #closed: ZcioError | undefined;
  /** Bytes of plain leases out and unwritten. */
  #plainOut = 0;
  /**
   * Plain lease memory the kernel has released, kept for the next lease of the same size: a new
   * ArrayBuffer is zeroed memory, and allocating one costs more than sending it. Counted against
   * maxLeaseBytes; dropped (to the garbage collector) when room is needed for another size.
   */
  #spare: ArrayBuffer[] = [];
  #spareBytes = 0;
  readonly #waiting: { size: number; resolve: (view: Uint8Array) => void; reject: (e: unknown) => void }[] = [];

  /**
   * @param registered the ring's registered region, if the connection sends through one
   * @param maxLeaseBytes bound on plain lease memory (unwritten, queued and in flight)
   * @param ownedBytes owned bytes queued and in flight now
   */
  constructor(
    private readonly sys: Sys,
    private readonly registered: RegisteredLeases | undefined,
    readonly maxLeaseBytes: number,
    private readonly ownedBytes: () => number,
  ) {}

  /** A lease of `size` bytes if the pool has room now; undefined otherwise. Throws when closed. */
  tryLease(size: number): Uint8Array | undefined {
    if (this.#closed !== undefined) throw this.#closed;
    this.#check(size);
    const registered = this.registered;
    if (registered !== undefined && registered.fits(size)) {
      const offset = registered.take(size);
      return offset < 0 ? undefined : this.#registeredLease(offset, size);
    }
    return this.#waiting.length > 0 || !this.#plainRoom(size) ? undefined : this.#plainLease(size);
  }

  /** A lease of `size` bytes, once the pool has room for it. */
  lease(size: number): Promise<Uint8Array> {
    try {
      const view = this.tryLease(size);
      if (view !== undefined) return Promise.resolve(view);
    } catch (e) {
      return Promise.reject(e);
    }
    const registered = this.registered;
    if (registered !== undefined && registered.fits(size)) {
      return registered.wait(size, this).then((offset) => {
        if (this.#closed === undefined) return this.#registeredLease(offset, size);
        registered.free(offset);
        throw this.#closed;
      });
    }
    return new Promise((resolve, reject) => this.#waiting.push({ size, resolve, reject }));
  }

  /**
   * Hands `chunk` over if it is a lease: returns zcio's view of the same bytes to send (the caller's
   * ArrayBuffer is detached now), undefined if it is no lease, or the error that refuses it.
   */
  take(chunk: Uint8Array, length: number): Uint8Array | ZcioError | undefined {
    const buffer = bufferOf(chunk) as ArrayBuffer;
    const record = unwritten.get(buffer);
    if (record === undefined) return undefined;
    if (record.pool !== this) {
      return misuse("this lease belongs to another connection; write a lease on the connection that leased it");
    }
    if (byteOffsetOf(chunk) !== 0) {
      return misuse("write a lease from its first byte (lease or lease.subarray(0, n)); it is handed over whole");
    }
    unwritten.delete(buffer);
    collected.unregister(buffer);
    written.add(buffer);
    leasesOut.count--;
    if (record.offset >= 0) {
      this.sys.detach(buffer);
      return this.registered!.view(record.offset, length);
    }
    this.#plainOut -= record.size;
    const own = moveOut(buffer);
    plainMemory.add(own);
    return new Uint8Array(own, 0, length);
  }

  /**
   * An owned view is free again: the kernel is done with it, or it never reached the kernel (it was
   * staged, or sending ended). A registered lease's slot returns to the ring's region; a plain
   * lease's memory is kept for the next lease of its size, while that stays within maxLeaseBytes.
   */
  giveBack(view: Uint8Array): void {
    if (this.registered !== undefined && bufferOf(view) === bufferOf(this.registered.buffers.bytes)) {
      this.registered.release(view);
      this.admit();
      return;
    }
    const buffer = bufferOf(view) as ArrayBuffer;
    if (plainMemory.has(buffer) && this.#closed === undefined) {
      plainMemory.delete(buffer);
      const size = arrayBufferByteLengthOf(buffer);
      if (this.#plainOut + this.ownedBytes() + this.#spareBytes + size <= this.maxLeaseBytes) {
        this.#spare.push(buffer);
        this.#spareBytes += size;
      }
    }
    this.admit();
  }

  /** Lets waiting leases in, as far as plain lease memory has room again. */
  admit(): void {
    while (this.#waiting.length > 0 && this.#plainRoom(this.#waiting[0].size)) {
      const waiter = this.#waiting.shift()!;
      waiter.resolve(this.#plainLease(waiter.size));
    }
  }

  /** No more leases: waiters and later calls reject with `error`. */
  close(error: ZcioError): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    this.registered?.cancel(this, error);
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    this.#spare = [];
    this.#spareBytes = 0;
  }

  /** An unwritten lease was dropped and collected: its memory is free. */
  collected(record: LeaseRecord): void {
    if (record.offset >= 0) this.registered!.free(record.offset);
    else {
      this.#plainOut -= record.size;
      this.admit();
    }
  }

  #check(size: number): void {
    if (!Number.isInteger(size) || size <= 0 || size > 1 << 30) {
      throw new ZcioError({ code: "INVALID_OPTION", message: `lease size must be a whole number from 1 to 2^30; got ${size}` });
    }
    if ((this.registered === undefined || !this.registered.fits(size)) && size > this.maxLeaseBytes) {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message:
          `a lease of ${size} bytes is larger than this connection's lease memory (maxLeaseBytes ${this.maxLeaseBytes}); raise maxLeaseBytes or lease less`,
      });
    }
  }

  #plainRoom(size: number): boolean {
    const used = this.#plainOut + this.ownedBytes() + size;
    if (used + this.#spareBytes <= this.maxLeaseBytes) return true;
    if (used > this.maxLeaseBytes) return false;
    // Room once spare memory of other sizes is let go (one of this size is reused instead).
    if (this.#spareOf(size) < 0) {
      this.#spare = [];
      this.#spareBytes = 0;
    }
    return true;
  }

  /** Where a spare buffer of `size` bytes is in #spare, or -1. */
  #spareOf(size: number): number {
    const spare = this.#spare;
    for (let i = spare.length - 1; i >= 0; i--) if (arrayBufferByteLengthOf(spare[i]) === size) return i;
    return -1;
  }

  #plainLease(size: number): Uint8Array {
    this.#plainOut += size;
    const at = this.#spareOf(size);
    if (at < 0) return this.#handOut(new ArrayBuffer(size), -1, size);
    const spare = this.#spare;
    const buffer = spare[at];
    spare[at] = spare[spare.length - 1];
    spare.pop();
    this.#spareBytes -= size;
    return this.#handOut(buffer, -1, size);
  }

  #registeredLease(offset: number, size: number): Uint8Array {
    const buffers = this.registered!.buffers;
    return this.#handOut(this.sys.memory(buffers.addr + offset, size), offset, size);
  }

  #handOut(buffer: ArrayBuffer, offset: number, size: number): Uint8Array {
    const record: LeaseRecord = { pool: this, offset, size };
    unwritten.set(buffer, record);
    collected.register(buffer, record, buffer);
    leasesOut.count++;
    return new Uint8Array(buffer);
  }
}

/**
 * The error for a lease written twice, or a view of one written after it: its ArrayBuffer is
 * detached by then, so validation refuses it; this says why.
 */
export const writtenLeaseError = (buffer: ArrayBufferLike): ZcioError | undefined =>
  written.has(buffer as ArrayBuffer)
    ? misuse("this lease was written already and is zcio's until the kernel releases it; lease a new one for each write")
    : undefined;

const misuse = (message: string): ZcioError => new ZcioError({ code: "LEASE_MISUSE", message });

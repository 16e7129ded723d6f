/**
 * Every buffer zcio owns on one connection, from the write that handed it over (a lease, or a
 * buffer taken over with `transferBuffers`) until the kernel is done with it: one record each,
 * which the queue and the backends name by number. A record ends once nothing of it is left to
 * send and no send the kernel may still read it through is outstanding (a MSG_ZEROCOPY send not yet
 * notified, a request still in the ring); its view then goes to `release`, the connection's leases.
 *
 * Records sit in parallel arrays with a free list, so adding and ending one allocates nothing once
 * the table has grown to the peak number of owned buffers alive.
 *
 * @example
 * ```ts
 * import { OwnedBuffers } from "./owned_buffers.ts";
 *
 * const released: Uint8Array[] = [];
 * const owned = new OwnedBuffers((view) => released.push(view));
 * const record = owned.add(new Uint8Array(65536));
 * owned.hold(record);   // a zero-copy send read it
 * owned.sent(record);   // every byte of it is in the kernel: not released yet
 * owned.unhold(record); // the kernel's notification came
 * console.assert(released.length === 1 && owned.bytes === 0);
 * ```
 *
 * @module
 */
import { byteLengthOf } from "../ffi/intrinsics.ts";

export class OwnedBuffers {
  #views: (Uint8Array | undefined)[] = [];
  #sizes = new Float64Array(16);
  /** Sends the kernel may still read the buffer through. */
  #holds = new Int32Array(16);
  /** 1 while some of the buffer is queued, still to be sent. */
  #queued = new Uint8Array(16);
  readonly #free: number[] = [];
  #bytes = 0;

  /** @param release told of a view the kernel is done with, so that its memory can be leased again */
  constructor(private readonly release: (view: Uint8Array) => void) {}

  /** Bytes of every owned buffer alive: queued, or in a send the kernel may still read. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Records a view handed over to zcio, queued to be sent, of `size` bytes (as the intrinsics read
   * it); returns its record's number.
   */
  add(view: Uint8Array, size: number = byteLengthOf(view)): number {
    const record = this.#free.length > 0 ? this.#free.pop()! : this.#grow();
    this.#views[record] = view;
    this.#sizes[record] = size;
    this.#holds[record] = 0;
    this.#queued[record] = 1;
    this.#bytes += size;
    return record;
  }

  /** The view of a record. */
  view(record: number): Uint8Array {
    return this.#views[record]!;
  }

  /** A send that the kernel may read the buffer through after the call has returned. */
  hold(record: number): void {
    this.#holds[record]++;
  }

  /** That send is over: the kernel reads no more of the buffer through it. */
  unhold(record: number): void {
    if (--this.#holds[record] === 0 && this.#queued[record] === 0) this.#end(record);
  }

  /** The buffer left the queue: every byte of it is in the kernel, or sending it ended. */
  sent(record: number): void {
    this.#queued[record] = 0;
    if (this.#holds[record] === 0) this.#end(record);
  }

  #end(record: number): void {
    const view = this.#views[record]!;
    this.#views[record] = undefined;
    this.#bytes -= this.#sizes[record];
    this.#free.push(record);
    this.release(view);
  }

  /** Doubles the typed arrays when every record is taken; returns the first new record. */
  #grow(): number {
    const taken = this.#views.length;
    if (taken === this.#sizes.length) {
      const sizes = new Float64Array(taken * 2), holds = new Int32Array(taken * 2), queued = new Uint8Array(taken * 2);
      sizes.set(this.#sizes);
      holds.set(this.#holds);
      queued.set(this.#queued);
      [this.#sizes, this.#holds, this.#queued] = [sizes, holds, queued];
    }
    this.#views.push(undefined);
    return taken;
  }
}

/**
 * Leases out of the ring's registered buffer region. A lease is a view of registered memory that
 * the io_uring backend sends with IORING_RECVSEND_FIXED_BUF; it returns to the pool when the
 * kernel's notification for its send arrives, or when it is dropped unwritten and collected.
 * When the pool is exhausted, `lease()` waits for a release instead of failing.
 *
 * @example
 * ```ts
 * const view = await leases.lease(65536);  // fill it, then write it (this same view) once
 * ```
 *
 * @module
 */
import type { RegisteredBuffers } from "../ffi/io_uring/registered_buffers.ts";

export class RegisteredLeases {
  /** Leases handed out and not yet written. */
  readonly #live = new WeakSet<Uint8Array>();
  /**
   * How many of them there are: while none, {@link handOver} (asked for every chunk `auto` routes)
   * answers without a WeakSet lookup.
   */
  #liveCount = 0;
  readonly #waiting: { size: number; resolve: (view: Uint8Array) => void }[] = [];
  readonly #unwritten = new FinalizationRegistry<number>((offset) => {
    this.#liveCount--;
    this.#free(offset);
  });

  constructor(readonly buffers: RegisteredBuffers) {}

  /** A view of `size` registered bytes, once the pool has room for it. */
  lease(size: number): Promise<Uint8Array> {
    const view = this.#take(size);
    if (view !== undefined) return Promise.resolve(view);
    return new Promise((resolve) => this.#waiting.push({ size, resolve }));
  }

  /** Whether `size` bytes can ever be leased from this pool. */
  fits(size: number): boolean {
    return size <= this.buffers.size;
  }

  /**
   * Takes `view` over for sending if it is a whole, unwritten lease; from then on only
   * {@link release} returns its memory. False for anything else.
   */
  handOver(view: Uint8Array): boolean {
    if (this.#liveCount === 0 || !this.#live.delete(view)) return false;
    this.#liveCount--;
    this.#unwritten.unregister(view);
    return true;
  }

  /** Returns a handed-over lease's memory to the pool (its send is over). */
  release(view: Uint8Array): void {
    this.#free(view.byteOffset);
  }

  #take(size: number): Uint8Array | undefined {
    const offset = this.buffers.alloc(size);
    if (offset < 0) return undefined;
    const view = this.buffers.bytes.subarray(offset, offset + size);
    this.#live.add(view);
    this.#liveCount++;
    this.#unwritten.register(view, offset, view);
    return view;
  }

  #free(offset: number): void {
    if (!this.buffers.free(offset)) return;
    while (this.#waiting.length > 0) {
      const view = this.#take(this.#waiting[0].size);
      if (view === undefined) return;
      this.#waiting.shift()!.resolve(view);
    }
  }
}

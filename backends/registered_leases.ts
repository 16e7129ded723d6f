/**
 * The ring's registered buffer region as a pool of lease slots. A slot is handed out by offset; the
 * view the io_uring sender sends (with IORING_RECVSEND_FIXED_BUF) is a view of the region starting at
 * that offset, and the slot returns to the pool when the kernel's notification for its send arrives
 * ({@link release}). While the pool is exhausted, {@link wait} queues the request until a slot frees.
 *
 * The region is shared by every connection of the thread's ring; each waiter names the connection
 * it waits for, so closing that connection rejects its waiters only.
 *
 * @example
 * ```ts
 * const offset = leases.take(65536);            // -1 when the pool has no room now
 * const view = leases.view(offset, 65536);      // what the sender sends; release(view) frees it
 * ```
 *
 * @module
 */
import { byteOffsetOf } from "../ffi/intrinsics.ts";
import type { RegisteredBuffers } from "../ffi/io_uring/registered_buffers.ts";

interface Waiter {
  readonly size: number;
  readonly owner: object;
  readonly resolve: (offset: number) => void;
  readonly reject: (error: unknown) => void;
}

export class RegisteredLeases {
  readonly #waiting: Waiter[] = [];

  constructor(readonly buffers: RegisteredBuffers) {}

  /** Whether `size` bytes can ever be leased from this pool. */
  fits(size: number): boolean {
    return size <= this.buffers.size;
  }

  /** The offset of `size` free bytes, or -1 when the pool has no room now (or others wait first). */
  take(size: number): number {
    return this.#waiting.length > 0 ? -1 : this.buffers.alloc(size);
  }

  /** The offset of `size` bytes, once the pool has room for them; `owner` can {@link cancel} it. */
  wait(size: number, owner: object): Promise<number> {
    return new Promise((resolve, reject) => this.#waiting.push({ size, owner, resolve, reject }));
  }

  /** Rejects every request of `owner` still waiting (its connection closed). */
  cancel(owner: object, error: unknown): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const waiter = this.#waiting[i];
      if (waiter.owner !== owner) continue;
      this.#waiting.splice(i, 1);
      waiter.reject(error);
    }
    this.#admit();
  }

  /** The view of the region the sender sends for the slot at `offset`. */
  view(offset: number, length: number): Uint8Array {
    return this.buffers.bytes.subarray(offset, offset + length);
  }

  /** Returns the slot a sent view (from {@link view}) belongs to: the kernel is done with it. */
  release(view: Uint8Array): void {
    this.free(byteOffsetOf(view));
  }

  /** Returns the slot at `offset` (a lease dropped unwritten). */
  free(offset: number): void {
    if (this.buffers.free(offset)) this.#admit();
  }

  #admit(): void {
    while (this.#waiting.length > 0) {
      const offset = this.buffers.alloc(this.#waiting[0].size);
      if (offset < 0) return;
      this.#waiting.shift()!.resolve(offset);
    }
  }
}

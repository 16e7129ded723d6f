/**
 * The pinning registry: a strong reference to every buffer whose address the kernel may still
 * read. A raw address does not keep memory alive; this does. Slots are reused, so pinning and
 * releasing allocate nothing once the table has grown to the peak number of buffers in flight.
 *
 * @example
 * ```ts
 * const pins = new Pins();
 * const slot = pins.pin(chunk);   // before its address reaches the kernel
 * // ... the kernel's notification for this send arrives ...
 * pins.release(slot);
 * ```
 *
 * @module
 */

export class Pins {
  readonly #held: (object | undefined)[] = [];
  readonly #free: number[] = [];
  #count = 0;

  /** Keeps `buffer` alive until {@link release} of the returned slot. */
  pin(buffer: object): number {
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#held.length;
    this.#held[slot] = buffer;
    this.#count++;
    return slot;
  }

  /** The buffer pinned in `slot`. */
  get(slot: number): object | undefined {
    return this.#held[slot];
  }

  /** Lets the buffer in `slot` go; the slot is reused by a later pin. */
  release(slot: number): void {
    if (this.#held[slot] === undefined) return;
    this.#held[slot] = undefined;
    this.#free.push(slot);
    this.#count--;
  }

  /** How many buffers are pinned now. */
  get count(): number {
    return this.#count;
  }
}

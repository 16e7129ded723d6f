/**
 * A region of anonymous mmap'd memory: a fixed address the kernel can read at any time, visible to
 * JavaScript as an ArrayBuffer without copying. The runtime never moves or frees it; only
 * {@link Slab.unmap} does, and only once nothing the kernel may still read lives in it.
 *
 * @example
 * ```ts
 * const slab = Slab.map(sys, 65536);
 * slab.bytes.set(payload, 0);
 * sys.send(fd, slab.bytes.subarray(0, payload.length), 0);
 * slab.unmap();
 * ```
 *
 * @module
 */
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./constants.ts";
import type { Ptr, Sys } from "./sys.ts";
import { errnoError } from "./zcio_error.ts";

const PAGE = 4096;

export class Slab {
  /** Bytes of the region; `bytes.byteOffset` 0 is `addr`. */
  readonly bytes: Uint8Array;
  /** The same bytes, for little-endian struct fields. */
  readonly data: DataView;
  #mapped = true;

  private constructor(
    private readonly sys: Sys,
    /** The address of the first byte. */
    readonly addr: number,
    /** The size in bytes, a multiple of the page size. */
    readonly size: number,
  ) {
    const buffer = sys.memory(addr, size);
    this.bytes = new Uint8Array(buffer);
    this.data = new DataView(buffer);
  }

  /** Maps `size` bytes (rounded up to whole pages); throws a ZcioError if the kernel refuses. */
  static map(sys: Sys, size: number): Slab {
    const length = Math.ceil(Math.max(size, 1) / PAGE) * PAGE;
    const addr = sys.mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr < 0) throw errnoError(`mmap of ${length} bytes`, addr);
    return new Slab(sys, addr, length);
  }

  /** The FFI form of the address `offset` bytes in; make it once per struct and keep it. */
  pointerAt(offset: number): Ptr {
    return this.sys.pointer(this.addr + offset);
  }

  get mapped(): boolean {
    return this.#mapped;
  }

  /** Unmaps the region. Every view of it is unusable afterwards. */
  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    this.sys.munmap(this.addr, this.size);
  }
}

/**
 * One anonymous mmap'd region registered once with a {@link Ring} as fixed buffer 0
 * (IORING_REGISTER_BUFFERS, one iovec), and a first-fit allocator that hands out slices of it as
 * offsets. A SEND_ZC of a slice uses `prepSendZcFixed(..., buffers.addr + offset, len, ..., 0)`.
 *
 * Registration pins the pages and charges them to RLIMIT_MEMLOCK (unless the process has
 * CAP_IPC_LOCK); over the limit the kernel says ENOMEM, which comes back as a failure result with
 * the reason, so a caller can fall back to unregistered SEND_ZC (docs/kernel.md, 'Registered buffers').
 *
 * The allocator works in units (4 KiB by default): every free run is on a doubly linked list kept
 * in typed arrays, with its length at its first unit and its start at its last unit, so a free
 * merges with both neighbours in constant time. alloc() and free() allocate no objects.
 *
 * @example
 * ```ts
 * const reg = RegisteredBuffers.register(sys, ring, 1 << 20);
 * if (!reg.ok) return fallBackToUnregistered(reg.reason);
 * const off = reg.buffers.alloc(16384);          // -1 when full
 * reg.buffers.bytes.set(payload, off);
 * ring.prepSendZcFixed(ring.getSqe(), fd, reg.buffers.addr + off, 16384, 0, 0, id, reg.buffers.bufIndex);
 * // ... on the notification:
 * reg.buffers.free(off);
 * ```
 *
 * @module
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  IORING_REGISTER_BUFFERS,
  IORING_UNREGISTER_BUFFERS,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../constants.ts";
import { errnoName } from "../errno_name.ts";
import { bufferOf } from "../intrinsics.ts";
import { IOVEC_SIZE, setIovec } from "../structs.ts";
import type { Sys } from "../sys.ts";
import type { Ring } from "./ring.ts";

const PAGE = 4096;
/** The kernel's limit for one registered buffer (1 GiB). */
export const MAX_REGISTERED_BUFFER = 1 << 30;

export interface RegisteredBuffersOptions {
  /** Allocation granule in bytes: a power of two, at least 64 (default 4096). */
  readonly unit?: number;
  /** Fault every page in at mmap time (MAP_POPULATE); registration pins them anyway. Default false. */
  readonly populate?: boolean;
}

/** Why a registration failed, and what the caller should do. */
export interface RegistrationFailure {
  readonly ok: false;
  readonly errno: number;
  readonly code: string;
  readonly reason: string;
  /** Unregistered SEND_ZC (or the copy path) still works: ENOMEM, EBUSY and EOPNOTSUPP say nothing against it. */
  readonly fallback: "unregistered_send_zc" | "none";
}

export type BufferRegistration = { readonly ok: true; readonly buffers: RegisteredBuffers } | RegistrationFailure;

/** The failure result for a registration of `size` bytes that failed with `errno` (or an mmap that did). */
export const registrationFailure = (errno: number, size: number, what = "IORING_REGISTER_BUFFERS"): RegistrationFailure => {
  const code = errnoName(errno);
  const mib = (size / (1 << 20)).toFixed(size % (1 << 20) === 0 ? 0 : 2);
  let reason: string, fallback: RegistrationFailure["fallback"] = "unregistered_send_zc";
  switch (errno) {
    case ENOMEM:
      reason = `${what} of ${mib} MiB failed with ENOMEM: the pinned pages exceed RLIMIT_MEMLOCK (ulimit -l) ` +
        "or the memory cgroup; raise the limit, register less, or send without registered buffers";
      break;
    case EBUSY:
      reason = `${what} failed with EBUSY: this ring already has a registered buffer table`;
      break;
    case EFAULT:
      reason = `${what} failed with EFAULT: the region is not anonymous memory the kernel can pin`;
      break;
    case EOPNOTSUPP:
      reason = `${what} failed with EOPNOTSUPP: this kernel cannot register that memory`;
      break;
    case EINVAL:
      reason = `${what} failed with EINVAL: a size of 1 byte to 1 GiB is required`;
      fallback = "none";
      break;
    default:
      reason = `${what} of ${mib} MiB failed: ${code} (errno ${errno})`;
  }
  return { ok: false, errno, code, reason, fallback };
};

export class RegisteredBuffers {
  /** The registered-buffer index to put in `sqe.buf_index` (this region is the only one: 0). */
  readonly bufIndex = 0;
  /** The region's bytes; offset 0 is {@link addr}. */
  readonly bytes: Uint8Array;
  /** Allocation granule. */
  readonly unit: number;
  readonly #sys: Sys;
  readonly #ring: Ring;
  readonly #units: number;
  /** At a run's first unit: free length (> 0) or -(allocated length) (< 0); 0 elsewhere. */
  readonly #len: Int32Array;
  /** At a run's last unit: the run's first unit. */
  readonly #startOf: Int32Array;
  /** Free-list links, at a free run's first unit (-1: none). */
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  #freeHead = -1;
  #usedUnits = 0;
  #registered = true;
  #mapped = true;

  private constructor(
    sys: Sys,
    ring: Ring,
    /** The address of the region's first byte. */
    readonly addr: number,
    /** The region's size in bytes (a multiple of the unit and of the page size). */
    readonly size: number,
    unit: number,
  ) {
    this.#sys = sys;
    this.#ring = ring;
    this.unit = unit;
    this.bytes = new Uint8Array(sys.memory(addr, size));
    const units = this.#units = size / unit;
    this.#len = new Int32Array(units);
    this.#startOf = new Int32Array(units);
    this.#next = new Int32Array(units);
    this.#prev = new Int32Array(units);
    this.#setFree(0, units);
  }

  /**
   * Maps `size` bytes (rounded up to whole pages and units) and registers them with `ring`.
   * Kernel refusals (ENOMEM over RLIMIT_MEMLOCK, EBUSY, ...) come back as a failure result.
   */
  static register(sys: Sys, ring: Ring, size: number, options: RegisteredBuffersOptions = {}): BufferRegistration {
    const unit = options.unit ?? PAGE;
    if (!Number.isInteger(unit) || unit < 64 || (unit & (unit - 1)) !== 0) {
      return registrationFailure(EINVAL, size, `a unit of ${unit} bytes (a power of two ≥ 64 is required)`);
    }
    const granule = Math.max(unit, PAGE);
    const length = Math.ceil(size / granule) * granule;
    if (!Number.isFinite(size) || size < 1 || length > MAX_REGISTERED_BUFFER) return registrationFailure(EINVAL, size);
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | (options.populate ? MAP_POPULATE : 0);
    const addr = sys.mmap(length, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (addr < 0) return registrationFailure(-addr, length, "mmap of the buffer region");
    const iov = new Uint8Array(IOVEC_SIZE);
    setIovec(new DataView(bufferOf(iov)), 0, addr, length);
    const r = ring.register(IORING_REGISTER_BUFFERS, iov, 1);
    if (r < 0) {
      sys.munmap(addr, length);
      return registrationFailure(-r, length);
    }
    return { ok: true, buffers: new RegisteredBuffers(sys, ring, addr, length, unit) };
  }

  // ── Allocator ───────────────────────────────────────────────────────────────────────

  #setFree(start: number, length: number): void {
    this.#len[start] = length;
    this.#startOf[start + length - 1] = start;
    this.#prev[start] = -1;
    this.#next[start] = this.#freeHead;
    if (this.#freeHead !== -1) this.#prev[this.#freeHead] = start;
    this.#freeHead = start;
  }

  #unlink(start: number): void {
    const prev = this.#prev[start], next = this.#next[start];
    if (prev === -1) this.#freeHead = next;
    else this.#next[prev] = next;
    if (next !== -1) this.#prev[next] = prev;
  }

  /**
   * Reserves at least `bytes` (rounded up to whole units) and returns the slice's offset into the
   * region, or -1 when no free run is large enough.
   */
  alloc(bytes: number): number {
    if (!(bytes >= 0)) return -1;
    const want = bytes <= this.unit ? 1 : Math.ceil(bytes / this.unit);
    for (let s = this.#freeHead; s !== -1; s = this.#next[s]) {
      const have = this.#len[s];
      if (have < want) continue;
      this.#unlink(s);
      if (have > want) this.#setFree(s + want, have - want);
      this.#len[s] = -want;
      this.#startOf[s + want - 1] = s;
      this.#usedUnits += want;
      return s * this.unit;
    }
    return -1;
  }

  /** Returns a slice from {@link alloc}; false (and nothing changes) if `offset` is not one in use. */
  free(offset: number): boolean {
    const s = offset / this.unit;
    if (!Number.isInteger(s) || s < 0 || s >= this.#units || this.#len[s] >= 0) return false;
    const n = -this.#len[s];
    this.#len[s] = 0;
    this.#usedUnits -= n;
    let start = s, length = n;
    const right = s + n;
    if (right < this.#units && this.#len[right] > 0) {
      this.#unlink(right);
      length += this.#len[right];
      this.#len[right] = 0;
    }
    if (s > 0) {
      const left = this.#startOf[s - 1];
      if (this.#len[left] > 0) {
        this.#unlink(left);
        length += this.#len[left];
        start = left;
      }
    }
    this.#setFree(start, length);
    return true;
  }

  /** Bytes reserved for the slice at `offset` (a whole number of units), or 0 if it is not in use. */
  sizeOf(offset: number): number {
    const s = offset / this.unit;
    if (!Number.isInteger(s) || s < 0 || s >= this.#units || this.#len[s] >= 0) return 0;
    return -this.#len[s] * this.unit;
  }

  /** Bytes handed out and not yet freed. */
  get usedBytes(): number {
    return this.#usedUnits * this.unit;
  }

  /** Bytes free (possibly in several runs). */
  get freeBytes(): number {
    return this.size - this.usedBytes;
  }

  /** The largest slice alloc() could return now. Walks the free list: not for the hot path. */
  largestFree(): number {
    let best = 0;
    for (let s = this.#freeHead; s !== -1; s = this.#next[s]) best = Math.max(best, this.#len[s]);
    return best * this.unit;
  }

  // ── Teardown ────────────────────────────────────────────────────────────────────────

  get registered(): boolean {
    return this.#registered;
  }

  /**
   * IORING_UNREGISTER_BUFFERS. Requests already submitted keep their pages pinned until they
   * complete; the region stays mapped (usable for unregistered sends) until {@link close}.
   * Returns 0 or -errno.
   */
  unregister(): number {
    if (!this.#registered) return 0;
    this.#registered = false;
    if (this.#ring.closed) return 0; // closing the ring dropped the table
    return this.#ring.register(IORING_UNREGISTER_BUFFERS, null, 0);
  }

  /**
   * Unregisters and unmaps the region. Only once every SEND_ZC of it has its notification: the
   * kernel may read the memory until then.
   */
  close(): void {
    this.unregister();
    if (!this.#mapped) return;
    this.#mapped = false;
    this.#sys.munmap(this.addr, this.size);
  }
}

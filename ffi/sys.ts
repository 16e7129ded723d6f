/**
 * The small surface over libc that every runtime adapter (Bun, Deno, Node) provides.
 *
 * Conventions, the same in every adapter:
 * - Every call that can fail returns a non-negative result or `-errno`, like a raw syscall.
 *   Nothing here throws for a kernel error.
 * - A `Uint8Array` argument is read or written by the kernel only during the call; it may be any
 *   view. Its real length, read through the intrinsics captured at load (ffi/intrinsics.ts), never
 *   through its `byteLength` getter, is the length passed to the kernel wherever the C call takes one.
 * - A {@link Ptr} argument is an address the kernel reads during the call (and, for zero-copy,
 *   afterwards). Make it once per buffer with {@link Sys.pointer}; never per call.
 * - Results that are byte counts are 32-bit: callers never pass more than 2 GiB at once.
 *
 * @module
 */

declare const ptrBrand: unique symbol;

/** An address in the form the runtime's FFI passes fastest (a number in Bun and Node, a bigint in Deno). */
export type Ptr = { readonly [ptrBrand]: true };

/** Which JavaScript runtime an adapter serves. */
export type RuntimeName = "bun" | "deno" | "node";

export interface Sys {
  readonly runtime: RuntimeName;

  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  /** `setsockopt(fd, level, name, value, value.byteLength)`. */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  /** `getsockopt` into `value`; returns the option length the kernel wrote. */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  /** `bind(fd, addr, addr.byteLength)`. */
  bind(fd: number, addr: Uint8Array): number;
  /** `connect(fd, addr, addr.byteLength)`. */
  connect(fd: number, addr: Uint8Array): number;
  listen(fd: number, backlog: number): number;
  /** `accept4(fd, NULL, NULL, flags)`. */
  accept4(fd: number, flags: number): number;
  /** `getsockname` into `addr`; returns the address length. */
  getsockname(fd: number, addr: Uint8Array): number;
  /** `getpeername` into `addr`; returns the address length. */
  getpeername(fd: number, addr: Uint8Array): number;
  /** `send(fd, buf, buf.byteLength, flags)`. */
  send(fd: number, buf: Uint8Array, flags: number): number;
  /** `recv(fd, buf, buf.byteLength, flags)`. */
  recv(fd: number, buf: Uint8Array, flags: number): number;
  sendmsg(fd: number, msg: Ptr, flags: number): number;
  sendmmsg(fd: number, msgvec: Ptr, vlen: number, flags: number): number;
  recvmsg(fd: number, msg: Ptr, flags: number): number;
  /** `poll(fds, nfds, timeoutMs)` on an array of 8-byte `pollfd`. Blocks the calling thread. */
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  epollCreate(flags: number): number;
  /** `epoll_ctl(epfd, op, fd, &{events, data})` with the 12-byte packed event built by the adapter. */
  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): number;
  /** `epoll_wait` into `events` (12 bytes each); returns the number of events. */
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
  /** `open(path, flags)`; `path` is UTF-8 ending with a NUL byte. */
  open(path: Uint8Array, flags: number): number;
  /** `fstat(fd, stat)`; `stat` holds at least a `struct stat` (144 bytes on x86_64). */
  fstat(fd: number, stat: Uint8Array): number;
  /**
   * `sendfile(outFd, inFd, &offset, count)`: `offset` is the 8-byte `off_t` the kernel reads from
   * and advances by the bytes it sent.
   */
  sendfile(outFd: number, inFd: number, offset: Uint8Array, count: number): number;
  /** `prlimit(pid, resource, newLimit, oldLimit)`; each limit is a 16-byte `struct rlimit` or null. */
  prlimit(pid: number, resource: number, newLimit: Uint8Array | null, oldLimit: Uint8Array | null): number;
  /** `mmap`; returns the address, or -errno. */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, length: number): number;
  /** `syscall(nr, a0..a5)` for calls libc does not wrap (io_uring). Arguments are integers or addresses. */
  syscall6(nr: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number;

  /** `length` bytes at `addr` (mmap'd memory) as an ArrayBuffer, without copying. Call once per region. */
  memory(addr: number, length: number): ArrayBuffer;
  /**
   * Detaches `buffer`, an ArrayBuffer from {@link memory}: every JavaScript view of it reads as
   * empty from then on, while the memory itself stays mapped where it is. False if it cannot be.
   */
  detach(buffer: ArrayBuffer): boolean;
  /** The fast argument form of an address. Call once per buffer and keep the result. */
  pointer(addr: number): Ptr;
  /**
   * The address of `view[0]`, from the view's internal slots or the intrinsics (ffi/intrinsics.ts),
   * never its getters. Only for views the runtime never moves: mmap'd memory or a view of at
   * least 1 KiB. The caller must keep the view alive for as long as the kernel may read it.
   */
  addressOf(view: Uint8Array): number;
  /**
   * Resolves once `fd` is readable (or has an error), waiting on another thread so the event loop
   * never blocks. At most one call may be outstanding. zcio calls it only on its epoll fd.
   */
  waitReadable(fd: number): Promise<void>;
}

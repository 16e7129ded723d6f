/**
 * The {@link Sys} adapter for Deno, over `Deno.dlopen` into libc (needs `--allow-ffi`).
 *
 * Deno's fast FFI path wants buffers as `buffer` and 64-bit values as bigint (a JS number there
 * costs about 130 ns more), so a {@link Ptr} is a bigint made once per buffer. Results are declared
 * i32 so that no BigInt is made per call. errno is read from this thread's errno cell, mapped once.
 *
 * @module
 */
import { detachByTransfer } from "../detach_by_transfer.ts";
import { bufferOf, byteLengthOf, byteOffsetOf, Uint8ArrayCtor } from "../intrinsics.ts";
import type { Ptr, Sys } from "../sys.ts";

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  sendmsg: { parameters: ["i32", "u64", "i32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "u64", "u32", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "u64", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  poll_off_thread: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  sendfile: { parameters: ["i32", "i32", "buffer", "usize"], result: "i32" },
  prlimit: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  mmap: { parameters: ["usize", "usize", "i32", "i32", "i32", "i64"], result: "i64" },
  munmap: { parameters: ["usize", "usize"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
  memset: { parameters: ["buffer", "i32", "usize"], result: "u64" },
  __errno_location: { parameters: [], result: "pointer" },
});
const c = libc.symbols;
const errno = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(c.__errno_location()!, 4));
const optlen = new Uint32Array(1);
const optlenBytes = new Uint8Array(optlen.buffer);
const epollEvent = new DataView(new ArrayBuffer(16));
const epollEventBytes = new Uint8Array(epollEvent.buffer);
const pollfd = new Int32Array(2);
const pollfdBytes = new Uint8Array(pollfd.buffer);
const ZERO = 0n;
/** Base address of every buffer whose address was taken (V8 never moves an ArrayBuffer's bytes). */
const bufferAddresses = new WeakMap<ArrayBufferLike, number>();
const POLLIN = 1;

const check = (r: number): number => (r < 0 ? -errno[0] : r);
const big = (p: Ptr): bigint => p as unknown as bigint;

export const denoSys: Sys = {
  runtime: "deno",
  socket: (d, t, p) => check(c.socket(d, t, p)),
  close: (fd) => check(c.close(fd)),
  shutdown: (fd, how) => check(c.shutdown(fd, how)),
  setsockopt: (fd, level, name, value) => check(c.setsockopt(fd, level, name, value, byteLengthOf(value))),
  getsockopt: (fd, level, name, value) => {
    optlen[0] = byteLengthOf(value);
    const r = c.getsockopt(fd, level, name, value, optlenBytes);
    return r < 0 ? -errno[0] : optlen[0];
  },
  bind: (fd, addr) => check(c.bind(fd, addr, byteLengthOf(addr))),
  connect: (fd, addr) => check(c.connect(fd, addr, byteLengthOf(addr))),
  listen: (fd, backlog) => check(c.listen(fd, backlog)),
  accept4: (fd, flags) => check(c.accept4(fd, null, null, flags)),
  getsockname: (fd, addr) => {
    optlen[0] = byteLengthOf(addr);
    const r = c.getsockname(fd, addr, optlenBytes);
    return r < 0 ? -errno[0] : optlen[0];
  },
  getpeername: (fd, addr) => {
    optlen[0] = byteLengthOf(addr);
    const r = c.getpeername(fd, addr, optlenBytes);
    return r < 0 ? -errno[0] : optlen[0];
  },
  send: (fd, buf, flags) => check(c.send(fd, buf, BigInt(byteLengthOf(buf)), flags)),
  recv: (fd, buf, flags) => check(c.recv(fd, buf, BigInt(byteLengthOf(buf)), flags)),
  sendmsg: (fd, msg, flags) => check(c.sendmsg(fd, big(msg), flags)),
  sendmmsg: (fd, msgvec, vlen, flags) => check(c.sendmmsg(fd, big(msgvec), vlen, flags)),
  recvmsg: (fd, msg, flags) => check(c.recvmsg(fd, big(msg), flags)),
  poll: (fds, nfds, timeout) => check(c.poll(fds, BigInt(nfds), timeout)),
  epollCreate: (flags) => check(c.epoll_create1(flags)),
  epollCtl: (epfd, op, fd, events, data) => {
    epollEvent.setUint32(0, events, true);
    epollEvent.setUint32(4, data, true);
    epollEvent.setUint32(8, 0, true);
    return check(c.epoll_ctl(epfd, op, fd, epollEventBytes));
  },
  epollWait: (epfd, events, max, timeout) => check(c.epoll_wait(epfd, events, max, timeout)),
  eventfd: (initval, flags) => check(c.eventfd(initval, flags)),
  read: (fd, buf) => check(c.read(fd, buf, BigInt(byteLengthOf(buf)))),
  write: (fd, buf) => check(c.write(fd, buf, BigInt(byteLengthOf(buf)))),
  open: (path, flags) => check(c.open(path, flags)),
  fstat: (fd, stat) => check(c.fstat(fd, stat)),
  sendfile: (outFd, inFd, offset, count) => check(c.sendfile(outFd, inFd, offset, BigInt(count))),
  prlimit: (pid, resource, newLimit, oldLimit) => check(c.prlimit(pid, resource, newLimit, oldLimit)),
  mmap: (length, prot, flags, fd, offset) => {
    const r = Number(c.mmap(0n, BigInt(length), prot, flags, fd, BigInt(offset)));
    return r === -1 ? -errno[0] : r;
  },
  munmap: (addr, length) => check(c.munmap(BigInt(addr), BigInt(length))),
  syscall6: (nr, a0, a1, a2, a3, a4, a5) => {
    const r = Number(
      c.syscall(BigInt(nr), BigInt(a0), BigInt(a1), BigInt(a2), BigInt(a3), BigInt(a4), BigInt(a5)),
    );
    return r === -1 ? -errno[0] : r;
  },
  memory: (addr, length) => Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(addr))!, length),
  detach: detachByTransfer,
  pointer: (addr) => BigInt(addr) as unknown as Ptr,
  addressOf: (view) => {
    // Once per buffer: memset(buffer, 0, 0) returns its first argument, the buffer's address, with
    // no pointer object made; the view's address is that plus its offset, a plain number.
    // Buffer and offset come from the intrinsics, never the view's (replaceable) getters.
    const buffer = bufferOf(view);
    let base = bufferAddresses.get(buffer);
    if (base === undefined) {
      base = Number(c.memset(new Uint8ArrayCtor(buffer, 0, 0), 0, ZERO));
      bufferAddresses.set(buffer, base);
    }
    return base + byteOffsetOf(view);
  },
  waitReadable: async (fd) => {
    pollfd[0] = fd;
    pollfd[1] = POLLIN;
    await c.poll_off_thread(pollfdBytes, 1n, -1);
  },
};

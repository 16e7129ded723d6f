/**
 * The {@link Sys} adapter for Bun, over `bun:ffi` into libc.
 *
 * Pointers travel as plain numbers (Bun's fastest argument form); results are declared 32-bit so
 * that no BigInt is ever made. errno is read straight from this thread's errno cell, mapped once.
 *
 * @module
 */
import { dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";
import { detachByTransfer } from "../detach_by_transfer.ts";
import { byteLengthOf } from "../intrinsics.ts";
import type { Ptr, Sys } from "../sys.ts";

const libc = dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  shutdown: { args: ["i32", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  getpeername: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  send: { args: ["i32", "ptr", "u64", "i32"], returns: "i32" },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i32" },
  sendmsg: { args: ["i32", "ptr", "i32"], returns: "i32" },
  sendmmsg: { args: ["i32", "ptr", "u32", "i32"], returns: "i32" },
  recvmsg: { args: ["i32", "ptr", "i32"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  epoll_create1: { args: ["i32"], returns: "i32" },
  epoll_ctl: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  epoll_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  eventfd: { args: ["u32", "i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i32" },
  open: { args: ["ptr", "i32"], returns: "i32" },
  fstat: { args: ["i32", "ptr"], returns: "i32" },
  sendfile: { args: ["i32", "i32", "ptr", "u64"], returns: "i32" },
  prlimit: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
  mmap: { args: ["u64", "u64", "i32", "i32", "i32", "i64"], returns: FFIType.i64_fast },
  munmap: { args: ["u64", "u64"], returns: "i32" },
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: FFIType.i64_fast },
  __errno_location: { args: [], returns: "ptr" },
});
const c = libc.symbols;
const errno = new Int32Array(toArrayBuffer(c.__errno_location()!, 0, 4));
const optlen = new Uint32Array(1);
const epollEvent = new DataView(new ArrayBuffer(16));
const epollEventBytes = new Uint8Array(epollEvent.buffer);

const check = (r: number): number => (r < 0 ? -errno[0] : r);

/**
 * Bun's `ptr()` moves small typed arrays out of line on first use; ask only for stable ones. It is
 * native and reads the view's own slots (its data and offset), never its replaceable getters.
 */
const addressOf = (view: Uint8Array): number => ptr(view);

// One Worker blocks in poll() for the main thread and wakes it through Atomics.waitAsync.
const control = new Int32Array(new SharedArrayBuffer(8));
const IDLE = 0, REQUESTED = 1, READY = 2;
/** How long after a failed Worker start the outstanding wait wakes, so that the waiter asks again. */
const RETRY_MS = 10;

/**
 * Starts the poll thread, unreferenced until a wait is outstanding. A Worker needs a few fds of its
 * own (an eventfd, an epoll fd, its script), so it is started when this adapter loads, not at the
 * first wait, which may come when the process has none left. If it fails to start all the same
 * (EMFILE), the outstanding wait wakes with nothing ready and the next one starts it again.
 */
const startWorker = (): Worker => {
  const started = new Worker(new URL("./poll_worker.ts", import.meta.url));
  const failed = () => {
    if (worker !== started) return;
    worker = undefined;
    setTimeout(() => {
      if (Atomics.compareExchange(control, 0, REQUESTED, READY) === REQUESTED) Atomics.notify(control, 0);
    }, RETRY_MS);
  };
  started.addEventListener("error", failed);
  started.addEventListener("close", failed);
  started.postMessage(control.buffer);
  (started as Worker & { unref(): void }).unref();
  return started;
};
let worker: Worker | undefined = startWorker();

const waitReadable = (fd: number): Promise<void> => {
  worker ??= startWorker();
  const waiting = worker;
  (waiting as Worker & { ref(): void }).ref();
  Atomics.store(control, 1, fd);
  Atomics.store(control, 0, REQUESTED);
  Atomics.notify(control, 0);
  const wait = Atomics.waitAsync(control, 0, REQUESTED);
  const done = () => {
    Atomics.store(control, 0, IDLE);
    (waiting as Worker & { unref(): void }).unref();
  };
  if (!wait.async) {
    done();
    return Promise.resolve();
  }
  return wait.value.then(done);
};

export const bunSys: Sys = {
  runtime: "bun",
  socket: (d, t, p) => check(c.socket(d, t, p)),
  close: (fd) => check(c.close(fd)),
  shutdown: (fd, how) => check(c.shutdown(fd, how)),
  setsockopt: (fd, level, name, value) => check(c.setsockopt(fd, level, name, value, byteLengthOf(value))),
  getsockopt: (fd, level, name, value) => {
    optlen[0] = byteLengthOf(value);
    const r = c.getsockopt(fd, level, name, value, optlen);
    return r < 0 ? -errno[0] : optlen[0];
  },
  bind: (fd, addr) => check(c.bind(fd, addr, byteLengthOf(addr))),
  connect: (fd, addr) => check(c.connect(fd, addr, byteLengthOf(addr))),
  listen: (fd, backlog) => check(c.listen(fd, backlog)),
  accept4: (fd, flags) => check(c.accept4(fd, null, null, flags)),
  getsockname: (fd, addr) => {
    optlen[0] = byteLengthOf(addr);
    const r = c.getsockname(fd, addr, optlen);
    return r < 0 ? -errno[0] : optlen[0];
  },
  getpeername: (fd, addr) => {
    optlen[0] = byteLengthOf(addr);
    const r = c.getpeername(fd, addr, optlen);
    return r < 0 ? -errno[0] : optlen[0];
  },
  send: (fd, buf, flags) => check(c.send(fd, buf, byteLengthOf(buf), flags)),
  recv: (fd, buf, flags) => check(c.recv(fd, buf, byteLengthOf(buf), flags)),
  sendmsg: (fd, msg, flags) => check(c.sendmsg(fd, msg as unknown as number, flags)),
  sendmmsg: (fd, msgvec, vlen, flags) => check(c.sendmmsg(fd, msgvec as unknown as number, vlen, flags)),
  recvmsg: (fd, msg, flags) => check(c.recvmsg(fd, msg as unknown as number, flags)),
  poll: (fds, nfds, timeout) => check(c.poll(fds, nfds, timeout)),
  epollCreate: (flags) => check(c.epoll_create1(flags)),
  epollCtl: (epfd, op, fd, events, data) => {
    epollEvent.setUint32(0, events, true);
    epollEvent.setUint32(4, data, true);
    epollEvent.setUint32(8, 0, true);
    return check(c.epoll_ctl(epfd, op, fd, epollEventBytes));
  },
  epollWait: (epfd, events, max, timeout) => check(c.epoll_wait(epfd, events, max, timeout)),
  eventfd: (initval, flags) => check(c.eventfd(initval, flags)),
  read: (fd, buf) => check(c.read(fd, buf, byteLengthOf(buf))),
  write: (fd, buf) => check(c.write(fd, buf, byteLengthOf(buf))),
  open: (path, flags) => check(c.open(path, flags)),
  fstat: (fd, stat) => check(c.fstat(fd, stat)),
  sendfile: (outFd, inFd, offset, count) => check(c.sendfile(outFd, inFd, offset, count)),
  prlimit: (pid, resource, newLimit, oldLimit) => check(c.prlimit(pid, resource, newLimit, oldLimit)),
  mmap: (length, prot, flags, fd, offset) => {
    const r = Number(c.mmap(0, length, prot, flags, fd, offset));
    return r === -1 ? -errno[0] : r;
  },
  munmap: (addr, length) => check(c.munmap(addr, length)),
  syscall6: (nr, a0, a1, a2, a3, a4, a5) => {
    const r = Number(c.syscall(nr, a0, a1, a2, a3, a4, a5));
    return r === -1 ? -errno[0] : r;
  },
  memory: (addr, length) => toArrayBuffer(addr, 0, length),
  detach: detachByTransfer,
  pointer: (addr) => addr as unknown as Ptr,
  addressOf,
  waitReadable,
};

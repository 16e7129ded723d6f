// Tests of the Node addon behind ffi/node/node_sys.ts, over real sockets on 127.0.0.1 only.
// Node 20 cannot run the TypeScript adapter, so this loads build/Release/zcio_sys.node directly
// (node_sys.ts only re-exports its functions, plus `pointer`, the identity).
// Run: node --test tests/ffi/
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { test as nodeTest } from "node:test";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const addonPath = fileURLToPath(new URL("../../build/Release/zcio_sys.node", import.meta.url));
// `deno test` and `bun test` pick this file up too; their runtimes have their own adapters.
const other = globalThis.Deno !== undefined ? "deno" : globalThis.Bun !== undefined ? "bun" : undefined;
const skip = other === undefined ? false : `tests the Node addon; ${other} has its own adapter`;
const sys = skip ? undefined : createRequire(import.meta.url)(addonPath);
const test = (name, options, fn) => fn === undefined ? nodeTest(name, { skip }, options) : nodeTest(name, { ...options, skip }, fn);

// Kernel ABI numbers (x86_64), as in ffi/constants.ts.
const AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SHUT_WR = 1;
const POLLIN = 1, POLLOUT = 4;
const EPOLL_CLOEXEC = 0x80000, EPOLL_CTL_ADD = 1, EPOLLIN = 1, EPOLLET = 0x80000000;
const EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
const PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
const RLIMIT_NOFILE = 7;
const SYS_close = 3, SYS_mmap = 9, SYS_getpid = 39;
const O_RDONLY = 0, O_CLOEXEC = 0o2000000, S_IFMT = 0o170000, S_IFREG = 0o100000, STAT_SIZE = 144;
const ENOENT = 2, EBADF = 9, EAGAIN = 11, EINVAL = 22, ENOSYS = 38, EAFNOSUPPORT = 97, EINPROGRESS = 115;
const MSGHDR_SIZE = 56, MMSGHDR_SIZE = 64, IOVEC_SIZE = 16, EPOLL_EVENT_SIZE = 12;

const sockaddrIn = (port) => {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setUint16(0, AF_INET, true);
  d.setUint16(2, port, false);
  b.set([127, 0, 0, 1], 4);
  return b;
};
const portOf = (addr) => new DataView(addr.buffer, addr.byteOffset).getUint16(2, false);
const int32 = (v) => new Uint8Array(new Int32Array([v]).buffer);
const u64 = (v) => new Uint8Array(new BigUint64Array([BigInt(v)]).buffer);
const text = (s) => new TextEncoder().encode(s);
const str = (b) => new TextDecoder().decode(b);
const ok = (r, what) => {
  assert.ok(r >= 0, `${what} returned ${r}`);
  return r;
};

/** Waits (blocking, at most 2 s) for `events` on fd with poll(). */
const pollFor = (fd, events) => {
  const pfd = new Uint8Array(8);
  const d = new DataView(pfd.buffer);
  d.setInt32(0, fd, true);
  d.setInt16(4, events, true);
  assert.equal(sys.poll(pfd, 1, 2000), 1);
  return d.getInt16(6, true);
};

/** A listening socket on 127.0.0.1, a connected client, and the accepted server side. */
const tcpPair = () => {
  const listener = ok(sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket");
  ok(sys.setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, int32(1)), "setsockopt");
  ok(sys.bind(listener, sockaddrIn(0)), "bind");
  ok(sys.listen(listener, 16), "listen");
  const local = new Uint8Array(16);
  assert.equal(sys.getsockname(listener, local), 16);
  const port = portOf(local);
  assert.ok(port > 0);
  const client = ok(sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket");
  const r = sys.connect(client, sockaddrIn(port));
  assert.ok(r === 0 || r === -EINPROGRESS, `connect returned ${r}`);
  assert.ok(pollFor(client, POLLOUT) & POLLOUT);
  assert.ok(pollFor(listener, POLLIN) & POLLIN);
  const server = ok(sys.accept4(listener, SOCK_NONBLOCK | SOCK_CLOEXEC), "accept4");
  const close = () => [client, server, listener].forEach((fd) => assert.equal(sys.close(fd), 0));
  return { listener, client, server, port, close };
};

const settledFlag = (p) => {
  const s = { done: false };
  p.then(() => (s.done = true));
  return s;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("failures return -errno and never throw", () => {
  assert.equal(sys.close(-1), -EBADF);
  assert.equal(sys.socket(12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
  assert.equal(sys.send(-1, new Uint8Array(4), 0), -EBADF);
  assert.equal(sys.recv(-1, new Uint8Array(4), 0), -EBADF);
  assert.equal(sys.read(-1, new Uint8Array(4)), -EBADF);
  assert.equal(sys.getsockopt(-1, SOL_SOCKET, SO_TYPE, new Uint8Array(4)), -EBADF);
  assert.equal(sys.getsockname(-1, new Uint8Array(16)), -EBADF);
  assert.equal(sys.epollCtl(-1, EPOLL_CTL_ADD, 0, EPOLLIN, 0), -EBADF);
  assert.equal(sys.sendmsg(-1, 0, 0), -EBADF);
  assert.equal(sys.mmap(0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
  assert.equal(sys.syscall6(100000, 0, 0, 0, 0, 0, 0), -ENOSYS);
  assert.equal(sys.syscall6(SYS_close, -1, 0, 0, 0, 0, 0), -EBADF);
  // A view too short for what the count says is refused before the kernel sees it.
  assert.equal(sys.poll(new Uint8Array(8), 2, 0), -EINVAL);
  assert.equal(sys.epollWait(-1, new Uint8Array(12), 2, 0), -EINVAL);
  assert.equal(sys.prlimit(0, RLIMIT_NOFILE, null, new Uint8Array(8)), -EINVAL);
  // A wrong argument type is a programming error: it throws.
  assert.throws(() => sys.send(0, "not bytes", 0), TypeError);
});

test("TCP over 127.0.0.1: sockopts, names, send/recv, shutdown", () => {
  const { listener, client, server, port, close } = tcpPair();
  const opt = new Uint8Array(8);
  assert.equal(sys.getsockopt(listener, SOL_SOCKET, SO_REUSEADDR, opt), 4);
  assert.equal(new DataView(opt.buffer).getInt32(0, true), 1);
  assert.equal(sys.getsockopt(server, SOL_SOCKET, SO_TYPE, opt), 4);
  assert.equal(new DataView(opt.buffer).getInt32(0, true), SOCK_STREAM);

  const peer = new Uint8Array(16);
  assert.equal(sys.getpeername(client, peer), 16);
  assert.equal(portOf(peer), port);
  const clientName = new Uint8Array(16);
  assert.equal(sys.getsockname(client, clientName), 16);
  assert.equal(sys.getpeername(server, peer), 16);
  assert.equal(portOf(peer), portOf(clientName));
  assert.deepEqual([...peer.subarray(4, 8)], [127, 0, 0, 1]);

  const buf = new Uint8Array(64);
  assert.equal(sys.recv(server, buf, 0), -EAGAIN);
  // A view with a byteOffset: only its own bytes go out.
  const big = text("xxhello, zcioyy");
  assert.equal(sys.send(client, big.subarray(2, 13), 0), 11);
  pollFor(server, POLLIN);
  const n = sys.recv(server, buf, 0);
  assert.equal(str(buf.subarray(0, n)), "hello, zcio");

  assert.equal(sys.write(server, text("back")), 4);
  pollFor(client, POLLIN);
  assert.equal(sys.read(client, buf), 4);
  assert.equal(str(buf.subarray(0, 4)), "back");

  assert.equal(sys.shutdown(client, SHUT_WR), 0);
  pollFor(server, POLLIN);
  assert.equal(sys.recv(server, buf, 0), 0);
  close();
});

test("epoll + waitReadable resolves when data arrives, without blocking", { timeout: 5000 }, async () => {
  const { client, server, close } = tcpPair();
  const epfd = ok(sys.epollCreate(EPOLL_CLOEXEC), "epoll_create1");
  assert.equal(sys.epollCtl(epfd, EPOLL_CTL_ADD, server, EPOLLIN | EPOLLET, 0xdeadbeef), 0);
  const events = new Uint8Array(4 * EPOLL_EVENT_SIZE);
  const ev = new DataView(events.buffer);
  assert.equal(sys.epollWait(epfd, events, 4, 0), 0);

  for (let round = 0; round < 3; round++) {
    const wait = sys.waitReadable(epfd);
    const s = settledFlag(wait);
    await sleep(20);
    assert.equal(s.done, false, "waitReadable resolved before any data");
    let ticked = false;
    setImmediate(() => (ticked = true));
    await sleep(1);
    assert.ok(ticked, "the event loop keeps running while a wait is outstanding");
    assert.equal(sys.send(client, text(`ping ${round}`), 0), 6);
    await wait;
    assert.equal(sys.epollWait(epfd, events, 4, 0), 1);
    assert.ok(ev.getUint32(0, true) & EPOLLIN);
    assert.equal(ev.getUint32(4, true), 0xdeadbeef);
    assert.equal(ev.getUint32(8, true), 0);
    assert.equal(sys.recv(server, new Uint8Array(64), 0), 6);
  }
  assert.equal(sys.close(epfd), 0);
  close();
});

test("waitReadable: one at a time, any fd, ended by close", { timeout: 5000 }, async () => {
  const efd = ok(sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
  const first = sys.waitReadable(efd);
  await assert.rejects(sys.waitReadable(efd), /already outstanding/);
  assert.equal(sys.write(efd, u64(1)), 8);
  await first;
  assert.equal(sys.read(efd, new Uint8Array(8)), 8);

  // Another fd gets its own handle; closing the fd ends its wait instead of leaving libuv on it.
  const epfd = ok(sys.epollCreate(EPOLL_CLOEXEC), "epoll_create1");
  const pending = sys.waitReadable(epfd);
  const s = settledFlag(pending);
  await sleep(10);
  assert.equal(s.done, false);
  assert.equal(sys.close(epfd), 0);
  await pending;

  // An fd that cannot be polled resolves at once, like poll() reporting POLLNVAL.
  await sys.waitReadable(-1);
  // The eventfd can be waited on again afterwards.
  const again = sys.waitReadable(efd);
  assert.equal(sys.write(efd, u64(2)), 8);
  await again;
  assert.equal(sys.close(efd), 0);
});

test("an idle process exits once its wait has resolved", () => {
  const script = `
    import { createRequire } from "node:module";
    const sys = createRequire(import.meta.url)(${JSON.stringify(addonPath)});
    const efd = sys.eventfd(0, ${EFD_NONBLOCK});
    setTimeout(() => sys.write(efd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])), 10);
    await sys.waitReadable(efd);
    await sys.waitReadable(efd); // still readable: resolves on the next loop turn
    console.log("woke");
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    timeout: 10_000,
    encoding: "utf8",
  });
  assert.equal(r.signal, null, "the child hung (killed by the timeout)");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "woke");
});

test("open, fstat and sendfile move a file's bytes to a socket from an offset", () => {
  const path = `${tmpdir()}/zcio-addon-sendfile-${process.pid}`;
  writeFileSync(path, "0123456789");
  const { client, server, close } = tcpPair();
  try {
    assert.equal(sys.open(text(`${path}.missing\0`), O_RDONLY), -ENOENT);
    assert.throws(() => sys.open(text(path), O_RDONLY), TypeError, "a path without its NUL byte");
    const fd = sys.open(text(`${path}\0`), O_RDONLY | O_CLOEXEC);
    assert.ok(fd > 0);
    const stat = new Uint8Array(STAT_SIZE);
    assert.equal(sys.fstat(fd, stat), 0);
    const d = new DataView(stat.buffer);
    assert.equal(d.getUint32(24, true) & S_IFMT, S_IFREG);
    assert.equal(Number(d.getBigUint64(48, true)), 10);
    assert.throws(() => sys.fstat(fd, new Uint8Array(16)), TypeError, "a buffer smaller than struct stat");
    const offset = new Uint8Array(8);
    offset[0] = 3;
    assert.equal(sys.sendfile(client, fd, offset, 4), 4);
    assert.equal(new DataView(offset.buffer).getBigUint64(0, true), 7n, "the kernel advanced the offset");
    assert.equal(sys.sendfile(client, fd, offset, 100), 3, "to the end of the file");
    assert.equal(sys.sendfile(client, fd, offset, 100), 0, "nothing past the end");
    assert.throws(() => sys.sendfile(client, fd, new Uint8Array(4), 1), TypeError, "an offset smaller than off_t");
    assert.equal(sys.sendfile(client, 1 << 20, offset, 1), -EBADF);
    const got = new Uint8Array(16);
    assert.equal(sys.recv(server, got, 0), 7);
    assert.deepEqual(got.subarray(0, 7), text("3456789"));
    assert.equal(sys.close(fd), 0);
  } finally {
    close();
    rmSync(path, { force: true });
  }
});

test("eventfd, read/write and poll", () => {
  const efd = ok(sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
  const out = new Uint8Array(8);
  assert.equal(sys.read(efd, out), -EAGAIN);
  assert.equal(sys.write(efd, new Uint8Array(4)), -EINVAL);
  assert.equal(sys.write(efd, u64(3)), 8);
  assert.equal(sys.write(efd, u64(4)), 8);
  assert.ok(pollFor(efd, POLLIN) & POLLIN);
  assert.equal(sys.read(efd, out), 8);
  assert.equal(new DataView(out.buffer).getBigUint64(0, true), 7n);
  const pfd = new Uint8Array(8);
  new DataView(pfd.buffer).setInt32(0, efd, true);
  new DataView(pfd.buffer).setInt16(4, POLLIN, true);
  assert.equal(sys.poll(pfd, 1, 0), 0);
  assert.equal(sys.close(efd), 0);

  const seeded = ok(sys.eventfd(5, EFD_CLOEXEC), "eventfd");
  assert.equal(sys.read(seeded, out), 8);
  assert.equal(new DataView(out.buffer).getBigUint64(0, true), 5n);
  assert.equal(sys.close(seeded), 0);
});

test("mmap, memory, addressOf and munmap", () => {
  const len = 1 << 16;
  const addr = sys.mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert.ok(addr > 0 && Number.isSafeInteger(addr) && addr % 4096 === 0, `mmap returned ${addr}`);
  const ab = sys.memory(addr, len);
  assert.ok(ab instanceof ArrayBuffer);
  assert.equal(ab.byteLength, len);
  const view = new Uint8Array(ab);
  assert.equal(view[123], 0);
  view[123] = 42;
  assert.equal(sys.addressOf(view), addr);
  // addressOf counts the byteOffset exactly once, however the view was made.
  assert.equal(sys.addressOf(new Uint8Array(ab, 100, 50)), addr + 100);
  assert.equal(sys.addressOf(view.subarray(7)), addr + 7);
  assert.equal(sys.addressOf(new Uint8Array(ab, 100).subarray(28)), addr + 128);

  // A second ArrayBuffer over the same memory sees the same bytes (and may coexist with the first).
  const again = new Uint8Array(sys.memory(addr + 64, 128));
  assert.equal(again[123 - 64], 42);
  assert.equal(sys.addressOf(again), addr + 64);

  // The buffers have no finalizer that frees the mapping: collect them and look again.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  {
    let dropped = new Uint8Array(sys.memory(addr, len));
    dropped[9] = 9;
    dropped = null;
  }
  gc();
  gc();
  assert.equal(new Uint8Array(sys.memory(addr, len))[9], 9);

  assert.equal(sys.munmap(addr, len), 0);
  assert.equal(sys.munmap(addr + 1, len), -EINVAL);

  // Ordinary (non-mmap'd) views have stable, distinct addresses too.
  const heap = new Uint8Array(4096);
  const a = sys.addressOf(heap);
  assert.ok(a > 0);
  assert.equal(sys.addressOf(heap.subarray(1000)), a + 1000);
  assert.equal(sys.addressOf(heap), a);
});

test("syscall6 takes numbers, negative ones and addresses", () => {
  assert.equal(sys.syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0), process.pid);
  const addr = sys.syscall6(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert.ok(addr > 0 && addr % 4096 === 0, `mmap via syscall6 returned ${addr}`);
  new Uint8Array(sys.memory(addr, 8192))[8191] = 1;
  assert.equal(sys.munmap(addr, 8192), 0);
});

test("prlimit reads and writes struct rlimit", () => {
  const old = new Uint8Array(16);
  assert.equal(sys.prlimit(0, RLIMIT_NOFILE, null, old), 0);
  const d = new DataView(old.buffer);
  const cur = d.getBigUint64(0, true), max = d.getBigUint64(8, true);
  assert.ok(cur > 0n && cur <= max);
  assert.equal(sys.prlimit(0, RLIMIT_NOFILE, null, null), 0);
  const same = old.slice();
  const check = new Uint8Array(16);
  assert.equal(sys.prlimit(0, RLIMIT_NOFILE, same, check), 0);
  assert.deepEqual(check, old);
  assert.equal(sys.prlimit(0, 12345, null, old), -EINVAL);
});

test("sendmsg, sendmmsg and recvmsg with structs in mmap'd memory", () => {
  const { client, server, close } = tcpPair();
  const len = 1 << 16;
  const base = sys.mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert.ok(base > 0);
  const mem = new Uint8Array(sys.memory(base, len));
  const dv = new DataView(mem.buffer);
  const setU64 = (at, v) => dv.setBigUint64(at, BigInt(v), true);
  const msghdr = (at, iovAt, iovCount) => {
    mem.fill(0, at, at + MSGHDR_SIZE);
    setU64(at + 16, base + iovAt);
    setU64(at + 24, iovCount);
  };
  const iovec = (at, dataAt, dataLen) => {
    setU64(at, base + dataAt);
    setU64(at + 8, dataLen);
  };
  // Payloads at 4096.., iovecs at 1024.., headers at 0...
  mem.set(text("zero-"), 4096);
  mem.set(text("copy"), 8192);
  iovec(1024, 4096, 5);
  iovec(1024 + IOVEC_SIZE, 8192, 4);
  msghdr(0, 1024, 2);
  assert.equal(sys.sendmsg(client, base, 0), 9);
  pollFor(server, POLLIN);
  const got = new Uint8Array(64);
  assert.equal(sys.recv(server, got, 0), 9);
  assert.equal(str(got.subarray(0, 9)), "zero-copy");

  // Two messages in one sendmmsg; msg_len tells what each sent.
  mem.set(text("first|"), 12288);
  mem.set(text("second"), 16384);
  iovec(2048, 12288, 6);
  iovec(2048 + IOVEC_SIZE, 16384, 6);
  msghdr(256, 2048, 1);
  msghdr(256 + MMSGHDR_SIZE, 2048 + IOVEC_SIZE, 1);
  dv.setUint32(256 + 56, 0, true);
  dv.setUint32(256 + MMSGHDR_SIZE + 56, 0, true);
  assert.equal(sys.sendmmsg(client, base + 256, 2, 0), 2);
  assert.equal(dv.getUint32(256 + 56, true), 6);
  assert.equal(dv.getUint32(256 + MMSGHDR_SIZE + 56, true), 6);

  // recvmsg scatters into two iovecs in mmap'd memory.
  pollFor(server, POLLIN);
  mem.fill(0, 20480, 20480 + 64);
  iovec(3072, 20480, 4);
  iovec(3072 + IOVEC_SIZE, 20480 + 32, 32);
  msghdr(512, 3072, 2);
  // Loopback queues both messages on the receiver before sendmmsg returns: one recvmsg takes both.
  assert.equal(sys.recvmsg(server, base + 512, 0), 12);
  assert.equal(str(mem.subarray(20480, 20484)), "firs");
  assert.equal(str(mem.subarray(20480 + 32, 20480 + 40)), "t|second");
  assert.equal(sys.munmap(base, len), 0);
  close();
});

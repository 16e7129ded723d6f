/**
 * The {@link Sys} adapter for Node, over the N-API addon `build/Release/zcio_sys.node`
 * (ffi/node/zcio_sys.cc, built by `npm install` through binding.gyp).
 *
 * Node 20–24 has no FFI, so every call crosses N-API (about 20 ns on top of the syscall). Pointers
 * travel as plain numbers, so {@link Sys.pointer} is the identity. `waitReadable` polls the fd with
 * libuv's `uv_poll` on the main loop: nothing blocks, and nothing keeps an idle process alive.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Ptr, Sys } from "../sys.ts";
import { ZcioError } from "../zcio_error.ts";

/** What the addon exports: the Sys calls, with Ptr arguments as plain numbers. */
type Addon = Omit<Sys, "runtime" | "pointer" | "sendmsg" | "sendmmsg" | "recvmsg"> & {
  sendmsg(fd: number, msg: number, flags: number): number;
  sendmmsg(fd: number, msgvec: number, vlen: number, flags: number): number;
  recvmsg(fd: number, msg: number, flags: number): number;
};

// From ffi/node/ in the source tree, or from dist/ffi/node/ once compiled: both reach <repo>/build.
const candidates = ["../../build/Release/zcio_sys.node", "../../../build/Release/zcio_sys.node"].map(
  (rel) => fileURLToPath(new URL(rel, import.meta.url)),
);

const loadAddon = (): Addon => {
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new ZcioError({
      code: "UNSUPPORTED_RUNTIME",
      message: `the Node addon zcio_sys.node is missing (looked in ${candidates.join(", ")}); ` +
        "run `npm install` (or `npx node-gyp rebuild`) in the zcio package to build it",
    });
  }
  return createRequire(import.meta.url)(path) as Addon;
};

const addon = loadAddon();

export const nodeSys: Sys = {
  runtime: "node",
  socket: addon.socket,
  close: addon.close,
  shutdown: addon.shutdown,
  setsockopt: addon.setsockopt,
  getsockopt: addon.getsockopt,
  bind: addon.bind,
  connect: addon.connect,
  listen: addon.listen,
  accept4: addon.accept4,
  getsockname: addon.getsockname,
  getpeername: addon.getpeername,
  send: addon.send,
  recv: addon.recv,
  sendmsg: addon.sendmsg as unknown as Sys["sendmsg"],
  sendmmsg: addon.sendmmsg as unknown as Sys["sendmmsg"],
  recvmsg: addon.recvmsg as unknown as Sys["recvmsg"],
  poll: addon.poll,
  epollCreate: addon.epollCreate,
  epollCtl: addon.epollCtl,
  epollWait: addon.epollWait,
  eventfd: addon.eventfd,
  read: addon.read,
  write: addon.write,
  open: addon.open,
  fstat: addon.fstat,
  sendfile: addon.sendfile,
  prlimit: addon.prlimit,
  mmap: addon.mmap,
  munmap: addon.munmap,
  syscall6: addon.syscall6,
  memory: addon.memory,
  detach: addon.detach,
  pointer: (addr) => addr as unknown as Ptr,
  addressOf: addon.addressOf,
  waitReadable: addon.waitReadable,
};

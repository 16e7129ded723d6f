/**
 * Shared pieces of the end-to-end tests: a seeded PRNG for payloads, a running hash, open-fd
 * counting, raw loopback sockets made through the Sys adapter, and small waiting helpers.
 * Everything talks to the real kernel on 127.0.0.1 or ::1 only.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import * as Effect from "effect/Effect";
import { MAX_REPROBE_DOUBLINGS } from "../backends/copied_downgrade.ts";
import { zcConnect, type ZcConnection, zcListen, type ZcListener } from "../mod.ts";
import { AF_INET, AF_INET6, EAGAIN, SO_REUSEADDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "../ffi/constants.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { decodeSockaddr, encodeSockaddr } from "../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Waiter } from "../ffi/waiter.ts";
import type { Connection } from "../scheduler/connection.ts";
import { WaiterService } from "../scheduler/waiter_service.ts";
import { zcRuntime } from "../scheduler/zc_runtime.ts";
import { assert } from "./harness.ts";

/** The runtime's Sys adapter. */
export const sys: Sys = await loadSys();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Number of fds this process has open now. */
export const openFds = (): number => readdirSync("/proc/self/fd").length;

/** Resident set size of this process in bytes, from /proc (the same in every runtime). */
export const rssBytes = (): number => Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * 4096;

/** xorshift32: a fast seeded PRNG whose stream every test can regenerate. */
export class XorShift {
  #x: number;
  constructor(seed: number) {
    this.#x = (seed | 0) || 0x9e3779b9;
  }
  /** The next 32-bit value, unsigned. */
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x;
    return x >>> 0;
  }
  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
  /** A whole number in [lo, hi], spread evenly over the powers of two between them. */
  logUniform(lo: number, hi: number): number {
    const a = Math.log(lo), b = Math.log(hi + 1);
    return Math.min(hi, Math.max(lo, Math.floor(Math.exp(a + (this.next() / 4294967296) * (b - a)))));
  }
  /** Fills `bytes` with the next pseudo-random bytes. */
  fill(bytes: Uint8Array): void {
    const n = bytes.length;
    let x = this.#x, i = 0;
    if ((bytes.byteOffset & 3) === 0) {
      const words = n >>> 2;
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
      for (; i < words; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        w[i] = x;
      }
      i = words << 2;
    }
    for (; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x;
    }
    this.#x = x;
  }
}

/** `n` pseudo-random bytes from `seed`. */
export const randomBytes = (n: number, seed: number): Uint8Array => {
  const bytes = new Uint8Array(n);
  new XorShift(seed).fill(bytes);
  return bytes;
};

/** A running, order-sensitive hash (FNV-1a, 32-bit) of every byte fed to it, and their count. */
export class RunningHash {
  #h = 0x811c9dc5 | 0;
  length = 0;
  update(bytes: Uint8Array): void {
    let h = this.#h;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
    this.#h = h;
    this.length += bytes.length;
  }
  get value(): number {
    return this.#h >>> 0;
  }
}

/** The hash of one byte array. */
export const hashOf = (bytes: Uint8Array): number => {
  const h = new RunningHash();
  h.update(bytes);
  return h.value;
};

/**
 * Detaches `buffer`, as `ArrayBuffer.prototype.transfer()` does (Node 20 lacks that method;
 * structuredClone with a transfer list detaches in every runtime).
 */
export const detach = (buffer: ArrayBufferLike): void => {
  const b = buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
  if (typeof b.transfer === "function") b.transfer();
  else structuredClone(b, { transfer: [b] });
};

/** Concatenates chunks. */
export const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/**
 * The most downgrades a route can count once `copied` bytes have gone by copy, when every probe is
 * copied: one, then one per re-probe, each after `reprobeBytes` doubled per re-probe before it (at
 * most {@link MAX_REPROBE_DOUBLINGS} times).
 */
export const mostDowngrades = (copied: number, reprobeBytes: number): number => {
  let downgrades = 1, waited = 0;
  for (;;) {
    waited += reprobeBytes * 2 ** Math.min(downgrades - 1, MAX_REPROBE_DOUBLINGS);
    if (waited > copied) return downgrades;
    downgrades++;
  }
};

/** Resolves once `condition()` holds; fails the test after `timeoutMs`. */
export const waitFor = async (condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
};

/**
 * Resolves once `count()` has not changed for `quietMs` while `blocked()` holds (for a writer: the
 * outbox still holds bytes the kernel has not taken); fails after `timeoutMs`.
 */
export const stalled = async (
  count: () => number,
  blocked: () => boolean,
  quietMs = 300,
  timeoutMs = 30_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = count();
    await sleep(quietMs);
    if (count() === before && blocked()) return;
    if (Date.now() > deadline) throw new Error("writes never stopped completing: no backpressure");
  }
};

/** `promise`, or a rejection if it has not settled within `ms` (so a hang fails fast). */
export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

/** "pending", "fulfilled" or "rejected": how `promise` stands after `ms` milliseconds. */
export const stateAfter = async (promise: Promise<unknown>, ms: number): Promise<string> => {
  let state = "pending";
  promise.then(() => (state = "fulfilled"), () => (state = "rejected"));
  await sleep(ms);
  return state;
};

/** Reads from `reader` until `n` bytes have come (or the stream ends); returns them. */
export const readBytes = async (reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> => {
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
  }
  return concat(chunks);
};

/** Reads `readable` to its end; returns every byte. */
export const readAll = async (readable: ReadableStream<Uint8Array>): Promise<Uint8Array> => {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return concat(chunks);
};

/** A listener on 127.0.0.1 (or `hostname`), a zcConnect client, and the accepted server side. */
export interface Pair {
  readonly listener: ZcListener;
  readonly client: ZcConnection;
  readonly server: ZcConnection;
  /** Closes all three, ignoring a connection's failure to close cleanly. */
  close(): Promise<void>;
}

export const connectedPair = async (hostname = "127.0.0.1", tuning: Record<string, unknown> = {}): Promise<Pair> => {
  const listener = await zcListen({ hostname, port: 0, ...tuning });
  const accepted = listener.accept();
  const client = await zcConnect({ hostname, port: listener.addr.port, ...tuning });
  const server = (await accepted)!;
  assert(server !== null, "the listener accepted the client");
  return {
    listener,
    client,
    server,
    close: async () => {
      await client.close().catch(() => {});
      await server.close().catch(() => {});
      listener.close();
    },
  };
};

/** The scheduler-level connection behind a ZcConnection (for its fd and outbox). */
export const internals = (conn: ZcConnection): Connection => (conn as unknown as { connection: Connection }).connection;

/**
 * Opens and closes connections so that everything zcio creates once per process (the epoll set,
 * its eventfd, the waiter thread, the io_uring ring) exists before a test counts fds.
 */
export const warmUp = async (): Promise<void> => {
  // The default (auto) and io_uring too: the thread's ring and its eventfd are made on first use,
  // and auto makes them only where its policy routes to io_uring.
  for (const backend of ["auto", "io_uring"]) {
    const pair = await connectedPair("127.0.0.1", { backend });
    const w = pair.client.writable.getWriter();
    await w.write(new Uint8Array([1, 2, 3]));
    await w.close();
    await readAll(pair.server.readable);
    await pair.close();
  }
};

/** The process's fd waiter, the one every zcio connection uses. */
export const processWaiter = (): Promise<Waiter> =>
  zcRuntime().runPromise(Effect.gen(function* () {
    return yield* WaiterService;
  }));

/** An int as the 4-byte value setsockopt takes. */
export const int32 = (value: number): Uint8Array => new Uint8Array(new Int32Array([value]).buffer);

/** The bound address of a socket fd. */
export const localAddr = (fd: number) => {
  const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const n = sys.getsockname(fd, addr);
  assert(n > 0, `getsockname failed: ${n}`);
  return decodeSockaddr(addr.subarray(0, n));
};

/** A socket of `type` bound to `hostname`:0; returns the fd and the port the kernel picked. */
export const boundSocket = (type: number, hostname = "127.0.0.1"): { fd: number; port: number } => {
  const family = hostname.includes(":") ? AF_INET6 : AF_INET;
  const fd = sys.socket(family, type | SOCK_CLOEXEC, 0);
  assert(fd >= 0, `socket failed: ${fd}`);
  const r = sys.bind(fd, encodeSockaddr(hostname, 0)!);
  assert(r === 0, `bind failed: ${r}`);
  return { fd, port: localAddr(fd).port };
};

/**
 * Two connected TCP sockets made with the Sys adapter alone: `a` (blocking) and `b`, the accepted
 * end (non-blocking). The listening socket is closed again.
 */
export const rawTcpPair = (): { a: number; b: number } => {
  const l = boundSocket(SOCK_STREAM);
  sys.setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, int32(1));
  assert(sys.listen(l.fd, 4) === 0, "listen");
  const a = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(sys.connect(a, encodeSockaddr("127.0.0.1", l.port)!) === 0, "connect on loopback completes at once");
  const b = sys.accept4(l.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert(b >= 0, `accept4 failed: ${b}`);
  sys.close(l.fd);
  return { a, b };
};

/** Reads from a non-blocking fd until nothing is left; returns what came. */
export const drainFd = (fd: number, buffer = new Uint8Array(1 << 20)): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (;;) {
    const n = sys.recv(fd, buffer, 0x40 /* MSG_DONTWAIT */);
    if (n === -EAGAIN || n === 0) return out;
    assert(n > 0, `recv failed: ${n}`);
    out.push(buffer.slice(0, n));
  }
};

/**
 * Writes 1 MiB chunks into a pair whose server never reads until a write stays pending with bytes
 * queued: the send fiber then waits for POLLOUT. `producing` settles with the error that ends it.
 */
export const writeUntilBlocked = async (pair: Pair) => {
  const writer = pair.client.writable.getWriter();
  let current: Promise<void> = Promise.resolve(), resolved = 0;
  const producing = (async () => {
    for (;;) {
      current = writer.write(new Uint8Array(1 << 20));
      await current;
      resolved++;
    }
  })().catch((e) => e);
  const outbox = internals(pair.client).outbox;
  await stalled(() => resolved, () => outbox.queue.queuedBytes > 0);
  return { writer, current, producing };
};

/** Accepts every connection waiting on the listening socket `fd` and closes it; returns how many. */
export const acceptPending = (fd: number): number => {
  let n = 0;
  for (;;) {
    const accepted = sys.accept4(fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted === -EAGAIN) return n;
    assert(accepted >= 0, `accept4: ${accepted}`);
    sys.close(accepted);
    n++;
  }
};

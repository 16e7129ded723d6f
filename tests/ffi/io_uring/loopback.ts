/**
 * Loopback sockets for the io_uring tests, made with the Sys adapter alone (as tests/helpers.ts
 * does, without importing the stream layers): a connected TCP pair on 127.0.0.1, a receive loop,
 * and an unconnected TCP socket. Nothing here talks to any address but 127.0.0.1.
 *
 * @module
 */
import { AF_INET, EAGAIN, MSG_DONTWAIT, SO_REUSEADDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "../../../ffi/constants.ts";
import { loadSys } from "../../../ffi/load_sys.ts";
import { decodeSockaddr, encodeSockaddr } from "../../../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../../../ffi/structs.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { assert } from "../../harness.ts";

/** The runtime's Sys adapter. */
export const sys: Sys = await loadSys();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const int32 = (value: number): Uint8Array => new Uint8Array(new Int32Array([value]).buffer);

/**
 * Two connected TCP sockets on 127.0.0.1: `a` (blocking, the sender) and `b` (non-blocking, the
 * receiver). The listening socket is closed again.
 */
export const tcpPair = (): { a: number; b: number; close(): void } => {
  const l = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(l >= 0, `socket failed: ${l}`);
  sys.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, int32(1));
  assert(sys.bind(l, encodeSockaddr("127.0.0.1", 0)!) === 0, "bind 127.0.0.1:0");
  assert(sys.listen(l, 4) === 0, "listen");
  const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const n = sys.getsockname(l, addr);
  assert(n > 0, `getsockname failed: ${n}`);
  const port = decodeSockaddr(addr.subarray(0, n)).port;
  const a = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(sys.connect(a, encodeSockaddr("127.0.0.1", port)!) === 0, "connect on loopback completes at once");
  const b = sys.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert(b >= 0, `accept4 failed: ${b}`);
  sys.close(l);
  return { a, b, close: () => (sys.close(a), sys.close(b)) };
};

/** A TCP socket that was never connected (SEND_ZC on it fails with EPIPE). */
export const unconnectedTcp = (): number => {
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(fd >= 0, `socket failed: ${fd}`);
  return fd;
};

/** Reads everything the non-blocking `fd` has now into `into` at `at`; returns the new fill level. */
export const drainInto = (fd: number, into: Uint8Array, at: number): number => {
  for (;;) {
    if (at >= into.length) return at;
    const n = sys.recv(fd, into.subarray(at), MSG_DONTWAIT);
    if (n === -EAGAIN || n === 0) return at;
    assert(n > 0, `recv failed: ${n}`);
    at += n;
  }
};

/** Receives exactly `into.length` bytes from the non-blocking `fd`, polling; fails after `timeoutMs`. */
export const receiveAll = async (fd: number, into: Uint8Array, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let at = 0;
  while (at < into.length) {
    at = drainInto(fd, into, at);
    if (at >= into.length) return;
    if (Date.now() > deadline) throw new Error(`received ${at} of ${into.length} bytes before the timeout`);
    await sleep(1);
  }
};

/** Deterministic bytes for payloads. */
export const pattern = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n);
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
};

/** Whether two byte arrays are equal. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

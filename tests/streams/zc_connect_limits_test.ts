/**
 * zcConnect's `signal` and `timeout`: a connect that never completes is given up with ABORTED or
 * ETIMEDOUT, and its socket is closed. The peer that never answers is a listener on 127.0.0.1
 * whose accept queue (backlog 0) is full: Linux drops further SYNs, so a connect stays pending.
 */
import { EAGAIN, EINPROGRESS, SO_ERROR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcConnect, ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { acceptPending, boundSocket, openFds, sleep, stateAfter, sys, warmUp, withTimeout } from "../helpers.ts";

/** A listener on 127.0.0.1 that answers no further SYN: its one-place accept queue holds a connection. */
const silentListener = () => {
  const l = boundSocket(SOCK_STREAM | SOCK_NONBLOCK);
  assertEquals(sys.listen(l.fd, 0), 0);
  const filler = sys.socket(2, /* AF_INET */ SOCK_STREAM | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(filler, encodeSockaddr("127.0.0.1", l.port)!), 0, "the first connection fills the queue");
  return {
    port: l.port,
    /** How many connections were accepted (each is closed); the filler is one. */
    accepted: (): number => acceptPending(l.fd),
    close: () => {
      sys.close(filler);
      sys.close(l.fd);
    },
  };
};

const assertCode = (e: unknown, code: string, what: string): ZcioError => {
  assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
  assertEquals(e.code, code, what);
  return e;
};

test("zc_connect limits: the full-backlog listener really leaves a connect pending", async () => {
  await warmUp();
  const silent = silentListener();
  const fd = sys.socket(2, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", silent.port)!), -EINPROGRESS);
  await sleep(1500); // past the first SYN retransmission (1 s)
  const error = new Int32Array(1);
  sys.getsockopt(fd, SOL_SOCKET, SO_ERROR, new Uint8Array(error.buffer));
  assertEquals(error[0], 0, "no error");
  assertEquals(sys.send(fd, new Uint8Array(1), 0x40), -EAGAIN, "still connecting: nothing can be sent");
  sys.close(fd);
  silent.close();
});

test("zc_connect limits: timeout rejects with ETIMEDOUT after that many ms and leaves no fd", async () => {
  await warmUp();
  const silent = silentListener();
  const fds = openFds();
  const start = Date.now();
  const e = await rejection(withTimeout(zcConnect({ hostname: "127.0.0.1", port: silent.port, timeout: 300 }), 10_000, "zcConnect"));
  const elapsed = Date.now() - start;
  const error = assertCode(e, "ETIMEDOUT", "timeout");
  assert(error.message.includes("300 ms"), `the message says the timeout: ${error.message}`);
  assert(elapsed >= 290 && elapsed < 5000, `rejected after the timeout: ${elapsed} ms`);
  assertEquals(openFds(), fds, "the socket was closed");
  assertEquals(silent.accepted(), 1, "only the filler ever connected");
  silent.close();
});

test("zc_connect limits: a signal aborting mid-connect rejects with ABORTED and leaves no fd", async () => {
  await warmUp();
  const silent = silentListener();
  const fds = openFds();
  const controller = new AbortController();
  const pending = zcConnect({ hostname: "127.0.0.1", port: silent.port, signal: controller.signal, timeout: 60_000 });
  assertEquals(await stateAfter(pending, 200), "pending", "the connect waits");
  assertEquals(openFds(), fds + 1, "its socket is open meanwhile");
  controller.abort(new Error("user gave up"));
  const e = assertCode(await rejection(withTimeout(pending, 5000, "zcConnect after abort")), "ABORTED", "signal");
  assert(e.message.includes("user gave up"), `the message carries the reason: ${e.message}`);
  assertEquals(openFds(), fds, "the socket was closed");
  // AbortSignal.timeout() works the same way (ABORTED: the signal decides, with its TimeoutError).
  assertCode(await rejection(zcConnect({ hostname: "127.0.0.1", port: silent.port, signal: AbortSignal.timeout(100) })), "ABORTED", "AbortSignal.timeout");
  assertEquals(openFds(), fds);
  silent.close();
});

test("zc_connect limits: an already aborted signal rejects at once, before any connection attempt", async () => {
  await warmUp();
  const l = boundSocket(SOCK_STREAM | SOCK_NONBLOCK);
  assertEquals(sys.listen(l.fd, 16), 0);
  const fds = openFds();
  const controller = new AbortController();
  controller.abort();
  const pending = zcConnect({ hostname: "127.0.0.1", port: l.port, signal: controller.signal });
  assertEquals(await stateAfter(pending, 0), "rejected", "at once");
  assertCode(await rejection(pending), "ABORTED", "aborted signal");
  assertEquals(openFds(), fds);
  assertEquals(sys.accept4(l.fd, SOCK_NONBLOCK | SOCK_CLOEXEC), -EAGAIN, "no connection was attempted");
  sys.close(l.fd);
});

test("zc_connect limits: once connected, neither the signal nor the timeout matters", async () => {
  await warmUp();
  const l = boundSocket(SOCK_STREAM | SOCK_NONBLOCK);
  assertEquals(sys.listen(l.fd, 16), 0);
  const controller = new AbortController();
  const conn = await zcConnect({ hostname: "127.0.0.1", port: l.port, signal: controller.signal, timeout: 100 });
  const server = sys.accept4(l.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert(server >= 0, `accept4: ${server}`);
  controller.abort();
  await sleep(200);
  const writer = conn.writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.close();
  const got = new Uint8Array(16);
  assertEquals(sys.recv(server, got, 0), 3, "the connection still carries bytes");
  assertEquals(await stateAfter(conn.closed, 0), "pending");
  await conn.close();
  sys.close(server);
  sys.close(l.fd);
});

test("zc_connect limits: a bad signal or timeout is INVALID_OPTION naming it", async () => {
  const hostname = "127.0.0.1", port = 9;
  const cases: [string, Record<string, unknown>][] = [
    ["timeout", { timeout: 0 }],
    ["timeout", { timeout: -5 }],
    ["timeout", { timeout: NaN }],
    ["timeout", { timeout: "100" }],
    ["timeout", { timeout: 2 ** 31 }],
    ["signal", { signal: {} }],
    ["signal", { signal: null }],
    ["signal", { signal: true }],
  ];
  for (const [name, extra] of cases) {
    const e = assertCode(await rejection(zcConnect({ hostname, port, ...extra } as never)), "INVALID_OPTION", JSON.stringify(extra));
    assert(e.message.includes(name), `the message names ${name}: ${e.message}`);
  }
});

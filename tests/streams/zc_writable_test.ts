/** zcWritable(fd) over sockets the program made itself with the Sys adapter: zcio never closes them. */
import { AF_INET, EFD_CLOEXEC, SO_TYPE, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { ZcioError, zcListen, zcWritable } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { boundSocket, hashOf, openFds, randomBytes, readAll, readBytes, stateAfter, sys, waitFor, warmUp, withTimeout } from "../helpers.ts";

const socketType = (fd: number): number => {
  const type = new Int32Array(1);
  const r = sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(type.buffer));
  assertEquals(r, 4, `getsockopt(SO_TYPE) on fd ${fd} succeeds`);
  return type[0];
};

test("zc_writable: over a program-owned TCP fd, data arrives and the fd stays open after close", async () => {
  await warmUp();
  const listener = await zcListen({ port: 0 });
  const accepted = listener.accept();
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(fd >= 0, `socket: ${fd}`);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", listener.addr.port)!), 0);
  const server = (await accepted)!;
  const fds = openFds();

  const small = randomBytes(1000, 1), large = randomBytes(2 << 20, 2);
  // Copy: `large` is hashed after writing, and close() here comes before anything is read.
  const writable = zcWritable(fd, { backend: "copy" });
  const writer = writable.getWriter();
  await writer.write(small);
  await writer.write(large);
  await writer.write(small);
  await writer.close();
  const reader = server.readable.getReader();
  const got = await readBytes(reader, small.length * 2 + large.length);
  assertEquals(got.length, small.length * 2 + large.length);
  assertEquals(hashOf(got), hashOf(new Uint8Array([...small, ...large, ...small])));

  // zcio neither closed nor shut down the fd: it is still a socket, the peer sees no end of stream,
  // and the program can go on sending on it.
  assertEquals(socketType(fd), SOCK_STREAM);
  assertEquals(openFds(), fds, "zcio opened nothing it left open and closed nothing of the program's");
  const next = reader.read();
  assertEquals(await stateAfter(next, 200), "pending", "no end of stream: zcio did not shut the fd down");
  assertEquals(sys.send(fd, new Uint8Array([7, 8, 9]), 0), 3);
  assertEquals(Array.from((await next).value!), [7, 8, 9]);
  assertEquals(sys.close(fd), 0, "the program closes its own fd");
  assertEquals((await reader.read()).done, true, "and only then does the peer see the end");
  await server.close();
  listener.close();
});

test("zc_writable: aborting the stream leaves the program's fd open too", async () => {
  const listener = await zcListen({ port: 0 });
  const accepted = listener.accept();
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", listener.addr.port)!), 0);
  const server = (await accepted)!;
  const writer = zcWritable(fd).getWriter();
  // A borrowed chunk (larger than stageBelow): its write resolves once the kernel has all of it,
  // so the abort drops nothing.
  const data = randomBytes(100000, 3);
  await writer.write(data);
  await writer.abort(new Error("enough"));
  assertEquals(socketType(fd), SOCK_STREAM);
  assertEquals(sys.send(fd, new Uint8Array([1]), 0), 1);
  sys.close(fd);
  const got = await readAll(server.readable);
  assertEquals(got.length, 100001, "the bytes written before the abort, then the program's own");
  assertEquals(hashOf(got.subarray(0, 100000)), hashOf(data));
  assertEquals(got[100000], 1);
  await server.close();
  listener.close();
});

test("zc_writable: over a program-owned UDP fd each chunk is one datagram", async () => {
  const rx = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  const tx = boundSocket(SOCK_DGRAM);
  assertEquals(sys.connect(tx.fd, encodeSockaddr("127.0.0.1", rx.port)!), 0);
  // Copy: the datagrams are hashed after writing, which zero-copy routes would take over.
  const writer = zcWritable(tx.fd, { backend: "copy" }).getWriter();
  const datagrams = [randomBytes(1, 1), randomBytes(1400, 2), randomBytes(30000, 3), randomBytes(65507, 4)];
  for (const d of datagrams) await writer.write(d);
  await writer.close();
  const buffer = new Uint8Array(65536);
  const got: Uint8Array[] = [];
  await waitFor(() => {
    const n = sys.recv(rx.fd, buffer, 0);
    if (n >= 0) got.push(buffer.slice(0, n));
    return got.length === datagrams.length;
  }, "four datagrams");
  assertEquals(got.map((d) => d.length), datagrams.map((d) => d.length));
  assertEquals(got.map(hashOf), datagrams.map(hashOf));
  assertEquals(socketType(tx.fd), SOCK_DGRAM);
  sys.close(tx.fd);
  sys.close(rx.fd);
});

test("zc_writable: a bad fd is INVALID_OPTION at once; a non-socket or an unconnected socket fails the first write, saying so", async () => {
  for (const fd of [-1, 1.5, NaN]) {
    let error: unknown;
    try {
      zcWritable(fd);
    } catch (e) {
      error = e;
    }
    assert(error instanceof ZcioError && error.code === "INVALID_OPTION", `zcWritable(${fd}): INVALID_OPTION`);
  }
  let error: unknown;
  try {
    zcWritable(0, { stagingBytes: -5 });
  } catch (e) {
    error = e;
  }
  assert(error instanceof ZcioError && error.code === "INVALID_OPTION", "bad tuning: INVALID_OPTION");
  const efd = sys.eventfd(0, EFD_CLOEXEC);
  const e = await rejection(zcWritable(efd).getWriter().write(new Uint8Array(4)));
  assert(e instanceof ZcioError && e.code === "ENOTSOCK" && /is not a socket/.test(e.message), `an eventfd is not a socket: ${e}`);
  assertEquals(sys.close(efd), 0, "and zcio left it open");
  for (const type of [SOCK_STREAM, SOCK_DGRAM]) {
    const fd = sys.socket(AF_INET, type | SOCK_CLOEXEC, 0);
    const unconnected = await rejection(zcWritable(fd).getWriter().write(new Uint8Array(4)));
    assert(
      unconnected instanceof ZcioError && unconnected.code === "ENOTCONN" && /connect it first/.test(unconnected.message),
      `an unconnected ${type === SOCK_STREAM ? "stream" : "datagram"} socket: ${unconnected}`,
    );
    assertEquals(sys.close(fd), 0, "and zcio left it open");
  }
});

test("zc_writable: the program may close its fd while zero-copy sends are unreleased; a socket that reuses the fd number works", async () => {
  const listener = await zcListen({ port: 0 });
  try {
    // A peer that does not read yet: the first stream's zero-copy sends stay pinned after abort().
    const firstPeer = listener.accept();
    const first = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assertEquals(sys.connect(first, encodeSockaddr("127.0.0.1", listener.addr.port)!), 0);
    const stuck = (await firstPeer)!;
    const writable = zcWritable(first, { backend: "msg_zerocopy", transferBuffers: true });
    const writer = writable.getWriter();
    for (let i = 0; i < 64; i++) {
      const write = writer.write(randomBytes(256 << 10, i));
      if (await stateAfter(write, 20) === "pending") {
        write.catch(() => {});
        break;
      }
    }
    await writer.abort();
    sys.close(first);
    // The lowest free number: the one just closed.
    const second = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const secondPeer = listener.accept();
    assertEquals(sys.connect(second, encodeSockaddr("127.0.0.1", listener.addr.port)!), 0);
    const peer = (await secondPeer)!;
    const received = readAll(peer.readable);
    const data = randomBytes(4 << 20, 99);
    const writer2 = zcWritable(second, { backend: "msg_zerocopy", transferBuffers: true }).getWriter();
    for (let at = 0; at < data.length; at += 256 << 10) await writer2.write(data.slice(at, at + (256 << 10)));
    await withTimeout(writer2.close(), 10_000, "the second stream's close");
    sys.close(second);
    const got = await withTimeout(received, 10_000, "the second peer's bytes");
    assertEquals(got.length, data.length, "bytes");
    assertEquals(hashOf(got), hashOf(data), "contents");
    await stuck.close();
    await peer.close();
  } finally {
    listener.close();
  }
});

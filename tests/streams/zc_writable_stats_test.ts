/** `stats()` of the stream `zcWritable(fd)` returns: the connection's counters, zeros before it opens. */
import { AF_INET, EFD_CLOEXEC, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcListen, zcWritable, ZcWritableStream } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { boundSocket, drainFd, readBytes, sys, warmUp } from "../helpers.ts";

const ZERO = { copy: 0, msg_zerocopy: 0, io_uring: 0 };

test("zc_writable stats: counts the bytes and chunks sent over a program's TCP fd", async () => {
  await warmUp();
  const listener = await zcListen({ port: 0 });
  const accepted = listener.accept();
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", listener.addr.port)!), 0);
  const server = (await accepted)!;

  const writable = zcWritable(fd, { backend: "copy" });
  assert(writable instanceof ZcWritableStream, "a ZcWritableStream with stats()");
  const before = writable.stats();
  assertEquals([before.bytes, before.chunks, before.bytesReceived, before.downgrades], [ZERO, 0, 0, 0], "nothing sent yet");
  const writer = writable.getWriter();
  await writer.write(new Uint8Array(100));
  await writer.write(new Uint8Array(1 << 20));
  await writer.close();
  const stats = writable.stats();
  assertEquals(stats.bytes, { ...ZERO, copy: 100 + (1 << 20) }, "bytes per backend");
  assertEquals(stats.chunks, 2, "chunks");
  assert(stats.syscalls >= 1, `syscalls: ${stats.syscalls}`);
  assertEquals((await readBytes(server.readable.getReader(), 100 + (1 << 20))).length, 100 + (1 << 20));
  assertEquals(writable.stats().bytes.copy, 100 + (1 << 20), "still readable once the stream is closed");
  assertEquals(sys.close(fd), 0);
  await server.close();
  listener.close();
});

test("zc_writable stats: one datagram per chunk over a program's UDP fd", async () => {
  await warmUp();
  const peer = boundSocket(SOCK_DGRAM);
  const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assertEquals(sys.connect(fd, encodeSockaddr("127.0.0.1", peer.port)!), 0);
  const writable = zcWritable(fd);
  const writer = writable.getWriter();
  for (const n of [10, 2000, 30000]) await writer.write(new Uint8Array(n));
  await writer.close();
  assertEquals(writable.stats().bytes.copy + writable.stats().bytes.msg_zerocopy + writable.stats().bytes.io_uring, 32010);
  assertEquals(writable.stats().chunks, 3);
  assertEquals(drainFd(peer.fd).map((d) => d.length), [10, 2000, 30000]);
  sys.close(fd);
  sys.close(peer.fd);
});

test("zc_writable stats: all zeros over an fd that is no socket, whose stream errors", async () => {
  await warmUp();
  const efd = sys.eventfd(0, EFD_CLOEXEC);
  assert(efd >= 0, `eventfd: ${efd}`);
  const writable = zcWritable(efd);
  const writer = writable.getWriter();
  await rejection(writer.write(new Uint8Array(10)));
  const stats = writable.stats();
  assertEquals([stats.bytes, stats.chunks, stats.syscalls], [ZERO, 0, 0]);
  sys.close(efd);
});

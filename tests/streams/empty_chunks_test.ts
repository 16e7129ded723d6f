/**
 * Zero-length chunks, for every backend: over UDP each one is a datagram of its own (a valid UDP
 * message, as Deno.DatagramConn and node:dgram send it), received in order between the others;
 * over TCP it carries no bytes, so its write resolves and nothing is sent.
 */
import { EAGAIN, MSG_DONTWAIT, SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/constants.ts";
import { zcConnect } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, connectedPair, readAll, sleep, sys } from "../helpers.ts";

const BACKENDS = ["copy", "msg_zerocopy", "io_uring", "auto"] as const;

/** The lengths of the datagrams waiting on non-blocking `fd`, waiting up to `ms` for `count` of them. */
const receiveLengths = async (fd: number, count: number, ms = 2000): Promise<number[]> => {
  const buffer = new Uint8Array(2048), lengths: number[] = [];
  const deadline = Date.now() + ms;
  while (lengths.length < count && Date.now() < deadline) {
    const n = sys.recv(fd, buffer, MSG_DONTWAIT);
    if (n === -EAGAIN) {
      await sleep(5);
      continue;
    }
    assert(n >= 0, `recv failed: ${n}`);
    lengths.push(n);
  }
  // Nothing more follows.
  await sleep(50);
  for (let n = sys.recv(fd, buffer, MSG_DONTWAIT); n !== -EAGAIN; n = sys.recv(fd, buffer, MSG_DONTWAIT)) lengths.push(n);
  return lengths;
};

for (const backend of BACKENDS) {
  test(`empty chunks (${backend}): over UDP a zero-length chunk is a zero-length datagram, sent in order`, async () => {
    const sizes = [5, 0, 7, 0, 0, 3];
    const raw = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
    const conn = await zcConnect({ hostname: "127.0.0.1", port: raw.port, transport: "udp", backend });
    const writer = conn.writable.getWriter();
    for (const [i, size] of sizes.entries()) await writer.write(new Uint8Array(size).fill(i + 1));
    await writer.close();
    assertEquals(await receiveLengths(raw.fd, sizes.length), sizes, "the datagrams received, in order");
    await conn.close();
    sys.close(raw.fd);
  });

  test(`empty chunks (${backend}): over TCP a zero-length chunk resolves and sends nothing`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend });
    const writer = pair.client.writable.getWriter();
    await writer.write(new TextEncoder().encode("abc"));
    await writer.write(new Uint8Array(0));
    await writer.write(new Uint8Array(0));
    await writer.write(new TextEncoder().encode("de"));
    await writer.write(new Uint8Array(0));
    await writer.close();
    assertEquals(new TextDecoder().decode(await readAll(pair.server.readable)), "abcde");
    assertEquals(pair.client.stats().chunks, 2, "only the non-empty chunks were recorded");
    await pair.close();
  });
}

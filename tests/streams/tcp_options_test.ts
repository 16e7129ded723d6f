/** The TCP options `noDelay` (TCP_NODELAY, on by default) and `keepAlive` (SO_KEEPALIVE, off by default), both ends. */
import { IPPROTO_TCP, SO_KEEPALIVE, SOCK_DGRAM, SOL_SOCKET, TCP_NODELAY } from "../../ffi/constants.ts";
import { zcConnect, ZcioError, zcListen } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { boundSocket, connectedPair, internals, openFds, sys, warmUp } from "../helpers.ts";
import type { ZcConnection } from "../../mod.ts";

const option = (conn: ZcConnection, level: number, name: number): number => {
  const value = new Int32Array(1);
  const r = sys.getsockopt(internals(conn).fd, level, name, new Uint8Array(value.buffer));
  assertEquals(r, 4, "getsockopt");
  return value[0];
};

const tcpOptions = (conn: ZcConnection) => ({
  noDelay: option(conn, IPPROTO_TCP, TCP_NODELAY) !== 0,
  keepAlive: option(conn, SOL_SOCKET, SO_KEEPALIVE) !== 0,
});

test("tcp options: by default both ends have TCP_NODELAY on and SO_KEEPALIVE off", async () => {
  await warmUp();
  const pair = await connectedPair();
  assertEquals(tcpOptions(pair.client), { noDelay: true, keepAlive: false }, "zcConnect");
  assertEquals(tcpOptions(pair.server), { noDelay: true, keepAlive: false }, "accepted by zcListen");
  await pair.close();
});

test("tcp options: noDelay false and keepAlive true are set on the connected and the accepted socket", async () => {
  await warmUp();
  for (const hostname of ["127.0.0.1", "::1"]) {
    const pair = await connectedPair(hostname, { noDelay: false, keepAlive: true });
    assertEquals(tcpOptions(pair.client), { noDelay: false, keepAlive: true }, `zcConnect ${hostname}`);
    assertEquals(tcpOptions(pair.server), { noDelay: false, keepAlive: true }, `accepted ${hostname}`);
    const writer = pair.client.writable.getWriter();
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.close();
    const { value } = await pair.server.readable.getReader().read();
    assertEquals(Array.from(value!), [1, 2, 3], "bytes still flow");
    await pair.close();
  }
  // Each side on its own: the listener's options are the accepted sockets', not the client's.
  const listener = await zcListen({ port: 0, keepAlive: true });
  const accepted = listener.accept();
  const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, noDelay: false });
  const server = (await accepted)!;
  assertEquals(tcpOptions(client), { noDelay: false, keepAlive: false });
  assertEquals(tcpOptions(server), { noDelay: true, keepAlive: true });
  await client.close();
  await server.close();
  listener.close();
});

test("tcp options: ignored for UDP", async () => {
  await warmUp();
  const peer = boundSocket(SOCK_DGRAM);
  const conn = await zcConnect({ hostname: "127.0.0.1", port: peer.port, transport: "udp", noDelay: true, keepAlive: true });
  await conn.writable.getWriter().write(new Uint8Array([9]));
  await conn.close();
  sys.close(peer.fd);
});

test("tcp options: a value that is not a boolean is INVALID_OPTION naming it, and opens nothing", async () => {
  await warmUp();
  const fds = openFds();
  for (const [name, value] of [["noDelay", "yes"], ["keepAlive", 1], ["noDelay", null]] as const) {
    for (
      const [what, opening] of [
        ["zcConnect", () => zcConnect({ hostname: "127.0.0.1", port: 9, [name]: value } as never)],
        ["zcListen", () => zcListen({ port: 0, [name]: value } as never)],
      ] as const
    ) {
      const e = await rejection(opening());
      assert(e instanceof ZcioError && e.code === "INVALID_OPTION", `${what} ${name}: ${e}`);
      assert(e.message.includes(name), `${what}: the message names ${name}: ${e.message}`);
    }
  }
  assertEquals(openFds(), fds);
});

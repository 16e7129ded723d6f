/**
 * zcListen({ transport: "udp" }) over loopback (IPv4 and IPv6): datagrams from two peers arrive
 * with their source addresses, replies sent to those addresses reach each peer, zero-length
 * datagrams both ways, bad input, and close() ending the readable and releasing the socket.
 * The peers are plain UDP sockets made with the Sys adapter. Sends that must wait for room in the
 * socket's buffer (which loopback frees at once) are tested in a private network namespace whose
 * loopback is slowed down.
 */
import { AF_INET, AF_INET6, EAGAIN, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { type Datagram, ZcioError, zcListen } from "../../mod.ts";
import { currentNetns, describe, privateNetns, runChild, runtimeCommand } from "../child_process.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { localAddr, openFds, randomBytes, stateAfter, sys, warmUp, withTimeout } from "../helpers.ts";

/** A UDP socket of the peer, bound to `hostname`:0 and connected to the listener. */
const peer = (hostname: string, port: number): { fd: number; port: number } => {
  const fd = sys.socket(hostname.includes(":") ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert(fd >= 0, `socket: ${fd}`);
  assertEquals(sys.bind(fd, encodeSockaddr(hostname, 0)!), 0, "bind");
  assertEquals(sys.connect(fd, encodeSockaddr(hostname, port)!), 0, "connect");
  return { fd, port: localAddr(fd).port };
};

/** The next datagram the peer's socket `fd` receives (it blocks for at most a moment: loopback). */
const receiveOn = async (fd: number): Promise<Uint8Array> => {
  const buffer = new Uint8Array(65536);
  for (let i = 0; i < 500; i++) {
    const n = sys.recv(fd, buffer, MSG_DONTWAIT);
    if (n >= 0) return buffer.slice(0, n);
    assertEquals(n, -EAGAIN, "recv");
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no datagram came");
};

const assertCode = async (promise: Promise<unknown>, code: string, what: string): Promise<ZcioError> => {
  const e = await rejection(promise);
  assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
  assertEquals(e.code, code, what);
  return e;
};

for (const hostname of ["127.0.0.1", "::1"]) {
  test(`zc_datagram_listener (${hostname}): datagrams from two peers arrive with their addresses, and replies reach each`, async () => {
    const server = await zcListen({ transport: "udp", hostname, port: 0 });
    assertEquals(server.addr.hostname, hostname);
    assert(server.addr.port > 0, "port 0 picked a free port");
    const a = peer(hostname, server.addr.port), b = peer(hostname, server.addr.port);
    const reader = server.readable.getReader();
    const sent = new Map<number, Uint8Array[]>([[a.port, []], [b.port, []]]);
    const received = new Map<number, Uint8Array[]>([[a.port, []], [b.port, []]]);
    for (let i = 0; i < 40; i++) {
      // One datagram in the socket's buffer at a time: a full buffer would drop some.
      const p = i % 2 === 0 ? a : b;
      const bytes = randomBytes(i === 0 ? 65507 : 1 + ((i * 9973 + p.port) % 60000), i);
      assertEquals(sys.send(p.fd, bytes, 0), bytes.length, "the peer sends");
      sent.get(p.port)!.push(bytes);
      const { value, done } = await withTimeout(reader.read(), 5000, `datagram ${i}`);
      assert(!done && value !== undefined, "the readable has each datagram");
      const { data, remoteAddr }: Datagram = value;
      assertEquals(remoteAddr.hostname, hostname, "the source address");
      assertEquals(remoteAddr.family, hostname.includes(":") ? "IPv6" : "IPv4");
      assert(received.has(remoteAddr.port), `the source port is a peer's: ${remoteAddr.port}`);
      received.get(remoteAddr.port)!.push(data);
      // Reply to the address it came from: its length and first byte, so each peer can check it.
      await server.send(new Uint8Array([data.length >> 8, data.length & 0xff, data[0]]), remoteAddr);
    }
    for (const p of [a, b]) {
      assertEquals(
        received.get(p.port)!.map((d) => Array.from(d.subarray(0, 8)).concat(d.length)),
        sent.get(p.port)!.map((d) => Array.from(d.subarray(0, 8)).concat(d.length)),
        `peer ${p.port}'s datagrams, in order`,
      );
      assert(received.get(p.port)!.every((d, i) => d.every((x, j) => x === sent.get(p.port)![i][j])), "every byte");
      for (const d of sent.get(p.port)!) {
        assertEquals(Array.from(await receiveOn(p.fd)), [d.length >> 8, d.length & 0xff, d[0]], `peer ${p.port} got its reply`);
      }
      sys.close(p.fd);
    }
    reader.releaseLock();
    server.close();
  });
}

test("zc_datagram_listener: zero-length datagrams arrive as empty data and can be sent", async () => {
  await using server = await zcListen({ transport: "udp", port: 0 });
  const p = peer("127.0.0.1", server.addr.port);
  assertEquals(sys.send(p.fd, new Uint8Array(0), 0), 0);
  assertEquals(sys.send(p.fd, new Uint8Array([7]), 0), 1);
  const reader = server.readable.getReader();
  const first = (await withTimeout(reader.read(), 5000, "the empty datagram")).value!;
  assertEquals(first.data.length, 0, "an empty datagram is empty data, not the end");
  assertEquals(first.remoteAddr.port, p.port);
  assertEquals(Array.from((await reader.read()).value!.data), [7], "the next datagram follows");
  await server.send(new Uint8Array(0), first.remoteAddr);
  await server.send(new Uint8Array([8, 9]).subarray(1), first.remoteAddr);
  assertEquals((await receiveOn(p.fd)).length, 0, "the peer got an empty datagram");
  assertEquals(Array.from(await receiveOn(p.fd)), [9], "then the view's bytes only");
  sys.close(p.fd);
});

test("zc_datagram_listener: a listener on :: serves IPv4 and IPv6 peers", async () => {
  const server = await zcListen({ transport: "udp", hostname: "::", port: 0 });
  const v4 = peer("127.0.0.1", server.addr.port), v6 = peer("::1", server.addr.port);
  sys.send(v4.fd, new Uint8Array([4]), 0);
  const reader = server.readable.getReader();
  const from4 = (await withTimeout(reader.read(), 5000, "from IPv4")).value!;
  assertEquals(from4.remoteAddr.hostname, "::ffff:127.0.0.1", "an IPv4 peer, as an IPv4-mapped address");
  sys.send(v6.fd, new Uint8Array([6]), 0);
  const from6 = (await withTimeout(reader.read(), 5000, "from IPv6")).value!;
  assertEquals(from6.remoteAddr.hostname, "::1");
  await server.send(new Uint8Array([40]), from4.remoteAddr);
  await server.send(new Uint8Array([41]), { hostname: "127.0.0.1", port: v4.port }); // a plain IPv4 address too
  await server.send(new Uint8Array([60]), from6.remoteAddr);
  assertEquals(Array.from(await receiveOn(v4.fd)), [40]);
  assertEquals(Array.from(await receiveOn(v4.fd)), [41]);
  assertEquals(Array.from(await receiveOn(v6.fd)), [60]);
  sys.close(v4.fd);
  sys.close(v6.fd);
  server.close();
});

test("zc_datagram_listener: close() ends a pending read and releases the socket; send() then fails with CLOSED", async () => {
  await warmUp();
  const fds = openFds();
  const server = await zcListen({ transport: "udp", port: 0 });
  assertEquals(openFds(), fds + 1, "one socket while open");
  const reader = server.readable.getReader();
  const pending = reader.read();
  assertEquals(await stateAfter(pending, 50), "pending", "the read waits for a datagram");
  server.close();
  assertEquals((await withTimeout(pending, 5000, "the read after close()")).done, true, "the readable ended");
  assertEquals(openFds(), fds, "the socket was closed");
  await assertCode(server.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 9 }), "CLOSED", "send after close");
  server.close(); // twice is harmless
  const refused = peer("127.0.0.1", server.addr.port);
  sys.send(refused.fd, new Uint8Array(1), 0);
  sys.close(refused.fd);
});

test("zc_datagram_listener: cancelling the readable stops receiving but leaves send() working", async () => {
  const server = await zcListen({ transport: "udp", port: 0 });
  const p = peer("127.0.0.1", server.addr.port);
  const reader = server.readable.getReader();
  const pending = reader.read();
  await reader.cancel();
  assertEquals((await withTimeout(pending, 5000, "the read after cancel")).done, true);
  await server.send(new Uint8Array([5]), { hostname: "127.0.0.1", port: p.port });
  assertEquals(Array.from(await receiveOn(p.fd)), [5]);
  sys.close(p.fd);
  server.close();
});

test("zc_datagram_listener: bad options, chunks and addresses are refused with what to do", async () => {
  await warmUp();
  const fds = openFds();
  const e = await assertCode(zcListen({ transport: "udp", port: 0, backlog: 5 } as never), "INVALID_OPTION", "backlog");
  assert(e.message.includes('"backlog"'), e.message);
  await assertCode(zcListen({ transport: "udp", port: 0, readSize: 0 }), "INVALID_OPTION", "readSize");
  await assertCode(zcListen({ transport: "udp", port: -1 }), "INVALID_OPTION", "port");
  await assertCode(zcListen({ transport: "sctp", port: 0 } as never), "INVALID_OPTION", "transport");
  assertEquals(openFds(), fds, "nothing was opened");
  const server = await zcListen({ transport: "udp", port: 0 });
  const to = { hostname: "127.0.0.1", port: 9 };
  await assertCode(server.send("text" as never, to), "INVALID_CHUNK", "a string");
  await assertCode(server.send(new Uint8Array(65528), to), "EMSGSIZE", "too large a datagram");
  const name = await assertCode(server.send(new Uint8Array(1), { hostname: "localhost", port: 9 }), "INVALID_OPTION", "a name");
  assert(name.message.includes("numeric"), name.message);
  await assertCode(server.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 0 }), "INVALID_OPTION", "port 0");
  await assertCode(server.send(new Uint8Array(1), null as never), "INVALID_OPTION", "no address");
  const family = await assertCode(server.send(new Uint8Array(1), { hostname: "::1", port: 9 }), "INVALID_OPTION", "IPv6 from IPv4");
  assert(family.message.includes('"::"'), family.message);
  server.close();
  assertEquals(openFds(), fds);
});

test("zc_datagram_listener: sends that find the socket's buffer full wait for room, in order, and all arrive", () => {
  const r = runChild(runtimeCommand(import.meta.url, "datagram_send_wait_child"), {
    wrapper: privateNetns(["ip link set lo up", "tc qdisc add dev lo root tbf rate 8mbit burst 4kb limit 4mb"]),
    env: { ZCIO_PARENT_NETNS: currentNetns() },
    timeoutMs: 60_000,
  });
  assertEquals(r.status, 0, describe(r));
  const report = r.report as { pendingAfterATick: number; received: number; inOrder: boolean };
  console.log(`datagram sends waiting for room: ${JSON.stringify(report)}`);
  assert(report.pendingAfterATick > 0, `some sends had to wait (EAGAIN): ${r.stdout}`);
  assertEquals(report.received, 400, "every datagram arrived");
  assert(report.inOrder, "in the order they were sent");
});

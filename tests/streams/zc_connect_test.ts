/** zcConnect over real loopback sockets: option checking, refused connections, IPv6. */
import { SOCK_NONBLOCK, SOCK_STREAM } from "../../ffi/constants.ts";
import { zcConnect, ZcioError, zcListen } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { acceptPending, boundSocket, hashOf, openFds, randomBytes, readAll, sys, warmUp } from "../helpers.ts";

/** A raw listening socket on 127.0.0.1: lets a test see whether any connection was attempted. */
const rawListener = () => {
  const l = boundSocket(SOCK_STREAM | SOCK_NONBLOCK);
  assertEquals(sys.listen(l.fd, 16), 0);
  return {
    port: l.port,
    /** How many connections are waiting to be accepted (each is accepted and closed). */
    attempts: (): number => acceptPending(l.fd),
    close: () => sys.close(l.fd),
  };
};

test("zc_connect: invalid options reject with INVALID_OPTION before any socket is opened", async () => {
  await warmUp();
  const listener = rawListener();
  const fds = openFds();
  const port = listener.port;
  const hostname = "127.0.0.1";
  const cases: [string, unknown][] = [
    ["port 0", { hostname, port: 0 }],
    ["port -1", { hostname, port: -1 }],
    ["port 65536", { hostname, port: 65536 }],
    ["port 1.5", { hostname, port: 1.5 }],
    ['port "80"', { hostname, port: "80" }],
    ["no port", { hostname }],
    ["empty hostname", { hostname: "", port }],
    ["numeric hostname", { hostname: 127001, port }],
    ["unknown backend", { hostname, port, backend: "turbo" }],
    ["unknown transport", { hostname, port, transport: "sctp" }],
    ["negative stagingBytes", { hostname, port, stagingBytes: -1 }],
    ["negative stageBelow", { hostname, port, stageBelow: -1 }],
    ["negative readSize", { hostname, port, readSize: -1 }],
    ["fractional readSize", { hostname, port, readSize: 1000.5 }],
    ["stageBelow above stagingBytes", { hostname, port, stagingBytes: 8192, stageBelow: 9000 }],
    ["null options", null],
    ["number options", 9000],
  ];
  for (const [what, options] of cases) {
    const pending = zcConnect(options as never);
    assert(pending instanceof Promise, `${what}: zcConnect returns a promise`);
    const e = await rejection(pending);
    assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
    assertEquals(e.code, "INVALID_OPTION", what);
    assert(e.message.length > 20, `${what}: the message says what to do: ${e.message}`);
  }
  assertEquals(openFds(), fds, "no fd was left open");
  assertEquals(listener.attempts(), 0, "no connection was attempted");
  // The same listener does see a valid connect, so the check above can fail.
  const ok = await zcConnect({ hostname, port });
  assertEquals(listener.attempts(), 1);
  await ok.close();
  listener.close();
});

test("zc_connect: TCP over IPv6 ::1 carries bytes intact both ways", async () => {
  const listener = await zcListen({ hostname: "::1", port: 0 });
  assertEquals(listener.addr.family, "IPv6");
  assertEquals(listener.addr.hostname, "::1");
  const accepted = listener.accept();
  const client = await zcConnect({ hostname: "::1", port: listener.addr.port, backend: "copy" });
  const server = (await accepted)!;
  assertEquals(client.remoteAddr, { hostname: "::1", port: listener.addr.port, family: "IPv6" });
  assertEquals(server.remoteAddr, client.localAddr);
  const small = randomBytes(5000, 61), large = randomBytes(100000, 62);
  const writer = client.writable.getWriter();
  await writer.write(small);
  await writer.write(large);
  await writer.close();
  const got = await readAll(server.readable);
  assertEquals(got.length, 105000);
  assertEquals(hashOf(got.subarray(0, 5000)), hashOf(small));
  assertEquals(hashOf(got.subarray(5000)), hashOf(large));
  const answer = randomBytes(3000, 63);
  const sw = server.writable.getWriter();
  await sw.write(answer);
  await sw.close();
  assertEquals(hashOf(await readAll(client.readable)), hashOf(answer));
  assertEquals(client.stats().bytes.copy, 105000);
  await client.close();
  await server.close();
  listener.close();
});

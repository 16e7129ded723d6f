/** zcListen over real loopback sockets: free ports, accepting, closing, bad options. */
import { SOCK_STREAM } from "../../ffi/constants.ts";
import { zcConnect, ZcioError, zcListen } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { boundSocket, hashOf, openFds, randomBytes, readAll, sys, warmUp, withTimeout } from "../helpers.ts";

test("zc_listen: port 0 picks a free port on 127.0.0.1 by default", async () => {
  const a = await zcListen({ port: 0 });
  const b = await zcListen({ port: 0 });
  assertEquals(a.addr.hostname, "127.0.0.1");
  assertEquals(a.addr.family, "IPv4");
  assert(a.addr.port > 0 && b.addr.port > 0 && a.addr.port !== b.addr.port, "two distinct free ports");
  a.close();
  b.close();
});

test("zc_listen: for await yields each accepted connection, and close() ends the loop", async () => {
  const listener = await zcListen({ port: 0 });
  const results: number[] = [];
  const serving = (async () => {
    const handlers: Promise<void>[] = [];
    for await (const conn of listener) {
      handlers.push((async () => {
        results.push(hashOf(await readAll(conn.readable)));
        await conn.close();
      })());
    }
    await Promise.all(handlers);
  })();
  const payloads = [randomBytes(10, 1), randomBytes(70000, 2), randomBytes(3, 3)];
  for (const payload of payloads) {
    // Copy: the payloads are hashed after writing, which zero-copy routes would take over.
    const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, backend: "copy" });
    const w = client.writable.getWriter();
    await w.write(payload);
    await w.close();
    await client.close();
  }
  while (results.length < payloads.length) await new Promise((r) => setTimeout(r, 5));
  listener.close();
  await withTimeout(serving, 5000, "the accept loop after close()");
  assertEquals(results.sort(), payloads.map(hashOf).sort());
});

test("zc_listen: a pending accept() returns null on close, and accepted connections stay open", async () => {
  const listener = await zcListen({ port: 0 });
  const first = listener.accept();
  const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = (await first)!;
  const waiting = listener.accept();
  listener.close();
  assertEquals(await withTimeout(waiting, 5000, "accept() after close()"), null);
  assertEquals(await listener.accept(), null, "accept() after close() returns null at once");
  // Hashed first: auto may send the chunk zero-copy, which takes its buffer over.
  const data = randomBytes(20000, 4), expected = hashOf(data);
  const w = client.writable.getWriter();
  await w.write(data);
  await w.close();
  assertEquals(hashOf(await readAll(server.readable)), expected, "the accepted connection still works");
  const refused = await rejection(zcConnect({ hostname: "127.0.0.1", port: listener.addr.port }));
  assert(refused instanceof ZcioError && refused.code === "ECONNREFUSED", `the port is closed: ${refused}`);
  await client.close();
  await server.close();
});

test("zc_listen: a port in use is EADDRINUSE and leaves no fd", async () => {
  await warmUp();
  const taken = await zcListen({ port: 0 });
  const fds = openFds();
  const e = await rejection(zcListen({ port: taken.addr.port }));
  assert(e instanceof ZcioError, `a ZcioError, got ${e}`);
  assertEquals(e.code, "EADDRINUSE");
  assertEquals(openFds(), fds);
  taken.close();
  // A bound (not listening) socket holds the port too.
  const bound = boundSocket(SOCK_STREAM);
  const e2 = await rejection(zcListen({ port: bound.port }));
  assert(e2 instanceof ZcioError && e2.code === "EADDRINUSE", `EADDRINUSE: ${e2}`);
  sys.close(bound.fd);
});

test("zc_listen: invalid options reject with INVALID_OPTION and open nothing", async () => {
  await warmUp();
  const fds = openFds();
  const cases: [string, unknown][] = [
    ["port -1", { port: -1 }],
    ["port 65536", { port: 65536 }],
    ["port 1.5", { port: 1.5 }],
    ['port "80"', { port: "80" }],
    ["no port", {}],
    ["empty hostname", { hostname: "", port: 0 }],
    ["backlog 0", { port: 0, backlog: 0 }],
    ["backlog -1", { port: 0, backlog: -1 }],
    ["backlog 1.5", { port: 0, backlog: 1.5 }],
    ["unknown backend", { port: 0, backend: "turbo" }],
    ["negative stagingBytes", { port: 0, stagingBytes: -1 }],
    ["negative stageBelow", { port: 0, stageBelow: -1 }],
    ["negative readSize", { port: 0, readSize: -1 }],
    ["null options", null],
  ];
  for (const [what, options] of cases) {
    const e = await rejection(zcListen(options as never));
    assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
    assertEquals(e.code, "INVALID_OPTION", what);
  }
  assertEquals(openFds(), fds);
});

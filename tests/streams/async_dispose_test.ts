/** `await using` over ZcConnection and ZcListener: leaving the block closes them. */
import { asyncDispose } from "../../streams/async_dispose.ts";
import { zcConnect, zcListen } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, hashOf, openFds, randomBytes, readAll, stateAfter, warmUp } from "../helpers.ts";

test("async_dispose: the key is Symbol.asyncDispose wherever the runtime has it", () => {
  const native = (Symbol as { asyncDispose?: symbol }).asyncDispose;
  assertEquals(asyncDispose === (native ?? Symbol.for("Symbol.asyncDispose")), true);
  assert(typeof native === "symbol", "Bun, Deno and Node 20.20 all have Symbol.asyncDispose");
});

test("async_dispose: [Symbol.asyncDispose]() of a connection closes it as close() does, sending everything first", async () => {
  await warmUp();
  const fds = openFds();
  const pair = await connectedPair();
  const bytes = randomBytes(3 << 20, 7);
  const writer = pair.client.writable.getWriter();
  const written = writer.write(bytes); // not awaited: disposing still sends it
  await pair.client[Symbol.asyncDispose]();
  await written;
  assertEquals(await stateAfter(pair.client.closed, 10), "fulfilled", "released");
  const got = await readAll(pair.server.readable);
  assertEquals([got.length, hashOf(got)], [bytes.length, hashOf(bytes)]);
  await pair.server.close();
  pair.listener[Symbol.asyncDispose]();
  assertEquals(await pair.listener.accept(), null, "the listener is closed");
  assertEquals(openFds(), fds);
});

test("async_dispose: await using closes the connection and the listener when the block ends", async () => {
  await warmUp();
  const fds = openFds();
  let serverSide: Promise<Uint8Array> | undefined;
  let listenerRef: { accept(): Promise<unknown> } | undefined;
  let clientClosed: Promise<void> | undefined;
  {
    await using listener = await zcListen({ port: 0 });
    listenerRef = listener;
    const accepted = listener.accept();
    await using client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
    clientClosed = client.closed;
    const server = (await accepted)!;
    serverSide = readAll(server.readable).finally(() => server.close());
    await client.writable.getWriter().write(new Uint8Array([4, 5, 6]));
    assertEquals(await stateAfter(clientClosed, 20), "pending", "open inside the block");
  }
  assertEquals(await stateAfter(clientClosed!, 10), "fulfilled", "closed once the block ended");
  assertEquals(Array.from(await serverSide!), [4, 5, 6], "the peer read everything, then the end");
  assertEquals(await listenerRef!.accept(), null, "the listener is closed");
  assertEquals(openFds(), fds);
});

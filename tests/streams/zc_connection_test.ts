/** ZcConnection's lifecycle over loopback TCP: half-close, close, abort, addresses, lease. */
import { BACKEND_NAMES, ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import {
  connectedPair,
  hashOf,
  openFds,
  processWaiter,
  randomBytes,
  readAll,
  readBytes,
  stateAfter,
  waitFor,
  warmUp,
  withTimeout,
  writeUntilBlocked,
} from "../helpers.ts";

const MiB = 1 << 20;

test("zc_connection: addresses are the two ends of one loopback connection", async () => {
  const pair = await connectedPair();
  assertEquals(pair.client.remoteAddr, pair.server.localAddr);
  assertEquals(pair.server.remoteAddr, pair.client.localAddr);
  assertEquals(pair.client.remoteAddr, { hostname: "127.0.0.1", port: pair.listener.addr.port, family: "IPv4" });
  assert(pair.client.localAddr.port > 0 && pair.client.localAddr.port !== pair.listener.addr.port, "an ephemeral port");
  await pair.close();
});

test("zc_connection: writer.close() half-closes; the peer reads to the end and can still answer", async () => {
  // Copy: the test hashes its chunks after writing them, which zero-copy routes would take over.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const data = randomBytes(3 * MiB + 17, 5);
  const writer = pair.client.writable.getWriter();
  await writer.write(data.subarray(0, 1000));
  await writer.write(data.subarray(1000));
  await writer.close();
  const got = await readAll(pair.server.readable);
  assertEquals(got.length, data.length, "the server read everything, then end of stream");
  assertEquals(hashOf(got), hashOf(data));
  // The client's read side is still open: the server answers and closes.
  const answer = randomBytes(70000, 6);
  const sw = pair.server.writable.getWriter();
  await sw.write(answer);
  await sw.close();
  const back = await readAll(pair.client.readable);
  assertEquals(hashOf(back), hashOf(answer));
  assertEquals(back.length, answer.length);
  assertEquals(pair.server.stats().bytesReceived, data.length);
  assertEquals(pair.client.stats().bytesReceived, answer.length);
  await pair.close();
});

test("zc_connection: close() sends everything accepted first; the stream is closed, so later writes reject with TypeError", async () => {
  await warmUp();
  const fds = openFds();
  const pair = await connectedPair();
  const data = randomBytes(8 * MiB, 7);
  const writer = pair.client.writable.getWriter();
  const reading = readAll(pair.server.readable);
  // Small writes resolve at once; close() must still deliver all of them before it releases the socket.
  for (let at = 0; at < data.length; at += 4096) await writer.write(data.subarray(at, at + 4096));
  await pair.client.close();
  const got = await reading;
  assertEquals(got.length, data.length);
  assertEquals(hashOf(got), hashOf(data));
  const e = await rejection(writer.write(new Uint8Array(5)));
  assert(e instanceof TypeError, `a write after close() meets a closed stream: ${e}`);
  await pair.client.close(); // idempotent
  await pair.close();
  assertEquals(openFds(), fds);
});

test("zc_connection: abort() of an idle connection settles, and later writes fail with CLOSED", async () => {
  await warmUp();
  const fds = openFds();
  const pair = await connectedPair();
  const writer = pair.client.writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3]));
  await withTimeout(pair.client.abort(), 5000, "abort() of an idle connection");
  const e = await rejection(writer.write(new Uint8Array(5)));
  assert(e instanceof ZcioError && e.code === "CLOSED", `CLOSED after abort(): ${e}`);
  await withTimeout(pair.server.abort(new Error("test over")), 5000, "abort() of the other idle end");
  pair.listener.close();
  assertEquals(openFds(), fds);
});

test("zc_connection: abort() while a write waits on a full socket settles at once and fails that write", async () => {
  await warmUp();
  const fds = openFds();
  // Copy: zero-copy buffers the peer never acknowledges would keep the socket open until released.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const { current, producing } = await writeUntilBlocked(pair);
  assertEquals(await stateAfter(current, 100), "pending", "the write waits: nobody reads");
  // The peer never reads, so the socket never drains: abort must not wait for it.
  await withTimeout(pair.client.abort(), 5000, "abort() while blocked on POLLOUT");
  const e = await producing;
  assert(e instanceof ZcioError && e.code === "ABORTED", `the pending write fails with ABORTED: ${e}`);
  await pair.server.close();
  pair.listener.close();
  assertEquals(openFds(), fds);
});

test("zc_connection: writer.abort() while a write waits on a full socket fails it and leaves nothing armed", async () => {
  const waiter = await processWaiter();
  const armedBefore = waiter.armedCount;
  // Copy: with zero-copy the ring's eventfd or the error queue is watched too while buffers are out.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const { writer, producing } = await writeUntilBlocked(pair);
  assertEquals(waiter.armedCount, armedBefore + 1, "the send fiber waits for POLLOUT");
  await withTimeout(writer.abort(new Error("stop")), 5000, "writer.abort() while blocked on POLLOUT");
  const e = await producing;
  assert(e instanceof ZcioError && e.code === "ABORTED", `the pending write fails with ABORTED: ${e}`);
  assert(e.message.includes("stop"), `the reason is in the message: ${e.message}`);
  await waitFor(() => waiter.armedCount === armedBefore, "the POLLOUT interest to be dropped", 5000);
  // The connection itself is still open until closed; closing it is quick too.
  await withTimeout(pair.close(), 5000, "closing the pair");
});

test("zc_connection: lease() gives a writable buffer of the size asked, and refuses bad sizes", async () => {
  const pair = await connectedPair();
  const lease = await pair.client.lease(100000);
  assert(lease instanceof Uint8Array && lease.length === 100000, "a Uint8Array of 100000 bytes");
  lease.set(randomBytes(100000, 8));
  const writer = pair.client.writable.getWriter();
  await writer.write(lease);
  await writer.close();
  const got = await readBytes(pair.server.readable.getReader(), 100000);
  assertEquals(hashOf(got), hashOf(randomBytes(100000, 8)));
  for (const size of [0, -1, 1.5, NaN, 2 ** 31]) {
    const error = await rejection(pair.client.lease(size));
    assert(error instanceof ZcioError && error.code === "INVALID_OPTION", `lease(${size}) is INVALID_OPTION`);
  }
  await pair.close();
});

test("zc_connection: close() sends every write the stream accepted, awaited or not, before it releases", async () => {
  for (const backend of ["auto", ...BACKEND_NAMES] as const) {
    const pair = await connectedPair("127.0.0.1", { backend });
    const received = readAll(pair.server.readable);
    const writer = pair.client.writable.getWriter();
    const sizes = [1 << 20, 2 << 20, 4 << 20];
    const writes = sizes.map((size, i) => writer.write(new Uint8Array(size).fill(i + 1)));
    await pair.client.close();
    for (const w of writes) await w; // every write resolved
    const got = await received;
    assertEquals(got.length, 7 << 20, `${backend}: the peer got all 7 MiB`);
    assertEquals([got[0], got[(1 << 20) + 5], got[got.length - 1]], [1, 2, 3], `${backend}: in order`);
    await pair.close();
  }
});

test("zc_connection: close() with an unlocked writable, or after writer.close(), waits for the stream's queue too", async () => {
  const pair = await connectedPair();
  const received = readAll(pair.server.readable);
  const writer = pair.client.writable.getWriter();
  const writes = [writer.write(new Uint8Array(3 << 20).fill(1)), writer.write(new Uint8Array(1 << 20).fill(2))];
  const closing = writer.close();
  await pair.client.close();
  await Promise.all([...writes, closing]);
  assertEquals((await received).length, 4 << 20);
  await pair.close();
});

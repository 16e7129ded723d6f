/**
 * `ZcConnection.closed`: pending until close() or abort() releases the connection, then resolved
 * for a clean end and rejected with the ZcioError that ended sending otherwise, never reported as
 * an unhandled rejection when nobody awaits it.
 */
import process from "node:process";
import { ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { connectedPair, openFds, type Pair, readAll, sleep, stateAfter, warmUp, withTimeout, writeUntilBlocked } from "../helpers.ts";

/** Fills the client's socket (the server never reads), then resets it from the server's end. */
const resetUnderWriter = async (pair: Pair): Promise<ZcioError> => {
  const { producing } = await writeUntilBlocked(pair);
  // Closing a socket with unread data makes the kernel answer with a reset.
  await withTimeout(pair.server.abort(), 5000, "the server's abort()");
  const e = await producing;
  assert(e instanceof ZcioError && (e.code === "ECONNRESET" || e.code === "EPIPE"), `the writer saw the reset: ${e}`);
  return e;
};

test("zc_connection closed: pending while open, resolved once close() has released the connection", async () => {
  await warmUp();
  const fds = openFds();
  const pair = await connectedPair();
  assertEquals(await stateAfter(pair.client.closed, 50), "pending", "open: not settled");
  const writer = pair.client.writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.close();
  assertEquals(await stateAfter(pair.client.closed, 50), "pending", "writer.close() only half-closes");
  const closing = pair.client.close();
  assertEquals(await withTimeout(pair.client.closed, 5000, "closed after close()"), undefined);
  await closing;
  assertEquals(Array.from(await readAll(pair.server.readable)), [1, 2, 3], "everything written arrived first");
  assertEquals(await stateAfter(pair.server.closed, 50), "pending", "the other end is still open");
  await pair.server.close();
  await pair.server.closed;
  pair.listener.close();
  assertEquals(openFds(), fds, "released: every fd is closed");
});

test("zc_connection closed: abort() is a clean end too, and a later close() changes nothing", async () => {
  await warmUp();
  const pair = await connectedPair();
  await pair.client.abort(new Error("done with it"));
  assertEquals(await withTimeout(pair.client.closed, 5000, "closed after abort()"), undefined);
  await pair.client.close();
  assertEquals(await stateAfter(pair.client.closed, 10), "fulfilled");
  await pair.close();
});

test("zc_connection closed: a reset peer rejects it with the same ZcioError close() rejects with", async () => {
  await warmUp();
  const fds = openFds();
  // Copy: zero-copy buffers the peer never acknowledges would keep the socket open until released.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const reset = await resetUnderWriter(pair);
  assertEquals(await stateAfter(pair.client.closed, 50), "pending", "sending failed, but nothing is released yet");
  const closing = await rejection(pair.client.close());
  const closed = await rejection(withTimeout(pair.client.closed, 5000, "closed after a failed close()"));
  assert(closed instanceof ZcioError, `a ZcioError: ${closed}`);
  assert(closed === closing && closed === reset, `the error that ended sending: ${closed}`);
  pair.listener.close();
  assertEquals(openFds(), fds, "released even so");
});

test("zc_connection closed: its rejection, unobserved, is not an unhandled rejection", async () => {
  await warmUp();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const pair = await connectedPair("127.0.0.1", { backend: "copy" });
    await resetUnderWriter(pair);
    await rejection(pair.client.close()); // `closed` is never touched
    await sleep(200);
    pair.listener.close();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assertEquals(unhandled.length, 0, `no unhandled rejection: ${unhandled.map(String).join("; ")}`);
});

/**
 * A peer that resets the connection mid-stream: the pending write and every later one reject with
 * ECONNRESET or EPIPE, and once everything is closed the process has exactly the fds it had before.
 */
import { SOL_SOCKET } from "../../ffi/constants.ts";
import type { ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { connectedPair, internals, openFds, stalled, stateAfter, sys, warmUp, withTimeout } from "../helpers.ts";
import { assertReset } from "../reliability.ts";

const SO_LINGER = 13;
const MiB = 1 << 20;

const assertCopyReset = (e: unknown, what: string): ZcioError => {
  const error = assertReset(e, what);
  assertEquals(error.backend, "copy", `${what}: backend`);
  return error;
};

test("peer reset: the server aborts with unread data while the client is blocked writing", async () => {
  await warmUp();
  const fdsBefore = openFds();
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  assertEquals(openFds(), fdsBefore + 3, "listener, client and server sockets");
  const writer = pair.client.writable.getWriter();
  let resolved = 0, current: Promise<void> = Promise.resolve();
  let failure: unknown;
  const producing = (async () => {
    try {
      for (;;) {
        current = writer.write(new Uint8Array(MiB).fill(resolved & 0xff));
        await current;
        resolved++;
      }
    } catch (e) {
      failure = e;
    }
  })();
  // Nobody reads, so the socket fills and a write stays pending.
  const outbox = internals(pair.client).outbox;
  await stalled(() => resolved, () => outbox.queue.queuedBytes > 0);
  const pendingWrite = current;
  assertEquals(await stateAfter(pendingWrite, 100), "pending", "a write waits for room");

  // Closing a socket with unread data makes the kernel answer with a reset (RST).
  await withTimeout(pair.server.abort(), 5000, "the server's abort()");
  const e = assertCopyReset(await rejection(pendingWrite), "the pending write");
  await producing;
  assert(failure === e, "the producer saw that same error");
  assertCopyReset(await rejection(writer.write(new Uint8Array(100))), "a later staged write");
  assertCopyReset(await rejection(writer.write(new Uint8Array(MiB))), "a later borrowed write");
  assertEquals(internals(pair.client).outbox.queue.queuedBytes, 0, "nothing is left queued");

  const closing = await rejection(pair.client.close());
  assertCopyReset(closing, "close() reports how sending ended");
  pair.listener.close();
  assertEquals(openFds(), fdsBefore, "every fd zcio opened is closed");
});

test("peer reset: SO_LINGER 0 on the reading server resets the connection under a streaming client", async () => {
  await warmUp();
  const fdsBefore = openFds();
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const serverFd = internals(pair.server).fd;
  // struct linger { int l_onoff = 1; int l_linger = 0; }: close() sends RST instead of FIN.
  assertEquals(sys.setsockopt(serverFd, SOL_SOCKET, SO_LINGER, new Uint8Array(new Int32Array([1, 0]).buffer)), 0);
  let received = 0;
  const reader = pair.server.readable.getReader();
  const writer = pair.client.writable.getWriter();
  let writes = 0, failure: unknown;
  const producing = (async () => {
    try {
      for (;;) {
        await writer.write(new Uint8Array(256 * 1024));
        writes++;
      }
    } catch (e) {
      failure = e;
    }
  })();
  while (received < 16 * MiB) {
    const { value, done } = await reader.read();
    assert(!done, "the stream does not end before the reset");
    received += value.length;
  }
  reader.releaseLock();
  await withTimeout(pair.server.close(), 5000, "the server's close()");
  await withTimeout(producing, 5000, "the failing write");
  const e = assertCopyReset(failure, "the write in progress at the reset");
  // Bytes of the write in progress may already have been read: at most one chunk beyond the completed writes.
  assert((writes + 1) * 256 * 1024 >= received, `everything read was written first: ${writes} writes, ${received} bytes read`);
  const later = assertCopyReset(await rejection(writer.write(new Uint8Array(10))), "a later write");
  assertEquals(later.code, e.code, "later writes fail with the error that ended sending");
  await rejection(pair.client.close());
  pair.listener.close();
  assertEquals(openFds(), fdsBefore, "every fd zcio opened is closed");
});

/**
 * A connection whose io_uring requests never complete (its peer stopped reading) is released
 * after the give-up time without its memory: a request still in the ring reads the staging memory
 * whenever the socket drains, so that memory stays mapped for the life of the process. Were it
 * unmapped, the next connection's staging would be mapped at the same address and the old request
 * would send the new connection's bytes to the old peer.
 */
import type { IoUringSender } from "../../backends/io_uring.ts";
import { zcConnect } from "../../mod.ts";
import { SO_RCVBUF, SOCK_STREAM, SOL_SOCKET } from "../../ffi/constants.ts";
import { releaseLimits } from "../../scheduler/release_when_notified.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, drainFd, int32, internals, sleep, stateAfter, sys, waitFor, withTimeout } from "../helpers.ts";

const KiB = 1024;
const SENT = 0x5a, CANARY = 0xee;
const STAGING = 64 * KiB;

test("release (io_uring): after the give-up, memory a request in the ring still reads stays mapped; the peer never gets another connection's bytes", async () => {
  const giveUpMs = releaseLimits.giveUpMs;
  releaseLimits.giveUpMs = 300;
  const listener = boundSocket(SOCK_STREAM);
  sys.setsockopt(listener.fd, SOL_SOCKET, SO_RCVBUF, int32(4 * KiB));
  assertEquals(sys.listen(listener.fd, 8), 0, "listen");
  const others: Awaited<ReturnType<typeof zcConnect>>[] = [];
  try {
    const stuck = await zcConnect({ hostname: "127.0.0.1", port: listener.port, backend: "io_uring", stagingBytes: STAGING });
    const peer = sys.accept4(listener.fd, 0x800 /* SOCK_NONBLOCK */);
    assert(peer >= 0, `accept4: ${peer}`);
    // Staged writes until one stays pending: the socket is full and a SEND of staging is in the ring.
    const writer = stuck.writable.getWriter();
    const backend = internals(stuck).outbox.backend as IoUringSender;
    // Chunks small enough to be staged (an eighth of the staging memory), 16 at a time.
    const chunk = new Uint8Array(4 * KiB).fill(SENT);
    let written = 0;
    for (;;) {
      let pending = writer.write(chunk);
      for (let i = 1; i < 16; i++) {
        pending.catch(() => {}); // aborted below, once the ring holds a request
        pending = writer.write(chunk);
      }
      written += 16 * chunk.length;
      if (await stateAfter(pending, 5) === "pending" && backend.busy) {
        pending.catch(() => {});
        break;
      }
      await withTimeout(pending, 5_000, `write ${written / chunk.length}`);
      assert(written < 64 << 20, "the socket filled");
    }
    await stuck.abort();
    await sleep(releaseLimits.giveUpMs + 200);
    // New connections' staging, filled with the canary, where the stuck one's would have been.
    for (let i = 0; i < 4; i++) {
      const other = await zcConnect({ hostname: "127.0.0.1", port: listener.port, backend: "io_uring", stagingBytes: STAGING });
      others.push(other);
      const w = other.writable.getWriter();
      for (let n = 0; n < STAGING; n += 4 * KiB) await w.write(new Uint8Array(4 * KiB).fill(CANARY));
      w.releaseLock();
    }
    // The stuck peer reads everything; its ring request sends once the socket drains.
    let received = 0, foreign = 0, quietSince = Date.now();
    await waitFor(
      () => {
        for (const bytes of drainFd(peer)) {
          received += bytes.length;
          foreign += bytes.filter((b) => b !== SENT).length;
          quietSince = Date.now();
        }
        return Date.now() - quietSince > 500;
      },
      "the stuck connection's bytes",
      20_000,
    );
    // abort() dropped what was still queued; what had reached the socket or the ring arrives.
    assert(received > 0 && received <= written, `bytes arrived: ${received} of ${written} written`);
    assertEquals(foreign, 0, "bytes that were not the stuck connection's");
    sys.close(peer);
  } finally {
    releaseLimits.giveUpMs = giveUpMs;
    await Promise.all(others.map((o) => o.abort()));
    sys.close(listener.fd);
  }
});

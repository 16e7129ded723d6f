/**
 * Not a test file: a program faults_test.ts runs in a child process. It sends owned 1 MiB chunks
 * (fresh whole buffers, which a zero-copy backend takes over and pins) to a peer in this process
 * that never reads, so the kernel holds zero-copy sends it has not released, and then ends the
 * process at once (process.exit / Deno.exit) without closing anything. It prints one JSON line
 * first: what was in flight at the moment of exit.
 *
 * Arguments: backend, mode:
 * - "inflight": exit once sends are pinned awaiting notifications
 * - "immediate": exit in the same tick as the writes, before the send fiber ever ran
 * - "closing": exit right after starting client.close() (which waits for the notifications)
 * - "reading": the peer reads slowly, so notifications are arriving as the process exits from a
 *   write's completion
 */
import { zcConnect, zcListen } from "../../mod.ts";
import { internals, sleep } from "../helpers.ts";
import { childArgs, exitNow } from "../reliability.ts";

const [backend, mode] = childArgs();
const MiB = 1 << 20;
const listener = await zcListen({ port: 0 });
const accepted = listener.accept();
const client = await zcConnect({
  hostname: "127.0.0.1",
  port: listener.addr.port,
  backend: backend as "msg_zerocopy",
  reprobeBytes: 2 * MiB,
  transferBuffers: true,
});
const server = (await accepted)!;
const outbox = internals(client).outbox;
const writer = client.writable.getWriter();

const report = (): void => {
  const s = client.stats();
  console.log(JSON.stringify({
    mode,
    inflight: outbox.backend.inflight,
    inflightBytes: outbox.backend.inflightBytes,
    queuedBytes: outbox.queue.queuedBytes,
    zerocopyBytes: s.bytes.msg_zerocopy + s.bytes.io_uring,
    notifications: s.notifications,
  }));
};

const chunk = (i: number): Uint8Array => new Uint8Array(MiB).fill(i & 0xff);

if (mode === "immediate") {
  for (let i = 0; i < 8; i++) writer.write(chunk(i)).catch(() => {});
  report();
  exitNow(0);
}

if (mode === "reading") {
  // A slow reader: notifications keep coming while writes keep completing.
  (async () => {
    const reader = server.readable.getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
      await sleep(1);
    }
  })();
  // Exit from a write's completion once sends are pinned (or after 64 MiB, whatever is pinned).
  for (let i = 0;; i++) {
    await writer.write(chunk(i));
    if ((i >= 24 && outbox.backend.inflight > 0) || i >= 64) {
      report();
      exitNow(0);
    }
  }
}

// Nobody reads: writes go out until the receive window closes; the last zero-copy sends stay pinned.
for (let i = 0; i < 32; i++) writer.write(chunk(i)).catch(() => {});
const deadline = Date.now() + 10_000;
while (outbox.backend.inflight === 0 && Date.now() < deadline) await sleep(5);
await sleep(50);
if (mode === "closing") {
  client.close().catch(() => {});
  server.abort().catch(() => {});
}
report();
exitNow(0);

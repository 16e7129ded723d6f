/**
 * What `auto` does differently from the zero-copy backends it routes to: its `writer.close()`
 * resolves once every byte is in the kernel, without waiting for the zero-copy notifications (which
 * over TCP wait for the peer), and the connection keeps those buffers pinned until they come, also
 * after it is closed. And its probe: a writer that seldom lets the send fiber run still learns the
 * kernel's answer to it.
 */
import { PROBE_POLL_EVERY } from "../../backends/chunk_router.ts";
import { SO_RCVBUF, SO_SNDBUF, SOL_SOCKET } from "../../ffi/constants.ts";
import type { ConnectionStats } from "../../mod.ts";
import { currentNetns, describe, privateNetns, runChild, runtimeCommand } from "../child_process.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, connectedPair, hashOf, int32, internals, randomBytes, readAll, sys, waitFor, withTimeout } from "../helpers.ts";

const KiB = 1024;

test("auto: writer.close() resolves before the zero-copy notifications of a peer that has not read yet; the buffers stay pinned until they come", async () => {
  // Zero-copy for every large chunk; the first 256 KiB to a new peer go that way as a probe.
  const policy = { version: 1, tcp: [{ from: 0, use: "msg_zerocopy" }] };
  const pair = await connectedPair("127.0.0.1", { policy, transferBuffers: true });
  const client = internals(pair.client), server = internals(pair.server);
  // The server's window stays small and the client's send buffer takes everything: most of what is
  // written waits in the client's queue, untransmitted, so its notifications wait for reading.
  assertEquals(sys.setsockopt(server.fd, SOL_SOCKET, SO_RCVBUF, int32(4 * KiB)), 0);
  assertEquals(sys.setsockopt(client.fd, SOL_SOCKET, SO_SNDBUF, int32(4 * 1024 * KiB)), 0);
  const chunks = Array.from({ length: 4 }, (_, i) => randomBytes(64 * KiB, 20 + i));
  const expected = hashOf(concat(chunks)); // before writing: zero-copy takes the buffers over
  const writer = pair.client.writable.getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  await withTimeout(writer.close(), 10_000, "writer.close() while the peer does not read");
  const stats = pair.client.stats();
  assertEquals(stats.bytes.msg_zerocopy, 256 * KiB, "every chunk went with MSG_ZEROCOPY");
  const pinned = client.outbox.backend.inflight;
  assert(pinned > 0, `sends were still awaiting their notifications at close: ${pinned}`);
  assertEquals(hashOf(await readAll(pair.server.readable)), expected, "the peer reads every byte");
  // Closing the connection hands the pinned buffers to its release, which reads the notifications.
  await pair.close();
  await waitFor(() => client.outbox.backend.inflight === 0, "every notification, once the peer has read");
});

test("auto: a writer that keeps writing still gets the probe's answer: all but a few chunks go zero-copy on a fresh path, all of them on the next connection", () => {
  const r = runChild(runtimeCommand(import.meta.url, "auto_backend_blackhole_child"), {
    wrapper: privateNetns(["ip link set lo up", "tc qdisc add dev lo root pfifo limit 0"]),
    env: { ZCIO_PARENT_NETNS: currentNetns() },
  });
  assert(r.status === 0 && r.report !== undefined, `the blackhole child ran to the end: ${describe(r)}`);
  const { first, second } = r.report as { first: ConnectionStats; second: ConnectionStats };
  const CHUNK = 60 * KiB, CHUNKS = 400;
  for (const s of [first, second]) {
    assertEquals(s.routed.copy + s.routed.msg_zerocopy, CHUNKS, "every chunk routed");
    assertEquals(s.bytes.copy + s.bytes.msg_zerocopy, CHUNKS * CHUNK, "every byte sent");
    assertEquals(s.copiedBytes, 0, "no notification said COPIED");
  }
  // The probe window (256 KiB: 4 chunks) goes zero-copy, and the chunks behind it go by copy until
  // the answer is read: at the latest by the PROBE_POLL_EVERY-th of them, which reads the
  // notifications itself (the blackhole drops each datagram inside its send, so the answer is there
  // by then). Earlier if the writer happened to wait for the send fiber on a copied chunk and the
  // notification's waiter ran meanwhile (seen under Deno: 2). Without those reads, all but the
  // probe went by copy.
  assert(
    first.routed.copy >= 1 && first.routed.copy <= PROBE_POLL_EVERY - 1,
    `a probe held chunks back until its answer was read, at the latest by the ${PROBE_POLL_EVERY}th: ${JSON.stringify(first.routed)}`,
  );
  assertEquals(second.routed.copy, 0, "the peer's answer carried over: no probe");
  assertEquals(second.bytes.msg_zerocopy, CHUNKS * CHUNK);
});

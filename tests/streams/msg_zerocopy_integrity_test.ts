/**
 * End-to-end integrity with backend "msg_zerocopy" over loopback TCP, where the kernel copies every
 * zero-copy send after all and says so (SO_EE_CODE_ZEROCOPY_COPIED, docs/kernel.md, 'Loopback always copies'): seeded
 * pseudo-random chunks from 1 B to 4 MiB (owned whole buffers, borrowed views, staged small ones),
 * hashed by a zcListen-accepted receiver in the same process. The stats must show the COPIED
 * reports, the downgrade to copy, and the re-probes after `reprobeBytes`, each wait twice the last.
 */
import { COPIED_REASON } from "../../backends/msg_zerocopy.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, internals, mostDowngrades, RunningHash, XorShift } from "../helpers.ts";

const MiB = 1 << 20;
const STAGE_BELOW = 16 * 1024; // the default
const MAX_CHUNK = 4 * MiB;
const REPROBE = 4 * MiB;

const variants = [
  { host: "127.0.0.1", total: 256 * MiB, seed: 0x2c01, maxOwnedBytes: 16 * MiB },
  // IPv6 notifications come as SOL_IPV6/IPV6_RECVERR; a small owned limit makes large writes wait.
  { host: "::1", total: 64 * MiB, seed: 0x2c02, maxOwnedBytes: 2 * MiB },
];

for (const { host, total, seed, maxOwnedBytes } of variants) {
  test(`msg_zerocopy integrity (${host}): ${total / MiB} MiB of seeded chunks from 1 B to 4 MiB arrive intact; COPIED reports downgrade to copy and re-probing resumes zero-copy`, async () => {
    const pair = await connectedPair(host, { backend: "msg_zerocopy", reprobeBytes: REPROBE, maxOwnedBytes, transferBuffers: true });
    const received = new RunningHash();
    const reading = (async () => {
      for await (const bytes of pair.server.readable) received.update(bytes);
    })();
    const outbox = internals(pair.client).outbox;

    const writer = pair.client.writable.getWriter();
    const sizes = new XorShift(seed);
    const content = new XorShift(seed * 31);
    const sent = new RunningHash();
    // Views start 4 KiB in, so they never span the whole scratch buffer (which would make them owned).
    const scratch = new Uint8Array(4096 + MAX_CHUNK);
    let chunks = 0, ownedBytes = 0, ownedChunks = 0, borrowedChunks = 0, stagedChunks = 0;
    let detached = 0, maxOwnedSeen = 0;
    let atFirstDowngrade: ReturnType<typeof pair.client.stats> | undefined;
    while (sent.length < total) {
      const kind = sizes.below(10);
      let chunk: Uint8Array;
      if (kind < 3) {
        // Staged: small, copied at write() (a view of the scratch buffer, refilled at once).
        chunk = scratch.subarray(4096, 4096 + sizes.logUniform(1, STAGE_BELOW - 1));
        stagedChunks++;
      } else if (kind < 5) {
        // Borrowed: a view of part of a bigger buffer, refilled as soon as its write resolves.
        chunk = scratch.subarray(4096, 4096 + sizes.logUniform(STAGE_BELOW, MAX_CHUNK));
        borrowedChunks++;
      } else {
        // Owned: a whole buffer of its own, taken over (transferred) by write().
        chunk = new Uint8Array(sizes.logUniform(STAGE_BELOW, MAX_CHUNK));
        ownedChunks++;
        ownedBytes += chunk.byteLength;
      }
      content.fill(chunk);
      sent.update(chunk);
      const owned = kind >= 5;
      await writer.write(chunk);
      chunks++;
      if (owned && chunk.byteLength === 0) detached++;
      maxOwnedSeen = Math.max(maxOwnedSeen, outbox.queue.ownedBytes + outbox.backend.inflightBytes);
      if (atFirstDowngrade === undefined && pair.client.stats().downgrades > 0) atFirstDowngrade = pair.client.stats();
    }
    await writer.close();
    await reading;
    const stats = pair.client.stats();

    assertEquals(received.length, sent.length, "total length");
    assertEquals(received.value.toString(16), sent.value.toString(16), "running hash over every byte, in order");
    assertEquals(stats.chunks, chunks, "every chunk counted once");
    assert(
      ownedChunks > 40 && borrowedChunks > 20 && stagedChunks > 20,
      `all three kinds: ${ownedChunks} owned, ${borrowedChunks} borrowed, ${stagedChunks} staged`,
    );
    assertEquals(detached, ownedChunks, "every owned chunk was detached from the caller by its write");
    assertEquals(stats.bytes.copy + stats.bytes.msg_zerocopy, sent.length, "every byte counted under one backend");
    assertEquals(stats.bytes.io_uring, 0);

    // The kernel reported copies: every zero-copy byte came back COPIED, none zero-copied.
    assert(stats.bytes.msg_zerocopy > 0, "some owned chunks went with MSG_ZEROCOPY");
    assert(stats.notifications > 0, "notifications were read");
    assert(stats.copiedBytes > 0, "the kernel reported copies");
    assertEquals(stats.zeroCopiedBytes, 0, "loopback never zero-copies");
    assertEquals(stats.copiedBytes, stats.bytes.msg_zerocopy, "every zero-copy send was notified (all COPIED) before close resolved");
    assertEquals(outbox.backend.inflight, 0, "nothing pinned after close");

    // Downgrade: owned chunks went by copy after the first COPIED report.
    assert(stats.downgrades >= 1, "downgraded");
    assert(stats.downgradeReasons.some((r) => r.includes("SO_EE_CODE_ZEROCOPY_COPIED")), `reason: ${stats.downgradeReasons}`);
    assertEquals(stats.downgradeReasons, [COPIED_REASON], "one reason, recorded once");
    assert(stats.bytes.msg_zerocopy < ownedBytes, `owned bytes went by copy too: ${stats.bytes.msg_zerocopy} of ${ownedBytes} zero-copy`);
    assert(atFirstDowngrade !== undefined, "the downgrade happened while writing");
    assert(stats.bytes.copy > atFirstDowngrade.bytes.copy, "bytes went by copy after the downgrade");

    // Re-probing: zero-copy resumed after `reprobeBytes` of copies, and was downgraded again; each
    // re-probe copied again doubled the wait before the next.
    assert(
      stats.bytes.msg_zerocopy > atFirstDowngrade.bytes.msg_zerocopy,
      `zero-copy sends after the first downgrade: ${atFirstDowngrade.bytes.msg_zerocopy} -> ${stats.bytes.msg_zerocopy}`,
    );
    assert(stats.downgrades >= 2, `downgraded again after re-probing: ${stats.downgrades}`);
    assert(
      stats.downgrades <= mostDowngrades(stats.bytes.copy, REPROBE),
      `re-probes waited for ${REPROBE} bytes of copies, doubled each time: ${stats.downgrades} downgrades, ${stats.bytes.copy} bytes copied`,
    );

    // Owned bytes queued and pinned never exceeded maxOwnedBytes once a write had resolved.
    assert(maxOwnedSeen <= maxOwnedBytes, `owned bytes after a write resolved: ${maxOwnedSeen} <= ${maxOwnedBytes}`);
    assertEquals(pair.server.stats().bytesReceived, sent.length, "the receiver counted every byte");
    await pair.close();
  });
}

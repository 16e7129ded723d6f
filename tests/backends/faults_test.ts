/**
 * Fault injection for every backend in BACKENDS, over loopback TCP with both ends in this process
 * (or, for kernel settings, in a child process in its own network namespace):
 * - the peer resets (RST) or closes mid-stream: the pending and later writes fail with a clean
 *   ZcioError ECONNRESET or EPIPE, close() settles within 5 s, and the process ends with the fds
 *   it started with;
 * - the reader slows down and then stops while the producer could go ~100x faster: the writer's
 *   queue stays within its bound and its RSS within 64 MiB, and once reading resumes every byte
 *   arrives (SHA-256);
 * - everything write() accepted arrives before close() resolves, whichever close ends it;
 * - zero-copy: no pinned buffer is let go before the kernel's notification, even under GC;
 * - zero-copy: ENOBUFS from a tiny net.core.optmem_max (in a private namespace) loses nothing;
 * - zero-copy: a process that exits with sends in flight exits cleanly (code 0, no signal).
 */
import { ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { concat, connectedPair, internals, openFds, sleep, stalled, stateAfter, waitFor, warmUp, withTimeout, XorShift } from "../helpers.ts";
import { assertReset, BACKENDS, Digest, gc, mib, RssSampler, runChild, sysctl } from "../reliability.ts";

const KiB = 1024, MiB = 1 << 20;
/** The backends that pin buffers until the kernel's notification. */
const ZERO_COPY = BACKENDS.filter((b) => b !== "copy");

/** Settles `promise` within `ms`: "resolved", or the ZcioError it rejected with (anything else fails). */
const settlesCleanly = async (promise: Promise<unknown>, ms: number, what: string): Promise<string> => {
  try {
    await withTimeout(promise, ms, what);
    return "resolved";
  } catch (e) {
    assert(e instanceof ZcioError, `${what}: rejects with a ZcioError, got ${e}`);
    return e.code;
  }
};

/**
 * The `i`-th chunk of a mixed stream: every third a fresh whole buffer (taken over by a zero-copy
 * backend), every third a window of a larger buffer (borrowed), every third small (staged).
 */
const mixedChunk = (i: number, rng: XorShift): Uint8Array => {
  const kind = i % 3;
  const size = kind === 2 ? 1 + rng.below(16 * KiB - 1) : 16 * KiB + rng.below(MiB);
  const chunk = kind === 1 ? new Uint8Array(size + 64).subarray(32, 32 + size) : new Uint8Array(size);
  rng.fill(chunk);
  return chunk;
};

for (const backend of BACKENDS) {
  test(`faults (${backend}): peer reset mid-stream (RST with unread data); pending and later writes fail ECONNRESET/EPIPE, close() settles, no fd leaks`, async () => {
    await warmUp();
    const fdsBefore = openFds();
    const pair = await connectedPair("127.0.0.1", { backend });
    const outbox = internals(pair.client).outbox;
    const writer = pair.client.writable.getWriter();
    const rng = new XorShift(0xfa01);
    let resolved = 0, current: Promise<void> = Promise.resolve(), failure: unknown;
    const producing = (async () => {
      try {
        for (let i = 0;; i++) {
          current = writer.write(mixedChunk(i, rng));
          await current;
          resolved++;
        }
      } catch (e) {
        failure = e;
      }
    })();
    // Nobody reads: the socket fills and a write stays pending.
    await stalled(() => resolved, () => outbox.queue.queuedBytes > 0);
    const pendingWrite = current;
    assertEquals(await stateAfter(pendingWrite, 100), "pending", "a write waits for room");
    const inflightAtReset = outbox.backend.inflight, queuedAtReset = outbox.queue.queuedBytes;

    await withTimeout(pair.server.abort(), 5000, "the server's abort()");
    const e = assertReset(await withTimeout(rejection(pendingWrite), 5000, "the pending write failing"), "the pending write");
    await withTimeout(producing, 5000, "the producer");
    assert(failure === e, "the producer saw that same error");
    assertReset(await rejection(writer.write(new Uint8Array(100))), "a later staged write");
    assertReset(await rejection(writer.write(new Uint8Array(MiB).subarray(1))), "a later borrowed write");
    assertReset(await rejection(writer.write(new Uint8Array(MiB))), "a later whole-buffer write");
    const closed = await settlesCleanly(pair.client.close(), 5000, "the client's close()");
    assert(closed === "resolved" || closed === e.code, `close() resolved or reported the reset: ${closed}`);
    await waitFor(() => outbox.backend.inflight === 0, "the kernel releasing every pinned buffer", 10_000);
    pair.listener.close();
    await waitFor(() => openFds() === fdsBefore, `every fd closed again (${openFds()} open, ${fdsBefore} before)`, 10_000);
    console.log(
      `peer reset (${backend}): ${resolved} writes completed, ${
        (queuedAtReset / KiB).toFixed(0)
      } KiB queued and ${inflightAtReset} sends pinned at the reset; ` +
        `error ${e.code}; close() ${closed}`,
    );
  });

  test(`faults (${backend}): peer close mid-stream (the reader reads 8 MiB, then closes); writes fail ECONNRESET/EPIPE, close() settles, no fd leaks`, async () => {
    await warmUp();
    const fdsBefore = openFds();
    const pair = await connectedPair("127.0.0.1", { backend });
    const outbox = internals(pair.client).outbox;
    const writer = pair.client.writable.getWriter();
    const rng = new XorShift(0xfa02);
    let resolved = 0, failure: unknown;
    const producing = (async () => {
      try {
        for (let i = 0;; i++) {
          await writer.write(mixedChunk(i, rng));
          resolved++;
        }
      } catch (e) {
        failure = e;
      }
    })();
    const reader = pair.server.readable.getReader();
    let received = 0;
    while (received < 8 * MiB) {
      const { value, done } = await reader.read();
      assert(!done, "the stream does not end before the close");
      received += value.length;
    }
    reader.releaseLock();
    const closedServer = await settlesCleanly(pair.server.close(), 5000, "the server's close()");
    await withTimeout(producing, 10_000, "the producer's write failing");
    const e = assertReset(failure, "the write in progress when the peer closed");
    assertReset(await rejection(writer.write(new Uint8Array(10))), "a later write");
    const closed = await settlesCleanly(pair.client.close(), 5000, "the client's close()");
    assert(closed === "resolved" || closed === e.code, `close() resolved or reported the failure: ${closed}`);
    await waitFor(() => outbox.backend.inflight === 0, "the kernel releasing every pinned buffer", 10_000);
    pair.listener.close();
    await waitFor(() => openFds() === fdsBefore, `every fd closed again (${openFds()} open, ${fdsBefore} before)`, 10_000);
    console.log(
      `peer close (${backend}): ${mib(received)} read, ${resolved} writes completed, then ${e.code}; server close() ${closedServer}, client close() ${closed}`,
    );
  });

  test(`faults (${backend}): a reader that slows down and then stops: the writer's queue and RSS stay bounded, then every byte arrives`, async () => {
    await warmUp();
    gc();
    const CHUNK = MiB;
    const pair = await connectedPair("127.0.0.1", { backend });
    const { client, server } = pair;
    const outbox = internals(client).outbox;
    const writer = client.writable.getWriter();
    const sent = new Digest(), received = new Digest();
    let phase = "slow" as "slow" | "stopped" | "drain";
    const reader = server.readable.getReader();
    const reading = (async () => {
      for (;;) {
        if (phase === "stopped") {
          await sleep(5);
          continue;
        }
        if (phase === "slow") await sleep(10); // at most readSize (64 KiB) per 10 ms: ~6.5 MB/s
        const { value, done } = await reader.read();
        if (done) return;
        received.update(value);
      }
    })();
    const sampler = new RssSampler(10);
    let maxHeld = 0;
    const held = setInterval(() => (maxHeld = Math.max(maxHeld, outbox.queue.queuedBytes + outbox.backend.inflightBytes)), 5);
    // The producer: 1 MiB chunks as fast as write() lets it. A copying backend gets one buffer
    // refilled once each write resolves; a zero-copy backend takes every buffer over, so each is fresh.
    const reused = new Uint8Array(CHUNK);
    const rng = new XorShift(0xfa03);
    let producing = true, writes = 0;
    const started = Date.now();
    const producer = (async () => {
      while (producing) {
        const chunk = backend === "copy" ? reused : new Uint8Array(CHUNK);
        rng.fill(chunk);
        sent.update(chunk);
        await writer.write(chunk);
        writes++;
      }
      await writer.close();
    })();
    await sleep(2000);
    const slowWrites = writes, slowRead = received.length;
    phase = "stopped";
    await stalled(() => writes, () => outbox.queue.queuedBytes > 0);
    const writesAtStop = writes;
    await sleep(1000);
    const writesWhileStopped = writes - writesAtStop;
    producing = false;
    phase = "drain";
    await withTimeout(producer, 30_000, "the producer finishing");
    await withTimeout(reading, 30_000, "the reader reaching the end");
    clearInterval(held);
    const peak = sampler.stop();
    const elapsed = (Date.now() - started) / 1000;

    assertEquals(received.length, sent.length, "every byte arrived");
    assertEquals(received.hex(), sent.hex(), "SHA-256 of the stream");
    assertEquals(writesWhileStopped, 0, "no write completes while nobody reads");
    // What zcio may hold: the staging ring and one borrowed chunk, or (taking chunks over) up to
    // maxOwnedBytes (16 MiB) of owned chunks queued or pinned, plus the one that crossed it.
    const heldBound = backend === "copy" ? 256 * KiB + CHUNK : 16 * MiB + CHUNK;
    assert(maxHeld <= heldBound, `zcio held at most ${mib(maxHeld)} (bound ${mib(heldBound)})`);
    // RSS: what zcio may hold, plus 64 MiB for the runtime's allocator and collector.
    const RSS_BOUND = heldBound + 64 * MiB;
    assert(peak - sampler.start < RSS_BOUND, `RSS grew ${mib(peak - sampler.start)} (bound ${mib(RSS_BOUND)})`);
    console.log(
      `slow then stopped reader (${backend}): ${slowWrites} MiB written while the reader took ${mib(slowRead)} in 2 s; ` +
        `then 0 writes completed in 1 s without reading; at most ${mib(maxHeld)} held by zcio (bound ${mib(heldBound)}); ` +
        `RSS ${mib(sampler.start)} -> peak ${mib(peak)} (+${mib(peak - sampler.start)}, bound ${mib(RSS_BOUND)}); ${mib(sent.length)} verified in ${
          elapsed.toFixed(1)
        } s`,
    );
    await pair.close();
  });

  for (const ending of ["conn.close()", "writer.close()"] as const) {
    test(`faults (${backend}): everything write() accepted arrives before ${ending} resolves (pipelined writes, close begun with the socket full, SHA-256)`, async () => {
      const pair = await connectedPair("127.0.0.1", { backend });
      const { client, server } = pair;
      const outbox = internals(client).outbox;
      const received: Uint8Array[] = [];
      let paused = true;
      const reading = (async () => {
        const reader = server.readable.getReader();
        for (;;) {
          while (paused) await sleep(5);
          const { value, done } = await reader.read();
          if (done) return;
          received.push(value);
        }
      })();
      const writer = client.writable.getWriter();
      const rng = new XorShift(0xfa04 + ending.length);
      // Copies of every chunk as written: zero-copy backends take whole buffers over (detached).
      const chunks: Uint8Array[] = [];
      let settled = 0;
      const outcomes: Promise<string>[] = [];
      for (let i = 0; i < 120; i++) {
        const chunk = mixedChunk(i, rng);
        chunks.push(chunk.slice());
        outcomes.push(writer.write(chunk).then(() => "ok", (e: unknown) => (e instanceof ZcioError ? e.code : String(e))).finally(() => settled++));
      }
      // Nobody reads yet: the socket fills, writes stop completing, and close begins with bytes
      // still queued (and, zero-copy, pinned) in zcio; it cannot finish until the peer reads.
      await stalled(() => settled, () => outbox.queue.queuedBytes > 0);
      const heldAtClose = outbox.queue.queuedBytes + outbox.backend.inflightBytes, settledAtClose = settled;
      const closing = ending === "writer.close()" ? writer.close().then(() => client.close()) : client.close();
      assertEquals(await stateAfter(closing, 200), "pending", `${ending} waits while the peer does not read`);
      paused = false;
      await withTimeout(closing, 30_000, ending);
      await withTimeout(reading, 30_000, "the reader reaching the end");
      const results = await Promise.all(outcomes);
      // Writes still waiting in the stream's queue when conn.close() began are refused (CLOSED);
      // every one before them was accepted and must have arrived, in order.
      const accepted = results.filter((r) => r === "ok").length;
      assert(results.slice(0, accepted).every((r) => r === "ok"), `the accepted writes are the first ones: ${results.join(",")}`);
      assert(results.slice(accepted).every((r) => r === "CLOSED"), `the rest were refused as CLOSED: ${results.join(",")}`);
      if (ending === "writer.close()") assertEquals(accepted, chunks.length, "writer.close() waits for every write");
      assert(accepted >= settledAtClose, `every write that had completed before close was accepted: ${accepted} >= ${settledAtClose}`);
      const want = new Digest(), got = new Digest();
      for (const c of chunks.slice(0, accepted)) want.update(c);
      got.update(concat(received));
      assertEquals(got.length, want.length, "bytes received = bytes of the accepted writes");
      assertEquals(got.hex(), want.hex(), "SHA-256");
      console.log(
        `accepted before ${ending} (${backend}): ${accepted} of ${chunks.length} writes accepted, ${mib(heldAtClose)} held in zcio when close began, ${
          mib(got.length)
        } verified`,
      );
      await pair.close();
    });
  }
}

for (const backend of ZERO_COPY) {
  test(`faults (${backend}): no pinned buffer is let go before the kernel's notification, even under GC pressure`, async () => {
    const pair = await connectedPair("127.0.0.1", { backend, reprobeBytes: MiB, transferBuffers: true });
    const { client, server } = pair;
    const backendState = internals(client).outbox.backend;
    const queue = internals(client).outbox.queue;
    const writer = client.writable.getWriter();
    const stats = () => client.stats();
    // Watch: the number of pinned buffers only ever drops together with a notification.
    let lastInflight = 0, lastNotifications = 0, releasesWithoutNotification = 0, maxInflight = 0;
    const watch = setInterval(() => {
      const inflight = backendState.inflight, notifications = stats().notifications;
      if (inflight < lastInflight && notifications === lastNotifications) releasesWithoutNotification++;
      lastInflight = inflight;
      lastNotifications = notifications;
      maxInflight = Math.max(maxInflight, inflight);
    }, 1);
    // Leased chunks are dropped by the test once written: only zcio keeps them alive after that.
    // They are leased up front (a registered pool may make lease() wait until sends complete).
    let finalized = 0;
    const registry = new FinalizationRegistry<number>(() => finalized++);
    const watched = new WeakSet<ArrayBufferLike>();
    const LEASES = 16, LEASE_SIZE = 64 * KiB;
    const leases: (Uint8Array | undefined)[] = [];
    for (let i = 0; i < LEASES; i++) leases.push(await client.lease(LEASE_SIZE));
    const rng = new XorShift(0xfa05);
    const sent = new Digest();
    let leaseWrites = 0, watchedLeases = 0;
    // Nobody reads: the receive window closes and the last zero-copy sends stay pinned.
    for (let i = 0; i < 48; i++) {
      let chunk: Uint8Array;
      if (i % 3 === 0 && leaseWrites < LEASES) {
        chunk = leases[leaseWrites]!;
        leases[leaseWrites] = undefined;
        // Watched when the lease is memory of its own (a pool's slice lives as long as its pool).
        if (chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.byteLength) {
          registry.register(chunk.buffer, i);
          watched.add(chunk.buffer);
          watchedLeases++;
        }
        leaseWrites++;
      } else chunk = new Uint8Array(MiB);
      rng.fill(chunk);
      sent.update(chunk);
      writer.write(chunk).catch(() => {});
    }
    await waitFor(() => backendState.inflight > 0, "zero-copy sends pinned while nobody reads", 10_000);
    await sleep(300);
    const pinned = backendState.inflight, notificationsBefore = stats().notifications;
    assert(pinned > 0, "sends are pinned");

    // Collect and churn memory hard: a buffer let go early would be reused and sent as 0x5a bytes.
    for (let round = 0; round < 4; round++) {
      gc();
      const garbage: Uint8Array[] = [];
      for (let i = 0; i < 32; i++) garbage.push(new Uint8Array(4 * MiB).fill(0x5a));
      garbage.length = 0;
      gc();
      await sleep(20);
    }
    assertEquals(backendState.inflight, pinned, "still pinned: no notification came");
    assertEquals(stats().notifications, notificationsBefore, "and no notification was read");
    // A watched lease zcio still holds must not have been collected: at least those still queued.
    let held = 0;
    for (let i = 0; i < queue.length; i++) if (watched.has(queue.view(i)?.buffer as ArrayBuffer)) held++;
    assert(finalized <= watchedLeases - held, `${finalized} of ${watchedLeases} leases collected while ${held} were still queued`);

    const received = new Digest();
    const reading = (async () => {
      for await (const bytes of server.readable) received.update(bytes);
    })();
    await withTimeout(writer.close(), 30_000, "writer.close()");
    await withTimeout(reading, 30_000, "the reader reaching the end");
    await waitFor(() => backendState.inflight === 0, "every notification", 10_000);
    clearInterval(watch);
    assertEquals(received.length, sent.length, "every byte arrived");
    assertEquals(received.hex(), sent.hex(), "SHA-256: no pinned buffer was reused before the kernel let go of it");
    assert(stats().notifications > notificationsBefore, "the notifications came once the peer read");
    assertEquals(releasesWithoutNotification, 0, "pinned buffers were released only with a notification");
    console.log(
      `pinning (${backend}): ${pinned} sends pinned (${maxInflight} at most) through 4 forced GC rounds and 512 MiB of churn; ` +
        `${stats().notifications} notifications; ${finalized} of ${watchedLeases} watched leases collected (none while held); ${mib(sent.length)} verified`,
    );
    await pair.close();
  });

  test(`faults (${backend}): ENOBUFS from a tiny net.core.optmem_max (private network namespace): every byte arrives in order`, async () => {
    const hostOptmem = sysctl("net/core/optmem_max");
    for (const optmem of ["0", "2048"]) {
      const r = await runChild(new URL("./faults_optmem_child.ts", import.meta.url), {
        args: [backend, "128", "77"],
        netns: { sysctls: { "net/core/optmem_max": optmem } },
        timeoutMs: 120_000,
      });
      assertEquals(r.status, 0, `the child exited 0 (optmem ${optmem}): ${r.stdout}${r.stderr}`);
      const report = r.report as {
        ok: boolean;
        optmem: string;
        sentBytes: number;
        sentHex: string;
        receivedHex: string;
        stats: { noBufferFallbacks: number; bytes: Record<string, number> };
      };
      assert(report !== undefined && report.ok, `every byte arrived in order: ${r.stdout}`);
      assertEquals(report.optmem, optmem, "the child saw its namespace's optmem_max");
      assertEquals(report.receivedHex, report.sentHex, "SHA-256");
      if (backend === "msg_zerocopy") assert(report.stats.noBufferFallbacks > 0, `ENOBUFS was hit: ${JSON.stringify(report.stats)}`);
      console.log(
        `ENOBUFS (${backend}, optmem_max ${optmem}): ${mib(report.sentBytes)} verified, ${report.stats.noBufferFallbacks} ENOBUFS fallbacks, ` +
          `bytes ${JSON.stringify(report.stats.bytes)}, ${r.ms} ms`,
      );
    }
    assertEquals(sysctl("net/core/optmem_max"), hostOptmem, "the host's optmem_max is untouched");
  });

  test(`faults (${backend}): a process that exits with zero-copy sends in flight exits cleanly, every time`, async () => {
    const modes = ["inflight", "immediate", "closing", "reading"];
    const lines: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const mode of modes) {
        const r = await runChild(new URL("./faults_exit_child.ts", import.meta.url), { args: [backend, mode], timeoutMs: 60_000 });
        const output = `${r.stdout}${r.stderr}`;
        assertEquals(r.signal, null, `${mode}: no signal ended the child: ${output}`);
        assertEquals(r.status, 0, `${mode}: exit code 0: ${output}`);
        assert(!/panic|segmentation|sigsegv|sigabrt|core dumped|illegal instruction|uncaught/i.test(output), `${mode}: no crash output: ${output}`);
        const report = r.report as { inflight: number; inflightBytes: number; notifications: number } | undefined;
        assert(report !== undefined, `${mode}: the child reported: ${output}`);
        if (mode === "inflight" || mode === "closing") assert(report.inflight > 0, `${mode}: sends were in flight at exit: ${r.stdout}`);
        lines.push(`${mode} ${report.inflight} pinned (${mib(report.inflightBytes)}) ${r.ms} ms`);
      }
    }
    console.log(`exit with sends in flight (${backend}): 8 children exited 0: ${lines.join("; ")}`);
  });
}

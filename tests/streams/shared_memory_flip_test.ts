/**
 * A SharedArrayBuffer rewritten by another thread while it is being sent, for every backend in
 * BACKENDS. A Worker (node:worker_threads, shared_memory_flip_worker.ts) keeps rewriting every
 * byte of the views this thread writes, with values below 0x80, for the whole transfer; every byte
 * of the buffer outside the views is a canary (0xff) nobody writes. The views are staged (small),
 * and borrowed windows sent from the shared memory itself (zero-copy pins those pages while the
 * worker writes them); the reader pauses now and then, so sends wait in the kernel meanwhile.
 *
 * Guards that zcio sends exactly the bytes of the written views, whatever their contents become:
 * every write resolves, the peer gets as many bytes as the views held in all, and not one of them
 * is 0x80 or more (a canary, or memory from outside the buffer). hostile_chunks_test.ts writes
 * SharedArrayBuffer views that only this thread touches; this adds a writer on another thread.
 */
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, sleep, waitFor, withTimeout, XorShift } from "../helpers.ts";
import { BACKENDS, mib } from "../reliability.ts";

const KiB = 1024, MiB = 1 << 20;
const MEMORY = 8 * MiB;
const TOTAL = 256 * MiB;
const CANARY = 0xff;

/** Views over `MEMORY` bytes, each after a gap of canary: [start, length] pairs. */
const layOut = (rng: XorShift): Int32Array => {
  const views: number[] = [];
  for (let at = 0;;) {
    const gap = 1 + rng.below(4 * KiB);
    const kind = rng.below(3);
    const size = kind === 0 ? 1 + rng.below(16 * KiB) : kind === 1 ? 16 * KiB + rng.below(48 * KiB) : 64 * KiB + rng.below(448 * KiB);
    if (at + gap + size > MEMORY) return new Int32Array(views);
    views.push(at + gap, size);
    at += gap + size;
  }
};

const workerUrl = new URL(`./shared_memory_flip_worker${import.meta.url.endsWith(".js") ? ".js" : ".ts"}`, import.meta.url);

for (const backend of BACKENDS) {
  test(`shared memory flip (${backend}): a Worker rewrites a SharedArrayBuffer while its views are sent; the peer gets only view bytes, as many as written`, async () => {
    const memory = new SharedArrayBuffer(MEMORY);
    const bytes = new Uint8Array(memory).fill(CANARY);
    const rng = new XorShift(0x5ab);
    const views = layOut(rng);
    for (let v = 0; v < views.length; v += 2) bytes.fill(0, views[v], views[v] + views[v + 1]);
    const control = new SharedArrayBuffer(8);
    const state = new Int32Array(control);
    const worker = new Worker(fileURLToPath(workerUrl), { workerData: { memory, views, control } });
    const exited = once(worker, "exit");
    const pair = await connectedPair("127.0.0.1", { backend });
    try {
      let received = 0, wrongAt = -1, pauses = 0;
      const valuesSeen = new Set<number>();
      const reading = (async () => {
        const pause = new XorShift(0x5ac);
        for await (const chunk of pair.server.readable) {
          let seen = 0;
          for (let i = 0; i < chunk.length; i++) seen |= chunk[i];
          if (seen & 0x80 && wrongAt < 0) wrongAt = received + chunk.findIndex((b) => b >= 0x80);
          received += chunk.length;
          valuesSeen.add(chunk[0]);
          if (pause.below(200) === 0) {
            pauses++;
            await sleep(2);
          }
        }
      })();
      await waitFor(() => Atomics.load(state, 1) > 0, "the worker's first sweep", 10_000);
      const sweepsBefore = Atomics.load(state, 1);
      const writer = pair.client.writable.getWriter();
      let written = 0, writes = 0, failure: unknown;
      const started = Date.now();
      while (written < TOTAL) {
        for (let v = 0; v < views.length && written < TOTAL; v += 2) {
          // Pipelined: a write is awaited only every eighth, so several views are queued at once.
          const done = writer.write(new Uint8Array(memory, views[v], views[v + 1])).catch((e: unknown) => void (failure ??= e));
          if (++writes % 8 === 0) await done;
          written += views[v + 1];
        }
      }
      await withTimeout(writer.close(), 60_000, "writer.close()");
      const sweepsDuring = Atomics.load(state, 1) - sweepsBefore;
      await withTimeout(reading, 60_000, "the reader reaching the end");
      const seconds = (Date.now() - started) / 1000;
      assertEquals(failure, undefined, "every write resolved");
      assertEquals(wrongAt, -1, "no byte from outside the views (0x80 or more) reached the peer");
      assertEquals(received, written, "the peer got exactly as many bytes as the views held");
      assert(sweepsDuring > 10, `the worker kept rewriting the views during the send: ${sweepsDuring} sweeps`);
      assert(valuesSeen.size > 1, `the peer got the worker's rewrites, not one snapshot: ${valuesSeen.size} values`);
      console.log(
        `shared memory flip (${backend}): ${writes} writes of ${views.length / 2} views (${mib(written)}) in ${seconds.toFixed(1)} s ` +
          `while the worker swept every view ${sweepsDuring} times; the reader paused ${pauses} times; ${valuesSeen.size} different values arrived and no canary byte`,
      );
    } finally {
      Atomics.store(state, 0, 1);
      await withTimeout(exited, 10_000, "the worker stopping");
      await pair.close();
    }
  });
}

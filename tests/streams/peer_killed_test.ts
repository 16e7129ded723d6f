/**
 * A peer killed mid-stream, for every backend in BACKENDS: the receiving side is another process
 * (peer_killed_child.ts) that connects to a zcListen listener here, reads the first 8 MiB of what
 * the accepted connection sends (checking every byte), stops reading so a write stays pending, and
 * dies by SIGKILL: it never closes, and the kernel resets the connection for it. Guards that the
 * writer here then fails cleanly and never hangs: the write pending at the kill and every later
 * one (staged, borrowed and whole-buffer) reject with a ZcioError ECONNRESET or EPIPE whose
 * message says what to do, close() settles within 5 s, every pinned buffer is released, and the
 * process ends with the fds it started with.
 */
import { zcListen } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { concat, internals, openFds, randomBytes, waitFor, warmUp, withTimeout, XorShift } from "../helpers.ts";
import { assertReset, BACKENDS, mib, runChild } from "../reliability.ts";

const KiB = 1024, MiB = 1 << 20;
const READ_BYTES = 8 * MiB;
const POOL_BYTES = 4 * MiB, POOL_SEED = 0x9e11;

for (const backend of BACKENDS) {
  test(`peer killed (${backend}): the reading process dies by SIGKILL mid-stream; pending and later writes reject ECONNRESET/EPIPE, close() settles, no fd leaks`, async () => {
    await warmUp();
    const fdsBefore = openFds();
    const listener = await zcListen({ port: 0, backend, transferBuffers: true });
    const accepted = listener.accept();
    const child = runChild(new URL("./peer_killed_child.ts", import.meta.url), {
      args: [listener.addr.port, READ_BYTES, POOL_BYTES, POOL_SEED].map(String),
      timeoutMs: 60_000,
    });
    const conn = (await withTimeout(accepted, 30_000, "the child connecting"))!;
    const outbox = internals(conn).outbox;
    const writer = conn.writable.getWriter();
    // The stream is the pool over and over; a chunk is a staged copy, a borrowed window of the
    // pool (twice over, so a window may wrap), or a whole fresh buffer (taken over to go zero-copy).
    const pool = randomBytes(POOL_BYTES, POOL_SEED), twice = concat([pool, pool]);
    const rng = new XorShift(0x9e12);
    let written = 0, resolved = 0, current: Promise<void> = Promise.resolve(), failure: unknown;
    const producing = (async () => {
      try {
        for (let i = 0;; i++) {
          const kind = i % 3, at = written % POOL_BYTES;
          const size = kind === 0 ? 1 + rng.below(16 * KiB) : 64 * KiB + rng.below(MiB);
          const window = twice.subarray(at, at + size);
          current = writer.write(kind === 2 ? window.slice() : window);
          written += size;
          await current;
          resolved++;
        }
      } catch (e) {
        failure = e;
      }
    })();

    const r = await child;
    assertEquals(r.signal, "SIGKILL", `the child died by SIGKILL: status ${r.status}\n${r.stdout}\n${r.stderr}`);
    const report = r.report as { read: number; wrongAt: number } | undefined;
    assert(report !== undefined && report.read >= READ_BYTES, `the child read ${READ_BYTES} bytes first: ${r.stdout}\n${r.stderr}`);
    assertEquals(report.wrongAt, -1, "every byte the child read was right");
    const e = assertReset(await withTimeout(rejection(current), 5000, "the pending write failing"), "the write pending when the child died");
    await withTimeout(producing, 5000, "the producer");
    assert(failure === e, "the producer saw that same error");
    assertReset(await rejection(writer.write(new Uint8Array(100))), "a later staged write");
    assertReset(await rejection(writer.write(pool.subarray(1, MiB))), "a later borrowed write");
    assertReset(await rejection(writer.write(new Uint8Array(MiB))), "a later whole-buffer write");
    let closed = "resolved";
    await withTimeout(conn.close(), 5000, "close()").catch((c: unknown) => (closed = assertReset(c, "close()").code));
    await waitFor(() => outbox.backend.inflight === 0, "the kernel releasing every pinned buffer", 10_000);
    listener.close();
    await waitFor(() => openFds() === fdsBefore, `every fd closed again (${openFds()} open, ${fdsBefore} before)`, 10_000);
    console.log(
      `peer killed (${backend}): the child read ${mib(report.read)} (all right) and died by SIGKILL after ${r.ms} ms; ` +
        `${resolved} writes resolved and ${mib(written)} issued before it; pending write ${e.code}; close() ${closed}; fds ${fdsBefore} -> ${openFds()}`,
    );
  });
}

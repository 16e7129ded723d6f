/**
 * `sendFile`: the kernel moves a file's bytes to a TCP socket with sendfile(2), in order with the
 * stream's writes. A 1 GiB file arrives whole; ranges (empty, first and last byte) arrive exactly;
 * writes before and after keep their places on every backend; a file that shrinks, a peer that
 * resets and an abort each end the send with the bytes sent so far and never hang; 100 sends on
 * 100 connections each arrive; and afterwards the process has the fds it had before.
 */
import { chmod, open, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FILE_PASS_BYTES } from "../../backends/file_sender.ts";
import { startSink } from "../../bench/start_sink.ts";
import { zcConnect, ZcioError } from "../../mod.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { runChild } from "../reliability.ts";
import {
  concat,
  connectedPair,
  hashOf,
  internals,
  openFds,
  type Pair,
  readAll,
  readBytes,
  rssBytes,
  RunningHash,
  stalled,
  stateAfter,
  sys,
  warmUp,
  withTimeout,
  XorShift,
} from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20, GiB = 1 << 30;
const BACKENDS = ["copy", "msg_zerocopy", "io_uring", "auto"] as const;
const g = globalThis as {
  Bun?: { file(path: string): Blob };
  Deno?: { open(path: string): Promise<{ close(): void }> };
};

const tempPath = (what: string): string => join(tmpdir(), `zcio-sendfile-${what}-${process.pid}-${Date.now()}.bin`);

/** Writes `size` pseudo-random bytes to a new temp file; returns its path and contents. */
const tempFile = async (what: string, size: number, seed: number): Promise<{ path: string; content: Uint8Array }> => {
  const path = tempPath(what);
  const content = new Uint8Array(size);
  new XorShift(seed).fill(content);
  await writeFile(path, content);
  return { path, content };
};

/**
 * Runs `body` with a new temp file of `size` pseudo-random bytes and a connected pair; then closes
 * the pair, removes the file and checks that the process has the fds it had before.
 */
const withFileAndPair = async (
  what: string,
  size: number,
  tuning: Record<string, unknown>,
  body: (pair: Pair, path: string, content: Uint8Array) => Promise<void>,
): Promise<void> => {
  await warmUp();
  const fdsBefore = openFds();
  const { path, content } = await tempFile(what, size, size ^ what.length);
  const pair = await connectedPair("127.0.0.1", tuning);
  try {
    await body(pair, path, content);
  } catch (e) {
    // A send that never settled must not keep close() waiting for it.
    await pair.client.abort();
    throw e;
  } finally {
    await pair.close();
    await rm(path, { force: true });
  }
  assertEquals(openFds(), fdsBefore, "every fd is closed again");
};

const assertFailure = (e: unknown, code: string, what: string): ZcioError => {
  assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
  assertEquals(e.code, code, `${what}: code (${e.message})`);
  return e;
};

test("sendFile: a 1 GiB file arrives whole, with the right hash, counted in stats()", async () => {
  await warmUp();
  const fdsBefore = openFds();
  // 1 GiB made of 16 MiB pseudo-random blocks, each stamped with its index, hashed as it is written.
  const path = tempPath("1g");
  const block = new Uint8Array(16 * MiB);
  new XorShift(0x5e4d).fill(block);
  const expected = new RunningHash();
  const file = await open(path, "w");
  for (let i = 0; i < GiB / block.length; i++) {
    block[0] = i;
    expected.update(block);
    await file.write(block);
  }
  await file.close();
  const pair = await connectedPair();
  const rssBefore = rssBytes();
  try {
    const got = new RunningHash();
    const receiving = (async () => {
      for await (const chunk of pair.server.readable) got.update(chunk);
    })();
    const sent = await withTimeout(pair.client.sendFile(path), 60_000, "sending 1 GiB");
    assertEquals(sent, GiB, "sendFile resolves with the bytes sent");
    await pair.client.writable.finish();
    await pair.client.close();
    await receiving;
    assertEquals(got.length, GiB, "every byte arrived");
    assertEquals(got.value.toString(16), expected.value.toString(16), "the bytes are the file's, in order");
    const stats = pair.client.stats();
    assertEquals(stats.files, 1, "stats() counts the send");
    assertEquals(stats.fileBytes, GiB, "stats() counts its bytes");
    // The receiver's chunks are garbage in the same process; the file itself never entered memory.
    const grown = rssBytes() - rssBefore;
    assert(grown < 256 * MiB, `the sender read nothing into memory (RSS grew ${(grown / MiB).toFixed(0)} MiB)`);
  } finally {
    await pair.close();
    await rm(path, { force: true });
  }
  assertEquals(openFds(), fdsBefore, "every fd is closed again");
});

test("sendFile: ranges (empty, first byte, last byte, middle, whole) arrive exactly; bad ranges and files fail before sending", async () => {
  await withFileAndPair("ranges", MiB + 123, {}, async (pair, path, content) => {
    const size = content.length;
    await using udp = await zcConnect({ hostname: "127.0.0.1", port: pair.listener.addr.port, transport: "udp" });
    const received = readAll(pair.server.readable);
    const cases: [number | undefined, number | undefined][] = [
      [0, 0],
      [size, undefined],
      [0, 1],
      [size - 1, 1],
      [size - 1, undefined],
      [1000, 5000],
      [undefined, undefined],
      [4096, size - 4096],
    ];
    const expected: Uint8Array[] = [];
    for (const [offset, length] of cases) {
      const start = offset ?? 0, end = length === undefined ? size : start + length;
      const sent = await pair.client.sendFile(path, { offset, length });
      assertEquals(sent, end - start, `offset ${offset}, length ${length}: bytes sent`);
      expected.push(content.subarray(start, end));
    }
    const fails: [string, Promise<number>, string][] = [
      ["an offset past the end", pair.client.sendFile(path, { offset: size + 1 }), "FILE_RANGE"],
      ["a range past the end", pair.client.sendFile(path, { offset: size - 1, length: 2 }), "FILE_RANGE"],
      ["a negative offset", pair.client.sendFile(path, { offset: -1 }), "INVALID_OPTION"],
      ["a fractional length", pair.client.sendFile(path, { length: 1.5 }), "INVALID_OPTION"],
      ["a missing file", pair.client.sendFile(`${path}.missing`), "ENOENT"],
      ["a path with a NUL", pair.client.sendFile(`${path}\0.other`), "INVALID_OPTION"],
      ["a directory", pair.client.sendFile(tmpdir()), "EISDIR"],
      ["a closed fd", pair.client.sendFile(1 << 20), "EBADF"],
      ["a device", pair.client.sendFile("/dev/null"), "NOT_A_FILE"],
      ["an unknown kind of file", pair.client.sendFile({} as never), "INVALID_OPTION"],
      ["a UDP connection", udp.sendFile(path), "INVALID_OPTION"],
    ];
    for (const [what, sending, code] of fails) {
      const e = assertFailure(await rejection(sending), code, what);
      assert(e.message.length > 20, `${what}: the message says what happened`);
    }
    await pair.client.close();
    const got = await received;
    const want = concat(expected);
    assertEquals(got.length, want.length, "exactly the ranges' bytes arrived");
    assertEquals(hashOf(got), hashOf(want), "each range's bytes, in order");
    assertEquals(pair.client.stats().fileBytes, want.length, "stats() counts what went");
  });
});

test("sendFile: a path, a file: URL, an fd, a Node FileHandle and the runtime's own file each send the file", async () => {
  await warmUp();
  const fdsBefore = openFds();
  const { path, content } = await tempFile("sources", 300 * KiB, 0x50c);
  const pair = await connectedPair();
  const handle = await open(path, "r");
  try {
    const received = readAll(pair.server.readable);
    let sends = 0;
    const send = async (file: Parameters<typeof pair.client.sendFile>[0], what: string) => {
      assertEquals(await pair.client.sendFile(file), content.length, what);
      sends++;
    };
    await send(path, "a path");
    await send(pathToFileURL(path), "a file: URL");
    await send(handle.fd, "an fd");
    await send(handle, "a Node FileHandle");
    if (g.Bun !== undefined) {
      await send(g.Bun.file(path), "a Bun.file");
      assertFailure(await rejection(pair.client.sendFile(g.Bun.file(path).slice(1, 10))), "INVALID_OPTION", "a Bun.file slice");
    }
    if (g.Deno !== undefined) {
      const file = await g.Deno.open(path);
      await send(file as never, "a Deno.FsFile");
      file.close();
    }
    // While a pipe holds the stream, a send has no place in its order.
    const piping = new AbortController();
    const pipe = new ReadableStream<Uint8Array>().pipeTo(pair.client.writable, { signal: piping.signal, preventAbort: true });
    assertFailure(await rejection(pair.client.sendFile(path)), "STREAM_LOCKED", "a send while a pipe holds the stream");
    piping.abort();
    await rejection(pipe);
    await pair.client.close();
    const got = await received;
    assertEquals(got.length, content.length * sends, "each send carried the whole file");
    for (let i = 0; i < sends; i++) {
      assertEquals(hashOf(got.subarray(i * content.length, (i + 1) * content.length)), hashOf(content), `send ${i}: the file's bytes`);
    }
    // The fd and the handle stay the caller's: still open, position unmoved.
    const { bytesRead } = await handle.read(new Uint8Array(10), 0, 10, null);
    assertEquals(bytesRead, 10, "the caller's handle is still open and reads from its own position");
  } finally {
    await handle.close();
    await pair.close();
    await rm(path, { force: true });
  }
  assertEquals(openFds(), fdsBefore, "every fd zcio opened is closed again");
});

for (const backend of BACKENDS) {
  test(`sendFile (${backend}): writes before and after it, small and large, awaited or not, arrive in order`, async () => {
    await withFileAndPair(`order-${backend}`, 4 * MiB + 7, { backend }, async (pair, path, content) => {
      const received = readAll(pair.server.readable);
      const writer = pair.client.writable.getWriter();
      const pieces = (seed: number) => [new Uint8Array(100).fill(seed), new Uint8Array(300 * KiB).fill(seed + 1), new Uint8Array(5).fill(seed + 2)];
      const expected: Uint8Array[] = [];
      const pending: Promise<unknown>[] = [];
      for (let round = 0; round < 3; round++) {
        for (const piece of pieces(round * 10)) {
          pending.push(writer.write(piece));
          expected.push(piece);
        }
        pending.push(pair.client.sendFile(path, { offset: round, length: content.length - round }));
        expected.push(content.subarray(round));
      }
      // With a lease too, where the backend has them, and a last write after the last file.
      const lease = await pair.client.lease(256 * KiB);
      lease.fill(7);
      const leaseCopy = lease.slice();
      pending.push(writer.write(lease));
      expected.push(leaseCopy);
      pending.push(pair.client.sendFile(path, { length: 1000 }));
      expected.push(content.subarray(0, 1000));
      pending.push(writer.write(new Uint8Array(3).fill(9)));
      expected.push(new Uint8Array(3).fill(9));
      await Promise.all(pending);
      await writer.close();
      const got = await received;
      const want = concat(expected);
      assertEquals(got.length, want.length, "every byte arrived");
      assertEquals(hashOf(got), hashOf(want), "in the order written");
    });
  });
}

test("sendFile: a file truncated during the send rejects with FILE_TRUNCATED and the bytes sent; the stream goes on", async () => {
  await withFileAndPair("truncated", 64 * MiB, { backend: "copy" }, async (pair, path, content) => {
    const sending = pair.client.sendFile(path);
    // Nobody reads yet: the socket fills and the send waits for room.
    await stalled(() => pair.client.stats().fileBytes, () => internals(pair.client).outbox.queue.queuedBytes > 0);
    const sentSoFar = pair.client.stats().fileBytes;
    assert(sentSoFar > 0 && sentSoFar < content.length, `part of the file went (${sentSoFar})`);
    const newSize = sentSoFar + MiB;
    await truncate(path, newSize);
    const after = pair.client.writable.getWriter().write(new Uint8Array(10).fill(0xee));
    const received = readAll(pair.server.readable);
    const e = assertFailure(await rejection(withTimeout(sending, 20_000, "the send")), "FILE_TRUNCATED", "the send");
    assertEquals(e.bytesSent, newSize, "bytesSent is what the file still held");
    await after;
    await pair.client.close();
    const got = await received;
    assertEquals(got.length, newSize + 10, "the file's remaining bytes, then the later write");
    assertEquals(hashOf(got.subarray(0, newSize)), hashOf(content.subarray(0, newSize)), "the file's bytes");
    assertEquals(got[newSize], 0xee, "the later write came after");
  });
});

test("sendFile: a peer reset mid-file rejects it with ECONNRESET or EPIPE and the bytes sent", async () => {
  await withFileAndPair("reset", 64 * MiB, { backend: "copy" }, async (pair, path) => {
    const sending = pair.client.sendFile(path);
    await stalled(() => pair.client.stats().fileBytes, () => internals(pair.client).outbox.queue.queuedBytes > 0);
    // Closing a socket with unread data makes the kernel answer with a reset (RST).
    await pair.server.abort();
    const e = await rejection(withTimeout(sending, 20_000, "the send"));
    assert(e instanceof ZcioError && (e.code === "ECONNRESET" || e.code === "EPIPE"), `reset: got ${e}`);
    assertEquals(e.bytesSent, pair.client.stats().fileBytes, "bytesSent is what the kernel took");
    assert(e.bytesSent! > 0, "part of the file had gone");
    assert((await rejection(pair.client.sendFile(path))) instanceof ZcioError, "a later send fails too");
  });
});

test("sendFile: a pending send holds later writes back; an abort mid-file stops it with the bytes sent and the stream goes on", async () => {
  await withFileAndPair("abort", 64 * MiB, { backend: "copy" }, async (pair, path, content) => {
    const writer = pair.client.writable.getWriter();
    const controller = new AbortController();
    const sending = pair.client.sendFile(path, { signal: controller.signal });
    await stalled(() => pair.client.stats().fileBytes, () => internals(pair.client).outbox.queue.queuedBytes > 0);
    const later = writer.write(new Uint8Array(10).fill(0xcc));
    assertEquals(await stateAfter(later, 100), "pending", "a write after a pending sendFile waits for it");
    assert(writer.desiredSize! <= 0, "the stream applies backpressure");
    controller.abort("enough");
    const e = assertFailure(await rejection(withTimeout(sending, 5000, "the aborted send")), "ABORTED", "the send");
    const sent = e.bytesSent!;
    assertEquals(sent, pair.client.stats().fileBytes, "bytesSent is what the kernel took");
    assert(sent > 0 && sent < content.length, `it stopped mid-file (${sent})`);
    assert(e.message.includes("enough"), "the message carries the reason");
    const reader = pair.server.readable.getReader();
    const got = await withTimeout(readBytes(reader, sent + 10), 20_000, "reading");
    await later;
    assertEquals(got.length, sent + 10, "the file's sent bytes, then the later write");
    assertEquals(hashOf(got.subarray(0, sent)), hashOf(content.subarray(0, sent)), "the file's bytes");
    assertEquals(hashOf(got.subarray(sent)), hashOf(new Uint8Array(10).fill(0xcc)), "then the later write");
    assertFailure(await rejection(pair.client.sendFile(path, { signal: controller.signal })), "ABORTED", "a send with an aborted signal");
    reader.releaseLock();
  });
});

test("sendFile: to a peer in another process that reads as fast as the kernel sends, the file goes in passes of FILE_PASS_BYTES at most, with timers running between them", async () => {
  const size = 256 * MiB;
  const { path } = await tempFile("passes", size, 9);
  const sink = await startSink();
  const sendfile = sys.sendfile;
  let calls = 0, largestAsk = 0, ticks = 0, sending = true;
  sys.sendfile = (fd, inFd, offset, count) => {
    calls++;
    largestAsk = Math.max(largestAsk, count);
    return sendfile(fd, inFd, offset, count);
  };
  const tick = () => {
    ticks++;
    if (sending) setImmediate(tick);
  };
  try {
    const conn = await zcConnect({ hostname: "127.0.0.1", port: sink.port });
    setImmediate(tick);
    const sent = await withTimeout(conn.sendFile(path), 60_000, "the send");
    sending = false;
    assertEquals([sent, conn.stats().fileBytes], [size, size], "all of the file went");
    await conn.close();
  } finally {
    sys.sendfile = sendfile;
    sink.stop();
    await rm(path, { force: true });
  }
  assert(largestAsk <= FILE_PASS_BYTES, `no sendfile(2) call asked for more than one pass's share: ${largestAsk}`);
  assert(calls >= size / FILE_PASS_BYTES, `${calls} calls`);
  assert(ticks >= calls / 2, `the event loop ran between passes: ${ticks} turns for ${calls} calls`);
});

test("sendFile: a file the process may not read (mode 000, without CAP_DAC_OVERRIDE) rejects with EACCES before sending; the stream goes on", async () => {
  const { path } = await tempFile("eacces", 64 * KiB, 5);
  try {
    await chmod(path, 0o000);
    const r = await runChild(new URL("./send_file_child.ts", import.meta.url), {
      args: [path],
      withoutCapabilities: ["dac_override", "dac_read_search"],
    });
    const report = r.report as { error?: { code: string; errno: number; message: string; bytesSent?: number }; received: string } | undefined;
    assert(report !== undefined, `the child reported: ${r.stdout} ${r.stderr}`);
    assertEquals([report.error?.code, report.error?.errno], ["EACCES", 13], `the error: ${JSON.stringify(report.error)}`);
    assert(report.error!.message.includes(path), `the message names the file: ${report.error!.message}`);
    assertEquals(report.received, "after", "nothing of the file went, and the write after it did");
  } finally {
    await rm(path, { force: true });
  }
});

test("sendFile: 100 sends on 100 connections at once each arrive whole", async () => {
  await warmUp();
  const fdsBefore = openFds();
  const { path, content } = await tempFile("many", 8 * MiB, 0x100);
  const pairs = [];
  try {
    for (let i = 0; i < 100; i++) pairs.push(await connectedPair());
    const length = 512 * KiB;
    const results = await withTimeout(
      Promise.all(pairs.map(async (pair, i) => {
        const received = readAll(pair.server.readable);
        const offset = i * 64 * KiB;
        const sent = await pair.client.sendFile(path, { offset, length });
        await pair.client.close();
        const got = await received;
        return sent === length && got.length === length && hashOf(got) === hashOf(content.subarray(offset, offset + length));
      })),
      30_000,
      "100 sends",
    );
    assertEquals(results.filter((ok) => ok).length, 100, "every connection received its range");
  } finally {
    for (const pair of pairs) await pair.close();
    await rm(path, { force: true });
  }
  assertEquals(openFds(), fdsBefore, "every fd is closed again");
});

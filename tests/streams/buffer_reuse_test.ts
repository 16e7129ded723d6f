/**
 * The ownership rule users rely on, with the default backend and every other one: after
 * `await writer.write(buf)` resolves, `buf` is the caller's again. A loop that refills one buffer
 * and writes it works at every size, on a first connection and on later ones to the same peer
 * (whatever earlier connections learnt), and the peer receives exactly each write's contents.
 */
import { open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKEND_NAMES, zcConnect, zcListen } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { hashOf, readAll, RunningHash, XorShift } from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20;
const SIZES = [1 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB];
const WRITES = 6;
const BACKENDS = [undefined, ...BACKEND_NAMES] as const;

for (const backend of BACKENDS) {
  const name = backend ?? "default";
  test(`buffer reuse (${name}): one buffer refilled and written at 1 KiB to 1 MiB arrives as written, on a first connection and after`, async () => {
    const listener = await zcListen({ hostname: "127.0.0.1", port: 0 });
    try {
      for (const round of [1, 2, 3]) {
        const accepted = listener.accept();
        const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, ...(backend ? { backend } : {}) });
        const server = (await accepted)!;
        const received = readAll(server.readable);
        const writer = client.writable.getWriter();
        const sent = new RunningHash();
        const fill = new XorShift(round * 7919);
        for (const size of SIZES) {
          const buffer = new Uint8Array(size);
          for (let i = 0; i < WRITES; i++) {
            fill.fill(buffer);
            sent.update(buffer);
            await writer.write(buffer);
            assertEquals(buffer.byteLength, size, `${name} round ${round}, ${size} B write ${i}: the buffer is still the caller's`);
          }
        }
        await writer.close();
        const got = await received;
        assertEquals(got.length, sent.length, `${name} round ${round}: every byte arrived`);
        assertEquals(hashOf(got).toString(16), sent.value.toString(16), `${name} round ${round}: exactly the contents of each write`);
        await client.close();
        await server.close();
      }
    } finally {
      listener.close();
    }
  });
}

test("buffer reuse: a file read into one reused buffer and written chunk by chunk arrives whole", async () => {
  const path = join(tmpdir(), `zcio-reuse-${process.pid}-${Date.now()}.bin`);
  const content = new Uint8Array(24 * MiB);
  new XorShift(0xf11e).fill(content);
  await writeFile(path, content);
  const listener = await zcListen({ hostname: "127.0.0.1", port: 0 });
  try {
    for (const backend of BACKENDS) {
      const accepted = listener.accept();
      const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, ...(backend ? { backend } : {}) });
      const server = (await accepted)!;
      const received = readAll(server.readable);
      const writer = client.writable.getWriter();
      const file = await open(path, "r");
      const buffer = new Uint8Array(256 * KiB);
      let total = 0;
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        await writer.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      }
      await file.close();
      await writer.close();
      const got = await received;
      assertEquals(total, content.length, `${backend ?? "default"}: the whole file was read (no buffer went missing)`);
      assertEquals(got.length, content.length, `${backend ?? "default"}: the whole file arrived`);
      assert(hashOf(got) === hashOf(content), `${backend ?? "default"}: byte for byte`);
      await client.close();
      await server.close();
    }
  } finally {
    listener.close();
    await rm(path, { force: true });
  }
});

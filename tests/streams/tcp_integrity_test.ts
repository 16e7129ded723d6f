/**
 * End-to-end integrity over loopback TCP: at least 256 MiB of seeded pseudo-random chunks, sizes
 * from 1 B to 4 MiB mixing the staged (< 16 KiB) and borrowed (>= 16 KiB) paths, read by a
 * zcListen-accepted connection in the same process that hashes every byte it gets.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { connectedPair, RunningHash, XorShift } from "../helpers.ts";

const MiB = 1 << 20;
const TOTAL = 256 * MiB;
const STAGE_BELOW = 16 * 1024; // the default
const MAX_CHUNK = 4 * MiB;

const variants = [
  { name: "default tuning", seed: 0x5eed1, tuning: { backend: "copy" } },
  { name: "32 KiB staging", seed: 0x5eed2, tuning: { stagingBytes: 32 * 1024, backend: "copy" } },
];

for (const { name, seed, tuning } of variants) {
  test(`tcp integrity (${name}): 256 MiB of seeded chunks from 1 B to 4 MiB arrive whole and in order, gathered`, async () => {
    const pair = await connectedPair("127.0.0.1", tuning);
    const received = new RunningHash();
    let reads = 0;
    const reading = (async () => {
      for await (const bytes of pair.server.readable) {
        received.update(bytes);
        reads++;
      }
    })();

    const writer = pair.client.writable.getWriter();
    const sizes = new XorShift(seed);
    const content = new XorShift(seed * 31);
    const sent = new RunningHash();
    // Half the chunks are views of one buffer the test refills as soon as the write resolves: if a
    // write resolved before the kernel had every byte of it, the receiver would see the refill.
    const scratch = new Uint8Array(MAX_CHUNK);
    const firstSizes = [1, STAGE_BELOW - 1, STAGE_BELOW, MAX_CHUNK, 2, 3, 5, 4095, 4096, 4097];
    let chunks = 0, staged = 0, borrowed = 0, stagedBytes = 0, borrowedBytes = 0;
    // Mostly small chunks between large ones; now and then a burst of small ones long enough to fill
    // the 256 KiB staging ring, so that writes also wait for staging to drain.
    let burst = 0, bursts = 0;
    const nextSize = (): number => {
      if (chunks < firstSizes.length) return firstSizes[chunks];
      if (burst > 0) return (burst--, sizes.logUniform(1, 4096));
      if (sizes.below(100) === 0) {
        bursts++;
        burst = 300 + sizes.below(700);
      }
      return sizes.below(100) < 85 ? sizes.logUniform(1, STAGE_BELOW - 1) : sizes.logUniform(STAGE_BELOW, MAX_CHUNK);
    };
    while (sent.length < TOTAL) {
      const size = nextSize();
      const chunk = chunks % 2 === 0 ? scratch.subarray(0, size) : new Uint8Array(size);
      content.fill(chunk);
      sent.update(chunk);
      await writer.write(chunk);
      chunks++;
      if (size < STAGE_BELOW) (staged++, stagedBytes += size);
      else (borrowed++, borrowedBytes += size);
    }
    await writer.close();
    await reading;

    assertEquals(received.length, sent.length, "total length");
    assertEquals(received.value.toString(16), sent.value.toString(16), "running hash over every byte");
    assert(sent.length >= TOTAL, "at least 256 MiB");
    assert(staged >= 5000 && borrowed >= 250, `both paths used heavily: ${staged} staged, ${borrowed} borrowed chunks`);
    assert(stagedBytes >= 8 * MiB && borrowedBytes >= 200 * MiB, `bytes: ${stagedBytes} staged, ${borrowedBytes} borrowed`);
    assert(bursts >= 5, `bursts of small chunks that fill staging: ${bursts}`);

    const stats = pair.client.stats();
    assertEquals(stats.bytes.copy, sent.length, "bytes.copy is every byte written");
    assertEquals(stats.bytes.msg_zerocopy + stats.bytes.io_uring, 0);
    assertEquals(stats.chunks, chunks, "every chunk counted once");
    assert(stats.syscalls < chunks, `gathering: ${stats.syscalls} syscalls for ${chunks} chunks`);
    assertEquals(pair.server.stats().bytesReceived, sent.length, "the receiver counted every byte");
    assert(reads > 0);
    await pair.close();
  });
}

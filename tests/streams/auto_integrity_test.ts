/**
 * `backend: "auto"` (the default) end to end over loopback TCP, where the kernel copies every
 * zero-copy send after all and says so (docs/kernel.md, 'Loopback always copies'): 64+ MiB of seeded chunks from 1 B to
 * 4 MiB arrive intact (hashed by a zcListen-accepted receiver in the same process), and the stats
 * show the routing: small chunks by copy, large ones by a zero-copy backend first, then by copy
 * once a notification said COPIED, with a new probe after `reprobeBytes`, then after twice as many
 * (each probe copied again doubles the wait). Leases go back to their pool when they are staged or
 * sent by copy.
 */
import { URING_COPIED_REASON } from "../../backends/io_uring.ts";
import { COPIED_REASON } from "../../backends/msg_zerocopy.ts";
import { SO_RCVBUF, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcConnect } from "../../mod.ts";
import { connectionConfig } from "../../streams/options.ts";
import { openConnection } from "../../streams/open_connection.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, connectedPair, hashOf, int32, mostDowngrades, RunningHash, sys, waitFor, withTimeout, XorShift } from "../helpers.ts";

const KiB = 1024, MiB = 1 << 20;
const STAGE_BELOW = 16 * KiB; // the default
const ZERO_COPY_FROM = 64 * KiB;
/** Given explicitly, so the routing checked here does not depend on the built-in (calibrated) bands. */
const POLICY = {
  version: 1,
  tcp: [{ from: 0, use: "copy" }, { from: ZERO_COPY_FROM, use: ["io_uring", "msg_zerocopy"] }],
  udp: [{ from: 0, use: "copy" }, { from: STAGE_BELOW, use: ["io_uring", "msg_zerocopy"] }],
} as const;
const MAX_CHUNK = 4 * MiB;
const TOTAL = 72 * MiB;
const REPROBE = 16 * MiB;

const zeroCopied = (s: { bytes: { msg_zerocopy: number; io_uring: number } }) => s.bytes.msg_zerocopy + s.bytes.io_uring;
const zeroCopyRouted = (s: { routed: { msg_zerocopy: number; io_uring: number } }) => s.routed.msg_zerocopy + s.routed.io_uring;

test(`auto integrity: ${TOTAL / MiB} MiB of seeded chunks from 1 B to 4 MiB over loopback TCP arrive intact; small ones go by copy, large ones zero-copy until COPIED, then by copy, probing again after reprobeBytes, then after twice as many`, async () => {
  const pair = await connectedPair("127.0.0.1", { reprobeBytes: REPROBE, policy: POLICY, transferBuffers: true });
  const received = new RunningHash();
  const reading = (async () => {
    for await (const bytes of pair.server.readable) received.update(bytes);
  })();
  const client = pair.client;
  const writer = client.writable.getWriter();
  const sent = new RunningHash();
  const content = new XorShift(0xa070);

  // The first chunk is large: a probe, sent zero-copy; over loopback its notification says COPIED.
  const FIRST = 256 * KiB;
  const first = new Uint8Array(FIRST);
  content.fill(first);
  sent.update(first);
  await writer.write(first);
  await waitFor(() => client.stats().downgrades >= 1, "the COPIED notification of the first large chunk");
  const probed = client.stats();
  assertEquals(probed.routed.copy, 0, "nothing went by copy before the probe");
  assertEquals(zeroCopyRouted(probed), 1, "the first large chunk went to a zero-copy backend");
  assertEquals(first.byteLength, 0, "taken over: the caller's view is detached");
  assertEquals(zeroCopied(probed), FIRST, "and was sent zero-copy");
  assertEquals(probed.copiedBytes, FIRST, "the kernel reported it copied");
  assertEquals(probed.zeroCopiedBytes, 0);
  const reason = probed.bytes.io_uring > 0 ? URING_COPIED_REASON : COPIED_REASON;
  assert(probed.downgradeReasons.includes(reason), `the reason is the COPIED report: ${probed.downgradeReasons}`);

  // Then mixed sizes: views of a scratch buffer refilled as soon as each write resolves, and fresh
  // whole buffers (which a zero-copy route takes over; each is hashed before it is written).
  const sizes = new XorShift(0xa071);
  const scratch = new Uint8Array(4096 + MAX_CHUNK);
  let small = 0, large = 0, chunks = 1;
  while (sent.length < TOTAL) {
    const size = sizes.below(100) < 80 ? sizes.logUniform(1, STAGE_BELOW - 1) : sizes.logUniform(STAGE_BELOW, MAX_CHUNK);
    const chunk = chunks % 3 === 0 ? scratch.subarray(4096, 4096 + size) : new Uint8Array(size);
    content.fill(chunk);
    sent.update(chunk);
    await writer.write(chunk);
    chunks++;
    if (size < STAGE_BELOW) small++;
    else if (size >= ZERO_COPY_FROM) large++;
  }
  await writer.close();
  await reading;
  assertEquals(received.length, sent.length, "total length");
  assertEquals(received.value.toString(16), sent.value.toString(16), "hash of every byte, in order");

  const s = client.stats();
  assertEquals(s.chunks, chunks);
  assertEquals(s.bytes.copy + zeroCopied(s), sent.length, "every byte counted once, under the backend that sent it");
  assertEquals(s.routed.copy + zeroCopyRouted(s), chunks, "every chunk routed once");
  assert(s.routed.copy >= small, `every small chunk by copy: ${s.routed.copy} copy-routed, ${small} small`);
  assert(large > 40, `plenty of large chunks: ${large}`);
  // After the first COPIED, large chunks went by copy, except a probe after 16 MiB by copy and one
  // after 32 MiB more (the first re-probe was copied again); the next would wait for 64 MiB more.
  assert(s.bytes.copy >= 48 * MiB && s.bytes.copy < 112 * MiB, `by copy: ${s.bytes.copy}`);
  assertEquals(mostDowngrades(s.bytes.copy, REPROBE), 3);
  assertEquals(s.downgrades, 3, `downgraded, re-probed after ${REPROBE / MiB} MiB and ${2 * REPROBE / MiB} MiB more by copy`);
  assert(zeroCopyRouted(s) <= s.downgrades * 8, `zero-copy only for probes: ${zeroCopyRouted(s)} chunks, ${s.downgrades} downgrades`);
  assert(zeroCopied(s) < sent.length / 8, `most bytes by copy: ${zeroCopied(s)} of ${sent.length} zero-copy`);
  assertEquals(s.copiedBytes, zeroCopied(s), "the kernel reported every zero-copy byte as copied");
  assertEquals(s.zeroCopiedBytes, 0);
  assertEquals(pair.server.stats().bytesReceived, sent.length);
  await pair.close();
});

test("auto: leases written small (staged) or large by copy go back to their pool at once", async () => {
  const pair = await connectedPair("127.0.0.1", { policy: POLICY, transferBuffers: true });
  const received = new RunningHash();
  const reading = (async () => {
    for await (const bytes of pair.server.readable) received.update(bytes);
  })();
  const client = pair.client;
  const writer = client.writable.getWriter();
  const sent = new RunningHash();
  const content = new XorShift(0x1ea5e);
  // Four times the registered pool (8 MiB) in 4 KiB leases: staged, and released as soon as staged;
  // leases kept until collected would exhaust the pool and make lease() wait.
  for (let i = 0; i < 4096; i++) {
    const lease = await withTimeout(client.lease(4 * KiB), 10_000, `lease ${i} of 4 KiB`);
    content.fill(lease);
    sent.update(lease);
    await writer.write(lease);
  }
  // A large fresh chunk probes zero-copy; once it is reported COPIED, large leases go by copy.
  const probe = new Uint8Array(MiB);
  content.fill(probe);
  sent.update(probe);
  await writer.write(probe);
  await waitFor(() => client.stats().downgrades >= 1, "the COPIED notification");
  for (let i = 0; i < 96; i++) {
    const lease = await withTimeout(client.lease(256 * KiB), 10_000, `lease ${i} of 256 KiB`);
    content.fill(lease);
    sent.update(lease);
    await writer.write(lease);
  }
  await writer.close();
  await reading;
  assertEquals(received.length, sent.length);
  assertEquals(received.value, sent.value);
  const s = client.stats();
  assertEquals(s.routed.copy, 4096 + 96, "the small leases and, after the downgrade, the large ones by copy");
  await pair.close();
});

test("auto: the policy option picks the backend per size band; a policy of copy only never sends zero-copy", async () => {
  const mzFrom16k = { version: 1, tcp: [{ from: 0, use: "copy" }, { from: 16 * KiB, use: "msg_zerocopy" }] } as const;
  const copyOnly = { version: 1, tcp: [{ from: 0, use: "copy" }] } as const;
  for (const [policy, expected] of [[mzFrom16k, "msg_zerocopy"], [copyOnly, "copy"]] as const) {
    const pair = await connectedPair("127.0.0.1", { policy, transferBuffers: true });
    const received = new RunningHash();
    const reading = (async () => {
      for await (const bytes of pair.server.readable) received.update(bytes);
    })();
    const writer = pair.client.writable.getWriter();
    const sent = new RunningHash();
    const content = new XorShift(0x9011c);
    for (const size of [100, 20 * KiB]) {
      const chunk = new Uint8Array(size);
      content.fill(chunk);
      sent.update(chunk);
      await writer.write(chunk);
    }
    await writer.close();
    await reading;
    assertEquals(received.value, sent.value);
    const s = pair.client.stats();
    assertEquals(s.routed, { copy: expected === "copy" ? 2 : 1, msg_zerocopy: expected === "copy" ? 0 : 1, io_uring: 0 }, expected);
    assertEquals(s.bytes.msg_zerocopy, expected === "copy" ? 0 : 20 * KiB);
    await pair.close();
  }
});

test("auto over loopback UDP: 3000 seeded datagrams from 1 B to 60 KiB arrive whole and in order; large ones probe zero-copy, then go by copy", async () => {
  const DATAGRAMS = 3000, MAX = 60 * KiB, WINDOW = 32;
  const raw = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  assertEquals(sys.setsockopt(raw.fd, SOL_SOCKET, SO_RCVBUF, int32(4 << 20)), 0);
  const sender = await zcConnect({ hostname: "127.0.0.1", port: raw.port, transport: "udp", policy: POLICY, reprobeBytes: 1 << 30, transferBuffers: true });
  assertEquals(sys.connect(raw.fd, encodeSockaddr("127.0.0.1", sender.localAddr.port)!), 0);
  const receiver = await openConnection(raw.fd, connectionConfig({ backend: "copy" }, "udp", true));
  const sizes = new XorShift(0xda7a);
  const planned = Array.from(
    { length: DATAGRAMS },
    (_, i) => i === 0 ? MAX : sizes.below(2) === 0 ? sizes.logUniform(1, STAGE_BELOW - 1) : sizes.logUniform(STAGE_BELOW, MAX),
  );
  const hashes = planned.map(() => 0);
  let received = 0;
  let progress: (() => void) | undefined;
  const reading = (async () => {
    const reader = receiver.readable.getReader();
    while (received < DATAGRAMS) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the receiving stream ended early");
      assertEquals(value.length, planned[received], `size of datagram ${received}`);
      assertEquals(hashOf(value), hashes[received], `content of datagram ${received}`);
      received++;
      progress?.();
    }
    reader.releaseLock();
  })();
  let failed: unknown;
  reading.catch((e) => {
    failed = e;
    progress?.();
  });
  const writer = sender.writable.getWriter();
  const content = new XorShift(0xda7b);
  for (let seq = 0; seq < DATAGRAMS && failed === undefined; seq++) {
    while (seq - received >= WINDOW && failed === undefined) await new Promise<void>((r) => (progress = r));
    const d = new Uint8Array(planned[seq]);
    content.fill(d);
    hashes[seq] = hashOf(d);
    await writer.write(d);
    if (seq === 0) await waitFor(() => sender.stats().downgrades >= 1, "the COPIED notification of the first datagram");
  }
  await reading;
  assertEquals(received, DATAGRAMS);
  const s = sender.stats();
  const small = planned.filter((n) => n < STAGE_BELOW).length;
  assert(zeroCopyRouted(s) >= 1, "the first large datagram went to a zero-copy backend");
  assert(zeroCopyRouted(s) <= 4, `then by copy (no re-probe within reprobeBytes): ${zeroCopyRouted(s)} zero-copy`);
  assert(s.routed.copy >= small, `every small datagram by copy: ${s.routed.copy} copy-routed, ${small} small`);
  assertEquals(s.copiedBytes, zeroCopied(s), "the kernel reported every zero-copy byte as copied");
  await writer.close();
  await sender.close();
  await receiver.close();
});

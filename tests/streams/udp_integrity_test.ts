/**
 * End-to-end integrity over loopback UDP (IPv4 and IPv6): thousands of seeded datagrams from 1 B to
 * 60 KiB, each carrying its sequence number, received whole and in order.
 *
 * The receiving end is a connected socket, so that its readable is a ZcConnection's: made with the
 * Sys adapter, bound to port 0 on loopback, given a large SO_RCVBUF, connected back to the zcConnect sender once that one exists,
 * and then handed to zcio (openConnection) for its readable.
 */
import { SO_RCVBUF, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcConnect } from "../../mod.ts";
import { connectionConfig } from "../../streams/options.ts";
import { openConnection } from "../../streams/open_connection.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, int32, sys, XorShift } from "../helpers.ts";

const MAX = 60 * 1024;
/** Datagrams sent and not yet read: with a 4 MiB+ receive buffer, no datagram is ever dropped. */
const WINDOW = 32;

/** The size of datagram `seq`, from a seeded PRNG both ends share. */
const sizesFor = (seed: number, count: number): number[] => {
  const rng = new XorShift(seed);
  const sizes = [1, 2, 3, 4, 5, MAX, 16383, 16384, 16385];
  while (sizes.length < count) {
    sizes.push(rng.below(2) === 0 ? rng.logUniform(1, 16383) : rng.logUniform(16384, MAX));
  }
  return sizes;
};

/** Datagram `seq`: seeded content, its first 4 bytes (when it has them) the sequence number. */
const datagram = (seq: number, size: number, into?: Uint8Array): Uint8Array => {
  const d = into ?? new Uint8Array(size);
  new XorShift(0x9e3779b9 ^ Math.imul(seq + 1, 0x85ebca6b)).fill(d);
  if (size >= 4) new DataView(d.buffer, d.byteOffset, 4).setUint32(0, seq, true);
  return d;
};

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

for (const [hostname, DATAGRAMS] of [["127.0.0.1", 20000], ["::1", 5000]] as const) {
  test(`udp integrity (${hostname}): ${DATAGRAMS} seeded datagrams from 1 B to 60 KiB arrive whole, once each, in order`, async () => {
    const sizes = sizesFor(0xd47a + DATAGRAMS, DATAGRAMS);
    const raw = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK, hostname);
    assertEquals(sys.setsockopt(raw.fd, SOL_SOCKET, SO_RCVBUF, int32(4 << 20)), 0);
    const rcvbuf = new Int32Array(1);
    sys.getsockopt(raw.fd, SOL_SOCKET, SO_RCVBUF, new Uint8Array(rcvbuf.buffer));
    // Every datagram in the window, at its largest, with the kernel's per-packet overhead counted twice.
    assert(rcvbuf[0] >= WINDOW * (MAX + 4096) * 2, `receive buffer ${rcvbuf[0]} holds the window`);

    const sender = await zcConnect({ hostname, port: raw.port, transport: "udp", backend: "copy" });
    assertEquals(sys.connect(raw.fd, encodeSockaddr(hostname, sender.localAddr.port)!), 0);
    const receiver = await openConnection(raw.fd, connectionConfig({}, "udp", true));

    let received = 0, receivedBytes = 0;
    let progress: (() => void) | undefined;
    const reading = (async () => {
      const reader = receiver.readable.getReader();
      const expected = new Uint8Array(MAX);
      while (received < DATAGRAMS) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the receiving stream ended early");
        const seq = received;
        if (value.length >= 4) {
          const got = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
          assertEquals(got, seq, "sequence number (a lost, duplicated or reordered datagram)");
        }
        assertEquals(value.length, sizes[seq], `size of datagram ${seq}`);
        assert(equalBytes(value, datagram(seq, sizes[seq], expected.subarray(0, sizes[seq]))), `content of datagram ${seq}`);
        received++;
        receivedBytes += value.length;
        progress?.();
      }
      reader.releaseLock();
    })();
    // A failed check ends the reader; make the sender stop waiting for it too.
    let readError: unknown;
    reading.catch((e) => {
      readError = e;
      progress?.();
    });

    const writer = sender.writable.getWriter();
    const scratch = new Uint8Array(MAX);
    let sentBytes = 0;
    for (let seq = 0; seq < DATAGRAMS; seq++) {
      while (seq - received >= WINDOW && readError === undefined) {
        await new Promise<void>((resolve) => (progress = resolve));
      }
      if (readError !== undefined) break;
      // Reuse one buffer for odd datagrams: each write resolves only once its datagram is sent.
      const d = seq % 2 === 1 ? datagram(seq, sizes[seq], scratch.subarray(0, sizes[seq])) : datagram(seq, sizes[seq]);
      await writer.write(d);
      sentBytes += d.length;
    }
    await reading;
    assertEquals(received, DATAGRAMS, "every datagram arrived");
    assertEquals(receivedBytes, sentBytes);

    const stats = sender.stats();
    assertEquals(stats.chunks, DATAGRAMS);
    assertEquals(stats.bytes.copy, sentBytes, "bytes.copy is every byte sent");
    assert(stats.syscalls <= DATAGRAMS, `at most one sendmmsg per datagram: ${stats.syscalls}`);
    assertEquals(receiver.stats().bytesReceived, sentBytes);

    // Nothing more is in flight: no stray or duplicated datagram follows the last one.
    await writer.close();
    const extra = await Promise.race([
      receiver.readable.getReader().read().then((r) => (r.done ? "end" : `a datagram of ${r.value.length} bytes`)),
      new Promise<string>((resolve) => setTimeout(() => resolve("nothing"), 200)),
    ]);
    assertEquals(extra, "nothing");
    await sender.close();
    await receiver.close();
  });
}

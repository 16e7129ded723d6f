/**
 * A UDP socket survives ICMP errors, the same with every backend: sending to a loopback port where
 * nothing listens brings back an ICMP port unreachable per datagram, which the kernel reports as
 * ECONNREFUSED on the socket's next send or receive. A send refused that way sent nothing, so it
 * goes again; every write resolves, close resolves, and the last refusal is reported where a
 * receive sees it: the next read of the connection's readable rejects with ECONNREFUSED.
 */
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import { zcConnect, ZcioError } from "../../mod.ts";
import { assertEquals, test } from "../harness.ts";
import { boundSocket, sleep, sys, withTimeout } from "../helpers.ts";

const BACKENDS = ["copy", "msg_zerocopy", "io_uring", "auto"] as const;
const DATAGRAMS = 60;

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: unknown) => `rejected with ${e instanceof ZcioError ? e.code : String(e)}`,
  );

/**
 * How the datagrams go: one write at a time; in bursts of four unawaited writes (one io_uring chain,
 * whose refused request cancels the rest); large chunks of the caller's (borrowed: sent from its
 * memory by a plain send); or large chunks taken over with `transferBuffers` (owned: SEND_ZC or
 * MSG_ZEROCOPY, whose buffers stay pinned until their notifications).
 */
const MODES = [
  { mode: "one at a time", size: 32, burst: 1, transferBuffers: false },
  { mode: "in bursts", size: 32, burst: 4, transferBuffers: false },
  { mode: "borrowed", size: 20000, burst: 1, transferBuffers: false },
  { mode: "owned", size: 20000, burst: 2, transferBuffers: true },
] as const;

for (const backend of BACKENDS) {
  for (const { mode, size, burst, transferBuffers } of MODES) {
    test(`udp port unreachable (${backend}, ${mode}): ICMP errors end nothing; every write and close resolve, read reports ECONNREFUSED`, async () => {
      // A free port: bound, then closed again, so nothing listens on it.
      const probe = boundSocket(SOCK_DGRAM);
      sys.close(probe.fd);
      const conn = await zcConnect({ hostname: "127.0.0.1", port: probe.port, transport: "udp", backend, transferBuffers });
      const writer = conn.writable.getWriter();
      const failed: string[] = [];
      for (let i = 0; i < DATAGRAMS; i += burst) {
        const writes: Promise<string>[] = [];
        for (let j = i; j < i + burst; j++) writes.push(outcome(writer.write(new Uint8Array(size).fill(j))));
        const results = await withTimeout(Promise.all(writes), 5000, `writes ${i}..${i + burst - 1}`);
        for (const [j, result] of results.entries()) if (result !== "ok") failed.push(`write ${i + j}: ${result}`);
        // Time for the ICMP errors of these datagrams to come back before the next ones.
        await sleep(2);
      }
      assertEquals(failed, [], "writes that failed");
      assertEquals(await withTimeout(outcome(writer.close()), 5000, "writer.close()"), "ok", "writer.close()");
      const { bytes } = conn.stats();
      assertEquals(bytes.copy + bytes.msg_zerocopy + bytes.io_uring, DATAGRAMS * size, "every datagram was sent (a refused send goes again)");
      const reader = conn.readable.getReader();
      const read = await withTimeout(
        reader.read().then(
          (r) => (r.done ? "end" : `a datagram of ${r.value.length} bytes`),
          (e: unknown) => `rejected with ${e instanceof ZcioError ? e.code : String(e)}`,
        ),
        5000,
        "read()",
      );
      assertEquals(read, "rejected with ECONNREFUSED", "the read after the last refused datagram");
      reader.releaseLock();
      assertEquals(await withTimeout(outcome(conn.close()), 5000, "conn.close()"), "ok", "conn.close()");
    });
  }
}

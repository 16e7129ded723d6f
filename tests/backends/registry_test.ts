/**
 * The backend registry: every name has its opener, and a backend that cannot run on a socket falls
 * to the one it names, with the reason in stats. An AF_UNIX socket refuses SO_ZEROCOPY
 * (EOPNOTSUPP), so `msg_zerocopy` there sends by copy, and every datagram still arrives.
 */
import { BACKENDS } from "../../backends/registry.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/constants.ts";
import { BACKEND_NAMES, zcWritable } from "../../mod.ts";
import { assertEquals, test } from "../harness.ts";
import { randomBytes, sys, withTimeout } from "../helpers.ts";

test("registry: every backend name has its opener, and only those", () => {
  assertEquals(Object.keys(BACKENDS), [...BACKEND_NAMES]);
});

test("registry: msg_zerocopy on a socket that refuses SO_ZEROCOPY sends by copy and says why", async () => {
  // An abstract AF_UNIX address: a NUL, then the name.
  const name = `\0zcio-registry-${Date.now()}-${Math.random()}`;
  const address = new Uint8Array(2 + name.length);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(new TextEncoder().encode(name), 2);
  const receiver = sys.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const sender = sys.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  try {
    assertEquals([sys.bind(receiver, address), sys.connect(sender, address)], [0, 0], "a connected AF_UNIX datagram pair");
    const writable = zcWritable(sender, { backend: "msg_zerocopy" });
    const writer = writable.getWriter();
    const datagrams = [randomBytes(100, 1), randomBytes(20_000, 2), randomBytes(60_000, 3)];
    for (const datagram of datagrams) await writer.write(datagram);
    await writer.close();
    const stats = writable.stats();
    assertEquals(stats.downgradeReasons, ["msg_zerocopy: SO_ZEROCOPY failed with EOPNOTSUPP; using copy"]);
    assertEquals(stats.bytes.copy, 80_100, "every byte went by copy");
    const buffer = new Uint8Array(65536);
    for (const datagram of datagrams) {
      const n = await withTimeout(
        (async () => {
          for (;;) {
            const r = sys.recv(receiver, buffer, 0);
            if (r >= 0) return r;
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        })(),
        5000,
        "a datagram",
      );
      assertEquals(buffer.subarray(0, n), datagram, "each datagram arrives whole, in order");
    }
  } finally {
    sys.close(sender);
    sys.close(receiver);
  }
});

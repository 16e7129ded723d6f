/**
 * Not a test file: a program faults_test.ts runs in a child process inside a private network
 * namespace whose net.core.optmem_max it has made tiny, so MSG_ZEROCOPY sends fail with ENOBUFS
 * (the kernel cannot charge their notification to the socket's option memory). It sends a seeded
 * mix of owned, borrowed and staged chunks over that namespace's loopback to a reader in this
 * process and prints one JSON line: the SHA-256 of what was sent and of what arrived, and stats.
 * Exits 0 when every byte arrived in order, 1 otherwise.
 *
 * Arguments: backend, MiB to send, seed.
 */
import { zcConnect, zcListen } from "../../mod.ts";
import { XorShift } from "../helpers.ts";
import { childArgs, Digest, exitNow, sysctl } from "../reliability.ts";

const [backend, mib, seed] = childArgs();
const total = Number(mib) << 20;
const listener = await zcListen({ port: 0 });
const accepted = listener.accept();
const client = await zcConnect({
  hostname: "127.0.0.1",
  port: listener.addr.port,
  backend: backend as "msg_zerocopy",
  // Try zero-copy again soon after each downgrade, so the ENOBUFS path is taken over and over.
  reprobeBytes: 256 * 1024,
  transferBuffers: true,
});
const server = (await accepted)!;
const received = new Digest();
const reading = (async () => {
  for await (const bytes of server.readable) received.update(bytes);
})();

const rng = new XorShift(Number(seed));
const pool = new Uint8Array(8 << 20);
rng.fill(pool);
const sent = new Digest();
const writer = client.writable.getWriter();
let owned = 0, borrowed = 0, staged = 0;
while (sent.length < total) {
  const kind = rng.below(10);
  const size = kind < 1 ? 1 + rng.below(16 * 1024 - 1) : 16 * 1024 + rng.below(1 << 20);
  const at = rng.below(pool.length - size);
  // Owned: a fresh whole buffer (taken over); borrowed: a view into the pool; staged: small.
  const chunk = kind < 1 ? pool.subarray(at, at + size) : kind < 3 ? pool.subarray(at, at + size) : pool.slice(at, at + size);
  if (kind < 1) staged++;
  else if (kind < 3) borrowed++;
  else owned++;
  sent.update(chunk);
  await writer.write(chunk);
}
await writer.close();
await reading;
const stats = client.stats();
await client.close();
await server.close();
listener.close();
const sentHex = sent.hex(), receivedHex = received.hex();
const ok = sentHex === receivedHex && sent.length === received.length;
console.log(JSON.stringify({
  ok,
  optmem: sysctl("net/core/optmem_max"),
  sentBytes: sent.length,
  receivedBytes: received.length,
  sentHex,
  receivedHex,
  chunks: { owned, borrowed, staged },
  stats,
}));
exitNow(ok ? 0 : 1);

/**
 * Not a test file: a program send_stats_test.ts runs in a child process, on the host's loopback,
 * in a private network namespace with a tiny net.core.optmem_max, or without CAP_IPC_LOCK under a
 * small RLIMIT_MEMLOCK. It writes 8 MiB to a reader in this process (256 KiB leases, the caller's
 * 256 KiB buffer again and again, or 1 KiB chunks) and prints one JSON line: the bytes that arrived
 * and the connection's stats once it is closed.
 *
 * Arguments: backend, what to write ("leases", "caller buffers" or "small chunks").
 */
import { zcConnect, zcListen } from "../../mod.ts";
import { childArgs, exitNow } from "../reliability.ts";

const [backend, writes] = childArgs();
const TOTAL = 8 << 20;
const size = writes === "small chunks" ? 1024 : 256 * 1024;
const listener = await zcListen({ hostname: "127.0.0.1", port: 0 });
const accepted = listener.accept();
const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, backend: backend as "auto" });
const server = (await accepted)!;
let received = 0;
const reading = (async () => {
  for await (const bytes of server.readable) received += bytes.byteLength;
})();
const writer = client.writable.getWriter();
const buffer = new Uint8Array(size);
for (let sent = 0; sent < TOTAL; sent += size) await writer.write(writes === "leases" ? await client.lease(size) : buffer);
await writer.close();
await client.close();
await reading;
await server.close();
listener.close();
console.log(JSON.stringify({ received, stats: client.stats() }));
exitNow(received === TOTAL ? 0 : 1);

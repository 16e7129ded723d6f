/**
 * A listener and a client on 127.0.0.1: the client streams 64 MiB, the server counts it.
 * Run: `bun examples/echo_pair.ts`, `deno run -A examples/echo_pair.ts`, or `node dist/examples/echo_pair.js`.
 */
import { zcConnect, zcListen } from "../mod.ts";

const listener = await zcListen({ port: 0 });
const server = (async () => {
  const conn = (await listener.accept())!;
  let bytes = 0;
  for await (const chunk of conn.readable) bytes += chunk.length;
  await conn.close();
  return bytes;
})();

const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
const writer = client.writable.getWriter();
const chunk = new Uint8Array(64 * 1024);
for (let i = 0; i < 1024; i++) await writer.write(chunk); // copied or borrowed: safe to reuse after each write
await writer.close();
const received = await server;
console.log(client.stats());
console.log(`server received ${received} bytes`);
await client.close();
listener.close();

/**
 * Not a test file: the receiving side peer_killed_test.ts runs in a child process. It connects to
 * the test's listener, reads `readBytes` of the stream and checks each byte (the stream is
 * `randomBytes(poolBytes, seed)` over and over), stops reading for a moment so the sender's
 * socket fills, prints one JSON line (how much it read and whether every byte was right), and then
 * kills itself with SIGKILL: no close, no FIN, its unread bytes dropped by the kernel.
 *
 * Arguments: port, readBytes, poolBytes, seed.
 */
import process from "node:process";
import { zcConnect } from "../../mod.ts";
import { randomBytes, sleep } from "../helpers.ts";
import { childArgs } from "../reliability.ts";

const [port, want, poolBytes, seed] = childArgs().map(Number);
const pool = randomBytes(poolBytes, seed);
const conn = await zcConnect({ hostname: "127.0.0.1", port });
const reader = conn.readable.getReader();
let read = 0, wrongAt = -1;
while (read < want) {
  const { value, done } = await reader.read();
  if (done) break;
  for (let i = 0; i < value.length && wrongAt < 0; i++) if (value[i] !== pool[(read + i) % pool.length]) wrongAt = read + i;
  read += value.length;
}
await sleep(300);
console.log(JSON.stringify({ read, wrongAt }));
process.kill(process.pid, "SIGKILL");

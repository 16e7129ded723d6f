/**
 * Child of send_file_test.ts, run without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH so that file
 * permissions hold for root too: `sendFile` of the file named in its arguments (mode 000), then a
 * write on the same stream. Prints one JSON report line: the error and what the peer received.
 */
import { ZcioError } from "../../mod.ts";
import { connectedPair, readAll } from "../helpers.ts";
import { childArgs, exitNow } from "../reliability.ts";

const [path] = childArgs();
const pair = await connectedPair();
const client = pair.client;
const received = readAll(pair.server.readable);
let error: Record<string, unknown> | undefined;
try {
  await client.sendFile(path);
} catch (e) {
  error = e instanceof ZcioError ? { code: e.code, errno: e.errno, message: e.message, bytesSent: e.bytesSent } : { other: String(e) };
}
const writer = client.writable.getWriter();
await writer.write(new TextEncoder().encode("after"));
await writer.close();
const got = new TextDecoder().decode(await received);
await pair.close();
console.log(JSON.stringify({ error, received: got }));
exitNow(0);

/**
 * Not a test file: a program that waiter_test.ts runs in a child process to check that zcio leaves
 * nothing outstanding that keeps an idle process alive. It prints what it did and then just ends.
 * Argument: "error" (arm an fd that is not open, take the POLLERR) or "connection" (a full
 * listen, connect, send, close cycle).
 */
import * as Effect from "effect/Effect";
import { POLLIN } from "../../ffi/constants.ts";
import { zcConnect, zcListen } from "../../mod.ts";
import { WaiterService } from "../../scheduler/waiter_service.ts";
import { zcRuntime } from "../../scheduler/zc_runtime.ts";

const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const mode = g.Deno !== undefined ? g.Deno.args[0] : g.process!.argv[2];

if (mode === "error") {
  const waiter = await zcRuntime().runPromise(Effect.gen(function* () {
    return yield* WaiterService;
  }));
  const watch = waiter.watch(1 << 30);
  const fired = new Promise<number>((resolve) => (watch.onReadable = resolve));
  waiter.arm(watch, POLLIN);
  console.log(`fired ${await fired} armed ${waiter.armedCount}`);
} else {
  const listener = await zcListen({ port: 0 });
  const accepted = listener.accept();
  const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = (await accepted)!;
  const writer = client.writable.getWriter();
  await writer.write(new Uint8Array(100000));
  await writer.close();
  let n = 0;
  for await (const chunk of server.readable) n += chunk.length;
  await client.close();
  await server.close();
  listener.close();
  console.log(`received ${n}`);
}

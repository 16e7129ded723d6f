/**
 * Not a test file: a program fd_exhaustion_test.ts runs in a child process, because it lowers its
 * own RLIMIT_NOFILE (in the test process that would starve every other test running there). With
 * backend `backend`, it opens a listener (and, "warm", first a few connections and one it keeps;
 * "cold", none, so zcio's first wait on an fd comes at the limit), lowers the soft limit to a few
 * fds above the highest open one, and fills those with plain sockets until socket() fails EMFILE.
 * Then, with no fd to spare:
 * - zcConnect must reject with EMFILE (the socket cannot be made);
 * - with one fd freed, zcConnect gets it and connects, and the listener's accept(), waiting since
 *   before, must reject with EMFILE (the kernel has the connection queued, but there is no fd to
 *   accept it into);
 * - warm: the connection opened before keeps moving bytes.
 * Each of those must settle within 5 s. Then the fillers are closed and: the listener accepts the
 * queued connection, a new connection is opened and accepted, and both carry seeded bytes checked
 * by SHA-256. The limit is restored, everything closed, and it prints one JSON line.
 *
 * Arguments: backend, "warm" or "cold".
 */
import { readdirSync } from "node:fs";
import { EMFILE, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/constants.ts";
import { type BackendChoice, zcConnect, type ZcConnection, ZcioError, zcListen } from "../../mod.ts";
import { connectedPair, openFds, randomBytes, sys, warmUp, withTimeout } from "../helpers.ts";
import { childArgs, Digest, fdLimit, setFdLimit } from "../reliability.ts";

const [backend, mode] = childArgs() as [BackendChoice, "warm" | "cold"];
const MiB = 1 << 20;
/** Fds between the highest open one and the lowered limit, all taken by fillers. */
const HEADROOM = 16;

/** Writes `bytes` on `from` and reads them on `to`; returns whether they arrived intact. */
const carries = async (from: ZcConnection, to: ZcConnection, bytes: Uint8Array): Promise<boolean> => {
  const sent = new Digest(), received = new Digest();
  sent.update(bytes);
  const writer = from.writable.getWriter();
  const writing = writer.write(bytes);
  const reader = to.readable.getReader();
  while (received.length < bytes.length) {
    const { value, done } = await reader.read();
    if (done) break;
    received.update(value);
  }
  await writing;
  writer.releaseLock();
  reader.releaseLock();
  return received.length === bytes.length && received.hex() === sent.hex();
};

/** What a call that must fail with EMFILE did: its error's code, errno and message, or what it did instead. */
const outcome = async (call: Promise<unknown>, what: string) => {
  try {
    await withTimeout(call, 5000, what);
    return { code: "resolved" };
  } catch (e) {
    if (e instanceof ZcioError) return { code: e.code, errno: e.errno, message: e.message };
    return { code: "other", message: String(e) };
  }
};

// Warm: zcio has waited on fds and carried bytes before, so whatever it starts once per process
// (the waiter's thread, io_uring's ring) exists. Cold: its first wait comes at the limit.
if (mode === "warm") await warmUp();
const fdsAtStart = openFds();
const listener = await zcListen({ port: 0, backend });
const connect = () => zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, backend });
const established = mode === "warm" ? await connectedPair("127.0.0.1", { backend }) : undefined;
const limitBefore = fdLimit();
const highest = Math.max(...readdirSync("/proc/self/fd").map(Number));
setFdLimit({ soft: highest + 1 + HEADROOM, hard: limitBefore.hard });
const fillers: number[] = [];
for (;;) {
  const fd = sys.socket(2, /* AF_INET */ SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd === -EMFILE) break;
  if (fd < 0) throw new Error(`socket failed: ${fd}`);
  fillers.push(fd);
}

const connectAtLimit = await outcome(connect(), "zcConnect with no fd free");
// accept() finds nothing queued and waits; the connection then takes the one fd freed, so when it
// arrives and wakes accept(), there is none left to accept it into.
const waitingAccept = outcome(listener.accept(), "accept() with no fd free");
sys.close(fillers.pop()!);
const queued = await withTimeout(connect(), 5000, "zcConnect with one fd free");
const acceptAtLimit = await waitingAccept;
const establishedAtLimit = established && (await carries(established.client, established.server, randomBytes(MiB, 1)));

for (const fd of fillers) sys.close(fd);
const accepted = (await withTimeout(listener.accept(), 5000, "accept() once fds are free"))!;
const queuedCarries = await carries(queued, accepted, randomBytes(4 * MiB, 2));
const fresh = await withTimeout(connect(), 5000, "zcConnect once fds are free");
const freshAccepted = (await withTimeout(listener.accept(), 5000, "accepting it"))!;
const freshCarries = (await carries(fresh, freshAccepted, randomBytes(4 * MiB, 3))) && (await carries(freshAccepted, fresh, randomBytes(MiB, 4)));
setFdLimit(limitBefore);
const limitRestored = fdLimit();

for (const conn of [queued, accepted, fresh, freshAccepted]) await conn.close();
await established?.close();
listener.close();
console.log(JSON.stringify({
  backend,
  mode,
  limit: highest + 1 + HEADROOM,
  fillers: fillers.length + 1,
  connectAtLimit,
  acceptAtLimit,
  establishedAtLimit,
  queuedCarries,
  freshCarries,
  limitRestored: limitRestored.soft === limitBefore.soft && limitRestored.hard === limitBefore.hard,
  fdsAtStart,
  fdsAtEnd: openFds(),
}));

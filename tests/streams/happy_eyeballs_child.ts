/**
 * Not a test file: a program happy_eyeballs_test.ts runs with an /etc/hosts of its own, in which
 * the name `zcio-two` stands for ::1 and 127.0.0.1. It makes the first address zcConnect tries
 * (the resolver's order) refuse or never answer on one port, as the scenario says, connects to
 * `zcio-two` on that port, and prints one JSON line: what happened and how long it took.
 *
 * Scenarios (the argument):
 * - "refused-first": the first address refuses, the second listens
 * - "silent-first": the first address never answers (a listener whose accept queue is full), the
 *   second listens
 * - "all-refused": both refuse
 * - "all-silent": neither answers; the connect has a timeout of 600 ms
 */
import { AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../../ffi/constants.ts";
import { decodeSockaddr, encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcConnect, type ZcConnection, ZcioError } from "../../mod.ts";
import { resolveAddresses } from "../../streams/resolve_addresses.ts";
import { assert } from "../harness.ts";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { acceptPending, sys, warmUp } from "../helpers.ts";
import { childArgs } from "../reliability.ts";

const HOST = "zcio-two";
const [scenario] = childArgs();

/**
 * This process's open sockets other than Unix ones: Deno opens Unix socket pairs of its own now and
 * then, so counting every fd would not tell whether a connect attempt's socket was left open.
 */
const openFds = (): number => {
  const unix = new Set(readFileSync("/proc/self/net/unix", "utf8").trim().split("\n").map((line) => line.trim().split(/\s+/)[6]));
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      return inode !== undefined && !unix.has(inode);
    } catch {
      return false; // the directory's own fd, gone by now
    }
  }).length;
};

const familyOf = (hostname: string) => hostname.includes(":") ? AF_INET6 : AF_INET;

/** A TCP socket bound to `hostname:port`, or -errno. */
const bindAt = (hostname: string, port: number): number => {
  const fd = sys.socket(familyOf(hostname), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert(fd >= 0, `socket: ${fd}`);
  const r = sys.bind(fd, encodeSockaddr(hostname, port)!);
  if (r === 0) return fd;
  sys.close(fd);
  return r;
};

/** One port bound on both addresses: sockets bound there, neither listening yet. */
const samePort = (first: string, second: string): { port: number; fds: [number, number] } => {
  for (let tries = 0; tries < 20; tries++) {
    const a = bindAt(first, 0);
    const port = decodeSockaddr(localAddress(a)).port;
    const b = bindAt(second, port);
    if (b >= 0) return { port, fds: [a, b] };
    sys.close(a);
  }
  throw new Error("no port free on both addresses");
};

const localAddress = (fd: number): Uint8Array => {
  const addr = new Uint8Array(128);
  return addr.subarray(0, sys.getsockname(fd, addr));
};

/** Makes the bound socket `fd` a listener at `hostname:port` that answers no further SYN. */
const silence = (fd: number, hostname: string, port: number): number => {
  assert(sys.listen(fd, 0) === 0, "listen");
  const filler = sys.socket(familyOf(hostname), SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert(sys.connect(filler, encodeSockaddr(hostname, port)!) === 0, "the filler takes the one place in the queue");
  return filler;
};

await warmUp();
const order = (await resolveAddresses(HOST, 1)).map((a) => decodeSockaddr(a).hostname);
assert(order.length === 2, `${HOST} resolves to two addresses: ${order}`);
const [first, second] = order;
const { port, fds: [firstFd, secondFd] } = samePort(first, second);
const open: number[] = [firstFd, secondFd];
const listening = new Map<string, number>();
if (scenario === "refused-first" || scenario === "silent-first") {
  assert(sys.listen(secondFd, 16) === 0, "listen");
  listening.set(second, secondFd);
}
if (scenario === "silent-first" || scenario === "all-silent") {
  open.push(silence(firstFd, first, port));
  listening.set(first, firstFd);
}
if (scenario === "all-silent") {
  open.push(silence(secondFd, second, port));
  listening.set(second, secondFd);
}

const fdsBefore = openFds();
const started = Date.now();
let conn: ZcConnection | undefined, error: ZcioError | undefined;
try {
  conn = await zcConnect({ hostname: HOST, port, timeout: scenario === "all-silent" ? 600 : 10_000 });
} catch (e) {
  assert(e instanceof ZcioError, `a ZcioError: ${e}`);
  error = e;
}
const ms = Date.now() - started;
const remote = conn?.remoteAddr.hostname;
const fdsConnected = openFds();
await conn?.close();
const fdsAfter = openFds();
// Connections that reached each listener: its filler, and the one zcConnect kept.
const accepted = Object.fromEntries([...listening].map(([address, fd]) => [address, acceptPending(fd)]));
for (const fd of open) sys.close(fd);
console.log(JSON.stringify({
  scenario,
  order,
  ms,
  remote,
  code: error?.code,
  message: error?.message,
  fdsBefore,
  fdsConnected,
  fdsAfter,
  accepted,
}));

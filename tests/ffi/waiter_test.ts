/**
 * The process's epoll waiter over real loopback UDP socket pairs: one-shot interests, forget,
 * disarm, many fds in one wait. zcio's connections use this same waiter, so the tests use it too
 * (a second waiter would compete for the one off-thread wait a runtime adapter allows).
 */
import { spawnSync } from "node:child_process";
import { execPath } from "node:process";
import { fileURLToPath } from "node:url";
import { EBADF, MSG_DONTWAIT, POLLERR, POLLIN, POLLOUT, SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import type { Sys } from "../../ffi/sys.ts";
import { Waiter } from "../../ffi/waiter.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, openFds, processWaiter, sleep, sys, waitFor } from "../helpers.ts";

/** Two UDP sockets on 127.0.0.1 connected to each other. */
const udpPair = (): { a: number; b: number; close(): void } => {
  const a = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK), b = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  assertEquals(sys.connect(a.fd, encodeSockaddr("127.0.0.1", b.port)!), 0);
  assertEquals(sys.connect(b.fd, encodeSockaddr("127.0.0.1", a.port)!), 0);
  return { a: a.fd, b: b.fd, close: () => (sys.close(a.fd), sys.close(b.fd)) };
};

const send = (fd: number, byte: number) => assertEquals(sys.send(fd, new Uint8Array([byte]), 0), 1);

const pending = (fd: number): number[] => {
  const got: number[] = [], buf = new Uint8Array(16);
  for (;;) {
    const n = sys.recv(fd, buf, MSG_DONTWAIT);
    if (n < 0) return got;
    got.push(buf[0]);
  }
};

test("waiter: a POLLIN interest fires once when data arrives, and not again until re-armed", async () => {
  const waiter = await processWaiter();
  const base = waiter.armedCount;
  const p = udpPair();
  const watch = waiter.watch(p.a);
  const fired: number[] = [];
  watch.onReadable = (revents) => fired.push(revents);
  waiter.arm(watch, POLLIN);
  assertEquals(waiter.armedCount, base + 1);
  await sleep(100);
  assertEquals(fired.length, 0, "nothing fires before data arrives");
  send(p.b, 1);
  await waitFor(() => fired.length === 1, "POLLIN");
  assert((fired[0] & POLLIN) !== 0, `revents has POLLIN: ${fired[0]}`);
  assertEquals(waiter.armedCount, base, "a fired interest is no longer armed");
  send(p.b, 2);
  await sleep(150);
  assertEquals(fired.length, 1, "one-shot: more data does not fire a spent interest");
  waiter.arm(watch, POLLIN);
  await waitFor(() => fired.length === 2, "POLLIN after re-arming with data already queued");
  assertEquals(pending(p.a), [1, 2], "both datagrams are still there to read");
  waiter.forget(watch);
  p.close();
  assertEquals(waiter.armedCount, base);
});

test("waiter: POLLOUT fires at once on a writable socket while a POLLIN interest stays armed", async () => {
  const waiter = await processWaiter();
  const base = waiter.armedCount;
  const p = udpPair();
  const watch = waiter.watch(p.a);
  let readable = 0, writable = 0;
  watch.onReadable = () => readable++;
  watch.onWritable = () => writable++;
  waiter.arm(watch, POLLIN);
  waiter.arm(watch, POLLOUT);
  assertEquals(waiter.armedCount, base + 1, "one fd counts once, whatever bits it wants");
  await waitFor(() => writable === 1, "POLLOUT");
  await sleep(100);
  assertEquals([readable, writable], [0, 1], "POLLIN did not fire without data; POLLOUT fired once");
  assertEquals(waiter.armedCount, base + 1, "the POLLIN interest is still armed");
  send(p.b, 7);
  await waitFor(() => readable === 1, "POLLIN re-armed after POLLOUT fired");
  assertEquals(writable, 1, "POLLOUT was one-shot too");
  assertEquals(waiter.armedCount, base);
  assertEquals(pending(p.a), [7]);
  waiter.forget(watch);
  p.close();
});

test("waiter: a forgotten fd never fires, and a disarmed interest does not either", async () => {
  const waiter = await processWaiter();
  const base = waiter.armedCount;
  const p = udpPair(), q = udpPair();
  let forgottenFired = 0, disarmedFired = 0;
  const wf = waiter.watch(p.a);
  wf.onReadable = () => forgottenFired++;
  waiter.arm(wf, POLLIN);
  const wd = waiter.watch(q.a);
  wd.onReadable = () => disarmedFired++;
  waiter.arm(wd, POLLIN);
  assertEquals(waiter.armedCount, base + 2);
  waiter.forget(wf);
  waiter.disarm(wd, POLLIN);
  assertEquals(waiter.armedCount, base, "forget and disarm both drop the interest");
  assert(waiter.watch(p.a) !== wf, "a forgotten fd gets a fresh watch next time");
  send(p.b, 1);
  send(q.b, 1);
  await sleep(200);
  assertEquals([forgottenFired, disarmedFired], [0, 0]);
  // The disarmed fd can be armed again and then fires.
  waiter.arm(wd, POLLIN);
  await waitFor(() => disarmedFired === 1, "re-armed POLLIN");
  waiter.forget(waiter.watch(p.a));
  waiter.forget(wd);
  p.close();
  q.close();
  assertEquals(waiter.armedCount, base);
});

test("waiter: one wait serves many fds, each told once", async () => {
  const waiter = await processWaiter();
  const base = waiter.armedCount;
  const pairs = Array.from({ length: 16 }, udpPair);
  const counts = new Array<number>(pairs.length).fill(0);
  const watches = pairs.map((p, i) => {
    const w = waiter.watch(p.a);
    w.onReadable = () => counts[i]++;
    waiter.arm(w, POLLIN);
    return w;
  });
  assertEquals(waiter.armedCount, base + pairs.length);
  pairs.forEach((p, i) => send(p.b, i));
  await waitFor(() => counts.every((c) => c === 1), "every fd's POLLIN");
  await sleep(100);
  assertEquals(counts, new Array(pairs.length).fill(1));
  pairs.forEach((p, i) => assertEquals(pending(p.a), [i], `fd ${i} got its own datagram`));
  watches.forEach((w) => waiter.forget(w));
  pairs.forEach((p) => p.close());
  assertEquals(waiter.armedCount, base);
});

test("waiter: arming an fd that is not open reports POLLERR to its owner", async () => {
  const waiter = await processWaiter();
  const base = waiter.armedCount;
  // Above RLIMIT_NOFILE, so never an open fd.
  const fd = 1 << 30;
  assertEquals(sys.close(fd), -EBADF);
  const watch = waiter.watch(fd);
  const fired: number[] = [];
  watch.onReadable = (revents) => fired.push(revents);
  waiter.arm(watch, POLLIN);
  await waitFor(() => fired.length === 1, "the error event");
  assert((fired[0] & POLLERR) !== 0, `POLLERR reported: ${fired[0]}`);
  assertEquals(waiter.armedCount, base, "the failed interest is not left armed");
  waiter.forget(watch);
});

/** Runs waiter_exit_child in a fresh process of this runtime; returns its exit status and output. */
const runChild = (mode: string): { status: number | null; stdout: string } => {
  const ext = import.meta.url.endsWith(".js") ? ".js" : ".ts"; // Node runs the compiled tests
  const script = fileURLToPath(new URL(`./waiter_exit_child${ext}`, import.meta.url));
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const args = g.Deno !== undefined ? ["run", "-A", script, mode] : [script, mode];
  const r = spawnSync(g.Bun !== undefined || g.Deno !== undefined ? execPath : "node", args, {
    timeout: 20_000,
    encoding: "utf8",
  });
  return { status: r.status, stdout: String(r.stdout ?? "") + String(r.stderr ?? "") };
};

test("waiter: after an error event on a bad fd nothing is left waiting, so an idle process exits", () => {
  const r = runChild("error");
  const seen = /fired (\d+) armed (\d+)/.exec(r.stdout);
  assert(seen !== null && (Number(seen[1]) & POLLERR) !== 0, `the child saw POLLERR: ${r.stdout}`);
  assertEquals(seen[2], "0", "and nothing was left armed");
  assertEquals(r.status, 0, `the child exited by itself (null: killed after 20 s): ${r.stdout}`);
});

test("waiter: after a connection is closed nothing is left waiting, so an idle process exits", () => {
  const r = runChild("connection");
  assert(r.stdout.includes("received 100000"), `the child sent and received: ${r.stdout}`);
  assertEquals(r.status, 0, `the child exited by itself (null: killed after 20 s): ${r.stdout}`);
});

test("waiter: when the kernel refuses to watch its wake-up fd, the constructor throws and leaves no fd open", () => {
  const before = openFds();
  // The real kernel refuses: the "wake-up fd" handed over is the epoll set itself (EINVAL).
  let epfd = -1;
  const refusing: Sys = {
    ...sys,
    epollCreate: (flags: number) => (epfd = sys.epollCreate(flags)),
    eventfd: () => epfd,
  };
  let thrown: unknown;
  try {
    new Waiter(refusing);
  } catch (e) {
    thrown = e;
  }
  assert(thrown instanceof ZcioError && thrown.code === "EINVAL", `epoll_ctl's EINVAL: ${thrown}`);
  assertEquals(openFds(), before, "no fd left open");
});

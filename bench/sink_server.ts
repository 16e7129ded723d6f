/**
 * The benchmark's TCP receiver, run as a child process so it has a core of its own: it accepts
 * connections on 127.0.0.1 one at a time, discards what arrives and, at end of stream, answers with
 * the byte count (8 bytes, a little-endian float64) and closes. Prints its port on the first line of
 * stdout.
 *
 * It costs the sender as little as a receiver can, so that the loopback cells measure senders: the
 * bytes are dropped in the kernel without being copied out (`recv` with MSG_TRUNC), and a read wakes
 * only once {@link WAKE_AT_BYTES} have arrived (SO_RCVLOWAT). A receiver that woke for every
 * segment would hold the socket while the sender's segments queued behind it, and one that read
 * every byte into JavaScript would be slower than any sender it measures.
 *
 * It blocks in `accept` and `recv` (through FFI, so all of them are system calls): there is nothing
 * else for it to do.
 *
 * @module
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { AF_INET, MSG_TRUNC, SO_RCVLOWAT, SOCK_CLOEXEC, SOCK_STREAM, SOL_SOCKET } from "../ffi/constants.ts";
import { errnoName } from "../ffi/errno_name.ts";
import { loadSys } from "../ffi/load_sys.ts";
import { decodeSockaddr, encodeSockaddr } from "../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { pinProcess } from "./cpu_affinity.ts";

/** How much a read waits for. */
const WAKE_AT_BYTES = 1 << 20;

const sys = await loadSys();
const check = (what: string, r: number): number => {
  if (r >= 0) return r;
  console.error(`sink: ${what} failed with ${errnoName(-r)}`);
  process.exit(1);
};

// `--cpu N`: the core the bench keeps for the sink alone.
const cpuAt = process.argv.indexOf("--cpu");
if (cpuAt >= 0 && !pinProcess(sys, [Number(process.argv[cpuAt + 1])])) {
  console.error(`sink: cannot pin itself to CPU ${process.argv[cpuAt + 1]}`);
  process.exit(1);
}

const listener = check("socket", sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
check("bind", sys.bind(listener, encodeSockaddr("127.0.0.1", 0)!));
check("listen", sys.listen(listener, 16));
const local = new Uint8Array(SOCKADDR_STORAGE_SIZE);
const localLength = check("getsockname", sys.getsockname(listener, local));
// Written at once: the loop below never returns to the event loop that would flush console.log.
writeSync(1, `${decodeSockaddr(local.subarray(0, localLength)).port}\n`);

const wakeAt = new Uint8Array(new Int32Array([WAKE_AT_BYTES]).buffer);
// The kernel discards up to this many bytes per read and never writes into it.
const discard = new Uint8Array(4 * WAKE_AT_BYTES);
const answer = new Uint8Array(8);
const answerView = new DataView(answer.buffer);
for (;;) {
  const conn = check("accept", sys.accept4(listener, SOCK_CLOEXEC));
  check("setsockopt(SO_RCVLOWAT)", sys.setsockopt(conn, SOL_SOCKET, SO_RCVLOWAT, wakeAt));
  let count = 0;
  for (;;) {
    const n = sys.recv(conn, discard, MSG_TRUNC);
    if (n <= 0) break; // end of stream, or the sender reset the connection
    count += n;
  }
  answerView.setFloat64(0, count, true);
  sys.send(conn, answer, 0);
  sys.close(conn);
}

/**
 * The backend registry: a backend that cannot do what it is for on a socket says so and sends
 * another way. An AF_UNIX socket refuses SO_ZEROCOPY and SEND_ZC
 * (EOPNOTSUPP): on one, every backend and `auto` still deliver every byte, whole chunks given over
 * with `transferBuffers` included, and stats say why they were copied.
 */
import { URING_UNSUPPORTED_REASON } from "../../backends/io_uring.ts";
import { AF_UNIX, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM } from "../../ffi/constants.ts";
import { Slab } from "../../ffi/slab.ts";
import { BACKEND_NAMES, type BackendChoice, zcWritable } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, hashOf, randomBytes, sleep, sys } from "../helpers.ts";

const SYS_socketpair = 53;
const MSG_ZEROCOPY_REFUSED = "msg_zerocopy: SO_ZEROCOPY failed with EOPNOTSUPP";

/** A connected AF_UNIX pair of `type`: [sender, receiver]. */
const unixPair = (type: number): [number, number] => {
  const fds = Slab.map(sys, 4096);
  try {
    assertEquals(sys.syscall6(SYS_socketpair, AF_UNIX, type | SOCK_CLOEXEC, 0, fds.addr, 0, 0), 0, "socketpair");
    return [fds.data.getInt32(0, true), fds.data.getInt32(4, true)];
  } finally {
    fds.unmap();
  }
};

/** Reads `count` datagrams, or `count` bytes of a stream, from `fd`. */
const receive = async (fd: number, datagrams: boolean, count: number): Promise<Uint8Array[]> => {
  const got: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  const deadline = Date.now() + 10_000;
  let bytes = 0;
  while ((datagrams ? got.length : bytes) < count) {
    assert(Date.now() < deadline, `received ${datagrams ? got.length : bytes} of ${count}`);
    const n = sys.recv(fd, buffer, MSG_DONTWAIT);
    if (n < 0) {
      await sleep(1);
      continue;
    }
    got.push(buffer.slice(0, n));
    bytes += n;
  }
  return got;
};

const EXPECTED_REASONS: Record<BackendChoice, (reasons: readonly string[]) => boolean> = {
  copy: (reasons) => reasons.length === 0,
  msg_zerocopy: (reasons) => reasons.length === 1 && reasons[0] === `${MSG_ZEROCOPY_REFUSED}; using copy`,
  io_uring: (reasons) => reasons.length === 1 && reasons[0] === URING_UNSUPPORTED_REASON,
  // Its policy's next choice after msg_zerocopy is io_uring, which then refuses as well.
  auto: (reasons) =>
    reasons[0] === `${MSG_ZEROCOPY_REFUSED}; auto uses the policy's next choice` && reasons.slice(1).every((r) => r === URING_UNSUPPORTED_REASON),
};

for (const [kind, type] of [["datagram", SOCK_DGRAM], ["stream", SOCK_STREAM]] as const) {
  for (const backend of ["auto", ...BACKEND_NAMES] as const) {
    test(`registry (${backend}, AF_UNIX ${kind}): a socket that cannot send zero-copy gets every byte by copy, and stats say why`, async () => {
      const [sender, receiver] = unixPair(type);
      try {
        const writable = zcWritable(sender, { backend, transferBuffers: true });
        const writer = writable.getWriter();
        // Small and large chunks of the caller's, and whole buffers given over (owned, routed zero-copy).
        const chunks = [randomBytes(100, 1), randomBytes(20_000, 2), ...[3, 4, 5].map((seed) => randomBytes(32 * 1024, seed))];
        const sent = chunks.map((chunk) => chunk.slice());
        for (const chunk of chunks) await writer.write(chunk);
        await writer.close();
        const datagrams = type === SOCK_DGRAM;
        const got = await receive(receiver, datagrams, datagrams ? sent.length : concat(sent).length);
        if (datagrams) assertEquals(got.map(hashOf), sent.map(hashOf), "each datagram whole, in order");
        else assertEquals(hashOf(concat(got)), hashOf(concat(sent)), "the stream's bytes, in order");
        const stats = writable.stats();
        assert(EXPECTED_REASONS[backend](stats.downgradeReasons), `why it copied: ${JSON.stringify(stats.downgradeReasons)}`);
        assertEquals(stats.zeroCopiedBytes, 0, "nothing went zero-copy");
      } finally {
        sys.close(sender);
        sys.close(receiver);
      }
    });
  }
}

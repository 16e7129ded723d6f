/** The UDP copy backend over real loopback sockets: one datagram per segment, sendmmsg batches. */
import { SUBMITTED, WOULD_BLOCK } from "../../backends/backend.ts";
import { DATAGRAM_SENDER_CONTROL_BYTES, DatagramSender } from "../../backends/datagram_sender.ts";
import { OwnedBuffers } from "../../backends/owned_buffers.ts";
import { SendQueue } from "../../backends/send_queue.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { SO_RCVBUF, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET } from "../../ffi/constants.ts";
import { Slab } from "../../ffi/slab.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { boundSocket, drainFd, hashOf, int32, randomBytes, sys } from "../helpers.ts";

const setup = (peerPort?: number) => {
  const rx = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  sys.setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUF, int32(4 << 20));
  const tx = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  assertEquals(sys.connect(tx.fd, encodeSockaddr("127.0.0.1", peerPort ?? rx.port)!), 0);
  const slab = Slab.map(sys, DATAGRAM_SENDER_CONTROL_BYTES + (1 << 20));
  const done: Uint8Array[] = [];
  const queue = new SendQueue(
    slab.bytes.subarray(DATAGRAM_SENDER_CONTROL_BYTES),
    slab.addr + DATAGRAM_SENDER_CONTROL_BYTES,
    false,
    (v) => done.push(v),
    new OwnedBuffers(() => {}),
  );
  return {
    queue,
    done,
    stats: new SendStats(),
    backend: new DatagramSender(sys, tx.fd, slab, 0, undefined),
    rx: rx.fd,
    close: () => (sys.close(rx.fd), sys.close(tx.fd), slab.unmap()),
  };
};

test("datagram_sender: each segment is one datagram, 256 per sendmmsg, in order", () => {
  const s = setup();
  const datagrams: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    const d = randomBytes(i % 3 === 0 ? 20000 + i : 1 + i, i);
    datagrams.push(d);
    if (i % 3 === 0) s.queue.borrow(d);
    else s.queue.stage(d);
  }
  assertEquals(s.backend.submit(s.queue, s.stats), SUBMITTED);
  assertEquals(s.stats.syscalls, 2, "256 + 44 datagrams");
  assertEquals(s.done.length, 100);
  const got = drainFd(s.rx, new Uint8Array(65536));
  assertEquals(got.map((d) => d.length), datagrams.map((d) => d.length), "one datagram per segment, sizes kept");
  assertEquals(got.map(hashOf), datagrams.map(hashOf));
  assertEquals(s.stats.bytes.copy, datagrams.reduce((n, d) => n + d.length, 0));
  s.close();
});

test("datagram_sender: a peer port that refuses does not stop sending", () => {
  const closed = boundSocket(SOCK_DGRAM);
  sys.close(closed.fd);
  const s = setup(closed.port);
  let total = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 10; i++) {
      s.queue.stage(randomBytes(100, i));
      total += 100;
    }
    // Each send to a closed port brings back an ICMP port unreachable, which a later send reports
    // (and which may cut a batch short): never a failure, and every datagram still goes.
    for (let pass = 0; s.queue.length > 0; pass++) {
      const r = s.backend.submit(s.queue, s.stats);
      assert(r === SUBMITTED || r === WOULD_BLOCK, `round ${round}: submit gave ${r}`);
      assert(pass < 20, "progress on every pass");
    }
  }
  assertEquals(s.stats.bytes.copy, total);
  s.close();
});

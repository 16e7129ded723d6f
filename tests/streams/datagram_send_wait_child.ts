/**
 * Not a test file: a program zc_datagram_listener_test.ts runs in a private network namespace whose
 * loopback sends through a slow token bucket (tc tbf, 8 Mbit/s), so datagrams wait in the qdisc and
 * count against the sending socket's buffer until sendmsg answers EAGAIN. One datagram listener
 * sends 400 datagrams of 1400 bytes to another without awaiting them, and prints one JSON line: how
 * many sends were still pending a moment later, and what the receiver got, in order.
 */
import { assertPrivateNetns } from "../child_process.ts";
import { zcListen } from "../../mod.ts";
import { withTimeout } from "../helpers.ts";

assertPrivateNetns();
const COUNT = 400, SIZE = 1400;
const sender = await zcListen({ transport: "udp", port: 0 });
const receiver = await zcListen({ transport: "udp", port: 0 });
const received: number[] = [];
const receiving = (async () => {
  for await (const { data } of receiver.readable) {
    received.push(new DataView(data.buffer).getUint32(0, true));
    if (received.length === COUNT) return;
  }
})();
const sends: Promise<void>[] = [];
for (let i = 0; i < COUNT; i++) {
  const datagram = new Uint8Array(SIZE); // a send may wait, and read it only then
  new DataView(datagram.buffer).setUint32(0, i, true);
  sends.push(sender.send(datagram, receiver.addr));
}
let settled = 0;
for (const s of sends) s.then(() => settled++);
await new Promise((r) => setTimeout(r, 0));
const pendingAfterATick = COUNT - settled;
await withTimeout(Promise.all(sends), 30_000, "every send");
await withTimeout(receiving, 30_000, "every datagram");
sender.close();
receiver.close();
console.log(JSON.stringify({ pendingAfterATick, received: received.length, inOrder: received.every((seq, i) => seq === i) }));

/** FileSend: the off_t it hands sendfile(2), and that it settles once, letting its fd go once. */
import { FileSend } from "../../backends/file_send.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";

const offsetOf = (send: FileSend): number => {
  const d = new DataView(send.offset().buffer);
  return d.getUint32(0, true) + d.getUint32(4, true) * 2 ** 32;
};

test("file_send: the offset is start + sent as a little-endian 64-bit off_t, past 4 GiB too", () => {
  const send = new FileSend(-1, 5 * 2 ** 30 + 7, 100, () => {});
  assertEquals(offsetOf(send), 5 * 2 ** 30 + 7);
  send.sent = 90;
  assertEquals(offsetOf(send), 5 * 2 ** 30 + 97);
  assertEquals(send.offset().byteLength, 8);
});

test("file_send: it settles once; a failure carries the bytes sent; the fd is let go once", async () => {
  let released = 0;
  const send = new FileSend(-1, 0, 100, () => released++);
  send.sent = 40;
  send.fail(new ZcioError({ code: "ECONNRESET", errno: 104, message: "send failed: ECONNRESET" }));
  send.finish();
  send.fail(new ZcioError({ code: "ABORTED", message: "later" }));
  const e = await rejection(send.done);
  assert(e instanceof ZcioError, "a ZcioError");
  assertEquals([e.code, e.errno, e.bytesSent], ["ECONNRESET", 104, 40]);
  assert(e.message.includes("40 of 100 bytes"), e.message);
  assertEquals(released, 1, "released once");
  assert(send.isSettled, "settled");

  const done = new FileSend(-1, 0, 10, () => released++);
  done.sent = 10;
  done.finish();
  assertEquals(await done.done, 10, "resolves with the bytes sent");
  assertEquals(released, 2);
});

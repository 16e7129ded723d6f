import { errnoName } from "../../ffi/errno_name.ts";
import { errnoError, ZcioError } from "../../ffi/zcio_error.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("zcio_error: an errno failure carries the errno's name as code, the errno, the backend and advice", () => {
  const e = errnoError("send", -104, "copy");
  assert(e instanceof ZcioError && e instanceof Error, "a ZcioError and an Error");
  assertEquals(e.name, "ZcioError");
  assertEquals([e.code, e.errno, e.backend], ["ECONNRESET", 104, "copy"]);
  assert(e.message.startsWith("send failed: ECONNRESET (errno 104)"), e.message);
  assert(e.message.includes("open a new one"), "says what to do");
  const refused = errnoError("connect", -111);
  assertEquals([refused.code, refused.backend], ["ECONNREFUSED", undefined]);
  assert(refused.message.includes("check the host and port"), refused.message);
});

test("zcio_error: errno names, and a name for numbers zcio does not know", () => {
  assertEquals(errnoName(32), "EPIPE");
  assertEquals(errnoName(11), "EAGAIN");
  assertEquals(errnoName(105), "ENOBUFS");
  assertEquals(errnoName(115), "EINPROGRESS");
  assertEquals(errnoName(4095), "ERRNO_4095");
  const odd = errnoError("x", -4095);
  assertEquals(odd.code, "ERRNO_4095");
  assertEquals(odd.errno, 4095);
});

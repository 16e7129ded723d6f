import { Slab } from "../../ffi/slab.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, drainFd, hashOf, randomBytes, rawTcpPair, sys } from "../helpers.ts";

test("slab: maps whole pages of zeroed memory at a fixed address the kernel can read", () => {
  const slab = Slab.map(sys, 5000);
  assertEquals(slab.size, 8192, "rounded up to whole pages");
  assertEquals(slab.bytes.length, 8192);
  assertEquals(slab.addr % 4096, 0, "page aligned");
  assertEquals(sys.addressOf(slab.bytes), slab.addr, "the view starts at the mapped address");
  assert(slab.bytes.every((b) => b === 0), "anonymous memory starts zeroed");
  slab.data.setUint32(4, 0xdeadbeef, true);
  assertEquals([slab.bytes[4], slab.bytes[7]], [0xef, 0xde], "bytes and data are the same memory");
  // The kernel reads the slab: send from it over a real socket.
  const payload = randomBytes(8000, 1);
  slab.bytes.set(payload);
  const { a, b } = rawTcpPair();
  assertEquals(sys.send(a, slab.bytes.subarray(0, 8000), 0), 8000);
  const got = concat(drainFd(b));
  assertEquals(got.length, 8000);
  assertEquals(hashOf(got), hashOf(payload));
  sys.close(a);
  sys.close(b);
  assert(slab.mapped);
  slab.unmap();
  assert(!slab.mapped, "unmapped");
  slab.unmap(); // a second unmap is a no-op
  assertEquals(Slab.map(sys, 0).size, 4096, "at least one page");
});

test("slab: a refused mapping is a ZcioError naming mmap", () => {
  let error: unknown;
  try {
    Slab.map(sys, 2 ** 52); // more address space than x86_64 user space has
  } catch (e) {
    error = e;
  }
  assert(error instanceof ZcioError, `a ZcioError: ${error}`);
  assertEquals(error.code, "ENOMEM");
  assertEquals(error.errno, 12);
  assert(error.message.includes("mmap"), error.message);
});

import { AF_INET, AF_INET6 } from "../../ffi/constants.ts";
import { decodeSockaddr, encodeSockaddr, parseIPv6, sockaddrFamily } from "../../ffi/sockaddr.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("sockaddr: IPv4 round trip with a big-endian port", () => {
  const a = encodeSockaddr("127.0.0.1", 9000)!;
  assertEquals(a.length, 16);
  assertEquals(sockaddrFamily(a), AF_INET);
  assertEquals([a[2], a[3]], [0x23, 0x28]);
  assertEquals(decodeSockaddr(a), { hostname: "127.0.0.1", port: 9000, family: "IPv4" });
});

test("sockaddr: IPv6 forms, compression and v4-mapped", () => {
  const a = encodeSockaddr("::1", 443)!;
  assertEquals(a.length, 28);
  assertEquals(sockaddrFamily(a), AF_INET6);
  assertEquals(decodeSockaddr(a).hostname, "::1");
  assertEquals(Array.from(parseIPv6("::ffff:127.0.0.1")!.subarray(10)), [255, 255, 127, 0, 0, 1]);
  assertEquals(decodeSockaddr(encodeSockaddr("::ffff:127.0.0.1", 1)!).hostname, "::ffff:127.0.0.1");
  assertEquals(decodeSockaddr(encodeSockaddr("::fffe:7f00:1", 1)!).hostname, "::fffe:7f00:1");
  assertEquals(decodeSockaddr(encodeSockaddr("fe80:0:0:0:1:0:0:2", 1)!).hostname, "fe80::1:0:0:2");
  assert(parseIPv6("1::2::3") === undefined, "two :: are invalid");
  assert(encodeSockaddr("256.0.0.1", 1) === undefined, "octet over 255 is invalid");
  assert(encodeSockaddr("example.com", 1) === undefined, "names are not numeric");
});

import { checkHostname, checkPort, connectionConfig } from "../../streams/options.ts";
import { ZcioError } from "../../ffi/zcio_error.ts";
import { SizePolicy } from "../../backends/size_policy.ts";
import { assert, assertEquals, test } from "../harness.ts";

const failure = (f: () => unknown): ZcioError => {
  try {
    f();
  } catch (e) {
    assert(e instanceof ZcioError, `a ZcioError, got ${e}`);
    return e;
  }
  throw new Error("expected a throw");
};

test("options: defaults are auto, tcp, 512 KiB staging, 64 KiB + 1 stageBelow, 64 KiB reads, 64 MiB re-probe, 16 MiB owned, 64 MiB of leases, no transfer", () => {
  assertEquals(connectionConfig(undefined, undefined, true), {
    backend: "auto",
    transport: "tcp",
    ownsSocket: true,
    stagingBytes: 512 * 1024,
    stageBelow: 64 * 1024 + 1,
    readSize: 64 * 1024,
    reprobeBytes: 64 * 1024 * 1024,
    maxOwnedBytes: 16 * 1024 * 1024,
    maxLeaseBytes: 64 * 1024 * 1024,
    transferBuffers: false,
    policy: SizePolicy.builtIn,
  });
  assertEquals(
    connectionConfig({ backend: "copy", stagingBytes: 4096, stageBelow: 1024, readSize: 1 }, "udp", false),
    {
      backend: "copy",
      transport: "udp",
      ownsSocket: false,
      stagingBytes: 4096,
      stageBelow: 1024,
      readSize: 1,
      reprobeBytes: 64 * 1024 * 1024,
      maxOwnedBytes: 16 * 1024 * 1024,
      maxLeaseBytes: 64 * 1024 * 1024,
      transferBuffers: false,
      policy: SizePolicy.builtIn,
    },
  );
  assertEquals(connectionConfig({ stagingBytes: 1 << 30, stageBelow: 1 << 30, readSize: 1 << 26 }, "tcp", true).stageBelow, 1 << 30);
  assertEquals(connectionConfig({}, "udp", true).stageBelow, 16 * 1024, "UDP stages datagrams under 16 KiB");
  assertEquals(connectionConfig({ stagingBytes: 32 * 1024 }, "tcp", true).stageBelow, 4097, "an eighth of a smaller staging");
  assertEquals(connectionConfig({ backend: "io_uring" }, "tcp", true).backend, "io_uring");
  assertEquals(connectionConfig({ backend: "msg_zerocopy" }, "tcp", true).backend, "msg_zerocopy");
});

test("options: every bad tuning value is INVALID_OPTION naming the option", () => {
  const bad: [Record<string, unknown>, unknown, string][] = [
    [{ backend: "fast" }, "tcp", "backend"],
    [{ backend: "" }, "tcp", "backend"],
    [{ backend: 1 }, "tcp", "backend"],
    [{}, "sctp", "transport"],
    [{}, "TCP", "transport"],
    [{ stagingBytes: -1 }, "tcp", "stagingBytes"],
    [{ stagingBytes: 4095 }, "tcp", "stagingBytes"],
    [{ stagingBytes: 2 ** 30 + 1 }, "tcp", "stagingBytes"],
    [{ stagingBytes: 8192.5 }, "tcp", "stagingBytes"],
    [{ stagingBytes: "65536" }, "tcp", "stagingBytes"],
    [{ stagingBytes: NaN }, "tcp", "stagingBytes"],
    [{ stageBelow: -1 }, "tcp", "stageBelow"],
    [{ stageBelow: 1023 }, "tcp", "stageBelow"], // smaller views may move in Bun: always staged
    [{ stageBelow: 600 * 1024 }, "tcp", "stageBelow"], // above the default staging size
    [{ stagingBytes: 8192, stageBelow: 8193 }, "tcp", "stageBelow"],
    [{ readSize: -1 }, "tcp", "readSize"],
    [{ readSize: 0 }, "tcp", "readSize"],
    [{ readSize: Infinity }, "tcp", "readSize"],
  ];
  for (const [options, transport, name] of bad) {
    const e = failure(() => connectionConfig(options, transport, true));
    assertEquals(e.code, "INVALID_OPTION", JSON.stringify(options));
    assert(e.message.includes(name), `message names ${name}: ${e.message}`);
  }
  assertEquals(failure(() => connectionConfig(5 as never, "tcp", true)).code, "INVALID_OPTION");
});

test("options: ports and host names", () => {
  assertEquals(checkPort(1, false), 1);
  assertEquals(checkPort(65535, false), 65535);
  assertEquals(checkPort(0, true), 0, "0 is allowed where a free port is picked");
  for (const port of [0, -1, 65536, 1.5, "80", NaN, undefined, null]) {
    assertEquals(failure(() => checkPort(port, false)).code, "INVALID_OPTION", String(port));
  }
  assertEquals(failure(() => checkPort(-1, true)).code, "INVALID_OPTION");
  assertEquals(checkHostname("::1"), "::1");
  for (const name of ["", undefined, 7, null]) {
    assertEquals(failure(() => checkHostname(name)).code, "INVALID_OPTION", String(name));
  }
});

/**
 * Unknown and misspelled options: zcConnect, zcListen and zcWritable fail with INVALID_OPTION
 * naming the option (and the one it most likely meant) before any socket is opened.
 */
import { AF_INET, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/constants.ts";
import { zcConnect, ZcioError, zcListen, zcWritable } from "../../mod.ts";
import { checkOptionNames, OPTION_NAMES } from "../../streams/options.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { openFds, sys, warmUp } from "../helpers.ts";

const TUNING = [
  "backend",
  "stagingBytes",
  "stageBelow",
  "readSize",
  "reprobeBytes",
  "maxOwnedBytes",
  "maxLeaseBytes",
  "transferBuffers",
  "policy",
];

const sorted = (names: readonly string[]) => [...names].sort();

const assertUnknown = (e: unknown, name: string, meant: string | undefined, what: string): void => {
  assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
  assertEquals(e.code, "INVALID_OPTION", what);
  assert(e.message.includes(JSON.stringify(name)), `${what}: the message names ${name}: ${e.message}`);
  if (meant === undefined) assert(!e.message.includes("did you mean"), `${what}: no guess: ${e.message}`);
  else assert(e.message.includes(`did you mean ${JSON.stringify(meant)}?`), `${what}: suggests ${meant}: ${e.message}`);
};

test("option names: the one list holds every option of each function", () => {
  assertEquals(sorted(OPTION_NAMES.zcWritable), sorted(TUNING));
  assertEquals(
    sorted(OPTION_NAMES.zcConnect),
    sorted([...TUNING, "noDelay", "keepAlive", "hostname", "port", "transport", "signal", "timeout"]),
  );
  assertEquals(sorted(OPTION_NAMES.zcListen), sorted([...TUNING, "noDelay", "keepAlive", "hostname", "port", "transport", "backlog"]));
  assertEquals(sorted(OPTION_NAMES["zcListen (udp)"]), sorted(["transport", "hostname", "port", "readSize"]));
});

test("option names: a misspelled or unknown option is named, with the option it most likely meant", () => {
  const cases: [keyof typeof OPTION_NAMES, string, string | undefined][] = [
    ["zcConnect", "stagebelow", "stageBelow"], // case only
    ["zcConnect", "STAGINGBYTES", "stagingBytes"],
    ["zcConnect", "hostName", "hostname"],
    ["zcConnect", "transferBuffer", "transferBuffers"], // one edit
    ["zcConnect", "maxLeasBytes", "maxLeaseBytes"],
    ["zcConnect", "nodelay", "noDelay"],
    ["zcConnect", "keepalive", "keepAlive"],
    ["zcConnect", "timout", "timeout"],
    ["zcConnect", "backlog", undefined], // zcListen's, not zcConnect's
    ["zcConnect", "frobnicate", undefined],
    ["zcListen", "backlg", "backlog"],
    ["zcListen", "signal", undefined],
    ["zcListen (udp)", "backlog", undefined], // no connections to queue
    ["zcListen (udp)", "readsize", "readSize"],
    ["zcListen (udp)", "noDelay", undefined],
    ["zcListen", "timeout", undefined],
    ["zcWritable", "readsize", "readSize"],
    ["zcWritable", "hostname", undefined],
    ["zcWritable", "noDelay", undefined], // the program's own socket: zcio leaves its options alone
  ];
  for (const [where, name, meant] of cases) {
    let error: unknown;
    try {
      checkOptionNames({ [name]: 1 }, where);
    } catch (e) {
      error = e;
    }
    assertUnknown(error, name, meant, `${where} ${name}`);
  }
  for (const where of ["zcConnect", "zcListen", "zcListen (udp)", "zcWritable"] as const) {
    checkOptionNames(Object.fromEntries(OPTION_NAMES[where].map((n) => [n, 1])), where); // every known name passes
  }
});

test("option names: zcConnect, zcListen and zcWritable refuse an unknown option before opening anything", async () => {
  await warmUp();
  const fds = openFds();
  assertUnknown(await rejection(zcConnect({ hostname: "127.0.0.1", port: 9, stagebelow: 1024 } as never)), "stagebelow", "stageBelow", "zcConnect");
  assertUnknown(await rejection(zcListen({ port: 0, backlg: 5 } as never)), "backlg", "backlog", "zcListen");
  // Valid values of known options still pass (maxLeaseBytes and transferBuffers are options too).
  const listener = await zcListen({ port: 0, maxLeaseBytes: 1 << 20, transferBuffers: true, backlog: 4 });
  listener.close();
  assertEquals(openFds(), fds, "nothing left open");

  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  let error: unknown;
  try {
    zcWritable(fd, { transferbuffers: true } as never);
  } catch (e) {
    error = e;
  }
  assertUnknown(error, "transferbuffers", "transferBuffers", "zcWritable throws at once");
  sys.close(fd);
  assertEquals(openFds(), fds);
});

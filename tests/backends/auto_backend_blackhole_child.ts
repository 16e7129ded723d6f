/**
 * Not a test file: auto_backend_test.ts runs this in a private network namespace whose loopback
 * drops every packet at its qdisc, a sink the kernel really zero-copies to. Two connections, one
 * after the other, each write owned 60 KiB datagrams back to back. A write taken over for zero-copy
 * completes at once, so the send fiber runs only when the writer waits on a chunk the probe held
 * back for copy (and not on every one of those: an idle connection sends it at once).
 * Prints, as one JSON line, both connections' stats.
 */
import { zcConnect } from "../../mod.ts";
import { assertPrivateNetns } from "../child_process.ts";

assertPrivateNetns();

const KiB = 1024;
const CHUNK = 60 * KiB, CHUNKS = 400;
const policy = { version: 1, udp: [{ from: 0, use: "copy" }, { from: 16 * KiB, use: "msg_zerocopy" }] } as const;

const run = async () => {
  // stageBelow 16 KiB: a chunk the probe holds back goes borrowed (its write waits for the send
  // fiber), as the probe's reads assume, instead of staged.
  const conn = await zcConnect({
    hostname: "127.0.0.1",
    port: 9,
    transport: "udp",
    backend: "auto",
    policy,
    transferBuffers: true,
    stageBelow: 16 * KiB,
  });
  const writer = conn.writable.getWriter();
  for (let i = 0; i < CHUNKS; i++) await writer.write(new Uint8Array(CHUNK).fill(i));
  await writer.close();
  const stats = conn.stats();
  await conn.close();
  return stats;
};

const first = await run();
const second = await run();
console.log(JSON.stringify({ first, second }));

/**
 * The writable side's handling of bad input over real loopback connections: what is rejected, with
 * which code, that the stream stays usable, and that nothing extra reaches the peer.
 */
import { SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { zcConnect, ZcioError } from "../../mod.ts";
import { connectionConfig } from "../../streams/options.ts";
import { openConnection } from "../../streams/open_connection.ts";
import { assert, assertEquals, rejection, test } from "../harness.ts";
import { boundSocket, connectedPair, detach, hashOf, randomBytes, readAll, sys } from "../helpers.ts";

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  const e = await rejection(promise);
  assert(e instanceof ZcioError, `a ZcioError, got ${e}`);
  return e.code;
};

test("connection_writable: non-Uint8Array chunks reject with INVALID_CHUNK and the stream stays usable", async () => {
  // Copy: the chunks are hashed after writing, which a zero-copy route of auto would take over.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const writer = pair.client.writable.getWriter();
  const good: Uint8Array[] = [];
  const bad: unknown[] = [
    "text",
    42,
    null,
    undefined,
    new ArrayBuffer(8),
    new DataView(new ArrayBuffer(8)),
    new Uint16Array([1, 2]),
    new Int8Array([1, 2]),
    new Float64Array(2),
    { length: 3, 0: 1, 1: 2, 2: 3 },
  ];
  for (const [i, chunk] of bad.entries()) {
    const valid = randomBytes(10 + i * 5000, i); // small (staged) and large (borrowed) in turn
    good.push(valid);
    assertEquals(await codeOf(writer.write(chunk as Uint8Array)), "INVALID_CHUNK", `chunk ${i} (${String(chunk)})`);
    await writer.write(valid);
  }
  assertEquals(pair.client.stats().chunks, good.length, "only the valid chunks were recorded");
  await writer.close();
  const got = await readAll(pair.server.readable);
  const expected = good.reduce((n, c) => n + c.length, 0);
  assertEquals(got.length, expected, "the receiver got exactly the valid chunks");
  const all = new Uint8Array(expected);
  let at = 0;
  for (const c of good) (all.set(c, at), at += c.length);
  assertEquals(hashOf(got), hashOf(all));
  await pair.close();
});

test("connection_writable: detached and shrunk buffers reject with INVALID_CHUNK, nothing of them is sent", async () => {
  // Copy: the chunks are hashed after writing, which a zero-copy route of auto would take over.
  const pair = await connectedPair("127.0.0.1", { backend: "copy" });
  const writer = pair.client.writable.getWriter();
  const before = randomBytes(1000, 1), after = randomBytes(50000, 2);
  await writer.write(before);
  const small = randomBytes(100, 3), large = randomBytes(100000, 4);
  detach(small.buffer);
  detach(large.buffer);
  assertEquals(await codeOf(writer.write(small)), "INVALID_CHUNK", "a small detached chunk");
  assertEquals(await codeOf(writer.write(large)), "INVALID_CHUNK", "a large detached chunk");
  const rab = new ArrayBuffer(40000, { maxByteLength: 40000 });
  const shrunk = new Uint8Array(rab, 1000, 30000);
  shrunk.fill(0xee);
  rab.resize(2000);
  assertEquals(await codeOf(writer.write(shrunk)), "INVALID_CHUNK", "a view its resizable buffer shrank below");
  await writer.write(after);
  await writer.close();
  const got = await readAll(pair.server.readable);
  assertEquals(got.length, 51000);
  assertEquals(hashOf(got.subarray(0, 1000)), hashOf(before));
  assertEquals(hashOf(got.subarray(1000)), hashOf(after));
  await pair.close();
});

test("connection_writable: zero-length chunks are a no-op", async () => {
  const pair = await connectedPair();
  const writer = pair.client.writable.getWriter();
  await writer.write(new TextEncoder().encode("abc"));
  await writer.write(new Uint8Array(0));
  await writer.write(new Uint8Array(100).subarray(50, 50));
  await writer.write(new Uint8Array(new ArrayBuffer(0)));
  await writer.write(new TextEncoder().encode("def"));
  await writer.write(new Uint8Array(0));
  const stats = pair.client.stats();
  assertEquals(stats.chunks, 2, "empty chunks are not counted");
  await writer.close();
  assertEquals(new TextDecoder().decode(await readAll(pair.server.readable)), "abcdef");
  assertEquals(pair.client.stats().bytes.copy, 6);
  await pair.close();
});

test("connection_writable: writes after close reject with TypeError, as WHATWG says, and send nothing", async () => {
  const pair = await connectedPair();
  const writer = pair.client.writable.getWriter();
  await writer.write(new Uint8Array([1]));
  const closing = writer.close();
  assert((await rejection(writer.write(new Uint8Array([2])))) instanceof TypeError, "while close() is in progress");
  await closing;
  assert((await rejection(writer.write(new Uint8Array([3])))) instanceof TypeError, "after close() resolved");
  assert((await rejection(writer.write(new Uint8Array(100000)))) instanceof TypeError, "a large chunk too");
  assertEquals(Array.from(await readAll(pair.server.readable)), [1]);
  // A second connection closed through the connection instead of the writer: that closes its stream.
  const other = await connectedPair();
  const w2 = other.client.writable.getWriter();
  await other.client.close();
  assert((await rejection(w2.write(new Uint8Array([4])))) instanceof TypeError, "after conn.close()");
  assertEquals((await readAll(other.server.readable)).length, 0);
  await pair.close();
  await other.close();
});

test("connection_writable: through pipeTo a bad chunk errors the stream with INVALID_CHUNK", async () => {
  const pair = await connectedPair();
  const source = new ReadableStream<unknown>({
    start(controller) {
      controller.enqueue(new Uint8Array([1, 2, 3]));
      controller.enqueue("not bytes");
      controller.enqueue(new Uint8Array([4, 5, 6]));
      controller.close();
    },
  });
  assertEquals(await codeOf(source.pipeTo(pair.client.writable as WritableStream<unknown>)), "INVALID_CHUNK");
  await pair.client.close().catch(() => {});
  const got = await readAll(pair.server.readable);
  assertEquals(Array.from(got), [1, 2, 3], "what came before the bad chunk was sent, nothing after");
  await pair.close();
});

test("connection_writable: a UDP chunk over the datagram limit rejects with EMSGSIZE and the stream goes on", async () => {
  const raw = boundSocket(SOCK_DGRAM | SOCK_NONBLOCK);
  const sender = await zcConnect({ hostname: "127.0.0.1", port: raw.port, transport: "udp", backend: "copy" });
  assertEquals(sys.connect(raw.fd, encodeSockaddr("127.0.0.1", sender.localAddr.port)!), 0);
  const receiver = await openConnection(raw.fd, connectionConfig({}, "udp", true));
  const writer = sender.writable.getWriter();
  assertEquals(await codeOf(writer.write(new Uint8Array(65508))), "EMSGSIZE");
  const largest = randomBytes(65507, 1);
  await writer.write(largest);
  const reader = receiver.readable.getReader();
  const { value } = await reader.read();
  assertEquals(value!.length, 65507, "the largest IPv4 datagram arrives whole");
  assertEquals(hashOf(value!), hashOf(largest));
  assertEquals(sender.stats().chunks, 1);
  reader.releaseLock();
  await sender.close();
  await receiver.close();
});

test("connection_writable: getWriter() returns a real WritableStreamDefaultWriter; the platform's own methods work on it", async () => {
  const pair = await connectedPair();
  const received = readAll(pair.server.readable);
  const writer = pair.client.writable.getWriter();
  assert(writer instanceof WritableStreamDefaultWriter, "instanceof WritableStreamDefaultWriter");
  const proto = WritableStreamDefaultWriter.prototype;
  await proto.write.call(writer, new Uint8Array([1, 2, 3]));
  await writer.write(new Uint8Array([4, 5]));
  await proto.write.call(writer, new Uint8Array(64 * 1024).fill(6));
  await proto.close.call(writer);
  const got = await received;
  assertEquals(got.length, 5 + 64 * 1024);
  assertEquals([...got.subarray(0, 6)], [1, 2, 3, 4, 5, 6]);
  await pair.close();
});

test("connection_writable: a released writer's writes reject with TypeError and send nothing; the next writer goes on", async () => {
  const pair = await connectedPair();
  const received = readAll(pair.server.readable);
  const encode = (s: string) => new TextEncoder().encode(s);
  const w1 = pair.client.writable.getWriter();
  await w1.write(encode("A|"));
  w1.releaseLock();
  const stale = await rejection(w1.write(encode("STALE|")));
  assert(stale instanceof TypeError, `a released writer's write rejects with TypeError: ${stale}`);
  const w2 = pair.client.writable.getWriter();
  await w2.write(encode("B|"));
  const stale2 = await rejection(w1.write(encode("STALE2|")));
  assert(stale2 instanceof TypeError, `still, while another writer holds the lock: ${stale2}`);
  // One released through the platform's own method, too.
  WritableStreamDefaultWriter.prototype.releaseLock.call(w2);
  assert((await rejection(w2.write(encode("STALE3|")))) instanceof TypeError, "released by the platform's releaseLock");
  const w3 = pair.client.writable.getWriter();
  await w3.write(encode("C|"));
  await w3.close();
  assert((await rejection(w3.write(encode("AFTER|")))) instanceof TypeError, "a write after close rejects with TypeError");
  assertEquals(new TextDecoder().decode(await received), "A|B|C|", "only the accepted writes reached the peer");
  await pair.close();
});

test("connection_writable: a chunk written through new WritableStreamDefaultWriter(stream) is still validated", async () => {
  const pair = await connectedPair();
  const received = readAll(pair.server.readable);
  const writer = new WritableStreamDefaultWriter(pair.client.writable);
  await writer.write(new Uint8Array([9, 9]));
  const error = await rejection(writer.write("not bytes" as unknown as Uint8Array));
  assert(error instanceof ZcioError && error.code === "INVALID_CHUNK", `the sink refused it: ${error}`);
  // As WHATWG says of a sink that throws, the stream is errored; nothing of the bad chunk was sent.
  assert((await rejection(writer.write(new Uint8Array([1])))) !== undefined, "the errored stream refuses more");
  await pair.client.close().catch(() => {});
  assertEquals([...await received], [9, 9]);
  await pair.close();
});

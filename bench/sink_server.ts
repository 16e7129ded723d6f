/**
 * The benchmark's receiver, run as a child process so it has a core of its own: it accepts TCP
 * connections on 127.0.0.1 with the runtime's own sockets, reads and discards everything, and at
 * end of stream answers with the byte count (8 bytes, little-endian) and closes.
 * Prints its port on the first line of stdout.
 *
 * @module
 */
import { createServer } from "node:net";

const answer = (count: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, count, true);
  return out;
};

/** The part of Deno's API the sink uses (tsc here has Bun's types, not Deno's). */
interface DenoNet {
  listen(o: { hostname: string; port: number }): AsyncIterable<DenoConn> & { addr: { port: number } };
}
interface DenoConn {
  read(b: Uint8Array): Promise<number | null>;
  write(b: Uint8Array): Promise<number>;
  close(): void;
}

const g = globalThis as unknown as { Bun?: typeof Bun; Deno?: DenoNet };
if (g.Bun) {
  const server = g.Bun.listen<{ count: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { count: 0 };
      },
      data(socket, bytes) {
        socket.data.count += bytes.length;
      },
      end(socket) {
        socket.end(answer(socket.data.count));
      },
    },
  });
  console.log(server.port);
} else if (g.Deno === undefined) {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let count = 0;
    socket.on("data", (bytes) => (count += bytes.length));
    socket.on("end", () => socket.end(answer(count)));
  });
  server.listen(0, "127.0.0.1", () => console.log((server.address() as { port: number }).port));
} else {
  const listener = g.Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(listener.addr.port);
  for await (const conn of listener) {
    (async () => {
      const buffer = new Uint8Array(256 * 1024);
      let count = 0;
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        count += n;
      }
      await conn.write(answer(count));
      conn.close();
    })();
  }
}

export {};

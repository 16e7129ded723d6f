/**
 * Sends a byte count through the runtime's own TCP socket (`Bun.connect` / `Deno.connect` /
 * `node:net`), the baseline zcio is measured against. Resolves with the count the sink reports back.
 *
 * @module
 */
import { connect as netConnect } from "node:net";

/** The part of Deno's API the sender uses (tsc here has Bun's types, not Deno's). */
interface DenoNet {
  connect(o: { hostname: string; port: number }): Promise<{
    writable: WritableStream<Uint8Array>;
    closeWrite(): Promise<void>;
    read(b: Uint8Array): Promise<number | null>;
    close(): void;
  }>;
}

const g = globalThis as unknown as { Bun?: typeof Bun; Deno?: DenoNet };

/** Writes `times` chunks (the `i`-th is `chunkAt(i)`) to 127.0.0.1:`port`, half-closes, and awaits the sink's count. */
export const sendWithRuntimeSocket = (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> =>
  g.Bun ? sendBun(port, times, chunkAt) : g.Deno ? sendDeno(port, times, chunkAt) : sendNode(port, times, chunkAt);

const sendBun = (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> =>
  new Promise((resolve, reject) => {
    let sent = 0, offset = 0;
    const pump = (socket: import("bun").Socket<undefined>) => {
      while (sent < times) {
        const chunk = chunkAt(sent);
        const n = socket.write(chunk, offset, chunk.length - offset);
        if (n <= 0) return;
        offset += n;
        if (offset === chunk.length) {
          offset = 0;
          sent++;
        }
      }
      socket.shutdown();
    };
    const answer: number[] = [];
    g.Bun!.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: pump,
        drain: pump,
        data(_s, bytes) {
          answer.push(...bytes);
        },
        close() {
          resolve(new DataView(new Uint8Array(answer).buffer).getFloat64(0, true));
        },
        error(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });

const sendDeno = async (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> => {
  const conn = await g.Deno!.connect({ hostname: "127.0.0.1", port });
  const writer = conn.writable.getWriter();
  for (let i = 0; i < times; i++) await writer.write(chunkAt(i));
  await conn.closeWrite();
  const answer = new Uint8Array(8);
  let got = 0;
  while (got < 8) {
    const n = await conn.read(answer.subarray(got));
    if (n === null) break;
    got += n;
  }
  conn.close();
  return new DataView(answer.buffer).getFloat64(0, true);
};

const sendNode = (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> =>
  new Promise((resolve, reject) => {
    let sent = 0;
    const answer: number[] = [];
    const socket = netConnect({ host: "127.0.0.1", port });
    // Node keeps a reference to each written chunk until it is flushed; the bytes never change.
    const pump = () => {
      while (sent < times) {
        if (!socket.write(chunkAt(sent++))) return;
      }
      socket.end();
    };
    socket.on("connect", pump);
    socket.on("drain", pump);
    socket.on("data", (bytes: Uint8Array) => answer.push(...bytes));
    socket.on("error", reject);
    socket.on("close", () => resolve(new DataView(new Uint8Array(answer).buffer).getFloat64(0, true)));
  });

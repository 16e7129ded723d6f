/**
 * Sends datagrams through the runtime's own UDP socket (`Bun.udpSocket`, `Deno.listenDatagram`,
 * `node:dgram`), the baseline zcio is measured against on the UDP blackhole. Resolves with the
 * bytes handed to the kernel: nobody counts what a blackhole receives.
 *
 * Bun's socket reports the qdisc's drop as ENOBUFS on each send (the datagram was handed over and
 * dropped, which is what the blackhole is for): such a send counts as sent. Deno's needs
 * `--unstable-net`.
 *
 * @module
 */

/** The parts of the runtimes' APIs used (tsc here has Bun's types, not Deno's). */
interface BunUdp {
  udpSocket(o: { connect: { hostname: string; port: number } }): Promise<{ send(data: Uint8Array): boolean; close(): void }>;
}
interface DenoUdp {
  listenDatagram(o: { transport: "udp"; hostname: string; port: number }): {
    send(data: Uint8Array, to: { transport: "udp"; hostname: string; port: number }): Promise<number>;
    close(): void;
  };
}

const g = globalThis as unknown as { Bun?: BunUdp; Deno?: DenoUdp };

/** Sends `times` datagrams (the `i`-th is `chunkAt(i)`) to 127.0.0.1:`port`. */
export const sendUdpWithRuntimeSocket = (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> =>
  g.Bun ? sendBun(port, times, chunkAt) : g.Deno ? sendDeno(port, times, chunkAt) : sendNode(port, times, chunkAt);

const sendBun = async (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> => {
  const socket = await g.Bun!.udpSocket({ connect: { hostname: "127.0.0.1", port } });
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const chunk = chunkAt(i);
    try {
      socket.send(chunk);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOBUFS") throw e;
    }
    bytes += chunk.length;
  }
  socket.close();
  return bytes;
};

const sendDeno = async (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> => {
  const socket = g.Deno!.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
  let bytes = 0;
  for (let i = 0; i < times; i++) bytes += await socket.send(chunkAt(i), to);
  socket.close();
  return bytes;
};

const sendNode = async (port: number, times: number, chunkAt: (i: number) => Uint8Array): Promise<number> => {
  const { createSocket } = await import("node:dgram");
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", resolve));
  let bytes = 0;
  // Node queues every send; wait for each so the queue stays short, as the others do.
  for (let i = 0; i < times; i++) {
    const chunk = chunkAt(i);
    await new Promise<void>((resolve, reject) => socket.send(chunk, (e) => (e && (e as { code?: string }).code !== "ENOBUFS" ? reject(e) : resolve())));
    bytes += chunk.length;
  }
  socket.close();
  return bytes;
};

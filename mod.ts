/**
 * zcio: WHATWG streams over TCP and UDP sockets that send each chunk the cheapest way the kernel
 * offers. See README.md.
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen } from "@zcio/zcio";
 *
 * await using listener = await zcListen({ port: 0 }); // a free port on 127.0.0.1
 * const client = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = (await listener.accept())!;
 *
 * const writer = client.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello")); // once it resolves, the chunk is yours again
 * await writer.close(); // every byte is in the kernel; the server reads the end of the stream
 * for await (const bytes of server.readable) console.log(new TextDecoder().decode(bytes));
 *
 * console.log(client.stats().bytes);
 * await client.close();
 * await server.close();
 * ```
 *
 * @module
 */
export { zcConnect } from "./streams/zc_connect.ts";
export { zcListen, ZcListener } from "./streams/zc_listen.ts";
export { zcWritable } from "./streams/zc_writable.ts";
export { ZcConnection } from "./streams/zc_connection.ts";
export { ZcDatagramListener } from "./streams/zc_datagram_listener.ts";
export type { Datagram } from "./scheduler/datagram_socket.ts";
export { ZcWritableStream } from "./streams/connection_writable.ts";
export type { SendFileOptions } from "./streams/connection_writable.ts";
export type { FileSource } from "./streams/open_file.ts";
export { probe } from "./backends/probe.ts";
export type { Capability, ProbeResult } from "./backends/probe.ts";
export type { RuntimeName } from "./ffi/sys.ts";
export { ZcioError } from "./ffi/zcio_error.ts";
export type { ZcioErrorCode } from "./ffi/zcio_error.ts";
export { BACKEND_NAMES } from "./ffi/backend_names.ts";
export type { BackendChoice, BackendName } from "./ffi/backend_names.ts";
export type { NetAddr } from "./ffi/sockaddr.ts";
export type { ConnectOptions, DatagramListenOptions, ListenOptions, TcpOptions, TuningOptions } from "./streams/options.ts";
export { SizePolicy } from "./backends/size_policy.ts";
export type { PolicyBand, PolicyBandJson, PolicyRuntime, SizePolicyJson, Transport, TransportBandsJson } from "./backends/size_policy.ts";
export type { ConnectionStats } from "./scheduler/connection.ts";
export { COPY_REASONS } from "./backends/send_stats.ts";
export type { CopyReason, SendStatsSnapshot } from "./backends/send_stats.ts";

/**
 * zcio: WHATWG streams over TCP and UDP sockets that send each chunk the cheapest way the kernel
 * offers. See README.md.
 *
 * @example
 * ```ts
 * import { zcConnect } from "./mod.ts";
 * const conn = await zcConnect({ hostname: "127.0.0.1", port: 9000 });
 * const w = conn.writable.getWriter();
 * await w.write(new Uint8Array(1 << 20));
 * await w.close();
 * console.log(conn.stats());
 * await conn.close();
 * ```
 *
 * @module
 */
export { zcConnect } from "./streams/zc_connect.ts";
export { zcListen, ZcListener } from "./streams/zc_listen.ts";
export { zcWritable } from "./streams/zc_writable.ts";
export { ZcConnection } from "./streams/zc_connection.ts";
export { ZcWritableStream } from "./streams/connection_writable.ts";
export { probe } from "./backends/probe.ts";
export type { Capability, ProbeResult } from "./backends/probe.ts";
export { ZcioError } from "./ffi/zcio_error.ts";
export type { BackendName, ZcioErrorCode } from "./ffi/zcio_error.ts";
export type { NetAddr } from "./ffi/sockaddr.ts";
export type { BackendChoice, ConnectOptions, ListenOptions, TcpOptions, TuningOptions } from "./streams/options.ts";
export { SizePolicy } from "./backends/size_policy.ts";
export type { PolicyBackend, PolicyBand, PolicyRuntime, SizePolicyJson } from "./backends/size_policy.ts";
export type { ConnectionStats } from "./scheduler/connection.ts";

/**
 * Opens a TCP or UDP connection (IPv4 or IPv6) as a {@link ZcConnection}.
 *
 * @example
 * ```ts
 * const conn = await zcConnect({ hostname: "127.0.0.1", port: 9000 });
 * const udp = await zcConnect({ hostname: "::1", port: 9001, transport: "udp" }); // one datagram per chunk
 * ```
 *
 * @module
 */
import { ZcioError } from "../ffi/zcio_error.ts";
import { connectSocket } from "../scheduler/connect_socket.ts";
import { zcRuntime } from "../scheduler/zc_runtime.ts";
import { checkHostname, checkPort, type ConnectOptions, connectionConfig } from "./options.ts";
import { openConnection } from "./open_connection.ts";
import { resolveAddress } from "./resolve_address.ts";
import type { ZcConnection } from "./zc_connection.ts";

/** Connects to `hostname:port`. Fails with a ZcioError (ECONNREFUSED, INVALID_OPTION, ...). */
export const zcConnect = async (options: ConnectOptions): Promise<ZcConnection> => {
  if (options === null || typeof options !== "object") {
    throw new ZcioError({ code: "INVALID_OPTION", message: "zcConnect needs an options object: { hostname, port }" });
  }
  const hostname = checkHostname(options.hostname);
  const port = checkPort(options.port, false);
  const config = connectionConfig(options, options.transport, true);
  const address = await resolveAddress(hostname, port);
  const fd = await zcRuntime().runPromise(connectSocket(address, config.transport));
  return openConnection(fd, config);
};

/**
 * Opens a TCP or UDP connection (IPv4 or IPv6) as a {@link ZcConnection}.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { ZcioError } from "../ffi/zcio_error.ts";
import { connectFirst } from "../scheduler/connect_first.ts";
import { zcRuntime } from "../scheduler/zc_runtime.ts";
import { checkHostname, checkOptionNames, checkPort, connectionConfig, connectLimits, type ConnectOptions, tcpOptions } from "./options.ts";
import { openConnection } from "./open_connection.ts";
import { resolveAddresses } from "./resolve_addresses.ts";
import type { ZcConnection } from "./zc_connection.ts";

/**
 * Connects to `hostname:port`. A name that resolves to several addresses (IPv6 and IPv4) is
 * connected as RFC 8305 says: the families alternate, each attempt starts 250 ms after the one
 * before it or at once when one fails, the first to connect wins and the others are closed.
 * Fails with a ZcioError (ECONNREFUSED, INVALID_OPTION, ...; naming every address tried when all
 * fail); with ABORTED once `signal` aborts, and ETIMEDOUT after `timeout` ms, having closed every
 * socket it opened.
 *
 * @example
 * ```ts
 * import { zcConnect, zcListen } from "@zcio/zcio";
 *
 * await using listener = await zcListen({ port: 0 }); // a free port on 127.0.0.1
 * await using conn = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, timeout: 3000, keepAlive: true });
 * // UDP: a connected datagram socket; each chunk written is one datagram.
 * await using udp = await zcConnect({ hostname: "127.0.0.1", port: listener.addr.port, transport: "udp" });
 * console.log(conn.remoteAddr, udp.localAddr);
 * ```
 */
export const zcConnect = async (options: ConnectOptions): Promise<ZcConnection> => {
  if (options === null || typeof options !== "object") {
    throw new ZcioError({ code: "INVALID_OPTION", message: "zcConnect needs an options object: { hostname, port }" });
  }
  checkOptionNames(options, "zcConnect");
  const hostname = checkHostname(options.hostname);
  const port = checkPort(options.port, false);
  const config = connectionConfig(options, options.transport, true);
  const tcp = tcpOptions(options);
  const { signal, timeout } = connectLimits(options);
  if (signal?.aborted) throw abortedError(hostname, port, signal);
  const connect = Effect.tryPromise({ try: () => resolveAddresses(hostname, port), catch: (e) => e as ZcioError }).pipe(
    Effect.flatMap((addresses) => connectFirst(hostname, addresses, config.transport, tcp)),
  );
  const fd = await zcRuntime().runPromise(
    signal === undefined && timeout === undefined ? connect : Effect.raceFirst(connect, giveUp(hostname, port, signal, timeout)),
  );
  return openConnection(fd, config);
};

/** Fails once `signal` aborts (ABORTED) or `timeout` ms have passed (ETIMEDOUT), whichever comes first. */
const giveUp = (hostname: string, port: number, signal: AbortSignal | undefined, timeout: number | undefined) =>
  Effect.callback<never, ZcioError>((resume) => {
    const onAbort = () => resume(Effect.fail(abortedError(hostname, port, signal!)));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeout === undefined ? undefined : setTimeout(() =>
      resume(Effect.fail(
        new ZcioError({
          code: "ETIMEDOUT",
          message: `connecting to ${hostname} port ${port} took longer than the timeout of ${timeout} ms: the peer did not answer in time`,
        }),
      )), timeout);
    return Effect.sync(() => {
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    });
  });

const abortedError = (hostname: string, port: number, signal: AbortSignal): ZcioError =>
  new ZcioError({
    code: "ABORTED",
    message: `connecting to ${hostname} port ${port} was aborted by its signal: ${String(signal.reason)}`,
  });

/**
 * Turns a host name and port into an encoded sockaddr: numeric addresses directly, names through
 * the runtime's resolver (`node:dns`, which Bun, Deno and Node all provide).
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { encodeSockaddr } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";

/** The sockaddr for `hostname:port`. */
export const resolveAddress = async (hostname: string, port: number): Promise<Uint8Array> => {
  const direct = encodeSockaddr(hostname, port);
  if (direct !== undefined) return direct;
  try {
    const { address } = await lookup(hostname);
    return encodeSockaddr(address, port)!;
  } catch (e) {
    throw new ZcioError({
      code: "ENOTFOUND",
      message: `cannot resolve host name ${JSON.stringify(hostname)}: ${(e as Error).message}`,
    });
  }
};

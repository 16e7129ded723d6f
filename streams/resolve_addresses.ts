/**
 * Turns a host name and port into the encoded sockaddrs to try: a numeric address directly, a name
 * through the runtime's resolver (`node:dns`, which Bun, Deno and Node all provide), every address
 * it resolves to, in the order RFC 8305 section 4 tries them.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { encodeSockaddr, parseIPv4 } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";

/** The sockaddrs for `hostname:port`, each address once, families interleaved. */
export const resolveAddresses = async (hostname: string, port: number): Promise<Uint8Array[]> => {
  const direct = encodeSockaddr(hostname, port);
  if (direct !== undefined) return [direct];
  let found: { address: string }[];
  try {
    found = await lookup(hostname, { all: true });
  } catch (e) {
    throw notFound(hostname, (e as Error).message);
  }
  const addresses = interleaveFamilies([...new Set(found.map((a) => a.address))]);
  if (addresses.length === 0) throw notFound(hostname, "the resolver returned no address");
  return addresses.map((address) => encodeSockaddr(address, port)!);
};

/**
 * The resolver's order (RFC 6724's preference, which getaddrinfo applies) with the two families
 * alternating from the first one on, as RFC 8305 asks: when one family does not work, the next
 * attempt is already of the other.
 */
export const interleaveFamilies = (addresses: readonly string[]): string[] => {
  const isFirstFamily = (address: string) => (parseIPv4(address) !== undefined) === (parseIPv4(addresses[0]) !== undefined);
  const first = addresses.filter(isFirstFamily);
  const other = addresses.filter((address) => !isFirstFamily(address));
  const out: string[] = [];
  for (let i = 0; i < Math.max(first.length, other.length); i++) {
    if (i < first.length) out.push(first[i]);
    if (i < other.length) out.push(other[i]);
  }
  return out;
};

const notFound = (hostname: string, why: string): ZcioError =>
  new ZcioError({ code: "ENOTFOUND", message: `cannot resolve host name ${JSON.stringify(hostname)}: ${why}` });
